use super::advanced::Advanced;
use super::fresh::Fresh;
use crate::actions::Actions;
use crate::state::{Buttons, State};
use leptos::either::Either;
use leptos::prelude::*;

/// Log in (with its Advanced settings) when signed out; Call API and Log out while the session is active.
#[component]
pub fn Controls(state: State, actions: Actions) -> impl IntoView {
    let busy = super::flag(state.busy);
    // Run again only when the buttons offered change (see `State::set_status`), so built afresh. `Either`, not
    // `into_any`: with no `AnyView` anywhere, none of tachys' type-erasure code is in the wasm.
    move || match state.buttons.get() {
        Buttons::None => None,
        Buttons::LogIn => Some(Either::Left(Fresh(view! {
            <div class="actions">
                <button class="primary" data-testid="login" disabled=busy
                    on:click=move |_| actions.log_in()>"Log in"</button>
            </div>
            <Advanced state=state actions=actions />
        }))),
        Buttons::Session => Some(Either::Right(Fresh(view! {
            <div class="actions">
                <button class="primary" data-testid="call-api" disabled=busy
                    on:click=move |_| actions.call_api()>"Call API"</button>
                <button data-testid="logout" disabled=busy
                    on:click=move |_| actions.log_out()>"Log out"</button>
            </div>
        }))),
    }
}
