//! Body helpers: a counting wrapper that reports when the exchange ends (the access log and metrics are written
//! when the last byte is sent, or when the body fails or is dropped early), and small constructors.

use crate::upstream::{Body, BoxError};
use bytes::Bytes;
use http_body::{Frame, SizeHint};
use http_body_util::{BodyExt, Empty, Full};
use std::pin::Pin;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::task::{Context, Poll};

pub fn full(data: impl Into<Bytes>) -> Body {
    Full::new(data.into()).map_err(|never| match never {}).boxed()
}

pub fn empty() -> Body {
    Empty::<Bytes>::new().map_err(|never| match never {}).boxed()
}

/// How a body ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum End {
    Complete,
    Failed,
    /// Dropped before its end (the client went away).
    Dropped,
}

/// Wraps a body: counts data bytes into `counter` and calls `on_end` exactly once.
pub struct Counted<B> {
    inner: B,
    counter: Arc<AtomicU64>,
    on_end: Option<Box<dyn FnOnce(End) + Send + Sync>>,
    /// Empty from the start: hyper may drop it without polling, which is a complete body.
    empty: bool,
}

impl<B: http_body::Body> Counted<B> {
    pub fn new(inner: B, counter: Arc<AtomicU64>, on_end: Option<Box<dyn FnOnce(End) + Send + Sync>>) -> Self {
        let empty = inner.is_end_stream();
        Counted { inner, counter, on_end, empty }
    }
}

impl<B> Counted<B> {
    fn finish(&mut self, end: End) {
        if let Some(f) = self.on_end.take() {
            f(end);
        }
    }
}

impl<B> Drop for Counted<B> {
    fn drop(&mut self) {
        self.finish(if self.empty { End::Complete } else { End::Dropped });
    }
}

impl<B> http_body::Body for Counted<B>
where
    B: http_body::Body<Data = Bytes> + Unpin,
    B::Error: Into<BoxError>,
{
    type Data = Bytes;
    type Error = BoxError;

    fn poll_frame(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Result<Frame<Bytes>, BoxError>>> {
        let this = &mut *self;
        match Pin::new(&mut this.inner).poll_frame(cx) {
            Poll::Ready(Some(Ok(frame))) => {
                if let Some(data) = frame.data_ref() {
                    this.counter.fetch_add(data.len() as u64, Ordering::Relaxed);
                }
                if this.inner.is_end_stream() {
                    this.finish(End::Complete);
                }
                Poll::Ready(Some(Ok(frame)))
            }
            Poll::Ready(Some(Err(e))) => {
                this.finish(End::Failed);
                Poll::Ready(Some(Err(e.into())))
            }
            Poll::Ready(None) => {
                this.finish(End::Complete);
                Poll::Ready(None)
            }
            Poll::Pending => Poll::Pending,
        }
    }

    fn is_end_stream(&self) -> bool {
        self.inner.is_end_stream()
    }

    fn size_hint(&self) -> SizeHint {
        self.inner.size_hint()
    }
}
