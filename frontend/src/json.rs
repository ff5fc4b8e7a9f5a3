//! JSON that is only *shown*, never interpreted (API answers in the demo call and the console): parsed and
//! pretty-printed by the browser's own `JSON`, so the wasm needs no generic JSON printer next to the typed
//! (de)serialisers of `shared::api`.

use wasm_bindgen::JsValue;

/// The body pretty-printed with two-space indents, or `None` when it is not UTF-8 JSON.
pub fn pretty(body: &[u8]) -> Option<String> {
    let text = std::str::from_utf8(body).ok()?;
    let value = js_sys::JSON::parse(text).ok()?;
    js_sys::JSON::stringify_with_replacer_and_space(&value, &JsValue::NULL, &JsValue::from(2))
        .ok()
        .map(String::from)
}
