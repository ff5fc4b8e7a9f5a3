//! Benchmark driver for `scripts/bench` (never a test; CI only compiles it). One subcommand per benchmark, each
//! bounded in count and time, everything on 127.0.0.1. Results are printed as `BENCH <key> <value>` lines, which
//! the script collects into BENCHMARKS.md.
//!
//! - `identity N HELLO_DIST`: N logins in headless Chromium against the real stack (dev OP, BFF serving the
//!   release SPA), reading the SPA's Performance marks; N loads of the Leptos hello world in the same browser;
//!   then the same again in a browser with an emulated network (CDP: 40 ms, 10 Mbit/s down, 5 up, no cache).
//! - `proxy SECONDS`: `wrk` at 1/16/64 connections against a trivial upstream, direct, through nginx and through
//!   the BFF (memory store and Redis store, with a real session from a login at the dev OP).
//! - `memory N [ID_TOKEN_LEN ACCESS_TOKEN_LEN]`: RSS growth per session over N sessions put into the memory
//!   store, with token-sized strings.
//! - `validate N`: native ID token validation (signature + every claim rule), as the BFF does it.
//! - `logins N CONCURRENCY`: completed logins per second through the BFF (`POST /bff/session`: checks, code
//!   exchange, token validation, session) against the dev OP's own token endpoint rate for the same codes
//!   redeemed directly with the client secret; both with CONCURRENCY requests in flight.

use hybrid_e2e::authorize::{authorize_at_op, BffClient};
use hybrid_e2e::browser::Browser;
use hybrid_e2e::redis_server::RedisServer;
use hybrid_e2e::stack::{start_bff, Process, Stack, StackOptions};
use hybrid_e2e::{free_port, repo_root, wait_for};
use std::path::PathBuf;
use std::process::Command;
use std::time::{Duration, Instant};

