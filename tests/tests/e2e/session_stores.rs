//! The session stores against real backends: one suite run on memory, SQLite (a file under target/) and a
//! real `redis-server`; then the BFF itself: sessions surviving a restart (SQLite, Redis), and two replicas
//! sharing Redis (one login, one refresh under a storm across both, logout on one ending it on both).

use base64::engine::general_purpose::STANDARD;
use base64::Engine;
use bff::seal::Keyring;
use bff::session::memory::MemoryStore;
use bff::session::model::Session;
use bff::session::redis_conn::RedisTarget;
use bff::session::redis_store::RedisStore;
use bff::session::sqlite::SqliteStore;
use bff::session::storage::SessionStore;
use hybrid_e2e::authorize::{parallel_gets, BffClient};
use hybrid_e2e::op_session::OpBrowser;
use hybrid_e2e::redis_cluster::RedisCluster;
use hybrid_e2e::redis_server::RedisServer;
use hybrid_e2e::stack::{Stack, StackOptions};
use hybrid_e2e::{sqlite_path, wait_for};
use serde_json::Value;
use shared::api::User;
use shared::fragment::parse_fragment;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, Instant};

const IDLE: i64 = 60;
const ABSOLUTE: i64 = 3600;

fn key(byte: u8) -> String {
    STANDARD.encode([byte; 32])
}

fn now() -> i64 {
    bff::session::now()
}

fn session(sub: &str, sid: Option<&str>, issuer: &str) -> Session {
    let t = now();
    Session {
        user: User {
            sub: sub.into(),
            name: Some("Test User".into()),
            preferred_username: None,
            email: None,
            email_verified: None,
        },
        issuer: issuer.into(),
        sid: sid.map(str::to_owned),
        id_token: format!("idtoken-{sub}-{}", sid.unwrap_or("-")),
        access_token: format!("ACCESS-TOKEN-{sub}-{}", sid.unwrap_or("-")),
        refresh_token: Some(format!("REFRESH-TOKEN-{sub}")),
        access_token_expires_at: Some(t + 300),
        created_at: t,
        last_seen: t,
        claims: Vec::new(),
        userinfo: Default::default(),
        upstream_tokens: Default::default(),
        dpop_key: None,
    }
}

/// A store backend; `store(keys)` opens a store on it with that keyring (the memory store ignores keys).
enum Backend {
    Memory(Arc<MemoryStore>),
    Sqlite(PathBuf),
    Redis(RedisServer, String),
    RedisCluster(RedisCluster, String),
}

impl Backend {
    fn store(&self, keys: &[String]) -> Arc<dyn SessionStore> {
        let ring = || Arc::new(Keyring::new(keys).unwrap());
        match self {
            Backend::Memory(m) => m.clone(),
            Backend::Sqlite(path) => {
                Arc::new(SqliteStore::open(path, ring(), IDLE, ABSOLUTE).unwrap())
            }
            Backend::Redis(server, prefix) => {
                let target = RedisTarget::single(&server.url).unwrap();
                Arc::new(RedisStore::new(target, prefix, ring(), IDLE, ABSOLUTE))
            }
            Backend::RedisCluster(cluster, prefix) => {
                let target = RedisTarget::cluster(&cluster.urls()).unwrap();
                Arc::new(RedisStore::new(target, prefix, ring(), IDLE, ABSOLUTE))
            }
        }
    }

    fn encrypts(&self) -> bool {
        !matches!(self, Backend::Memory(_))
    }

