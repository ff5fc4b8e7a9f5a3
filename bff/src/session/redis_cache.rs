//! The Redis store's in-process cache of sessions (`session.redis_cache`, on by default): a proxied call
//! whose session was read recently costs no Redis round trip, and a logout on any replica still ends the
//! session on every replica before that logout answers.
//!
//! How it stays correct:
//!
//! - **Every write to a session publishes its invalidation in the same transaction** (`update`'s script,
//!   `remove`'s and back-channel logout's `MULTI`): on `<prefix>inv`, `s <nonce> <hash>…`. Each replica
//!   subscribes to that channel on a connection of its own, drops the named entries, and answers
//!   `a <nonce>` on the same channel.
//! - **The writer waits for those answers**: `PUBLISH` tells how many subscribers got the message, and the
//!   write returns once that many acknowledgements came back (at most [`ACK_WAIT`]). So when a logout through
//!   replica B answers, replica A has already dropped the session, and A's next call reads Redis and finds
//!   nothing: 401.
//! - **A read fills the cache only if no invalidation arrived meanwhile** (a global counter read before the
//!   `GET` and checked at the insert), so a logout racing a read cannot leave the old session behind.
//! - **The cache is used only while the invalidations are known to flow**: each replica publishes a
//!   heartbeat every [`HEARTBEAT`] on its normal connection, on a channel of its own, and hears it back on its
//!   subscription; the count `PUBLISH` answers must include that subscription, which proves it is on the node
//!   the writes publish on (on a Redis Cluster `PUBLISH` reaches every node, but counts only the subscribers
//!   of the node it ran on, so a subscription left on a demoted master would hear writes it is not waited
//!   for). If the
//!   subscription drops (Redis killed or restarted, a network cut) the cache is emptied at once; if it goes
//!   silent (a half-open connection), no entry is used once the last heartbeat heard is older than
//!   [`LIVENESS`], and the subscription is made anew. Until it is back every read goes to Redis, as without
//!   the cache.
//! - **Entries live at most [`TTL`]** and the cache holds at most [`MAX_ENTRIES`]: a safety net for an
//!   invalidation that a replica got late (it answered after [`ACK_WAIT`]), and a bound on memory.
//! - **A replica about to refresh drops its own entry** (at the cross-replica lock), so the re-read under the
//!   lock is Redis's copy, with whatever tokens another replica stored.
//!
//! The trade-off: a replica that stops answering invalidations without losing its subscription (stalled, not
//! dead) can keep a session it cached for up to [`ACK_WAIT`] after a logout elsewhere, and the logout then
//! waits that long; in the normal case a logout costs one more message per replica.

use super::model::Session;
use futures_util::future::BoxFuture;
use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use tokio::sync::mpsc;

/// How long a cached session may be used after it was read from Redis, at most.
pub const TTL: Duration = Duration::from_secs(10);
/// The most sessions cached; past it the cache starts over (each entry is a whole session, ~2 KB).
pub const MAX_ENTRIES: usize = 10_000;
/// How long a write waits for every replica to acknowledge its invalidation.
pub const ACK_WAIT: Duration = Duration::from_secs(2);
/// How often each replica publishes its heartbeat.
pub const HEARTBEAT: Duration = Duration::from_millis(500);
/// No cached entry is used when the last own heartbeat heard back is older than this.
pub const LIVENESS: Duration = Duration::from_millis(1500);

/// The cache and the state of its invalidation subscription. Shared by the store and its background tasks.
pub struct SessionCache {
    entries: Mutex<HashMap<String, (Instant, Session)>>,
    /// Bumped by every invalidation and every change of the subscription's state: a read fills the cache only
    /// if it is unchanged since before the read.
    generation: AtomicU64,
    /// Whether the subscription is up (subscribed, not yet seen to drop).
    subscribed: AtomicBool,
    /// When this replica last heard its own heartbeat, in milliseconds since `epoch`.
    heard_ms: AtomicU64,
    /// When a heartbeat's `PUBLISH` last counted this replica's subscription, in milliseconds since `epoch`.
    placed_ms: AtomicU64,
    epoch: Instant,
    /// This replica's heartbeat tag, so it knows its own from other replicas'.
    pub me: String,
    /// Writes waiting for acknowledgements, by nonce.
    waiting: Mutex<HashMap<String, mpsc::UnboundedSender<()>>>,
}

