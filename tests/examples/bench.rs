//! Benchmark driver for `scripts/bench` (never a test; CI only compiles it). One subcommand per benchmark, each
//! bounded in count and time, everything on 127.0.0.1. Results are printed as `BENCH <key> <value>` lines, which
//! the script collects into BENCHMARKS.md.
//!
//! - `identity N HELLO_DIST`: N logins in headless Chromium against the real stack (dev OP, BFF serving the
//!   release SPA), reading the SPA's Performance marks; N loads of the Leptos hello world of each kind in the
//!   same browser, alternating with them (directly, from a page of the OP's site, and through the OP's redirect
//!   as the SPA's callback is: a real authorization request whose redirect URI is the hello world's);
//!   then the same again in a browser with an emulated network (CDP: 40 ms, 10 Mbit/s down, 5 up, no cache),
//!   and once more on that network with the HTTP cache on (as a person's browser returns from the OP).
//!   The last login's boot waterfall of each round (resources, paints, marks) goes to stderr.
//! - `proxy SECONDS`: `wrk` at 1/16/64 connections against a trivial upstream (nginx `return 200`), direct,
//!   through nginx and through the deployable BFF binary as its own process (`target/release/hybrid-bff CONFIG`,
//!   memory store and Redis store, with a real session from a login at the dev OP). With `BENCH_PERF_DATA=FILE`,
//!   then a `perf record` of the memory-store BFF under the 64-connection load.
//! - `proxy-ab SECONDS ROUNDS NAME=BINARY[:ENV=VALUE,...]...`: `scripts/bench-proxy-ab`'s measure (CPU time of
//!   the process under test per proxied call, user and kernel, nginx and the binaries alternating cell by cell,
//!   medians of ROUNDS), but each binary with a real session from a login at the dev OP and the token added, as
//!   users call APIs. Run by `scripts/bench-proxy-ab -l`.
//! - `memory N [ID_TOKEN_LEN ACCESS_TOKEN_LEN]`: RSS growth per session over N sessions put into the memory
//!   store, with token-sized strings.
//! - `validate N`: native ID token validation (signature + every claim rule), as the BFF does it.
//! - `logins N CONCURRENCY`: completed logins per second through the deployable BFF binary as its own process
//!   (`POST /bff/session`: checks, code exchange, token validation, userinfo, session) against the dev OP's own
//!   rate for the same two requests made directly with the client secret; both with CONCURRENCY requests in
//!   flight; CPU per login of the OP, the BFF and the driver.
//! - `sign N`: the BFF's own signatures, each in a loop on one core: a DPoP proof, and a `private_key_jwt`
//!   client assertion with a P-256 key (ES256) and an RSA-2048 key (RS256, PS256).
//! - `fapi SECONDS LOGINS CONCURRENCY`: what issue 17's options cost. What `sign` measures; `wrk` at
//!   1/16/64 connections through two BFF binaries alike but for DPoP (Bearer, and `oidc.dpop = "required"` with
//!   the API marked `dpop = true`: one proof per call); and LOGINS logins per second through the deployable BFF
//!   binary as its own process with the client secret and no PAR, with PAR, and with PAR + private_key_jwt +
//!   DPoP (login starts and sessions timed apart; CPU per login of the OP, the BFF and the driver). With
//!   `BENCH_FAPI_PERF_DATA=FILE`, a `perf record` of the DPoP BFF under the 64-connection load as well.

use hybrid_e2e::authorize::{authorize_at_op, BffClient};
use hybrid_e2e::bff_process::BffProcess;
use hybrid_e2e::browser::Browser;
use hybrid_e2e::redis_server::RedisServer;
use hybrid_e2e::stack::{bff_config_toml, Process, Stack, StackOptions};
use hybrid_e2e::{free_port, repo_root, wait_for};
use std::path::PathBuf;
use std::process::Command;
use std::time::{Duration, Instant};

/// The deployable binary's allocator (bff/src/main.rs), for the BFF code this process runs itself: the memory
/// store of `memory` (its RSS per session depends on the allocator), `validate`, `sign`, and the stack's BFF that
/// serves the SPA in `identity`. Every login and proxy benchmark runs the binary as its own process.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

#[tokio::main]
async fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let arg = |i: usize, default: &str| args.get(i).cloned().unwrap_or_else(|| default.into());
    match arg(0, "").as_str() {
        "identity" => identity(arg(1, "20").parse().unwrap(), PathBuf::from(arg(2, ""))).await,
        "proxy" => proxy(arg(1, "5").parse().unwrap()).await,
        "proxy-ab" => {
            proxy_ab(
                arg(1, "3").parse().unwrap(),
                arg(2, "3").parse().unwrap(),
                &args[3.min(args.len())..],
            )
            .await
        }
        "memory" => {
            let sizes = (
                arg(2, "1000").parse().unwrap(),
                arg(3, "900").parse().unwrap(),
            );
            memory(arg(1, "100000").parse().unwrap(), sizes).await
        }
        "validate" => validate(arg(1, "2000").parse().unwrap()).await,
        "logins" => logins(arg(1, "200").parse().unwrap(), arg(2, "8").parse().unwrap()).await,
        "sign" => sign(arg(1, "20000").parse().unwrap()),
        "fapi" => {
            fapi(
                arg(1, "5").parse().unwrap(),
                arg(2, "100").parse().unwrap(),
                arg(3, "8").parse().unwrap(),
            )
            .await
        }
        other => {
            panic!(
                "unknown benchmark {other:?}: identity | proxy | proxy-ab | memory | validate | logins | sign | fapi"
            )
        }
    }
}

fn report(key: &str, value: impl std::fmt::Display) {
    println!("BENCH {key} {value}");
}

/// Prints `<key>.n/median/p90/min/max` of `samples` (milliseconds).
fn report_ms(key: &str, mut samples: Vec<f64>) {
    samples.sort_by(f64::total_cmp);
    let pick = |q: f64| samples[((samples.len() - 1) as f64 * q).round() as usize];
    report(&format!("{key}.n"), samples.len());
    report(&format!("{key}.median"), format!("{:.1}", pick(0.5)));
    report(&format!("{key}.p90"), format!("{:.1}", pick(0.9)));
    report(&format!("{key}.min"), format!("{:.1}", pick(0.0)));
    report(&format!("{key}.max"), format!("{:.1}", pick(1.0)));
}

// ---------------------------------------------------------------------------------------------------------
// Time to identity
// ---------------------------------------------------------------------------------------------------------

/// Serves the hello world's `dist/` on localhost exactly as the BFF serves the SPA (`bff::spa::router`: the same
/// precompressed copies, MIME types and cache headers), so the two differ only in what they load.
async fn serve_dir(dir: PathBuf) -> u16 {
    let port = free_port();
    let app: axum::Router = bff::spa::router(&dir);
    let listener = tokio::net::TcpListener::bind(("127.0.0.1", port))
        .await
        .unwrap();
    tokio::spawn(async move { axum::serve(listener, app).await });
    port
}

async fn mark(browser: &Browser, name: &str) -> f64 {
    let script = format!("return (performance.getEntriesByName('{name}')[0] || {{}}).startTime;");
    wait_for(name, Duration::from_secs(30), || async {
        browser.eval(&script).await.as_f64()
    })
    .await
}

/// From navigation start: when the page's own request began (`fetchStart`, after any redirect from the OP), when
/// its wasm had arrived (the resource entry's `responseEnd`), when its `main` began (`spa-started`: the wasm
/// compiled and instantiated), when the frame showing the user had been painted (`identity-painted`), and the
/// first contentful paint. -1 for what a page does not have.
async fn load_timing(browser: &Browser) -> [f64; 5] {
    let script = "const n = performance.getEntriesByType('navigation')[0];\
                  const w = performance.getEntriesByType('resource').find(e => e.name.endsWith('.wasm'));\
                  const at = name => (performance.getEntriesByName(name)[0] || {startTime: -1}).startTime;\
                  return [n.fetchStart, w ? w.responseEnd : -1, at('spa-started'), at('identity-painted'),\
                          at('first-contentful-paint')];";
    let v = browser.eval(script).await;
    let at = |i: usize| v.get(i).and_then(|x| x.as_f64()).unwrap_or(-1.0);
    [at(0), at(1), at(2), at(3), at(4)]
}

/// Prints the last login's boot waterfall to stderr (each resource's start, first byte and end, and the page's
/// marks, from navigation start), to see what waits on what; not part of the report. Names without their
/// fragment: a callback's holds the code and the ID token.
async fn waterfall(prefix: &str, browser: &Browser) {
    let script = "return performance.getEntries()\
                  .map(e => [e.entryType, e.name.split('#')[0].split('/').pop().slice(0, 40), e.startTime,\
                             e.responseStart || 0, e.responseEnd || 0, e.transferSize || 0]);";
    let rows = browser.eval(script).await;
    for row in rows.as_array().into_iter().flatten() {
        let at = |i: usize| row.get(i).and_then(|x| x.as_f64()).unwrap_or(0.0);
        let text = |i: usize| row.get(i).and_then(|x| x.as_str()).unwrap_or("");
        eprintln!(
            "waterfall {prefix} {:<10} {:<42} start {:7.1} first byte {:7.1} end {:7.1} bytes {}",
            text(0),
            text(1),
            at(2),
            at(3),
            at(4),
            at(5)
        );
    }
}

