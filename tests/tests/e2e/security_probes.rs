//! Security probes against the real BFF with a dev OP session: the anti-CSRF header on every state-changing
//! call of a signed-in browser, what a page of another origin can (not) do, path traversal towards another
//! upstream or another path, what crosses the proxy (no cookie either way), and the cookies' attributes.
//! (That no token reaches the browser's storage is probed in Chromium, in spa_product.rs.)

use axum::extract::Request;
use axum::http::header;
use axum::response::IntoResponse;
use hybrid_e2e::authorize::{authorize_at_op, expect_error, BffClient};
use hybrid_e2e::free_port;
use hybrid_e2e::raw_http;
use hybrid_e2e::stack::{start_bff_on, Stack, StackOptions};
use reqwest::header::{ACCESS_CONTROL_REQUEST_HEADERS, ACCESS_CONTROL_REQUEST_METHOD, ORIGIN};
use reqwest::Method;
use serde_json::{json, Value};
use shared::fragment::parse_fragment;
use shared::ResponseType;
use std::sync::{Arc, Mutex};

fn port_of(origin: &str) -> u16 {
    origin.rsplit(':').next().unwrap().parse().unwrap()
}

/// The demo API with every method allowed, so the CSRF rule (not the method allowlist) is what refuses.
const ALL_METHODS: &str =
    "[apis.demo]\nmethods = [\"GET\", \"POST\", \"PUT\", \"PATCH\", \"DELETE\"]\n";

/// A signed-in browser's own cookie jar, used the way a cross-site form or a `fetch` without the header would:
/// every state-changing `/bff` call and every `/api` call is 403 `csrf_header_missing`, with the header missing
/// or carrying another value, and nothing changed (still signed in, no upstream reached, no token requested).
#[tokio::test]
async fn a_signed_in_browser_without_the_csrf_header_changes_nothing() {
    let stack = Stack::start(StackOptions {
        bff_toml: ALL_METHODS.into(),
        ..Default::default()
    })
    .await;
    let bff = BffClient::new(&stack.origin);
    bff.log_in_at_op(&stack.redirect_uri).await;
    let calls = [
        ("POST", "/bff/login"),
        ("POST", "/bff/session"),
        ("POST", "/bff/logout"),
        ("GET", "/api/demo/hello"),
        ("POST", "/api/demo/hello"),
        ("PUT", "/api/demo/hello"),
        ("PATCH", "/api/demo/hello"),
        ("DELETE", "/api/demo/hello"),
    ];
    for value in [None, Some("0"), Some("true"), Some("11"), Some("")] {
        for (method, path) in calls {
            let mut r = bff
                .http
                .request(method.parse().unwrap(), format!("{}{path}", stack.origin))
                .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
                .body("code=c&state=s");
            if let Some(v) = value {
                r = r.header("x-csrf", v);
            }
            let body = expect_error(r.send().await.unwrap(), 403, "csrf_header_missing").await;
            assert!(body["message"].as_str().unwrap().contains("X-CSRF"));
        }
    }
    assert_eq!(bff.get("/bff/user").await.status(), 200, "still signed in");
    assert_eq!(stack.token_requests().await, 1, "only the login's exchange");
    let metrics = bff.get("/metrics").await.text().await.unwrap();
    assert!(
        !metrics.contains("upstream=\"demo\""),
        "no call reached the demo API: {metrics}"
    );
}

