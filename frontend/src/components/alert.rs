use crate::session::Session;
use leptos::prelude::*;

/// The current problem, if any, in plain words. Rendered only when there is one.
#[component]
pub fn Alert(session: Session) -> impl IntoView {
    move || {
        session.problem.get().map(|problem| {
            view! {
                <div class="alert" role="alert" data-testid="error" data-error=problem.code>
                    {problem.message}
                </div>
            }
        })
    }
}
