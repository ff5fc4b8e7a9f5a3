//! The shipped nginx config (`deploy/nginx/hybrid.conf` + `security-headers.conf`) in front of the real stack:
//! Debian's nginx runs it as a child process (its EDIT lines rewritten for this machine), serving `dist/` and
//! proxying /bff and /api to the BFF; headless Chromium logs in through it, and login starts are limited per
//! client address.

use hybrid_e2e::authorize::BffClient;
use hybrid_e2e::browser::Browser;
use hybrid_e2e::nginx::{start_nginx, wait_until_it_reaches_a_bff};
use hybrid_e2e::stack::{Stack, StackOptions};
use hybrid_e2e::upstream::EchoUpstream;
use hybrid_e2e::{free_port, repo_root, wait_for};
use std::time::Duration;

#[tokio::test]
async fn spa_and_bff_behind_nginx_login_end_to_end() {
    let nginx_port = free_port();
    let public = format!("http://localhost:{nginx_port}");
    let stack = Stack::start(StackOptions {
        redirect_uri: Some(format!("{public}/callback")),
        bff_toml: format!(
            "public_origin = \"{public}\"\n[oidc]\npost_logout_redirect_uri = \"{public}/\"\n"
        ),
        ..Default::default()
    })
    .await;
    let op_origin = stack.op_origin();
    let mut nginx = start_nginx(nginx_port, &[stack.bff_port()], &op_origin);

    let http = reqwest::Client::new();
    let index = format!("http://127.0.0.1:{nginx_port}/");
    let first = wait_for("nginx to listen", Duration::from_secs(20), || async {
        http.get(&index).send().await.ok()
    })
    .await;
    nginx.assert_running();
    // The entry page: no-cache and the security headers.
    assert_eq!(first.status(), 200);
    let h = first.headers();
    assert_eq!(h["cache-control"], "no-cache");
    let csp = h["content-security-policy"].to_str().unwrap().to_owned();
    for part in [
        "default-src 'self'",
        "script-src 'self' 'wasm-unsafe-eval'",
        &format!("connect-src 'self' {op_origin}"),
        "frame-ancestors 'none'",
    ] {
        assert!(csp.contains(part), "CSP has `{part}`: {csp}");
    }
    assert!(!csp.contains("unsafe-inline"), "{csp}");
    assert_eq!(h["x-content-type-options"], "nosniff");
    assert_eq!(h["referrer-policy"], "no-referrer");
    let html = first.text().await.unwrap();
    // SPA fallback: /callback is index.html.
    let cb = http.get(format!("{index}callback")).send().await.unwrap();
    assert_eq!(cb.status(), 200);
    assert_eq!(cb.headers()["cache-control"], "no-cache");
    assert_eq!(cb.text().await.unwrap(), html);
    // Hashed assets: cached for a year, wasm with its MIME type.
    let wasm = std::fs::read_dir(repo_root().join("dist"))
        .unwrap()
        .filter_map(|e| e.ok())
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .find(|n| n.ends_with("_bg.wasm"))
        .expect("a wasm file in dist/");
    let r = http.get(format!("{index}{wasm}")).send().await.unwrap();
    assert_eq!(r.status(), 200);
    assert_eq!(
        r.headers()["cache-control"],
        "public, max-age=31536000, immutable"
    );
    assert_eq!(r.headers()["content-type"], "application/wasm");
    assert!(r.headers().contains_key("content-security-policy"));
    // The release build's gzip copy (gzip_static), for browsers that accept it.
    let r = http
        .get(format!("{index}{wasm}"))
        .header("accept-encoding", "gzip")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    assert_eq!(r.headers()["content-encoding"], "gzip");
    assert_eq!(r.headers()["content-type"], "application/wasm");
    assert!(r.headers()["vary"]
        .to_str()
        .unwrap()
        .to_ascii_lowercase()
        .contains("accept-encoding"));
    let gz = std::fs::read(repo_root().join("dist").join(format!("{wasm}.gz"))).unwrap();
    assert_eq!(
        r.bytes().await.unwrap().len(),
        gz.len(),
        "the precompressed file as built"
    );
    // /bff reaches the BFF (JSON 401 without a session); operational endpoints are not exposed.
    let r = http.get(format!("{index}bff/user")).send().await.unwrap();
    assert_eq!(r.status(), 401);
    assert!(r.headers().contains_key("x-content-type-options"));
    let r = http.get(format!("{index}metrics")).send().await.unwrap();
    assert_eq!(
        r.text().await.unwrap(),
        html,
        "/metrics is the SPA, not the BFF's"
    );

    // The login in Chromium, all through nginx.
    let browser = Browser::signed_in(&public).await;
    assert_eq!(browser.text_of("user-name").await, "Alice Example");
    let url = browser.client.current_url().await.unwrap();
    assert_eq!(url.origin().ascii_serialization(), public);
    browser.click("call-api").await;
    let result = browser.text_of("api-result").await;
    let json: serde_json::Value = serde_json::from_str(&result).expect("API result JSON");
    assert_eq!(json["sub"], "alice");
    browser.close().await;
}

