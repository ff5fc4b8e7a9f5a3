//! Small views. They render [`crate::session::Session`] and call its actions; no protocol logic here.

mod actions;
mod alert;
mod api_result;
mod status;
mod user_card;

use crate::session::Session;
use leptos::prelude::*;

#[component]
pub fn App() -> impl IntoView {
    let session = Session::new();
    session.start();
    view! {
        <main class="card">
            <h1>"Hybrid Flow demo"</h1>
            <status::Status session=session />
            <alert::Alert session=session />
            <user_card::UserCard session=session />
            <actions::Actions session=session />
            <api_result::ApiResult session=session />
        </main>
    }
}
