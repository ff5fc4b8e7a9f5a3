//! Headless Chromium through chromedriver (Debian packages), driven with fantoccini.

use crate::stack::{Process, Stack, StackOptions};
use crate::{free_port, repo_root, wait_for};
use fantoccini::elements::Element;
use fantoccini::{Client, ClientBuilder, Locator};
use std::time::{Duration, Instant};

/// The dev OP consent page's Allow and Deny buttons.
pub const CONSENT_APPROVE: &str = "button[data-testid='consent-approve']";
pub const CONSENT_DENY: &str = "button[data-testid='consent-deny']";

/// A chromedriver process and one browser session.
pub struct Browser {
    pub client: Client,
    _driver: Process,
}

impl Browser {
    /// Starts chromedriver on a free port and a fresh headless Chromium profile.
    pub async fn start() -> Browser {
        let port = free_port();
        let driver = Process::spawn(
            &format!("chromedriver-{port}"),
            "chromedriver",
            &[&format!("--port={port}")],
            &[],
        );
        let profile = repo_root().join(format!("target/e2e-chrome/{port}"));
        let _ = std::fs::remove_dir_all(&profile);
        let args = [
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-dev-shm-usage",
            "--disable-quic",
            "--no-first-run",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            "--window-size=1280,900",
        ]
        .iter()
        .map(|s| s.to_string())
        .chain([format!("--user-data-dir={}", profile.display())])
        .collect::<Vec<_>>();
        let mut caps = serde_json::Map::new();
        caps.insert(
            "goog:chromeOptions".into(),
            serde_json::json!({ "binary": "/usr/bin/chromium", "args": args }),
        );
        let webdriver = format!("http://127.0.0.1:{port}");
        let client = wait_for(
            "chromedriver to accept a session",
            Duration::from_secs(30),
            || {
                let caps = caps.clone();
                let webdriver = webdriver.clone();
                async move {
                    ClientBuilder::new(hyper_util::client::legacy::connect::HttpConnector::new())
                        .capabilities(caps)
                        .connect(&webdriver)
                        .await
                        .ok()
                }
            },
        )
        .await;
        Browser {
            client,
            _driver: driver,
        }
    }

    /// A fresh browser on the SPA at `origin`, signed in as the OP's default user: what most browser tests
    /// need before the part they are about.
    pub async fn signed_in(origin: &str) -> Browser {
        let browser = Browser::start().await;
        browser.open_spa(origin).await;
        browser.sign_in().await;
        browser
    }

    /// A new stack with `options` serving the SPA, and a browser signed in on it. Chromium starts while the
    /// stack comes up (each takes about a second, mostly waiting).
    pub async fn signed_in_on_new_stack(options: StackOptions) -> (Stack, Browser) {
        let (stack, browser) = tokio::join!(
            Stack::start(StackOptions {
                serve_spa: true,
                ..options
            }),
            Browser::start()
        );
        browser.open_spa(&stack.origin).await;
        browser.sign_in().await;
        (stack, browser)
    }

    /// Loads the SPA at `origin` and waits until it has asked the BFF and shows no session, so a click on
    /// Log in starts a login rather than racing the page's start.
    pub async fn open_spa(&self, origin: &str) {
        self.client.goto(origin).await.expect("SPA loads");
        self.wait_session_state("none").await;
    }

    /// Signs in from the signed-out SPA: Log in, through the OP (every wait presses Allow on a consent page it
    /// meets), back until the session is active.
    pub async fn sign_in(&self) {
        self.click("login").await;
        self.wait_session_state("active").await;
    }

    /// Waits (bounded) for the first element matching `css`.
    pub async fn wait_for_css(&self, css: &str) -> Element {
        self.element(css, "wait").await
    }

    /// Picks `value` in the `<select id=select>`, once that option exists.
    pub async fn choose(&self, select: &str, value: &str) {
        self.element(&format!("#{select} option[value='{value}']"), "choose")
            .await
            .click()
            .await
            .expect("option chosen");
    }

