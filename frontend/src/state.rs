//! The page's state: a few signals, each holding one consistent unit, so a failure cannot leave half of a change
//! applied (a user shown beside a failed sign-in, a problem with another problem's retry). Views read it; only
//! [`crate::actions`] writes it.

use crate::flow::{Step, TokenTable};
use crate::problem::Problem;
use leptos::prelude::*;
use shared::api::{ApiEntry, Claim, LoginOptions, User};
use shared::ResponseType;

/// Where the sign-in stands, with the identity that belongs to it; rendered as `data-state` on the status
/// element. One value, so the phase and the user shown always change together.
#[derive(Debug, Clone)]
pub enum Status {
    /// The first answer (session check or callback) is not known yet: no button is drawn that could flicker.
    Unknown,
    /// No session: a plain visit, a session that ended, or a sign-out this browser did not start.
    SignedOut,
    /// Back from the OP's logout with the `state` this browser's logout sent: the sign-out is confirmed.
    LoggedOut,
    /// The front-channel response is being checked in the browser.
    Verifying,
    /// The response passed in the browser and the BFF is redeeming the code; the user from the verified
    /// front-channel ID token is shown already (`None` for `code token`, which has no ID token).
    Exchanging(Option<Identity>),
    /// The BFF holds a session.
    Active(Identity),
    /// The sign-in failed; the notice says why.
    Failed,
}

/// Who is signed in: the card's name and its claims with their sources (the ID token's at first, the BFF's
/// merged ones once the session is up).
#[derive(Debug, Clone)]
pub struct Identity {
    pub user: User,
    pub claims: Vec<Claim>,
}

impl Identity {
    /// From the verified front-channel ID token, before the BFF has answered.
    pub fn from_id_token(user: User) -> Identity {
        Identity {
            claims: user.id_token_claims(),
            user,
        }
    }
}

impl Status {
    /// The `data-state` value the browser tests read.
    pub fn attr(&self) -> &'static str {
        match self {
            Status::Unknown | Status::SignedOut => "none",
            Status::Verifying => "verifying",
            Status::Exchanging(_) => "exchanging",
            Status::Active(_) => "active",
            Status::LoggedOut => "signed-out",
            Status::Failed => "error",
        }
    }

    /// The status in words.
    pub fn text(&self) -> &'static str {
        match self {
            Status::Unknown | Status::SignedOut => "Not signed in",
            Status::Verifying => "Checking the sign-in…",
            Status::Exchanging(_) => "Signing in on the server…",
            Status::Active(_) => "Session active",
            Status::LoggedOut => "Signed out",
            Status::Failed => "Sign-in failed",
        }
    }

    /// The buttons offered: none until the status is known and while a sign-in is under way.
    pub fn buttons(&self) -> Buttons {
        if self.can_log_in() {
            Buttons::LogIn
        } else if self.is_active() {
            Buttons::Session
        } else {
            Buttons::None
        }
    }

    /// Whether the first answer is known (before it, no button is drawn).
    pub fn is_known(&self) -> bool {
        !matches!(self, Status::Unknown)
    }

    /// Whether the Log in button makes sense now.
    pub fn can_log_in(&self) -> bool {
        matches!(self, Status::SignedOut | Status::LoggedOut | Status::Failed)
    }

    /// Whether the BFF holds a session (Call API and Log out make sense).
    pub fn is_active(&self) -> bool {
        matches!(self, Status::Active(_))
    }

    /// Mid sign-in: between the redirect back from the OP and the BFF's answer.
    pub fn is_signing_in(&self) -> bool {
        matches!(self, Status::Verifying | Status::Exchanging(_))
    }

    /// The identity to show on the card, if any.
    pub fn identity(&self) -> Option<&Identity> {
        match self {
            Status::Exchanging(identity) => identity.as_ref(),
            Status::Active(identity) => Some(identity),
            _ => None,
        }
    }
}