/// A Chrome DevTools Protocol command through chromedriver's `goog/cdp/execute` endpoint.
#[derive(Debug)]
struct Cdp(&'static str, serde_json::Value);

impl fantoccini::wd::WebDriverCompatibleCommand for Cdp {
    fn endpoint(
        &self,
        base: &url::Url,
        session: Option<&str>,
    ) -> Result<url::Url, url::ParseError> {
        base.join(&format!(
            "session/{}/goog/cdp/execute",
            session.unwrap_or("")
        ))
    }

    fn method_and_body(&self, _: &url::Url) -> (axum::http::Method, Option<String>) {
        let body = serde_json::json!({ "cmd": self.0, "params": self.1 });
        (axum::http::Method::POST, Some(body.to_string()))
    }
}

/// The emulated network of the later identity rounds: 40 ms latency, 10 Mbit/s down, 5 up; the HTTP cache off
/// (`cache = false`: every load downloads the whole bundle, issue 14's measure) or on (what a person's browser
/// does: the SPA that started the sign-in was loaded moments before the OP's redirect back).
async fn emulate_network(browser: &Browser, cache: bool) {
    let commands = [
        Cdp("Network.enable", serde_json::json!({})),
        Cdp(
            "Network.emulateNetworkConditions",
            serde_json::json!({ "offline": false, "latency": 40,
                "downloadThroughput": 10_000_000 / 8, "uploadThroughput": 5_000_000 / 8 }),
        ),
        Cdp(
            "Network.setCacheDisabled",
            serde_json::json!({ "cacheDisabled": !cache }),
        ),
    ];
    for command in commands {
        let name = command.0;
        browser
            .client
            .issue_cmd(command)
            .await
            .unwrap_or_else(|e| panic!("CDP {name}: {e}"));
    }
}

async fn identity(n: usize, hello_dist: PathBuf) {
    let hello_port = serve_dir(hello_dist).await;
    let hello = format!("http://localhost:{hello_port}/");
    // The hello world's own callback route (index.html, as the SPA's `/callback`), which the dev OP's client must
    // accept as a redirect URI for the hello world reached through the OP's redirect: for this benchmark only.
    let hello_callback = format!("http://localhost:{hello_port}/callback");
    let stack = Stack::start(StackOptions {
        serve_spa: true,
        op_extra_redirect_uris: vec![hello_callback.clone()],
        ..Default::default()
    })
    .await;
    let via_op = HelloViaOp {
        authorization_endpoint: op_endpoint(&stack.issuer, "authorization_endpoint").await,
        redirect_uri: hello_callback,
    };
    via_op.assert_like_the_spas(&stack).await;
    let rounds = [
        ("identity", None),
        ("identity_net", Some(false)),
        ("identity_net_cached", Some(true)),
    ];
    for (prefix, emulated_with_cache) in rounds {
        let browser = Browser::start().await;
        if let Some(cache) = emulated_with_cache {
            emulate_network(&browser, cache).await;
        }
        identity_round(prefix, n, &stack, &hello, &via_op, &browser).await;
        browser.close().await;
    }
}

/// The hello world reached through the dev OP's redirect, as the SPA's callback page is: a real authorization
/// request at the OP with the parameters the stack's BFF sends for the SPA (client `hybrid-spa`,
/// `response_type=code id_token`, `response_mode=fragment`, the same scopes and resource, a fresh state, nonce and
/// PKCE challenge), but whose redirect URI is the hello world's `/callback`. The code is never redeemed.
struct HelloViaOp {
    authorization_endpoint: String,
    redirect_uri: String,
}

impl HelloViaOp {
    fn authorization_url(&self) -> String {
        let mut url =
            url::Url::parse(&self.authorization_endpoint).expect("an authorization endpoint URL");
        let verifier = bff::session::random_token();
        url.query_pairs_mut().extend_pairs([
            ("response_type", "code id_token".to_owned()),
            ("response_mode", "fragment".to_owned()),
            ("client_id", "hybrid-spa".to_owned()),
            ("redirect_uri", self.redirect_uri.clone()),
            (
                "scope",
                "openid profile email offline_access api:read".to_owned(),
            ),
            ("state", bff::session::random_token()),
            ("nonce", bff::session::random_token()),
            ("code_challenge", shared::pkce::s256_challenge(&verifier)),
            ("code_challenge_method", "S256".to_owned()),
            ("resource", "urn:demo-api".to_owned()),
        ]);
        url.into()
    }

    /// Panics unless the request has the parameters of the SPA's, with the same values but for the redirect URI and
    /// the fresh ones (state, nonce, challenge).
    async fn assert_like_the_spas(&self, stack: &Stack) {
        let spa = BffClient::new(&stack.origin)
            .start_login()
            .await
            .authorization_url;
        let params = |url: &str| {
            let mut pairs: Vec<(String, String)> = url::Url::parse(url)
                .expect("an authorization URL")
                .query_pairs()
                .map(|(k, v)| match k.as_ref() {
                    "redirect_uri" | "state" | "nonce" | "code_challenge" => {
                        (k.into_owned(), String::new())
                    }
                    _ => (k.into_owned(), v.into_owned()),
                })
                .collect();
            pairs.sort();
            pairs
        };
        assert_eq!(
            params(&self.authorization_url()),
            params(&spa),
            "the hello world's authorization request is the SPA's"
        );
    }

    /// From the hello world's own page, the page navigates itself (as the SPA's Log in does) to a fresh
    /// authorization request; the OP answers with its redirect back (`/callback#code=…&id_token=…&state=…`).
    /// Answers that page's `hello-mounted`, from its navigation start, which holds the OP's request and redirect
    /// as the SPA's does. On a fresh OP's first sign-in (the warm-up) it presses Allow on the consent page.
    async fn mounted(&self, browser: &Browser) -> f64 {
        let go = format!(
            "setTimeout(() => location.assign({}), 0);",
            serde_json::Value::from(self.authorization_url())
        );
        browser.eval(&go).await;
        // The mark once the page is the hello world's callback with a code; the OP's error if it sent one back;
        // else where the browser is.
        let script = "if (location.pathname === '/callback' && location.hash.includes('error=')) \
                          return 'error: ' + location.hash;\
                      if (location.pathname !== '/callback' || !location.hash.includes('code=')) \
                          return location.pathname;\
                      const m = performance.getEntriesByName('hello-mounted')[0];\
                      return m ? m.startTime : null;";
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            // A script may fail while the navigation commits: asked again.
            let at = browser.client.execute(script, vec![]).await;
            match at {
                Ok(serde_json::Value::Number(at)) => return at.as_f64().expect("a time"),
                Ok(v) if v.as_str().is_some_and(|p| p.starts_with("/interaction")) => {
                    browser.approve_consent_if_shown().await;
                }
                Ok(v) if v.as_str().is_some_and(|p| p.starts_with("error")) => {
                    panic!("the OP refused the hello world's authorization request: {v}")
                }
                _ => {}
            }
            assert!(
                Instant::now() < deadline,
                "the hello world through the OP's redirect was not mounted within 30 s"
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }
}

/// One series: N logins and N hello world loads of each kind in one browser, alternating, after one warm-up of
/// each.
async fn identity_round(
    prefix: &str,
    n: usize,
    stack: &Stack,
    hello: &str,
    via_op: &HelloViaOp,
    browser: &Browser,
) {
    let deadline = Instant::now() + Duration::from_secs(300);
    let (mut shown, mut session, mut verified, mut mounted) = (vec![], vec![], vec![], vec![]);
    let (mut parsed, mut fetch, mut wasm, mut hello_wasm) = (vec![], vec![], vec![], vec![]);
    let (mut started, mut shown_painted, mut contentful) = (vec![], vec![], vec![]);
    let (mut mounted_cross_site, mut mounted_via_op) = (vec![], vec![]);
    // A page of another site (the OP's origin, 127.0.0.1, where the SPA is at localhost), to load the hello world
    // from as the SPA is loaded on the OP's redirect back: a navigation across sites, which Chromium's site
    // isolation commits in another renderer process than a same-site one.
    let other_site = format!("{}/.well-known/openid-configuration", stack.issuer);
    for i in 0..=n {
        if Instant::now() > deadline {
            eprintln!("{prefix}: time bound reached after {i} logins");
            break;
        }
        browser.client.goto(hello).await.expect("hello loads");
        let m = mark(browser, "hello-mounted").await;
        let hw = load_timing(browser).await[1];
        if i == n {
            waterfall(&format!("{prefix}.hello"), browser).await;
        }
        browser
            .client
            .goto(&other_site)
            .await
            .expect("OP page loads");
        browser.client.goto(hello).await.expect("hello loads");
        let mc = mark(browser, "hello-mounted").await;
        if i == n {
            waterfall(&format!("{prefix}.hello_cross_site"), browser).await;
        }

        browser.client.delete_all_cookies().await.expect("cookies");
        // Through the OP's redirect, right before the login whose callback it is compared with, so both meet the
        // OP in the same state (its session cookie, on the OP's own site, outlives the deletion above).
        // The page is the hello world (loaded from the OP's page above), whose origin the deletion concerned.
        let mo = via_op.mounted(browser).await;
        if i == n {
            waterfall(&format!("{prefix}.hello_via_op"), browser).await;
        }

        browser.client.goto(&stack.origin).await.expect("SPA loads");
        browser.wait_session_state("none").await;
        browser.click("login").await;
        browser.wait_session_state("active").await;
        let s = mark(browser, "identity-shown").await;
        let e = mark(browser, "session-established").await;
        let v = mark(browser, "id-token-verified").await;
        let f = mark(browser, "fragment-parsed").await;
        let [fs, w, st, painted, fcp] = load_timing(browser).await;
        if i == n {
            waterfall(prefix, browser).await;
        }
        if i > 0 {
            mounted.push(m);
            mounted_cross_site.push(mc);
            mounted_via_op.push(mo);
            shown.push(s);
            session.push(e);
            verified.push(v);
            parsed.push(f);
            fetch.push(fs);
            wasm.push(w);
            for (samples, at) in [
                (&mut started, st),
                (&mut shown_painted, painted),
                (&mut contentful, fcp),
            ] {
                if at >= 0.0 {
                    samples.push(at);
                }
            }
            hello_wasm.push(hw);
        }
    }
    let key = |name: &str| format!("{prefix}.{name}");
    report_ms(&key("hello_mount"), mounted);
    report_ms(&key("hello_mount_cross_site"), mounted_cross_site);
    report_ms(&key("hello_mount_via_op"), mounted_via_op);
    report_ms(&key("hello_wasm_loaded"), hello_wasm);
    let in_browser: Vec<f64> = verified.iter().zip(&parsed).map(|(v, f)| v - f).collect();
    report_ms(&key("browser_validation"), in_browser);
    report_ms(&key("fetch_start"), fetch);
    report_ms(&key("wasm_loaded"), wasm);
    if !started.is_empty() {
        report_ms(&key("spa_started"), started);
    }
    report_ms(&key("fragment_parsed"), parsed);
    report_ms(&key("id_token_verified"), verified);
    report_ms(&key("identity_shown"), shown);
    if !shown_painted.is_empty() {
        report_ms(&key("identity_painted"), shown_painted);
    }
    if !contentful.is_empty() {
        report_ms(&key("first_contentful_paint"), contentful);
    }
    report_ms(&key("session_established"), session);
}

// ---------------------------------------------------------------------------------------------------------
// Proxy
// ---------------------------------------------------------------------------------------------------------

/// The length of the last access token the probe upstream was called with.
static ACCESS_TOKEN_LEN: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);

/// An upstream that records the length of the access token it is called with (one call, before the runs: the
/// token's size feeds the memory benchmark; the measured upstream is nginx and cannot tell it).
async fn probe_upstream() -> u16 {
    let port = free_port();
    let app = axum::Router::new().fallback(|headers: axum::http::HeaderMap| async move {
        if let Some(auth) = headers.get("authorization") {
            let len = auth.len().saturating_sub("Bearer ".len());
            ACCESS_TOKEN_LEN.store(len, std::sync::atomic::Ordering::Relaxed);
        }
        axum::Json(serde_json::json!({"ok": true}))
    });
    serve_locally(port, app).await;
    port
}

/// Serves `app` on 127.0.0.1:`port` in the background.
async fn serve_locally(port: u16, app: axum::Router) {
    let listener = tokio::net::TcpListener::bind(("127.0.0.1", port))
        .await
        .unwrap();
    tokio::spawn(async move { axum::serve(listener, app).await });
}

/// Debian's nginx as a child process with `workers` workers and this `http {}` content (plus temp paths and no
/// access log), everything under `target/bench-nginx-<port>/`.
struct Nginx {
    pid_file: PathBuf,
    _process: Process,
}

impl Drop for Nginx {
    fn drop(&mut self) {
        // Stops the master and its workers (the Process drop only kills the master).
        if let Ok(pid) = std::fs::read_to_string(&self.pid_file) {
            let _ = Command::new("kill").args(["-TERM", pid.trim()]).status();
            std::thread::sleep(Duration::from_millis(300));
        }
    }
}

fn start_nginx(port: u16, workers: u32, http: &str) -> Nginx {
    let prefix = repo_root().join(format!("target/bench-nginx-{port}"));
    let _ = std::fs::remove_dir_all(&prefix);
    std::fs::create_dir_all(prefix.join("tmp")).unwrap();
    let p = prefix.display();
    // keepalive_requests: nginx closes a keep-alive connection after 1,000 requests by default; the BFF's
    // client and wrk keep theirs open, so nginx must too for the rows to compare like with like.
    let conf = format!(
        r#"
worker_processes {workers};
error_log {p}/error.log warn;
pid {p}/nginx.pid;
events {{ worker_connections 1024; }}
http {{
    access_log off;
    keepalive_requests 1000000;
    client_body_temp_path {p}/tmp/body;
    proxy_temp_path {p}/tmp/proxy;
    fastcgi_temp_path {p}/tmp/fastcgi;
    uwsgi_temp_path {p}/tmp/uwsgi;
    scgi_temp_path {p}/tmp/scgi;
{http}
}}
"#
    );
    std::fs::write(prefix.join("nginx.conf"), conf).unwrap();
    let process = Process::spawn(
        &format!("bench-nginx-{port}"),
        "/usr/sbin/nginx",
        &[
            "-p",
            &format!("{p}/"),
            "-c",
            &prefix.join("nginx.conf").display().to_string(),
            "-g",
            "daemon off;",
        ],
        &[],
    );
    Nginx {
        pid_file: prefix.join("nginx.pid"),
        _process: process,
    }
}

/// The trivial upstream: nginx answering `200 {"ok":true}` to any path (one worker), so the proxies in front of
/// it, not the upstream, are measured.
fn trivial_upstream(port: u16) -> Nginx {
    let http = format!(
        r#"    server {{
        listen 127.0.0.1:{port};
        location / {{ default_type application/json; return 200 '{{"ok":true}}'; }}
    }}"#
    );
    start_nginx(port, 1, &http)
}

