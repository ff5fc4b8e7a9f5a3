//! Single-binary deployment: the BFF serving the built SPA (`static_dir`) with the same cache rules as the
//! shipped nginx config, so a deploy is seen at once and hashed assets are fetched once.

use hybrid_e2e::stack::{Stack, StackOptions};

#[tokio::test]
async fn the_spa_is_served_with_cache_rules_and_its_routes_fall_back_to_index() {
    let stack = Stack::start(StackOptions {
        serve_spa: true,
        ..Default::default()
    })
    .await;
    let http = reqwest::Client::new();
    let get = |path: &str| http.get(format!("{}{path}", stack.origin)).send();

    let index = get("/").await.unwrap();
    assert_eq!(index.status(), 200);
    assert_eq!(index.headers()["cache-control"], "no-cache");
    let html = index.text().await.unwrap();

    // Every asset index.html names: fingerprinted ones immutable, the rest revalidated; wasm with its type.
    let assets: Vec<&str> = html
        .split(['"', '\''])
        .filter(|s| s.starts_with('/') && (s.ends_with(".js") || s.ends_with(".wasm")))
        .collect();
    assert!(assets.iter().any(|a| a.ends_with("_bg.wasm")), "{html}");
    for asset in assets {
        let r = get(asset).await.unwrap();
        assert_eq!(r.status(), 200, "{asset}");
        let expected = if asset.contains("hybrid-frontend-") {
            "public, max-age=31536000, immutable"
        } else {
            "no-cache"
        };
        assert_eq!(r.headers()["cache-control"], expected, "{asset}");
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
