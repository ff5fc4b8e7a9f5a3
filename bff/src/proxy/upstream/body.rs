//! The upstream's response body as the browser's answer streams it: read from the upstream connection by the
//! task that serves the browser (no connection task, no channel in between), framed as [`super::wire`] says,
//! and the connection back in its pool the moment the last byte is read.

use super::conn::Conn;
use super::wire::{Chunked, Step, WireError};
use super::Pool;
use bytes::{Bytes, BytesMut};
use http_body::{Body as HttpBody, Frame, SizeHint};
use std::future::Future;
use std::io;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};

/// How much more of a response is read at once.
pub(super) const READ_AHEAD: usize = 8 * 1024;

/// Why a response body stopped early.
#[derive(Debug, thiserror::Error)]
pub enum BodyError {
    #[error("the upstream call's deadline passed")]
    Deadline,
    #[error("the upstream closed the connection before the body's end")]
    Incomplete,
    #[error("upstream body: {0}")]
    Io(#[from] io::Error),
    #[error("upstream body: {0}")]
    Wire(#[from] WireError),
}

/// A connection while it carries one exchange, and where it goes back to.
pub(super) struct Lease {
    pub conn: Conn,
    /// What has been read and not yet used.
    pub buf: BytesMut,
    pub pool: Arc<Pool>,
    /// The connection's origin in the pool ([`Pool::slot`]).
    pub slot: usize,
}

impl Lease {
    /// Reads more of the answer into `buf`: `Ok(0)` when the upstream has closed the connection.
    pub fn poll_read_more(&mut self, cx: &mut Context<'_>) -> Poll<io::Result<usize>> {
        self.buf.reserve(READ_AHEAD);
        tokio_util::io::poll_read_buf(Pin::new(&mut self.conn), cx, &mut self.buf)
    }

    /// The exchange is over: the connection goes back to its pool when it may carry another, else it closes.
    pub fn end(self, reusable: bool) {
        // Bytes after the end of the answer were not asked for: the connection is out of step.
        if reusable && self.buf.is_empty() {
            self.pool.put(self.slot, self.conn, self.buf);
        }
    }
}

/// What is left to read.
enum Reading {
    Length(u64),
    Chunked(Chunked),
    UntilClose,
    Done,
}

/// A response body from an upstream.
pub struct UpstreamBody {
    reading: Reading,
    lease: Option<Lease>,
    reusable: bool,
}

impl UpstreamBody {
    pub(super) fn new(framing: super::wire::Framing, lease: Lease, reusable: bool) -> UpstreamBody {
        use super::wire::Framing;
        let reading = match framing {
            Framing::Empty | Framing::Length(0) => Reading::Done,
            Framing::Length(n) => Reading::Length(n),
            Framing::Chunked => Reading::Chunked(Chunked::default()),
            Framing::UntilClose => Reading::UntilClose,
        };
        let mut body = UpstreamBody {
            reading,
            lease: Some(lease),
            reusable,
        };
        if matches!(body.reading, Reading::Done) {
            body.end(true);
        }
        body
    }

    /// The body has been read (`complete`) or has failed: the lease ends.
    fn end(&mut self, complete: bool) {
        self.reading = Reading::Done;
        if let Some(lease) = self.lease.take() {
            lease.end(complete && self.reusable);
        }
    }

    fn fail(&mut self, error: BodyError) -> Poll<Option<Result<Frame<Bytes>, BodyError>>> {
        self.end(false);
        Poll::Ready(Some(Err(error)))
    }
}

impl HttpBody for UpstreamBody {
    type Data = Bytes;
    type Error = BodyError;

    fn poll_frame(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, BodyError>>> {
        let this = self.get_mut();
        loop {
            let Some(lease) = this.lease.as_mut() else {
                return Poll::Ready(None);
            };
            match &mut this.reading {
                Reading::Done => return Poll::Ready(None),
                Reading::Length(left) if !lease.buf.is_empty() => {
                    let n = usize::try_from(*left)
                        .unwrap_or(usize::MAX)
                        .min(lease.buf.len());
                    let data = lease.buf.split_to(n).freeze();
                    *left -= n as u64;
                    if *left == 0 {
                        this.end(true);
                    }
                    return Poll::Ready(Some(Ok(Frame::data(data))));
                }
                Reading::UntilClose if !lease.buf.is_empty() => {
                    let data = lease.buf.split().freeze();
                    return Poll::Ready(Some(Ok(Frame::data(data))));
                }
                Reading::Chunked(chunked) => match chunked.decode(&mut lease.buf) {
                    Ok(Step::Data(data)) => return Poll::Ready(Some(Ok(Frame::data(data)))),
                    Ok(Step::Done) => {
                        this.end(true);
                        return Poll::Ready(None);
                    }
                    Ok(Step::More) => {}
                    Err(e) => return this.fail(e.into()),
                },
                Reading::Length(_) | Reading::UntilClose => {}
            }
            // Nothing usable is buffered: read more.
            let Some(lease) = this.lease.as_mut() else {
                return Poll::Ready(None);
            };
            match lease.poll_read_more(cx) {
                Poll::Pending => return Poll::Pending,
                Poll::Ready(Ok(0)) if matches!(this.reading, Reading::UntilClose) => {
                    this.end(false);
                    return Poll::Ready(None);
                }
                Poll::Ready(Ok(0)) => return this.fail(BodyError::Incomplete),
                Poll::Ready(Ok(_)) => {}
                Poll::Ready(Err(e)) => return this.fail(e.into()),
            }
        }
    }

    fn is_end_stream(&self) -> bool {
        matches!(self.reading, Reading::Done)
    }

    fn size_hint(&self) -> SizeHint {
        match self.reading {
            Reading::Done => SizeHint::with_exact(0),
            Reading::Length(n) => SizeHint::with_exact(n),
            Reading::Chunked(_) | Reading::UntilClose => SizeHint::default(),
        }
    }
}

/// The upstream's response body, cut off when the call's deadline passes: one timer per call covers the
/// response head and the whole body, as reqwest's request timeout did (a slow stream is not a way around an
/// API's `timeout_secs`).
pub struct Deadline {
    pub body: UpstreamBody,
    pub sleep: Pin<Box<tokio::time::Sleep>>,
}

impl HttpBody for Deadline {
    type Data = Bytes;
    type Error = BodyError;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, BodyError>>> {
        match Pin::new(&mut self.body).poll_frame(cx) {
            Poll::Ready(frame) => Poll::Ready(frame),
            Poll::Pending => match self.sleep.as_mut().poll(cx) {
                Poll::Ready(()) => {
                    self.body.end(false);
                    Poll::Ready(Some(Err(BodyError::Deadline)))
                }
                Poll::Pending => Poll::Pending,
            },
        }
    }

    fn is_end_stream(&self) -> bool {
        self.body.is_end_stream()
    }

    fn size_hint(&self) -> SizeHint {
        self.body.size_hint()
    }
}