/// nginx sets the forwarding headers from the connection instead of appending to the client's: behind it the BFF
/// sees the client's address alone in `X-Forwarded-For` (and `X-Real-IP`), no client `Forwarded`, and a `Host`
/// of the site's own names; a request for another name gets 421 and never reaches the BFF. An upstream that echoes
/// the headers it got stands in for the BFF.
#[tokio::test]
async fn nginx_sets_forwarding_headers_and_refuses_unknown_hosts() {
    let echo = EchoUpstream::start().await;
    let nginx_port = free_port();
    let mut nginx = start_nginx(nginx_port, &[echo.port], "http://127.0.0.1:9");
    let http = reqwest::Client::new();
    let base = format!("http://127.0.0.1:{nginx_port}");
    wait_for("nginx to listen", Duration::from_secs(20), || async {
        http.get(&base).send().await.ok()
    })
    .await;
    nginx.assert_running();
    for path in ["/bff/user", "/api/demo/x"] {
        let got: serde_json::Value = http
            .get(format!("{base}{path}"))
            .header("x-forwarded-for", "203.0.113.7")
            .header("x-real-ip", "203.0.113.7")
            .header("forwarded", "for=203.0.113.7;proto=https")
            .header("x-forwarded-proto", "https")
            .header("x-forwarded-host", "evil.example")
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        let one = |v: &str| serde_json::json!([v]);
        assert_eq!(got["x-forwarded-for"], one("127.0.0.1"), "{path}: {got}");
        assert_eq!(got["x-real-ip"], one("127.0.0.1"), "{path}: {got}");
        assert_eq!(got["x-forwarded-proto"], one("http"), "{path}: {got}");
        assert_eq!(got["x-forwarded-host"], one("127.0.0.1"), "{path}: {got}");
        assert_eq!(got["host"], one("127.0.0.1"), "{path}: {got}");
        assert!(got.get("forwarded").is_none(), "{path}: {got}");
    }
    let foreign = http
        .get(format!("{base}/bff/user"))
        .header("host", "evil.example")
        .send()
        .await
        .unwrap();
    assert_eq!(foreign.status(), 421);
    assert!(foreign.text().await.unwrap().contains("421"));
}

/// The shipped config limits `POST /bff/login` per client address: a burst from one address (127.0.0.2, also
/// loopback) is answered 429 JSON past the allowance, while `GET /bff/login` from it and a whole login from
/// another address (127.0.0.1) go through as usual.
#[tokio::test]
async fn login_starts_are_rate_limited_per_client_address_behind_nginx() {
    let nginx_port = free_port();
    let public = format!("http://localhost:{nginx_port}");
    let stack = Stack::start(StackOptions {
        redirect_uri: Some(format!("{public}/callback")),
        bff_toml: format!("public_origin = \"{public}\"\n"),
        ..Default::default()
    })
    .await;
    let mut nginx = start_nginx(nginx_port, &[stack.bff_port()], &stack.op_origin());
    let direct = format!("http://127.0.0.1:{nginx_port}");
    let flooder = reqwest::Client::builder()
        .local_address(std::net::IpAddr::from([127, 0, 0, 2]))
        .build()
        .unwrap();
    wait_until_it_reaches_a_bff(&mut nginx, nginx_port, &flooder).await;

    let (mut started, mut limited) = (0, 0);
    for _ in 0..60 {
        let r = flooder
            .post(format!("{direct}/bff/login"))
            .header("x-csrf", "1")
            .send()
            .await
            .unwrap();
        match r.status().as_u16() {
            200 => started += 1,
            429 => {
                limited += 1;
                assert_eq!(r.headers()["content-type"], "application/json");
                assert_eq!(r.headers()["cache-control"], "no-store");
                assert!(r.headers().contains_key("x-content-type-options"));
                let body: serde_json::Value = r.json().await.expect("a JSON 429");
                assert_eq!(body["error"], "too_many_login_attempts", "{body}");
                assert!(body["message"].as_str().unwrap().contains("wait"), "{body}");
            }
            other => panic!("POST /bff/login answered {other}"),
        }
    }
    assert!(started >= 20, "the burst allowance went through: {started}");
    assert!(limited > 0, "past the allowance: 429 ({started} started)");
    let options = flooder
        .get(format!("{direct}/bff/login"))
        .send()
        .await
        .unwrap();
    assert_eq!(options.status(), 200, "only login starts are limited");

    // Another client address, meanwhile: a whole login through nginx.
    let other = BffClient::new(&public);
    let session = other.log_in_at_op(&stack.redirect_uri).await;
    assert_eq!(session["user"]["sub"], "alice");
    assert_eq!(other.get("/bff/user").await.status(), 200);
}
