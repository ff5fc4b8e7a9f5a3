//! The redirect back from the OP: fragment → checks in the browser → user shown at once → code to the BFF.
//!
//! Order matters: the fragment leaves the address bar before anything else happens, the pending sign-in is
//! used up whatever the outcome, and the code is sent to the BFF only after every rule passed.
//!
//! The OP's key set normally comes from the pending sign-in (fetched when the sign-in started), so checking the
//! ID token needs no network round trip; it is fetched now only when that copy is missing, stale, or lacks the
//! token's `kid` (then once).

use crate::flow::{self, Outcome, Step, TokenTable};
use crate::http::{self, Call, Failure};
use crate::pending::{self, Stored};
use crate::problem::{Cause, Problem};
use crate::webcrypto::WebCryptoVerifier;
use shared::api::{PendingLogin, User};
use shared::fragment::{looks_like_authorization_response, parse_fragment, AuthorizationResponse};
use shared::jose::alg::AlgPolicy;
use shared::jose::jwks::{JwkSet, MAX_JWKS_BYTES};
use shared::jose::jws::CompactJws;
use shared::json::decimal;
use shared::verify::authorization::{verify_response, Expected, VerifiedResponse};
use shared::verify::{Context, Keys};
use shared::{Stage, ValidationError};

/// The key set fetch gives up after this.
const JWKS_TIMEOUT_MS: u32 = 10_000;

/// A response that passed every rule in the browser, ready for the BFF.
pub struct Verified {
    /// Exactly as read from the fragment; the BFF validates it again (it cannot trust the browser).
    pub response: AuthorizationResponse,
    /// From the verified front-channel ID token; `None` for `code token`, which has none.
    pub user: Option<User>,
    /// The decoded ID token, for the flow view.
    pub table: Option<TokenTable>,
}

/// When the address bar holds an authorization response: removes it from the address bar and the history at
/// once, and returns it. Ordinary `#anchors` are left alone.
pub fn take_fragment() -> Option<String> {
    let hash = crate::browser::hash();
    if !looks_like_authorization_response(&hash) {
        return None;
    }
    crate::browser::clean_address_bar();
    Some(hash)
}

/// Runs every check of the front-channel response, reporting each step to `log`. On `Err` the code must not be
/// sent anywhere.
pub async fn verify(fragment: &str, log: &dyn Fn(Step)) -> Result<Verified, Problem> {
    let now = crate::browser::now_secs();
    // Used up whatever happens next: a response can be matched against a sign-in only once.
    let stored = pending::take(now);
    if let Some(s) = &stored {
        if let Some(path) = pending::safe_return_path(&s.return_to) {
            crate::browser::replace_path(&path);
        }
        let rt = s.pending.response_type.as_str();
        // A pushed request (PAR) leaves only `client_id` and `request_uri` in the URL, so no scope to show.
        let detail = if s.scope.is_empty() {
            [
                "response_type=",
                rt,
                ", pushed by the BFF (PAR): only client_id and request_uri in the URL, valid ",
                &decimal(s.pending.expires_at - s.started_ms / 1000),
                " s",
            ]
            .concat()
        } else {
            ["response_type=", rt, ", scope=", &s.scope].concat()
        };
        let mut step = Step::new("Authorization request", detail, Outcome::Info);
        step.at_ms = s.started_ms;
        log(step);
    }
    // An OP error (e.g. the user declined) says more than "no pending sign-in", so the fragment is read first.
    let response = match parse_fragment(fragment) {
        Ok(response) => response,
        Err(e) => {
            log(Step::new("Fragment received", e.rule(), Outcome::Failed));
            return Err(e.into());
        }
    };
    crate::browser::mark("fragment-parsed");
    log(Step::new(
        "Fragment received",
        flow::fragment_summary(&response),
        Outcome::Info,
    ));
    let stored = stored.ok_or_else(|| {
        log(Step::new(
            "ID token checks",
            "no_pending_login",
            Outcome::Failed,
        ));
        ValidationError::NoPendingLogin
    })?;
    let verified = match check(&response, &stored, now, log).await {
        Ok(verified) => verified,
        Err((stage, problem)) => {
            let mut step = Step::new("ID token checks", problem.code.clone(), Outcome::Failed);
            step.checks = flow::failed_checks(stage, &problem.code);
            log(step);
            return Err(problem);
        }
    };
    crate::browser::mark("id-token-verified");
    let pending = &stored.pending;
    let header = response
        .id_token
        .as_deref()
        .and_then(|raw| CompactJws::parse(raw).ok())
        .map(|jws| jws.header().clone());
    let token = verified.id_token.as_ref().map(|t| {
        let kid = header.as_ref().and_then(|h| h.kid.as_deref());
        (t.alg, kid, &t.claims)
    });
    let checks = flow::passed_checks(&response, pending, token, now);
    let passed = checks
        .iter()
        .filter(|c| c.outcome == Outcome::Passed)
        .count();
    let mut step = Step::new(
        "ID token checks",
        [
            &decimal(passed as i64),
            " checks passed, ",
            &decimal((checks.len() - passed) as i64),
            " not applicable",
        ]
        .concat(),
        Outcome::Passed,
    );
    step.checks = checks;
    log(step);
    let table = verified.id_token.as_ref().map(|t| {
        let h = header.as_ref();
        flow::token_table(
            t.alg,
            h.and_then(|h| h.kid.as_deref()),
            h.and_then(|h| h.typ.as_deref()),
            &t.claims,
        )
    });
    let user = verified.id_token.map(|token| token.claims.user());
    Ok(Verified {
        response,
        user,
        table,
    })
}

