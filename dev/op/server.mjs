// Development OpenID Provider for the hybrid-flow demo (node-oidc-provider 9.13.3).
// NOT FOR PRODUCTION: in-memory store, any username / any password logs in,
// consent is auto-granted, and http + localhost redirect URIs are allowed.
// Never log tokens or secrets from this file.

import { randomBytes } from 'node:crypto';

import { exportJWK, generateKeyPair } from 'jose';
import Provider, { errors } from 'oidc-provider';

// ---------------------------------------------------------------------------
// Configuration from the environment
// ---------------------------------------------------------------------------
const env = (name, fallback) => {
  const v = process.env[name];
  return v === undefined || v === '' ? fallback : v;
};
const list = (value) => value.split(',').map((s) => s.trim()).filter(Boolean);

const PORT = Number(env('OP_PORT', '9090'));
const HOST = env('OP_HOST', '127.0.0.1');
const ISSUER = env('OP_ISSUER', `http://127.0.0.1:${PORT}`);
const CLIENT_SECRET = env('OP_CLIENT_SECRET', 'dev-only-hybrid-secret-0123456789');
const REDIRECT_URIS = list(env('OP_REDIRECT_URIS', 'http://localhost:8080/callback,http://localhost:3000/callback'));
const POST_LOGOUT_URIS = list(env('OP_POST_LOGOUT_URIS', 'http://localhost:8080/,http://localhost:3000/'));
const BACKCHANNEL_URI = env('OP_BACKCHANNEL_URI', 'http://127.0.0.1:3000/bff/backchannel');
const AUTO_LOGIN = env('OP_AUTO_LOGIN', '0') === '1';
const AUTO_LOGIN_USER = env('OP_AUTO_LOGIN_USER', 'alice');

const API_RESOURCE = 'urn:demo-api';
// A second resource with its own audience, for per-upstream tokens (RFC 8707).
const RESOURCES = new Set([API_RESOURCE, 'urn:demo-api-2']);
const API_SCOPE = 'api:read';

// Hosts for which the dev relaxations apply (http redirect URIs, outgoing
// back-channel logout requests to loopback addresses).
const LOCAL_HOSTS = new Set(['localhost', '127.0.0.1', '[::1]', '::1']);
const isLocalUrl = (u) => {
  const parsed = URL.parse(String(u));
  return !!parsed && LOCAL_HOSTS.has(parsed.hostname);
};

// ---------------------------------------------------------------------------
// Signing keys (fresh at every start; RS256 first so ID tokens default to it)
// ---------------------------------------------------------------------------
async function makeJwk(alg, kid, options) {
  const { privateKey } = await generateKeyPair(alg, { extractable: true, ...options });
  const jwk = await exportJWK(privateKey);
  return { ...jwk, kid, use: 'sig', alg };
}
const stamp = Date.now().toString(36);
const jwks = {
  keys: [
    await makeJwk('RS256', `dev-rs256-${stamp}`, { modulusLength: 2048 }),
    await makeJwk('ES256', `dev-es256-${stamp}`),
  ],
};

// ---------------------------------------------------------------------------
// Accounts: any username logs in
// ---------------------------------------------------------------------------
const capitalise = (s) => (s ? s[0].toUpperCase() + s.slice(1) : s);

function accountFor(username) {
  return {
    accountId: username,
    async claims() {
      const given = capitalise(username);
      return {
        sub: username,
        name: `${given} Example`,
        given_name: given,
        family_name: 'Example',
        preferred_username: username,
        email: `${username}@example.test`,
        email_verified: true,
      };
    },
  };
}

const validUsername = (u) => typeof u === 'string' && u.length > 0 && u.length <= 64 && /^[\w.@+-]+$/.test(u);

// ---------------------------------------------------------------------------
// Clients
// ---------------------------------------------------------------------------
const clientBase = {
  client_secret: CLIENT_SECRET,
  response_types: ['code id_token', 'code token', 'code id_token token', 'code'],
  grant_types: ['authorization_code', 'refresh_token', 'implicit'],
  redirect_uris: REDIRECT_URIS,
  post_logout_redirect_uris: POST_LOGOUT_URIS,
  backchannel_logout_uri: BACKCHANNEL_URI,
  backchannel_logout_session_required: true,
  id_token_signed_response_alg: 'RS256',
  application_type: 'web',
};

const clients = [
  { ...clientBase, client_id: 'hybrid-spa', client_name: 'Hybrid SPA (basic)', token_endpoint_auth_method: 'client_secret_basic' },
  { ...clientBase, client_id: 'hybrid-spa-post', client_name: 'Hybrid SPA (post)', token_endpoint_auth_method: 'client_secret_post' },
];