    /// Saves a PNG of the viewport as `target/screenshots/<name>.png` (the README shows some of them).
    pub async fn screenshot(&self, name: &str) {
        let dir = repo_root().join("target/screenshots");
        std::fs::create_dir_all(&dir).expect("screenshot dir");
        let png = self.client.screenshot().await.expect("screenshot");
        std::fs::write(dir.join(format!("{name}.png")), png).expect("screenshot written");
    }

    /// Waits (bounded) for the first element matching `css`. Meanwhile, when the dev OP shows its consent page
    /// (a user's first sign-in to the client), approves it as a person would: finds the Allow button and clicks
    /// it. A test that waits for the consent page's own elements (`consent` in the selector) never approves it:
    /// the page may finish loading between the look for the element and the look for the button.
    async fn element(&self, css: &str, what: &str) -> Element {
        let deadline = Instant::now() + Duration::from_secs(30);
        let on_consent_page = css.contains("consent");
        loop {
            if let Ok(el) = self.client.find(Locator::Css(css)).await {
                return el;
            }
            if !on_consent_page {
                self.approve_consent_if_shown().await;
            }
            assert!(
                Instant::now() < deadline,
                "{what}: no element matches {css} within 30 s"
            );
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    /// Clicks the dev OP consent page's Allow button if the page is shown; whether it was.
    pub async fn approve_consent_if_shown(&self) -> bool {
        let Ok(button) = self.client.find(Locator::Css(CONSENT_APPROVE)).await else {
            return false;
        };
        if button.text().await.is_ok_and(|t| t.trim() == "Allow") {
            return button.click().await.is_ok();
        }
        false
    }

    /// Waits for an element with this `data-testid` and returns its text.
    pub async fn text_of(&self, test_id: &str) -> String {
        let el = self
            .element(&format!("[data-testid='{test_id}']"), "text")
            .await;
        el.text().await.expect("element text")
    }

    /// Clicks the element with this `data-testid` once it exists.
    pub async fn click(&self, test_id: &str) {
        let el = self
            .element(&format!("[data-testid='{test_id}']"), "click")
            .await;
        el.click().await.expect("click");
    }

    /// Waits until `[data-testid=session-status]` has `data-state == state`.
    pub async fn wait_session_state(&self, state: &str) {
        let css = format!("[data-testid='session-status'][data-state='{state}']");
        self.element(&css, "session state").await;
    }

    /// The text of the `role="alert"` element, waiting for it to appear.
    pub async fn alert_text(&self) -> String {
        let el = self.element("[role='alert']", "alert").await;
        el.text().await.expect("alert text")
    }

    /// `GET /bff/user` from the page (same origin, with its cookies): the HTTP status, or an error when the
    /// script could not run.
    pub async fn try_bff_user_status(&self) -> Result<i64, String> {
        let script = "const done = arguments[arguments.length - 1];\
                      fetch('/bff/user', {credentials: 'same-origin'}).then(r => done(r.status), () => done(-1));";
        self.client
            .execute_async(script, vec![])
            .await
            .map_err(|e| format!("fetch('/bff/user') did not run: {e}"))?
            .as_i64()
            .ok_or_else(|| "fetch('/bff/user') gave no status".to_owned())
    }

    /// [`Browser::try_bff_user_status`], for tests that expect the script to run.
    pub async fn bff_user_status(&self) -> i64 {
        self.try_bff_user_status()
            .await
            .expect("fetch('/bff/user') runs")
    }

    /// Runs a script in the page and returns its JSON result.
    pub async fn eval(&self, script: &str) -> serde_json::Value {
        self.client
            .execute(script, vec![])
            .await
            .expect("script runs")
    }

    /// [`Browser::eval`] for a script that answers later (a fetch): it calls its last argument with its result,
    /// which WebDriver waits for.
    pub async fn eval_async(&self, script: &str) -> serde_json::Value {
        self.client
            .execute_async(script, vec![])
            .await
            .expect("script runs")
    }

    /// Ends the browser session.
    pub async fn close(self) {
        let _ = self.client.close().await;
    }
}