/// Verifies with the cached key set when it is fresh; fetches the set when there is none, or once when the
/// cached set lacks the token's kid. A refusal names the stage it stopped at, for the flow view.
async fn check(
    response: &AuthorizationResponse,
    stored: &Stored,
    now: i64,
    log: &dyn Fn(Step),
) -> Result<VerifiedResponse, (Stage, Problem)> {
    let refused = |e: ValidationError| (e.stage(), Problem::from(e));
    let pending = &stored.pending;
    let cached = stored
        .fresh_jwks(now)
        .and_then(|json| JwkSet::parse(json.as_bytes()).ok());
    if let Some(jwks) = cached {
        log(Step::new(
            "OP keys",
            [
                "cached when the sign-in started (",
                &decimal(now - stored.jwks_fetched_at),
                " s ago): no request",
            ]
            .concat(),
            Outcome::Info,
        ));
        match verify_with(response, pending, &jwks, now).await {
            Err(ValidationError::UnknownKid) => {}
            other => return other.map_err(refused),
        }
    }
    if response.id_token.is_none() {
        // `code token`: no signature to check, so no keys are needed.
        return verify_with(response, pending, &JwkSet::default(), now)
            .await
            .map_err(refused);
    }
    let started = js_sys::Date::now();
    // The keys are what the signature check needs: without them the checks stop there.
    let (jwks, _) = fetch_jwks(&pending.jwks_uri)
        .await
        .map_err(|problem| (Stage::Signature, problem))?;
    log(Step::new(
        "OP keys",
        [
            "fetched from jwks_uri in ",
            &decimal((js_sys::Date::now() - started) as i64),
            " ms",
        ]
        .concat(),
        Outcome::Info,
    ));
    verify_with(response, pending, &jwks, now)
        .await
        .map_err(refused)
}

async fn verify_with(
    response: &AuthorizationResponse,
    pending: &PendingLogin,
    jwks: &JwkSet,
    now: i64,
) -> Result<VerifiedResponse, ValidationError> {
    let policy = AlgPolicy::only(&pending.allowed_algs);
    let expected = Expected {
        state: &pending.state,
        response_type: pending.response_type,
        rules: &pending.rules,
        iss_parameter_supported: pending.iss_parameter_supported,
    };
    let keys = Keys {
        jwks,
        policy: &policy,
    };
    verify_response(
        response,
        &expected,
        Context::new(keys, now, &WebCryptoVerifier),
    )
    .await
}

/// The OP's key set, fetched directly from its `jwks_uri` (the OP allows CORS; no cookies are sent): the
/// parsed set and the JSON as served (public data, cached with the pending sign-in).
pub async fn fetch_jwks(uri: &str) -> Result<(JwkSet, String), Problem> {
    let reply = http::send(Call {
        method: "GET",
        url: uri,
        same_origin: false,
        csrf: false,
        json_body: None,
        max_bytes: MAX_JWKS_BYTES,
        timeout_ms: JWKS_TIMEOUT_MS,
    })
    .await
    .map_err(|failure| match failure {
        Failure::TooLarge => ValidationError::BadJwks { reason: "it is too large".into() }.into(),
        Failure::Unreachable | Failure::Timeout => Problem::of(
            Cause::NoAnswer,
            "jwks_unreachable",
            "The identity provider's keys could not be fetched, so the sign-in cannot be checked. Please try again.",
        ),
    })?;
    if reply.status != 200 {
        return Err(ValidationError::BadJwks {
            reason: "the server answered HTTP ".to_owned() + &decimal(reply.status.into()),
        }
        .into());
    }
    let set = JwkSet::parse(&reply.body)?;
    Ok((set, String::from_utf8_lossy(&reply.body).into_owned()))
}
