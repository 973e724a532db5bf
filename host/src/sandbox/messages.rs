//! The guest's request and response in the host's own types: the rest of
//! the host never sees the bindings generated from the contract.

use super::bindings::terrarium::app::http::{Request as WitRequest, Response as WitResponse, SessionChange};
use crate::sessions::Change;

/// A request as the guest receives it: the packed head (see
/// [`crate::packing`]), the body, and the session's data when the mount has
/// sessions.
#[derive(Debug, Clone)]
pub struct GuestRequest(pub(super) WitRequest);

impl GuestRequest {
    /// The request record for a packed `head`, a `body` and a session.
    pub fn new(head: Vec<u8>, body: Vec<u8>, session: Option<String>) -> Self {
        Self(WitRequest { head, body, session })
    }

    /// The packed head.
    pub fn head(&self) -> &[u8] {
        &self.0.head
    }

    /// The body.
    pub fn body(&self) -> &[u8] {
        &self.0.body
    }

    /// The session's data (a JSON object), when the mount has sessions.
    pub fn session(&self) -> Option<&str> {
        self.0.session.as_deref()
    }
}

/// A response as the guest sent it, not yet checked (that is
/// `http::responses`' job).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GuestResponse {
    /// The status code as the guest gave it.
    pub status: u16,
    /// The headers, packed (see [`crate::packing::unpack_headers`]).
    pub headers: Vec<u8>,
    /// The body, whole.
    pub body: Vec<u8>,
    /// What the app did with the session.
    pub session: Change,
}

impl From<WitResponse> for GuestResponse {
    fn from(answer: WitResponse) -> Self {
        Self {
            status: answer.status,
            headers: answer.headers,
            body: answer.body,
            session: match answer.session {
                SessionChange::Unchanged => Change::Unchanged,
                SessionChange::Save(data) => Change::Save(data),
                SessionChange::Regenerate(data) => Change::Regenerate(data),
                SessionChange::Destroy => Change::Destroy,
            },
        }
    }
}
