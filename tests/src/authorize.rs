//! A browser stand-in for BFF integration tests: a cookie-keeping client for the BFF, and a walker that follows
//! the dev OP's redirect chain (auto-login mode), approving its consent page when it shows one, and returns the
//! fragment it finally redirects to.

use reqwest::header::LOCATION;
use reqwest::{Client, Response};
use serde_json::Value;
use shared::api::{LoginStarted, CSRF_HEADER, CSRF_VALUE};
use std::sync::Arc;
use url::Url;

/// Talks to the BFF like the SPA does: same cookie jar, `X-CSRF: 1` on what needs it. A clone is the same
/// browser (its cookie jar is shared), e.g. for a request moved into a task.
#[derive(Clone)]
pub struct BffClient {
    pub http: Client,
    pub origin: String,
}

impl BffClient {
    pub fn new(origin: &str) -> BffClient {
        let http = Client::builder()
            .cookie_store(true)
            .build()
            .expect("client");
        BffClient {
            http,
            origin: origin.to_owned(),
        }
    }

    /// The same browser (cookie jar) at another origin, e.g. another BFF replica: cookies are not kept apart by
    /// port, so a session made through one replica is presented to the other.
    pub fn at(&self, origin: &str) -> BffClient {
        BffClient {
            http: self.http.clone(),
            origin: origin.to_owned(),
        }
    }

    pub async fn post(&self, path: &str, body: Option<&Value>) -> Response {
        let mut r = self
            .http
            .post(format!("{}{path}", self.origin))
            .header(CSRF_HEADER, CSRF_VALUE);
        if let Some(b) = body {
            r = r.json(b);
        }
        r.send().await.expect("BFF reachable")
    }

    pub async fn get(&self, path: &str) -> Response {
        self.http
            .get(format!("{}{path}", self.origin))
            .header(CSRF_HEADER, CSRF_VALUE)
            .send()
            .await
            .expect("BFF reachable")
    }

    /// Posts an authorization response, the fragment as the SPA read it, to `/bff/session`; asserts that a
    /// session was created and returns the answer (`{user, expires_at}`).
    pub async fn create_session(&self, fragment: &str) -> Value {
        let response =
            shared::fragment::parse_fragment(fragment).expect("the OP's response parses");
        let r = self
            .post(
                "/bff/session",
                Some(&serde_json::to_value(&response).unwrap()),
            )
            .await;
        let status = r.status();
        let body: Value = r.json().await.expect("JSON");
        assert_eq!(status, 200, "session creation: {body}");
        body
    }

    /// Logs in through the dev OP's redirect chain (auto-login mode) and creates the session.
    pub async fn log_in_at_op(&self, redirect_uri: &str) -> Value {
        let started = self.start_login().await;
        let fragment = authorize_at_op(&started.authorization_url, redirect_uri).await;
        self.create_session(&fragment).await
    }

    /// Starts a login and walks it at the dev OP: the authorization response as the SPA would post it to
    /// `/bff/session`, for tests that post it themselves (changed, or at a moment of their choosing).
    pub async fn authorization_response(&self, redirect_uri: &str) -> Value {
        let started = self.start_login().await;
        let fragment = authorize_at_op(&started.authorization_url, redirect_uri).await;
        let response =
            shared::fragment::parse_fragment(&fragment).expect("the OP's response parses");
        serde_json::to_value(response).expect("the response serialises")
    }

    /// Logs in as [`BffClient::log_in_at_op`] does (this client's jar keeps the session) and answers the
    /// session cookie's value, for requests written by hand.
    pub async fn log_in_for_cookie(&self, redirect_uri: &str) -> String {
        let response = self.authorization_response(redirect_uri).await;
        let created = self.post("/bff/session", Some(&response)).await;
        assert_eq!(created.status(), 200, "session creation");
        let cookie = created
            .cookies()
            .find(|c| c.name().ends_with("bff-session"))
            .expect("a session cookie")
            .value()
            .to_owned();
        cookie
    }

    /// `POST /bff/login`.
    pub async fn start_login(&self) -> LoginStarted {
        let r = self.post("/bff/login", None).await;
        assert_eq!(r.status(), 200, "login start");
        r.json().await.expect("LoginStarted JSON")
    }
}

/// `GET path` from `calls` concurrent tasks, spread round robin over `browsers` (one browser, or replicas sharing
/// a cookie jar), answering each call's status and JSON body in order: the storm the refresh tests need.
pub async fn parallel_gets(
    browsers: &[Arc<BffClient>],
    calls: usize,
    path: &str,
) -> Vec<(u16, Value)> {
    let tasks: Vec<_> = (0..calls)
        .map(|i| {
            let bff = browsers[i % browsers.len()].clone();
            let path = path.to_owned();
            tokio::spawn(async move {
                let r = bff.get(&path).await;
                (
                    r.status().as_u16(),
                    r.json::<Value>().await.unwrap_or_default(),
                )
            })
        })
        .collect();
    let mut answers = Vec::with_capacity(calls);
    for task in tasks {
        answers.push(task.await.expect("the call's task ran"));
    }
    answers
}