impl SessionCache {
    /// An empty cache, unusable until [`start`] has subscribed it and its first heartbeat came back.
    pub fn new() -> SessionCache {
        SessionCache {
            entries: Mutex::default(),
            generation: AtomicU64::new(0),
            subscribed: AtomicBool::new(false),
            heard_ms: AtomicU64::new(0),
            placed_ms: AtomicU64::new(0),
            epoch: Instant::now(),
            me: nonce(),
            waiting: Mutex::default(),
        }
    }

    fn now_ms(&self) -> u64 {
        self.epoch.elapsed().as_millis() as u64
    }

    /// Whether invalidations are known to arrive now: subscribed, the own heartbeat heard recently, and counted
    /// by the node the writes publish on.
    pub fn live(&self) -> bool {
        let recent = |at: &AtomicU64| {
            let at = at.load(Ordering::Acquire);
            at != 0 && self.now_ms().saturating_sub(at) < LIVENESS.as_millis() as u64
        };
        self.subscribed.load(Ordering::Acquire) && recent(&self.heard_ms) && recent(&self.placed_ms)
    }

    /// A heartbeat's `PUBLISH` on this replica's own channel answered `receivers`: one or more means the
    /// subscription is on the node that the writes publish on.
    fn heartbeat_published(&self, receivers: Option<i64>) {
        if receivers.is_some_and(|n| n > 0) {
            // + 1: zero means never.
            self.placed_ms.store(self.now_ms() + 1, Ordering::Release);
        }
    }

    /// The generation to pass to [`SessionCache::put`] after a read from Redis.
    pub fn generation(&self) -> u64 {
        self.generation.load(Ordering::Acquire)
    }

    /// The cached session filed under `hash`, if cached within [`TTL`] and the cache is live.
    pub fn get(&self, hash: &str) -> Option<Session> {
        if !self.live() {
            return None;
        }
        let entries = self.entries.lock().unwrap_or_else(|e| e.into_inner());
        let (at, session) = entries.get(hash)?;
        (at.elapsed() < TTL).then(|| session.clone())
    }

    /// Caches what a read from Redis found, unless an invalidation (or a change of the subscription) came
    /// since `generation` was taken: the read may predate a logout whose message has already been handled.
    pub fn put(&self, hash: String, session: Session, generation: u64) {
        let mut entries = self.entries.lock().unwrap_or_else(|e| e.into_inner());
        // Checked under the lock that invalidations take too: none can slip between the check and the insert.
        if !self.live() || self.generation() != generation {
            return;
        }
        if entries.len() >= MAX_ENTRIES {
            entries.clear();
        }
        entries.insert(hash, (Instant::now(), session));
    }

