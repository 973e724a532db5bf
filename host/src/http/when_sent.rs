//! A response body that tells when it is over: once it has been sent
//! whole, cut, or dropped unsent (hyper drops it in every case), it calls
//! its hook with the bytes of it that were sent.

use std::{
    io,
    pin::Pin,
    task::{Context, Poll},
};

use bytes::Bytes;
use http_body_util::BodyExt;
use hyper::body::{Frame, SizeHint};

use super::responses::Body;

/// `body`, calling `then(bytes_sent)` once it is over.
pub fn when_sent<F>(body: Body, then: F) -> Body
where
    F: FnOnce(u64) + Send + Sync + Unpin + 'static,
{
    BodyExt::boxed(WhenSent {
        body,
        sent: 0,
        then: Some(then),
    })
}

struct WhenSent<F: FnOnce(u64)> {
    body: Body,
    sent: u64,
    then: Option<F>,
}

impl<F: FnOnce(u64) + Unpin> hyper::body::Body for WhenSent<F> {
    type Data = Bytes;
    type Error = io::Error;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        context: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, io::Error>>> {
        let polled = Pin::new(&mut self.body).poll_frame(context);
        if let Poll::Ready(Some(Ok(frame))) = &polled
            && let Some(data) = frame.data_ref()
        {
            self.sent += data.len() as u64;
        }
        polled
    }

    fn is_end_stream(&self) -> bool {
        self.body.is_end_stream()
    }

    fn size_hint(&self) -> SizeHint {
        self.body.size_hint()
    }
}

impl<F: FnOnce(u64)> Drop for WhenSent<F> {
    fn drop(&mut self) {
        if let Some(then) = self.then.take() {
            then(self.sent);
        }
    }
}
