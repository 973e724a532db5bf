//! A request's record in the access log and its mount's stats, written once
//! its response is over: at once for a response whose length is known, or
//! when a streamed body has been sent (or cut, or dropped with its
//! connection), with the bytes actually sent and the whole duration.

use std::{net::SocketAddr, sync::Arc, time::Instant};

use http::{Method, Response, Version};

use super::{responses::Body, when_sent::when_sent};
use crate::{
    access_log::AccessEntry,
    hosts::RequestHost,
    site::{Mount, Site},
};

/// What the record of one request says, but for its body's length and the
/// time it ended.
pub struct Finished {
    /// The site whose access log gets the record.
    pub site: Arc<Site>,
    /// The mount that answered, if any.
    pub mount: Option<Arc<Mount>>,
    /// The request method.
    pub method: Method,
    /// The host it named, when it named one.
    pub host: Option<RequestHost<'static>>,
    /// The request path as received.
    pub path: String,
    /// The protocol it came in.
    pub version: Version,
    /// Its connection's TLS version, over TLS.
    pub tls: Option<&'static str>,
    /// The host's id for the request.
    pub request_id: String,
    /// The client's address.
    pub remote: SocketAddr,
    /// When the request arrived.
    pub started: Instant,
}

impl Finished {
    /// Records `response` now when its body's length is known (a whole
    /// body); else hands it back with a body that records it once it is over.
    pub fn record_when_sent(self, response: Response<Body>) -> Response<Body> {
        let status = response.status().as_u16();
        if let Some(bytes) = hyper::body::Body::size_hint(response.body()).exact() {
            self.record(status, bytes);
            return response;
        }
        response.map(|body| when_sent(body, move |sent| self.record(status, sent)))
    }

    fn record(self, status: u16, bytes: u64) {
        let now = Instant::now();
        let duration = now.saturating_duration_since(self.started);
        if let Some(mount) = &self.mount {
            mount.stats.record(status, duration, now);
        }
        self.site.access_log().record(&AccessEntry {
            mount: self.mount.as_ref().map_or("-", |m| m.name.as_str()),
            method: self.method.as_str(),
            path: &self.path,
            status,
            bytes,
            duration,
            request_id: &self.request_id,
            remote: self.remote,
            host: self.host.as_ref(),
            version: self.version,
            tls: self.tls,
        });
    }
}