// ---------------------------------------------------------------------------
// HTML helpers
// ---------------------------------------------------------------------------
const esc = (s) => String(s ?? '').replace(/[&<>"']/g, (c) => ({
  '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;',
}[c]));

const page = (title, body) => `<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>${esc(title)}</title>
<style>
body{font-family:system-ui,sans-serif;max-width:26rem;margin:3rem auto;padding:0 1rem;color:#222}
label{display:block;margin:.8rem 0 .2rem}input{width:100%;padding:.45rem;box-sizing:border-box;font-size:1rem}
button{margin-top:1rem;padding:.5rem 1rem;font-size:1rem;cursor:pointer}
.note{background:#fff4ce;border:1px solid #e0c060;padding:.5rem;border-radius:4px;font-size:.9rem}
.err{color:#b00020}
</style>
</head>
<body>
${body}
</body>
</html>`;

function loginPage({ uid, clientName, loginHint, error }) {
  return page('Sign in - dev OP', `
<h1>Sign in</h1>
<p class="note"><strong>dev OP: any password</strong> — any username is accepted and any non-empty password works. Development only.</p>
<p>Client: <code>${esc(clientName)}</code></p>
${error ? `<p class="err">${esc(error)}</p>` : ''}
<form method="post" action="/interaction/${esc(uid)}/login" autocomplete="off">
  <label for="username">Username</label>
  <input id="username" name="username" required autofocus value="${esc(loginHint)}">
  <label for="password">Password</label>
  <input id="password" name="password" type="password" required>
  <button type="submit">Sign in</button>
</form>
<form method="post" action="/interaction/${esc(uid)}/abort">
  <button type="submit">Cancel</button>
</form>`);
}

async function readForm(ctx, limit = 16 * 1024) {
  let size = 0;
  const chunks = [];
  for await (const chunk of ctx.req) {
    size += chunk.length;
    if (size > limit) ctx.throw(413, 'request body too large');
    chunks.push(chunk);
  }
  return new URLSearchParams(Buffer.concat(chunks).toString('utf8'));
}

// ---------------------------------------------------------------------------
// Provider configuration
// ---------------------------------------------------------------------------
const configuration = {
  clients,
  jwks,
  responseTypes: ['code id_token', 'code token', 'code id_token token', 'code'],
  scopes: ['openid', 'profile', 'email', 'offline_access'],
  claims: {
    acr: null,
    sid: null,
    auth_time: null,
    iss: null,
    openid: ['sub'],
    profile: ['name', 'given_name', 'family_name', 'preferred_username'],
    email: ['email', 'email_verified'],
  },
  // The front-channel ID token of `code id_token` carries the scope claims
  // (name, email, ...) so the SPA can show the user's name at once.
  conformIdTokenClaims: false,
  pkce: { required: () => true }, // S256 is the only method 9.x supports
  async findAccount(ctx, sub) {
    return validUsername(sub) ? accountFor(sub) : undefined;
  },
  // Always issue a refresh token to clients allowed the refresh_token grant
  // (even without offline_access), and rotate refresh tokens on every use.
  issueRefreshToken: async (ctx, client) => client.grantTypeAllowed('refresh_token'),
  rotateRefreshToken: () => true,
  // RP-initiated logout by form POST (the ID token hint never in a URL): 9.x needs enableHttpPostMethods, and
  // the session cookie must be SameSite=None to reach a cross-site POST (the SPA is on another site than the OP).
  enableHttpPostMethods: true,
  cookies: {
    keys: [randomBytes(32).toString('base64url')],
    long: { httpOnly: true, sameSite: 'none' },
  },
  ttl: {
    AccessToken: 60 * 60,
    AuthorizationCode: 60,
    IdToken: 60 * 60,
    Interaction: 60 * 60,
    RefreshToken: 24 * 60 * 60,
    Session: 14 * 24 * 60 * 60,
    Grant: 14 * 24 * 60 * 60,
  },
  interactions: {
    url: (ctx, interaction) => `/interaction/${interaction.uid}`,
  },
  features: {
    devInteractions: { enabled: false },
    revocation: { enabled: true },
    backchannelLogout: { enabled: true },
    rpInitiatedLogout: {
      enabled: true,
      async logoutSource(ctx, form) {
        if (AUTO_LOGIN) {
          // Test mode: confirm "sign out of the OP" at once (auto-submitting form).
          const auto = form.replace('</form>', '<input type="hidden" name="logout" value="yes"/></form>');
          ctx.body = page('Signing out - dev OP', `
<h1>Signing out…</h1>
${auto}
<noscript><button type="submit" form="op.logoutForm">Continue</button></noscript>
<script>document.forms['op.logoutForm'].submit();</script>`);
          return;
        }
        ctx.body = page('Sign out - dev OP', `
<h1>Sign out of the dev OP?</h1>
${form}
<button autofocus type="submit" form="op.logoutForm" value="yes" name="logout">Yes, sign me out</button>
<button type="submit" form="op.logoutForm">No, stay signed in</button>`);
      },
      async postLogoutSuccessSource(ctx) {
        ctx.body = page('Signed out - dev OP', '<h1>Signed out</h1><p>You are signed out of the dev OP.</p>');
      },
    },
    resourceIndicators: {
      enabled: true,
      defaultResource: async (ctx, client, oneOf) => oneOf ?? API_RESOURCE,
      useGrantedResource: async () => true,
      async getResourceServerInfo(ctx, resourceIndicator) {
        if (RESOURCES.has(resourceIndicator)) {
          return {
            scope: API_SCOPE,
            audience: resourceIndicator,
            accessTokenTTL: 60 * 60,
            accessTokenFormat: 'jwt',
            jwt: { sign: { alg: 'RS256' } },
          };
        }
        throw new errors.InvalidTarget();
      },
    },
  },
  // Dev relaxation: 9.7+ refuses outgoing requests to special-use IPs
  // (127.x, ...). Allow them for local hosts only (back-channel logout to the
  // local BFF); everything else keeps the library's SSRF protection.
  fetch: (url, options) => {
    if (isLocalUrl(url)) {
      const { dispatcher, ...rest } = options;
      return globalThis.fetch(url, rest);
    }
    return globalThis.fetch(url, options);
  },
  async renderError(ctx, out) {
    ctx.type = 'html';
    ctx.body = page('Error - dev OP', `<h1>Error</h1>${Object.entries(out)
      .map(([k, v]) => `<p><strong>${esc(k)}</strong>: ${esc(v)}</p>`).join('')}`);
  },
};

