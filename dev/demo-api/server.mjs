// Demo resource server for the hybrid-flow demo. NOT FOR PRODUCTION.
// Accepts `Authorization: Bearer <JWT access token>` issued by the dev OP for
// audience DEMO_API_AUDIENCE, on any path and method. Never logs tokens.
// A DPoP-bound token (one with `cnf.jkt`) is accepted only as `Authorization: DPoP` with a valid proof
// (RFC 9449 7): signature by the key in its header, `htm`, `htu`, `ath`, a recent `iat`, a `jti` not seen
// before, and the key's thumbprint equal to `cnf.jkt`. With DEMO_API_DPOP_NONCE=1 each proof must also carry
// the nonce this API hands out (401 `use_dpop_nonce` with a `DPoP-Nonce` header otherwise).

import { createHash, randomBytes } from 'node:crypto';
import http from 'node:http';

import {
  EmbeddedJWK, calculateJwkThumbprint, createRemoteJWKSet, decodeProtectedHeader, errors, jwtVerify,
} from 'jose';

const env = (name, fallback) => {
  const v = process.env[name];
  return v === undefined || v === '' ? fallback : v;
};

const PORT = Number(env('DEMO_API_PORT', '4001'));
const HOST = env('DEMO_API_HOST', '127.0.0.1');
const ISSUER = env('OP_ISSUER', 'http://127.0.0.1:9090');
const AUDIENCE = env('DEMO_API_AUDIENCE', 'urn:demo-api');
const ALGORITHMS = ['RS256', 'PS256', 'ES256'];
const DPOP_ALGORITHMS = ['ES256', 'PS256', 'RS256', 'EdDSA'];
const DPOP_REQUIRE_NONCE = env('DEMO_API_DPOP_NONCE', '0') === '1';
// How far a proof's `iat` may be from now (seconds), and so how long its `jti` must be remembered.
const DPOP_IAT_WINDOW = 60;
const DPOP_NONCE = randomBytes(16).toString('base64url');
// Proof ids seen within the window: jti -> expiry (ms). Pruned as it is read.
const seenJtis = new Map();

// ---------------------------------------------------------------------------
// OP discovery (retried until the OP is up) -> remote JWKS
// ---------------------------------------------------------------------------
let jwks; // set once discovery succeeded
let discovering; // in-flight discovery promise

async function discoverOnce() {
  const url = `${ISSUER.replace(/\/$/, '')}/.well-known/openid-configuration`;
  const res = await fetch(url, { signal: AbortSignal.timeout(3000) });
  if (!res.ok) throw new Error(`discovery returned HTTP ${res.status}`);
  const meta = await res.json();
  if (meta.issuer !== ISSUER) throw new Error(`discovery issuer ${meta.issuer} does not match OP_ISSUER ${ISSUER}`);
  if (typeof meta.jwks_uri !== 'string') throw new Error('discovery document has no jwks_uri');
  jwks = createRemoteJWKSet(new URL(meta.jwks_uri), { timeoutDuration: 3000, cooldownDuration: 5000 });
  console.log(`demo API: using JWKS ${meta.jwks_uri}`);
}

function discover() {
  if (jwks) return Promise.resolve();
  discovering ||= discoverOnce().finally(() => { discovering = undefined; });
  return discovering;
}

// Background retry loop at start so the API is ready when the OP comes up.
(async function retryDiscovery() {
  for (let delay = 250; !jwks; delay = Math.min(delay * 2, 5000)) {
    try {
      await discover();
    } catch (err) {
      console.error(`demo API: OP discovery failed (${err.message}); retrying in ${delay} ms`);
      await new Promise((r) => { setTimeout(r, delay).unref(); });
    }
  }
})();

// ---------------------------------------------------------------------------
// HTTP
// ---------------------------------------------------------------------------
function sendJson(res, status, body, headers = {}) {
  const data = JSON.stringify(body);
  res.writeHead(status, {
    'content-type': 'application/json',
    'cache-control': 'no-store',
    'content-length': Buffer.byteLength(data),
    ...headers,
  });
  res.end(data);
}

function unauthorized(res, message) {
  sendJson(res, 401, { error: 'invalid_token', message }, {
    'www-authenticate': 'Bearer error="invalid_token"',
  });
}

function dpopRefused(res, error, message, headers = {}) {
  sendJson(res, 401, { error, message }, {
    'www-authenticate': `DPoP error="${error}", algs="${DPOP_ALGORITHMS.join(' ')}"`,
    ...headers,
  });
}

// RFC 9449 4.3 and 7.1: the checks of a resource server. Answers a refusal message, or undefined when the
// proof is good (its jti is then remembered).
async function checkDpopProof(req, path, token, jkt) {
  const proofs = req.headers.dpop;
  if (typeof proofs !== 'string' || !proofs || proofs.includes(',')) return 'exactly one DPoP proof is required';
  let protectedHeader;
  let payload;
  try {
    ({ payload, protectedHeader } = await jwtVerify(proofs, EmbeddedJWK, { typ: 'dpop+jwt', algorithms: DPOP_ALGORITHMS }));
  } catch {
    return 'the DPoP proof is not a valid signed proof';
  }
  if (payload.htm !== req.method) return 'the DPoP proof is for another method (htm)';
  const expected = `http://${req.headers.host}${path}`;
  const htu = URL.parse(String(payload.htu));
  if (!htu) return 'the DPoP proof has no valid htu';
  htu.search = '';
  htu.hash = '';
  if (htu.href !== new URL(expected).href) return 'the DPoP proof is for another URL (htu)';
  if (payload.ath !== createHash('sha256').update(token).digest('base64url')) return 'the DPoP proof is for another token (ath)';
  const now = Math.floor(Date.now() / 1000);
  if (typeof payload.iat !== 'number' || Math.abs(now - payload.iat) > DPOP_IAT_WINDOW) return 'the DPoP proof is not recent (iat)';
  if (typeof payload.jti !== 'string' || !payload.jti) return 'the DPoP proof has no jti';
  for (const [jti, until] of seenJtis) if (until < Date.now()) seenJtis.delete(jti);
  if (seenJtis.has(payload.jti)) return 'the DPoP proof was used before (jti replayed)';
  if (await calculateJwkThumbprint(protectedHeader.jwk) !== jkt) return 'the DPoP proof is signed by another key than the token is bound to (cnf.jkt)';
  if (DPOP_REQUIRE_NONCE && payload.nonce !== DPOP_NONCE) return 'use_dpop_nonce';
  seenJtis.set(payload.jti, Date.now() + 2 * DPOP_IAT_WINDOW * 1000);
  return undefined;
}

