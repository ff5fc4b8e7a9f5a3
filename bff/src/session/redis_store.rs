//! The Redis store: shared by every replica. Keys (all under the configured prefix, default `bff:`):
//!
//! - `s:<hash of id>`: the sealed session, with a TTL until it expires (idle or absolute timeout);
//! - `sid:<issuer>\n<sid>` and `sub:<issuer>\n<sub>`: sets of session hashes, the back-channel logout indexes
//!   (they expire an absolute timeout after their last write, so they outlive every member; members whose
//!   session has gone are harmless: removing them finds nothing);
//! - `all`: a sorted set of session hashes by expiry, for the active-session count;
//! - `lock:<hash of id>`: the cross-replica refresh lock, a random owner token with a lease;
//! - `once:<key>`: a key recorded by `remember_once` (the back-channel logout `jti`s), until its TTL ends;
//! - `inv` (a pub/sub channel, not a key): every write to a session announces itself there, in the same
//!   transaction, so the replicas' in-process caches drop it ([`super::redis_cache`]); `hb:<replica>` carries
//!   each replica's heartbeat.
//!
//! On a Redis Cluster the prefix holds a hash tag, so all of these share one slot ([`super::redis_conn`]).
//!
//! The connection is made on first use and re-made after a failure, so the BFF starts while Redis is down and
//! `/readyz` says so until it is back.

use super::model::Session;
use super::now;
use super::redis_cache::{self, SessionCache};
use super::redis_conn::{Conn, RedisTarget};
use super::sealed::{open_session, seal_session};
use super::storage::{storage_key, SessionStore, StoreError};
use crate::seal::Keyring;
use async_trait::async_trait;
use redis::AsyncCommands;
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::OnceCell;

/// Sessions in Redis (one server or a cluster), shared by every replica.
pub struct RedisStore {
    target: Arc<RedisTarget>,
    conn: OnceCell<Conn>,
    /// The configured prefix, hash-tagged on a cluster.
    prefix: String,
    keys: Arc<Keyring>,
    idle_secs: i64,
    absolute_secs: i64,
    /// Sessions read recently, kept while invalidations flow (`session.redis_cache`); `None` when off.
    cache: Option<Arc<SessionCache>>,
}

/// Writes a session over the stored one only if that one still exists (`SET ... XX`), and then moves its
/// expiry in the `all` set; a session a logout removed meanwhile stays removed and leaves no member behind.
/// The sid/sub indexes stay as the insert wrote them: issuer, sid and sub are a session's for life, and the
/// index sets outlive every member already (see the module comment).
/// Announces the write on the invalidation channel in the same step, and answers how many replicas heard it
/// (-1: nothing written).
/// KEYS: session, all. ARGV: sealed value, ttl milliseconds, expiry, member, channel, invalidation.
const UPDATE: &str = r#"
if not redis.call("SET", KEYS[1], ARGV[1], "XX", "PX", ARGV[2]) then return -1 end
redis.call("ZADD", KEYS[2], ARGV[3], ARGV[4])
return redis.call("PUBLISH", ARGV[5], ARGV[6])
"#;

/// Releases the lock only if its value is still our owner token.
const UNLOCK: &str = r#"if redis.call("GET", KEYS[1]) == ARGV[1] then return redis.call("DEL", KEYS[1]) else return 0 end"#;

impl RedisStore {
    /// A store on `target` (one server or a cluster, its TLS roots already chosen): one constructor for both,
    /// so the key prefix is tagged for a cluster in one place. Connects on first use.
    pub fn new(
        target: RedisTarget,
        prefix: &str,
        keys: Arc<Keyring>,
        idle_secs: i64,
        absolute_secs: i64,
    ) -> RedisStore {
        RedisStore {
            prefix: target.key_prefix(prefix),
            target: Arc::new(target),
            conn: OnceCell::new(),
            keys,
            idle_secs,
            absolute_secs,
            cache: None,
        }
    }