    /// Drops the entries filed under `hashes` (an invalidation, or this replica's own write).
    pub fn drop_entries<'a>(&self, hashes: impl IntoIterator<Item = &'a str>) {
        let mut entries = self.entries.lock().unwrap_or_else(|e| e.into_inner());
        self.generation.fetch_add(1, Ordering::AcqRel);
        for hash in hashes {
            entries.remove(hash);
        }
    }

    /// The subscription is up: start from an empty cache (anything may have changed while it was down).
    /// A new subscription proves itself anew: its heartbeats must be heard and counted again.
    fn subscribed(&self) {
        let mut entries = self.entries.lock().unwrap_or_else(|e| e.into_inner());
        entries.clear();
        self.generation.fetch_add(1, Ordering::AcqRel);
        self.heard_ms.store(0, Ordering::Release);
        self.placed_ms.store(0, Ordering::Release);
        self.subscribed.store(true, Ordering::Release);
    }

    /// The subscription has shown heartbeats at some point but is not live now: silent (half-open) or on a
    /// node the writes do not publish on.
    fn stale(&self) -> bool {
        let seen = self.heard_ms.load(Ordering::Acquire) != 0
            || self.placed_ms.load(Ordering::Acquire) != 0;
        seen && !self.live()
    }

    /// The subscription dropped or went silent: empty the cache and bypass it until it is back.
    fn unsubscribed(&self) {
        let mut entries = self.entries.lock().unwrap_or_else(|e| e.into_inner());
        self.subscribed.store(false, Ordering::Release);
        self.generation.fetch_add(1, Ordering::AcqRel);
        entries.clear();
    }

    /// Registers a write's nonce before it publishes; the receiver gets one `()` per acknowledgement.
    pub fn expect_acks(&self, nonce: &str) -> mpsc::UnboundedReceiver<()> {
        let (tx, rx) = mpsc::unbounded_channel();
        self.waiting
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .insert(nonce.to_owned(), tx);
        rx
    }

    /// Waits until `receivers` acknowledgements of `nonce` came back, at most [`ACK_WAIT`].
    pub async fn wait_for_acks(
        &self,
        nonce: &str,
        mut acks: mpsc::UnboundedReceiver<()>,
        receivers: usize,
    ) {
        // Without our own subscription no acknowledgement can reach us; the others' caches are theirs to
        // manage (theirs drop too when they cannot hear invalidations).
        if self.subscribed.load(Ordering::Acquire) {
            let all = async {
                for _ in 0..receivers {
                    if acks.recv().await.is_none() {
                        break;
                    }
                }
            };
            if tokio::time::timeout(ACK_WAIT, all).await.is_err() {
                tracing::warn!(
                    receivers,
                    "not every replica acknowledged a session invalidation in time"
                );
            }
        }
        self.waiting
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .remove(nonce);
    }

    /// Handles one message of the invalidation channel; returns the acknowledgement to publish, if any.
    fn handle(&self, payload: &str) -> Option<String> {
        let mut words = payload.split(' ');
        match words.next()? {
            "s" => {
                let nonce = words.next()?;
                self.drop_entries(words);
                Some(format!("a {nonce}"))
            }
            "a" => {
                let nonce = words.next()?;
                if let Some(tx) = self
                    .waiting
                    .lock()
                    .unwrap_or_else(|e| e.into_inner())
                    .get(nonce)
                {
                    let _ = tx.send(());
                }
                None
            }
            "h" => {
                if words.next() == Some(self.me.as_str()) {
                    // + 1: zero means never heard.
                    self.heard_ms.store(self.now_ms() + 1, Ordering::Release);
                }
                None
            }
            _ => None,
        }
    }
}

impl Default for SessionCache {
    fn default() -> Self {
        SessionCache::new()
    }
}

/// A random tag (128 bits, hex): a write's nonce, a replica's heartbeat tag.
pub fn nonce() -> String {
    format!("{:032x}", rand::random::<u128>())
}

/// The channel this replica's heartbeats go on, under the store's key `prefix`: one per replica, so the
/// count its `PUBLISH` answers is about this replica's subscription alone.
pub fn heartbeat_channel(prefix: &str, cache: &SessionCache) -> String {
    format!("{prefix}hb:{}", cache.me)
}

