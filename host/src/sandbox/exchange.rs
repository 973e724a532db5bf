//! One request's exchange with its guest beyond the call's argument and
//! result: the rest of a request body, read as it arrives (the contract's
//! `streams` import), and a streaming response's parts, pulled from the
//! instance (the `handler` export's `next-part`) as the client takes them.
//!
//! The host side of a call hands the guest an [`Exchange`]: where the rest
//! of the body comes from (a [`BodySource`], none when it came whole) and a
//! sign of whether the client is still there. The answering side gets a
//! [`GuestAnswer`]: whole, or a head and its [`AnswerParts`], filled by the
//! task that holds the instance through a channel of one part, so a slow
//! client slows the app and memory stays bounded.
//!
//! (Parts travel as return values, not as arguments of an import: the
//! guest's runtime, componentize-py 0.25, never frees a `list<u8>` it
//! passes to an import, so a gigabyte sent that way would stay in the
//! instance's memory.)

use std::{
    io,
    pin::Pin,
    sync::{
        Arc, Weak,
        atomic::{AtomicBool, Ordering},
    },
    task::{Context, Poll},
    time::{Duration, Instant},
};

use bytes::Bytes;
use futures_util::{Stream, StreamExt};
use tokio::sync::mpsc;

use super::{
    deadline::CallDeadline,
    instance::GuestState,
    messages::GuestResponse,
    terrarium::app::streams::{BodyError, Host},
};

/// The rest of a request body, as it arrives, within the host's limits.
pub type BodySource = Pin<Box<dyn Stream<Item = Result<Bytes, BodyFault>> + Send>>;

/// Why the rest of a request body could not be read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum BodyFault {
    /// It is larger than the mount's `max_body`.
    #[error("the body is larger than {0} bytes")]
    TooLarge(u64),
    /// It stalled or came too slowly.
    #[error("{0}")]
    TooSlow(String),
    /// The client sent something unreadable, or went away.
    #[error("{0}")]
    Unreadable(String),
}

/// The most one `read-body` hands over at once.
const MAX_READ: usize = 1 << 20;

/// How long the parts of a streamed exchange may take.
#[derive(Debug, Clone, Copy)]
pub struct StreamLimits {
    /// The longest gap between two parts (the mount's `timeout`).
    pub gap: Duration,
    /// The longest a whole exchange may stream (the mount's `stream_timeout`).
    pub whole: Duration,
}

impl StreamLimits {
    /// When the next step of an exchange that must be over at `ends` must be done.
    pub fn next_deadline(&self, ends: Instant) -> Instant {
        (Instant::now() + self.gap).min(ends)
    }
}

/// The guest's side of one request's exchange, held by its instance for
/// the length of the call.
pub struct Exchange {
    body: Option<BodySource>,
    /// What the last read brought beyond what the guest asked for.
    leftover: Bytes,
    /// Why reading the body failed, if it did.
    fault: Option<BodyFault>,
    /// Alive while the client waits for the answer.
    client: Weak<()>,
    limits: StreamLimits,
    /// When the whole exchange must be over.
    ends: Instant,
}

/// Kept by the answering side while its client waits: once it is dropped
/// (the client went away), the guest's `client-gone` says so.
pub struct ClientWaiting {
    _alive: Arc<()>,
}

/// How a guest answered, as the answering side receives it.
pub enum GuestAnswer {
    /// Whole.
    Whole(GuestResponse),
    /// Streaming: its head (with its first part as body) and the rest as it comes.
    Streamed(GuestResponse, AnswerParts),
}

/// The parts of a streaming response after its first, in order; an error
/// at the end when the guest failed (or was cut) before its last part.
pub struct AnswerParts {
    parts: mpsc::Receiver<Bytes>,
    /// Set by the sending side once the last part is sent.
    complete: Arc<AtomicBool>,
    ended: bool,
    _client: ClientWaiting,
}

impl AnswerParts {
    /// The parts arriving on `parts`, complete once `complete` is set
    /// before the channel closes, for the client `client`.
    pub(super) fn new(
        parts: mpsc::Receiver<Bytes>,
        complete: Arc<AtomicBool>,
        client: ClientWaiting,
    ) -> Self {
        Self {
            parts,
            complete,
            ended: false,
            _client: client,
        }
    }
}

impl Exchange {
    /// An exchange for a call starting now: `body` is the rest of the
    /// request body (none when it came whole). Returns the client's sign of
    /// life too, to keep while it waits.
    pub fn new(body: Option<BodySource>, limits: StreamLimits) -> (Self, ClientWaiting) {
        let client = Arc::new(());
        let exchange = Self {
            body,
            leftover: Bytes::new(),
            fault: None,
            client: Arc::downgrade(&client),
            limits,
            ends: Instant::now() + limits.whole,
        };
        (exchange, ClientWaiting { _alive: client })
    }

    /// Why reading the body failed, if it did.
    pub fn fault(&self) -> Option<&BodyFault> {
        self.fault.as_ref()
    }

    /// When the whole exchange must be over.
    pub fn ends(&self) -> Instant {
        self.ends
    }

    /// How long its parts may take.
    pub fn limits(&self) -> StreamLimits {
        self.limits
    }

    async fn read_body(&mut self, max: u32, deadline: &CallDeadline) -> Result<Option<Vec<u8>>, BodyError> {
        let max = (max as usize).clamp(1, MAX_READ);
        if self.leftover.is_empty() {
            let Some(source) = self.body.as_mut() else {
                return Ok(None);
            };
            // The source bounds its own waits (the server's body timeout);
            // the call may wait as long as the whole exchange may last, and
            // each part read gives it another gap.
            deadline.set(self.ends);
            let next = source.next().await;
            deadline.set(self.limits.next_deadline(self.ends));
            match next {
                None => {
                    self.body = None;
                    return Ok(None);
                }
                Some(Err(fault)) => {
                    self.body = None;
                    self.fault = Some(fault.clone());
                    return Err(match fault {
                        BodyFault::TooLarge(limit) => BodyError::TooLarge(limit),
                        BodyFault::TooSlow(why) => BodyError::TooSlow(why),
                        BodyFault::Unreadable(why) => BodyError::Unreadable(why),
                    });
                }
                Some(Ok(part)) => self.leftover = part,
            }
        }
        let part = self.leftover.split_to(max.min(self.leftover.len()));
        Ok(Some(part.to_vec()))
    }

    /// Whether the client has gone away.
    pub fn client_gone(&self) -> bool {
        self.client.strong_count() == 0
    }
}

impl Stream for AnswerParts {
    type Item = io::Result<Bytes>;

    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        if self.ended {
            return Poll::Ready(None);
        }
        match self.parts.poll_recv(cx) {
            Poll::Ready(Some(part)) => Poll::Ready(Some(Ok(part))),
            Poll::Ready(None) => {
                self.ended = true;
                if self.complete.load(Ordering::Acquire) {
                    Poll::Ready(None)
                } else {
                    Poll::Ready(Some(Err(io::Error::other(
                        "the app's response was cut before its end",
                    ))))
                }
            }
            Poll::Pending => Poll::Pending,
        }
    }
}

impl Host for GuestState {
    async fn read_body(&mut self, max: u32) -> Result<Option<Vec<u8>>, BodyError> {
        let (exchange, deadline) = self.exchange();
        match exchange {
            Some(exchange) => exchange.read_body(max, deadline).await,
            None => Ok(None),
        }
    }

    fn client_gone(&mut self) -> bool {
        self.exchange().0.is_none_or(|exchange| exchange.client_gone())
    }
}