/// nginx as the reference proxy: 2 workers, each with its own socket (`reuseport`, as the BFF's serving
/// threads have), upstream keep-alive, `proxy_pass` to `upstream`.
fn nginx_proxy(port: u16, upstream: u16) -> Nginx {
    let http = format!(
        r#"    upstream api {{ server 127.0.0.1:{upstream}; keepalive 64; keepalive_requests 1000000; }}
    server {{
        listen 127.0.0.1:{port} reuseport;
        location / {{
            proxy_pass http://api;
            proxy_http_version 1.1;
            proxy_set_header Connection "";
        }}
    }}"#
    );
    start_nginx(port, 2, &http)
}

/// Logs in through `bff` (its login transaction, the dev OP's redirect chain, `/bff/session`) and returns the
/// `Cookie` header value of the new session.
async fn session_cookie(bff_origin: &str, redirect_uri: &str) -> String {
    let client = BffClient::new(bff_origin);
    let started = client.start_login().await;
    let fragment = authorize_at_op(&started.authorization_url, redirect_uri).await;
    let response = shared::fragment::parse_fragment(&fragment).unwrap();
    if let Some(id_token) = &response.id_token {
        report("proxy.front_id_token_bytes", id_token.len());
    }
    let r = client
        .post(
            "/bff/session",
            Some(&serde_json::to_value(&response).unwrap()),
        )
        .await;
    assert_eq!(r.status(), 200, "session created");
    r.headers()
        .get_all("set-cookie")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .filter_map(|v| v.split(';').next())
        .filter(|kv| !kv.ends_with('='))
        .collect::<Vec<_>>()
        .join("; ")
}

/// The endpoint `name` (e.g. `userinfo_endpoint`) of the OP at `issuer`, from its discovery document.
async fn op_endpoint(issuer: &str, name: &str) -> String {
    let discovery: serde_json::Value =
        reqwest::get(format!("{issuer}/.well-known/openid-configuration"))
            .await
            .expect("discovery reachable")
            .json()
            .await
            .expect("discovery JSON");
    discovery[name]
        .as_str()
        .unwrap_or_else(|| panic!("the OP's discovery names no {name}"))
        .to_owned()
}

/// The wrk command for one cell.
fn wrk_command(url: &str, conns: u32, secs: u32, cookie: Option<&str>) -> Command {
    let mut cmd = Command::new("wrk");
    cmd.args(["--latency", "-t", &conns.min(2).to_string()])
        .args(["-c", &conns.to_string(), "-d", &format!("{secs}s")])
        .args(["--timeout", "5s"]);
    if let Some(c) = cookie {
        cmd.args(["-H", &format!("Cookie: {c}"), "-H", "X-CSRF: 1"]);
    }
    cmd.arg(url);
    cmd
}

