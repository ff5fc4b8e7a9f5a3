//! `[server]` and the listeners: where the BFF listens and the time limits of its own HTTP server.

use super::error::{bad, ConfigError};
use serde::Deserialize;
use std::net::SocketAddr;

/// Time limits of the BFF's HTTP server (`[server]`), so a BFF reachable without a reverse proxy cannot be
/// held by slow clients.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ServerConfig {
    /// A connection must deliver a whole request head (request line and headers) within this many seconds of
    /// being opened or of its previous answer; otherwise it is closed (slowloris). It also ends idle keep-alive
    /// connections after that long.
    #[serde(default = "default_header_read_timeout")]
    pub header_read_timeout_secs: u64,
    /// Every `/bff/...` request must be answered within this many seconds, body upload included, or it gets
    /// 504 `request_timeout`. `/api/...` calls have their API's `timeout_secs` instead (their bodies stream).
    /// Must exceed [`OP_CALLS_PER_BFF_REQUEST`] × `oidc.http_timeout_secs`.
    #[serde(default = "default_request_timeout")]
    pub request_timeout_secs: u64,
}

impl Default for ServerConfig {
    fn default() -> Self {
        ServerConfig {
            header_read_timeout_secs: default_header_read_timeout(),
            request_timeout_secs: default_request_timeout(),
        }
    }
}

/// The most requests to the OP one `/bff` request can make one after the other, each bounded by
/// `oidc.http_timeout_secs`: the code exchange may fetch the key set (stale cache), refetch it for an unknown
/// `kid` in the front-channel ID token, call the token endpoint, and refetch for the token-endpoint ID token's
/// `kid`. The whole-request timeout must leave room for all of them, or a slow but working OP would be cut off
/// by the BFF's own limit instead of answering.
pub const OP_CALLS_PER_BFF_REQUEST: u64 = 4;

impl ServerConfig {
    /// The limits' own ranges, and room in the request deadline for a sign-in whose OP calls each take
    /// `op_http_timeout_secs` (`oidc.http_timeout_secs`).
    pub(super) fn validate(&self, op_http_timeout_secs: u64) -> Result<(), ConfigError> {
        if !(1..=300).contains(&self.header_read_timeout_secs) {
            return Err(bad(
                "server.header_read_timeout_secs",
                "must be between 1 and 300",
            ));
        }
        let op_calls = OP_CALLS_PER_BFF_REQUEST.saturating_mul(op_http_timeout_secs);
        if self.request_timeout_secs <= op_calls {
            return Err(bad(
                "server.request_timeout_secs",
                format!(
                    "must be more than {op_calls} s: a sign-in may make {OP_CALLS_PER_BFF_REQUEST} requests to the OP one after the other, each allowed oidc.http_timeout_secs = {op_http_timeout_secs} s"
                ),
            ));
        }
        Ok(())
    }
}

/// `metrics_listen` keeps scrapes off the port browsers reach, so it must be another address than `listen`.
pub(super) fn check_metrics_listen(
    listen: SocketAddr,
    metrics_listen: Option<SocketAddr>,
) -> Result<(), ConfigError> {
    if metrics_listen == Some(listen) {
        return Err(bad(
            "metrics_listen",
            "must differ from `listen` (it keeps metrics off the public port)",
        ));
    }
    Ok(())
}

pub(super) fn default_listen() -> SocketAddr {
    SocketAddr::from(([127, 0, 0, 1], 3000))
}
fn default_header_read_timeout() -> u64 {
    10
}
fn default_request_timeout() -> u64 {
    45
}

#[cfg(test)]
mod tests {
    use super::OP_CALLS_PER_BFF_REQUEST;
    use crate::config::fixture::{with, API};

    #[test]
    fn server_limits_leave_room_for_the_op_and_metrics_stay_off_a_public_port() {
        let c = with(API, &[]).unwrap();
        assert_eq!(c.server.header_read_timeout_secs, 10);
        assert!(
            c.server.request_timeout_secs > OP_CALLS_PER_BFF_REQUEST * c.oidc.http_timeout_secs
        );
        assert!(c.metrics_on_main_listener());
        let cases = [
            (
                "BFF_SERVER__HEADER_READ_TIMEOUT_SECS",
                "0",
                "server.header_read_timeout_secs",
            ),
            // 4 × the default 10 s of oidc.http_timeout_secs.
            (
                "BFF_SERVER__REQUEST_TIMEOUT_SECS",
                "40",
                "server.request_timeout_secs",
            ),
            ("BFF_METRICS_LISTEN", "\"127.0.0.1:3000\"", "metrics_listen"),
        ];
        for (key, value, field) in cases {
            let e = with(API, &[(key, value)]).unwrap_err();
            assert_eq!(e.field, field, "{key}={value}: {e}");
        }
        let c = with(
            API,
            &[
                ("BFF_SERVER__REQUEST_TIMEOUT_SECS", "5"),
                ("BFF_OIDC__HTTP_TIMEOUT_SECS", "1"),
            ],
        )
        .unwrap();
        assert_eq!(c.server.request_timeout_secs, 5);
        let c = with(API, &[("BFF_METRICS_LISTEN", "\"127.0.0.1:9100\"")]).unwrap();
        assert!(!c.metrics_on_main_listener());
        let c = with(API, &[("BFF_STATIC_DIR", "dist")]).unwrap();
        assert!(
            !c.metrics_on_main_listener(),
            "single-binary mode: not on the public port"
        );
    }
}
