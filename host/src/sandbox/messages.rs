//! The guest's request and response in the host's own types: the rest of
//! the host never sees the bindings generated from the contract.

use super::bindings::terrarium::app::http::{Request as WitRequest, Response as WitResponse, SessionChange};
use super::latin1::{self, NotLatin1};
use crate::sessions::Change;

/// A request as the guest receives it: the packed head (see
/// [`crate::packing`]), the body, and the session's data when the mount has
/// sessions.
#[derive(Debug, Clone)]
pub struct GuestRequest(pub(super) WitRequest);

impl GuestRequest {
    /// The request record for a packed `head`, a `body` (its first part
    /// when `more_body`) and a session.
    pub fn new(head: Vec<u8>, body: Vec<u8>, more_body: bool, session: Option<String>) -> Self {
        Self(WitRequest {
            head,
            body,
            more_body,
            session,
        })
    }

    /// The packed head.
    pub fn head(&self) -> &[u8] {
        &self.0.head
    }

    /// The body (its first part when more follows).
    pub fn body(&self) -> &[u8] {
        &self.0.body
    }

    /// Whether more of the body follows, read as it arrives.
    pub fn more_body(&self) -> bool {
        self.0.more_body
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
    /// The body: whole, or its first part when `more_body`.
    pub body: Vec<u8>,
    /// Whether the rest of the body streams (pulled from the instance).
    pub more_body: bool,
    /// What the app did with the session.
    pub session: Change,
}

impl TryFrom<WitResponse> for GuestResponse {
    type Error = NotLatin1;

    fn try_from(answer: WitResponse) -> Result<Self, NotLatin1> {
        Ok(Self {
            status: answer.status,
            headers: latin1::into_bytes(answer.headers)?,
            body: latin1::into_bytes(answer.body)?,
            more_body: answer.more_body,
            session: match answer.session {
                SessionChange::Unchanged => Change::Unchanged,
                SessionChange::Save(data) => Change::Save(data),
                SessionChange::Regenerate(data) => Change::Regenerate(data),
                SessionChange::Destroy => Change::Destroy,
            },
        })
    }
}
