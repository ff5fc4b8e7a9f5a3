use super::fresh::Fresh;
use crate::flow::{Check, Outcome, Step};
use crate::state::State;
use leptos::prelude::*;
use shared::json::decimal;

/// The timeline of this sign-in and the decoded ID token. Rendered once something happened.
#[component]
pub fn FlowView(state: State) -> impl IntoView {
    // One reactive closure for the whole view, not one per part (each closure's render effect is compiled with its
    // view), built afresh when the timeline or the token changes: nothing in it holds what the person did.
    move || {
        let steps = state.timeline.get();
        (!steps.is_empty()).then(|| {
            let start = steps.iter().map(|s| s.at_ms).min().unwrap_or_default();
            let timeline = steps
                .into_iter()
                .map(|step| step_view(step, start))
                .collect_view();
            let token = state.token.get().map(|t| {
                view! {
                    <h3>"ID token (verified)"</h3>
                    <div class="tables">
                        {rows_table("Header", t.header, "id-token-header")}
                        {rows_table("Claims", t.claims, "id-token-claims")}
                    </div>
                }
            });
            Fresh(view! {
                <section class="panel flow" data-testid="flow-view" aria-labelledby="flow-title">
                    <h2 id="flow-title">"What happened"</h2>
                    <ol class="timeline">{timeline}</ol>
                    {token}
                </section>
            })
        })
    }
}

fn step_view(step: Step, start: i64) -> impl IntoView {
    let offset = ["+", &decimal((step.at_ms - start).max(0)), " ms"].concat();
    let userinfo = step.userinfo.map(|s| s.as_str());
    let checks = (!step.checks.is_empty()).then(|| checks_table(step.checks, userinfo.is_some()));
    view! {
        <li data-outcome=step.outcome.attr() data-testid="flow-step"
            data-step=userinfo.map(|_| "userinfo") data-status=userinfo>
            <span class="when">{offset}</span>
            <span class="mark" aria-hidden="true">{symbol(step.outcome)}</span>
            <strong>{step.title}</strong>
            <span class="detail">{step.detail}</span>
            {checks}
        </li>
    }
}

fn checks_table(checks: Vec<Check>, userinfo: bool) -> impl IntoView {
    let (test_id, caption) = if userinfo {
        ("userinfo-checks", "Checks of the userinfo response")
    } else {
        ("id-token-checks", "Checks of the front-channel response")
    };
    view! {
        <table class="checks" data-testid=test_id>
            <caption class="sr">{caption}</caption>
            <thead><tr><th scope="col">"Check"</th><th scope="col">"Result"</th><th scope="col">"Value checked"</th></tr></thead>
            <tbody>
                {checks.into_iter().map(|c| view! {
                    <tr data-outcome=c.outcome.attr()>
                        <th scope="row">{c.name}</th>
                        <td class="result">{symbol(c.outcome)}" "{c.outcome.label()}</td>
                        <td>{c.value}</td>
                    </tr>
                }).collect_view()}
            </tbody>
        </table>
    }
}

fn rows_table(
    title: &'static str,
    rows: Vec<(String, String)>,
    test_id: &'static str,
) -> impl IntoView {
    view! {
        <table class="kv" data-testid=test_id>
            <caption>{title}</caption>
            <tbody>
                {rows.into_iter().map(|(k, v)| view! {
                    <tr><th scope="row">{k}</th><td>{v}</td></tr>
                }).collect_view()}
            </tbody>
        </table>
    }
}

fn symbol(outcome: Outcome) -> &'static str {
    match outcome {
        Outcome::Passed => "✓",
        Outcome::Failed => "✗",
        Outcome::Skipped => "–",
        Outcome::Info => "•",
    }
}