    /// Keeps sessions read from Redis in this process while invalidations from every replica's writes are
    /// known to arrive (see [`super::redis_cache`]): a proxied call then costs no Redis round trip, and a
    /// logout anywhere still ends the session here before it answers.
    pub fn with_cache(mut self) -> RedisStore {
        self.cache = Some(Arc::new(SessionCache::new()));
        self
    }

    fn channel(&self) -> String {
        format!("{}inv", self.prefix)
    }

    /// Runs `write`, which publishes the invalidation message it is given on the invalidation channel as part
    /// of its transaction and answers its result and how many subscribers heard it; then drops the entries
    /// here and waits until every replica that heard it has dropped them too. Replicas without the cache
    /// publish too, for those with it.
    async fn invalidating<T, F, W>(&self, hashes: &[&str], write: W) -> Result<T, StoreError>
    where
        W: FnOnce(String) -> F,
        F: std::future::Future<Output = Result<(T, i64), StoreError>>,
    {
        // A random nonce per write, so concurrent writes to one session each wait for their own answers.
        let nonce = redis_cache::nonce();
        let message = format!("s {nonce} {}", hashes.join(" "));
        let Some(cache) = &self.cache else {
            return write(message).await.map(|(t, _)| t);
        };
        // Registered before the write: acknowledgements can come back before its own answer.
        let acks = cache.expect_acks(&nonce);
        let written = write(message).await;
        cache.drop_entries(hashes.iter().copied());
        let receivers = written.as_ref().map_or(0, |(_, n)| (*n).max(0) as usize);
        cache.wait_for_acks(&nonce, acks, receivers).await;
        written.map(|(t, _)| t)
    }

    async fn conn(&self) -> Result<Conn, StoreError> {
        self.conn
            .get_or_try_init(|| async {
                let conn = self.target.connect(&self.all_key()).await?;
                if let Some(cache) = &self.cache {
                    self.start_cache(cache, &conn);
                }
                Ok::<_, redis::RedisError>(conn)
            })
            .await
            .cloned()
            .map_err(StoreError::new)
    }

    /// Starts the cache's subscription and heartbeat (see [`redis_cache::start`]) over `conn`.
    fn start_cache(&self, cache: &Arc<SessionCache>, conn: &Conn) {
        let heartbeat = redis_cache::heartbeat_channel(&self.prefix, cache);
        let channels = [self.channel(), heartbeat.clone()];
        let (target, subscriber) = (self.target.clone(), conn.clone());
        let subscribe = move || {
            let (target, conn, channels) = (target.clone(), subscriber.clone(), channels.clone());
            Box::pin(async move { target.subscribe(&conn, &channels).await })
                as futures_util::future::BoxFuture<'static, _>
        };
        let publisher = conn.clone();
        let publish = move |channel: String, message: String| {
            let mut c = publisher.clone();
            Box::pin(async move { c.publish::<_, _, i64>(channel, message).await.ok() })
                as futures_util::future::BoxFuture<'static, Option<i64>>
        };
        redis_cache::start(cache, self.channel(), heartbeat, subscribe, publish);
    }

    fn session_key(&self, hash: &str) -> String {
        format!("{}s:{hash}", self.prefix)
    }
    fn sid_key(&self, issuer: &str, sid: &str) -> String {
        format!("{}sid:{issuer}\n{sid}", self.prefix)
    }
    fn sub_key(&self, issuer: &str, sub: &str) -> String {
        format!("{}sub:{issuer}\n{sub}", self.prefix)
    }
    fn all_key(&self) -> String {
        format!("{}all", self.prefix)
    }
    fn lock_key(&self, id: &str) -> String {
        format!("{}lock:{}", self.prefix, storage_key(id))
    }
    fn once_key(&self, key: &str) -> String {
        format!("{}once:{key}", self.prefix)
    }
}

fn err(e: redis::RedisError) -> StoreError {
    StoreError::new(e)
}

