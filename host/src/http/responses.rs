//! The answers the host makes itself, in one place.
//!
//! Every refusal (a bad path, a body too large or unreadable, a switched-off
//! mount, the session store down, a guest that did not answer, the static
//! and control API refusals) is a [`Refusal`] value: handlers return it as
//! their `Err`, and [`Refusal::respond`] logs it in one line and turns it
//! into the response. A guest's own answer is checked here too
//! ([`from_guest`]).

use bytes::Bytes;
use futures_util::{Stream, StreamExt, TryStreamExt};
use http::{HeaderName, HeaderValue, Response, StatusCode, header};
use http_body_util::{BodyExt, Empty, Full, StreamBody, combinators::BoxBody};
use hyper::body::Frame;
use serde_json::json;

use crate::{
    packing::unpack_headers,
    paths::PathError,
    sandbox::{AnswerParts, BodyFault, GuestError, GuestResponse},
    sessions::{Change, StoreError},
    site::ControlError,
};

/// The body type of every response the host sends: whole or streamed.
pub type Body = BoxBody<Bytes, std::io::Error>;

/// A body held whole in memory.
pub fn full(bytes: impl Into<Bytes>) -> Body {
    Full::new(bytes.into()).map_err(|never| match never {}).boxed()
}

/// An empty body.
pub fn empty() -> Body {
    Empty::new().map_err(|never| match never {}).boxed()
}

/// How long clients are told to wait before retrying a switched-off mount.
pub const MAINTENANCE_RETRY_AFTER_SECS: u32 = 30;

