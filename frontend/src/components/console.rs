use super::fresh::Fresh;
use crate::actions::{Actions, ConsoleRequest};
use crate::problem::Cause;
use crate::state::State;
use leptos::prelude::*;
use shared::json::decimal;
use wasm_bindgen::JsCast;

/// Calls any configured upstream through the BFF: pick the API, method, path and body; see status, time,
/// headers and the JSON, and what an error means. Inputs are read when the form is sent (few reactive parts:
/// each one costs wasm size); the call itself is an action, like every other request of the page.
#[component]
pub fn Console(state: State, actions: Actions) -> impl IntoView {
    let console = state.console;
    actions.load_apis();

    let send = move || {
        // One form read instead of a reference per field, and the form found by its id: each node reference
        // costs wasm size.
        let Some(data) = document()
            .get_element_by_id(FORM_ID)
            .and_then(|form| form.dyn_into::<web_sys::HtmlFormElement>().ok())
            .and_then(|form| web_sys::FormData::new_with_form(&form).ok())
        else {
            return;
        };
        let field = |name: &str| data.get(name).as_string().unwrap_or_default();
        actions.console_send(ConsoleRequest {
            api: field("api"),
            method: field("method"),
            path: field("path"),
            body: field("body"),
        });
    };

    let result = move || {
        console.last.get().map(|o| {
            let status = match o.status {
                0 => "no answer".to_owned(),
                s => decimal(s.into()),
            };
            let ok = if (200..300).contains(&o.status) { "true" } else { "false" };
            let problem = o.problem.map(|p| {
                let gone = p.cause == Cause::SessionEnded;
                let (label, again): (&str, bool) =
                    if gone { ("Sign in again", false) } else { ("Send again", true) };
                view! {
                    <div class="alert" role="alert" data-testid="console-error" data-error=p.code>
                        <p>{p.message}</p>
                        <button on:click=move |_| if again { send() } else { actions.log_in() }>{label}</button>
                    </div>
                }
            });
            Fresh(view! {
                <div class="console-result" data-testid="console-result">
                    <p class="meta">
                        <span class="badge" data-ok=ok data-testid="console-status">{status}</span>
                        " "<span data-testid="console-time">{decimal(o.millis)}" ms"</span>
                    </p>
                    {problem}
                    <details>
                        <summary>"Response headers"</summary>
                        <pre data-testid="console-headers">{o.headers}</pre>
                    </details>
                    <pre data-testid="console-body-out" tabindex="0" aria-label="Response body">{o.body}</pre>
                </div>
            })
        })
    };

    let options = move || {
        let options = console
            .apis
            .get()
            .into_iter()
            .map(|a| {
                let label = [
                    a.name.as_str(),
                    " — ",
                    &a.methods.join(", "),
                    " under ",
                    &a.path_prefix,
                    if a.token { "" } else { " (public)" },
                ]
                .concat();
                view! { <option value=a.name>{label}</option> }
            })
            .collect_view();
        // The list arrives once, as the console appears: nothing picked from it yet is lost by building it afresh.
        Fresh(options)
    };

    view! {
        <section class="panel console" data-testid="api-console" aria-labelledby="console-title">
            <h2 id="console-title">"API console"</h2>
            <p class="muted">"Calls go to the BFF, which adds the access token; this page never sees it."</p>
            {move || console.load_problem.get().map(|p| Fresh(view! {
                <div class="alert" role="alert" data-error=p.code>
                    <p>{p.message}</p>
                    <button on:click=move |_| actions.load_apis()>"Try again"</button>
                </div>
            }))}
            <form class="console-form" id=FORM_ID on:submit=move |ev| { ev.prevent_default(); send(); }>
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
                    <button type="submit" class="primary" data-testid="console-send" disabled=super::flag(console.busy)>
                        "Send"
                    </button>
                </div>
            </form>
            {result}
        </section>
    }
}

/// The console form's element id: [`Console`] reads the fields from it when a request is sent.
const FORM_ID: &str = "console-form";
