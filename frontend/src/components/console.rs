use crate::bff;
use crate::problem::{Cause, Problem};
use crate::session::Session;
use leptos::html;
use leptos::prelude::*;
use leptos::task::spawn_local;
use shared::api::ApiEntry;

/// Largest response body shown (the rest is cut).
const SHOWN_BYTES: usize = 64 * 1024;

#[derive(Clone)]
struct Outcome {
    status: u16,
    millis: i64,
    headers: String,
    body: String,
    problem: Option<Problem>,
}

/// Calls any configured upstream through the BFF: pick the API, method, path and body; see status, time,
/// headers and the JSON, and what an error means. Inputs are read when the form is sent (few reactive parts:
/// each one costs wasm size).
#[component]
pub fn Console(session: Session) -> impl IntoView {
    let apis = RwSignal::new(Vec::<ApiEntry>::new());
    let busy = RwSignal::new(false);
    let outcome = RwSignal::new(None::<Outcome>);
    let load_problem = RwSignal::new(None::<Problem>);
    let form_ref = NodeRef::<html::Form>::new();

    let load = move || {
        load_problem.set(None);
        spawn_local(async move {
            match bff::apis().await {
                Ok(catalog) => apis.set(catalog.apis),
                Err(problem) => load_problem.set(Some(problem)),
            }
        });
    };
    load();

    let send = move || {
        // One form read instead of a reference per field: each typed node reference costs wasm size.
        let Some(data) = form_ref
            .get_untracked()
            .and_then(|form| web_sys::FormData::new_with_form(&form).ok())
        else {
            return;
        };
        let field = |name: &str| data.get(name).as_string().unwrap_or_default();
        let (api, m, p, b) = (field("api"), field("method"), field("path"), field("body"));
        let url = format!("/api/{api}/{}", p.trim_start_matches('/'));
        let json = (!matches!(m.as_str(), "GET" | "HEAD"))
            .then_some(b)
            .filter(|b| !b.trim().is_empty());
        busy.set(true);
        outcome.set(None);
        spawn_local(async move {
            let started = js_sys::Date::now();
            let result = bff::console_call(&m, &url, json).await;
            let millis = (js_sys::Date::now() - started) as i64;
            let o = match result {
                Ok(reply) => {
                    let problem = bff::explain(&reply);
                    if let (401, Some(p)) = (reply.status, &problem) {
                        session.session_gone(p.clone());
                    }
                    let mut headers = String::new();
                    for (k, v) in &reply.headers {
                        headers.push_str(k);
                        headers.push_str(": ");
                        headers.push_str(v);
                        headers.push('\n');
                    }
                    Outcome {
                        status: reply.status,
                        millis,
                        body: pretty(&reply.body),
                        headers,
                        problem,
                    }
                }
                Err(problem) => Outcome {
                    status: 0,
                    millis,
                    headers: String::new(),
                    body: String::new(),
                    problem: Some(problem),
                },
            };
            outcome.set(Some(o));
            busy.set(false);
        });
    };

    let result = move || {
        outcome.get().map(|o| {
            let status = match o.status {
                0 => "no answer".to_owned(),
                s => s.to_string(),
            };
            let ok = (200..300).contains(&o.status).to_string();
            let problem = o.problem.map(|p| {
                let gone = p.cause == Cause::SessionEnded;
                let (label, again): (&str, bool) =
                    if gone { ("Sign in again", false) } else { ("Send again", true) };
                view! {
                    <div class="alert" role="alert" data-testid="console-error" data-error=p.code>
                        <p>{p.message}</p>
                        <button on:click=move |_| if again { send() } else { session.log_in() }>{label}</button>
                    </div>
                }
            });
            view! {
                <div class="console-result" data-testid="console-result">
                    <p class="meta">
                        <span class="badge" data-ok=ok data-testid="console-status">{status}</span>
                        " "<span data-testid="console-time">{o.millis}" ms"</span>
                    </p>
                    {problem}
                    <details>
                        <summary>"Response headers"</summary>
                        <pre data-testid="console-headers">{o.headers}</pre>
                    </details>
                    <pre data-testid="console-body-out" tabindex="0" aria-label="Response body">{o.body}</pre>
                </div>
            }
        })
    };

    let options = move || {
        apis.get()
            .into_iter()
            .map(|a| {
                let label = format!(
                    "{} — {} under {}{}",
                    a.name,
                    a.methods.join(", "),
                    a.path_prefix,
                    if a.token { "" } else { " (public)" }
                );
                view! { <option value=a.name>{label}</option> }
            })
            .collect_view()
    };

    view! {
        <section class="panel console" data-testid="api-console" aria-labelledby="console-title">
            <h2 id="console-title">"API console"</h2>
            <p class="muted">"Calls go to the BFF, which adds the access token; this page never sees it."</p>
            {move || load_problem.get().map(|p| view! {
                <div class="alert" role="alert" data-error=p.code>
                    <p>{p.message}</p>
                    <button on:click=move |_| load()>"Try again"</button>
                </div>
            })}
            <form class="console-form" node_ref=form_ref on:submit=move |ev| { ev.prevent_default(); send(); }>
                <label for="console-api">"API"</label>
                <select id="console-api" name="api" data-testid="console-api">{options}</select>
                <label for="console-method">"Method"</label>
                // Every method is offered whatever the API allows: a refused one shows the BFF's allowlist
                // answer (405), explained. Written out, the list is static HTML rather than code.
                <select id="console-method" name="method" data-testid="console-method">
                    <option value="GET">"GET"</option><option value="POST">"POST"</option><option value="PUT">"PUT"</option>
                    <option value="PATCH">"PATCH"</option><option value="DELETE">"DELETE"</option><option value="HEAD">"HEAD"</option>
                </select>
                <label for="console-path">"Path"</label>
                <input id="console-path" data-testid="console-path" type="text" autocomplete="off"
                    spellcheck="false" value="/hello" name="path"
                    aria-describedby="console-path-hint" />
                <span></span>
                <small id="console-path-hint" class="muted">"After /api/<name>; the BFF forwards only paths under the API's prefix."</small>
                <label for="console-body">"Body (JSON)"</label>
                <textarea id="console-body" name="body" data-testid="console-body" rows="3"
                    placeholder="Sent with POST, PUT, PATCH and DELETE"></textarea>
                <span></span>
                <div>
                    <button type="submit" class="primary" data-testid="console-send" disabled=move || busy.get()>
                        "Send"
                    </button>
                </div>
            </form>
            {result}
        </section>
    }
}

fn pretty(body: &[u8]) -> String {
    if body.is_empty() {
        return "(empty body)".into();
    }
    crate::json::pretty(body).unwrap_or_else(|| {
        String::from_utf8_lossy(&body[..body.len().min(SHOWN_BYTES)]).into_owned()
    })
}
