//! When a failed upstream call may be sent again. A pooled keep-alive connection can be closed by the upstream
//! (its idle timeout: 5 s in Node, for one) at the moment the BFF sends a request on it; the request then fails
//! although the upstream is well. Like Go's `http.Transport` and nginx's `proxy_next_upstream error`, the proxy
//! sends an idempotent call without a body once more, on a new connection, when the old one closed under it
//! before any answer came. A connect error, an answer that does not parse, or a timeout is not retried: those
//! say the upstream is unwell, and a second try would only double its load.

use std::error::Error as StdError;
use std::fmt;
use std::io::ErrorKind;

/// Whether `error` is a connection that closed before the upstream's answer began (and a fresh connection
/// might carry the call).
pub fn on_a_new_connection(error: &hyper_util::client::legacy::Error) -> bool {
    if error.is_connect() {
        return false;
    }
    let mut source = error.source();
    while let Some(cause) = source {
        if let Some(e) = cause.downcast_ref::<hyper::Error>() {
            if e.is_incomplete_message() || e.is_canceled() {
                return true;
            }
        }
        if let Some(e) = cause.downcast_ref::<std::io::Error>() {
            if matches!(
                e.kind(),
                ErrorKind::ConnectionReset
                    | ErrorKind::ConnectionAborted
                    | ErrorKind::BrokenPipe
                    | ErrorKind::UnexpectedEof
            ) {
                return true;
            }
        }
        source = cause.source();
    }
    false
}

/// An error with its causes, for the log line that says why an upstream could not be reached (hyper's own
/// texts: no header, URL query or token is in them).
pub struct Chain<'a>(pub &'a (dyn StdError + 'static));

impl fmt::Display for Chain<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.0)?;
        let mut source = self.0.source();
        while let Some(cause) = source {
            write!(f, ": {cause}")?;
            source = cause.source();
        }
        Ok(())
    }
}