#[async_trait]
impl SessionStore for RedisStore {
    async fn get(&self, id: &str) -> Result<Option<Session>, StoreError> {
        let hash = storage_key(id);
        // Before the connection: a cached session costs nothing of Redis (the cache is live only once the
        // connection, which starts its subscription, has been made).
        let generation = match &self.cache {
            Some(cache) => match cache.get(&hash) {
                Some(session) => return Ok(Some(session)),
                None => cache.generation(),
            },
            None => 0,
        };
        let mut c = self.conn().await?;
        let sealed: Option<Vec<u8>> = c.get(self.session_key(&hash)).await.map_err(err)?;
        let session = sealed.and_then(|s| open_session(&self.keys, id, &s));
        if let (Some(cache), Some(session)) = (&self.cache, &session) {
            cache.put(hash, session.clone(), generation);
        }
        Ok(session)
    }

    async fn insert(&self, id: &str, session: Session) -> Result<(), StoreError> {
        let hash = storage_key(id);
        let expires_at = session.expires_at(self.idle_secs, self.absolute_secs);
        let ttl_secs = expires_at - now();
        if ttl_secs <= 0 {
            // Already past a timeout: it could never be used again.
            self.remove(id).await?;
            return Ok(());
        }
        let ttl_ms = ttl_secs as u64 * 1000;
        let sealed = seal_session(&self.keys, id, &session);
        let index_ttl = self.absolute_secs;
        let mut pipe = redis::pipe();
        pipe.atomic()
            .pset_ex(self.session_key(&hash), sealed, ttl_ms)
            .ignore()
            .zadd(self.all_key(), &hash, expires_at)
            .ignore();
        let sub_key = self.sub_key(&session.issuer, &session.user.sub);
        pipe.sadd(&sub_key, &hash)
            .ignore()
            .expire(&sub_key, index_ttl)
            .ignore();
        if let Some(sid) = &session.sid {
            let sid_key = self.sid_key(&session.issuer, sid);
            pipe.sadd(&sid_key, &hash)
                .ignore()
                .expire(&sid_key, index_ttl)
                .ignore();
        }
        let mut c = self.conn().await?;
        pipe.query_async::<()>(&mut c).await.map_err(err)
    }

    async fn update(&self, id: &str, session: Session) -> Result<bool, StoreError> {
        let hash = storage_key(id);
        let expires_at = session.expires_at(self.idle_secs, self.absolute_secs);
        let ttl_secs = expires_at - now();
        if ttl_secs <= 0 {
            // Past a timeout as written: it could never be used again.
            self.remove(id).await?;
            return Ok(false);
        }
        let sealed = seal_session(&self.keys, id, &session);
        let mut c = self.conn().await?;
        let hashes = [hash.as_str()];
        let hash = &hash;
        self.invalidating(&hashes, |message| async move {
            let heard: i64 = redis::Script::new(UPDATE)
                .key(self.session_key(hash))
                .key(self.all_key())
                .arg(sealed)
                .arg(ttl_secs as u64 * 1000)
                .arg(expires_at)
                .arg(hash)
                .arg(self.channel())
                .arg(message)
                .invoke_async(&mut c)
                .await
                .map_err(err)?;
            Ok((heard >= 0, heard))
        })
        .await
    }

    async fn remove(&self, id: &str) -> Result<Option<Session>, StoreError> {
        let hash = storage_key(id);
        let mut c = self.conn().await?;
        let hashes = [hash.as_str()];
        let hash = &hash;
        let sealed: Option<Vec<u8>> = self
            .invalidating(&hashes, |message| async move {
                let (sealed, heard): (Option<Vec<u8>>, i64) = redis::pipe()
                    .atomic()
                    .get_del(self.session_key(hash))
                    .zrem(self.all_key(), hash)
                    .ignore()
                    .publish(self.channel(), message)
                    .query_async(&mut c)
                    .await
                    .map_err(err)?;
                Ok((sealed, heard))
            })
            .await?;
        Ok(sealed.and_then(|s| open_session(&self.keys, id, &s)))
    }