const provider = new Provider(ISSUER, configuration);

// Dev relaxation: hybrid (implicit-type) web clients may use http:// and
// localhost redirect URIs, but only when every such URI is on a local host.
{
  const { Schema } = provider.Client;
  const original = Schema.prototype.invalidate;
  Schema.prototype.invalidate = function invalidate(message, code) {
    if (code === 'implicit-force-https' || code === 'implicit-forbid-localhost') {
      const uris = [...(this.redirect_uris || []), ...(this.post_logout_redirect_uris || [])];
      const offending = uris.filter((u) => {
        const p = URL.parse(u);
        return !p || (p.protocol === 'http:' || p.hostname === 'localhost') && !LOCAL_HOSTS.has(p.hostname);
      });
      if (offending.length === 0) return;
    }
    original.call(this, message, code);
  };
}

// Dev relaxation: browsers keep SameSite=None cookies only when they are Secure. On a loopback host (a secure
// context for browsers even over http) the OP's cookies are marked Secure, so the session cookie survives.
Object.defineProperty(provider.request, 'secure', {
  get() {
    return this.protocol === 'https' || LOCAL_HOSTS.has(this.hostname);
  },
});

// ---------------------------------------------------------------------------
// Koa middleware: test counters and request log, interactions
// ---------------------------------------------------------------------------
let tokenRequests = 0;
let backchannelLogouts = 0;
// Test mode: what each request looked like, token-free (parameter names, and whether any query value looks like
// a JWT), so a test can prove that no ID token ever travelled in a URL.
const requestLog = [];