/// What the page's buttons offer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Buttons {
    /// The status is not known yet, or a sign-in is under way.
    None,
    /// Log in, with its Advanced settings.
    LogIn,
    /// Call API and Log out.
    Session,
}

/// The current problem together with what the alert's "Try again" does: one value, so a new problem never
/// inherits an old one's retry.
#[derive(Debug, Clone)]
pub struct Notice {
    pub problem: Problem,
    pub retry: Option<Retry>,
}

/// What the alert's "Try again" button does.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Retry {
    LogIn,
    CheckSession,
    CallApi,
}

/// The API console's part of the page: the upstreams it offers and its last call.
#[derive(Clone, Copy)]
pub struct ConsoleState {
    pub apis: RwSignal<Vec<ApiEntry>>,
    /// Why the list of upstreams could not be loaded.
    pub load_problem: RwSignal<Option<Problem>>,
    /// A console call is in flight.
    pub busy: RwSignal<bool>,
    pub last: RwSignal<Option<ConsoleOutcome>>,
    /// The console is on the page (see [`State::set_status`]).
    pub shown: RwSignal<bool>,
}

/// One console call as shown: status (0 when there was no answer), time, headers as text, the body
/// pretty-printed, and what an error means.
#[derive(Debug, Clone)]
pub struct ConsoleOutcome {
    pub status: u16,
    pub millis: i64,
    pub headers: String,
    pub body: String,
    pub problem: Option<Problem>,
}

/// Every signal of the page. `Copy`: each view gets it by value.
#[derive(Clone, Copy)]
pub struct State {
    /// Written through [`State::set_status`] only, which keeps [`ConsoleState::shown`] in step.
    pub status: RwSignal<Status>,
    pub notice: RwSignal<Option<Notice>>,
    /// A request started by a button is in flight.
    pub busy: RwSignal<bool>,
    /// The buttons offered for the status (see [`State::set_status`]).
    pub buttons: RwSignal<Buttons>,
    /// The flow view's timeline (this page load only; never token material).
    pub timeline: RwSignal<Vec<Step>>,
    /// The decoded, verified ID token of this sign-in.
    pub token: RwSignal<Option<TokenTable>>,
    /// The demo API's answer, pretty-printed.
    pub api_result: RwSignal<Option<String>>,
    /// What `GET /bff/login` said a sign-in may ask for; asked the first time the Advanced settings open.
    pub login_options: RwSignal<Option<LoginOptions>>,
    /// A response type other than the BFF's default, picked in the Advanced settings (conformance mode);
    /// `None` signs in with the default.
    pub response_type: RwSignal<Option<ResponseType>>,
    pub console: ConsoleState,
}

impl State {
    /// The state of a page just loaded: nothing known yet.
    pub fn new() -> State {
        State {
            status: RwSignal::new(Status::Unknown),
            notice: RwSignal::new(None),
            busy: RwSignal::new(false),
            buttons: RwSignal::new(Buttons::None),
            timeline: RwSignal::new(Vec::new()),
            token: RwSignal::new(None),
            api_result: RwSignal::new(None),
            login_options: RwSignal::new(None),
            response_type: RwSignal::new(None),
            console: ConsoleState {
                apis: RwSignal::new(Vec::new()),
                load_problem: RwSignal::new(None),
                busy: RwSignal::new(false),
                last: RwSignal::new(None),
                shown: RwSignal::new(false),
            },
        }
    }

    /// Moves the page to `status`. The console is shown once the status is known and hidden only mid sign-in; it
    /// and the buttons are rebuilt whenever their signal is written (the console then asks for its APIs again, an
    /// open Advanced settings would close), so each is written only when it changes. Kept here instead of `Memo`s
    /// over the status: no memo code in the wasm.
    pub fn set_status(self, status: Status) {
        let shown = status.is_known() && !status.is_signing_in();
        if self.console.shown.get_untracked() != shown {
            self.console.shown.set(shown);
        }
        let buttons = status.buttons();
        if self.buttons.get_untracked() != buttons {
            self.buttons.set(buttons);
        }
        self.status.set(status);
    }
}
