use super::advanced::Advanced;
use crate::actions::Actions;
use crate::state::State;
use leptos::either::Either;
use leptos::prelude::*;

/// Log in (with its Advanced settings) when signed out; Call API and Log out while the session is active.
#[component]
pub fn Controls(state: State, actions: Actions) -> impl IntoView {
    let busy = super::flag(state.busy);
    move || {
        let (known, can_log_in, active) = state
            .status
            .with(|s| (s.is_known(), s.can_log_in(), s.is_active()));
        if !known {
            return None;
        }
        // `Either`, not `into_any`: with no `AnyView` anywhere, none of tachys' type-erasure code is in the wasm.
        Some(if can_log_in {
            Either::Left(view! {
                <div class="actions">
                    <button class="primary" data-testid="login" disabled=busy
                        on:click=move |_| actions.log_in()>"Log in"</button>
                </div>
                <Advanced state=state actions=actions />
            })
        } else {
            Either::Right(active.then(|| {
                view! {
                    <div class="actions">
                        <button class="primary" data-testid="call-api" disabled=busy
                            on:click=move |_| actions.call_api()>"Call API"</button>
                        <button data-testid="logout" disabled=busy
                            on:click=move |_| actions.log_out()>"Log out"</button>
                    </div>
                }
            }))
        })
    }
}