#[tokio::main]
async fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let arg = |i: usize, default: &str| args.get(i).cloned().unwrap_or_else(|| default.into());
    match arg(0, "").as_str() {
        "identity" => identity(arg(1, "20").parse().unwrap(), PathBuf::from(arg(2, ""))).await,
        "proxy" => proxy(arg(1, "5").parse().unwrap()).await,
        "memory" => {
            let sizes = (
                arg(2, "1000").parse().unwrap(),
                arg(3, "900").parse().unwrap(),
            );
            memory(arg(1, "100000").parse().unwrap(), sizes).await
        }
        "validate" => validate(arg(1, "2000").parse().unwrap()).await,
        "logins" => logins(arg(1, "200").parse().unwrap(), arg(2, "8").parse().unwrap()).await,
        other => {
            panic!("unknown benchmark {other:?}: identity | proxy | memory | validate | logins")
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

/// From navigation start: when the page's own request began (`fetchStart`, after any redirect from the OP) and
/// when its wasm had arrived (the resource entry's `responseEnd`).
async fn load_timing(browser: &Browser) -> (f64, f64) {
    let script = "const n = performance.getEntriesByType('navigation')[0];\
                  const w = performance.getEntriesByType('resource').find(e => e.name.endsWith('.wasm'));\
                  return [n.fetchStart, w ? w.responseEnd : -1];";
    let v = browser.eval(script).await;
    let at = |i: usize| v.get(i).and_then(|x| x.as_f64()).unwrap_or(-1.0);
    (at(0), at(1))
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

/// The emulated network of the second identity round: 40 ms latency, 10 Mbit/s down, 5 up, no HTTP cache.
async fn emulate_network(browser: &Browser) {
    let commands = [
        Cdp("Network.enable", serde_json::json!({})),
        Cdp(
            "Network.emulateNetworkConditions",
            serde_json::json!({ "offline": false, "latency": 40,
                "downloadThroughput": 10_000_000 / 8, "uploadThroughput": 5_000_000 / 8 }),
        ),
        Cdp(
            "Network.setCacheDisabled",
            serde_json::json!({ "cacheDisabled": true }),
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
    let stack = Stack::start(StackOptions {
        serve_spa: true,
        ..Default::default()
    })
    .await;
    let hello = format!("http://localhost:{}/", serve_dir(hello_dist).await);
    for (prefix, emulated) in [("identity", false), ("identity_net", true)] {
        let browser = Browser::start().await;
        if emulated {
            emulate_network(&browser).await;
        }
        identity_round(prefix, n, &stack, &hello, &browser).await;
        browser.close().await;
    }
}

/// One series: N logins and N hello world loads in one browser, alternating, after one warm-up of each.
async fn identity_round(prefix: &str, n: usize, stack: &Stack, hello: &str, browser: &Browser) {
    let deadline = Instant::now() + Duration::from_secs(300);
    let (mut shown, mut session, mut verified, mut mounted) = (vec![], vec![], vec![], vec![]);
    let (mut parsed, mut fetch, mut wasm, mut hello_wasm) = (vec![], vec![], vec![], vec![]);
    for i in 0..=n {
        if Instant::now() > deadline {
            eprintln!("{prefix}: time bound reached after {i} logins");
            break;
        }
        browser.client.goto(hello).await.expect("hello loads");
        let m = mark(browser, "hello-mounted").await;
        let (_, hw) = load_timing(browser).await;

        browser.client.delete_all_cookies().await.expect("cookies");
        browser.client.goto(&stack.origin).await.expect("SPA loads");
        browser.wait_session_state("none").await;
        browser.click("login").await;
        browser.wait_session_state("active").await;
        let s = mark(browser, "identity-shown").await;
        let e = mark(browser, "session-established").await;
        let v = mark(browser, "id-token-verified").await;
        let f = mark(browser, "fragment-parsed").await;
        let (fs, w) = load_timing(browser).await;
        if i > 0 {
            mounted.push(m);
            shown.push(s);
            session.push(e);
            verified.push(v);
            parsed.push(f);
            fetch.push(fs);
            wasm.push(w);
            hello_wasm.push(hw);
        }
    }
    let key = |name: &str| format!("{prefix}.{name}");
    report_ms(&key("hello_mount"), mounted);
    report_ms(&key("hello_wasm_loaded"), hello_wasm);
    let in_browser: Vec<f64> = verified.iter().zip(&parsed).map(|(v, f)| v - f).collect();
    report_ms(&key("browser_validation"), in_browser);
    report_ms(&key("fetch_start"), fetch);
    report_ms(&key("wasm_loaded"), wasm);
    report_ms(&key("fragment_parsed"), parsed);
    report_ms(&key("id_token_verified"), verified);
    report_ms(&key("identity_shown"), shown);
    report_ms(&key("session_established"), session);
}

// ---------------------------------------------------------------------------------------------------------
// Proxy
// ---------------------------------------------------------------------------------------------------------

/// The length of the last access token the trivial upstream was called with.
static ACCESS_TOKEN_LEN: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);

/// The trivial upstream: `200 {"ok":true}` for any path, so the proxies, not the upstream, are measured.
async fn trivial_upstream() -> u16 {
    let port = free_port();
    let app = axum::Router::new().fallback(|headers: axum::http::HeaderMap| async move {
        if let Some(auth) = headers.get("authorization") {
            let len = auth.len().saturating_sub("Bearer ".len());
            ACCESS_TOKEN_LEN.store(len, std::sync::atomic::Ordering::Relaxed);
        }
        axum::Json(serde_json::json!({"ok": true}))
    });
    let listener = tokio::net::TcpListener::bind(("127.0.0.1", port))
        .await
        .unwrap();
    tokio::spawn(async move { axum::serve(listener, app).await });
    port
}

/// nginx (Debian) with 2 workers and upstream keep-alive, `proxy_pass` to `upstream`.
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

fn start_nginx(port: u16, upstream: u16) -> Nginx {
    let prefix = repo_root().join(format!("target/bench-nginx-{port}"));
    let _ = std::fs::remove_dir_all(&prefix);
    std::fs::create_dir_all(prefix.join("tmp")).unwrap();
    let p = prefix.display();
    let conf = format!(
        r#"
worker_processes 2;
error_log {p}/error.log warn;
pid {p}/nginx.pid;
events {{ worker_connections 1024; }}
http {{
    access_log off;
    client_body_temp_path {p}/tmp/body;
    proxy_temp_path {p}/tmp/proxy;
    fastcgi_temp_path {p}/tmp/fastcgi;
    uwsgi_temp_path {p}/tmp/uwsgi;
    scgi_temp_path {p}/tmp/scgi;
    upstream api {{ server 127.0.0.1:{upstream}; keepalive 64; }}
    server {{
        listen 127.0.0.1:{port};
        location / {{
            proxy_pass http://api;
            proxy_http_version 1.1;
            proxy_set_header Connection "";
        }}
    }}
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

/// Runs wrk and reports req/s, p50 and p99 (ms).
fn wrk(key: &str, url: &str, conns: u32, secs: u32, cookie: Option<&str>) {
    let mut cmd = Command::new("wrk");
    cmd.args(["--latency", "-t", &conns.min(2).to_string()])
        .args(["-c", &conns.to_string(), "-d", &format!("{secs}s")])
        .args(["--timeout", "5s"]);
    if let Some(c) = cookie {
        cmd.args(["-H", &format!("Cookie: {c}"), "-H", "X-CSRF: 1"]);
    }
    let out = cmd
        .arg(url)
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

async fn proxy(secs: u32) {
    let upstream = trivial_upstream().await;
    let api =
        format!("[apis.trivial]\nurl = \"http://127.0.0.1:{upstream}\"\nmethods = [\"GET\"]\n");
    let stack = Stack::start(StackOptions {
        bff_toml: api.clone(),
        ..Default::default()
    })
    .await;
    let memory_cookie = session_cookie(&stack.origin, &stack.redirect_uri).await;
    let redis = RedisServer::start().await;
    let key = base64::Engine::encode(
        &base64::engine::general_purpose::STANDARD,
        rand::random::<[u8; 32]>(),
    );
    let redis_bff = start_bff(
        &stack.issuer,
        shared::ResponseType::CodeIdToken,
        &format!(
            "{api}[oidc]\nredirect_uri = \"{}\"\nresource = \"urn:demo-api\"\n[session]\nstore = \"redis\"\nredis_url = \"{}\"\nkeys = [\"{key}\"]\n",
            stack.redirect_uri, redis.url
        ),
    )
    .await;
    let redis_cookie = session_cookie(&redis_bff.origin, &stack.redirect_uri).await;
    let nginx_port = free_port();
    let _nginx = start_nginx(nginx_port, upstream);
    let path = "/bench/item?id=1";
    let targets = [
        ("direct", format!("http://127.0.0.1:{upstream}{path}"), None),
        (
            "nginx",
            format!("http://127.0.0.1:{nginx_port}{path}"),
            None,
        ),
        (
            "bff_memory",
            format!(
                "{}/api/trivial{path}",
                stack.origin.replace("localhost", "127.0.0.1")
            ),
            Some(memory_cookie),
        ),
        (
            "bff_redis",
            format!(
                "{}/api/trivial{path}",
                redis_bff.origin.replace("localhost", "127.0.0.1")
            ),
            Some(redis_cookie),
        ),
    ];
    let client = reqwest::Client::new();
    for (name, url, cookie) in &targets {
        // Each target answers 200 before it is measured.
        wait_for(name, Duration::from_secs(15), || async {
            let mut r = client.get(url);
            if let Some(c) = cookie {
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
    use bff::session::store::{MemoryStore, Session, SessionStore};
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
        let session = Session {
            user: shared::api::User {
                sub: format!("user-{i}"),
                name: Some("Alice Example".into()),
                preferred_username: Some("alice".into()),
                email: Some("alice@example.com".into()),
                email_verified: Some(true),
            },
            issuer: "http://127.0.0.1:9090".into(),
            sid: Some(token(i, 36)),
            id_token: token(i, id_len),
            access_token: token(i, at_len),
            refresh_token: Some(token(i, rt_len)),
            access_token_expires_at: Some(now + 3600),
            created_at: now,
            last_seen: now,
            upstream_tokens: Default::default(),
        };
        let t = Instant::now();
        store
            .put(&bff::session::random_token(), session)
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
    use shared::verify::{verify_id_token, Keys};

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
    for _ in 0..50 {
        verify_id_token(&token, keys, &rules, now, &verifier)
            .await
            .unwrap();
    }
    let start = Instant::now();
    let mut done = 0u32;
    while done < n as u32 && start.elapsed() < Duration::from_secs(20) {
        verify_id_token(&token, keys, &rules, now, &verifier)
            .await
            .unwrap();
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

/// `n` logins taken as far as the fragment (BFF login transaction, the dev OP's redirect chain), not timed.
/// With `own_verifier`, the authorization request carries that PKCE challenge instead of the BFF's, so the code
/// can be redeemed directly at the token endpoint.
async fn mint(stack: &Stack, n: usize, own_verifier: Option<&str>) -> Vec<(BffClient, String)> {
    let mut minted = Vec::with_capacity(n);
    for _ in 0..n {
        let client = BffClient::new(&stack.origin);
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
        let fragment = authorize_at_op(url.as_str(), &stack.redirect_uri).await;
        minted.push((client, fragment));
    }
    minted
}

/// Logins are minted and redeemed in batches of this many: the dev OP's codes live 60 s, and minting is not
/// timed, so a batch must be redeemed well before its first code expires.
const LOGIN_BATCH: usize = 25;

async fn logins(n: usize, concurrency: usize) {
    let stack = Stack::start(StackOptions::default()).await;
    // Warm-up: the OP's and the BFF's first requests (JIT, key imports, connection pools).
    for (client, fragment) in mint(&stack, 5, None).await {
        client.create_session(&fragment).await;
    }

    let verifier = "bench-verifier-0123456789-abcdefghijklmnopqrstuvwxyz";
    let token_endpoint = format!("{}/token", stack.issuer);
    let http = reqwest::Client::new();
    let (mut bff, mut op) = (Duration::ZERO, Duration::ZERO);
    let mut left = n;
    while left > 0 {
        let batch = left.min(LOGIN_BATCH);
        left -= batch;
        let through_bff: Vec<_> = mint(&stack, batch, None)
            .await
            .into_iter()
            .map(|(client, fragment)| async move {
                client.create_session(&fragment).await;
            })
            .collect();
        bff += timed_batch(through_bff, concurrency).await;

        let direct: Vec<_> = mint(&stack, batch, Some(verifier))
            .await
            .into_iter()
            .map(|(_, fragment)| {
                let (http, token_endpoint, redirect_uri) = (
                    http.clone(),
                    token_endpoint.clone(),
                    stack.redirect_uri.clone(),
                );
                async move {
                    let code = shared::fragment::parse_fragment(&fragment)
                        .unwrap()
                        .code
                        .expect("a code");
                    let r = http
                        .post(&token_endpoint)
                        .basic_auth("hybrid-spa", Some("dev-only-hybrid-secret-0123456789"))
                        .form(&[
                            ("grant_type", "authorization_code"),
                            ("code", code.as_str()),
                            ("redirect_uri", redirect_uri.as_str()),
                            ("code_verifier", verifier),
                            ("resource", "urn:demo-api"),
                        ])
                        .send()
                        .await
                        .expect("token endpoint reachable");
                    assert_eq!(r.status(), 200, "{}", r.text().await.unwrap_or_default());
                    let _: serde_json::Value = r.json().await.expect("token response JSON");
                }
            })
            .collect();
        op += timed_batch(direct, concurrency).await;
    }

    report("logins.n", n);
    report("logins.concurrency", concurrency);
    report(
        "logins.bff_per_s",
        format!("{:.1}", n as f64 / bff.as_secs_f64()),
    );
    report(
        "logins.op_token_endpoint_per_s",
        format!("{:.1}", n as f64 / op.as_secs_f64()),
    );
    report(
        "logins.ratio",
        format!("{:.2}", op.as_secs_f64() / bff.as_secs_f64()),
    );
}
