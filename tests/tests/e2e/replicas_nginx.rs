//! Two BFF replicas behind Debian's nginx (round robin, the shipped config) sharing one Redis: the browser
//! talks to nginx's origin only (the OP's redirect URI and the BFF's `public_origin` are nginx's). The login
//! is started on one replica and finished on the other (the login cookie is sealed under the replicas' shared
//! `session.keys`); calls land on both replicas (nginx's access log names the upstream of each, and each replica's `/metrics` counts
//! its own proxied calls); a refresh storm across both gives one refresh at the OP; `/bff/logout` through
//! nginx ends the session for every later call, whichever replica answers it.

use hybrid_e2e::authorize::{parallel_gets, BffClient};
use hybrid_e2e::nginx::{self, start_nginx, wait_until_it_reaches_a_bff};
use hybrid_e2e::redis_server::RedisServer;
use hybrid_e2e::stack::{Stack, StackOptions};
use hybrid_e2e::{free_port, wait_for};
use serde_json::Value;
use std::collections::BTreeSet;
use std::path::Path;
use std::sync::Arc;
use std::time::{Duration, Instant};

/// The dev OP's access tokens live 3600 s; with this margin they fall due `DUE_AFTER` after issue.
const DUE_AFTER: Duration = Duration::from_secs(5);

/// The upstreams (`127.0.0.1:PORT`) nginx sent requests for `uri` to with `status`, from its access log.
fn upstreams(prefix: &Path, uri: &str, status: u16) -> BTreeSet<String> {
    let log = std::fs::read_to_string(prefix.join("access.log")).unwrap_or_default();
    log.lines()
        .filter_map(|l| {
            let mut parts = l.split(' ');
            let (u, s, addr) = (parts.next()?, parts.next()?, parts.next()?);
            (u == uri && s == status.to_string()).then(|| addr.to_owned())
        })
        .collect()
}

