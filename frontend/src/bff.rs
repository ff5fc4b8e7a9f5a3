//! The BFF's HTTP API (same origin, session cookie, `X-CSRF: 1` on every POST and every `/api` call). Types
//! come from `shared::api`, so both tiers agree by construction.

pub use crate::http::Reply;
use crate::http::{self, Call, Failure};
use crate::problem::{Cause, Problem};
use shared::api::{
    ApiCatalog, ErrorBody, LoggedOut, LoginOptions, LoginRequest, LoginStarted, LogoutConfirmed,
    LogoutReturn, SessionInfo,
};
use shared::fragment::AuthorizationResponse;
use shared::json::{self, FromJson};
use shared::{ResponseType, ValidationError};

/// Generous for every BFF answer; the demo API's JSON is tiny.
const MAX_BODY_BYTES: usize = 256 * 1024;
/// No BFF call waits longer than this (the BFF's own upstream timeouts are shorter).
const TIMEOUT_MS: u32 = 20_000;

/// `POST /bff/login`: starts a sign-in; the answer says where to send the browser. No body asks for the BFF's
/// default response type; another one (conformance mode) must be one the BFF accepts, or it answers 400.
pub async fn login(response_type: Option<ResponseType>) -> Result<LoginStarted, Problem> {
    let body = response_type.map(|response_type| {
        json::to_string(&LoginRequest {
            response_type: Some(response_type),
        })
    });
    expect_json(post("/bff/login", body).await?)
}

/// `GET /bff/login`: the response types this BFF accepts, asked only when the Advanced settings are opened (so
/// the signed-out page costs no request for a setting few people use).
pub async fn login_options() -> Result<LoginOptions, Problem> {
    expect_json(request("GET", "/bff/login", false, None).await?)
}

/// `POST /bff/session`: hands the front-channel response (as read from the fragment) to the BFF, which checks it
/// again and redeems the code.
pub async fn create_session(response: &AuthorizationResponse) -> Result<SessionInfo, Problem> {
    expect_json(post("/bff/session", Some(json::to_string(response))).await?)
}

/// `GET /bff/user`: the current session, or `None` when there is none (401).
pub async fn current_session() -> Result<Option<SessionInfo>, Problem> {
    let reply = request("GET", "/bff/user", false, None).await?;
    if reply.status == 401 {
        return Ok(None);
    }
    expect_json(reply).map(Some)
}

/// `POST /bff/logout`: ends the BFF session; the answer may carry the end-session form for the OP.
pub async fn logout() -> Result<LoggedOut, Problem> {
    expect_json(post("/bff/logout", None).await?)
}

/// `POST /bff/logout/return`: back from the OP's end-session endpoint, is `state` the one this browser's logout
/// sent? Any refusal (or failure) means "not confirmed".
pub async fn logout_return(state: &str) -> Result<LogoutConfirmed, Problem> {
    let body = json::to_string(&LogoutReturn {
        state: state.to_owned(),
    });
    expect_json(post("/bff/logout/return", Some(body)).await?)
}

/// `GET /api/demo/hello` through the BFF (which adds the access token): the JSON, pretty-printed.
pub async fn call_demo_api() -> Result<String, ApiError> {
    let reply = request("GET", "/api/demo/hello", true, None)
        .await
        .map_err(ApiError::Other)?;
    if !(200..300).contains(&reply.status) {
        let signed_out = reply.status == 401;
        let problem = error_of(reply);
        return Err(if signed_out {
            ApiError::SignedOut(problem)
        } else {
            ApiError::Other(problem)
        });
    }
    crate::json::pretty(&reply.body).ok_or_else(|| ApiError::Other(bad_reply()))
}

/// `GET /bff/apis`: the upstreams the console may call.
pub async fn apis() -> Result<ApiCatalog, Problem> {
    expect_json(request("GET", "/bff/apis", false, None).await?)
}

/// One API console call through the BFF: whatever the status, the reply as it came.
pub async fn console_call(method: &str, url: &str, body: Option<String>) -> Result<Reply, Problem> {
    request(method, url, true, body).await
}