/// A page of another origin (another host, `null`, the same host on another port or scheme): its preflights
/// are never granted and no answer carries a CORS grant, so it can neither send the header nor read an answer;
/// and a state-changing or API call naming its origin is refused even with the header (as when something in
/// front of the BFF grants the preflight). The application's own origin passes.
#[tokio::test]
async fn a_page_of_another_origin_gets_no_cors_grant_and_cannot_change_anything() {
    let stack = Stack::start(StackOptions::default()).await;
    let bff = BffClient::new(&stack.origin);
    bff.log_in_at_op(&stack.redirect_uri).await;
    let port = port_of(&stack.origin);
    let foreign = [
        "https://evil.example".to_owned(),
        "null".to_owned(),
        "http://localhost:1".to_owned(),
        format!("https://localhost:{port}"),
        format!("http://127.0.0.1:{port}"),
    ];
    let no_cors_grant = |r: &reqwest::Response| {
        r.headers()
            .keys()
            .filter(|k| k.as_str().starts_with("access-control-"))
            .map(|k| k.to_string())
            .collect::<Vec<_>>()
    };
    for origin in &foreign {
        for path in [
            "/api/demo/hello",
            "/bff/login",
            "/bff/session",
            "/bff/logout",
            "/bff/user",
        ] {
            let preflight = bff
                .http
                .request(Method::OPTIONS, format!("{}{path}", stack.origin))
                .header(ORIGIN, origin)
                .header(ACCESS_CONTROL_REQUEST_METHOD, "POST")
                .header(ACCESS_CONTROL_REQUEST_HEADERS, "x-csrf, content-type")
                .send()
                .await
                .unwrap();
            assert!(
                preflight.status().is_client_error(),
                "{origin} OPTIONS {path}: {}",
                preflight.status()
            );
            assert_eq!(
                no_cors_grant(&preflight),
                Vec::<String>::new(),
                "{origin} {path}"
            );
        }
        let read = bff
            .http
            .get(format!("{}/bff/user", stack.origin))
            .header(ORIGIN, origin)
            .send()
            .await
            .unwrap();
        assert_eq!(
            no_cors_grant(&read),
            Vec::<String>::new(),
            "{origin}: unreadable"
        );
        for (method, path) in [
            ("POST", "/bff/login"),
            ("POST", "/bff/logout"),
            ("GET", "/api/demo/hello"),
        ] {
            let r = bff
                .http
                .request(method.parse().unwrap(), format!("{}{path}", stack.origin))
                .header("x-csrf", "1")
                .header(ORIGIN, origin)
                .send()
                .await
                .unwrap();
            assert!(no_cors_grant(&r).is_empty());
            expect_error(r, 403, "cross_origin_request").await;
        }
    }
    assert_eq!(
        bff.get("/bff/user").await.status(),
        200,
        "the forged logouts ended nothing"
    );
    for (method, path) in [("GET", "/api/demo/hello"), ("POST", "/bff/login")] {
        let r = bff
            .http
            .request(method.parse().unwrap(), format!("{}{path}", stack.origin))
            .header("x-csrf", "1")
            .header(ORIGIN, &stack.origin)
            .send()
            .await
            .unwrap();
        assert_eq!(
            r.status(),
            200,
            "the application's own origin: {method} {path}"
        );
    }
}

/// What an upstream received, as the recorder saw it.
#[derive(Debug, Clone)]
struct Received {
    path: String,
    cookie: Option<String>,
    authorization: Option<String>,
    csrf: Option<String>,
}

/// An upstream on 127.0.0.1 that records every request and answers with a cookie of its own (which must not
/// reach the browser).
async fn recording_upstream() -> (u16, Arc<Mutex<Vec<Received>>>) {
    let seen: Arc<Mutex<Vec<Received>>> = Arc::default();
    let log = seen.clone();
    let app = axum::Router::new().fallback(move |request: Request| {
        let log = log.clone();
        async move {
            let h = request.headers();
            let text = |name: header::HeaderName| {
                h.get(name)
                    .map(|v| String::from_utf8_lossy(v.as_bytes()).into_owned())
            };
            let path = request
                .uri()
                .path_and_query()
                .map_or("", |p| p.as_str())
                .to_owned();
            log.lock().unwrap().push(Received {
                path: path.clone(),
                cookie: text(header::COOKIE),
                authorization: text(header::AUTHORIZATION),
                csrf: text(header::HeaderName::from_static("x-csrf")),
            });
            (
                [(header::SET_COOKIE, "upstream=1; Path=/")],
                axum::Json(json!({ "path": path })),
            )
                .into_response()
        }
    });
    let listener = tokio::net::TcpListener::bind(("127.0.0.1", free_port()))
        .await
        .unwrap();
    let port = listener.local_addr().unwrap().port();
    tokio::spawn(async move { axum::serve(listener, app).await });
    (port, seen)
}