/// Runs wrk and reports req/s, p50 and p99 (ms).
fn wrk(key: &str, url: &str, conns: u32, secs: u32, cookie: Option<&str>) {
    let out = wrk_command(url, conns, secs, cookie)
        .output()
        .expect("wrk runs (scripts/bench installs it)");
    let text = String::from_utf8_lossy(&out.stdout);
    let field = |prefix: &str| {
        text.lines()
            .find(|l| l.trim_start().starts_with(prefix))
            .and_then(|l| l.split_whitespace().nth(1).map(str::to_owned))
            .unwrap_or_else(|| panic!("wrk output lacks {prefix}: {text}"))
    };
    let ms = |v: String| {
        let (num, unit) = v.split_at(v.find(|c: char| c.is_alphabetic()).unwrap_or(v.len()));
        let num: f64 = num.parse().unwrap_or(f64::NAN);
        match unit {
            "us" => num / 1000.0,
            "s" => num * 1000.0,
            _ => num,
        }
    };
    let errors = text
        .lines()
        .filter(|l| l.contains("Non-2xx") || l.contains("Socket errors"))
        .collect::<Vec<_>>()
        .join(" / ");
    report(&format!("proxy.{key}.c{conns}.rps"), field("Requests/sec:"));
    report(
        &format!("proxy.{key}.c{conns}.p50"),
        format!("{:.3}", ms(field("50%"))),
    );
    report(
        &format!("proxy.{key}.c{conns}.p99"),
        format!("{:.3}", ms(field("99%"))),
    );
    if !errors.is_empty() {
        report(
            &format!("proxy.{key}.c{conns}.errors"),
            errors.replace(' ', "_"),
        );
    }
}

/// Samples `pid` with `perf record` (cpu-clock, DWARF call graphs) for `secs` while wrk loads `url` at 64
/// connections; writes `out` (perf.data). Not a measured run: perf slows what it samples.
fn profile(pid: u32, out: &str, url: &str, secs: u32, cookie: Option<&str>) {
    let mut perf = Command::new("perf")
        .args([
            "record",
            "-e",
            "cpu-clock",
            "-F",
            "499",
            "--call-graph",
            "dwarf,16384",
        ])
        .args([
            "-p",
            &pid.to_string(),
            "-o",
            out,
            "--",
            "sleep",
            &secs.to_string(),
        ])
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .expect("perf runs (Debian linux-perf)");
    let _ = wrk_command(url, 64, secs, cookie).output();
    let status = perf.wait().expect("perf finishes");
    assert!(status.success(), "perf record failed: {status}");
    report("proxy.profile_seconds", secs);
}

/// The deployable BFF (`target/release/hybrid-bff`, built by `cargo build --release -p hybrid-bff`) as its own
/// process with a configuration file: the stack's configuration (dev OP) plus `extra` TOML.
async fn bff_binary(stack: &Stack, extra: &str) -> BffProcess {
    bff_binary_with_oidc(stack, extra, "").await
}

/// [`bff_binary`] with `oidc` (`key = value` lines) added to its `[oidc]` table, which `extra` must not repeat.
async fn bff_binary_with_oidc(stack: &Stack, extra: &str, oidc: &str) -> BffProcess {
    bff_binary_on(free_port(), stack, extra, oidc).await
}

/// [`bff_binary_with_oidc`] on `port`, picked by the caller (e.g. before the stack starts, for the OP to name it).
async fn bff_binary_on(port: u16, stack: &Stack, extra: &str, oidc: &str) -> BffProcess {
    BffProcess::start(port, &bench_bff_config(port, stack, extra, oidc)).await
}

/// The configuration of a benchmarked BFF binary on `port`: the stack's (dev OP, `code id_token`) with the demo
/// API's resource, plus `extra` TOML and `oidc` lines in its `[oidc]` table.
fn bench_bff_config(port: u16, stack: &Stack, extra: &str, oidc: &str) -> String {
    bff_config_toml(
        port,
        &stack.issuer,
        shared::ResponseType::CodeIdToken,
        &format!(
            "{extra}\n[oidc]\nredirect_uri = \"{}\"\nresource = \"urn:demo-api\"\n{oidc}",
            stack.redirect_uri
        ),
    )
}

async fn proxy(secs: u32) {
    let upstream_port = free_port();
    let _upstream = trivial_upstream(upstream_port);
    let probe = probe_upstream().await;
    let apis = format!(
        "[apis.trivial]\nurl = \"http://127.0.0.1:{upstream_port}\"\nmethods = [\"GET\"]\n\
         [apis.probe]\nurl = \"http://127.0.0.1:{probe}\"\nmethods = [\"GET\"]\n"
    );
    // The stack provides the dev OP (its own in-process BFF stays idle); the measured BFFs are binaries.
    let stack = Stack::start(StackOptions::default()).await;
    let memory_bff = bff_binary(&stack, &apis).await;
    let memory_cookie = session_cookie(&memory_bff.origin, &stack.redirect_uri).await;
    let redis = RedisServer::start().await;
    let key = base64::Engine::encode(
        &base64::engine::general_purpose::STANDARD,
        rand::random::<[u8; 32]>(),
    );
    let redis_bff = bff_binary(
        &stack,
        &format!(
            "{apis}[session]\nstore = \"redis\"\nredis_url = \"{}\"\nkeys = [\"{key}\"]\n",
            redis.url
        ),
    )
    .await;
    let redis_cookie = session_cookie(&redis_bff.origin, &stack.redirect_uri).await;
    let nginx_port = free_port();
    let _nginx = nginx_proxy(nginx_port, upstream_port);
    let path = "/bench/item?id=1";
    let bff_url = |bff: &BffProcess| format!("http://127.0.0.1:{}/api/trivial{path}", bff.port);
    let targets = [
        (
            "direct",
            format!("http://127.0.0.1:{upstream_port}{path}"),
            None,
        ),
        (
            "nginx",
            format!("http://127.0.0.1:{nginx_port}{path}"),
            None,
        ),
        (
            "bff_memory",
            bff_url(&memory_bff),
            Some(memory_cookie.clone()),
        ),
        ("bff_redis", bff_url(&redis_bff), Some(redis_cookie)),
    ];
    let client = reqwest::Client::new();
    let probe_url = format!("http://127.0.0.1:{}/api/probe/token", memory_bff.port);
    let checks = targets
        .iter()
        .cloned()
        .chain([("probe", probe_url, Some(memory_cookie.clone()))]);
    for (name, url, cookie) in checks {
        // Each target answers 200 before it is measured.
        wait_for(name, Duration::from_secs(15), || async {
            let mut r = client.get(&url);
            if let Some(c) = &cookie {
                r = r.header("cookie", c).header("x-csrf", "1");
            }
            let r = r.send().await.ok()?;
            r.status().is_success().then_some(())
        })
        .await;
    }
    for conns in [1, 16, 64] {
        for (name, url, cookie) in &targets {
            let (url, cookie) = (url.clone(), cookie.clone());
            let name = name.to_string();
            tokio::task::spawn_blocking(move || wrk(&name, &url, conns, secs, cookie.as_deref()))
                .await
                .unwrap();
        }
    }
    report("proxy.seconds_per_run", secs);
    report(
        "proxy.access_token_bytes",
        ACCESS_TOKEN_LEN.load(std::sync::atomic::Ordering::Relaxed),
    );
    if let Ok(out) = std::env::var("BENCH_PERF_DATA") {
        let pid = memory_bff.pid().expect("the BFF process runs");
        let url = bff_url(&memory_bff);
        tokio::task::spawn_blocking(move || profile(pid, &out, &url, 5, Some(&memory_cookie)))
            .await
            .unwrap();
    }
}

/// User and kernel CPU time (clock ticks) of the processes `pids`, from `/proc/<pid>/stat`.
fn cpu_ticks(pids: &[u32]) -> (u64, u64) {
    pids.iter().fold((0, 0), |(user, kernel), pid| {
        let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap_or_default();
        let fields: Vec<u64> = stat
            .rsplit_once(')')
            .map_or("", |(_, rest)| rest)
            .split_whitespace()
            .map(|f| f.parse().unwrap_or(0))
            .collect();
        let field = |i: usize| fields.get(i).copied().unwrap_or(0);
        (user + field(11), kernel + field(12))
    })
}

/// The worker processes of the nginx whose master wrote `pid_file`.
fn nginx_workers(pid_file: &std::path::Path) -> Vec<u32> {
    let master = std::fs::read_to_string(pid_file).expect("nginx's pid file");
    let master = master.trim();
    std::fs::read_to_string(format!("/proc/{master}/task/{master}/children"))
        .unwrap_or_default()
        .split_whitespace()
        .filter_map(|p| p.parse().ok())
        .collect()
}

/// One wrk run of `proxy-ab`: req/s, and user and kernel µs per call of the processes under test.
type Sample = (f64, f64, f64);

