//! The page's state and the actions that drive it. Views read these signals and call these actions; all I/O
//! goes through [`crate::bff`] and [`crate::callback`].

use crate::browser;
use crate::problem::Problem;
use crate::{bff, callback, pending};
use leptos::prelude::*;
use leptos::task::spawn_local;
use shared::api::User;

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

#[derive(Clone, Copy)]
pub struct Session {
    pub phase: RwSignal<Phase>,
    pub user: RwSignal<Option<User>>,
    pub problem: RwSignal<Option<Problem>>,
    pub api_result: RwSignal<Option<String>>,
    /// False until the first answer (session check or callback) is known, so no button flickers.
    pub ready: RwSignal<bool>,
    /// A request started by a button is in flight.
    pub busy: RwSignal<bool>,
}

impl Session {
    pub fn new() -> Session {
        Session {
            phase: RwSignal::new(Phase::None),
            user: RwSignal::new(None),
            problem: RwSignal::new(None),
            api_result: RwSignal::new(None),
            ready: RwSignal::new(false),
            busy: RwSignal::new(false),
        }
    }

    /// Page load: a redirect back from the OP, a return from the OP's logout, or an ordinary visit.
    pub fn start(self) {
        if let Some(fragment) = callback::take_fragment() {
            self.ready.set(true);
            spawn_local(self.complete_sign_in(fragment));
            return;
        }
        let returned_from_logout = has_state_param(&browser::search());
        if returned_from_logout || browser::path() != "/" {
            browser::clean_address_bar();
        }
        spawn_local(async move {
            match bff::current_session().await {
                Ok(Some(info)) => {
                    self.user.set(Some(info.user));
                    self.phase.set(Phase::Active);
                }
                Ok(None) if returned_from_logout => self.phase.set(Phase::SignedOut),
                Ok(None) => self.phase.set(Phase::None),
                Err(problem) => self.problem.set(Some(problem)),
            }
            self.ready.set(true);
        });
    }

    /// Step 3 of the flow: validate in the browser, show the user, then let the BFF redeem the code.
    async fn complete_sign_in(self, fragment: String) {
        self.phase.set(Phase::Verifying);
        let verified = match callback::verify(&fragment).await {
            Ok(verified) => verified,
            Err(problem) => return self.fail(problem),
        };
        if let Some(user) = verified.user {
            self.user.set(Some(user));
            browser::mark("hybrid:user-shown");
        }
        self.phase.set(Phase::Exchanging);
        match bff::create_session(&verified.response).await {
            Ok(info) => {
                self.user.set(Some(info.user));
                self.phase.set(Phase::Active);
                browser::mark("hybrid:session-up");
            }
            Err(problem) => self.fail(problem),
        }
    }

    pub fn log_in(self) {
        self.begin();
        spawn_local(async move {
            let started = match bff::login().await {
                Ok(started) => started,
                Err(problem) => return self.fail(problem),
            };
            if pending::save(&started.pending).is_err() {
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

    pub fn call_api(self) {
        self.begin();
        self.api_result.set(None);
        spawn_local(async move {
            match bff::call_demo_api().await {
                Ok(json) => self.api_result.set(Some(json)),
                Err(bff::ApiError::SignedOut(problem)) => {
                    self.user.set(None);
                    self.phase.set(Phase::None);
                    self.problem.set(Some(problem));
                }
                Err(bff::ApiError::Other(problem)) => self.problem.set(Some(problem)),
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
                    self.phase.set(Phase::SignedOut);
                    if let Some(url) = done.end_session_url {
                        if browser::navigate(&url).is_ok() {
                            return; // stay busy while the browser leaves
                        }
                    }
                }
                Err(problem) => self.problem.set(Some(problem)),
            }
            self.busy.set(false);
        });
    }

    fn begin(self) {
        self.problem.set(None);
        self.busy.set(true);
    }

    fn fail(self, problem: Problem) {
        self.user.set(None);
        self.phase.set(Phase::Error);
        self.problem.set(Some(problem));
        self.busy.set(false);
    }
}

fn has_state_param(search: &str) -> bool {
    let query = search.strip_prefix('?').unwrap_or(search);
    !query.is_empty()
        && query
            .split('&')
            .any(|pair| pair == "state" || pair.starts_with("state="))
}