    /// Every stored value, raw, as the database or Redis holds it.
    async fn raw_values(&self) -> Vec<Vec<u8>> {
        match self {
            Backend::Memory(_) => Vec::new(),
            Backend::Sqlite(path) => {
                let c = rusqlite::Connection::open(path).unwrap();
                let mut q = c
                    .prepare(
                        "SELECT id || issuer || COALESCE(sid, '') || sub, sealed FROM sessions",
                    )
                    .unwrap();
                q.query_map([], |r| {
                    let mut v: Vec<u8> = r.get::<_, String>(0)?.into_bytes();
                    v.extend(r.get::<_, Vec<u8>>(1)?);
                    Ok(v)
                })
                .unwrap()
                .map(Result::unwrap)
                .collect()
            }
            Backend::Redis(..) | Backend::RedisCluster(..) => {
                // On a cluster every key of the store is on the master of the prefix's hash tag.
                let (url, pattern) = match self {
                    Backend::Redis(server, prefix) => (server.url.clone(), format!("{prefix}s:*")),
                    Backend::RedisCluster(cluster, prefix) => {
                        let tagged = format!("{{{prefix}}}");
                        let port = cluster.master_of(&tagged);
                        (format!("redis://127.0.0.1:{port}/"), format!("{tagged}s:*"))
                    }
                    _ => unreachable!(),
                };
                let client = redis::Client::open(url).unwrap();
                let mut c = client.get_multiplexed_async_connection().await.unwrap();
                let keys: Vec<String> = redis::cmd("KEYS")
                    .arg(pattern)
                    .query_async(&mut c)
                    .await
                    .unwrap();
                let mut out = Vec::new();
                for k in keys {
                    let v: Vec<u8> = redis::cmd("GET").arg(&k).query_async(&mut c).await.unwrap();
                    out.push(v);
                }
                out
            }
        }
    }
}

async fn backend(kind: &str) -> Backend {
    match kind {
        "memory" => Backend::Memory(Arc::new(MemoryStore::new(IDLE, ABSOLUTE))),
        "sqlite" => {
            let path = sqlite_path("suite");
            for suffix in ["", "-wal", "-shm"] {
                let _ = std::fs::remove_file(format!("{}{suffix}", path.display()));
            }
            Backend::Sqlite(path)
        }
        "redis" => Backend::Redis(RedisServer::start().await, "suite:".into()),
        "redis-cluster" => Backend::RedisCluster(RedisCluster::start().await, "suite:".into()),
        other => panic!("no backend {other}"),
    }
}

