use crate::session::Session;
use leptos::prelude::*;

/// The sign-in state, in words and as `data-state` for tests.
#[component]
pub fn Status(session: Session) -> impl IntoView {
    let phase = session.phase;
    view! {
        <p class="status" data-testid="session-status" data-state=move || phase.get().attr()>
            {move || phase.get().text()}
        </p>
    }
}
