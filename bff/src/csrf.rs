//! The anti-CSRF layer: every state-changing `/bff` call and every `/api` call must carry `X-CSRF: 1`. A
//! cross-site page cannot add a custom header without a CORS preflight, which the BFF never answers.
//!
//! The same calls are refused when they name an `Origin` other than `public_origin`: browsers send `Origin` with
//! every cross-origin request (and every POST), so this holds even if something in front of the BFF (a reverse
//! proxy adding CORS headers) lets a foreign page through the preflight. Without `Origin` (a same-origin GET, a
//! non-browser client) the header rule alone decides.
//!
//! One exemption: `POST /bff/backchannel` ([`crate::flow::backchannel`]), which the OP calls server to server
//! with a plain form post and no such header. It is safe without the header because it uses no cookie and no
//! browser session: the request is authenticated by the logout token's signature (plus issuer, audience, age
//! and a one-time `jti`), so a forged cross-site post carries nothing the BFF would accept.

use crate::error::AppError;
use crate::state::AppState;
use axum::extract::{Request, State};
use axum::http::{header, Method};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use shared::api::{CSRF_HEADER, CSRF_VALUE};

/// Middleware enforcing the header (and the origin, when named) on the routes it wraps.
pub async fn require_header(
    State(state): State<AppState>,
    request: Request,
    next: Next,
) -> Response {
    let path = request.uri().path();
    let safe_method = matches!(*request.method(), Method::GET | Method::HEAD);
    let back_channel = path == crate::flow::backchannel::PATH && *request.method() == Method::POST;
    let needs_header =
        path.starts_with("/api/") || (path.starts_with("/bff/") && !safe_method && !back_channel);
    let has_header = request
        .headers()
        .get(CSRF_HEADER)
        .is_some_and(|v| v.as_bytes() == CSRF_VALUE.as_bytes());
    if needs_header && !has_header {
        return AppError::CsrfHeaderMissing.into_response();
    }
    if needs_header && names_another_origin(&request, &state) {
        return AppError::CrossOrigin.into_response();
    }
    next.run(request).await
}

/// Whether the request carries an `Origin` that is not the application's (`public_origin`, serialised as
/// browsers do: scheme, host, port unless the default).
fn names_another_origin(request: &Request, state: &AppState) -> bool {
    request.headers().get(header::ORIGIN).is_some_and(|origin| {
        let own = state.config.public_origin.origin().ascii_serialization();
        origin.as_bytes() != own.as_bytes()
    })
}