provider.use(async (ctx, next) => {
  if (ctx.method === 'POST' && ctx.path === '/token') tokenRequests += 1;

  if (AUTO_LOGIN && ctx.path === '/__test/stats') {
    if (ctx.method !== 'GET') ctx.throw(405);
    ctx.set('cache-control', 'no-store');
    ctx.body = { token_requests: tokenRequests, backchannel_logouts: backchannelLogouts, requests: requestLog };
    return;
  }
  if (AUTO_LOGIN && requestLog.length < 1000) {
    const query = new URLSearchParams(ctx.querystring);
    requestLog.push({
      method: ctx.method,
      path: ctx.path,
      query_params: [...query.keys()],
      jwt_in_query: [...query.values()].some((v) => /eyJ[\w-]+\.[\w-]+\./.test(v)),
    });
  }

  const m = /^\/interaction\/([\w-]+)(?:\/(login|abort))?$/.exec(ctx.path);
  if (!m) {
    await next();
    return;
  }
  const [, uid, action] = m;
  ctx.set('cache-control', 'no-store');

  let details;
  try {
    details = await provider.interactionDetails(ctx.req, ctx.res);
  } catch (err) {
    if (err instanceof errors.SessionNotFound) {
      ctx.status = 400;
      ctx.type = 'html';
      ctx.body = page('Error - dev OP', '<h1>Interaction expired</h1><p>Start the sign-in again from the application.</p>');
      return;
    }
    throw err;
  }
  if (details.uid !== uid) ctx.throw(400, 'interaction mismatch');

  const finish = async (result, mergeWithLastSubmission = false) => {
    const to = await provider.interactionResult(ctx.req, ctx.res, result, { mergeWithLastSubmission });
    ctx.status = 303;
    ctx.redirect(to);
  };

  const { prompt, params, session } = details;
  const client = await provider.Client.find(params.client_id);
  const clientName = client?.clientName || params.client_id;

  if (!action && ctx.method === 'GET') {
    if (prompt.name === 'login') {
      if (AUTO_LOGIN) {
        const user = params.login_hint || AUTO_LOGIN_USER;
        if (!validUsername(user)) ctx.throw(400, 'invalid login_hint');
        await finish({ login: { accountId: user } });
        return;
      }
      ctx.type = 'html';
      ctx.body = loginPage({ uid, clientName, loginHint: params.login_hint });
      return;
    }

    if (prompt.name === 'consent') {
      // First-party client: grant everything that was requested.
      const { details: missing } = prompt;
      let grant;
      if (details.grantId) {
        grant = await provider.Grant.find(details.grantId);
      } else {
        grant = new provider.Grant({ accountId: session.accountId, clientId: params.client_id });
      }
      if (missing.missingOIDCScope) grant.addOIDCScope(missing.missingOIDCScope.join(' '));
      if (missing.missingOIDCClaims) grant.addOIDCClaims(missing.missingOIDCClaims);
      if (missing.missingResourceScopes) {
        for (const [indicator, scopes] of Object.entries(missing.missingResourceScopes)) {
          grant.addResourceScope(indicator, scopes.join(' '));
        }
      }
      const grantId = await grant.save();
      await finish({ consent: details.grantId ? {} : { grantId } }, true);
      return;
    }

    ctx.throw(400, `unsupported prompt ${prompt.name}`);
  }

  if (action === 'login' && ctx.method === 'POST') {
    if (prompt.name !== 'login') ctx.throw(400, 'not a login prompt');
    const form = await readForm(ctx);
    const username = (form.get('username') || '').trim();
    const password = form.get('password') || '';
    if (!validUsername(username) || password.length === 0) {
      ctx.status = 400;
      ctx.type = 'html';
      ctx.body = loginPage({
        uid,
        clientName,
        loginHint: username,
        error: 'Enter a username (letters, digits, . _ - @ +) and any non-empty password.',
      });
      return;
    }
    await finish({ login: { accountId: username } });
    return;
  }

  if (action === 'abort' && ctx.method === 'POST') {
    await finish({ error: 'access_denied', error_description: 'End-User aborted interaction' });
    return;
  }

  ctx.throw(405);
});

// Short, token-free diagnostics.
provider.on('server_error', (ctx, err) => console.error(`dev OP server_error: ${err.message}`));
provider.on('backchannel.error', (ctx, err, client) => console.error(`dev OP back-channel logout to ${client.clientId} failed: ${err.message}`));
provider.on('backchannel.success', (ctx, client) => {
  backchannelLogouts += 1;
  console.log(`dev OP back-channel logout sent to ${client.clientId}`);
});

// ---------------------------------------------------------------------------
// Start / stop
// ---------------------------------------------------------------------------
if (new URL(ISSUER).pathname !== '/') {
  console.error('dev OP: OP_ISSUER must not have a path (the provider is mounted at /)');
  process.exit(1);
}

const server = provider.listen(PORT, HOST, () => {
  console.log(`dev OP listening on ${ISSUER}`);
});
server.on('error', (err) => {
  console.error(`dev OP: cannot listen on ${HOST}:${PORT}: ${err.message}`);
  process.exit(1);
});

function shutdown(signal) {
  server.close(() => process.exit(0));
  server.closeAllConnections?.();
  setTimeout(() => process.exit(0), 2000).unref();
  void signal;
}
process.on('SIGTERM', () => shutdown('SIGTERM'));
process.on('SIGINT', () => shutdown('SIGINT'));
