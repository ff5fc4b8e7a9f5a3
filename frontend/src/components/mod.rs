//! Small views. They render [`crate::session::Session`] and call its actions; no protocol logic here.

mod actions;
mod advanced;
mod alert;
mod api_result;
mod console;
mod flow_view;
mod status;
mod user_card;

use crate::session::{Phase, Session};
use leptos::prelude::*;

#[component]
pub fn App() -> impl IntoView {
    let session = Session::new();
    session.start();
    // The console stays put once shown (a 401 inside it must stay readable); hidden only mid sign-in.
    let console = Memo::new(move |_| {
        session.ready.get() && !matches!(session.phase.get(), Phase::Verifying | Phase::Exchanging)
    });
    view! {
        <header class="top">
            <span class="brand">"Hybrid Flow"</span>
            <span class="muted">"OpenID Connect "<code>"code id_token"</code>", verified in your browser, tokens kept on the server"</span>
        </header>
        <main>
            <section class="card">
                <h1>"Hybrid Flow demo"</h1>
                <status::Status session=session />
                <alert::Alert session=session />
                <user_card::UserCard session=session />
                <actions::Actions session=session />
                <api_result::ApiResult session=session />
            </section>
            <flow_view::FlowView session=session />
            {move || console.get().then(|| view! { <console::Console session=session /> })}
        </main>
    }
}
