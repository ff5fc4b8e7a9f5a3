//! The BFF's HTTP API (same origin, session cookie, `X-CSRF: 1` on every POST and every `/api` call). Types
//! come from `shared::api`, so both tiers agree by construction.

use crate::http::{self, Call, Failure, Reply};
use crate::problem::Problem;
use serde::de::DeserializeOwned;
use shared::api::{ErrorBody, LoggedOut, LoginStarted, SessionInfo};
use shared::fragment::AuthorizationResponse;

/// Generous for every BFF answer; the demo API's JSON is tiny.
const MAX_BODY_BYTES: usize = 256 * 1024;

/// `POST /bff/login`: starts a sign-in; the answer says where to send the browser.
pub async fn login() -> Result<LoginStarted, Problem> {
    expect_json(post("/bff/login", None).await?)
}

/// `POST /bff/session`: hands the front-channel response (as read from the fragment) to the BFF, which checks it
/// again and redeems the code.
pub async fn create_session(response: &AuthorizationResponse) -> Result<SessionInfo, Problem> {
    let body = serde_json::to_string(response)
        .map_err(|_| Problem::new("internal", "The sign-in could not be sent."))?;
    expect_json(post("/bff/session", Some(body)).await?)
}

/// `GET /bff/user`: the current session, or `None` when there is none (401).
pub async fn current_session() -> Result<Option<SessionInfo>, Problem> {
    let reply = request("GET", "/bff/user", false, None).await?;
    if reply.status == 401 {
        return Ok(None);
    }
    expect_json(reply).map(Some)
}

/// `POST /bff/logout`: ends the BFF session; the answer may name the OP's end-session URL.
pub async fn logout() -> Result<LoggedOut, Problem> {
    expect_json(post("/bff/logout", None).await?)
}

/// `GET /api/demo/hello` through the BFF (which adds the access token): the JSON, pretty-printed.
pub async fn call_demo_api() -> Result<String, ApiError> {
    let reply = request("GET", "/api/demo/hello", true, None)
        .await
        .map_err(ApiError::Other)?;
    let status = reply.status;
    match expect_json::<serde_json::Value>(reply) {
        Ok(value) => Ok(serde_json::to_string_pretty(&value).unwrap_or_default()),
        Err(problem) if status == 401 => Err(ApiError::SignedOut(problem)),
        Err(problem) => Err(ApiError::Other(problem)),
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
    })
    .await
    .map_err(|failure| match failure {
        Failure::Unreachable => Problem::unreachable(),
        Failure::TooLarge => {
            Problem::new("too_large", "The server's answer was unexpectedly large.")
        }
    })
}

/// A 2xx body as `T`, or the `ErrorBody` message (or plain words when the body is not one).
fn expect_json<T: DeserializeOwned>(reply: Reply) -> Result<T, Problem> {
    if (200..300).contains(&reply.status) {
        return serde_json::from_slice(&reply.body)
            .map_err(|_| Problem::new("bad_reply", "The server's answer could not be read."));
    }
    Err(match serde_json::from_slice::<ErrorBody>(&reply.body) {
        Ok(body) => Problem {
            message: body.message,
            code: body.error,
        },
        Err(_) if reply.status >= 500 => Problem::new(
            "server_error",
            format!(
                "The server ran into a problem (HTTP {}). Please try again later.",
                reply.status
            ),
        ),
        Err(_) => Problem::new(
            "http_error",
            format!("The server refused the request (HTTP {}).", reply.status),
        ),
    })
}