async fn proxy_ab(secs: u32, rounds: u32, binaries: &[String]) {
    assert!(
        !binaries.is_empty(),
        "usage: proxy-ab SECONDS ROUNDS NAME=BINARY[:ENV=VALUE,...]..."
    );
    let upstream_port = free_port();
    let _upstream = trivial_upstream(upstream_port);
    let nginx_port = free_port();
    let nginx = nginx_proxy(nginx_port, upstream_port);
    let stack = Stack::start(StackOptions::default()).await;
    let path = "/bench/item?id=1";
    let apis = format!(
        "[apis.trivial]\nurl = \"http://127.0.0.1:{upstream_port}\"\nmethods = [\"GET\"]\n"
    );
    // (name, url, cookie, the processes whose CPU is counted); the BFFs are kept alive until the end.
    let mut targets = vec![(
        "nginx".to_owned(),
        format!("http://127.0.0.1:{nginx_port}{path}"),
        None,
        Vec::new(),
    )];
    let mut bffs = Vec::new();
    for arg in binaries {
        let (name, rest) = arg.split_once('=').expect("NAME=BINARY");
        let (binary, envs) = rest.split_once(':').unwrap_or((rest, ""));
        let envs: Vec<(String, String)> = envs
            .split(',')
            .filter_map(|kv| kv.split_once('='))
            .map(|(k, v)| (k.to_owned(), v.to_owned()))
            .collect();
        let port = free_port();
        let config = bench_bff_config(port, &stack, &apis, "");
        let bff = BffProcess::start_program(PathBuf::from(binary), &envs, port, &config).await;
        let cookie = session_cookie(&bff.origin, &stack.redirect_uri).await;
        let pid = bff.pid().expect("the BFF process runs");
        targets.push((
            name.to_owned(),
            format!("http://127.0.0.1:{port}/api/trivial{path}"),
            Some(cookie),
            vec![pid],
        ));
        bffs.push(bff);
    }
    targets[0].3 = nginx_workers(&nginx.pid_file);
    let hz = 100.0; // CLK_TCK on Linux
    let mut cells: std::collections::BTreeMap<(usize, u32), Vec<Sample>> = Default::default();
    for round in 1..=rounds {
        for conns in [1, 16, 64] {
            for (i, (name, url, cookie, pids)) in targets.iter().enumerate() {
                let (user0, kernel0) = cpu_ticks(pids);
                let mut wrk = wrk_command(url, conns, secs, cookie.as_deref());
                let out = tokio::task::spawn_blocking(move || wrk.output().expect("wrk runs"))
                    .await
                    .unwrap();
                let (user1, kernel1) = cpu_ticks(pids);
                let text = String::from_utf8_lossy(&out.stdout);
                if text.contains("Non-2xx") || text.contains("Socket errors") {
                    eprintln!("errors in {name}: {text}");
                }
                let number = |marker: &str, at: usize| {
                    text.lines()
                        .find(|l| l.contains(marker))
                        .and_then(|l| l.split_whitespace().nth(at)?.parse::<f64>().ok())
                        .unwrap_or(f64::NAN)
                };
                let (served, rps) = (number("requests in", 0), number("Requests/sec", 1));
                let us = |ticks: u64| ticks as f64 / hz * 1e6 / served;
                let (user, kernel) = (us(user1 - user0), us(kernel1 - kernel0));
                println!("{round} {conns} {name} {rps:.0} {user:.1} {kernel:.1}");
                cells
                    .entry((i, conns))
                    .or_default()
                    .push((rps, user, kernel));
            }
        }
    }
    let median = |mut v: Vec<f64>| {
        v.sort_by(f64::total_cmp);
        v[v.len() / 2]
    };
    println!("\nmedians: CPU µs per call of the process under test (user + kernel) | req/s; load average {}", loadavg());
    println!("| target | 1 conn | 16 conns | 64 conns |\n|---|---:|---:|---:|");
    for (i, (name, ..)) in targets.iter().enumerate() {
        let row: Vec<String> = [1, 16, 64]
            .iter()
            .map(|conns| {
                let runs = &cells[&(i, *conns)];
                let total = median(runs.iter().map(|(_, u, k)| u + k).collect());
                let user = median(runs.iter().map(|(_, u, _)| *u).collect());
                let kernel = median(runs.iter().map(|(_, _, k)| *k).collect());
                let rps = median(runs.iter().map(|(r, ..)| *r).collect());
                format!("{total:.1} µs ({user:.1} + {kernel:.1}) · {rps:.0}")
            })
            .collect();
        println!("| {name} | {} |", row.join(" | "));
    }
}

// ---------------------------------------------------------------------------------------------------------
// Memory
// ---------------------------------------------------------------------------------------------------------

fn rss_kib() -> u64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap();
    status
        .lines()
        .find(|l| l.starts_with("VmRSS:"))
        .and_then(|l| l.split_whitespace().nth(1))
        .and_then(|v| v.parse().ok())
        .unwrap()
}

/// A token-shaped string of `len` characters, distinct per session.
fn token(i: usize, len: usize) -> String {
    let mut s = format!("{i:08}.");
    while s.len() < len {
        s.push_str("eyJhbGciOiJSUzI1NiIsImtpZCI6ImsxIn0");
    }
    s.truncate(len);
    // Exactly `len` bytes of capacity, as serde_json allocates the tokens it reads from a token response: left
    // at the doubling capacity of the pushes above, the strings would weigh up to twice their length.
    s.shrink_to_fit();
    s
}

async fn memory(n: usize, (id_len, at_len): (usize, usize)) {
    use bff::session::memory::MemoryStore;
    use bff::session::model::Session;
    use bff::session::storage::SessionStore;
    // Token sizes as the dev OP issues them (RS256 JWTs; `scripts/bench` passes the sizes the proxy run saw),
    // an opaque refresh token of 43 characters, a session id of 43 characters.
    let rt_len = 43;
    report("memory.id_token_bytes", id_len);
    report("memory.access_token_bytes", at_len);
    let store = MemoryStore::new(1800, 28800);
    let now = bff::session::now();
    let before = rss_kib();
    let start = Instant::now();
    let mut done = 0;
    let mut last_puts = std::collections::VecDeque::new();
    for i in 0..n {
        let user = shared::api::User {
            sub: format!("user-{i}"),
            name: Some("Alice Example".into()),
            preferred_username: Some("alice".into()),
            email: Some("alice@example.com".into()),
            email_verified: Some(true),
        };
        let session = Session {
            // A session now keeps the claims it shows as well (here the same five, as a userinfo would add).
            claims: user.id_token_claims(),
            userinfo: Default::default(),
            user,
            issuer: "http://127.0.0.1:9090".into(),
            sid: Some(token(i, 36)),
            id_token: token(i, id_len),
            access_token: token(i, at_len),
            refresh_token: Some(token(i, rt_len)),
            access_token_expires_at: Some(now + 3600),
            created_at: now,
            last_seen: now,
            upstream_tokens: Default::default(),
            dpop_key: None,
        };
        let t = Instant::now();
        store
            .insert(&bff::session::random_token(), session)
            .await
            .unwrap();
        last_puts.push_back(t.elapsed());
        if last_puts.len() > 1000 {
            last_puts.pop_front();
        }
        done = i + 1;
        if start.elapsed() > Duration::from_secs(120) {
            eprintln!("memory: time bound reached after {done} sessions");
            break;
        }
    }
    let elapsed = start.elapsed();
    let after = rss_kib();
    assert_eq!(store.count().await.unwrap(), done);
    report("memory.sessions", done);
    report("memory.rss_before_kib", before);
    report("memory.rss_after_kib", after);
    report(
        "memory.bytes_per_session",
        format!("{:.0}", (after - before) as f64 * 1024.0 / done as f64),
    );
    report("memory.token_bytes_per_session", id_len + at_len + rt_len);
    let last: Duration = last_puts.iter().sum();
    report(
        "memory.put_us_last1000",
        format!("{:.1}", last.as_secs_f64() * 1e6 / last_puts.len() as f64),
    );
    report(
        "memory.put_us_mean",
        format!("{:.1}", elapsed.as_secs_f64() * 1e6 / done as f64),
    );
}

// ---------------------------------------------------------------------------------------------------------
// Validation cost
// ---------------------------------------------------------------------------------------------------------

