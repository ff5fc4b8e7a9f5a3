//! The return from RP-initiated logout (RP-Initiated Logout 1.0, 3): the OP sends the browser back to
//! `post_logout_redirect_uri` with the `state` the RP sent. The RP reports a completed sign-out only when that
//! state is the one this very browser's logout sent (kept in an HttpOnly cookie by the BFF), so a crafted link
//! cannot make the page claim a sign-out that did not happen.

use super::hashes::constant_time_eq;
use crate::error::ValidationError;

/// `returned` equals the state this browser's logout sent (`sent`, absent when none was started or it expired).
pub fn check_logout_state(sent: Option<&str>, returned: &str) -> Result<(), ValidationError> {
    let sent = sent.ok_or(ValidationError::LogoutStateMissing)?;
    constant_time_eq(sent.as_bytes(), returned.as_bytes())
        .then_some(())
        .ok_or(ValidationError::LogoutStateMismatch)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_the_state_this_browser_sent_matches() {
        assert_eq!(check_logout_state(Some("s-1"), "s-1"), Ok(()));
        assert_eq!(
            check_logout_state(Some("s-1"), "s-2"),
            Err(ValidationError::LogoutStateMismatch)
        );
        assert_eq!(
            check_logout_state(Some("s-1"), ""),
            Err(ValidationError::LogoutStateMismatch)
        );
        assert_eq!(
            check_logout_state(None, "s-1"),
            Err(ValidationError::LogoutStateMissing)
        );
    }
}
