//! Everything the page does: each action runs its I/O through [`crate::bff`] or [`crate::callback`] and then
//! writes [`State`] in whole units ([`Status`], [`Notice`]), so views only render and call these.

use crate::browser;
use crate::flow::{self, Outcome, Step};
use crate::problem::{Cause, Problem};
use crate::state::{ConsoleOutcome, Identity, Notice, Retry, State, Status};
use crate::{bff, callback, pending};
use leptos::prelude::*;
use leptos::task::spawn_local;
use shared::api::SessionInfo;
use shared::json::decimal;
use shared::ResponseType;

/// Largest console response body shown (the rest is cut).
const SHOWN_BYTES: usize = 64 * 1024;

/// The page's actions over its [`State`]. `Copy`: each view gets it by value.
#[derive(Clone, Copy)]
pub struct Actions {
    state: State,
}

/// One API console call as the form gave it.
pub struct ConsoleRequest {
    /// The upstream's name (`/api/<name>/...`).
    pub api: String,
    pub method: String,
    /// The path after `/api/<name>`.
    pub path: String,
    /// Sent only with methods that take a body, and only when not blank.
    pub body: String,
}

impl Actions {
    /// The actions over this page's state.
    pub fn new(state: State) -> Actions {
        Actions { state }
    }

    /// Page load: a redirect back from the OP, a return from the OP's logout, or an ordinary visit.
    pub fn start(self) {
        if let Some(fragment) = callback::take_fragment() {
            // Before the first render: the page is drawn as "checking the sign-in" at once, without the Log in
            // button or the API console (and its request for the API list) that would be torn down right after.
            self.state.set_status(Status::Verifying);
            spawn_local(self.complete_sign_in(fragment));
            return;
        }
        let logout_state = state_param(&browser::search());
        // Any other path (a deep link such as `/somewhere?x=1`) stays: it is restored after a sign-in.
        if logout_state.is_some() || browser::path().starts_with("/callback") {
            browser::clean_address_bar();
        }
        self.check_session(logout_state);
    }

    /// Page load without a fragment: does the BFF hold a session for this browser? `logout_state`: the page is
    /// the OP's redirect back after logout, with this `state`.
    fn check_session(self, logout_state: Option<String>) {
        spawn_local(async move {
            let status = match bff::current_session().await {
                Ok(Some(info)) => {
                    self.log(Step::new(
                        "Session restored",
                        "GET /bff/user: the BFF holds a session for this browser (its cookie is HttpOnly; the tokens stay on the server)",
                        Outcome::Passed,
                    ));
                    Status::Active(self.session_identity(info))
                }
                Ok(None) => {
                    // "Signed out" only when the BFF recognises the state as this browser's logout; anything
                    // else (a crafted link, an expired logout) is the neutral "not signed in".
                    let confirmed = match logout_state {
                        Some(state) => bff::logout_return(&state).await.is_ok_and(|c| c.signed_out),
                        None => false,
                    };
                    if confirmed {
                        Status::LoggedOut
                    } else {
                        Status::SignedOut
                    }
                }
                Err(problem) => {
                    self.notify(problem, Some(Retry::CheckSession));
                    Status::SignedOut
                }
            };
            self.state.set_status(status);
        });
    }

    /// The BFF's view of the user (the merged claims) for the card, and its token endpoint and userinfo steps in
    /// the flow view.
    fn session_identity(self, info: SessionInfo) -> Identity {
        if !info.token_client.auth_method.is_empty() {
            self.log(flow::token_client_step(&info.token_client));
        }
        self.log(flow::userinfo_step(&info.userinfo));
        let claims = if info.claims.is_empty() {
            info.user.id_token_claims()
        } else {
            info.claims
        };
        Identity {
            user: info.user,
            claims,
        }
    }

    fn log(self, step: Step) {
        self.state.timeline.update(|t| t.push(step));
    }

    /// The alert's "Try again".
    pub fn retry(self) {
        let retry = self
            .state
            .notice
            .with_untracked(|n| n.as_ref().and_then(|n| n.retry));
        match retry {
            Some(Retry::LogIn) => self.log_in(),
            Some(Retry::CallApi) => self.call_api(),
            Some(Retry::CheckSession) => {
                self.state.notice.set(None);
                self.state.set_status(Status::Unknown);
                self.check_session(None);
            }
            None => {}
        }
    }

