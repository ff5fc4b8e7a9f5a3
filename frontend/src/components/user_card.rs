use super::fresh::Fresh;
use crate::state::State;
use leptos::prelude::*;
use shared::json::{write_compact, Value};

/// Who is signed in: the name, then every claim shown, each with where it came from (the ID token, or the
/// OP's userinfo as merged by the BFF). First the front-channel ID token's, then the BFF's merged ones.
#[component]
pub fn UserCard(state: State) -> impl IntoView {
    move || {
        state.status.with(|s| s.identity().cloned()).map(|identity| {
            let rows = identity
                .claims
                .into_iter()
                .map(|c| {
                    let source = c.source.as_str();
                    let test_id = match c.name.as_str() {
                        "email" => Some("user-email"),
                        "sub" => Some("user-sub"),
                        _ => None,
                    };
                    // A string claim as its text, any other value as compact JSON.
                    let value = match c.value {
                        Value::String(s) => s,
                        other => {
                            let mut text = String::new();
                            write_compact(&other, &mut text);
                            text
                        }
                    };
                    view! {
                        <dt>{c.name.clone()}<small>" · "{source}</small></dt>
                        <dd data-claim=c.name data-source=source data-testid=test_id>{value}</dd>
                    }
                })
                .collect_view();
            Fresh(view! {
                <section class="user">
                    <p class="name" data-testid="user-name">{identity.user.display_name().to_owned()}</p>
                    <dl>{rows}</dl>
                </section>
            })
        })
    }
}
