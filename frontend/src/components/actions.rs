use super::advanced::Advanced;
use crate::session::{Phase, Session};
use leptos::prelude::*;

/// Log in (with its Advanced settings) when signed out; Call API and Log out while the session is active.
#[component]
pub fn Actions(session: Session) -> impl IntoView {
    let busy = session.busy;
    move || {
        let phase = session.phase.get();
        if !session.ready.get() {
            return None;
        }
        Some(if phase.can_log_in() {
            view! {
                <div class="actions">
                    <button class="primary" data-testid="login" disabled=move || busy.get()
                        on:click=move |_| session.log_in()>"Log in"</button>
                </div>
                <Advanced session=session />
            }
            .into_any()
        } else if phase == Phase::Active {
            view! {
                <div class="actions">
                    <button class="primary" data-testid="call-api" disabled=move || busy.get()
                        on:click=move |_| session.call_api()>"Call API"</button>
                    <button data-testid="logout" disabled=move || busy.get()
                        on:click=move |_| session.log_out()>"Log out"</button>
                </div>
            }
            .into_any()
        } else {
            ().into_any()
        })
    }
}
