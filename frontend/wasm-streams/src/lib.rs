//! The part of wasm-streams 0.5 that Leptos' `server_fn` uses in the browser (`ReadableStream::from_raw`,
//! `into_raw`, `from_stream`, `into_stream`), standing in for the crates.io crate through the workspace's
//! `[patch.crates-io]`.
//!
//! Why: Leptos always enables `server_fn`'s `browser` feature, which depends on wasm-streams, whose underlying
//! source and sink types are `#[wasm_bindgen]` exports. wasm-bindgen keeps every export of every linked crate, so
//! that code, its promise glue and three JS classes were in the SPA although it never calls a server function:
//! about 7.1 KB of its gzip total (BENCHMARKS.md §1). Here the underlying source is a plain JS object with
//! closures, so nothing is exported and the linker drops all of it unless `server_fn` streams.

use futures_core::Stream;
use std::cell::RefCell;
use std::future::{poll_fn, Future};
use std::pin::Pin;
use std::rc::Rc;
use std::task::{Context, Poll};
use wasm_bindgen::closure::Closure;
use wasm_bindgen::{JsCast, JsValue};
use wasm_bindgen_futures::{future_to_promise, JsFuture};
use web_sys::{QueuingStrategy, ReadableStreamDefaultController, ReadableStreamDefaultReader};

/// A JS `ReadableStream`, convertible from and into a Rust [`Stream`] of `JsValue` chunks.
pub struct ReadableStream {
    raw: web_sys::ReadableStream,
}

/// The Rust stream behind a JS stream made by [`ReadableStream::from_stream`]; `None` once it ended or the JS
/// side cancelled.
type Source = Rc<RefCell<Option<Pin<Box<dyn Stream<Item = Result<JsValue, JsValue>>>>>>>;

impl ReadableStream {
    /// Wraps a JS stream.
    pub fn from_raw(raw: web_sys::ReadableStream) -> Self {
        ReadableStream { raw }
    }

    /// The JS stream.
    pub fn into_raw(self) -> web_sys::ReadableStream {
        self.raw
    }

    /// A JS stream that pulls its chunks from `stream`: each `Ok` is enqueued, an `Err` errors the JS stream, the
    /// end closes it. The high-water mark is 0, as in wasm-streams: the Rust stream is only polled when the
    /// reader asks, so nothing is buffered twice.
    pub fn from_stream<St>(stream: St) -> Self
    where
        St: Stream<Item = Result<JsValue, JsValue>> + 'static,
    {
        let source: Source = Rc::new(RefCell::new(Some(Box::pin(stream))));
        let pulled = source.clone();
        // The JS stream calls `pull` again only after the promise of the previous call settled, so the Rust
        // stream is taken out for one poll at a time and never borrowed across an await.
        let pull = Closure::<dyn FnMut(ReadableStreamDefaultController) -> js_sys::Promise>::new(
            move |controller: ReadableStreamDefaultController| {
                let source = pulled.clone();
                future_to_promise(async move {
                    let Some(mut stream) = source.borrow_mut().take() else {
                        controller.close()?;
                        return Ok(JsValue::UNDEFINED);
                    };
                    match poll_fn(|cx| stream.as_mut().poll_next(cx)).await {
                        Some(Ok(chunk)) => {
                            controller.enqueue_with_chunk(&chunk)?;
                            *source.borrow_mut() = Some(stream);
                        }
                        Some(Err(error)) => return Err(error),
                        None => controller.close()?,
                    }
                    Ok(JsValue::UNDEFINED)
                })
            },
        );
        let cancel = Closure::<dyn FnMut(JsValue)>::new(move |_reason: JsValue| {
            source.borrow_mut().take();
        });
        let underlying = js_sys::Object::new();
        // Setting a property on a fresh plain object cannot fail.
        let _ = js_sys::Reflect::set(&underlying, &"pull".into(), &pull.into_js_value());
        let _ = js_sys::Reflect::set(&underlying, &"cancel".into(), &cancel.into_js_value());
        let strategy = QueuingStrategy::new();
        strategy.set_high_water_mark(0.0);
        let raw = web_sys::ReadableStream::new_with_underlying_source_and_strategy(
            &underlying,
            &strategy,
        )
        // Only a browser without streams throws here; wasm-streams lets that exception propagate too.
        .unwrap_or_else(|error| wasm_bindgen::throw_val(error));
        ReadableStream { raw }
    }

    /// The JS stream's chunks as a Rust [`Stream`] (locking the JS stream to a reader). A read that fails ends
    /// the stream with that error; dropping the Rust stream early cancels the JS one, as wasm-streams does.
    pub fn into_stream(self) -> IntoStream {
        let reader = self
            .raw
            .get_reader()
            .dyn_into::<ReadableStreamDefaultReader>()
            .ok();
        IntoStream { reader, read: None }
    }
}

/// A JS stream read as a Rust [`Stream`] of its chunks; see [`ReadableStream::into_stream`].
pub struct IntoStream {
    /// `None` once the stream ended, failed, or could not be locked.
    reader: Option<ReadableStreamDefaultReader>,
    /// The read under way.
    read: Option<JsFuture>,
}

impl Stream for IntoStream {
    type Item = Result<JsValue, JsValue>;

    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        let this = &mut *self;
        let Some(reader) = &this.reader else {
            return Poll::Ready(None);
        };
        let read = this
            .read
            .get_or_insert_with(|| JsFuture::from(reader.read()));
        let result = match Pin::new(read).poll(cx) {
            Poll::Pending => return Poll::Pending,
            Poll::Ready(result) => result,
        };
        this.read = None;
        let result = match result {
            Ok(result) => result,
            Err(error) => {
                this.reader = None;
                return Poll::Ready(Some(Err(error)));
            }
        };
        let field = |name: &str| js_sys::Reflect::get(&result, &name.into()).unwrap_or_default();
        if field("done").is_truthy() {
            if let Some(reader) = this.reader.take() {
                reader.release_lock();
            }
            return Poll::Ready(None);
        }
        Poll::Ready(Some(Ok(field("value"))))
    }
}

impl Drop for IntoStream {
    fn drop(&mut self) {
        if let Some(reader) = self.reader.take() {
            // The promise says when the cancel is done; nobody waits for it.
            let _ = reader.cancel();
        }
    }
}
