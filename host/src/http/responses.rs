//! Failures become HTTP responses in one place; guest responses are checked here.

use bytes::Bytes;
use http::{HeaderName, HeaderValue, Response, StatusCode, header};
use http_body_util::{BodyExt, Empty, Full, combinators::BoxBody};

use crate::{
    packing::unpack_headers,
    sandbox::{GuestError, WitResponse},
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

/// 503 for a switched-off mount: its maintenance page, or a plain default.
pub fn maintenance(page: Option<&Bytes>) -> Response<Body> {
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

/// 503: the session store cannot be reached; other mounts are unaffected.
pub fn session_store_unavailable() -> Response<Body> {
    let mut response = plain(
        StatusCode::SERVICE_UNAVAILABLE,
        "503 Service Unavailable: sessions are unavailable right now; please retry",
    );
    response
        .headers_mut()
        .insert(header::RETRY_AFTER, HeaderValue::from_static("5"));
    response
}

/// The host's own 404: no mount serves this path.
pub fn not_found() -> Response<Body> {
    plain(StatusCode::NOT_FOUND, "404 Not Found")
}

/// 413: the body is larger than the mount accepts.
pub fn payload_too_large(limit: u64) -> Response<Body> {
    plain(
        StatusCode::PAYLOAD_TOO_LARGE,
        &format!("413 Content Too Large: this app accepts bodies up to {limit} bytes"),
    )
}

/// 400: the request could not be read.
pub fn bad_request(reason: &str) -> Response<Body> {
    plain(StatusCode::BAD_REQUEST, &format!("400 Bad Request: {reason}"))
}

/// The status a guest failure maps to. Details stay in the log, not the response.
pub fn guest_failure_status(error: &GuestError) -> StatusCode {
    match error {
        GuestError::Timeout(_) => StatusCode::GATEWAY_TIMEOUT,
        GuestError::Busy(_) => StatusCode::SERVICE_UNAVAILABLE,
        GuestError::OutOfMemory(_)
        | GuestError::StackOverflow
        | GuestError::Crashed(_)
        | GuestError::BadResponse(_)
        | GuestError::Instantiate(_) => StatusCode::INTERNAL_SERVER_ERROR,
    }
}

/// The response for a request the guest did not answer.
pub fn guest_failure(error: &GuestError) -> Response<Body> {
    let status = guest_failure_status(error);
    let mut response = plain(
        status,
        &format!("{} {}", status.as_u16(), status.canonical_reason().unwrap_or("")),
    );
    if status == StatusCode::SERVICE_UNAVAILABLE {
        response
            .headers_mut()
            .insert(header::RETRY_AFTER, HeaderValue::from_static("1"));
    }
    response
}

/// Hop-by-hop and framing headers the host sets itself; an app's are dropped.
fn is_host_owned(name: &HeaderName) -> bool {
    name == header::CONNECTION
        || name == header::TRANSFER_ENCODING
        || name == header::CONTENT_LENGTH
        || name == "keep-alive"
        || name == header::UPGRADE
}

/// Checks a guest's answer and turns it into a hyper response.
pub fn from_guest(answer: WitResponse) -> Result<Response<Body>, GuestError> {
    let status = StatusCode::from_u16(answer.status)
        .ok()
        .filter(|s| (200..=599).contains(&s.as_u16()) || s.as_u16() == 100)
        .ok_or_else(|| {
            GuestError::BadResponse(format!("status {} is not a valid final status", answer.status))
        })?;
    let mut response = Response::new(full(answer.body));
    *response.status_mut() = status;
    let headers = response.headers_mut();
    for entry in unpack_headers(&answer.headers) {
        let (name, value) = entry.map_err(|e| GuestError::BadResponse(e.to_string()))?;
        let name = HeaderName::from_bytes(name).map_err(|_| {
            GuestError::BadResponse(format!("invalid header name {:?}", String::from_utf8_lossy(name)))
        })?;
        let value = HeaderValue::from_bytes(value)
            .map_err(|_| GuestError::BadResponse(format!("invalid value for header {name}")))?;
        if !is_host_owned(&name) {
            headers.append(name, value);
        }
    }
    Ok(response)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    fn answer(status: u16, headers: &[(&str, &[u8])]) -> WitResponse {
        WitResponse {
            status,
            headers: headers
                .iter()
                .flat_map(|(name, value)| [name.as_bytes(), b"\0", value, b"\n"].concat())
                .collect(),
            body: b"hi".to_vec(),
            session: crate::sandbox::bindings::terrarium::app::http::SessionChange::Unchanged,
        }
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
        ];
        for (error, status) in cases {
            let response = guest_failure(&error);
            assert_eq!(response.status().as_u16(), status, "{error}");
            assert_eq!(
                response.headers().contains_key(header::RETRY_AFTER),
                status == 503
            );
        }
    }

    #[test]
    fn guest_answers_are_checked() {
        let ok = from_guest(answer(
            201,
            &[("X-Thing", b"1"), ("set-cookie", b"a=1"), ("set-cookie", b"b=2")],
        ))
        .unwrap();
        assert_eq!(ok.status(), 201);
        assert_eq!(ok.headers().get_all("set-cookie").iter().count(), 2);

        let framed = from_guest(answer(
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
            answer(600, &[]),
            answer(200, &[("bad name", b"1")]),
            answer(200, &[("x", b"a\nb")]),
            answer(200, &[("x", b"a\rb")]),
        ] {
            assert!(matches!(from_guest(bad), Err(GuestError::BadResponse(_))));
        }
    }
}
