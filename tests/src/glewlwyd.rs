//! glewlwyd 2.7 (Debian's package, extracted under `target/glewlwyd/root` by `scripts/install`) as a second,
//! independent OP: a fresh SQLite database, key and configuration per instance, set up through its admin API by
//! `dev/glewlwyd/glewlwyd.sh`. The server process is a [`Process`], killed by PID when dropped.

use crate::stack::Process;
use crate::{free_port, repo_root, wait_for};
use reqwest::header::LOCATION;
use reqwest::Client;
use serde_json::json;
use std::path::PathBuf;
use std::process::Command;
use std::time::Duration;
use url::Url;

/// The test user configured by the setup script.
pub const USER: &str = "alice";
pub const PASSWORD: &str = "alice-password";
/// The client configured by the setup script (confidential; the dev BFF's secret).
pub const CLIENT_ID: &str = "hybrid-spa";

/// A running, configured glewlwyd.
pub struct Glewlwyd {
    /// `http://127.0.0.1:PORT`: the server, its login page and its API under `/api`.
    pub origin: String,
    /// `http://127.0.0.1:PORT/api/oidc`, exactly as its discovery document says.
    pub issuer: String,
    server: Option<Process>,
    dir: PathBuf,
}

impl Drop for Glewlwyd {
    fn drop(&mut self) {
        // Stop the server (by PID), then remove its database and key.
        self.server.take();
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

fn script(args: &[&str], env: &[(&str, &str)]) {
    let out = Command::new(repo_root().join("dev/glewlwyd/glewlwyd.sh"))
        .args(args)
        .envs(env.iter().copied())
        .current_dir(repo_root())
        .output()
        .expect("dev/glewlwyd/glewlwyd.sh runs");
    assert!(
        out.status.success(),
        "glewlwyd.sh {}: {}{}",
        args[0],
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}

impl Glewlwyd {
    /// Starts glewlwyd on a free port with client `hybrid-spa` allowed to redirect to `redirect_uris` and to
    /// come back to `post_logout_uri` after logout; `backchannel_uri` gets its logout tokens.
    pub async fn start(
        redirect_uris: &[&str],
        post_logout_uri: &str,
        backchannel_uri: Option<&str>,
    ) -> Glewlwyd {
        Self::start_with(redirect_uris, post_logout_uri, backchannel_uri, &[]).await
    }

    /// [`Glewlwyd::start`] with `features`, the `GLEWLWYD_*` switches of `glewlwyd.sh configure` (PAR, DPoP, a
    /// `private_key_jwt` client), off unless a test asks for them.
    pub async fn start_with(
        redirect_uris: &[&str],
        post_logout_uri: &str,
        backchannel_uri: Option<&str>,
        features: &[(&str, String)],
    ) -> Glewlwyd {
        let port = free_port();
        let dir = repo_root().join(format!("target/glewlwyd/run-{port}"));
        let dir_s = dir.display().to_string();
        script(&["install"], &[]);
        script(&["prepare", &dir_s, &port.to_string()], &[]);
        let server = Process::spawn(
            &format!("glewlwyd-{port}"),
            "dev/glewlwyd/glewlwyd.sh",
            &["exec", &dir_s],
            &[],
        );
        let origin = format!("http://127.0.0.1:{port}");
        let http = Client::new();
        let probe = format!("{origin}/api/scope/");
        wait_for("glewlwyd to listen", Duration::from_secs(20), || async {
            // Any HTTP answer (401 without a session) means it is up.
            http.get(&probe).send().await.ok().map(|_| ())
        })
        .await;
        let redirects = redirect_uris.join(" ");
        let (origin2, post_logout, backchannel) = (
            origin.clone(),
            post_logout_uri.to_owned(),
            backchannel_uri.unwrap_or("").to_owned(),
        );
        let mut env: Vec<(String, String)> = features
            .iter()
            .map(|(k, v)| (k.to_string(), v.clone()))
            .collect();
        env.push(("GLEWLWYD_DIR".into(), dir_s.clone()));
        tokio::task::spawn_blocking(move || {
            script(
                &[
                    "configure",
                    &origin2,
                    &redirects,
                    &post_logout,
                    &backchannel,
                ],
                &env.iter()
                    .map(|(k, v)| (k.as_str(), v.as_str()))
                    .collect::<Vec<_>>(),
            )
        })
        .await
        .expect("configure runs");
        let issuer = format!("{origin}/api/oidc");
        Glewlwyd {
            origin,
            issuer,
            server: Some(server),
            dir,
        }
    }

    /// A client holding a glewlwyd user session for `alice` that has granted `scopes` to `hybrid-spa`: what the
    /// login page's JavaScript does, through the same API (POST /api/auth/, PUT /api/auth/grant/<client>).
    pub async fn signed_in_client(&self, scopes: &str) -> Client {
        self.signed_in_client_of(CLIENT_ID, scopes).await
    }

    /// [`Glewlwyd::signed_in_client`] with the grant to `client_id`.
    pub async fn signed_in_client_of(&self, client_id: &str, scopes: &str) -> Client {
        let op = Client::builder()
            .cookie_store(true)
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .expect("client");
        let r = op
            .post(format!("{}/api/auth/", self.origin))
            .json(&json!({"username": USER, "password": PASSWORD}))
            .send()
            .await
            .expect("glewlwyd reachable");
        assert!(r.status().is_success(), "glewlwyd login: {}", r.status());
        let r = op
            .put(format!("{}/api/auth/grant/{client_id}", self.origin))
            .json(&json!({ "scope": scopes }))
            .send()
            .await
            .expect("glewlwyd reachable");
        assert!(r.status().is_success(), "glewlwyd grant: {}", r.status());
        op
    }

    /// Signs alice in, then runs the authorization request (with `g_continue`, which tells glewlwyd the login
    /// page is done) and returns the redirect to `redirect_uri`, fragment included.
    pub async fn authorize(&self, authorization_url: &str, redirect_uri: &str) -> Url {
        let scopes = Url::parse(authorization_url)
            .expect("authorization URL")
            .query_pairs()
            .find(|(k, _)| k == "scope")
            .map(|(_, v)| v.into_owned())
            .expect("the request has a scope");
        let op = self.signed_in_client(&scopes).await;
        let url = format!("{authorization_url}&g_continue");
        let r = op.get(&url).send().await.expect("glewlwyd reachable");
        let location = r
            .headers()
            .get(LOCATION)
            .unwrap_or_else(|| panic!("glewlwyd answered {} without a redirect", r.status()))
            .to_str()
            .expect("ASCII Location")
            .to_owned();
        assert!(
            location.starts_with(redirect_uri),
            "glewlwyd redirected elsewhere: {location}"
        );
        Url::parse(&location).expect("Location is a URL")
    }
}
