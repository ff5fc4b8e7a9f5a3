//! Leptos hello world: mounts one paragraph and marks `hello-mounted` (navigation start → mounted).
use leptos::prelude::*;

fn main() {
    leptos::mount::mount_to_body(|| view! { <p id="hello">"Hello, world!"</p> });
    if let Some(perf) = web_sys::window().and_then(|w| w.performance()) {
        let _ = perf.mark("hello-mounted");
    }
}
