use super::fresh::Fresh;
use crate::state::State;
use leptos::prelude::*;

/// The demo API's answer, pretty-printed.
#[component]
pub fn ApiResult(state: State) -> impl IntoView {
    move || {
        state.api_result.get().map(|json| {
            Fresh(view! {
                <section class="api">
                    <h2>"API response"</h2>
                    <pre data-testid="api-result">{json}</pre>
                </section>
            })
        })
    }
}