async fn present(store: &dyn SessionStore, ids: &[&'static str]) -> Vec<&'static str> {
    let mut left = Vec::new();
    for id in ids {
        if store.get(id).await.unwrap().is_some() {
            left.push(*id);
        }
    }
    left
}

/// The suite every store passes.
pub(crate) async fn suite(kind: &str) {
    let b = backend(kind).await;
    let store = b.store(&[key(1)]);
    store.ping().await.unwrap();

    // put / get / remove
    assert!(store.get("nope").await.unwrap().is_none());
    let s = session("alice", Some("s1"), "op");
    store.insert("one", s.clone()).await.unwrap();
    let got = store.get("one").await.unwrap().expect("stored");
    assert_eq!(got.access_token, s.access_token, "{kind}");
    assert_eq!(got.refresh_token, s.refresh_token);
    assert_eq!(got.user, s.user);
    assert_eq!(got.sid, s.sid);
    let mut updated = got.clone();
    updated.access_token = "ACCESS-TOKEN-rotated".into();
    assert!(
        store.update("one", updated.clone()).await.unwrap(),
        "{kind}: an existing session is updated"
    );
    assert_eq!(
        store.get("one").await.unwrap().unwrap().access_token,
        "ACCESS-TOKEN-rotated"
    );
    assert_eq!(store.count().await.unwrap(), 1, "{kind}");
    let removed = store.remove("one").await.unwrap().expect("removed");
    assert_eq!(removed.access_token, "ACCESS-TOKEN-rotated");
    assert!(store.get("one").await.unwrap().is_none());
    assert!(store.remove("one").await.unwrap().is_none());
    assert_eq!(store.count().await.unwrap(), 0);

    // update never creates: not on an id never stored, not after a remove (a logout between a request's read
    // and its write), not after remove_matching (a back-channel logout), not on an expired session.
    assert!(
        !store.update("never", updated.clone()).await.unwrap(),
        "{kind}: update of a session never stored"
    );
    assert!(
        !store.update("one", updated.clone()).await.unwrap(),
        "{kind}: update of a removed session"
    );
    assert!(store.get("never").await.unwrap().is_none(), "{kind}");
    assert!(
        store.get("one").await.unwrap().is_none(),
        "{kind}: a removed session stays removed"
    );
    assert_eq!(
        store.count().await.unwrap(),
        0,
        "{kind}: a refused update leaves nothing behind"
    );
    store
        .insert("bcl", session("frank", Some("s9"), "op"))
        .await
        .unwrap();
    assert_eq!(
        store.remove_matching("op", Some("s9"), None).await.unwrap(),
        1
    );
    let mut late = session("frank", Some("s9"), "op");
    late.access_token = "ACCESS-TOKEN-late".into();
    assert!(
        !store.update("bcl", late.clone()).await.unwrap(),
        "{kind}: update after a back-channel logout"
    );
    assert!(store.get("bcl").await.unwrap().is_none(), "{kind}");
    assert_eq!(
        store.remove_matching("op", Some("s9"), None).await.unwrap(),
        0,
        "{kind}: nothing came back for the index to find"
    );
    let mut stale = session("gina", None, "op");
    stale.created_at = now() - ABSOLUTE - 1;
    store.insert("stale", stale.clone()).await.unwrap();
    stale.last_seen = now();
    assert!(
        !store.update("stale", stale).await.unwrap(),
        "{kind}: update of a session past its absolute timeout"
    );
    assert!(store.get("stale").await.unwrap().is_none(), "{kind}");
    assert_eq!(store.count().await.unwrap(), 0, "{kind}");

    // Expiry: idle timeout one second away.
    let mut short = session("carol", None, "op");
    short.last_seen = now() - IDLE + 1;
    store.insert("short", short).await.unwrap();
    let mut gone = session("dave", None, "op");
    gone.created_at = now() - ABSOLUTE - 1;
    store.insert("gone", gone).await.unwrap();
    assert!(store.get("short").await.unwrap().is_some(), "{kind}");
    assert!(
        store.get("gone").await.unwrap().is_none(),
        "{kind}: past the absolute timeout"
    );
    wait_for(
        "the short session to expire",
        Duration::from_secs(5),
        || async { store.get("short").await.unwrap().is_none().then_some(()) },
    )
    .await;
    assert_eq!(store.count().await.unwrap(), 0, "{kind}");

    // remove_matching by sid, sub, both, neither, another issuer: the one test of this rule for every store.
    let ids = ["a1", "a2", "a3", "b1", "x1"];
    let seed = || async {
        store
            .insert("a1", session("alice", Some("s1"), "op"))
            .await
            .unwrap();
        store
            .insert("a2", session("alice", Some("s2"), "op"))
            .await
            .unwrap();
        store
            .insert("a3", session("alice", None, "op"))
            .await
            .unwrap();
        store
            .insert("b1", session("bob", Some("s3"), "op"))
            .await
            .unwrap();
        store
            .insert("x1", session("alice", Some("s1"), "other-op"))
            .await
            .unwrap();
    };
    seed().await;
    assert_eq!(store.count().await.unwrap(), 5, "{kind}");
    assert_eq!(store.remove_matching("op", None, None).await.unwrap(), 0);
    assert_eq!(
        store
            .remove_matching("nope", Some("s1"), None)
            .await
            .unwrap(),
        0
    );
    assert_eq!(
        store.remove_matching("op", Some("s1"), None).await.unwrap(),
        1,
        "{kind}"
    );
    assert_eq!(present(&*store, &ids).await, ["a2", "a3", "b1", "x1"]);
    assert_eq!(
        store
            .remove_matching("op", Some("s3"), Some("alice"))
            .await
            .unwrap(),
        0
    );
    assert_eq!(
        store
            .remove_matching("op", Some("s3"), Some("bob"))
            .await
            .unwrap(),
        1
    );
    assert_eq!(present(&*store, &ids).await, ["a2", "a3", "x1"]);
    seed().await;
    assert_eq!(
        store
            .remove_matching("op", None, Some("alice"))
            .await
            .unwrap(),
        3,
        "{kind}"
    );
    assert_eq!(present(&*store, &ids).await, ["b1", "x1"]);
    assert_eq!(store.count().await.unwrap(), 2);

    // remember_once: true the first time only, also through a second handle on the same backend (a replica),
    // keys independent, and free again once the TTL has passed.
    let other = b.store(&[key(1)]);
    let long = Duration::from_secs(60);
    assert!(
        !store.is_remembered("jti:op\nj1").await.unwrap(),
        "{kind}: not yet recorded"
    );
    assert!(
        store.remember_once("jti:op\nj1", long).await.unwrap(),
        "{kind}"
    );
    assert!(
        store.is_remembered("jti:op\nj1").await.unwrap(),
        "{kind}: recorded"
    );
    assert!(
        other.is_remembered("jti:op\nj1").await.unwrap(),
        "{kind}: recorded for the other handle too"
    );
    assert!(
        !store.is_remembered("jti:op\nj2").await.unwrap(),
        "{kind}: is_remembered records nothing"
    );
    assert!(
        !store.remember_once("jti:op\nj1", long).await.unwrap(),
        "{kind}"
    );
    assert!(
        !other.remember_once("jti:op\nj1", long).await.unwrap(),
        "{kind}: shared"
    );
    assert!(
        other.remember_once("jti:op\nj2", long).await.unwrap(),
        "{kind}"
    );
    assert!(store
        .remember_once("short", Duration::from_secs(1))
        .await
        .unwrap());
    assert!(!store.remember_once("short", long).await.unwrap(), "{kind}");
    wait_for(
        "the remembered key to expire",
        Duration::from_secs(5),
        || async {
            other
                .remember_once("short", long)
                .await
                .unwrap()
                .then_some(())
        },
    )
    .await;
    assert!(
        !store.remember_once("jti:op\nj1", long).await.unwrap(),
        "{kind}"
    );
    assert!(store
        .remember_once("brief", Duration::from_secs(1))
        .await
        .unwrap());
    assert!(store.is_remembered("brief").await.unwrap(), "{kind}");
    wait_for(
        "the brief key to be forgotten",
        Duration::from_secs(5),
        || async { (!other.is_remembered("brief").await.unwrap()).then_some(()) },
    )
    .await;
    assert_eq!(store.count().await.unwrap(), 2, "{kind}: no sessions");

    // Pending logins are not stored (they travel sealed in their cookie, tests/tests/e2e/pending_logins.rs); what
    // the store keeps of a login is the seen-state record of its exchange: one-time, shared by replicas, gone
    // with its TTL.
    let seen = bff::session::transaction::seen_state_key("some-state");
    assert!(!seen.contains("some-state"), "hashed: {seen}");
    assert!(store.remember_once(&seen, long).await.unwrap(), "{kind}");
    assert!(
        !other.remember_once(&seen, long).await.unwrap(),
        "{kind}: a replay on another replica"
    );
    assert_eq!(store.count().await.unwrap(), 2, "{kind}: no sessions");

    if !b.encrypts() {
        return;
    }
    // Sealed at rest: no token, no session id in the raw values.
    let raw = b.raw_values().await;
    assert_eq!(raw.len(), 2, "{kind}");
    for v in &raw {
        let text = String::from_utf8_lossy(v);
        for needle in [
            "ACCESS-TOKEN",
            "REFRESH-TOKEN",
            "idtoken-",
            "x1\"",
            "Test User",
        ] {
            assert!(!text.contains(needle), "{kind}: raw value shows {needle}");
        }
    }
    // Rotation: a new key first, the old one still opens; a value under a key no longer configured does not.
    let rotated = b.store(&[key(2), key(1)]);
    assert!(
        rotated.get("x1").await.unwrap().is_some(),
        "{kind}: old key opens"
    );
    rotated
        .insert("new", session("erin", None, "op"))
        .await
        .unwrap();
    let new_only = b.store(&[key(2)]);
    assert!(
        new_only.get("x1").await.unwrap().is_none(),
        "{kind}: unknown key = no session"
    );
    assert!(new_only.get("new").await.unwrap().is_some());
    assert!(
        store.get("new").await.unwrap().is_none(),
        "{kind}: old keyring lacks the new key"
    );
}

#[tokio::test]
async fn memory_store_passes_the_suite() {
    suite("memory").await;
}

#[tokio::test]
async fn sqlite_store_passes_the_suite() {
    suite("sqlite").await;
}

#[tokio::test]
async fn redis_store_passes_the_suite() {
    suite("redis").await;
}

#[tokio::test]
async fn a_store_that_is_down_is_an_error_not_an_empty_store() {
    let redis = RedisServer::start().await;
    let url = redis.url.clone();
    drop(redis);
    let store = RedisStore::new(
        RedisTarget::single(&url).unwrap(),
        "x:",
        Arc::new(Keyring::new(&[key(1)]).unwrap()),
        IDLE,
        ABSOLUTE,
    );
    assert!(store.ping().await.is_err());
    assert!(store.get("id").await.is_err());
}

// ---- The BFF with persistent stores ----------------------------------------------------------------------

async fn login(stack: &Stack, bff: &BffClient) {
    bff.log_in_at_op(&stack.redirect_uri).await;
}

fn sqlite_toml(name: &str) -> String {
    let path = sqlite_path(name);
    format!(
        "[session]\nstore = \"sqlite\"\nsqlite_path = {:?}\nkeys = [\"{}\"]\n",
        path.display().to_string(),
        key(7)
    )
}

fn redis_toml(redis: &RedisServer) -> String {
    redis.session_toml("e2e:", &key(7))
}

/// The BFF's `[session]` table for a store on `cluster` (prefix `e2e:`, hash-tagged by the store).
pub(crate) fn cluster_toml(cluster: &RedisCluster) -> String {
    format!(
        "[session]\nstore = \"redis\"\nredis_cluster = {}\nredis_prefix = \"e2e:\"\nkeys = [\"{}\"]\n",
        cluster.toml_list(),
        key(7)
    )
}

async fn restart(bff_toml: String, survives: bool) {
    let mut stack = Stack::start(StackOptions {
        bff_toml,
        ..Default::default()
    })
    .await;
    let bff = BffClient::new(&stack.origin);
    login(&stack, &bff).await;
    assert_eq!(bff.get("/bff/user").await.status(), 200);
    stack.restart_bff().await;
    // The same cookie jar; the old server and its connections are gone.
    let r = bff.get("/bff/user").await;
    if !survives {
        assert_eq!(r.status(), 401, "a memory session ends with the process");
        return;
    }
    assert_eq!(r.status(), 200, "the session survived the restart");
    assert_eq!(r.json::<Value>().await.unwrap()["user"]["sub"], "alice");
    let api = bff.get("/api/demo/hello").await;
    assert_eq!(api.status(), 200);
    assert_eq!(api.json::<Value>().await.unwrap()["sub"], "alice");
    let metrics = bff.get("/metrics").await.text().await.unwrap();
    assert!(metrics.contains("bff_active_sessions 1"), "{metrics}");
}

#[tokio::test]
async fn sessions_survive_a_bff_restart_with_sqlite() {
    restart(sqlite_toml("restart"), true).await;
}

#[tokio::test]
async fn sessions_survive_a_bff_restart_with_redis() {
    let redis = RedisServer::start().await;
    restart(redis_toml(&redis), true).await;
}

/// The control: the restart really is one (the memory store starts empty).
#[tokio::test]
async fn memory_sessions_end_with_a_bff_restart() {
    restart(String::new(), false).await;
}

/// Back-channel logout reaches one replica (the OP knows one URL); the session ends on both.
#[tokio::test]
async fn back_channel_logout_on_one_replica_ends_the_session_on_both() {
    let redis = RedisServer::start().await;
    back_channel_logout_ends_the_session_on_both(redis_toml(&redis)).await;
}

/// [`back_channel_logout_on_one_replica_ends_the_session_on_both`] with the store in `session_toml`.
pub(crate) async fn back_channel_logout_ends_the_session_on_both(session_toml: String) {
    let stack = Stack::start(StackOptions {
        bff_toml: session_toml,
        ..Default::default()
    })
    .await;
    let replica = stack.start_replica().await;
    let one = BffClient::new(&stack.origin);
    let started = one.start_login().await;
    let op = OpBrowser::new();
    let fragment = op
        .authorize(&started.authorization_url, &stack.redirect_uri)
        .await;
    let id_token = parse_fragment(&fragment).unwrap().id_token.unwrap();
    one.create_session(&fragment).await;
    let two = one.at(&replica.origin);
    assert_eq!(two.get("/bff/user").await.status(), 200);
    let status = op
        .end_session(&stack.issuer, &id_token, &format!("{}/", stack.origin))
        .await;
    assert!(
        (300..400).contains(&status),
        "OP logout confirmed: {status}"
    );
    wait_for(
        "the back-channel logout",
        Duration::from_secs(15),
        || async { (two.get("/bff/user").await.status() == 401).then_some(()) },
    )
    .await;
    assert_eq!(one.get("/bff/user").await.status(), 401);
}

#[tokio::test]
async fn readyz_is_503_json_while_redis_is_down() {
    let redis = RedisServer::start().await;
    let stack = Stack::start(StackOptions {
        bff_toml: redis_toml(&redis),
        ..Default::default()
    })
    .await;
    let http = reqwest::Client::new();
    let ready = format!("{}/readyz", stack.origin);
    assert_eq!(http.get(&ready).send().await.unwrap().status(), 200);
    let bff = BffClient::new(&stack.origin);
    login(&stack, &bff).await;
    drop(redis);
    let r = http.get(&ready).send().await.unwrap();
    assert_eq!(r.status(), 503);
    let body: Value = r.json().await.unwrap();
    assert_eq!(body["store"], false, "{body}");
    // A session lookup with the store down: 503 JSON (the session is not declared gone).
    let r = bff.get("/bff/user").await;
    assert_eq!(r.status(), 503);
    let body: Value = r.json().await.unwrap();
    assert_eq!(body["error"], "session_store_unavailable", "{body}");
    assert!(!body["message"].as_str().unwrap().contains("127.0.0.1"));
    let metrics = http
        .get(format!("{}/metrics", stack.origin))
        .send()
        .await
        .unwrap();
    assert_eq!(metrics.status(), 200);
    assert!(!metrics
        .text()
        .await
        .unwrap()
        .contains("bff_active_sessions"));
}

/// The dev OP's access tokens live 3600 s; with this margin they fall due `DUE_AFTER` after issue.
const DUE_AFTER: Duration = Duration::from_secs(3);

#[tokio::test]
async fn two_replicas_share_sessions_refresh_once_and_log_out_together() {
    let redis = RedisServer::start().await;
    replicas_share_sessions_refresh_once_and_log_out_together(redis_toml(&redis)).await;
}

/// [`two_replicas_share_sessions_refresh_once_and_log_out_together`] with the store in `session_toml`.
pub(crate) async fn replicas_share_sessions_refresh_once_and_log_out_together(
    session_toml: String,
) {
    let toml = format!(
        "{session_toml}refresh_margin_secs = {}\n",
        3600 - DUE_AFTER.as_secs()
    );
    let stack = Stack::start(StackOptions {
        bff_toml: toml,
        ..Default::default()
    })
    .await;
    let replica = stack.start_replica().await;
    let one = BffClient::new(&stack.origin);
    login(&stack, &one).await;
    // Tokens fall due DUE_AFTER after the exchange (expires_in is counted from there), so the clock starts then.
    let issued = Instant::now();
    // The same browser (cookie jar) through the other replica.
    let two = one.at(&replica.origin);
    assert_eq!(two.get("/bff/user").await.status(), 200);
    let api = two.get("/api/demo/hello").await;
    assert_eq!(api.status(), 200);
    assert_eq!(stack.token_requests().await, 1);

    // A refresh storm of 200 calls across both replicas: exactly one refresh at the OP.
    wait_for("the access token to fall due", DUE_AFTER * 3, || async {
        (issued.elapsed() > DUE_AFTER + Duration::from_secs(1)).then_some(())
    })
    .await;
    let (one, two) = (Arc::new(one), Arc::new(two));
    for (status, body) in parallel_gets(&[one.clone(), two.clone()], 200, "/api/demo/hello").await {
        assert_eq!(status, 200, "{body}");
        assert_eq!(body["sub"], "alice");
    }
    assert_eq!(
        stack.token_requests().await,
        2,
        "one exchange, one refresh across both replicas"
    );

    // Logout through one replica ends the session on both.
    assert_eq!(two.post("/bff/logout", None).await.status(), 200);
    assert_eq!(one.get("/bff/user").await.status(), 401);
    assert_eq!(two.get("/bff/user").await.status(), 401);
}
