use crate::state::State;
use leptos::prelude::*;

/// The sign-in state, in words and as `data-state` for tests.
#[component]
pub fn Status(state: State) -> impl IntoView {
    let status = state.status;
    // One reactive closure for the attribute and the text: each closure is a render effect of its own in the wasm.
    move || {
        status.with(|s| {
            view! { <p class="status" data-testid="session-status" data-state=s.attr()>{s.text()}</p> }
        })
    }
}