    /// Step 3 of the flow: verify in the browser, show the user, then let the BFF redeem the code.
    ///
    /// The user comes first on screen: the checks' steps are kept aside, and the flow view (timeline, token
    /// tables) is built only after the frame that shows the user has been painted (or once the BFF has answered
    /// or the sign-in has failed, if that comes first), so no rendering but the user's stands between the
    /// verified token and the identity on screen. The code goes to the BFF meanwhile.
    async fn complete_sign_in(self, fragment: String) {
        let held = std::rc::Rc::new(std::cell::RefCell::new(Vec::new()));
        let log = |step: Step| held.borrow_mut().push(step);
        let result = callback::verify(&fragment, &log).await;
        let flush = {
            let (held, timeline) = (held.clone(), self.state.timeline);
            move || {
                if !held.borrow().is_empty() {
                    timeline.update(|t| t.append(&mut held.borrow_mut()));
                }
            }
        };
        let verified = match result {
            Ok(verified) => verified,
            Err(problem) => {
                flush();
                return self.fail(problem);
            }
        };
        let shown = verified.user.map(Identity::from_id_token);
        let has_user = shown.is_some();
        self.state.set_status(Status::Exchanging(shown));
        if has_user {
            browser::mark("hybrid:user-shown");
            browser::mark("identity-shown");
            log(Step::new(
                "Identity shown",
                "from the verified ID token, before the BFF has answered",
                Outcome::Passed,
            ));
        }
        let code = verified.response.code.as_deref().map(flow::short);
        log(Step::new(
            "Code sent to the BFF",
            [
                "POST /bff/session with code=",
                &code.unwrap_or_default(),
                ": the BFF checks the response again and redeems the code (PKCE, client authentication)",
            ]
            .concat(),
            Outcome::Info,
        ));
        let (details, token, table) = (flush.clone(), self.state.token, verified.table);
        browser::after_next_paint(move || {
            if has_user {
                browser::mark("identity-painted");
            }
            details();
            token.set(table);
        });
        let started = js_sys::Date::now();
        let answer = bff::create_session(&verified.response).await;
        flush();
        match answer {
            Ok(info) => {
                self.log(Step::new(
                    "BFF exchange",
                    [
                        "token endpoint answered; tokens validated and kept on the server (",
                        &decimal((js_sys::Date::now() - started) as i64),
                        " ms)",
                    ]
                    .concat(),
                    Outcome::Passed,
                ));
                let expires_at = info.expires_at;
                let identity = self.session_identity(info);
                self.state.set_status(Status::Active(identity));
                browser::mark("hybrid:session-up");
                browser::mark("session-established");
                self.log(Step::new(
                    "Session established",
                    "HttpOnly session cookie set; ends at the latest ".to_owned()
                        + &String::from(
                            js_sys::Date::new(&((expires_at as f64) * 1000.0).into())
                                .to_iso_string(),
                        ),
                    Outcome::Passed,
                ));
            }
            Err(problem) => {
                self.log(Step::new(
                    "BFF exchange",
                    problem.code.clone(),
                    Outcome::Failed,
                ));
                self.fail(problem)
            }
        }
    }

    /// Log in: the BFF starts a sign-in, the OP's keys are fetched ahead, then the browser leaves for the OP.
    pub fn log_in(self) {
        self.begin();
        spawn_local(async move {
            let started = match bff::login(self.state.response_type.get_untracked()).await {
                Ok(started) => started,
                Err(problem) => return self.fail(problem),
            };
            let now = browser::now_secs();
            // Public data fetched ahead, so the way back needs no network round trip for the keys.
            let jwks = callback::fetch_jwks(&started.pending.jwks_uri)
                .await
                .ok()
                .map(|(_, json)| json);
            let stored = pending::Stored {
                scope: pending::scope_of(&started.authorization_url),
                return_to: pending::safe_return_path(&browser::path_and_query())
                    .unwrap_or_default(),
                started_ms: browser::now_ms(),
                jwks_fetched_at: now,
                jwks,
                pending: started.pending,
            };
            if pending::save(&stored).is_err() {
                return self.fail(Problem::new(
                    "storage_unavailable",
                    "This browser does not allow the page to remember the sign-in (session storage is blocked).",
                ));
            }
            if browser::navigate(&started.authorization_url).is_err() {
                self.fail(Problem::new(
                    "navigation_failed",
                    "The sign-in page could not be opened.",
                ));
            }
            // Stay busy: the browser is leaving for the identity provider.
        });
    }

    /// The Advanced settings opened: ask once which response types this BFF accepts.
    pub fn load_login_options(self) {
        if self.state.login_options.with_untracked(Option::is_some) {
            return;
        }
        spawn_local(async move {
            match bff::login_options().await {
                Ok(options) => self.state.login_options.set(Some(options)),
                Err(problem) => self.notify(problem, None),
            }
        });
    }

    /// A response type picked in the Advanced settings (its canonical spelling); the default means "none".
    pub fn choose_response_type(self, value: &str) {
        let default = self
            .state
            .login_options
            .with_untracked(|o| o.as_ref().map(|o| o.default_response_type));
        let chosen = value.parse::<ResponseType>().ok();
        self.state
            .response_type
            .set(chosen.filter(|chosen| Some(*chosen) != default));
    }

