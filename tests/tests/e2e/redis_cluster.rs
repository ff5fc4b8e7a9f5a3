//! The Redis store on a real Redis Cluster (six Debian `redis-server`s: three masters, three replicas;
//! `session.redis_cluster`): the store suite, two replicas behind nginx, a back-channel logout reaching both,
//! one refresh across replicas; then a master killed: its replica is promoted and the BFF keeps serving, every
//! answer a 200, a clean 401 JSON (a session lost with the master) or, during the failover, a 503 JSON, never
//! a 500 or a hang; the session cache works again on the new master.

use crate::replicas_nginx::behind_nginx;
use crate::session_stores::{
    back_channel_logout_ends_the_session_on_both, cluster_toml,
    replicas_share_sessions_refresh_once_and_log_out_together, suite,
};
use hybrid_e2e::authorize::BffClient;
use hybrid_e2e::redis_cluster::RedisCluster;
use hybrid_e2e::stack::{Stack, StackOptions};
use hybrid_e2e::wait_for;
use serde_json::Value;
use std::time::Duration;

/// The hash tag the store gives prefix `e2e:` on a cluster: every key of the store is in its slot.
const TAG: &str = "{e2e:}";

#[tokio::test]
async fn the_store_suite_passes_on_a_cluster() {
    suite("redis-cluster").await;
}

#[tokio::test]
async fn two_replicas_behind_nginx_share_login_refresh_and_logout_on_a_cluster() {
    let cluster = RedisCluster::start().await;
    behind_nginx(&format!(
        "store = \"redis\"\nredis_cluster = {}\nredis_prefix = \"rr:\"\n",
        cluster.toml_list()
    ))
    .await;
}

#[tokio::test]
async fn a_back_channel_logout_ends_the_session_on_both_replicas_on_a_cluster() {
    let cluster = RedisCluster::start().await;
    back_channel_logout_ends_the_session_on_both(cluster_toml(&cluster)).await;
}

#[tokio::test]
async fn two_replicas_refresh_once_and_log_out_together_on_a_cluster() {
    let cluster = RedisCluster::start().await;
    replicas_share_sessions_refresh_once_and_log_out_together(cluster_toml(&cluster)).await;
}

/// How many `GET`s the master serving the store's slot has executed: a session read from Redis is one.
fn store_gets(cluster: &RedisCluster) -> u64 {
    let port = cluster.master_of(TAG);
    let client = redis::Client::open(format!("redis://127.0.0.1:{port}/")).unwrap();
    let mut c = client.get_connection().unwrap();
    let info: String = redis::cmd("INFO")
        .arg("commandstats")
        .query(&mut c)
        .unwrap();
    info.lines()
        .find_map(|l| l.strip_prefix("cmdstat_get:calls="))
        .and_then(|rest| rest.split(',').next())
        .map_or(0, |n| n.parse().unwrap())
}

/// Calls `/bff/user` until it answers 200 without the store's master executing a `GET`: served from the
/// replica's session cache, whose invalidations then flow on the cluster.
async fn cached(bff: &BffClient, cluster: &RedisCluster) {
    wait_for(
        "the session to be served from the replica's cache",
        Duration::from_secs(20),
        || async {
            let before = store_gets(cluster);
            assert_eq!(bff.get("/bff/user").await.status(), 200);
            (store_gets(cluster) == before).then_some(())
        },
    )
    .await;
}

/// A call's outcome while a master fails over: 200, or a JSON error that is a lost session (401) or the store
/// being unavailable for the moment (503). Never a 500; the client's timeout makes a hang a failure.
async fn clean(bff: &BffClient, path: &str) -> u16 {
    let r = tokio::time::timeout(Duration::from_secs(15), bff.get(path))
        .await
        .unwrap_or_else(|_| panic!("{path} hung during the failover"));
    let status = r.status().as_u16();
    if status != 200 {
        let body: Value = r.json().await.expect("an error answer is JSON");
        assert!(
            matches!(
                (status, body["error"].as_str()),
                (401, Some(_)) | (503, Some("session_store_unavailable"))
            ),
            "{path}: {status} {body}"
        );
    }
    status
}

#[tokio::test]
async fn a_failed_master_is_replaced_and_the_bff_keeps_serving() {
    let mut cluster = RedisCluster::start().await;
    let stack = Stack::start(StackOptions {
        bff_toml: cluster_toml(&cluster),
        ..Default::default()
    })
    .await;
    let replica = stack.start_replica().await;
    let a = BffClient::new(&stack.origin);
    a.log_in_at_op(&stack.redirect_uri).await;
    let b = a.at(&replica.origin);
    assert_eq!(b.get("/bff/user").await.status(), 200);
    cached(&a, &cluster).await;

    let old = cluster.master_of(TAG);
    // Calls keep coming while the master is down and its replica is promoted.
    let during = async {
        let mut statuses = Vec::new();
        for _ in 0..20 {
            statuses.push(clean(&a, "/bff/user").await);
            statuses.push(clean(&b, "/api/demo/hello").await);
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        statuses
    };
    let (new, statuses) = tokio::join!(cluster.fail_master_of(TAG), during);
    assert_ne!(new, old);
    eprintln!("statuses during the failover: {statuses:?}");

    // Promoted: every call answers again, the session kept (replicated before the kill) or cleanly lost.
    for bff in [&a, &b] {
        let status = wait_for(
            "the BFF to serve again",
            Duration::from_secs(20),
            || async {
                let status = clean(bff, "/bff/user").await;
                (status != 503).then_some(status)
            },
        )
        .await;
        assert!(status == 200 || status == 401, "{status}");
    }
    // A new login on the new master, and the cache's invalidations flow there: cached on A, logged out
    // through B, A's next call is 401.
    a.log_in_at_op(&stack.redirect_uri).await;
    let r = b.get("/api/demo/hello").await;
    assert_eq!(r.status(), 200, "{}", r.text().await.unwrap());
    cached(&a, &cluster).await;
    let r = b.post("/bff/logout", None).await;
    assert_eq!(r.status(), 200, "{}", r.text().await.unwrap());
    assert_eq!(a.get("/bff/user").await.status(), 401);
}
