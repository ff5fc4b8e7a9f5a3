//! The Redis store's in-process session cache (`session.redis_cache`, on by default) never lets an ended
//! session be used again: two BFF replicas as their own processes (the deployable binary) share one Redis;
//! a session cached on replica A (its calls no longer reach Redis, which Redis's own command counters show)
//! is ended through replica B, by a BFF logout or by a back-channel logout, and A's very next call is 401.
//! Redis killed and started again (empty) while A holds a cached session: A serves it no more.

use hybrid_e2e::authorize::BffClient;
use hybrid_e2e::bff_process::BffProcess;
use hybrid_e2e::redis_server::RedisServer;
use hybrid_e2e::stack::{bff_config_toml, Stack, StackOptions};
use hybrid_e2e::test_op::{LogoutSigning, TestOp};
use hybrid_e2e::{free_port, wait_for};
use shared::ResponseType;
use std::time::Duration;

const KEY: &str = "CAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAg=";

fn redis_toml(redis: &RedisServer) -> String {
    redis.session_toml("cache:", KEY)
}

/// How many `GET`s Redis has executed (`INFO commandstats`): a session read from Redis is one.
async fn redis_gets(redis: &RedisServer) -> u64 {
    let client = redis::Client::open(redis.url.as_str()).unwrap();
    let mut c = client.get_multiplexed_async_connection().await.unwrap();
    let info: String = redis::cmd("INFO")
        .arg("commandstats")
        .query_async(&mut c)
        .await
        .unwrap();
    info.lines()
        .find_map(|l| l.strip_prefix("cmdstat_get:calls="))
        .and_then(|rest| rest.split(',').next())
        .map_or(0, |n| n.parse().unwrap())
}

/// Calls `path` on `bff` until a call answers 200 without Redis executing a `GET`: the session is then served
/// from replica's cache (the cache is used once the replica hears its own invalidation heartbeat).
async fn cached(bff: &BffClient, redis: &RedisServer, path: &str) {
    wait_for(
        "the session to be served from the replica's cache",
        Duration::from_secs(15),
        || async {
            let before = redis_gets(redis).await;
            let status = bff.get(path).await.status();
            assert_eq!(status, 200, "{path}");
            (redis_gets(redis).await == before).then_some(())
        },
    )
    .await;
}

/// Two replicas of the deployable binary, each with the configuration `config` gives for its port.
async fn replicas(config: impl Fn(u16) -> String) -> (BffProcess, BffProcess) {
    let (a, b) = (free_port(), free_port());
    (
        BffProcess::start(a, &config(a)).await,
        BffProcess::start(b, &config(b)).await,
    )
}

#[tokio::test]
async fn a_logout_through_one_replica_ends_the_session_cached_on_the_other_at_once() {
    let mut redis = RedisServer::start().await;
    // The stack's configuration (dev OP, its redirect URI, the demo API) with the Redis store, for both.
    let stack = Stack::start(StackOptions {
        bff_toml: redis_toml(&redis),
        ..Default::default()
    })
    .await;
    let (a, b) = replicas(|port| stack.bff_config(port)).await;

    for round in 0..2 {
        let on_a = BffClient::new(&a.origin);
        on_a.log_in_at_op(&stack.redirect_uri).await;
        let on_b = on_a.at(&b.origin);
        cached(&on_a, &redis, "/api/demo/hello").await;
        cached(&on_a, &redis, "/bff/user").await;
        // Both replicas cache it.
        cached(&on_b, &redis, "/bff/user").await;
        // The other way round the second time: the replica that logs out also held it.
        let (ends, other) = if round == 0 {
            (&on_b, &on_a)
        } else {
            (&on_a, &on_b)
        };
        assert_eq!(ends.post("/bff/logout", None).await.status(), 200);
        // The very next calls, no wait: 401 on both.
        assert_eq!(
            other.get("/api/demo/hello").await.status(),
            401,
            "round {round}"
        );
        assert_eq!(other.get("/bff/user").await.status(), 401, "round {round}");
        assert_eq!(ends.get("/bff/user").await.status(), 401, "round {round}");
    }

    // Redis killed and started again (empty: every session gone, as if each had been logged out) while the
    // session is cached on A: A must not go on serving it. While Redis is down calls turn 503 (the cache is
    // dropped when its subscription drops, and unused once its heartbeat goes unheard); once it is back, 401.
    let on_a = BffClient::new(&a.origin);
    on_a.log_in_at_op(&stack.redirect_uri).await;
    cached(&on_a, &redis, "/api/demo/hello").await;
    redis.kill();
    wait_for(
        "the replica to stop using its cache once Redis is gone",
        Duration::from_secs(10),
        || async { (on_a.get("/bff/user").await.status() == 503).then_some(()) },
    )
    .await;
    redis.start_again().await;
    // The store's connection comes back by itself (503 until it has).
    wait_for(
        "the replica to reach Redis again",
        Duration::from_secs(10),
        || async { (on_a.get("/bff/user").await.status() != 503).then_some(()) },
    )
    .await;
    assert_eq!(on_a.get("/api/demo/hello").await.status(), 401);
    assert_eq!(on_a.get("/bff/user").await.status(), 401);
}

#[tokio::test]
async fn a_back_channel_logout_through_one_replica_ends_the_session_cached_on_the_other_at_once() {
    let redis = RedisServer::start().await;
    let op = TestOp::start().await;
    let (a, b) = replicas(|port| {
        bff_config_toml(
            port,
            &op.issuer,
            ResponseType::CodeIdToken,
            &redis_toml(&redis),
        )
    })
    .await;
    let on_a = BffClient::new(&a.origin);
    let redirect_uri = format!("{}/callback", a.origin);
    assert_eq!(
        on_a.log_in_at_op(&redirect_uri).await["user"]["sub"],
        "alice"
    );
    cached(&on_a, &redis, "/bff/user").await;

    // The OP's logout token reaches replica B only (the OP knows one URL).
    let token = op.logout_token(
        &op.logout_claims("hybrid-spa", None, Some("alice")),
        LogoutSigning::Valid,
    );
    let r = reqwest::Client::new()
        .post(format!("{}/bff/backchannel", b.origin))
        .form(&[("logout_token", token.as_str())])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    assert_eq!(on_a.get("/bff/user").await.status(), 401);
    assert_eq!(on_a.at(&b.origin).get("/bff/user").await.status(), 401);
}
