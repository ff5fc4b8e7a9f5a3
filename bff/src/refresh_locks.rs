//! The in-process half of single-flight refresh (see [`crate::proxy::refresh`]): one lock per session, and what
//! the last attempt under it failed with. In a module of its own because [`crate::state::AppState`] holds the
//! locks and the refresh logic reads the state: with the locks here, neither imports the other in a circle.

use crate::error::AppError;
use crate::session::storage::StoreError;
use std::collections::HashMap;
use std::sync::{Arc, Mutex, Weak};
use tokio::time::Instant;

/// One lock per session id, held only while a refresh runs. Entries vanish when no request holds them.
#[derive(Default)]
pub struct RefreshLocks {
    map: Mutex<HashMap<String, Weak<tokio::sync::Mutex<LastFailure>>>>,
}

impl RefreshLocks {
    pub(crate) fn for_session(&self, id: &str) -> Arc<tokio::sync::Mutex<LastFailure>> {
        let mut map = self.map.lock().unwrap_or_else(|p| p.into_inner());
        if let Some(lock) = map.get(id).and_then(Weak::upgrade) {
            return lock;
        }
        map.retain(|_, weak| weak.strong_count() > 0);
        let lock = Arc::new(tokio::sync::Mutex::new(LastFailure::default()));
        map.insert(id.to_owned(), Arc::downgrade(&lock));
        lock
    }
}

/// How the last refresh under a session's lock failed, when the cause lasts (the OP or the store unreachable or
/// not answering). The requests that queued behind that attempt take its answer: trying again at once would fail
/// the same way, and with a hanging OP each would wait out a timeout of its own in turn (the last of a storm of
/// N calls after N timeouts).
#[derive(Default)]
pub(crate) struct LastFailure(Option<(Instant, Lasting)>);

/// The failures worth sharing with the queue; each waiter gets its own error, built from these.
#[derive(Clone)]
enum Lasting {
    OpUnavailable,
    OpTimeout,
    StoreUnavailable(Arc<StoreError>),
}

impl LastFailure {
    /// The error of an attempt that ended at or after `queued_at`, i.e. while the caller waited for the lock.
    pub(crate) fn since(&self, queued_at: Instant) -> Option<AppError> {
        let (at, failure) = self.0.as_ref()?;
        (*at >= queued_at).then(|| match failure {
            Lasting::OpUnavailable => AppError::OpUnavailable,
            Lasting::OpTimeout => AppError::OpTimeout,
            Lasting::StoreUnavailable(cause) => AppError::StoreUnavailable(cause.clone()),
        })
    }

    pub(crate) fn record<T>(&mut self, result: &Result<T, AppError>) {
        let lasting = match result {
            Err(AppError::OpUnavailable) => Some(Lasting::OpUnavailable),
            Err(AppError::OpTimeout) => Some(Lasting::OpTimeout),
            Err(AppError::StoreUnavailable(cause)) => {
                Some(Lasting::StoreUnavailable(cause.clone()))
            }
            _ => None,
        };
        self.0 = lasting.map(|l| (Instant::now(), l));
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[test]
    fn a_lasting_failure_is_shared_with_those_queued_before_it_ended_only() {
        let mut last = LastFailure::default();
        let queued = Instant::now();
        last.record::<()>(&Err(AppError::OpTimeout));
        assert!(matches!(last.since(queued), Some(AppError::OpTimeout)));
        assert!(
            last.since(Instant::now() + Duration::from_secs(1))
                .is_none(),
            "queued after it"
        );
        last.record::<()>(&Err(AppError::SessionExpired));
        assert!(last.since(queued).is_none(), "not a lasting cause");
        last.record(&Ok(()));
        assert!(last.since(queued).is_none());
    }
}