function describe(err) {
  if (err instanceof errors.JWTExpired) return 'the access token has expired';
  if (err instanceof errors.JWTClaimValidationFailed) {
    switch (err.claim) {
      case 'aud': return 'the access token is not meant for this API (wrong audience)';
      case 'iss': return 'the access token was not issued by the expected OpenID Provider';
      case 'typ': return 'the token is not an access token (typ must be at+jwt)';
      case 'nbf': return 'the access token is not valid yet';
      default: return `the access token has an unacceptable "${err.claim}" claim`;
    }
  }
  if (err instanceof errors.JWSSignatureVerificationFailed) return 'the access token signature is not valid';
  if (err instanceof errors.JWKSNoMatchingKey) return 'the access token is signed with an unknown key';
  if (err instanceof errors.JOSEAlgNotAllowed) return 'the access token uses a signing algorithm this API does not accept';
  if (err instanceof errors.JWSInvalid || err instanceof errors.JWTInvalid) return 'the access token is not a valid signed JWT';
  return 'the access token could not be verified';
}

const server = http.createServer(async (req, res) => {
  req.resume(); // the body is not used
  const path = new URL(req.url, 'http://demo-api').pathname;

  try {
    const auth = req.headers.authorization || '';
    const m = /^(Bearer|DPoP) +([A-Za-z0-9\-._~+/]+=*) *$/i.exec(auth);
    if (!m) {
      unauthorized(res, auth ? 'the Authorization header is not a Bearer or DPoP token' : 'a Bearer access token is required');
      return;
    }
    const scheme = m[1].toLowerCase();
    m[1] = m[2];

    try {
      decodeProtectedHeader(m[1]); // reject non-JWTs without needing the OP
      if (m[1].split('.').length !== 3) throw new Error('not a JWS');
    } catch {
      unauthorized(res, 'the access token is not a valid signed JWT');
      return;
    }

    try {
      await discover();
    } catch (err) {
      sendJson(res, 503, { error: 'temporarily_unavailable', message: `cannot reach the OpenID Provider: ${err.message}` }, { 'retry-after': '1' });
      return;
    }

    let payload;
    try {
      ({ payload } = await jwtVerify(m[1], jwks, {
        issuer: ISSUER,
        audience: AUDIENCE,
        algorithms: ALGORITHMS,
        typ: 'at+jwt',
        requiredClaims: ['exp', 'sub'],
        clockTolerance: 5,
      }));
    } catch (err) {
      if (err instanceof errors.JWKSTimeout) {
        sendJson(res, 503, { error: 'temporarily_unavailable', message: 'the OpenID Provider key set did not answer in time' }, { 'retry-after': '1' });
        return;
      }
      unauthorized(res, describe(err));
      return;
    }

    const jkt = payload.cnf?.jkt;
    if (jkt !== undefined || scheme === 'dpop') {
      if (typeof jkt !== 'string') {
        dpopRefused(res, 'invalid_token', 'the access token is not DPoP-bound');
        return;
      }
      if (scheme !== 'dpop') {
        dpopRefused(res, 'invalid_token', 'a DPoP-bound access token must be presented with the DPoP scheme, not as Bearer');
        return;
      }
      const refusal = await checkDpopProof(req, path, m[1], jkt);
      if (refusal === 'use_dpop_nonce') {
        dpopRefused(res, 'use_dpop_nonce', 'this API requires a nonce in the DPoP proof', { 'dpop-nonce': DPOP_NONCE });
        return;
      }
      if (refusal) {
        dpopRefused(res, 'invalid_dpop_proof', refusal);
        return;
      }
    }

    sendJson(res, 200, {
      sub: payload.sub,
      scope: payload.scope ?? '',
      client_id: payload.client_id ?? null,
      // How the token was presented, and to which key it is bound (a thumbprint, public).
      scheme: scheme === 'dpop' ? 'DPoP' : 'Bearer',
      jkt: jkt ?? null,
      // Which token this was (its id and lifetime, never the token): a test can tell when a client refreshed.
      token: { jti: payload.jti ?? null, iat: payload.iat ?? null, exp: payload.exp },
      method: req.method,
      path,
      message: 'hello from the demo API',
    });
  } catch (err) {
    console.error(`demo API: internal error: ${err.message}`);
    if (!res.headersSent) sendJson(res, 500, { error: 'server_error', message: 'internal error' });
  }
});

server.on('error', (err) => {
  console.error(`demo API: cannot listen on ${HOST}:${PORT}: ${err.message}`);
  process.exit(1);
});

server.listen(PORT, HOST, () => {
  console.log(`demo API listening on http://${HOST}:${PORT}`);
});

function shutdown() {
  server.close(() => process.exit(0));
  server.closeAllConnections?.();
  setTimeout(() => process.exit(0), 2000).unref();
}
process.on('SIGTERM', shutdown);
process.on('SIGINT', shutdown);
