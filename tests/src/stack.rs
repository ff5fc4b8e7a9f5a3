//! The servers a test needs: dev OP, demo API (Node child processes) and the BFF (in-process, real code).

use crate::{free_port, repo_root, wait_for};
use bff::session::storage::SessionStore;
use shared::ResponseType;
use std::fs::File;
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::time::Duration;

/// A child process killed (by PID) when dropped, so a failing test leaves nothing running.
pub struct Process {
    child: Child,
    log: String,
}

impl Process {
    /// Spawns `program args` in the repo root with `env`, logging to `target/e2e-logs/<log>.log`.
    pub fn spawn(log: &str, program: &str, args: &[&str], env: &[(&str, String)]) -> Process {
        let dir = repo_root().join("target/e2e-logs");
        std::fs::create_dir_all(&dir).expect("log dir");
        let out = File::create(dir.join(format!("{log}.log"))).expect("log file");
        let err = out.try_clone().expect("log file");
        let child = Command::new(program)
            .args(args)
            .current_dir(repo_root())
            .envs(env.iter().map(|(k, v)| (*k, v.as_str())))
            .stdin(Stdio::null())
            .stdout(out)
            .stderr(err)
            .spawn()
            .unwrap_or_else(|e| panic!("cannot start {program}: {e}"));
        Process {
            child,
            log: log.to_owned(),
        }
    }

    /// The OS process id (e.g. for a profiler to attach to).
    pub fn id(&self) -> u32 {
        self.child.id()
    }

    /// Panics if the process has exited: a server that failed to start (port taken, bad config) must not let
    /// a test go on talking to whatever else answers on that port.
    pub fn assert_running(&mut self) {
        if let Ok(Some(status)) = self.child.try_wait() {
            panic!(
                "{} exited ({status}); see target/e2e-logs/{}.log",
                self.log, self.log
            );
        }
    }
}