/// Why the host answered a request itself.
#[derive(Debug, thiserror::Error)]
pub enum Refusal {
    /// The path cannot be made canonical (400).
    #[error("bad path: {0}")]
    BadPath(#[from] PathError),
    /// The request could not be read or handed to the app (400).
    #[error("unreadable request: {0}")]
    Unreadable(String),
    /// The request uses something the host does not do, such as a
    /// transfer coding other than chunked (501).
    #[error("not implemented: {0}")]
    NotImplemented(String),
    /// Nothing is served here (404): no mount, no such file, a hidden file.
    #[error("not found")]
    NotFound,
    /// No mount serves the host the request names, and there is no default
    /// site (`server.unknown_host`: 404, or 421 Misdirected Request).
    #[error("no mount serves the host {host}")]
    UnknownHost {
        /// The host, as the request named it.
        host: String,
        /// Whether to answer 421 rather than 404.
        misdirected: bool,
    },
    /// Something is here, but not for this method (405 with `Allow`).
    #[error("method not allowed (allowed: {allow})")]
    MethodNotAllowed {
        /// The methods that are answered.
        allow: &'static str,
    },
    /// A folder with neither an index.html nor a listing (403).
    #[error("forbidden: the folder has no index.html and listings are off")]
    Forbidden,
    /// The body stalled, or came too slowly (408; the connection is closed).
    #[error("request timeout: {0}")]
    BodyTimeout(String),
    /// The body is larger than the mount accepts (413).
    #[error("the body is larger than {limit} bytes")]
    TooLarge {
        /// The mount's `max_body`.
        limit: u64,
    },
    /// The site holds as many body bytes as `server.max_buffered_bodies`
    /// allows (503; the connection is closed).
    #[error("too many request bodies held right now")]
    BodiesBusy,
    /// The mount is switched off (503 with its maintenance page).
    #[error("the mount is switched off")]
    Maintenance(Option<Bytes>),
    /// The session store could not load, or save, the session (503).
    #[error("{}{error}", if *.saving { "session not saved: " } else { "" })]
    Sessions {
        /// Whether it failed saving (after the app answered) or loading.
        saving: bool,
        /// The store's error.
        error: StoreError,
    },
    /// The guest did not answer (500, 503 or 504; details only in the log).
    #[error(transparent)]
    Guest(#[from] GuestError),
    /// The host itself failed (500).
    #[error("internal error: {0}")]
    Internal(String),
    /// A control API refusal (answered as JSON).
    #[error(transparent)]
    Control(#[from] ControlRefusal),
}

impl From<BodyFault> for Refusal {
    fn from(fault: BodyFault) -> Self {
        match fault {
            BodyFault::TooLarge(limit) => Self::TooLarge { limit },
            BodyFault::TooSlow(why) => Self::BodyTimeout(why),
            BodyFault::Unreadable(why) => Self::Unreadable(why),
        }
    }
}

/// Why the control API refused a request; answered as `{"error": ...}`.
#[derive(Debug, thiserror::Error)]
pub enum ControlRefusal {
    /// No valid bearer token (401).
    #[error("a valid bearer token is required")]
    Unauthorized,
    /// A change a browser asked for on behalf of another site (403).
    #[error("refused: a change asked for by another site than the dashboard")]
    CrossSite,
    /// A change a browser asked for without the dashboard's CSRF token (403).
    #[error("refused: the request has no valid CSRF token (reload the dashboard)")]
    NoCsrfToken,
    /// No such endpoint (404).
    #[error("no such endpoint: {0}")]
    NoEndpoint(String),
    /// The endpoint takes another method (405 with `Allow`).
    #[error("method not allowed")]
    MethodNotAllowed {
        /// The method it takes.
        allow: &'static str,
    },
    /// The mount named cannot do that (404, 409 or 500).
    #[error(transparent)]
    Mount(#[from] ControlError),
}

/// Where a refusal happened, for its log line.
#[derive(Debug, Clone, Copy)]
pub struct Context<'a> {
    /// The mount's name, when the path reached one.
    pub mount: Option<&'a str>,
    /// The request's id ("" on the control API).
    pub request_id: &'a str,
}

impl Refusal {
    /// The status the client gets.
    pub fn status(&self) -> StatusCode {
        match self {
            Self::BadPath(_) | Self::Unreadable(_) => StatusCode::BAD_REQUEST,
            Self::NotImplemented(_) => StatusCode::NOT_IMPLEMENTED,
            Self::NotFound => StatusCode::NOT_FOUND,
            Self::UnknownHost {
                misdirected: false, ..
            } => StatusCode::NOT_FOUND,
            Self::UnknownHost {
                misdirected: true, ..
            } => StatusCode::MISDIRECTED_REQUEST,
            Self::MethodNotAllowed { .. } => StatusCode::METHOD_NOT_ALLOWED,
            Self::Forbidden => StatusCode::FORBIDDEN,
            Self::TooLarge { .. } => StatusCode::PAYLOAD_TOO_LARGE,
            Self::BodyTimeout(_) => StatusCode::REQUEST_TIMEOUT,
            Self::Maintenance(_) | Self::Sessions { .. } | Self::BodiesBusy => {
                StatusCode::SERVICE_UNAVAILABLE
            }
            Self::Guest(error) => guest_failure_status(error),
            Self::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
            Self::Control(refusal) => refusal.status(),
        }
    }

    /// Logs the refusal in one line (server-side failures as errors, the
    /// client's mistakes at debug level) and turns it into its response.
    pub fn respond(self, context: Context<'_>) -> Response<Body> {
        let mount = context.mount.unwrap_or("-");
        let request = context.request_id;
        match &self {
            Self::Sessions { .. } | Self::Guest(_) | Self::Internal(_) => {
                tracing::error!(mount, request, "{self}");
            }
            Self::Control(ControlRefusal::Mount(ControlError::ReloadFailed(_))) => {
                // The reload itself logged its failure, with the build's output.
            }
            _ => tracing::debug!(mount, request, "refused: {self}"),
        }
        self.response_naming(request)
    }

    /// The response the client gets. Details of a server-side failure stay
    /// in the log, never in the response.
    pub fn into_response(self) -> Response<Body> {
        self.response_naming("")
    }

    /// [`Self::into_response`]; a server-side failure's page names the
    /// request's id (when not empty), for the user to quote.
    fn response_naming(self, request_id: &str) -> Response<Body> {
        let status = self.status();
        let mut response = match &self {
            Self::BadPath(error) => plain(status, &format!("400 Bad Request: {error}")),
            Self::Unreadable(reason) => plain(status, &format!("400 Bad Request: {reason}")),
            Self::NotImplemented(what) => plain(status, &format!("501 Not Implemented: {what}")),
            Self::BodyTimeout(why) => plain(status, &format!("408 Request Timeout: {why}")),
            Self::TooLarge { limit } => plain(
                status,
                &format!("413 Content Too Large: this app accepts bodies up to {limit} bytes"),
            ),
            Self::Maintenance(page) => maintenance(page.as_ref()),
            Self::BodiesBusy => plain(
                status,
                "503 Service Unavailable: the server is receiving too many uploads right now; please retry",
            ),
            Self::Sessions { .. } => plain(
                status,
                "503 Service Unavailable: sessions are unavailable right now; please retry",
            ),
            Self::Control(refusal) => json_response(status, &json!({"error": refusal.to_string()})),
            Self::UnknownHost { .. } => plain(
                status,
                &format!(
                    "{} {}: this server does not serve that host",
                    status.as_u16(),
                    status.canonical_reason().unwrap_or("")
                ),
            ),
            Self::NotFound
            | Self::MethodNotAllowed { .. }
            | Self::Forbidden
            | Self::Guest(_)
            | Self::Internal(_) => {
                let mut message = format!("{} {}", status.as_u16(), status.canonical_reason().unwrap_or(""));
                if status.is_server_error() && !request_id.is_empty() {
                    message.push_str(&format!(" (request {request_id})"));
                }
                plain(status, &message)
            }
        };
        let headers = response.headers_mut();
        match &self {
            Self::MethodNotAllowed { allow } | Self::Control(ControlRefusal::MethodNotAllowed { allow }) => {
                headers.insert(header::ALLOW, HeaderValue::from_static(allow));
            }
            Self::Control(ControlRefusal::Unauthorized) => {
                headers.insert(header::WWW_AUTHENTICATE, HeaderValue::from_static("Bearer"));
            }
            Self::Sessions { .. } => {
                headers.insert(header::RETRY_AFTER, HeaderValue::from_static("5"));
            }
            Self::BodyTimeout(_) | Self::BodiesBusy => {
                // What is left of the body will never be read: the
                // connection cannot carry another request.
                headers.insert(header::CONNECTION, HeaderValue::from_static("close"));
                if matches!(self, Self::BodiesBusy) {
                    headers.insert(header::RETRY_AFTER, HeaderValue::from_static("5"));
                }
            }
            Self::Guest(_) if status == StatusCode::SERVICE_UNAVAILABLE => {
                headers.insert(header::RETRY_AFTER, HeaderValue::from_static("1"));
            }
            _ => {}
        }
        response
    }
}

impl ControlRefusal {
    fn status(&self) -> StatusCode {
        match self {
            Self::Unauthorized => StatusCode::UNAUTHORIZED,
            Self::CrossSite | Self::NoCsrfToken => StatusCode::FORBIDDEN,
            Self::NoEndpoint(_) | Self::Mount(ControlError::NoSuchMount(_)) => StatusCode::NOT_FOUND,
            Self::MethodNotAllowed { .. } => StatusCode::METHOD_NOT_ALLOWED,
            Self::Mount(ControlError::NotAnApp(_) | ControlError::Busy(_)) => StatusCode::CONFLICT,
            Self::Mount(ControlError::Invalid(_)) => StatusCode::BAD_REQUEST,
            Self::Mount(ControlError::ReloadFailed(_) | ControlError::Unwritable(_)) => {
                StatusCode::INTERNAL_SERVER_ERROR
            }
        }
    }
}

/// 503 for a switched-off mount: its maintenance page, or a plain default.
fn maintenance(page: Option<&Bytes>) -> Response<Body> {
    let mut response = match page {
        Some(page) => {
            let mut response = Response::new(full(page.clone()));
            response.headers_mut().insert(
                header::CONTENT_TYPE,
                HeaderValue::from_static("text/html; charset=utf-8"),
            );
            response
        }
        None => plain(
            StatusCode::SERVICE_UNAVAILABLE,
            "503 Service Unavailable: this part of the site is down for maintenance",
        ),
    };
    *response.status_mut() = StatusCode::SERVICE_UNAVAILABLE;
    response.headers_mut().insert(
        header::RETRY_AFTER,
        HeaderValue::from(MAINTENANCE_RETRY_AFTER_SECS),
    );
    response
        .headers_mut()
        .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    response
}

/// A plain-text response with `status` and a one-line message.
pub fn plain(status: StatusCode, message: &str) -> Response<Body> {
    let mut response = Response::new(full(format!("{message}\n")));
    *response.status_mut() = status;
    response.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/plain; charset=utf-8"),
    );
    response
}

/// A redirect (`status` 301 or 308) to `location`, with a line saying so.
pub fn redirect(status: StatusCode, location: &str) -> Response<Body> {
    let reason = status.canonical_reason().unwrap_or("Redirect");
    let mut response = plain(status, &format!("{} {reason}: {location}", status.as_u16()));
    if let Ok(value) = HeaderValue::from_str(location) {
        response.headers_mut().insert(header::LOCATION, value);
    }
    response
}

/// A JSON response (the control API's answers).
pub fn json_response(status: StatusCode, body: &serde_json::Value) -> Response<Body> {
    let mut response = Response::new(full(body.to_string()));
    *response.status_mut() = status;
    response
        .headers_mut()
        .insert(header::CONTENT_TYPE, HeaderValue::from_static("application/json"));
    response
}

/// The status a guest failure maps to. Details stay in the log, not the response.
fn guest_failure_status(error: &GuestError) -> StatusCode {
    match error {
        GuestError::Timeout(_) => StatusCode::GATEWAY_TIMEOUT,
        GuestError::Body(fault) => Refusal::from(fault.clone()).status(),
        GuestError::StreamBroken => StatusCode::INTERNAL_SERVER_ERROR,
        GuestError::Busy(_) => StatusCode::SERVICE_UNAVAILABLE,
        GuestError::OutOfMemory(_)
        | GuestError::StackOverflow
        | GuestError::Crashed(_)
        | GuestError::BadResponse(_)
        | GuestError::Instantiate(_)
        | GuestError::StartFailed(_) => StatusCode::INTERNAL_SERVER_ERROR,
    }
}

/// Hop-by-hop and framing headers the host sets itself; an app's are dropped.
fn is_host_owned(name: &HeaderName) -> bool {
    name == header::CONNECTION
        || name == header::TRANSFER_ENCODING
        || name == header::CONTENT_LENGTH
        || name == "keep-alive"
        || name == header::UPGRADE
}

/// Checks a guest's answer and turns it into a hyper response; returns it
/// with what the app did with the session.
pub fn from_guest(answer: GuestResponse) -> Result<(Response<Body>, Change), GuestError> {
    let GuestResponse {
        status,
        headers,
        body,
        session,
        ..
    } = answer;
    let response = checked_head(status, &headers, full(body), false)?;
    Ok((response, session))
}

/// [`from_guest`] for a streamed answer: `head` (its body the first part)
/// and the rest of its `parts`, sent on as they come. A `Content-Length` the app set is kept
/// (the parts must then add up to it); without one the body is chunked.
pub fn streamed_from_guest(
    head: GuestResponse,
    parts: AnswerParts,
) -> Result<(Response<Body>, Change), GuestError> {
    let response = checked_head(head.status, &head.headers, empty(), true)?;
    let declared = response
        .headers()
        .get(header::CONTENT_LENGTH)
        .and_then(|value| value.to_str().ok()?.parse::<u64>().ok());
    let first = Bytes::from(head.body);
    let first = futures_util::stream::iter((!first.is_empty()).then_some(Ok(first)));
    let parts = first.chain(parts);
    let body = match declared {
        Some(length) => BodyExt::boxed(StreamBody::new(exactly(length, parts).map_ok(Frame::data))),
        None => BodyExt::boxed(StreamBody::new(parts.map_ok(Frame::data))),
    };
    Ok((response.map(|_| body), head.session))
}

/// `parts`, checked to add up to exactly the `length` the app declared: a
/// part that would go past it, or an end short of it, is an error instead
/// (logged), so the connection is cut and the client never takes a
/// wrong-length body for a whole one.
fn exactly(
    length: u64,
    parts: impl Stream<Item = std::io::Result<Bytes>> + Unpin + Send,
) -> impl Stream<Item = std::io::Result<Bytes>> + Send {
    let wrong = move |sent: &dyn std::fmt::Display| {
        let message =
            format!("the app declared Content-Length: {length} and sent {sent} bytes: the response was cut");
        tracing::warn!("{message}");
        std::io::Error::other(message)
    };
    futures_util::stream::unfold((parts, 0u64, false), move |(mut parts, sent, ended)| async move {
        if ended {
            return None;
        }
        let step = match parts.next().await {
            Some(Ok(part)) => {
                let sent = sent + part.len() as u64;
                if sent > length {
                    (
                        Err(wrong(&format_args!("more than {length}"))),
                        (parts, sent, true),
                    )
                } else {
                    (Ok(part), (parts, sent, false))
                }
            }
            Some(Err(error)) => (Err(error), (parts, sent, true)),
            None if sent < length => (Err(wrong(&sent)), (parts, sent, true)),
            None => return None,
        };
        Some(step)
    })
}

/// A response with the guest's `status` and packed `headers`, both checked,
/// and `body`; the headers the host owns are dropped (but the app's
/// `Content-Length` when `keep_length`).
fn checked_head(
    status: u16,
    headers: &[u8],
    body: Body,
    keep_length: bool,
) -> Result<Response<Body>, GuestError> {
    let status = StatusCode::from_u16(status)
        .ok()
        .filter(|s| (200..=599).contains(&s.as_u16()))
        .ok_or_else(|| GuestError::BadResponse(format!("status {status} is not a valid final status")))?;
    let mut response = Response::new(body);
    *response.status_mut() = status;
    let map = response.headers_mut();
    for entry in unpack_headers(headers) {
        let (name, value) = entry.map_err(|e| GuestError::BadResponse(e.to_string()))?;
        let name = HeaderName::from_bytes(name).map_err(|_| {
            GuestError::BadResponse(format!("invalid header name {:?}", String::from_utf8_lossy(name)))
        })?;
        let value = HeaderValue::from_bytes(value)
            .map_err(|_| GuestError::BadResponse(format!("invalid value for header {name}")))?;
        if keep_length && name == header::CONTENT_LENGTH {
            let length = value.to_str().ok().and_then(|v| v.trim().parse::<u64>().ok());
            let length =
                length.ok_or_else(|| GuestError::BadResponse(format!("invalid Content-Length {value:?}")))?;
            map.insert(header::CONTENT_LENGTH, HeaderValue::from(length));
        } else if !is_host_owned(&name) {
            map.append(name, value);
        }
    }
    Ok(response)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    fn answer(status: u16, headers: &[(&str, &[u8])]) -> GuestResponse {
        GuestResponse {
            status,
            headers: headers
                .iter()
                .flat_map(|(name, value)| [name.as_bytes(), b"\0", value, b"\n"].concat())
                .collect(),
            body: b"hi".to_vec(),
            more_body: false,
            session: Change::Unchanged,
        }
    }

    /// A server-side failure's page names the request's id; a client's
    /// mistake's page does not need it.
    #[test]
    fn failure_pages_name_the_request() {
        let runtime = tokio::runtime::Builder::new_current_thread().build().unwrap();
        let context = Context {
            mount: Some("api"),
            request_id: "3659-00000f",
        };
        let body = |refusal: Refusal| {
            use http_body_util::BodyExt;
            let response = refusal.respond(context);
            let bytes = runtime
                .block_on(response.into_body().collect())
                .unwrap()
                .to_bytes();
            String::from_utf8(bytes.to_vec()).unwrap()
        };
        assert_eq!(
            body(GuestError::Timeout(Duration::from_secs(30)).into()),
            "504 Gateway Timeout (request 3659-00000f)\n"
        );
        assert_eq!(
            body(Refusal::Internal("secret details".into())),
            "500 Internal Server Error (request 3659-00000f)\n"
        );
        assert_eq!(body(Refusal::NotFound), "404 Not Found\n");
    }

    /// One line a refusal: its status, the header it must carry, and a
    /// part of its body.
    #[test]
    fn every_refusal_has_its_status_headers_and_body() {
        use http_body_util::BodyExt;
        /// (name, value) of a header the response must carry.
        type Header = Option<(&'static str, &'static str)>;
        let cases: Vec<(Refusal, u16, Header, &str)> = vec![
            (
                PathError::BadEscape.into(),
                400,
                None,
                "400 Bad Request: the path has a malformed",
            ),
            (
                Refusal::Unreadable("no body".into()),
                400,
                None,
                "400 Bad Request: no body",
            ),
            (
                Refusal::NotImplemented("gzip".into()),
                501,
                None,
                "501 Not Implemented: gzip",
            ),
            (Refusal::NotFound, 404, None, "404 Not Found"),
            (
                Refusal::MethodNotAllowed { allow: "GET, HEAD" },
                405,
                Some(("allow", "GET, HEAD")),
                "405 Method Not Allowed",
            ),
            (Refusal::Forbidden, 403, None, "403 Forbidden"),
            (
                Refusal::TooLarge { limit: 10 },
                413,
                None,
                "accepts bodies up to 10 bytes",
            ),
            (
                Refusal::Maintenance(None),
                503,
                Some(("retry-after", "30")),
                "down for maintenance",
            ),
            (
                Refusal::Maintenance(Some(Bytes::from_static(b"<p>back soon</p>"))),
                503,
                Some(("content-type", "text/html; charset=utf-8")),
                "<p>back soon</p>",
            ),
            (
                Refusal::Sessions {
                    saving: true,
                    error: StoreError::Unavailable("down".into()),
                },
                503,
                Some(("retry-after", "5")),
                "sessions are unavailable",
            ),
            (
                GuestError::Crashed("secret details".into()).into(),
                500,
                None,
                "500 Internal Server Error",
            ),
            (
                Refusal::Internal("secret details".into()),
                500,
                None,
                "500 Internal Server Error",
            ),
            (
                ControlRefusal::Unauthorized.into(),
                401,
                Some(("www-authenticate", "Bearer")),
                "{\"error\":\"a valid bearer token is required\"}",
            ),
            (
                ControlRefusal::NoEndpoint("/x".into()).into(),
                404,
                Some(("content-type", "application/json")),
                "no such endpoint: /x",
            ),
            (
                ControlRefusal::MethodNotAllowed { allow: "POST" }.into(),
                405,
                Some(("allow", "POST")),
                "method not allowed",
            ),
            (
                ControlRefusal::Mount(ControlError::NotAnApp("s".into())).into(),
                409,
                None,
                "serves static files",
            ),
        ];
        let runtime = tokio::runtime::Builder::new_current_thread().build().unwrap();
        let mut failures = Vec::new();
        for (refusal, status, header, body_part) in cases {
            let name = format!("{refusal:?}");
            let response = refusal.into_response();
            let got_status = response.status().as_u16();
            let got_header = header.map(|(name, _)| {
                response
                    .headers()
                    .get(name)
                    .map(|v| v.to_str().unwrap().to_owned())
            });
            let body = runtime
                .block_on(response.into_body().collect())
                .unwrap()
                .to_bytes();
            let body = String::from_utf8_lossy(&body);
            if got_status != status
                || header.is_some_and(|(_, value)| got_header.flatten().as_deref() != Some(value))
                || !body.contains(body_part)
                || body.contains("secret details")
            {
                failures.push(format!("{name}: {got_status} {body:?}"));
            }
        }
        assert!(failures.is_empty(), "{failures:#?}");
    }

    #[test]
    fn failures_map_to_statuses() {
        let cases = [
            (GuestError::Timeout(Duration::from_secs(1)), 504),
            (GuestError::Busy(Duration::from_secs(1)), 503),
            (GuestError::OutOfMemory(1), 500),
            (GuestError::StackOverflow, 500),
            (GuestError::Crashed("x".into()), 500),
            (GuestError::BadResponse("x".into()), 500),
            (GuestError::Instantiate("x".into()), 500),
            (GuestError::StartFailed("x".into()), 500),
        ];
        for (error, status) in cases {
            let response = Refusal::Guest(error).into_response();
            assert_eq!(response.status().as_u16(), status);
            assert_eq!(
                response.headers().contains_key(header::RETRY_AFTER),
                status == 503
            );
        }
    }

    #[test]
    fn guest_answers_are_checked() {
        let (ok, _) = from_guest(answer(
            201,
            &[("X-Thing", b"1"), ("set-cookie", b"a=1"), ("set-cookie", b"b=2")],
        ))
        .unwrap();
        assert_eq!(ok.status(), 201);
        assert_eq!(ok.headers().get_all("set-cookie").iter().count(), 2);

        let (framed, _) = from_guest(answer(
            200,
            &[("content-length", b"999"), ("transfer-encoding", b"chunked")],
        ))
        .unwrap();
        assert!(
            framed.headers().get("content-length").is_none(),
            "the host frames the body itself"
        );

        for bad in [
            answer(0, &[]),
            answer(100, &[]),
            answer(103, &[]),
            answer(199, &[]),
            answer(600, &[]),
            answer(200, &[("bad name", b"1")]),
            answer(200, &[("x", b"a\nb")]),
            answer(200, &[("x", b"a\rb")]),
        ] {
            assert!(matches!(from_guest(bad), Err(GuestError::BadResponse(_))));
        }
    }
}
