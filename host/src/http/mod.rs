//! The HTTP side: the only code that touches hyper.
//!
//! - [`listeners`]: the public listening sockets, one per worker thread.
//! - [`server`]: the worker threads, connections (HTTP/1.1 and HTTP/2,
//!   keep-alive), graceful shutdown.
//! - [`transport`]: how a request came (TLS or not), told to the app and the log.
//! - [`pipeline`]: one request: id, canonical path, mount, on/off, body limit,
//!   dispatch, stats, access log.
//! - [`connections`]: the connections a listener holds, what each is doing,
//!   and which gives way at the cap.
//! - [`body_budget`]: the site-wide budget of request-body bytes held in memory.
//! - [`finished`]: a request's access-log record and stats, written once its
//!   response (streamed ones too) is over.
//! - [`when_sent`]: a response body that tells when it is over (sent, cut
//!   or dropped), with the bytes sent.
//! - [`marshal`]: an HTTP request into the contract's request record.
//! - [`static_files`]: folders served through cap-std (ETag, Range, listings).
//! - [`admin`]: the control API (mounts on/off, reload, health, metrics).
//! - [`dashboard`]: the page on the admin listener that shows the mounts and
//!   switches them; who may use the admin listener.
//! - [`responses`]: every refusal is a [`responses::Refusal`], logged and
//!   turned into a response there; guest answers are checked there too.

pub mod admin;
pub mod body_budget;
pub mod connections;
pub mod dashboard;
pub mod finished;
pub mod listeners;
pub mod marshal;
pub mod pipeline;
pub mod responses;
pub mod server;
pub mod static_files;
pub mod transport;
pub mod when_sent;

pub use listeners::PublicListeners;
pub use server::serve_site;
