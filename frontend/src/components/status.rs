use crate::state::State;
use leptos::prelude::*;

/// The sign-in state, in words and as `data-state` for tests.
#[component]
pub fn Status(state: State) -> impl IntoView {
    let status = state.status;
    view! {
        <p class="status" data-testid="session-status" data-state=move || status.with(|s| s.attr())>
            {move || status.with(|s| s.text())}
        </p>
    }
}
