use super::fresh::Fresh;
use crate::actions::Actions;
use crate::state::State;
use leptos::prelude::*;

/// The Advanced settings under Log in: the response type of the next sign-in. The BFF's default is the product's
/// choice; the others exist for OpenID conformance testing, so picking one is marked "conformance mode". What the
/// BFF accepts is asked only when this is first opened.
#[component]
pub fn Advanced(state: State, actions: Actions) -> impl IntoView {
    let options = move || {
        state.login_options.with(|o| {
            o.as_ref().map(|o| {
                let chosen = state
                    .response_type
                    .get_untracked()
                    .unwrap_or(o.default_response_type);
                let options = o
                    .response_types
                    .iter()
                    .map(|&rt| {
                        let note = if rt == o.default_response_type {
                            " (default)"
                        } else {
                            " (conformance mode)"
                        };
                        let label = rt.as_str().to_owned() + note;
                        view! { <option value=rt.as_str() selected=rt == chosen>{label}</option> }
                    })
                    .collect_view();
                // Asked once (see `load_login_options`), and each option marks the chosen type itself.
                Fresh(options)
            })
        })
    };
    let marker = move || {
        state.response_type.get().map(|rt| {
            Fresh(view! { <span class="badge" data-testid="conformance-mode">"conformance mode: "{rt.as_str()}</span> })
        })
    };
    view! {
        <details class="advanced" data-testid="advanced" on:toggle=move |_| actions.load_login_options()>
            <summary>"Advanced "{marker}</summary>
            <label for="response-type">"Response type"</label>" "
            <select id="response-type" data-testid="response-type"
                on:change=move |ev| actions.choose_response_type(&event_target_value(&ev))>
                {options}
            </select>
            <p class="muted">"Sign-ins use the default; the other types are here for OpenID conformance testing only."</p>
        </details>
    }
}