/// What a failed console call means, in plain words, with the BFF's `error` code when it sent one.
pub fn explain(reply: &Reply) -> Option<Problem> {
    if (200..400).contains(&reply.status) {
        return None;
    }
    let body = json::from_slice::<ErrorBody>(&reply.body).ok();
    let code = body.as_ref().map(|b| b.error.clone()).unwrap_or_default();
    let (kind, words) = match (reply.status, code.as_str()) {
        (401, _) => ("session_gone", "The session is gone (expired, or ended elsewhere). Sign in again to continue."),
        (403, "csrf_header_missing") | (403, "csrf") => ("csrf", "The BFF refused the call: it lacked the anti-CSRF header (X-CSRF: 1), which every /api call needs."),
        (403, "cross_origin_request") => ("cross_origin", "The BFF refused the call: it came from a page of another origin than this application's. Open the app at its own address."),
        (403, _) => ("forbidden", "The BFF or the API refused this path: it is outside the API's allowed path prefix, or the token lacks the rights."),
        (404, _) => ("not_found", "No such API or path: check the API name and the path."),
        (405, _) => ("method_not_allowed", "This API does not allow that method (the BFF's per-API allowlist)."),
        (413, _) => ("too_large", "The request body is larger than this API accepts."),
        (502, _) => ("upstream_unavailable", "The API behind the BFF could not be reached (502). Try again in a moment."),
        (504, _) => ("upstream_timeout", "The API behind the BFF took too long to answer (504). Try again in a moment."),
        (s, _) if s >= 500 => ("server_error", "The server ran into a problem. Try again later."),
        _ => ("http_error", "The request was refused."),
    };
    let code = if code.is_empty() {
        kind.to_owned()
    } else {
        code
    };
    let message = match &body {
        Some(b) if !b.message.is_empty() => [words, " (", &b.message, ")"].concat(),
        _ => words.to_owned(),
    };
    Some(Problem {
        cause: cause_of(reply.status, &code),
        code,
        message,
    })
}

/// What a refusal by the BFF means for the person: a 401 is always a session that ended; the BFF's own
/// checks of the login it holds for this browser mean there is no sign-in to finish.
fn cause_of(status: u16, code: &str) -> Cause {
    let login_gone = matches!(
        code,
        "login_cookie_invalid" | "login_expired" | "login_already_used"
    ) || code == ValidationError::NoPendingLogin.rule();
    if status == 401 {
        Cause::SessionEnded
    } else if login_gone {
        Cause::LoginGone
    } else {
        Cause::Other
    }
}

pub enum ApiError {
    /// The session is gone (401): the page should offer to sign in again.
    SignedOut(Problem),
    Other(Problem),
}

async fn post(url: &str, json_body: Option<String>) -> Result<Reply, Problem> {
    request("POST", url, true, json_body).await
}

async fn request(
    method: &str,
    url: &str,
    csrf: bool,
    json_body: Option<String>,
) -> Result<Reply, Problem> {
    http::send(Call {
        method,
        url,
        same_origin: true,
        csrf,
        json_body,
        max_bytes: MAX_BODY_BYTES,
        timeout_ms: TIMEOUT_MS,
    })
    .await
    .map_err(|failure| match failure {
        Failure::Unreachable => Problem::unreachable(),
        Failure::Timeout => Problem::of(
            Cause::NoAnswer,
            "timeout",
            "The server did not answer in time. Check your connection and try again.",
        ),
        Failure::TooLarge => {
            Problem::new("too_large", "The server's answer was unexpectedly large.")
        }
    })
}

/// A 2xx body as `T`, or the `ErrorBody` message (or plain words when the body is not one).
fn expect_json<T: FromJson>(reply: Reply) -> Result<T, Problem> {
    if (200..300).contains(&reply.status) {
        return json::from_slice(&reply.body).map_err(|_| bad_reply());
    }
    Err(error_of(reply))
}

fn bad_reply() -> Problem {
    Problem::new("bad_reply", "The server's answer could not be read.")
}

/// A non-2xx answer as a problem: the `ErrorBody` when the BFF sent one, plain words otherwise.
fn error_of(reply: Reply) -> Problem {
    match json::from_slice::<ErrorBody>(&reply.body) {
        Ok(body) => Problem {
            cause: cause_of(reply.status, &body.error),
            message: body.message,
            code: body.error,
        },
        Err(_) if reply.status >= 500 => Problem::new(
            "server_error",
            [
                "The server ran into a problem (HTTP ",
                &json::decimal(reply.status.into()),
                "). Please try again later.",
            ]
            .concat(),
        ),
        Err(_) => Problem::new(
            "http_error",
            [
                "The server refused the request (HTTP ",
                &json::decimal(reply.status.into()),
                ").",
            ]
            .concat(),
        ),
    }
}
