//! Which request headers the proxy passes to an upstream, and which it never does: shared by the proxy, which
//! applies the lists, and the config, which refuses an `apis.<name>.forward_headers` entry the BFF owns. Apart
//! from both so that neither imports the other.

/// Request headers every upstream gets from the browser's request: end-to-end ones that describe what the browser
/// accepts, what it sends and on which condition (RFC 9110 8, 12.5, 13, 14), plus the request id for correlating
/// logs. An allowlist, so what a client can forge (`X-Forwarded-*`, `Forwarded`, `X-Real-IP`, method overrides,
/// anything an upstream might trust) never reaches an upstream unless the operator names it in
/// `apis.<name>.forward_headers`.
pub const DEFAULT_FORWARD_HEADERS: [&str; 14] = [
    "accept",
    "accept-encoding",
    "accept-language",
    "cache-control",
    "content-encoding",
    "content-language",
    "content-type",
    "if-match",
    "if-modified-since",
    "if-none-match",
    "if-range",
    "if-unmodified-since",
    "range",
    "x-request-id",
];

/// Headers that describe one connection, not the message (RFC 9110 7.6.1, plus the obsolete `proxy-connection`):
/// never forwarded in either direction.
pub const HOP_BY_HOP: [&str; 9] = [
    "connection",
    "keep-alive",
    "proxy-authenticate",
    "proxy-authorization",
    "proxy-connection",
    "te",
    "trailer",
    "transfer-encoding",
    "upgrade",
];

/// Header names `apis.<name>.forward_headers` may not add: the hop-by-hop ones, and the ones the BFF owns (the
/// upstream's host and the body's length are the BFF's request, the token is the BFF's, the browser's cookies
/// and CSRF header are for the BFF alone).
pub fn never_forwarded(name: &str) -> bool {
    let owned = [
        "host",
        "cookie",
        "authorization",
        "content-length",
        shared::api::CSRF_HEADER,
    ];
    HOP_BY_HOP
        .iter()
        .chain(owned.iter())
        .any(|n| n.eq_ignore_ascii_case(name))
}
