//! The HTTP side: the only code that touches hyper.
//!
//! - [`server`]: the listener, connections (HTTP/1.1, keep-alive), graceful shutdown.
//! - [`pipeline`]: one request: id, mount, body limit, dispatch, access log.
//! - [`responses`]: every failure becomes a response here, and guest answers
//!   are checked and turned into hyper responses.

pub mod pipeline;
pub mod responses;
pub mod server;

pub use server::serve;
