//! Single-binary deployment: the BFF serving the built SPA (`static_dir`) with the same cache rules and security
//! headers as the shipped nginx config, so a deploy is seen at once, hashed assets are fetched once, and the
//! page cannot be framed or run foreign scripts; its metrics are not on the public port.

use hybrid_e2e::browser::Browser;
use hybrid_e2e::nginx::csp_hashes;
use hybrid_e2e::stack::{Stack, StackOptions};
use hybrid_e2e::{free_port, repo_root};

/// The stack with its BFF serving the built SPA as well, configured further by `bff_toml`: the deployment every
/// test here is about.
async fn single_binary(bff_toml: &str) -> Stack {
    Stack::start(StackOptions {
        serve_spa: true,
        bff_toml: bff_toml.to_owned(),
        ..Default::default()
    })
    .await
}

#[tokio::test]
async fn the_spa_is_served_with_cache_rules_and_its_routes_fall_back_to_index() {
    let stack = single_binary("").await;
    let http = reqwest::Client::new();
    let get = |path: &str| http.get(format!("{}{path}", stack.origin)).send();

    let index = get("/").await.unwrap();
    assert_eq!(index.status(), 200);
    assert_eq!(index.headers()["cache-control"], "no-cache");
    let html = index.text().await.unwrap();

    // Every asset index.html names is fingerprinted, the loader too (dev/toolchain/fingerprint.mjs), so all are
    // immutable: a browser back from the OP revalidates index.html alone. Wasm with its type.
    let assets: Vec<&str> = html
        .split(['"', '\''])
        .filter(|s| s.starts_with('/') && (s.ends_with(".js") || s.ends_with(".wasm")))
        .collect();
    assert!(assets.iter().any(|a| a.ends_with("_bg.wasm")), "{html}");
    assert!(assets.iter().any(|a| a.starts_with("/boot-")), "{html}");
    for asset in assets {
        let r = get(asset).await.unwrap();
        assert_eq!(r.status(), 200, "{asset}");
        assert_eq!(
            r.headers()["cache-control"],
            "public, max-age=31536000, immutable",
            "{asset}"
        );
        if asset.ends_with(".wasm") {
            assert_eq!(r.headers()["content-type"], "application/wasm");
        }
    }

    // The SPA's own routes (a deep link, the callback) are index.html, never cached as if immutable.
    for route in ["/callback", "/somewhere/deep?x=1"] {
        let r = get(route).await.unwrap();
        assert_eq!(r.status(), 200, "{route}");
        assert_eq!(r.headers()["cache-control"], "no-cache", "{route}");
        assert_eq!(r.text().await.unwrap(), html, "{route}");
    }
    // The BFF's own routes are not shadowed by the files.
    assert_eq!(get("/bff/user").await.unwrap().status(), 401);
}

/// The release build's precompressed copies, as raw HTTP sees them: brotli when the browser accepts it, else
/// gzip, else the plain file; always the original's Content-Type (`application/wasm` keeps
/// `instantiateStreaming` usable) and `Vary: Accept-Encoding`, so no shared cache hands brotli to a browser
/// that did not ask for it. The bodies are the built files byte for byte: nothing is compressed per request.
#[tokio::test]
async fn the_spa_files_are_sent_precompressed_as_the_browser_accepts() {
    let stack = single_binary("").await;
    let dist = repo_root().join("dist");
    let wasm = std::fs::read_dir(&dist)
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .find(|name| name.ends_with("_bg.wasm"))
        .expect("a release build in dist/");
    let http = reqwest::Client::new();
    for (path, file, content_type) in [
        (format!("/{wasm}"), wasm.clone(), "application/wasm"),
        ("/".to_owned(), "index.html".to_owned(), "text/html"),
    ] {
        for (accept, encoding, suffix) in [
            (Some("gzip, deflate, br, zstd"), Some("br"), ".br"),
            (Some("gzip"), Some("gzip"), ".gz"),
            (None, None, ""),
        ] {
            let mut request = http.get(format!("{}{path}", stack.origin));
            if let Some(accept) = accept {
                request = request.header("accept-encoding", accept);
            }
            let r = request.send().await.unwrap();
            assert_eq!(r.status(), 200, "{path} {accept:?}");
            let h = r.headers();
            assert_eq!(
                h.get("content-encoding").map(|v| v.to_str().unwrap()),
                encoding,
                "{path} {accept:?}"
            );
            assert!(
                h["content-type"]
                    .to_str()
                    .unwrap()
                    .starts_with(content_type),
                "{path} {accept:?}: {:?}",
                h["content-type"]
            );
            assert_eq!(
                h["vary"].to_str().unwrap().to_ascii_lowercase(),
                "accept-encoding",
                "{path} {accept:?}"
            );
            let expected = std::fs::read(dist.join(format!("{file}{suffix}"))).unwrap();
            assert!(
                r.bytes().await.unwrap() == expected,
                "{path} {accept:?}: the body is {file}{suffix} as built"
            );
        }
    }
}