async fn validate(n: usize) {
    use jsonwebtoken::{Algorithm, EncodingKey, Header};
    use rsa::pkcs1::EncodeRsaPrivateKey;
    use rsa::traits::PublicKeyParts;
    use shared::jose::alg::{Alg, AlgPolicy};
    use shared::jose::b64url_encode;
    use shared::jose::jwks::JwkSet;
    use shared::verify::id_token::IdTokenRules;
    use shared::verify::{verify_id_token, Context, Keys};

    let rsa = rsa::RsaPrivateKey::new(&mut rand::rngs::OsRng, 2048).unwrap();
    let public = rsa.to_public_key();
    let jwks = serde_json::json!({"keys": [{
        "kty": "RSA", "kid": "k1", "use": "sig", "alg": "RS256",
        "n": b64url_encode(&public.n().to_bytes_be()),
        "e": b64url_encode(&public.e().to_bytes_be()),
    }]});
    let jwks = JwkSet::parse(jwks.to_string().as_bytes()).unwrap();
    let now = bff::session::now();
    let claims = serde_json::json!({
        "iss": "http://127.0.0.1:9090", "sub": "alice", "aud": "hybrid-spa", "azp": "hybrid-spa",
        "exp": now + 3600, "iat": now, "nonce": "n-0S6_WzA2Mj", "name": "Alice Example",
        "email": "alice@example.com", "email_verified": true, "sid": "b2d1c0e4-5f6a-4b7c-8d9e-0f1a2b3c4d5e",
        "c_hash": "LDktKdoQak3Pk0cnXxCltA", "auth_time": now,
    });
    let mut header = Header::new(Algorithm::RS256);
    header.kid = Some("k1".into());
    let key = EncodingKey::from_rsa_der(rsa.to_pkcs1_der().unwrap().as_bytes());
    let token = jsonwebtoken::encode(&header, &claims, &key).unwrap();
    let rules = IdTokenRules {
        issuer: "http://127.0.0.1:9090".into(),
        client_id: "hybrid-spa".into(),
        trusted_audiences: vec![],
        nonce: "n-0S6_WzA2Mj".into(),
        leeway_secs: 60,
    };
    let policy = AlgPolicy::only(&[Alg::RS256]);
    let keys = Keys {
        jwks: &jwks,
        policy: &policy,
    };
    let verifier = bff::oidc::verifier();
    // Warm-up, then a bounded timed loop.
    let ctx = Context::new(keys, now, &verifier);
    for _ in 0..50 {
        verify_id_token(&token, &rules, ctx).await.unwrap();
    }
    let start = Instant::now();
    let mut done = 0u32;
    while done < n as u32 && start.elapsed() < Duration::from_secs(20) {
        verify_id_token(&token, &rules, ctx).await.unwrap();
        done += 1;
    }
    let per = start.elapsed().as_secs_f64() * 1e6 / f64::from(done);
    report("validate.rs256.n", done);
    report("validate.rs256.us_per_token", format!("{per:.1}"));
    report("validate.rs256.tokens_per_sec", format!("{:.0}", 1e6 / per));
    report("validate.token_bytes", token.len());
}

// ---------------------------------------------------------------------------------------------------------
// Logins
// ---------------------------------------------------------------------------------------------------------

/// Runs `jobs` with at most `concurrency` in flight; answers the wall time of the whole batch.
async fn timed_batch<F>(jobs: Vec<F>, concurrency: usize) -> Duration
where
    F: std::future::Future<Output = ()> + Send + 'static,
{
    let gate = std::sync::Arc::new(tokio::sync::Semaphore::new(concurrency));
    let started = Instant::now();
    let tasks: Vec<_> = jobs
        .into_iter()
        .map(|job| {
            let gate = gate.clone();
            tokio::spawn(async move {
                let _slot = gate.acquire().await.expect("semaphore open");
                job.await
            })
        })
        .collect();
    for task in tasks {
        task.await.expect("job ran");
    }
    started.elapsed()
}

/// `n` logins taken as far as the fragment (the login transaction of the BFF at `origin`, the dev OP's redirect
/// chain back to `redirect_uri`), not timed. With `own_verifier`, the authorization request carries that PKCE
/// challenge instead of the BFF's, so the code can be redeemed directly at the token endpoint.
async fn mint(
    origin: &str,
    redirect_uri: &str,
    n: usize,
    own_verifier: Option<&str>,
) -> Vec<(BffClient, String)> {
    let mut minted = Vec::with_capacity(n);
    for _ in 0..n {
        let client = BffClient::new(origin);
        let started = client.start_login().await;
        let mut url = url::Url::parse(&started.authorization_url).unwrap();
        if let Some(verifier) = own_verifier {
            let pairs: Vec<(String, String)> = url
                .query_pairs()
                .map(|(k, v)| match k.as_ref() {
                    "code_challenge" => (k.into_owned(), shared::pkce::s256_challenge(verifier)),
                    _ => (k.into_owned(), v.into_owned()),
                })
                .collect();
            url.query_pairs_mut().clear().extend_pairs(pairs);
        }
        let fragment = authorize_at_op(url.as_str(), redirect_uri).await;
        minted.push((client, fragment));
    }
    minted
}

/// The CPU time (user + system, ms) process `pid` has used, from `/proc/<pid>/stat` (clock ticks of 10 ms).
fn process_cpu_ms(pid: &str) -> Option<f64> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    // The fields after the command name, which is in parentheses and may hold spaces.
    let fields: Vec<&str> = stat.rsplit_once(')')?.1.split_whitespace().collect();
    let ticks: f64 = fields.get(11)?.parse::<f64>().ok()? + fields.get(12)?.parse::<f64>().ok()?;
    Some(ticks * 10.0)
}

/// The 1-minute load average: how much else ran on the machine meanwhile.
fn loadavg() -> String {
    std::fs::read_to_string("/proc/loadavg")
        .ok()
        .and_then(|l| l.split(' ').next().map(str::to_owned))
        .unwrap_or_default()
}

/// The dev OP's process: the child of this process that runs `dev/op/server.mjs`.
fn op_pid() -> Option<String> {
    let tasks = std::fs::read_dir("/proc/self/task").ok()?;
    tasks
        .filter_map(|t| std::fs::read_to_string(t.ok()?.path().join("children")).ok())
        .flat_map(|c| c.split_whitespace().map(str::to_owned).collect::<Vec<_>>())
        .find(|pid| {
            std::fs::read(format!("/proc/{pid}/cmdline"))
                .is_ok_and(|c| String::from_utf8_lossy(&c).contains("dev/op/server.mjs"))
        })
}

/// CPU time used during timed batches, by the OP, by the BFF process and by this process (the driver: the
/// simulated browsers, or the direct client), ms.
#[derive(Default)]
struct CpuUse {
    op_ms: f64,
    bff_ms: f64,
    driver_ms: f64,
}

/// The processes whose CPU time [`CpuUse`] reads, by pid (`None`: not found, read as 0).
struct Pids<'a> {
    op: Option<&'a str>,
    bff: Option<&'a str>,
}

impl CpuUse {
    /// Runs `batch`, adding the CPU time used meanwhile.
    async fn during<T>(
        &mut self,
        pids: &Pids<'_>,
        batch: impl std::future::Future<Output = T>,
    ) -> T {
        let read = || {
            [pids.op, pids.bff, Some("self")].map(|pid| pid.and_then(process_cpu_ms).unwrap_or(0.0))
        };
        let [op0, bff0, me0] = read();
        let out = batch.await;
        let [op1, bff1, me1] = read();
        self.op_ms += op1 - op0;
        self.bff_ms += bff1 - bff0;
        self.driver_ms += me1 - me0;
        out
    }
}

/// The OP-alone path of a login: the BFF's two requests to the OP, made directly with one pooled client.
#[derive(Clone)]
struct DirectLogin {
    http: reqwest::Client,
    token_endpoint: String,
    userinfo_endpoint: String,
    redirect_uri: String,
    verifier: &'static str,
}

impl DirectLogin {
    /// Redeems the code of `fragment` at the token endpoint with the client secret, then reads userinfo.
    async fn redeem(self, fragment: String) {
        let code = shared::fragment::parse_fragment(&fragment)
            .unwrap()
            .code
            .expect("a code");
        let r = self
            .http
            .post(&self.token_endpoint)
            .basic_auth("hybrid-spa", Some("dev-only-hybrid-secret-0123456789"))
            .form(&[
                ("grant_type", "authorization_code"),
                ("code", code.as_str()),
                ("redirect_uri", self.redirect_uri.as_str()),
                ("code_verifier", self.verifier),
                ("resource", "urn:demo-api"),
            ])
            .send()
            .await
            .expect("token endpoint reachable");
        assert_eq!(r.status(), 200, "{}", r.text().await.unwrap_or_default());
        let tokens: serde_json::Value = r.json().await.expect("token response JSON");
        let access_token = tokens["access_token"].as_str().expect("an access token");
        // Whatever the OP answers (the BFF's `auto` mode keeps the ID token's claims when userinfo refuses a
        // token meant for an API), the request is made and its body read.
        let r = self
            .http
            .get(&self.userinfo_endpoint)
            .bearer_auth(access_token)
            .send()
            .await
            .expect("userinfo endpoint reachable");
        let _ = r.bytes().await;
    }
}

/// Logins are minted and redeemed in batches of this many: the dev OP's codes live 60 s, and minting is not
/// timed, so a batch must be redeemed well before its first code expires.
const LOGIN_BATCH: usize = 25;

