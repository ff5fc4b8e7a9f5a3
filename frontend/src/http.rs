//! `fetch` in its smallest useful form: method, URL, credentials mode, optional JSON body and CSRF header, and a
//! status plus body bytes back. Everything protocol-specific lives in [`crate::bff`] and [`crate::callback`].

use js_sys::Uint8Array;
use std::cell::Cell;
use std::rc::Rc;
use wasm_bindgen::JsCast;
use wasm_bindgen_futures::JsFuture;
use web_sys::{
    AbortController, Headers, Request, RequestCredentials, RequestInit, RequestMode, Response,
};

/// What a request is allowed to carry.
pub struct Call<'a> {
    pub method: &'a str,
    pub url: &'a str,
    /// Same-origin calls send the session cookie; cross-origin ones (the OP's key set) send nothing.
    pub same_origin: bool,
    pub csrf: bool,
    pub json_body: Option<String>,
    /// Bodies larger than this are refused without being read whole (when the server says its length).
    pub max_bytes: usize,
    /// The whole request (answer and body) is aborted after this many milliseconds: nothing spins forever.
    pub timeout_ms: u32,
}

pub struct Reply {
    pub status: u16,
    pub body: Vec<u8>,
    /// Response headers as the browser exposes them (lower-case names).
    pub headers: Vec<(String, String)>,
}

/// Why no usable reply arrived.
#[derive(Debug)]
pub enum Failure {
    /// The request never got an HTTP answer (offline, refused, CORS).
    Unreachable,
    /// The answer is larger than `max_bytes`.
    TooLarge,
    /// No complete answer within `timeout_ms`.
    Timeout,
}

pub async fn send(call: Call<'_>) -> Result<Reply, Failure> {
    let abort = AbortController::new().map_err(|_| Failure::Unreachable)?;
    let timed_out = Rc::new(Cell::new(false));
    // Dropping the guard clears the browser's timer, also when this future is dropped before the answer.
    let timer = {
        let (abort, timed_out) = (abort.clone(), timed_out.clone());
        gloo_timers::callback::Timeout::new(call.timeout_ms, move || {
            timed_out.set(true);
            abort.abort();
        })
    };
    let result = send_with(call, &abort).await;
    drop(timer);
    match result {
        Err(_) if timed_out.get() => Err(Failure::Timeout),
        other => other,
    }
}

async fn send_with(call: Call<'_>, abort: &AbortController) -> Result<Reply, Failure> {
    let init = RequestInit::new();
    init.set_signal(Some(&abort.signal()));
    init.set_method(call.method);
    if call.same_origin {
        init.set_mode(RequestMode::SameOrigin);
        init.set_credentials(RequestCredentials::SameOrigin);
    } else {
        init.set_mode(RequestMode::Cors);
        init.set_credentials(RequestCredentials::Omit);
    }
    let headers = Headers::new().map_err(|_| Failure::Unreachable)?;
    if call.csrf {
        let _ = headers.append(shared::api::CSRF_HEADER, shared::api::CSRF_VALUE);
    }
    if let Some(body) = &call.json_body {
        let _ = headers.append("content-type", "application/json");
        init.set_body(&body.into());
    }
    let _ = headers.append("accept", "application/json");
    init.set_headers(&headers);
    let request =
        Request::new_with_str_and_init(call.url, &init).map_err(|_| Failure::Unreachable)?;
    let response: Response = JsFuture::from(crate::browser::window().fetch_with_request(&request))
        .await
        .map_err(|_| Failure::Unreachable)?
        .dyn_into()
        .map_err(|_| Failure::Unreachable)?;
    let declared = response
        .headers()
        .get("content-length")
        .ok()
        .flatten()
        .and_then(|l| l.trim().parse::<usize>().ok());
    if declared.is_some_and(|len| len > call.max_bytes) {
        return Err(Failure::TooLarge);
    }
    let buffer = JsFuture::from(response.array_buffer().map_err(|_| Failure::Unreachable)?)
        .await
        .map_err(|_| Failure::Unreachable)?;
    let bytes = Uint8Array::new(&buffer);
    if bytes.length() as usize > call.max_bytes {
        return Err(Failure::TooLarge);
    }
    // `Array.from` walks the iterable in the browser: no iterator protocol driven from the wasm.
    let headers = js_sys::Array::from(&response.headers())
        .iter()
        .map(|entry| {
            let pair: js_sys::Array = entry.unchecked_into();
            (
                pair.get(0).as_string().unwrap_or_default(),
                pair.get(1).as_string().unwrap_or_default(),
            )
        })
        .collect();
    Ok(Reply {
        status: response.status(),
        body: bytes.to_vec(),
        headers,
    })
}