impl Drop for Process {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// How many entries the dev OP's in-memory store keeps in tests (`OP_MEMORY_ENTRIES`): about ten per login, so
/// the load test's thousand sessions and their refreshes fit many times over.
pub const OP_MEMORY_ENTRIES: usize = 100_000;

/// What a test wants from its stack.
#[derive(Clone)]
pub struct StackOptions {
    pub response_type: ResponseType,
    /// Serve the built SPA (`dist/`) from the BFF, for browser tests.
    pub serve_spa: bool,
    /// Send the OP's redirect somewhere else than the SPA's `/callback` (e.g. a tampering page).
    pub redirect_uri: Option<String>,
    /// More BFF configuration (TOML), merged table by table over the stack's own.
    pub bff_toml: String,
    /// Put the OP behind a proxy the test controls (fault tests, [`crate::fault_proxy`]).
    pub op_behind: Option<OpBehind>,
    /// The token layout of `bff/config/dev.toml`: no `[oidc] resource`, so the session's access token is the
    /// dev OP's own (opaque, accepted at its userinfo endpoint), and `[apis.demo] resource = "urn:demo-api"`, so
    /// the demo API is called with a JWT for it obtained with the refresh token (one more token request at the
    /// first API call). Off: the session's access token is the demo API's JWT (`[oidc] resource`), which the
    /// OP's userinfo endpoint refuses.
    pub main_token_for_op: bool,
    /// How long the dev OP's access tokens live (`OP_ACCESS_TOKEN_TTL`), when not its 3600 s: short, so that
    /// sessions refresh within a test.
    pub op_access_token_ttl: Option<u64>,
    /// More environment for the dev OP (its test switches, e.g. `OP_DPOP_NONCE`); set after the stack's own, so a
    /// name given here wins (e.g. `OP_CLIENT_JWKS_URI` for a BFF outside the stack).
    pub op_env: Vec<(&'static str, String)>,
    /// More environment for the demo API (e.g. `DEMO_API_DPOP_NONCE`).
    pub api_env: Vec<(&'static str, String)>,
    /// The dev OP requires pushed authorization requests (`OP_REQUIRE_PAR`).
    pub op_requires_par: bool,
    /// More redirect URIs the dev OP's clients accept besides the stack's own (`OP_REDIRECT_URIS`). For the
    /// benchmark only: its hello world reached through the OP's redirect as the SPA's callback is.
    pub op_extra_redirect_uris: Vec<String>,
}

/// An OP behind a proxy: its process listens on `op_port`, but its issuer, and so every URL it hands out and
/// every call the BFF and the demo API make, is `http://127.0.0.1:{issuer_port}`, where the proxy listens.
#[derive(Clone, Copy, Debug)]
pub struct OpBehind {
    pub issuer_port: u16,
    pub op_port: u16,
}

impl Default for StackOptions {
    fn default() -> Self {
        StackOptions {
            response_type: ResponseType::CodeIdToken,
            serve_spa: false,
            redirect_uri: None,
            bff_toml: String::new(),
            op_behind: None,
            main_token_for_op: false,
            op_access_token_ttl: None,
            op_env: Vec::new(),
            api_env: Vec::new(),
            op_requires_par: false,
            op_extra_redirect_uris: Vec::new(),
        }
    }
}

/// A running dev OP, demo API and BFF on fresh ports.
pub struct Stack {
    pub issuer: String,
    /// The browser-facing origin of the BFF (and the SPA when served), e.g. `http://localhost:PORT`.
    pub origin: String,
    pub redirect_uri: String,
    _op: Process,
    _api: Process,
    bff: Option<BffHandle>,
    /// What the BFF was started with, for restarts and replicas.
    response_type: ResponseType,
    bff_toml: String,
}

impl Stack {
    /// Starts everything and waits until the BFF is ready (discovery loaded).
    pub async fn start(options: StackOptions) -> Stack {
        let (op_port, api_port, bff_port) = match options.op_behind {
            Some(behind) => (behind.op_port, free_port(), free_port()),
            None => (free_port(), free_port(), free_port()),
        };
        let issuer_port = options.op_behind.map_or(op_port, |b| b.issuer_port);
        let issuer = format!("http://127.0.0.1:{issuer_port}");
        // The SPA and BFF on `localhost`, the OP on `127.0.0.1`: cookies are not separated by port.
        let origin = format!("http://localhost:{bff_port}");
        let redirect_uri = options
            .redirect_uri
            .clone()
            .unwrap_or_else(|| format!("{origin}/callback"));
        let mut op_env = vec![
            ("OP_PORT", op_port.to_string()),
            ("OP_ISSUER", issuer.clone()),
            ("OP_AUTO_LOGIN", "1".into()),
            (
                "OP_REDIRECT_URIS",
                std::iter::once(&redirect_uri)
                    .chain(&options.op_extra_redirect_uris)
                    .map(String::as_str)
                    .collect::<Vec<_>>()
                    .join(","),
            ),
            ("OP_POST_LOGOUT_URIS", format!("{origin}/")),
            (
                "OP_BACKCHANNEL_URI",
                format!("http://127.0.0.1:{bff_port}/bff/backchannel"),
            ),
            ("OP_MEMORY_ENTRIES", OP_MEMORY_ENTRIES.to_string()),
            // One signing key set for every test's OP: RSA key generation is a quarter of an OP's start.
            (
                "OP_KEYS_FILE",
                repo_root()
                    .join("target/e2e-op-keys.json")
                    .display()
                    .to_string(),
            ),
            (
                "OP_CLIENT_JWKS_URI",
                format!("http://127.0.0.1:{bff_port}/bff/jwks.json"),
            ),
        ];
        if options.op_requires_par {
            op_env.push(("OP_REQUIRE_PAR", "1".into()));
        }
        if let Some(ttl) = options.op_access_token_ttl {
            op_env.push(("OP_ACCESS_TOKEN_TTL", ttl.to_string()));
        }
        op_env.extend(options.op_env.iter().cloned());
        let op = Process::spawn(
            &format!("op-{op_port}"),
            "node",
            &["dev/op/server.mjs"],
            &op_env,
        );
        let api = Process::spawn(
            &format!("demo-api-{api_port}"),
            "node",
            &["dev/demo-api/server.mjs"],
            &[
                vec![
                    ("DEMO_API_PORT", api_port.to_string()),
                    ("OP_ISSUER", issuer.clone()),
                ],
                options.api_env.clone(),
            ]
            .concat(),
        );
        let static_dir = if options.serve_spa {
            serve_spa_toml()
        } else {
            String::new()
        };
        let (oidc_resource, demo_resource) = if options.main_token_for_op {
            ("", r#"resource = "urn:demo-api""#)
        } else {
            (r#"resource = "urn:demo-api""#, "")
        };
        let extra = format!(
            r#"
            {static_dir}
            [oidc]
            redirect_uri = "{redirect_uri}"
            {oidc_resource}
            [apis.demo]
            url = "http://127.0.0.1:{api_port}"
            {demo_resource}
            "#
        );
        let mut extra: toml::Table = extra.parse().expect("stack TOML");
        merge(
            &mut extra,
            options.bff_toml.parse().expect("bff_toml is TOML"),
        );
        let bff_toml = extra.to_string();
        let http = reqwest::Client::new();
        // The BFF retries discovery with a backoff that suits production (0.25, 0.5, 1, 2 s...): started before
        // Node has the OP listening, it would sleep up to a second past that moment, in every test. Any answer
        // on the OP's own port (not the issuer's, which a fault proxy may be told to break) means it is up.
        let op_up = format!("http://127.0.0.1:{op_port}/.well-known/openid-configuration");
        wait_for("the dev OP to listen", Duration::from_secs(30), || async {
            http.get(&op_up).send().await.ok().map(|_| ())
        })
        .await;
        let bff = start_bff_on(bff_port, &issuer, options.response_type, &bff_toml).await;
        let demo = format!("http://127.0.0.1:{api_port}/");
        wait_for("the demo API", Duration::from_secs(30), || async {
            http.get(&demo).send().await.ok().map(|_| ())
        })
        .await;
        Stack {
            issuer,
            origin,
            redirect_uri,
            _op: op,
            _api: api,
            bff: Some(bff),
            response_type: options.response_type,
            bff_toml,
        }
    }

    /// Stops the BFF (finishing its open connections) and starts a new one on the same port with the same
    /// configuration: what survives is what the session store kept.
    pub async fn restart_bff(&mut self) {
        self.stop_bff().await;
        self.start_bff_again().await;
    }

    /// Stops the BFF gracefully (see [`BffHandle::stop`]); its port refuses connections until
    /// [`Stack::start_bff_again`].
    pub async fn stop_bff(&mut self) {
        self.bff.take().expect("the stack has a BFF").stop().await;
    }

    /// The BFF's port, from its origin: for what reaches it by address rather than by origin (nginx's upstream).
    pub fn bff_port(&self) -> u16 {
        self.origin
            .rsplit(':')
            .next()
            .and_then(|p| p.parse().ok())
            .expect("the origin has a port")
    }

    /// The dev OP's origin, which the SPA fetches the OP's keys from (it verifies the ID token in the browser):
    /// what the deployment's CSP must allow besides the site's own.
    pub fn op_origin(&self) -> String {
        url::Url::parse(&self.issuer)
            .expect("the issuer is a URL")
            .origin()
            .ascii_serialization()
    }

    /// Starts a BFF with the same configuration on the stack's port, after [`Stack::stop_bff`].
    pub async fn start_bff_again(&mut self) {
        assert!(self.bff.is_none(), "the BFF is still running");
        let port = self.bff_port();
        self.bff = Some(start_bff_on(port, &self.issuer, self.response_type, &self.bff_toml).await);
    }

    /// Another BFF with the same configuration on its own port (a replica; shares what the store shares).
    /// Its origin differs by port only, so a browser's `localhost` cookies reach it too.
    pub async fn start_replica(&self) -> BffHandle {
        start_bff_on(
            free_port(),
            &self.issuer,
            self.response_type,
            &self.bff_toml,
        )
        .await
    }

    /// The whole configuration (TOML) a BFF of this stack on `port` runs with, for a BFF outside this process
    /// ([`crate::bff_process`]).
    pub fn bff_config(&self, port: u16) -> String {
        bff_config_toml(port, &self.issuer, self.response_type, &self.bff_toml)
    }

    /// How many token requests the dev OP has received (its test-mode counter).
    pub async fn token_requests(&self) -> u64 {
        let stats = self.op_stats().await;
        stats["token_requests"]
            .as_u64()
            .expect("token_requests is a number")
    }
}

impl Stack {
    /// The dev OP's test-mode record: counters, the requests it saw (parameter names only), and the claims of
    /// the client assertions it received.
    pub async fn op_stats(&self) -> serde_json::Value {
        reqwest::get(format!("{}/__test/stats", self.issuer))
            .await
            .expect("OP stats")
            .json()
            .await
            .expect("OP stats JSON")
    }
}

/// A running BFF (real code, in-process); stopped when dropped.
pub struct BffHandle {
    /// The browser-facing origin, `http://localhost:PORT`.
    pub origin: String,
    /// The redirect URI the BFF sends to the OP.
    pub redirect_uri: String,
    pub port: u16,
    server: tokio::task::JoinHandle<()>,
    shutdown: Option<tokio::sync::oneshot::Sender<()>>,
}

impl BffHandle {
    /// Graceful shutdown, as on SIGTERM: stops accepting, closes idle keep-alive connections, finishes
    /// in-flight requests; returns when the server has stopped (the port is free again).
    pub async fn stop(mut self) {
        if let Some(tx) = self.shutdown.take() {
            let _ = tx.send(());
        }
        if tokio::time::timeout(Duration::from_secs(10), &mut self.server)
            .await
            .is_err()
        {
            self.server.abort();
        }
    }
}

impl Drop for BffHandle {
    fn drop(&mut self) {
        self.server.abort();
    }
}

/// The BFF configuration line that serves the built SPA (`dist/`), for browser tests; panics with the fix when
/// the SPA has not been built.
pub fn serve_spa_toml() -> String {
    let dist = repo_root().join("dist");
    assert!(
        dist.join("index.html").exists(),
        "dist/ is missing: run `scripts/build-spa` first (scripts/test does)"
    );
    format!("static_dir = {:?}\n", dist.display().to_string())
}

/// Starts the BFF on a free port against `issuer` (client `hybrid-spa`) and waits until it has loaded the OP's
/// discovery document. See [`start_bff_on`] for `extra_toml`.
pub async fn start_bff(issuer: &str, response_type: ResponseType, extra_toml: &str) -> BffHandle {
    start_bff_on(free_port(), issuer, response_type, extra_toml).await
}

/// Starts the BFF on `port`. `extra_toml` is a TOML document merged over the base configuration, table by
/// table, e.g. `"[oidc]\nhttp_timeout_secs = 1"`; its values win.
pub async fn start_bff_on(
    port: u16,
    issuer: &str,
    response_type: ResponseType,
    extra_toml: &str,
) -> BffHandle {
    start_bff_with_store(port, issuer, response_type, extra_toml, |store| store).await
}

/// [`start_bff_on`] with the configured session store handed to `wrap` first, and the BFF using what it returns
/// (see [`bff::start_with_store`]): a test puts a store that fails on cue in front of the real one.
pub async fn start_bff_with_store(
    port: u16,
    issuer: &str,
    response_type: ResponseType,
    extra_toml: &str,
    wrap: impl FnOnce(Arc<dyn SessionStore>) -> Arc<dyn SessionStore>,
) -> BffHandle {
    let text = bff_config_toml(port, issuer, response_type, extra_toml);
    let config =
        bff::config::Config::from_toml(&text, std::iter::empty()).expect("test config is valid");
    let redirect_uri = config.oidc.redirect_uri.to_string();
    let store = bff::open_store(&config.session).expect("the session store opens");
    // The binary's own server (timeouts, metrics listener), bound to the configured `listen` (this port).
    let listeners = bff::serve::Listeners::bind(&config)
        .await
        .expect("BFF ports");
    let (state, _discovery) =
        bff::start_with_store(config, wrap(store)).expect("the login sealer opens");
    let (shutdown, stopped) = tokio::sync::oneshot::channel::<()>();
    let server = tokio::spawn(async move {
        let _ = bff::serve::run(state, listeners, async move {
            let _ = stopped.await;
        })
        .await;
    });
    let http = reqwest::Client::new();
    let ready = format!("http://127.0.0.1:{port}/readyz");
    wait_for(
        "the BFF to load the OP's discovery",
        Duration::from_secs(30),
        || async {
            let r = http.get(&ready).send().await.ok()?;
            r.status().is_success().then_some(())
        },
    )
    .await;
    BffHandle {
        origin: format!("http://localhost:{port}"),
        redirect_uri,
        port,
        server,
        shutdown: Some(shutdown),
    }
}

/// The configuration text of a BFF on `port` against `issuer`: the stack's base (client `hybrid-spa`, public
/// origin `http://localhost:PORT`) with `extra_toml` merged over it (see [`start_bff_on`]).
pub fn bff_config_toml(
    port: u16,
    issuer: &str,
    response_type: ResponseType,
    extra_toml: &str,
) -> String {
    // The SPA and BFF on `localhost`, the OP on `127.0.0.1`: cookies are not separated by port.
    let origin = format!("http://localhost:{port}");
    let base = format!(
        r#"
        listen = "127.0.0.1:{port}"
        public_origin = "{origin}"
        [oidc]
        issuer = "{issuer}"
        client_id = "hybrid-spa"
        client_secret = "dev-only-hybrid-secret-0123456789"
        redirect_uri = "{origin}/callback"
        post_logout_redirect_uri = "{origin}/"
        scopes = ["openid", "profile", "email", "offline_access", "api:read"]
        response_type = "{rt}"
        # The suite's existing tests read and extend the authorization URL (login_hint, query checks), which a
        # pushed request replaces with a request_uri: they keep the front-channel request, and the PAR tests
        # (par.rs) turn it on.
        par = "off"
        "#,
        rt = response_type.as_str(),
    );
    let mut table: toml::Table = base.parse().expect("base BFF config is TOML");
    let extra: toml::Table = extra_toml.parse().expect("extra BFF config is TOML");
    merge(&mut table, extra);
    toml::to_string(&table).expect("config serialises")
}

/// Deep merge: tables merge key by key, anything else in `over` replaces what `base` has.
fn merge(base: &mut toml::Table, over: toml::Table) {
    for (key, value) in over {
        match (base.get_mut(&key), value) {
            (Some(toml::Value::Table(b)), toml::Value::Table(o)) => merge(b, o),
            (_, value) => {
                base.insert(key, value);
            }
        }
    }
}