/// Request targets written byte for byte (no client normalises them) towards another path of the same upstream
/// or another upstream behind the same host: `..` raw, percent-encoded in either case, half-encoded, double
/// encoded, through an encoded slash, with backslashes, with a path parameter (`..;`, read as `..` by servlet
/// containers) or a NUL; and the API name itself. Each is refused with the expected JSON error, and the upstream
/// only ever sees paths under the API's base and prefix, with the bearer token and neither the browser's
/// cookies nor the CSRF header; its own cookie never reaches the browser.
#[tokio::test]
async fn path_traversal_never_leaves_the_api_base_and_no_cookie_crosses_the_proxy() {
    let (upstream, seen) = recording_upstream().await;
    let stack = Stack::start(StackOptions {
        bff_toml: format!(
            "[apis.probe]\nurl = \"http://127.0.0.1:{upstream}/base\"\npath_prefix = \"/allowed\"\n\
             [apis.other]\nurl = \"http://127.0.0.1:{upstream}/other-upstream\"\n"
        ),
        ..Default::default()
    })
    .await;
    let session = BffClient::new(&stack.origin)
        .log_in_for_cookie(&stack.redirect_uri)
        .await;

    let bad_request = [
        "/api/probe/allowed/../secret",
        "/api/probe/allowed/../../other-upstream/x",
        "/api/probe/allowed/%2e%2e/secret",
        "/api/probe/allowed/%2E%2E/secret",
        "/api/probe/allowed/.%2e/secret",
        "/api/probe/allowed/%2e%2e%2fsecret",
        "/api/probe/allowed%2f..%2fsecret",
        "/api/probe/allowed/%252e%252e/secret",
        "/api/probe/allowed/%252e%252e%252fsecret",
        "/api/probe/allowed/x%255c..%255csecret",
        "/api/probe/allowed/..%5csecret",
        "/api/probe/allowed/..\\secret",
        "/api/probe/allowed\\..\\secret",
        "/api/probe/allowed/..;/secret",
        "/api/probe/allowed/..;x=1/secret",
        "/api/probe/allowed/..%00/secret",
        "/api/probe/allowed/./../secret",
        "/api/probe/../other/x",
    ];
    let outside_prefix = ["/api/probe/secret", "/api/probe/allowedx"];
    let other_name = [
        "/api/probe%2f..%2fother/x",
        "/api/%2e%2e/other/x",
        "/api/../api/other/x",
    ];
    let refused = [
        (400, "bad_request", &bad_request[..]),
        (403, "path_not_allowed", &outside_prefix[..]),
        (404, "unknown_api", &other_name[..]),
    ];
    let head = |target: &str| {
        format!("GET {target} HTTP/1.1\r\nHost: localhost\r\nX-CSRF: 1\r\nCookie: bff-session={session}\r\n")
    };
    let port = port_of(&stack.origin);
    for (status, code, targets) in refused {
        for target in targets {
            let r = raw_http::send(port, &head(target), b"").await;
            assert_eq!(
                (r.status, r.json()["error"].as_str()),
                (status, Some(code)),
                "{target}: {}",
                String::from_utf8_lossy(&r.body)
            );
        }
    }
    // An absolute-form target naming the upstream directly is routed by its path only (no such endpoint here).
    let absolute = format!("http://127.0.0.1:{upstream}/other-upstream/x");
    let r = raw_http::send(port, &head(&absolute), b"").await;
    assert_eq!(r.status, 400, "{absolute}");
    assert!(
        seen.lock().unwrap().is_empty(),
        "{:?}",
        seen.lock().unwrap()
    );

    // What does go through stays under the base and prefix, and carries no cookie either way.
    for target in [
        "/api/probe/allowed/x?../../secret",
        "/api/probe/allowed/x%20y/..x/.y",
        "/api/probe/allowed",
        // Decoded before the prefix check, so an encoded prefix is the prefix.
        "/api/probe/%61llowed/x",
    ] {
        let r = raw_http::send(port, &head(target), b"").await;
        assert_eq!(r.status, 200, "{target}");
        assert_eq!(
            r.header("set-cookie"),
            None,
            "{target}: the upstream's cookie"
        );
    }
    let seen = seen.lock().unwrap().clone();
    assert_eq!(seen.len(), 4, "{seen:?}");
    for got in &seen {
        assert!(
            got.path == "/base/allowed" || got.path.starts_with("/base/allowed/"),
            "{got:?}"
        );
        assert_eq!(
            (got.cookie.as_deref(), got.csrf.as_deref()),
            (None, None),
            "{got:?}"
        );
        assert!(
            got.authorization
                .as_deref()
                .is_some_and(|a| a.starts_with("Bearer ")),
            "{got:?}"
        );
    }
}

/// One `Set-Cookie`: its name, value and attributes (lower-cased).
fn parse_set_cookie(line: &str) -> (String, String, Vec<String>) {
    let mut parts = line.split(';').map(str::trim);
    let (name, value) = parts.next().unwrap().split_once('=').unwrap();
    // Attribute names and these attributes' values are case-insensitive (RFC 6265 5.2).
    let attributes = parts.map(str::to_ascii_lowercase).collect();
    (name.to_owned(), value.to_owned(), attributes)
}