    /// Call API: the demo API through the BFF.
    pub fn call_api(self) {
        self.begin();
        self.state.api_result.set(None);
        spawn_local(async move {
            match bff::call_demo_api().await {
                Ok(json) => self.state.api_result.set(Some(json)),
                Err(bff::ApiError::SignedOut(problem)) => self.session_gone(problem),
                Err(bff::ApiError::Other(problem)) => self.notify(problem, Some(Retry::CallApi)),
            }
            self.state.busy.set(false);
        });
    }

    /// Log out: the BFF ends the session, then the browser posts the OP's end-session form when there is one.
    pub fn log_out(self) {
        self.begin();
        spawn_local(async move {
            match bff::logout().await {
                Ok(done) => {
                    self.state.api_result.set(None);
                    self.state.token.set(None);
                    self.state.timeline.set(Vec::new());
                    self.state.set_status(Status::LoggedOut);
                    if let Some(end) = done.end_session {
                        if browser::submit_form(&end.action, end.method.as_str(), &end.fields)
                            .is_ok()
                        {
                            return; // stay busy while the browser leaves
                        }
                    }
                }
                Err(problem) => self.notify(problem, None),
            }
            self.state.busy.set(false);
        });
    }

    /// The API console opened (or its "Try again"): which upstreams it may call.
    pub fn load_apis(self) {
        let console = self.state.console;
        console.load_problem.set(None);
        spawn_local(async move {
            match bff::apis().await {
                Ok(catalog) => console.apis.set(catalog.apis),
                Err(problem) => console.load_problem.set(Some(problem)),
            }
        });
    }

    /// One API console call through the BFF, shown whatever its status; a 401 also ends the page's session.
    pub fn console_send(self, request: ConsoleRequest) {
        let ConsoleRequest {
            api,
            method,
            path,
            body,
        } = request;
        let console = self.state.console;
        let url = ["/api/", &api, "/", path.trim_start_matches('/')].concat();
        let body = (!matches!(method.as_str(), "GET" | "HEAD"))
            .then_some(body)
            .filter(|b| !b.trim().is_empty());
        console.busy.set(true);
        console.last.set(None);
        spawn_local(async move {
            let started = js_sys::Date::now();
            let result = bff::console_call(&method, &url, body).await;
            let millis = (js_sys::Date::now() - started) as i64;
            let outcome = match result {
                Ok(reply) => {
                    let problem = bff::explain(&reply);
                    if let Some(p) = problem.as_ref().filter(|p| p.cause == Cause::SessionEnded) {
                        self.session_gone(p.clone());
                    }
                    let mut headers = String::new();
                    for (k, v) in &reply.headers {
                        headers.push_str(k);
                        headers.push_str(": ");
                        headers.push_str(v);
                        headers.push('\n');
                    }
                    ConsoleOutcome {
                        status: reply.status,
                        millis,
                        body: shown_body(&reply.body),
                        headers,
                        problem,
                    }
                }
                Err(problem) => ConsoleOutcome {
                    status: 0,
                    millis,
                    headers: String::new(),
                    body: String::new(),
                    problem: Some(problem),
                },
            };
            console.last.set(Some(outcome));
            console.busy.set(false);
        });
    }

    /// A 401 from the BFF: the session ended (expired, logged out elsewhere); offer to sign in again.
    fn session_gone(self, problem: Problem) {
        self.state.set_status(Status::SignedOut);
        self.notify(problem, Some(Retry::LogIn));
    }

    fn notify(self, problem: Problem, retry: Option<Retry>) {
        self.state.notice.set(Some(Notice { problem, retry }));
    }

    fn begin(self) {
        self.state.notice.set(None);
        self.state.busy.set(true);
    }

    fn fail(self, problem: Problem) {
        self.state.set_status(Status::Failed);
        self.notify(problem, Some(Retry::LogIn));
        self.state.busy.set(false);
    }
}

/// A console answer's body as text: JSON pretty-printed, anything else as it came (cut at [`SHOWN_BYTES`]).
fn shown_body(body: &[u8]) -> String {
    if body.is_empty() {
        return "(empty body)".into();
    }
    crate::json::pretty(body).unwrap_or_else(|| {
        String::from_utf8_lossy(&body[..body.len().min(SHOWN_BYTES)]).into_owned()
    })
}

/// The `state` query parameter, decoded (the OP's redirect back after logout carries it).
fn state_param(search: &str) -> Option<String> {
    let query = search.strip_prefix('?').unwrap_or(search);
    query.split('&').find_map(|pair| {
        let value = pair.strip_prefix("state=")?;
        js_sys::decode_uri_component(&value.replace('+', " "))
            .ok()
            .and_then(|s| s.as_string())
    })
}
