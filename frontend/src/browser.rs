//! Thin wrappers over the few browser globals the SPA touches (address bar, history, clock, performance marks).

use web_sys::Window;

pub fn window() -> Window {
    web_sys::window().expect("the SPA runs in a browser window")
}

/// The URL fragment including its `#`, or an empty string.
pub fn hash() -> String {
    window().location().hash().unwrap_or_default()
}

/// The URL query including its `?`, or an empty string.
pub fn search() -> String {
    window().location().search().unwrap_or_default()
}

/// The URL path, e.g. `/` or `/callback`.
pub fn path() -> String {
    window().location().pathname().unwrap_or_default()
}

/// Replaces the current history entry with `/`: removes a fragment (tokens, code) or query from the address bar
/// *and* from the history, so neither Back nor a bookmark brings it back.
pub fn clean_address_bar() {
    let _ = window()
        .history()
        .and_then(|h| h.replace_state_with_url(&wasm_bindgen::JsValue::NULL, "", Some("/")));
}

/// Navigates away (to the OP's authorization endpoint).
pub fn navigate(url: &str) -> Result<(), ()> {
    window().location().assign(url).map_err(|_| ())
}

/// Sends the browser to `action` by submitting a form of hidden `fields` built in the DOM (no inline script, so
/// the CSP holds). With `post`, the values travel in the request body, never in a URL or the history.
pub fn submit_form(action: &str, method: &str, fields: &[(String, String)]) -> Result<(), ()> {
    use wasm_bindgen::JsCast;
    let document = window().document().ok_or(())?;
    let form: web_sys::HtmlFormElement = document
        .create_element("form")
        .map_err(|_| ())?
        .dyn_into()
        .map_err(|_| ())?;
    form.set_attribute("method", method).map_err(|_| ())?;
    form.set_attribute("action", action).map_err(|_| ())?;
    for (name, value) in fields {
        let input = document.create_element("input").map_err(|_| ())?;
        input.set_attribute("type", "hidden").map_err(|_| ())?;
        input.set_attribute("name", name).map_err(|_| ())?;
        input.set_attribute("value", value).map_err(|_| ())?;
        form.append_child(&input).map_err(|_| ())?;
    }
    document
        .body()
        .ok_or(())?
        .append_child(&form)
        .map_err(|_| ())?;
    form.submit().map_err(|_| ())
}

/// Seconds since the epoch, from the device clock.
pub fn now_secs() -> i64 {
    (js_sys::Date::now() / 1000.0) as i64
}

/// Milliseconds since the epoch, from the device clock, as an integer: timestamps the SPA stores or shows never
/// need a fraction, and an integer keeps float (de)serialisation off these paths.
pub fn now_ms() -> i64 {
    js_sys::Date::now() as i64
}

/// A `performance.mark`, so tests and RUM can time "user shown" and "session up".
pub fn mark(name: &str) {
    if let Some(perf) = window().performance() {
        let _ = perf.mark(name);
    }
}

/// Replaces the current history entry with this same-origin path (e.g. the deep link restored after sign-in).
pub fn replace_path(path: &str) {
    let _ = window()
        .history()
        .and_then(|h| h.replace_state_with_url(&wasm_bindgen::JsValue::NULL, "", Some(path)));
}

/// The path and query of the current address, e.g. `/somewhere?x=1`.
pub fn path_and_query() -> String {
    path() + &search()
}

/// Runs `then` once the browser has painted the next frame (a task queued from `requestAnimationFrame` runs after
/// that frame's paint), so work behind it cannot hold back what is already on screen. In a hidden tab it waits
/// until the tab is shown, as frames are not painted there. A callback, not a future: no task of its own to spawn.
pub fn after_next_paint(then: impl FnOnce() + 'static) {
    use wasm_bindgen::closure::Closure;
    use wasm_bindgen::JsCast;
    let after_frame = Closure::once_into_js(move || {
        let _ = window().set_timeout_with_callback(Closure::once_into_js(then).unchecked_ref());
    });
    let _ = window().request_animation_frame(after_frame.unchecked_ref());
}