/// Asserts the cookie attributes every BFF cookie must have: `HttpOnly`, `SameSite=Strict`, `Path=/`, no
/// `Domain` (host-only), `Secure` exactly when `secure`; answers `(name, value, max_age)` of each cookie set.
fn bff_cookies(r: &reqwest::Response, secure: bool) -> Vec<(String, String, i64)> {
    r.headers()
        .get_all(header::SET_COOKIE)
        .iter()
        .map(|v| {
            let line = v.to_str().unwrap();
            let (name, value, attributes) = parse_set_cookie(line);
            let mut expected = vec!["path=/", "httponly", "samesite=strict"];
            if secure {
                expected.push("secure");
            }
            let mut rest: Vec<&str> = attributes
                .iter()
                .map(String::as_str)
                .filter(|a| !a.starts_with("max-age="))
                .collect();
            rest.sort_unstable();
            expected.sort_unstable();
            assert_eq!(rest, expected, "{line}");
            let max_age = attributes
                .iter()
                .find_map(|a| a.strip_prefix("max-age="))
                .unwrap_or_else(|| panic!("no Max-Age: {line}"))
                .parse()
                .unwrap();
            (name, value, max_age)
        })
        .collect()
}

/// The cookies' attributes on every answer that sets or clears one, on plain-http localhost (development: no
/// `Secure`, no `__Host-` prefix, which a browser would refuse over http) and with an https public origin
/// (`__Host-` names and `Secure`): host-only, HttpOnly, SameSite=Strict, Path=/.
#[tokio::test]
async fn cookies_are_host_only_httponly_strict_and_secure_with_https() {
    let stack = Stack::start(StackOptions::default()).await;
    let bff = BffClient::new(&stack.origin);
    let login = bff.post("/bff/login", None).await;
    let started: shared::api::LoginStarted = {
        let set = bff_cookies(&login, false);
        assert_eq!(set.len(), 1);
        assert_eq!(set[0].0, "bff-login");
        assert!(set[0].2 > 0);
        login.json().await.unwrap()
    };
    let fragment = authorize_at_op(&started.authorization_url, &stack.redirect_uri).await;
    let response = serde_json::to_value(parse_fragment(&fragment).unwrap()).unwrap();
    let created = bff.post("/bff/session", Some(&response)).await;
    let set = bff_cookies(&created, false);
    let names: Vec<(&str, bool)> = set
        .iter()
        .map(|(n, _, age)| (n.as_str(), *age > 0))
        .collect();
    assert_eq!(names, [("bff-login", false), ("bff-session", true)]);
    let out = bff.post("/bff/logout", None).await;
    let set = bff_cookies(&out, false);
    assert_eq!((set[0].0.as_str(), set[0].2), ("bff-session", 0));

    // An https public origin (TLS ends in front of the BFF): the same flow, by hand, as a browser sends
    // `Secure` cookies only over https.
    let port = free_port();
    let https = start_bff_on(
        port,
        &stack.issuer,
        ResponseType::CodeIdToken,
        &format!(
            "public_origin = \"https://localhost:{port}\"\n[oidc]\nredirect_uri = \"{}\"\n",
            stack.redirect_uri
        ),
    )
    .await;
    let plain = reqwest::Client::new();
    let login = plain
        .post(format!("http://127.0.0.1:{port}/bff/login"))
        .header("x-csrf", "1")
        .send()
        .await
        .unwrap();
    let set = bff_cookies(&login, true);
    assert_eq!(set[0].0, "__Host-bff-login");
    let login_cookie = format!("__Host-bff-login={}", set[0].1);
    let started: shared::api::LoginStarted = login.json().await.unwrap();
    let fragment = authorize_at_op(&started.authorization_url, &stack.redirect_uri).await;
    let response: Value = serde_json::to_value(parse_fragment(&fragment).unwrap()).unwrap();
    let created = plain
        .post(format!("http://127.0.0.1:{port}/bff/session"))
        .header("x-csrf", "1")
        .header(header::COOKIE, login_cookie)
        .json(&response)
        .send()
        .await
        .unwrap();
    assert_eq!(created.status(), 200);
    let set = bff_cookies(&created, true);
    let names: Vec<(&str, bool)> = set
        .iter()
        .map(|(n, _, age)| (n.as_str(), *age > 0))
        .collect();
    assert_eq!(
        names,
        [("__Host-bff-login", false), ("__Host-bff-session", true)]
    );
    drop(https);
}
