//! The shipped nginx config (`deploy/nginx/hybrid.conf` + `security-headers.conf`) in front of the real stack:
//! Debian's nginx runs it as a child process (its EDIT lines rewritten for this machine), serving `dist/` and
//! proxying /bff and /api to the BFF; headless Chromium logs in through it.

use hybrid_e2e::browser::Browser;
use hybrid_e2e::nginx::start_nginx;
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
    let bff_port: u16 = stack.origin.rsplit(':').next().unwrap().parse().unwrap();
    let op_origin = url::Url::parse(&stack.issuer)
        .unwrap()
        .origin()
        .ascii_serialization();
    let prefix = repo_root().join(format!("target/nginx-test/{nginx_port}"));
    let mut nginx = start_nginx(&prefix, nginx_port, &[bff_port], &op_origin);

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
    let browser = Browser::start().await;
    browser.client.goto(&public).await.expect("SPA loads");
    browser.wait_session_state("none").await;
    browser.click("login").await;
    browser.wait_session_state("active").await;
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
    let prefix = repo_root().join(format!("target/nginx-test/{nginx_port}"));
    let mut nginx = start_nginx(&prefix, nginx_port, &[echo.port], "http://127.0.0.1:9");
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
