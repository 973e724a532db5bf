//! Why a call into a guest failed. Mapped to an HTTP status in one place
//! (`http::responses`); classified here, from the store's own records.

use std::time::Duration;

/// A request the guest did not answer.
#[derive(Debug, thiserror::Error)]
pub enum GuestError {
    /// The request ran past its deadline and was interrupted.
    #[error("the app did not answer within {0:?}")]
    Timeout(Duration),
    /// The instance tried to grow its memory past the cap.
    #[error("the app exceeded its memory limit of {0} bytes")]
    OutOfMemory(u64),
    /// The guest's wasm stack overflowed.
    #[error("the app overflowed its stack")]
    StackOverflow,
    /// Any other trap (abort, unreachable, ...).
    #[error("the app crashed: {0}")]
    Crashed(String),
    /// The guest answered something that is not a valid HTTP response.
    #[error("the app sent an invalid response: {0}")]
    BadResponse(String),
    /// Every instance stayed busy for the whole wait.
    #[error("no instance became free within {0:?}")]
    Busy(Duration),
    /// The rest of the request body could not be read (the refusal the
    /// client gets: 413, 408 or 400). The instance is unharmed.
    #[error(transparent)]
    Body(#[from] super::exchange::BodyFault),
    /// The app failed midway through a streamed response (its log says
    /// why); the response was cut. The instance is unharmed.
    #[error("the app failed while streaming its response")]
    StreamBroken,
    /// A new instance could not be created.
    #[error("could not start an instance: {0}")]
    Instantiate(String),
    /// A new instance of a shared interpreter could not import its app:
    /// the exception on one line, then its traceback.
    #[error("the app failed to start: {0}")]
    StartFailed(String),
}
