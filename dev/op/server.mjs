// Development OpenID Provider for the hybrid-flow demo (node-oidc-provider 9.13.3).
// NOT FOR PRODUCTION: in-memory store, any username / any password logs in,
// consent is remembered in memory only, and http + localhost redirect URIs are allowed.
// Never log tokens or secrets from this file.

import { randomBytes } from 'node:crypto';
import { readFileSync, renameSync, writeFileSync } from 'node:fs';

import { exportJWK, generateKeyPair } from 'jose';
import Provider, { errors } from 'oidc-provider';
// The library's own memory adapter and its LRU, given a store of our size (see OP_MEMORY_ENTRIES). Deep
// imports: the package has no `exports` map, and the version is pinned in package-lock.json.
import MemoryAdapter from 'oidc-provider/lib/adapters/memory_adapter.js';
import LRU from 'oidc-provider/lib/helpers/lru.js';

// ---------------------------------------------------------------------------
// Configuration from the environment
// ---------------------------------------------------------------------------
const env = (name, fallback) => {
  const v = process.env[name];
  return v === undefined || v === '' ? fallback : v;
};
const positiveInt = (name, fallback) => {
  const n = Number(env(name, String(fallback)));
  if (!Number.isInteger(n) || n <= 0) throw new Error(`${name} must be a positive integer`);
  return n;
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
// Where the private_key_jwt client's public keys are (the BFF's /bff/jwks.json), and whether every
// authorization request must be pushed (RFC 9126 `require_pushed_authorization_requests`).
const CLIENT_JWKS_URI = env('OP_CLIENT_JWKS_URI', 'http://127.0.0.1:3000/bff/jwks.json');
const REQUIRE_PAR = env('OP_REQUIRE_PAR', '0') === '1';
const AUTO_LOGIN_USER = env('OP_AUTO_LOGIN_USER', 'alice');
// How long access tokens live (both the OP's own and the demo API's JWTs): short in a test that wants refreshes.
const ACCESS_TOKEN_TTL = positiveInt('OP_ACCESS_TOKEN_TTL', 60 * 60);
// How many entries the in-memory store keeps (sessions, codes, grants, refresh tokens...; a login makes about
// ten): the library's default of 1,000 forgets the grants of all but the last ~100 logins, so a load test's
// sessions could not refresh. The test harness raises it; the dev default stays the library's.
const MEMORY_ENTRIES = positiveInt('OP_MEMORY_ENTRIES', 1000);
// DPoP (RFC 9449): proofs are always accepted (and tokens bound to their key); with OP_DPOP_NONCE=1 every
// proof must carry a nonce the OP handed out (`use_dpop_nonce` + `DPoP-Nonce` otherwise), as at an OP that
// wants to bound how far in advance a proof can be made. The nonces are stateless (HMAC of the time window).
const DPOP_REQUIRE_NONCE = env('OP_DPOP_NONCE', '0') === '1';
// Test mode: an OP that advertises DPoP but ignores it (`dpop_jkt` at /auth, the proof at /token), so it answers
// Bearer tokens: for a client's `dpop = "required"` refusal. `refresh`: only the proofs of token requests after
// the first (the first login's code exchange) are ignored, so a session is bound and its later grants are not.
const DPOP_IGNORED = env('OP_DPOP_IGNORED', '0') === '1';
const DPOP_IGNORED_AFTER_EXCHANGE = env('OP_DPOP_IGNORED', '0') === 'refresh';

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
async function freshJwks() {
  const stamp = Date.now().toString(36);
  return {
    keys: [
      await makeJwk('RS256', `dev-rs256-${stamp}`, { modulusLength: 2048 }),
      await makeJwk('ES256', `dev-es256-${stamp}`),
    ],
  };
}
// OP_KEYS_FILE: sign with the private key set in this file, generated and written there (owner-only) if it is
// not there yet. For a test harness that starts an OP per test: generating the RSA key is about a quarter of a
// second of every start. Unset (the dev stack), every start has fresh keys.
async function loadOrCreateJwks(file) {
  try {
    return JSON.parse(readFileSync(file, 'utf8'));
  } catch (err) {
    if (err.code !== 'ENOENT') throw new Error(`OP_KEYS_FILE ${file}: ${err.message}`);
  }
  const created = await freshJwks();
  // OPs starting at once may each create a set: each renames a whole file into place, the last one stays,
  // and every OP signs with the set it holds.
  const partial = `${file}.${process.pid}.tmp`;
  writeFileSync(partial, JSON.stringify(created), { mode: 0o600 });
  renameSync(partial, file);
  return created;
}
const KEYS_FILE = env('OP_KEYS_FILE', '');
const jwks = KEYS_FILE ? await loadOrCreateJwks(KEYS_FILE) : await freshJwks();

// ---------------------------------------------------------------------------
// Accounts: any username logs in
// ---------------------------------------------------------------------------
const capitalise = (s) => (s ? s[0].toUpperCase() + s.slice(1) : s);

// Released at userinfo only (never in an ID token), so a client sees what the userinfo call adds.
const USERINFO_ONLY = { zoneinfo: 'Europe/Paris', locale: 'en-GB' };

function accountFor(username) {
  return {
    accountId: username,
    // `use` is 'id_token' or 'userinfo' (the library filters the result by scope and claims requested).
    async claims(use) {
      const given = capitalise(username);
      return {
        sub: username,
        name: `${given} Example`,
        given_name: given,
        family_name: 'Example',
        preferred_username: username,
        email: `${username}@example.test`,
        email_verified: true,
        ...(use === 'userinfo' ? USERINFO_ONLY : {}),
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
  // No secret: it signs client assertions with keys the OP reads from the BFF (RFC 7523, Core 9).
  {
    ...clientBase,
    client_secret: undefined,
    client_id: 'hybrid-spa-jwt',
    client_name: 'Hybrid SPA (private_key_jwt)',
    token_endpoint_auth_method: 'private_key_jwt',
    jwks_uri: CLIENT_JWKS_URI,
  },
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
// Consent: what each user approved for each client, remembered for the OP's lifetime
// ---------------------------------------------------------------------------
// `${accountId} ${clientId}` -> { scopes: Set, claims: Set, resources: Map<indicator, Set> }
const consents = new Map();
const consentKey = (accountId, clientId) => `${accountId} ${clientId}`;

function rememberConsent(accountId, clientId, missing) {
  const key = consentKey(accountId, clientId);
  const c = consents.get(key) ?? { scopes: new Set(), claims: new Set(), resources: new Map() };
  for (const s of missing.missingOIDCScope ?? []) c.scopes.add(s);
  for (const claim of missing.missingOIDCClaims ?? []) c.claims.add(claim);
  for (const [indicator, scopes] of Object.entries(missing.missingResourceScopes ?? {})) {
    const set = c.resources.get(indicator) ?? new Set();
    for (const s of scopes) set.add(s);
    c.resources.set(indicator, set);
  }
  consents.set(key, c);
}

// The session's grant if it still exists, else one made from what the user approved before (saved, so the
// session can name it), else none (the consent prompt then asks).
async function loadExistingGrant(ctx) {
  const { Grant } = ctx.oidc.provider;
  const clientId = ctx.oidc.client.clientId;
  const grantId = ctx.oidc.result?.consent?.grantId || ctx.oidc.session.grantIdFor(clientId);
  if (grantId) {
    const grant = await Grant.find(grantId);
    if (grant) return grant;
  }
  const accountId = ctx.oidc.account?.accountId ?? ctx.oidc.session.accountId;
  const remembered = accountId && consents.get(consentKey(accountId, clientId));
  if (!remembered) return undefined;
  const grant = new Grant({ accountId, clientId });
  if (remembered.scopes.size) grant.addOIDCScope([...remembered.scopes].join(' '));
  if (remembered.claims.size) grant.addOIDCClaims([...remembered.claims]);
  for (const [indicator, scopes] of remembered.resources) grant.addResourceScope(indicator, [...scopes].join(' '));
  await grant.save();
  return grant;
}

const SCOPE_TEXT = {
  openid: 'Sign you in: your user identifier',
  profile: 'Your profile: name, username, time zone and locale',
  email: 'Your e-mail address and whether it is verified',
  offline_access: 'Stay signed in while you are away (refresh tokens)',
  'api:read': 'Read data from the demo API on your behalf',
};

function consentPage({ uid, clientName, accountId, missing }) {
  const scopes = missing.missingOIDCScope ?? [];
  const claims = missing.missingOIDCClaims ?? [];
  const resources = Object.entries(missing.missingResourceScopes ?? {});
  const item = (scope) => `<li data-scope="${esc(scope)}"><code>${esc(scope)}</code> — ${esc(SCOPE_TEXT[scope] ?? 'access named by this scope')}</li>`;
  return page('Allow access - dev OP', `
<h1>Allow access?</h1>
<p><strong>${esc(clientName)}</strong> asks, for <strong>${esc(accountId)}</strong>:</p>
<section data-testid="consent" aria-label="Requested access">
${scopes.length ? `<h2>Scopes</h2><ul data-testid="consent-scopes">${scopes.map(item).join('')}</ul>` : ''}
${claims.length ? `<h2>Claims</h2><ul data-testid="consent-claims">${claims.map((c) => `<li data-claim="${esc(c)}"><code>${esc(c)}</code></li>`).join('')}</ul>` : ''}
${resources.map(([indicator, rs]) => `<h2>API <code>${esc(indicator)}</code></h2><ul data-testid="consent-resource" data-resource="${esc(indicator)}">${rs.map(item).join('')}</ul>`).join('')}
</section>
<p>Your answer is remembered: the next sign-in to this application does not ask again.</p>
<form method="post" action="/interaction/${esc(uid)}/confirm">
  <button type="submit" name="consent" value="approve" data-testid="consent-approve" autofocus>Allow</button>
</form>
<form method="post" action="/interaction/${esc(uid)}/abort">
  <button type="submit" name="consent" value="deny" data-testid="consent-deny">Deny</button>
</form>`);
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
    profile: ['name', 'given_name', 'family_name', 'preferred_username', 'zoneinfo', 'locale'],
    email: ['email', 'email_verified'],
  },
  // The front-channel ID token of `code id_token` carries the scope claims
  // (name, email, ...) so the SPA can show the user's name at once. `zoneinfo` and `locale` are released at
  // userinfo only (see accountFor).
  conformIdTokenClaims: false,
  // Consent is remembered per user and client (not only per OP session): a second sign-in, also from another
  // browser or after an OP logout (which revokes the session's grant), finds what the user approved before.
  loadExistingGrant,
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
    AccessToken: ACCESS_TOKEN_TTL,
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
    // RFC 9126 (on by default in 9.x; explicit here, with the switch a test turns on).
    pushedAuthorizationRequests: { enabled: true, requirePushedAuthorizationRequests: REQUIRE_PAR },
    revocation: { enabled: true },
    dPoP: {
      enabled: true,
      nonceSecret: randomBytes(32),
      requireNonce: () => DPOP_REQUIRE_NONCE,
    },
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
    // Who gets which access token: a token request that names `resource=urn:demo-api` gets a JWT for the demo
    // API (aud urn:demo-api, scope api:read); one that names no resource gets an opaque token for the OP itself,
    // the one its userinfo endpoint accepts (scope openid ...). A resource granted at /auth is *not* used
    // without being named at /token (useGrantedResource false), and nothing is defaulted: so a client that asks
    // for the demo API at sign-in can still redeem the code for a userinfo token and get the API's JWT with the
    // refresh token later (RFC 8707 3), which is what the dev BFF configuration does.
    resourceIndicators: {
      enabled: true,
      defaultResource: async (ctx, client, oneOf) => oneOf,
      useGrantedResource: async () => false,
      async getResourceServerInfo(ctx, resourceIndicator) {
        if (RESOURCES.has(resourceIndicator)) {
          return {
            scope: API_SCOPE,
            audience: resourceIndicator,
            accessTokenTTL: ACCESS_TOKEN_TTL,
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

const memoryStore = new LRU({ maxSize: MEMORY_ENTRIES });
const provider = new Provider(ISSUER, {
  ...configuration,
  adapter: (model) => new MemoryAdapter(model, memoryStore),
});

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
// Test mode: the claims and header of each client assertion received (never the assertion itself), so a test
// can check what private_key_jwt sent at each endpoint.
const clientAssertions = [];
const assertionSummary = (path, assertion) => {
  try {
    const [h, p] = assertion.split('.').slice(0, 2).map((part) => JSON.parse(Buffer.from(part, 'base64url')));
    return { path, alg: h.alg, kid: h.kid, iss: p.iss, sub: p.sub, aud: p.aud, jti: p.jti, lifetime: p.exp - p.iat };
  } catch {
    return { path, unreadable: true };
  }
};
// Test mode: what each request looked like, token-free (parameter names, and whether any query value looks like
// a JWT), so a test can prove that no ID token ever travelled in a URL.
const requestLog = [];

provider.use(async (ctx, next) => {
  await next();
  const assertion = AUTO_LOGIN && (ctx.oidc?.body?.client_assertion ?? ctx.oidc?.params?.client_assertion);
  if (typeof assertion === 'string' && clientAssertions.length < 1000) {
    clientAssertions.push(assertionSummary(ctx.path, assertion));
  }
});

provider.use(async (ctx, next) => {
  if (ctx.method === 'POST' && ctx.path === '/token') tokenRequests += 1;
  if (AUTO_LOGIN && DPOP_IGNORED && ctx.path === '/token') delete ctx.req.headers.dpop;
  if (AUTO_LOGIN && DPOP_IGNORED_AFTER_EXCHANGE && ctx.path === '/token' && tokenRequests > 1) {
    delete ctx.req.headers.dpop;
  }
  if (AUTO_LOGIN && DPOP_IGNORED && ctx.path === '/auth') {
    const query = new URLSearchParams(ctx.querystring);
    query.delete('dpop_jkt');
    ctx.querystring = query.toString();
  }

  if (AUTO_LOGIN && ctx.path === '/__test/stats') {
    if (ctx.method !== 'GET') ctx.throw(405);
    ctx.set('cache-control', 'no-store');
    ctx.body = {
      token_requests: tokenRequests,
      backchannel_logouts: backchannelLogouts,
      requests: requestLog,
      client_assertions: clientAssertions,
    };
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

  const m = /^\/interaction\/([\w-]+)(?:\/(login|confirm|abort))?$/.exec(ctx.path);
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
      // What is asked for and not yet granted, with Allow / Deny (people and tests alike: tests press Allow).
      ctx.type = 'html';
      ctx.body = consentPage({ uid, clientName, accountId: session.accountId, missing: prompt.details });
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

  if (action === 'confirm' && ctx.method === 'POST') {
    if (prompt.name !== 'consent') ctx.throw(400, 'not a consent prompt');
    await readForm(ctx);
    const { details: missing } = prompt;
    let grant = details.grantId ? await provider.Grant.find(details.grantId) : undefined;
    grant ??= new provider.Grant({ accountId: session.accountId, clientId: params.client_id });
    if (missing.missingOIDCScope) grant.addOIDCScope(missing.missingOIDCScope.join(' '));
    if (missing.missingOIDCClaims) grant.addOIDCClaims(missing.missingOIDCClaims);
    for (const [indicator, scopes] of Object.entries(missing.missingResourceScopes ?? {})) {
      grant.addResourceScope(indicator, scopes.join(' '));
    }
    const grantId = await grant.save();
    rememberConsent(session.accountId, params.client_id, missing);
    await finish({ consent: { grantId } }, true);
    return;
  }

  if (action === 'abort' && ctx.method === 'POST') {
    const description = prompt.name === 'consent'
      ? 'The user denied the requested access'
      : 'End-User aborted interaction';
    await finish({ error: 'access_denied', error_description: description });
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
