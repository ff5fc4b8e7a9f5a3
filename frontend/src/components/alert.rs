use super::fresh::Fresh;
use crate::actions::Actions;
use crate::problem::Cause;
use crate::state::{Retry, State};
use leptos::prelude::*;
use shared::Stage;

/// The current problem, if any, in plain words, what it means, and a way to try again.
#[component]
pub fn Alert(state: State, actions: Actions) -> impl IntoView {
    move || {
        state.notice.get().map(|notice| {
            let problem = notice.problem;
            let hint = hint(problem.cause);
            let retry = notice.retry.map(|retry| {
                let label = match retry {
                    Retry::LogIn => "Sign in again",
                    Retry::CheckSession | Retry::CallApi => "Try again",
                };
                view! {
                    <button class="retry" data-testid="retry" on:click=move |_| actions.retry()>
                        {label}
                    </button>
                }
            });
            // A failure can come from a button far down the page (the API console): bring it into view, or
            // the person sees nothing happen. Found by its id after this frame's layout, when the view returned
            // here is in the document: a node reference would bring its own effect code into the wasm.
            request_animation_frame(|| {
                if let Some(div) = document().get_element_by_id(ID) {
                    let options = web_sys::ScrollIntoViewOptions::new();
                    options.set_block(web_sys::ScrollLogicalPosition::Nearest);
                    div.scroll_into_view_with_scroll_into_view_options(&options);
                }
            });
            Fresh(view! {
                <div class="alert" role="alert" data-testid="error" data-error=problem.code id=ID>
                    <p>{problem.message}</p>
                    {hint.map(|h| view! { <p class="hint">{h}</p> })}
                    {retry}
                </div>
            })
        })
    }
}

/// The alert's element id, for scrolling it into view.
const ID: &str = "problem";

/// What a kind of failure means for the person in front of the page.
fn hint(cause: Cause) -> Option<&'static str> {
    Some(match cause {
        Cause::Refused(Stage::OpError) => "The identity provider ended the sign-in (for example, it was declined). Nothing was signed in.",
        Cause::Refused(Stage::State) | Cause::LoginGone => {
            "This browser has no matching sign-in in progress (it expired, was already used, or began in another tab). Start a new one."
        }
        Cause::NoAnswer => "A server did not answer. Check the connection; nothing was changed.",
        Cause::SessionEnded => "The session has ended (expired, or signed out elsewhere).",
        // Every other stage the browser runs is a check of the front-channel response, before the code leaves.
        Cause::Refused(_) => {
            "The response from the identity provider failed a security check in this browser, so the code was never sent to the server. The flow view below shows which check."
        }
        Cause::Other => return None,
    })
}