/// Logins per second through the BFF against the OP alone (issue 12's goal: ≥ 0.95× the OP's rate).
///
/// The BFF is the deployable binary as its own process ([`bff_binary`]: `target/release/hybrid-bff CONFIG`, the
/// stack's configuration, memory store), as in production: its own serving threads, allocator, logs and CPU
/// time. The stack's in-process BFF stays idle. The BFF this measured before ran in the driver's process, on its
/// tokio runtime, its CPU time counted with the simulated browsers'. Measured alternating with the binary, it
/// added less CPU per login over the direct path (median 0.15 ms, against 0.20 for the binary and the driver
/// together), so its ratio flattered the BFF (median 0.925 against 0.87) and said nothing about the deployable
/// one that this does not: it is gone.
///
/// Every login is first taken, untimed, as far as the fragment through the binary ([`mint`]: `POST /bff/login`,
/// the OP's redirect chain). Timed, in batches of [`LOGIN_BATCH`] with `concurrency` in flight, which path goes
/// first alternating: **through the BFF**, `POST /bff/session` at the binary (front-channel checks, code
/// exchange, token checks, userinfo, session put); **the OP alone**, the same token and userinfo requests made
/// directly ([`DirectLogin`]) for codes minted with the driver's own PKCE verifier. Each path's browsers are
/// dropped outside the timing. CPU per login of the OP, the BFF process and the driver, over the timed batches.
async fn logins(n: usize, concurrency: usize) {
    let stack = Stack::start(StackOptions::default()).await;
    let bff_process = bff_binary(&stack, "").await;
    let origin = bff_process.origin.clone();
    let redirect_uri = stack.redirect_uri.as_str();
    // Warm-up: the OP's and the binary's first requests (JIT, key imports, connection pools).
    for (client, fragment) in mint(&origin, redirect_uri, 5, None).await {
        client.create_session(&fragment).await;
    }

    let verifier = "bench-verifier-0123456789-abcdefghijklmnopqrstuvwxyz";
    let token_endpoint = format!("{}/token", stack.issuer);
    let http = reqwest::Client::new();
    // A login through the BFF also reads userinfo with the new access token (`oidc.userinfo = "auto"`, the
    // default): the OP alone does the same two requests, so the ratio compares like with like.
    let userinfo_endpoint = op_endpoint(&stack.issuer, "userinfo_endpoint").await;
    let direct = DirectLogin {
        http,
        token_endpoint,
        userinfo_endpoint,
        redirect_uri: stack.redirect_uri.clone(),
        verifier,
    };
    let (mut bff, mut op) = (Duration::ZERO, Duration::ZERO);
    let op_process = op_pid();
    let bff_pid = bff_process.pid().map(|pid| pid.to_string());
    let pids = Pids {
        op: op_process.as_deref(),
        bff: bff_pid.as_deref(),
    };
    let (mut bff_cpu, mut op_cpu) = (CpuUse::default(), CpuUse::default());
    let mut left = n;
    for round in 0.. {
        if left == 0 {
            break;
        }
        let batch = left.min(LOGIN_BATCH);
        left -= batch;
        // Which path goes first alternates, so neither always runs right after the other's minting.
        let order = if round % 2 == 0 {
            [true, false]
        } else {
            [false, true]
        };
        for through_bff in order {
            if through_bff {
                let minted = mint(&origin, redirect_uri, batch, None).await;
                // Each job works on a copy of its browser: the browsers themselves (reqwest clients, their TLS
                // roots, pools and cookie jars) are dropped after the timing, as the direct path drops its own
                // before.
                let jobs: Vec<_> = minted
                    .iter()
                    .map(|(client, fragment)| {
                        let (client, fragment) = (client.clone(), fragment.clone());
                        async move {
                            client.create_session(&fragment).await;
                        }
                    })
                    .collect();
                bff += bff_cpu.during(&pids, timed_batch(jobs, concurrency)).await;
                drop(minted);
            } else {
                let jobs: Vec<_> = mint(&origin, redirect_uri, batch, Some(verifier))
                    .await
                    .into_iter()
                    .map(|(_, fragment)| direct.clone().redeem(fragment))
                    .collect();
                op += op_cpu.during(&pids, timed_batch(jobs, concurrency)).await;
            }
        }
    }

    report("logins.n", n);
    report("logins.concurrency", concurrency);
    report(
        "logins.bff_per_s",
        format!("{:.1}", n as f64 / bff.as_secs_f64()),
    );
    report(
        "logins.op_alone_per_s",
        format!("{:.1}", n as f64 / op.as_secs_f64()),
    );
    report(
        "logins.ratio",
        format!("{:.2}", op.as_secs_f64() / bff.as_secs_f64()),
    );
    // Where the time goes: CPU per login (ms) of the OP, the BFF process and this process (the driver), in each
    // path's timed batches (the BFF's in the OP-alone path: what it does while idle).
    let per_login = |ms: f64| format!("{:.3}", ms / n as f64);
    if op_process.is_some() {
        report("logins.bff.op_cpu_ms", per_login(bff_cpu.op_ms));
        report("logins.op_alone.op_cpu_ms", per_login(op_cpu.op_ms));
    }
    if bff_pid.is_some() {
        report("logins.bff.bff_cpu_ms", per_login(bff_cpu.bff_ms));
        report("logins.op_alone.bff_cpu_ms", per_login(op_cpu.bff_ms));
    }
    report("logins.bff.driver_cpu_ms", per_login(bff_cpu.driver_ms));
    report("logins.op_alone.driver_cpu_ms", per_login(op_cpu.driver_ms));
    report("logins.loadavg", loadavg());
}

// ---------------------------------------------------------------------------------------------------------
// Issue 17's options: DPoP on the proxy, PAR + private_key_jwt + DPoP at login
// ---------------------------------------------------------------------------------------------------------

async fn fapi(secs: u32, logins: usize, concurrency: usize) {
    sign(20_000);
    fapi_proxy(secs).await;
    fapi_logins(logins, concurrency).await;
}

/// The signatures the BFF makes per request, each in a bounded loop on one core: a DPoP proof, and a
/// `private_key_jwt` client assertion with each kind of key.
fn sign(n: u32) {
    proof_cost(n);
    let p256 = hybrid_e2e::client_keys::p256_pem();
    let rsa = hybrid_e2e::client_keys::rsa_pem();
    for (alg, key) in [("ES256", &p256), ("RS256", &rsa), ("PS256", &rsa)] {
        assertion_cost(alg, key, n / 4);
    }
}

/// What the BFF adds to each call to a `dpop = true` API: one proof (claims, JSON, base64url, one ES256
/// signature with the session's key).
fn proof_cost(n: u32) {
    // As a session read from the store has it: a copy of the key, not the one that made it.
    let key: bff::oidc::dpop::DpopKey =
        serde_json::from_value(serde_json::to_value(bff::oidc::dpop::DpopKey::generate()).unwrap())
            .unwrap();
    let token = token(0, 900);
    let url = "http://127.0.0.1:4001/bench/item?id=1";
    cpu_cost("fapi.proof", n, || {
        key.proof("GET", url, Some(&token), None).unwrap();
    });
}

/// One client assertion (`client_auth::for_attempt`: claims, JSON, base64url, the signature) signed with `alg`
/// by the configured key `pem`, for an OP that accepts only `alg`.
fn assertion_cost(alg: &str, pem: &str, n: u32) {
    let toml = format!(
        "public_origin = \"http://localhost:8080\"\n[oidc]\nissuer = \"http://127.0.0.1:9\"\n\
         client_id = \"app\"\nclient_secret = \"\"\nredirect_uri = \"http://localhost:8080/callback\"\n\
         auth_method = \"private_key_jwt\"\nclient_keys = [{pem:?}]\n"
    );
    let config =
        bff::config::Config::from_toml(&toml, []).expect("a private_key_jwt configuration");
    let metadata: bff::oidc::discovery::Metadata = serde_json::from_value(serde_json::json!({
        "issuer": "http://127.0.0.1:9",
        "authorization_endpoint": "http://127.0.0.1:9/auth",
        "token_endpoint": "http://127.0.0.1:9/token",
        "jwks_uri": "http://127.0.0.1:9/jwks",
        "token_endpoint_auth_signing_alg_values_supported": [alg],
    }))
    .unwrap();
    cpu_cost(&format!("fapi.assertion.{alg}"), n, || {
        bff::oidc::client_auth::for_attempt(&config, &metadata).unwrap();
    });
}

/// Runs `f` up to `n` times (at most 10 s) after a short warm-up; reports `<key>.n`, the wall time per call
/// (`<key>.us`) and this thread's CPU time per call (`<key>.cpu_us`).
fn cpu_cost(key: &str, n: u32, mut f: impl FnMut()) {
    for _ in 0..n.min(200) {
        f();
    }
    let (start, cpu_start) = (Instant::now(), thread_cpu_ns());
    let mut done = 0u32;
    while done < n && start.elapsed() < Duration::from_secs(10) {
        f();
        done += 1;
    }
    let per = start.elapsed().as_secs_f64() * 1e6 / f64::from(done);
    report(&format!("{key}.n"), done);
    report(&format!("{key}.us"), format!("{per:.1}"));
    if let (Some(a), Some(b)) = (cpu_start, thread_cpu_ns()) {
        let cpu = (b - a) as f64 / 1e3 / f64::from(done);
        report(&format!("{key}.cpu_us"), format!("{cpu:.1}"));
    }
}

/// The CPU time this thread has run (`/proc/thread-self/schedstat`, ns): on a busy machine the wall time of a
/// loop also counts the time other processes had the core.
fn thread_cpu_ns() -> Option<u64> {
    std::fs::read_to_string("/proc/thread-self/schedstat")
        .ok()?
        .split_whitespace()
        .next()?
        .parse()
        .ok()
}