/// Follows the OP's redirects (its own cookies kept) until it redirects to `redirect_uri`; returns that URL's
/// fragment, which is what the SPA would read.
pub async fn authorize_at_op(authorization_url: &str, redirect_uri: &str) -> String {
    let op = Client::builder()
        .cookie_store(true)
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .expect("client");
    follow_to_redirect_uri(&op, authorization_url, redirect_uri).await
}

/// The redirect walk itself, with a caller's client (no automatic redirects; its cookie jar is the OP session).
pub async fn follow_to_redirect_uri(
    op: &Client,
    authorization_url: &str,
    redirect_uri: &str,
) -> String {
    let mut url = Url::parse(authorization_url).expect("authorization URL");
    for _ in 0..10 {
        let mut r = op.get(url.clone()).send().await.expect("OP reachable");
        if r.status() == 200 && r.headers().get(LOCATION).is_none() {
            // Not a redirect: the dev OP's consent page (a user's first sign-in to this client). Approve it as a
            // person would: press Allow, that is post the form the button is in.
            let page = r.text().await.expect("OP page");
            let (action, fields) = consent_approval(&page).unwrap_or_else(|| {
                panic!(
                    "the OP answered a page that is not its consent page at {}",
                    url.path()
                )
            });
            r = op
                .post(url.join(&action).expect("the form's action is a URL"))
                .form(&fields)
                .send()
                .await
                .expect("OP reachable");
        }
        let location = r
            .headers()
            .get(LOCATION)
            .unwrap_or_else(|| {
                panic!(
                    "OP answered {} without a redirect at {}",
                    r.status(),
                    url.path()
                )
            })
            .to_str()
            .expect("ASCII Location");
        let next = url.join(location).expect("Location is a URL");
        if next.as_str().starts_with(redirect_uri) {
            return next
                .fragment()
                .expect("hybrid responses come in the fragment")
                .to_owned();
        }
        url = next;
    }
    panic!("the OP did not redirect back within 10 hops");
}

/// The dev OP's consent page: the form of its Allow button (`data-testid="consent-approve"`), as its action and
/// the fields a browser would post (the button's own name and value among them), or `None` for another page.
pub fn consent_approval(page: &str) -> Option<(String, Vec<(String, String)>)> {
    consent_form(page, "consent-approve")
}

/// [`consent_approval`] for the Deny button (`data-testid="consent-deny"`).
pub fn consent_denial(page: &str) -> Option<(String, Vec<(String, String)>)> {
    consent_form(page, "consent-deny")
}

fn consent_form(page: &str, button: &str) -> Option<(String, Vec<(String, String)>)> {
    let at = page.find(&format!("data-testid=\"{button}\""))?;
    let start = page[..at].rfind("<form")?;
    let end = at + page[at..].find("</form>")?;
    let form = &page[start..end];
    let action = html_attribute(form, "action")?;
    let mut fields = Vec::new();
    for tag in form.split('<').skip(1) {
        let tag = &tag[..tag.find('>').unwrap_or(tag.len())];
        let is_field =
            tag.starts_with("input") || tag.contains(&format!("data-testid=\"{button}\""));
        if let (true, Some(name), Some(value)) = (
            is_field,
            html_attribute(tag, "name"),
            html_attribute(tag, "value"),
        ) {
            fields.push((name, value));
        }
    }
    Some((action, fields))
}

/// The value of `name="..."` in an HTML tag (double quotes, as the dev OP writes them; `&amp;` decoded).
pub fn html_attribute(tag: &str, name: &str) -> Option<String> {
    let key = format!(" {name}=\"");
    let start = tag.find(&key)? + key.len();
    let end = tag[start..].find('"')? + start;
    Some(tag[start..end].replace("&amp;", "&"))
}

/// Asserts that `r` is one of the BFF's JSON errors, `{error, message}` with this status and code (the contract
/// every refusal keeps); returns the body.
pub async fn expect_error(r: Response, status: u16, code: &str) -> Value {
    let got = r.status().as_u16();
    let body: Value = r.json().await.unwrap_or_else(|e| {
        panic!("a {got} answer that is not JSON (expected {status} {code}): {e}")
    });
    assert_eq!(
        (got, body["error"].as_str()),
        (status, Some(code)),
        "{body}"
    );
    assert!(
        body["message"].as_str().is_some_and(|m| !m.is_empty()),
        "{body}"
    );
    body
}
