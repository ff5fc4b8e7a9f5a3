//! Small views. They render [`crate::state::State`] and call [`crate::actions::Actions`]; no protocol logic
//! and no I/O here.

mod advanced;
mod alert;
mod api_result;
mod console;
mod controls;
mod flow_view;
mod fresh;
mod status;
mod user_card;

use crate::actions::Actions;
use crate::state::State;
use fresh::Fresh;
use leptos::prelude::*;

/// `flag`'s value, read reactively: one closure type for every button disabled while a request runs, so tachys'
/// attribute effect is compiled once for them.
fn flag(flag: RwSignal<bool>) -> impl Fn() -> bool + Copy + Send + 'static {
    move || flag.get()
}

/// The whole page over `state`. Built after [`Actions::start`] has queued the page's first step, so that step
/// (the ID token's verification, or the session check) is under way while the view is constructed.
pub fn app(state: State, actions: Actions) -> impl IntoView {
    // The console stays put once shown (a 401 inside it must stay readable); hidden only mid sign-in.
    // Only ever added or taken away (the flag changes whenever it is written), never patched: built afresh.
    let console = state.console.shown;
    view! {
        <header class="top">
            <span class="brand">"Hybrid Flow"</span>
            <span class="muted">"OpenID Connect "<code>"code id_token"</code>", verified in your browser, tokens kept on the server"</span>
        </header>
        <main>
            <section class="card">
                <h1>"Hybrid Flow demo"</h1>
                <status::Status state=state />
                <alert::Alert state=state actions=actions />
                <user_card::UserCard state=state />
                <controls::Controls state=state actions=actions />
                <api_result::ApiResult state=state />
            </section>
            <flow_view::FlowView state=state />
            {move || console.get().then(|| Fresh(view! { <console::Console state=state actions=actions /> }))}
        </main>
    }
}