/// The login in Chromium under the BFF's own security headers (the nginx snippet's, filled for this
/// deployment): the SPA starts, shows the user, and the browser reports no CSP violation; `/metrics` is not on
/// the port browsers reach.
#[tokio::test]
async fn the_spa_runs_under_the_nginx_security_headers_and_metrics_stay_off_the_public_port() {
    let stack = single_binary("").await;
    let http = reqwest::Client::new();
    let get = |path: &str| http.get(format!("{}{path}", stack.origin)).send();
    let op_origin = stack.op_origin();
    // The hashes the nginx deployment's script computes for the same build: one source, no drift.
    let index = repo_root().join("dist/index.html").display().to_string();
    let style_hashes = csp_hashes(&["--style", &index]);
    let script_hashes = csp_hashes(&[&index]);

    for path in ["/", "/callback", "/index.html"] {
        let r = get(path).await.unwrap();
        assert_eq!(r.status(), 200, "{path}");
        let h = r.headers();
        let csp = h["content-security-policy"].to_str().unwrap();
        for part in [
            "default-src 'self'".to_owned(),
            format!("script-src 'self' 'wasm-unsafe-eval' {script_hashes}")
                .trim_end()
                .to_owned(),
            format!("style-src 'self' {style_hashes}"),
            format!("connect-src 'self' {op_origin}"),
            "object-src 'none'".to_owned(),
            "base-uri 'none'".to_owned(),
            "frame-ancestors 'none'".to_owned(),
        ] {
            assert!(csp.contains(&part), "{path}: CSP has `{part}`: {csp}");
        }
        assert!(!csp.contains("unsafe-inline"), "{csp}");
        assert!(!csp.contains('$'), "every nginx variable filled: {csp}");
        assert_eq!(h["x-content-type-options"], "nosniff", "{path}");
        assert_eq!(h["referrer-policy"], "no-referrer", "{path}");
        assert_eq!(h["x-frame-options"], "DENY", "{path}");
        assert_eq!(h["cross-origin-opener-policy"], "same-origin", "{path}");
    }
    // The BFF's JSON answers get nosniff and Referrer-Policy too.
    let r = get("/bff/user").await.unwrap();
    assert_eq!(r.status(), 401);
    assert_eq!(r.headers()["x-content-type-options"], "nosniff");
    assert_eq!(r.headers()["referrer-policy"], "no-referrer");
    // No metrics_listen: in single-binary mode /metrics is nowhere, a JSON 404 rather than the SPA's page.
    let r = get("/metrics").await.unwrap();
    assert_eq!(r.status(), 404);
    let body: serde_json::Value = r.json().await.unwrap();
    assert_eq!(body["error"], "not_found", "{body}");

    let browser = Browser::signed_in(&stack.origin).await;
    assert_eq!(browser.text_of("user-name").await, "Alice Example");
    // The inline <style> ran under the CSP's style hash: the page has its own background, not the default.
    let background = browser
        .eval("return getComputedStyle(document.body).backgroundColor;")
        .await;
    assert!(
        ["rgb(243, 245, 249)", "rgb(20, 23, 29)"].contains(&background.as_str().unwrap()),
        "the inline style applies: {background}"
    );
    // Everything the CSP blocked in this document since it loaded (reports are buffered for late observers).
    let violations = browser
        .client
        .execute_async(
            "const done = arguments[arguments.length - 1];\
             const seen = [];\
             const keep = (reports) => reports.forEach((r) =>\
               seen.push(r.body.effectiveDirective + ' ' + r.body.blockedURL));\
             const observer = new ReportingObserver(keep, {types: ['csp-violation'], buffered: true});\
             observer.observe();\
             setTimeout(() => { keep(observer.takeRecords()); done(seen); }, 200);",
            vec![],
        )
        .await
        .expect("the reporting script runs");
    assert_eq!(violations, serde_json::json!([]), "CSP violations");
    browser.close().await;
}

/// `metrics_listen` set: metrics (and health) on their own port, and `/metrics` gone from the public one.
#[tokio::test]
async fn metrics_are_served_only_on_their_own_listener() {
    let metrics_port = free_port();
    let stack = single_binary(&format!("metrics_listen = \"127.0.0.1:{metrics_port}\"\n")).await;
    let http = reqwest::Client::new();
    let ops = |path: &str| {
        http.get(format!("http://127.0.0.1:{metrics_port}{path}"))
            .send()
    };
    let public = |path: &str| http.get(format!("{}{path}", stack.origin)).send();

    let r = ops("/metrics").await.unwrap();
    assert_eq!(r.status(), 200);
    assert!(r.headers()["content-type"]
        .to_str()
        .unwrap()
        .starts_with("text/plain"));
    assert!(r
        .text()
        .await
        .unwrap()
        .contains("# TYPE bff_logins_total counter"));
    assert_eq!(ops("/readyz").await.unwrap().status(), 200);
    assert_eq!(ops("/healthz").await.unwrap().status(), 200);
    // The operational port serves nothing else: no BFF endpoints, no SPA.
    for path in ["/bff/user", "/", "/index.html"] {
        let r = ops(path).await.unwrap();
        assert_eq!(r.status(), 404, "{path}");
        let body: serde_json::Value = r.json().await.unwrap();
        assert_eq!(body["error"], "not_found", "{path}: {body}");
    }

    let r = public("/metrics").await.unwrap();
    assert_eq!(r.status(), 404);
    let body: serde_json::Value = r.json().await.unwrap();
    assert_eq!(body["error"], "not_found", "{body}");
    // Health stays on the public port too (load balancers probe it there).
    assert_eq!(public("/readyz").await.unwrap().status(), 200);
}