/// The scheme (`Bearer`, `DPoP`) of the last `Authorization` header the scheme probe saw, and whether a `DPoP`
/// proof came with it.
static PROBE_SEEN: std::sync::Mutex<Option<(String, bool)>> = std::sync::Mutex::new(None);

/// An upstream that records how it was called, so the run checks that the DPoP BFF really sends proofs.
async fn scheme_probe() -> u16 {
    let port = free_port();
    let app = axum::Router::new().fallback(|headers: axum::http::HeaderMap| async move {
        let scheme = headers
            .get("authorization")
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.split(' ').next())
            .unwrap_or("")
            .to_owned();
        *PROBE_SEEN.lock().unwrap() = Some((scheme, headers.contains_key("dpop")));
        axum::Json(serde_json::json!({"ok": true}))
    });
    serve_locally(port, app).await;
    port
}

/// Two BFF binaries, memory store, alike but for DPoP, in front of the trivial upstream; `wrk` alternates
/// between them at each connection level so both see the same machine.
async fn fapi_proxy(secs: u32) {
    let upstream_port = free_port();
    let _upstream = trivial_upstream(upstream_port);
    let probe = scheme_probe().await;
    let apis = |dpop: bool| {
        format!(
            "[apis.trivial]\nurl = \"http://127.0.0.1:{upstream_port}\"\nmethods = [\"GET\"]\ndpop = {dpop}\n\
             [apis.probe]\nurl = \"http://127.0.0.1:{probe}\"\nmethods = [\"GET\"]\ndpop = {dpop}\n"
        )
    };
    let stack = Stack::start(StackOptions::default()).await;
    let bearer = bff_binary(&stack, &apis(false)).await;
    let dpop = bff_binary_with_oidc(&stack, &apis(true), "dpop = \"required\"\n").await;
    let client = reqwest::Client::new();
    let mut targets = Vec::new();
    for (name, bff, scheme) in [
        ("fapi_bearer", &bearer, "Bearer"),
        ("fapi_dpop", &dpop, "DPoP"),
    ] {
        let cookie = session_cookie(&bff.origin, &stack.redirect_uri).await;
        let r = client
            .get(format!("http://127.0.0.1:{}/api/probe/x", bff.port))
            .header("cookie", &cookie)
            .header("x-csrf", "1")
            .send()
            .await
            .expect("the BFF answers");
        assert_eq!(r.status(), 200, "{name}: the probe call");
        let seen = PROBE_SEEN.lock().unwrap().take();
        assert_eq!(
            seen,
            Some((scheme.to_owned(), scheme == "DPoP")),
            "{name} calls the API as {scheme}"
        );
        let url = format!("http://127.0.0.1:{}/api/trivial/bench/item?id=1", bff.port);
        targets.push((name, url, cookie));
    }
    report("fapi.proxy.loadavg", loadavg());
    for conns in [1, 16, 64] {
        for (name, url, cookie) in &targets {
            let (name, url, cookie) = (name.to_string(), url.clone(), cookie.clone());
            tokio::task::spawn_blocking(move || wrk(&name, &url, conns, secs, Some(&cookie)))
                .await
                .unwrap();
        }
    }
    report("fapi.proxy.seconds_per_run", secs);
    if let Ok(out) = std::env::var("BENCH_FAPI_PERF_DATA") {
        let pid = dpop.pid().expect("the BFF process runs");
        let (_, url, cookie) = targets.pop().expect("the DPoP target");
        tokio::task::spawn_blocking(move || profile(pid, &out, &url, 5, Some(&cookie)))
            .await
            .unwrap();
    }
}

/// Logins per second through the deployable BFF binary as its own process ([`bff_binary_on`]:
/// `target/release/hybrid-bff CONFIG`, memory store, as issue 12 asks of every benchmark) at the dev OP, per
/// configuration, each with a fresh stack (dev OP, idle in-process BFF) and a fresh binary: the login starts
/// (`POST /bff/login`, with PAR the push) and the sessions (`POST /bff/session`: code exchange, token checks,
/// userinfo, session put) timed in batches with `concurrency` in flight; the OP's redirect chain between them is
/// the browser's and untimed. CPU per login of the OP, the BFF process and the driver over the two timed parts.
///
/// For `private_key_jwt` the binary signs with a key made here, and the OP reads the public half from the
/// binary's own `/bff/jwks.json` (`OP_CLIENT_JWKS_URI` set to the binary's port, picked before the stack starts;
/// the stack names its in-process BFF's port otherwise).
async fn fapi_logins(n: usize, concurrency: usize) {
    use hybrid_e2e::client_keys::{p256_pem, private_key_jwt_toml};
    let key_jwt = private_key_jwt_toml(&[p256_pem()]);
    let key_jwt = key_jwt
        .strip_prefix("[oidc]\n")
        .expect("private_key_jwt_toml is an [oidc] table");
    // Name, whether the request is pushed, the binary's `[oidc]` lines.
    let variants = [
        (
            "secret",
            false,
            "par = \"off\"\ndpop = \"off\"\n".to_owned(),
        ),
        (
            "par",
            true,
            "par = \"required\"\ndpop = \"off\"\n".to_owned(),
        ),
        (
            "all3",
            true,
            format!("{key_jwt}par = \"required\"\ndpop = \"required\"\n"),
        ),
    ];
    report("fapi.logins.n", n);
    report("fapi.logins.concurrency", concurrency);
    for (name, pushed, oidc) in variants {
        let bff_port = free_port();
        let stack = Stack::start(StackOptions {
            op_env: vec![(
                "OP_CLIENT_JWKS_URI",
                format!("http://127.0.0.1:{bff_port}/bff/jwks.json"),
            )],
            ..Default::default()
        })
        .await;
        let bff_process = bff_binary_on(bff_port, &stack, "", &oidc).await;
        let origin = bff_process.origin.clone();
        let (op_process, bff_pid) = (op_pid(), bff_process.pid().map(|pid| pid.to_string()));
        let pids = Pids {
            op: op_process.as_deref(),
            bff: bff_pid.as_deref(),
        };
        let mut cpu = CpuUse::default();
        let (mut starts, mut sessions) = (Duration::ZERO, Duration::ZERO);
        // A warm-up batch (connection pools, the OP's first grants), then the measured ones.
        let mut left = n + 5;
        let mut warm = true;
        while left > 0 {
            let batch = if warm { 5 } else { left.min(LOGIN_BATCH) };
            left -= batch;
            let started = std::sync::Arc::new(tokio::sync::Mutex::new(Vec::new()));
            let jobs: Vec<_> = (0..batch)
                .map(|_| {
                    let (origin, started) = (origin.clone(), started.clone());
                    async move {
                        let client = BffClient::new(&origin);
                        let url = client.start_login().await.authorization_url;
                        assert_eq!(url.contains("request_uri="), pushed, "{name}: {url}");
                        started.lock().await.push((client, url));
                    }
                })
                .collect();
            let mut batch_cpu = CpuUse::default();
            let t_start = batch_cpu
                .during(&pids, timed_batch(jobs, concurrency))
                .await;
            let started = std::mem::take(&mut *started.lock().await);
            let mut fragments = Vec::with_capacity(batch);
            for (client, url) in started {
                fragments.push((client, authorize_at_op(&url, &stack.redirect_uri).await));
            }
            let jobs: Vec<_> = fragments
                .into_iter()
                .map(|(client, fragment)| async move {
                    client.create_session(&fragment).await;
                })
                .collect();
            let t_session = batch_cpu
                .during(&pids, timed_batch(jobs, concurrency))
                .await;
            if !warm {
                starts += t_start;
                sessions += t_session;
                cpu.op_ms += batch_cpu.op_ms;
                cpu.bff_ms += batch_cpu.bff_ms;
                cpu.driver_ms += batch_cpu.driver_ms;
            }
            warm = false;
        }
        let rate = |d: Duration| format!("{:.1}", n as f64 / d.as_secs_f64());
        report(&format!("fapi.logins.{name}.starts_per_s"), rate(starts));
        report(
            &format!("fapi.logins.{name}.sessions_per_s"),
            rate(sessions),
        );
        report(
            &format!("fapi.logins.{name}.per_s"),
            rate(starts + sessions),
        );
        // CPU per login (ms) over the timed starts and sessions: the OP, the BFF process, the driver.
        let per_login = |ms: f64| format!("{:.3}", ms / n as f64);
        if op_process.is_some() {
            report(
                &format!("fapi.logins.{name}.op_cpu_ms"),
                per_login(cpu.op_ms),
            );
        }
        if bff_pid.is_some() {
            report(
                &format!("fapi.logins.{name}.bff_cpu_ms"),
                per_login(cpu.bff_ms),
            );
        }
        report(
            &format!("fapi.logins.{name}.driver_cpu_ms"),
            per_login(cpu.driver_ms),
        );
        report(&format!("fapi.logins.{name}.loadavg"), loadavg());
    }
}
