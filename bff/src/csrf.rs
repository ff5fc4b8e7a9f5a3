//! The anti-CSRF layer: every state-changing `/bff` call and every `/api` call must carry `X-CSRF: 1`. A
//! cross-site page cannot add a custom header without a CORS preflight, which the BFF never answers.

use crate::error::AppError;
use axum::extract::Request;
use axum::http::Method;
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use shared::api::{CSRF_HEADER, CSRF_VALUE};

/// Middleware enforcing the header on the routes it wraps.
pub async fn require_header(request: Request, next: Next) -> Response {
    let path = request.uri().path();
    let safe_method = matches!(*request.method(), Method::GET | Method::HEAD);
    let needs_header = path.starts_with("/api/") || (path.starts_with("/bff/") && !safe_method);
    let has_header = request
        .headers()
        .get(CSRF_HEADER)
        .is_some_and(|v| v.as_bytes() == CSRF_VALUE.as_bytes());
    if needs_header && !has_header {
        return AppError::CsrfHeaderMissing.into_response();
    }
    next.run(request).await
}
