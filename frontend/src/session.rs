//! The page's state and the actions that drive it. Views read these signals and call these actions; all I/O
//! goes through [`crate::bff`] and [`crate::callback`].

use crate::browser;
use crate::flow::{self, Outcome, Step, TokenTable};
use crate::problem::Problem;
use crate::{bff, callback, pending};
use leptos::prelude::*;
use leptos::task::spawn_local;
use shared::api::{Claim, LoginOptions, SessionInfo, User};
use shared::ResponseType;

/// Where the sign-in stands; rendered as `data-state` on the status element.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Phase {
    None,
    Verifying,
    Exchanging,
    Active,
    SignedOut,
    Error,
}

impl Phase {
    pub fn attr(self) -> &'static str {
        match self {
            Phase::None => "none",
            Phase::Verifying => "verifying",
            Phase::Exchanging => "exchanging",
            Phase::Active => "active",
            Phase::SignedOut => "signed-out",
            Phase::Error => "error",
        }
    }

    pub fn text(self) -> &'static str {
        match self {
            Phase::None => "Not signed in",
            Phase::Verifying => "Checking the sign-in…",
            Phase::Exchanging => "Signing in on the server…",
            Phase::Active => "Session active",
            Phase::SignedOut => "Signed out",
            Phase::Error => "Sign-in failed",
        }
    }

    /// Whether the Log in button makes sense now.
    pub fn can_log_in(self) -> bool {
        matches!(self, Phase::None | Phase::SignedOut | Phase::Error)
    }
}

/// What the alert's "Try again" button does.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Retry {
    LogIn,
    CheckSession,
    CallApi,
}

#[derive(Clone, Copy)]
pub struct Session {
    /// The flow view's timeline (this page load only; never token material).
    pub timeline: RwSignal<Vec<Step>>,
    /// The decoded, verified ID token of this sign-in.
    pub token: RwSignal<Option<TokenTable>>,
    pub retry: RwSignal<Option<Retry>>,
    pub phase: RwSignal<Phase>,
    pub user: RwSignal<Option<User>>,
    /// The claims on the user card, with their sources: the ID token's at first, the BFF's merged ones once the
    /// session is up.
    pub claims: RwSignal<Vec<Claim>>,
    pub problem: RwSignal<Option<Problem>>,
    pub api_result: RwSignal<Option<String>>,
    /// False until the first answer (session check or callback) is known, so no button flickers.
    pub ready: RwSignal<bool>,
    /// A request started by a button is in flight.
    pub busy: RwSignal<bool>,
    /// What `GET /bff/login` said a sign-in may ask for; asked the first time the Advanced settings open.
    pub login_options: RwSignal<Option<LoginOptions>>,
    /// A response type other than the BFF's default, picked in the Advanced settings (conformance mode);
    /// `None` signs in with the default.
    pub response_type: RwSignal<Option<ResponseType>>,
}

impl Session {
    pub fn new() -> Session {
        Session {
            timeline: RwSignal::new(Vec::new()),
            token: RwSignal::new(None),
            retry: RwSignal::new(None),
            phase: RwSignal::new(Phase::None),
            user: RwSignal::new(None),
            claims: RwSignal::new(Vec::new()),
            problem: RwSignal::new(None),
            api_result: RwSignal::new(None),
            ready: RwSignal::new(false),
            busy: RwSignal::new(false),
            login_options: RwSignal::new(None),
            response_type: RwSignal::new(None),
        }
    }