/// Runs the subscription (re-made after every drop, silence or misplacement) and the heartbeat for `cache`,
/// for as long as the cache exists. `subscribe` opens a subscription to the invalidation channel and the
/// heartbeat channel on the node the writes publish on; `publish(channel, message)` sends on the store's
/// normal connection and answers how many subscribers got it.
pub fn start<S, P>(
    cache: &Arc<SessionCache>,
    invalidations: String,
    heartbeat: String,
    subscribe: S,
    publish: P,
) where
    S: Fn() -> BoxFuture<'static, redis::RedisResult<redis::aio::PubSub>> + Send + Sync + 'static,
    P: Fn(String, String) -> BoxFuture<'static, Option<i64>> + Send + Sync + 'static,
{
    let publish = Arc::new(publish);
    let weak = Arc::downgrade(cache);
    let (heartbeat_weak, heartbeat_publish) = (weak.clone(), publish.clone());
    tokio::spawn(async move {
        let mut tick = tokio::time::interval(HEARTBEAT);
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            tick.tick().await;
            let Some(cache) = heartbeat_weak.upgrade() else {
                return;
            };
            let me = cache.me.clone();
            drop(cache);
            let receivers = heartbeat_publish(heartbeat.clone(), format!("h {me}")).await;
            let Some(cache) = heartbeat_weak.upgrade() else {
                return;
            };
            cache.heartbeat_published(receivers);
        }
    });
    tokio::spawn(async move {
        use futures_util::StreamExt;
        // Holds the cache weakly between events, so dropping the store ends both tasks.
        while weak.strong_count() > 0 {
            let connected = tokio::time::timeout(Duration::from_secs(2), subscribe()).await;
            if let (Ok(Ok(pubsub)), Some(cache)) = (connected, weak.upgrade()) {
                cache.subscribed();
                drop(cache);
                tracing::debug!("session cache: invalidations subscribed");
                let mut messages = pubsub.into_on_message();
                let mut check = tokio::time::interval(LIVENESS);
                check.tick().await;
                loop {
                    tokio::select! {
                        message = messages.next() => {
                            let (Some(message), Some(cache)) = (message, weak.upgrade()) else { break };
                            let Ok(payload) = std::str::from_utf8(message.get_payload_bytes()) else {
                                continue;
                            };
                            let ack = cache.handle(payload);
                            drop(cache);
                            if let Some(ack) = ack {
                                publish(invalidations.clone(), ack).await;
                            }
                        }
                        _ = check.tick() => {
                            let Some(cache) = weak.upgrade() else { break };
                            if cache.stale() {
                                break;
                            }
                        }
                    }
                }
                tracing::warn!("session cache: invalidations lost; cache off until re-subscribed");
            }
            if let Some(cache) = weak.upgrade() {
                cache.unsubscribed();
            }
            tokio::time::sleep(Duration::from_millis(250)).await;
        }
    });
}

#[cfg(test)]
mod tests {
    use super::*;

    fn session() -> Session {
        Session {
            issuer: "https://op.example".into(),
            id_token: "id".into(),
            access_token: "at".into(),
            ..Session::for_tests(0)
        }
    }

    fn live_cache() -> SessionCache {
        let cache = SessionCache::new();
        cache.subscribed();
        cache.handle(&format!("h {}", cache.me));
        cache.heartbeat_published(Some(1));
        cache
    }

    #[test]
    fn serves_only_while_live_and_until_invalidated() {
        let cache = SessionCache::new();
        cache.put("h1".into(), session(), cache.generation());
        assert!(cache.get("h1").is_none(), "not subscribed: nothing cached");

        let cache = live_cache();
        cache.put("h1".into(), session(), cache.generation());
        assert!(cache.get("h1").is_some());
        assert_eq!(cache.handle("s n1 h0 h1").as_deref(), Some("a n1"));
        assert!(cache.get("h1").is_none(), "invalidated");

        cache.put("h1".into(), session(), cache.generation());
        cache.unsubscribed();
        assert!(cache.get("h1").is_none(), "subscription lost: bypassed");
        cache.subscribed();
        assert!(cache.get("h1").is_none(), "re-subscribed: starts empty");
    }

    #[test]
    fn a_read_that_raced_an_invalidation_is_not_cached() {
        let cache = live_cache();
        let before_read = cache.generation();
        cache.handle("s n2 h1");
        cache.put("h1".into(), session(), before_read);
        assert!(cache.get("h1").is_none());
    }

    #[test]
    fn another_replicas_heartbeat_does_not_count() {
        let cache = SessionCache::new();
        cache.subscribed();
        cache.handle("h someone-else");
        assert!(!cache.live());
    }

    #[test]
    fn a_subscription_its_own_heartbeat_does_not_count_is_not_live() {
        // Heard (a cluster delivers every PUBLISH everywhere) but not counted by the node the writes go to.
        let cache = SessionCache::new();
        cache.subscribed();
        cache.handle(&format!("h {}", cache.me));
        cache.heartbeat_published(Some(0));
        assert!(!cache.live());
        assert!(cache.stale(), "made anew");
        cache.heartbeat_published(Some(1));
        assert!(cache.live());
        cache.subscribed();
        assert!(!cache.live(), "a new subscription proves itself anew");
    }
}