/// [`upstreams`] once nginx has logged at least `count` distinct replicas for that request: nginx writes a line
/// after it has sent the answer, so a read right after the client got it can miss the line on a busy machine.
/// Bounded; the caller's assertion then says what was logged.
async fn logged(prefix: &Path, uri: &str, status: u16, count: usize) -> BTreeSet<String> {
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let seen = upstreams(prefix, uri, status);
        if seen.len() >= count || Instant::now() > deadline {
            return seen;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// How many proxied demo calls with a 2xx answer this replica has timed (its own `/metrics`).
async fn proxied(port: u16) -> u64 {
    let text = reqwest::get(format!("http://127.0.0.1:{port}/metrics"))
        .await
        .expect("replica metrics")
        .text()
        .await
        .unwrap();
    let needle = "bff_proxy_duration_seconds_count{upstream=\"demo\",status=\"2xx\"} ";
    text.lines()
        .find_map(|l| l.strip_prefix(needle))
        .map_or(0, |n| n.trim().parse().expect("a count"))
}

#[tokio::test]
async fn two_replicas_behind_nginx_round_robin_share_login_refresh_and_logout() {
    let redis = RedisServer::start().await;
    behind_nginx(&format!(
        "store = \"redis\"\nredis_url = \"{}\"\nredis_prefix = \"rr:\"\n",
        redis.url
    ))
    .await;
}

/// [`two_replicas_behind_nginx_round_robin_share_login_refresh_and_logout`] with the store in `store_lines`
/// (lines of the `[session]` table).
pub(crate) async fn behind_nginx(store_lines: &str) {
    let nginx_port = free_port();
    let public = format!("http://localhost:{nginx_port}");
    let stack = Stack::start(StackOptions {
        redirect_uri: Some(format!("{public}/callback")),
        bff_toml: format!(
            "public_origin = \"{public}\"\n[oidc]\npost_logout_redirect_uri = \"{public}/\"\n\
             [session]\n{store_lines}\
             keys = [\"AQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQE=\"]\nrefresh_margin_secs = {}\n",
            3600 - DUE_AFTER.as_secs()
        ),
        ..Default::default()
    })
    .await;
    let replica = stack.start_replica().await;
    let (a_port, b_port) = (stack.bff_port(), replica.port);
    let prefix = nginx::prefix(nginx_port);
    let mut nginx = start_nginx(nginx_port, &[a_port, b_port], &stack.op_origin());
    wait_until_it_reaches_a_bff(&mut nginx, nginx_port, &reqwest::Client::new()).await;
    let both: BTreeSet<String> = [a_port, b_port]
        .iter()
        .map(|p| format!("127.0.0.1:{p}"))
        .collect();

    // Log in through nginx: `/bff/login` and `/bff/session` are consecutive, so round robin sends them to
    // different replicas.
    let via = Arc::new(BffClient::new(&public));
    let issued = Instant::now();
    let session = via.log_in_at_op(&stack.redirect_uri).await;
    // The token falls due DUE_AFTER after the exchange, which a busy machine may reach well after `issued`.
    let exchanged = Instant::now();
    assert_eq!(session["user"]["sub"], "alice");
    let (started, finished) = (
        logged(&prefix, "/bff/login", 200, 1).await,
        logged(&prefix, "/bff/session", 200, 1).await,
    );
    assert_eq!(started.len(), 1, "{started:?}");
    assert_eq!(finished.len(), 1, "{finished:?}");
    assert_ne!(
        started, finished,
        "started on one replica, finished on the other"
    );
    // Six of each in a row (round robin alternates, so interleaving them would split them by kind).
    for _ in 0..6 {
        let r = via.get("/bff/user").await;
        assert_eq!(r.status(), 200);
        assert_eq!(r.json::<Value>().await.unwrap()["user"]["sub"], "alice");
    }
    for _ in 0..6 {
        let r = via.get("/api/demo/hello").await;
        assert_eq!(r.status(), 200);
        assert_eq!(r.json::<Value>().await.unwrap()["sub"], "alice");
    }
    assert!(
        issued.elapsed() < DUE_AFTER,
        "the calls before the storm ran before the token fell due"
    );
    assert_eq!(
        logged(&prefix, "/bff/user", 200, 2).await,
        both,
        "round robin"
    );
    assert_eq!(logged(&prefix, "/api/demo/hello", 200, 2).await, both);
    let (a_calls, b_calls) = (proxied(a_port).await, proxied(b_port).await);
    assert_eq!((a_calls, b_calls), (3, 3), "each replica proxied its share");
    assert_eq!(stack.token_requests().await, 1, "the login's exchange only");

    // A refresh storm through nginx, landing on both replicas: exactly one refresh at the OP.
    wait_for("the access token to fall due", DUE_AFTER * 3, || async {
        (exchanged.elapsed() > DUE_AFTER + Duration::from_secs(1)).then_some(())
    })
    .await;
    for (status, body) in parallel_gets(std::slice::from_ref(&via), 20, "/api/demo/hello").await {
        assert_eq!(status, 200, "{body}");
        assert_eq!(body["sub"], "alice");
    }
    assert!(proxied(a_port).await > a_calls && proxied(b_port).await > b_calls);
    assert_eq!(
        stack.token_requests().await,
        2,
        "one exchange, one refresh across both replicas"
    );

    // Logout through nginx ends the session for every later call, on either replica.
    assert_eq!(via.post("/bff/logout", None).await.status(), 200);
    for _ in 0..4 {
        assert_eq!(via.get("/bff/user").await.status(), 401);
    }
    for _ in 0..4 {
        assert_eq!(via.get("/api/demo/hello").await.status(), 401);
    }
    assert_eq!(logged(&prefix, "/bff/user", 401, 2).await, both);
    assert_eq!(logged(&prefix, "/api/demo/hello", 401, 2).await, both);
}