    async fn remove_matching(
        &self,
        issuer: &str,
        sid: Option<&str>,
        sub: Option<&str>,
    ) -> Result<usize, StoreError> {
        let mut c = self.conn().await?;
        let hashes: Vec<String> = match (sid, sub) {
            (None, None) => return Ok(0),
            (Some(sid), None) => c.smembers(self.sid_key(issuer, sid)).await,
            (None, Some(sub)) => c.smembers(self.sub_key(issuer, sub)).await,
            (Some(sid), Some(sub)) => {
                c.sinter(&[self.sid_key(issuer, sid), self.sub_key(issuer, sub)])
                    .await
            }
        }
        .map_err(err)?;
        if hashes.is_empty() {
            return Ok(0);
        }
        let keys: Vec<String> = hashes.iter().map(|h| self.session_key(h)).collect();
        let mut pipe = redis::pipe();
        pipe.atomic()
            .del(&keys)
            .zrem(self.all_key(), &hashes)
            .ignore();
        if let Some(sid) = sid {
            pipe.srem(self.sid_key(issuer, sid), &hashes).ignore();
        }
        if let Some(sub) = sub {
            pipe.srem(self.sub_key(issuer, sub), &hashes).ignore();
        }
        let named: Vec<&str> = hashes.iter().map(String::as_str).collect();
        self.invalidating(&named, |message| async move {
            pipe.publish(self.channel(), message);
            let (removed, heard): (usize, i64) = pipe.query_async(&mut c).await.map_err(err)?;
            Ok((removed, heard))
        })
        .await
    }

    async fn count(&self) -> Result<usize, StoreError> {
        let mut c = self.conn().await?;
        let (n,): (usize,) = redis::pipe()
            .atomic()
            .zrembyscore(self.all_key(), "-inf", now())
            .ignore()
            .zcard(self.all_key())
            .query_async(&mut c)
            .await
            .map_err(err)?;
        Ok(n)
    }

    async fn ping(&self) -> Result<(), StoreError> {
        let mut c = self.conn().await?;
        redis::cmd("PING")
            .query_async::<String>(&mut c)
            .await
            .map(drop)
            .map_err(err)
    }

    async fn lock_refresh(
        &self,
        id: &str,
        owner: &str,
        lease: Duration,
    ) -> Result<bool, StoreError> {
        // The re-read under the lock must be Redis's copy: another replica may have stored new tokens.
        if let Some(cache) = &self.cache {
            cache.drop_entries([storage_key(id).as_str()]);
        }
        let mut c = self.conn().await?;
        let set: Option<String> = redis::cmd("SET")
            .arg(self.lock_key(id))
            .arg(owner)
            .arg("NX")
            .arg("PX")
            .arg(lease.as_millis() as u64)
            .query_async(&mut c)
            .await
            .map_err(err)?;
        Ok(set.is_some())
    }

    async fn remember_once(&self, key: &str, ttl: Duration) -> Result<bool, StoreError> {
        let mut c = self.conn().await?;
        let set: Option<String> = redis::cmd("SET")
            .arg(self.once_key(key))
            .arg(1)
            .arg("NX")
            .arg("EX")
            .arg(ttl.as_secs().max(1))
            .query_async(&mut c)
            .await
            .map_err(err)?;
        Ok(set.is_some())
    }

    async fn is_remembered(&self, key: &str) -> Result<bool, StoreError> {
        let mut c = self.conn().await?;
        c.exists(self.once_key(key)).await.map_err(err)
    }

    async fn unlock_refresh(&self, id: &str, owner: &str) -> Result<(), StoreError> {
        let mut c = self.conn().await?;
        redis::Script::new(UNLOCK)
            .key(self.lock_key(id))
            .arg(owner)
            .invoke_async::<i64>(&mut c)
            .await
            .map(drop)
            .map_err(err)
    }
}