    /// Page load: a redirect back from the OP, a return from the OP's logout, or an ordinary visit.
    pub fn start(self) {
        if let Some(fragment) = callback::take_fragment() {
            // Before the first render: the page is drawn as "checking the sign-in" at once, without the Log in
            // button or the API console (and its request for the API list) that would be torn down right after.
            self.phase.set(Phase::Verifying);
            self.ready.set(true);
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
            match bff::current_session().await {
                Ok(Some(info)) => {
                    self.phase.set(Phase::Active);
                    self.log(Step::new(
                        "Session restored",
                        "GET /bff/user: the BFF holds a session for this browser (its cookie is HttpOnly; the tokens stay on the server)",
                        Outcome::Passed,
                    ));
                    self.show_session(info);
                }
                Ok(None) => {
                    // "Signed out" only when the BFF recognises the state as this browser's logout; anything
                    // else (a crafted link, an expired logout) is the neutral "not signed in".
                    let confirmed = match logout_state {
                        Some(state) => bff::logout_return(&state).await.is_ok_and(|c| c.signed_out),
                        None => false,
                    };
                    self.phase.set(if confirmed {
                        Phase::SignedOut
                    } else {
                        Phase::None
                    });
                }
                Err(problem) => {
                    self.retry.set(Some(Retry::CheckSession));
                    self.problem.set(Some(problem));
                }
            }
            self.ready.set(true);
        });
    }

    /// The BFF's view of the user (the merged claims) on the card, and its userinfo step in the flow view.
    fn show_session(self, info: SessionInfo) {
        self.claims.set(if info.claims.is_empty() {
            info.user.id_token_claims()
        } else {
            info.claims
        });
        self.user.set(Some(info.user));
        self.log(flow::userinfo_step(&info.userinfo));
    }

    fn log(self, step: Step) {
        self.timeline.update(|t| t.push(step));
    }

    /// The alert's "Try again".
    pub fn retry_now(self) {
        match self.retry.get_untracked() {
            Some(Retry::LogIn) => self.log_in(),
            Some(Retry::CallApi) => self.call_api(),
            Some(Retry::CheckSession) => {
                self.problem.set(None);
                self.retry.set(None);
                self.ready.set(false);
                self.check_session(None);
            }
            None => {}
        }
    }

    /// Step 3 of the flow: validate in the browser, show the user, then let the BFF redeem the code.
    ///
    /// The user comes first on screen: the checks' steps are kept aside and the flow view (timeline, token
    /// tables) is drawn only once the user is shown or the sign-in has failed, so no rendering but the user's
    /// stands between the verified token and the identity on screen.
    async fn complete_sign_in(self, fragment: String) {
        self.phase.set(Phase::Verifying);
        let held = std::cell::RefCell::new(Vec::new());
        let log = |step: Step| held.borrow_mut().push(step);
        let result = callback::verify(&fragment, &log).await;
        let flush = || self.timeline.update(|t| t.append(&mut held.borrow_mut()));
        let verified = match result {
            Ok(verified) => verified,
            Err(problem) => {
                flush();
                return self.fail(problem);
            }
        };
        if let Some(user) = verified.user {
            self.claims.set(user.id_token_claims());
            self.user.set(Some(user));
            browser::mark("hybrid:user-shown");
            browser::mark("identity-shown");
            flush();
            self.log(Step::new(
                "Identity shown",
                "from the verified ID token, before the BFF has answered",
                Outcome::Passed,
            ));
        } else {
            flush();
        }
        self.token.set(verified.table);
        self.phase.set(Phase::Exchanging);
        let code = verified.response.code.as_deref().map(flow::short);
        self.log(Step::new(
            "Code sent to the BFF",
            format!(
                "POST /bff/session with code={}: the BFF checks the response again and redeems the code (PKCE, client authentication)",
                code.unwrap_or_default()
            ),
            Outcome::Info,
        ));
        let started = js_sys::Date::now();
        match bff::create_session(&verified.response).await {
            Ok(info) => {
                self.log(Step::new(
                    "BFF exchange",
                    format!(
                        "token endpoint answered; tokens validated and kept on the server ({} ms)",
                        (js_sys::Date::now() - started) as i64
                    ),
                    Outcome::Passed,
                ));
                let expires_at = info.expires_at;
                self.show_session(info);
                self.phase.set(Phase::Active);
                browser::mark("hybrid:session-up");
                browser::mark("session-established");
                self.log(Step::new(
                    "Session established",
                    format!(
                        "HttpOnly session cookie set; ends at the latest {}",
                        String::from(
                            js_sys::Date::new(&((expires_at as f64) * 1000.0).into())
                                .to_iso_string()
                        )
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

    pub fn log_in(self) {
        self.begin();
        spawn_local(async move {
            let started = match bff::login(self.response_type.get_untracked()).await {
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
                started_ms: js_sys::Date::now(),
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
        if self.login_options.with_untracked(Option::is_some) {
            return;
        }
        spawn_local(async move {
            match bff::login_options().await {
                Ok(options) => self.login_options.set(Some(options)),
                Err(problem) => self.problem.set(Some(problem)),
            }
        });
    }

    /// A response type picked in the Advanced settings (its canonical spelling); the default means "none".
    pub fn choose_response_type(self, value: &str) {
        let default = self
            .login_options
            .with_untracked(|o| o.as_ref().map(|o| o.default_response_type));
        let chosen = value.parse::<ResponseType>().ok();
        self.response_type
            .set(chosen.filter(|chosen| Some(*chosen) != default));
    }

    pub fn call_api(self) {
        self.begin();
        self.api_result.set(None);
        spawn_local(async move {
            match bff::call_demo_api().await {
                Ok(json) => self.api_result.set(Some(json)),
                Err(bff::ApiError::SignedOut(problem)) => self.session_gone(problem),
                Err(bff::ApiError::Other(problem)) => {
                    self.retry.set(Some(Retry::CallApi));
                    self.problem.set(Some(problem));
                }
            }
            self.busy.set(false);
        });
    }

    pub fn log_out(self) {
        self.begin();
        spawn_local(async move {
            match bff::logout().await {
                Ok(done) => {
                    self.user.set(None);
                    self.api_result.set(None);
                    self.token.set(None);
                    self.timeline.set(Vec::new());
                    self.phase.set(Phase::SignedOut);
                    if let Some(end) = done.end_session {
                        if browser::submit_form(&end.action, end.method.as_str(), &end.fields)
                            .is_ok()
                        {
                            return; // stay busy while the browser leaves
                        }
                    }
                }
                Err(problem) => self.problem.set(Some(problem)),
            }
            self.busy.set(false);
        });
    }

    /// A 401 from the BFF: the session ended (expired, logged out elsewhere); offer to sign in again.
    pub fn session_gone(self, problem: Problem) {
        self.user.set(None);
        self.phase.set(Phase::None);
        self.retry.set(Some(Retry::LogIn));
        self.problem.set(Some(problem));
    }

    fn begin(self) {
        self.problem.set(None);
        self.retry.set(None);
        self.busy.set(true);
    }

    fn fail(self, problem: Problem) {
        self.user.set(None);
        self.phase.set(Phase::Error);
        self.retry.set(Some(Retry::LogIn));
        self.problem.set(Some(problem));
        self.busy.set(false);
    }
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
