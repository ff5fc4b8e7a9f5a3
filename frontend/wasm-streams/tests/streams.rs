//! The shim against the JS streams it wraps, as `server_fn` uses them: a Rust stream handed to JS and read back,
//! an error, and early drops on both sides.
#![cfg(target_arch = "wasm32")]

use futures_core::Stream;
use std::cell::Cell;
use std::future::poll_fn;
use std::pin::Pin;
use std::rc::Rc;
use std::task::{Context, Poll};
use wasm_bindgen::JsValue;
use wasm_bindgen_futures::JsFuture;
use wasm_bindgen_test::wasm_bindgen_test;
use wasm_streams::ReadableStream;

/// Yields `items` one at a time, counting how often it was polled; `dropped` is set when it is dropped.
struct Counted {
    items: Vec<Result<JsValue, JsValue>>,
    polls: Rc<Cell<usize>>,
    dropped: Rc<Cell<bool>>,
}

impl Stream for Counted {
    type Item = Result<JsValue, JsValue>;
    fn poll_next(mut self: Pin<&mut Self>, _: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        self.polls.set(self.polls.get() + 1);
        Poll::Ready((!self.items.is_empty()).then(|| self.items.remove(0)))
    }
}

impl Drop for Counted {
    fn drop(&mut self) {
        self.dropped.set(true);
    }
}

fn counted(items: Vec<Result<JsValue, JsValue>>) -> (Counted, Rc<Cell<usize>>, Rc<Cell<bool>>) {
    let (polls, dropped) = (Rc::new(Cell::new(0)), Rc::new(Cell::new(false)));
    let stream = Counted {
        items,
        polls: polls.clone(),
        dropped: dropped.clone(),
    };
    (stream, polls, dropped)
}

async fn next(stream: &mut wasm_streams::IntoStream) -> Option<Result<JsValue, JsValue>> {
    poll_fn(|cx| Pin::new(&mut *stream).poll_next(cx)).await
}

#[wasm_bindgen_test]
async fn chunks_go_through_in_order_and_the_end_closes_the_stream() {
    let (source, _, dropped) = counted(vec![Ok(1.into()), Ok("two".into())]);
    let mut read = ReadableStream::from_stream(source).into_stream();
    assert_eq!(next(&mut read).await, Some(Ok(1.into())));
    assert_eq!(next(&mut read).await, Some(Ok("two".into())));
    assert_eq!(next(&mut read).await, None);
    assert_eq!(next(&mut read).await, None);
    assert!(dropped.get(), "the Rust stream is dropped once it ended");
}

#[wasm_bindgen_test]
async fn an_error_errors_the_js_stream_and_ends_the_rust_one() {
    let (source, _, _) = counted(vec![Ok(1.into()), Err("broken".into()), Ok(3.into())]);
    let mut read = ReadableStream::from_stream(source).into_stream();
    assert_eq!(next(&mut read).await, Some(Ok(1.into())));
    assert_eq!(next(&mut read).await, Some(Err("broken".into())));
    assert_eq!(next(&mut read).await, None);
}

#[wasm_bindgen_test]
async fn the_rust_stream_is_polled_only_when_a_reader_asks() {
    let (source, polls, _) = counted(vec![Ok(1.into()), Ok(2.into())]);
    let raw = ReadableStream::from_stream(source).into_raw();
    // A macrotask later: the JS stream has started and would have pulled ahead if it buffered.
    let tick = js_sys::Promise::new(&mut |resolve, _| {
        let global = js_sys::global();
        let set_timeout = js_sys::Reflect::get(&global, &"setTimeout".into()).unwrap();
        let set_timeout: js_sys::Function = set_timeout.into();
        set_timeout.call1(&global, &resolve).unwrap();
    });
    JsFuture::from(tick).await.unwrap();
    assert_eq!(
        polls.get(),
        0,
        "high-water mark 0: nothing pulled before a read"
    );
    let mut read = ReadableStream::from_raw(raw).into_stream();
    assert_eq!(next(&mut read).await, Some(Ok(1.into())));
    assert_eq!(polls.get(), 1);
}

#[wasm_bindgen_test]
async fn dropping_the_reader_early_cancels_the_js_stream_and_drops_the_source() {
    let (source, _, dropped) = counted(vec![Ok(1.into()), Ok(2.into()), Ok(3.into())]);
    let mut read = ReadableStream::from_stream(source).into_stream();
    assert_eq!(next(&mut read).await, Some(Ok(1.into())));
    drop(read);
    // The cancel reaches the underlying source's `cancel` within the same microtask checkpoint.
    JsFuture::from(js_sys::Promise::resolve(&JsValue::UNDEFINED))
        .await
        .unwrap();
    assert!(dropped.get(), "cancel drops the Rust stream");
}
