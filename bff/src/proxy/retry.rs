//! When a failed upstream call may be sent again. A pooled keep-alive connection can be closed by the upstream
//! (its idle timeout: 5 s in Node, for one) at the moment the BFF sends a request on it; the request then fails
//! although the upstream is well. Like Go's `http.Transport` and nginx's `proxy_next_upstream error`, the proxy
//! sends an idempotent call without a body once more, on a new connection, when the old one closed under it
//! before any answer came. A connect error, an answer that does not parse, or a timeout is not retried: those
//! say the upstream is unwell, and a second try would only double its load.

use super::upstream::SendError;
use std::error::Error as StdError;
use std::fmt;

/// Whether `error` is a pooled connection that closed before the upstream's answer began (and a fresh connection
/// might carry the call). A connection opened for the call that closes unanswered is not retried: that says the
/// upstream is unwell.
pub fn on_a_new_connection(error: &SendError) -> bool {
    matches!(error, SendError::Closed { reused: true, .. })
}

/// An error with its causes, for the log line that says why an upstream could not be reached (the client's and
/// the system's texts: no header, URL query or token is in them).
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
