//! Request marshaling: an HTTP request's head and body into the contract's
//! request record, as the guest receives it. (The way back, checking a
//! guest's answer, is [`super::responses::from_guest`].)

use std::net::SocketAddr;

use bytes::Bytes;
use http::{header, request::Parts};

use crate::sandbox::WitRequest;

/// What the host knows about a request beyond its head and body.
#[derive(Debug, Clone, Copy)]
pub struct RequestContext<'a> {
    /// The request's id in the log.
    pub request_id: &'a str,
    /// The client's address.
    pub remote: SocketAddr,
    /// The mount point ("" for the root mount).
    pub script_name: &'a str,
    /// The path below the mount point, percent-encoded.
    pub path_info: &'a str,
    /// The whole canonical path, percent-encoded.
    pub full_path: &'a str,
    /// The session's data, when the mount has sessions.
    pub session: Option<&'a str>,
}

/// The contract's request record for `parts` and `body`.
pub fn to_guest(parts: &Parts, body: Bytes, context: &RequestContext<'_>) -> WitRequest {
    let authority = parts
        .headers
        .get(header::HOST)
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned)
        .or_else(|| parts.uri.authority().map(|a| a.to_string()))
        .unwrap_or_default();
    WitRequest {
        request_id: context.request_id.to_owned(),
        method: parts.method.as_str().to_owned(),
        scheme: parts.uri.scheme_str().unwrap_or("http").to_owned(),
        authority,
        path: context.full_path.to_owned(),
        query: parts.uri.query().unwrap_or("").to_owned(),
        headers: parts
            .headers
            .iter()
            .map(|(name, value)| (name.as_str().to_owned(), value.as_bytes().to_vec()))
            .collect(),
        body: Vec::from(body),
        remote_addr: context.remote.to_string(),
        script_name: context.script_name.to_owned(),
        path_info: context.path_info.to_owned(),
        session: context.session.map(str::to_owned),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_field_reaches_the_record() {
        let (parts, ()) = http::Request::builder()
            .method("PUT")
            .uri("/api/items/%C3%A9?x=1&y=%20")
            .header("host", "example.com:8080")
            .header("x-bytes", http::HeaderValue::from_bytes(b"caf\xe9").unwrap())
            .body(())
            .unwrap()
            .into_parts();
        let record = to_guest(
            &parts,
            Bytes::from_static(b"payload"),
            &RequestContext {
                request_id: "r-1",
                remote: "10.0.0.7:5000".parse().unwrap(),
                script_name: "/api",
                path_info: "/items/%C3%A9",
                full_path: "/api/items/%C3%A9",
                session: Some("{}"),
            },
        );
        assert_eq!(record.request_id, "r-1");
        assert_eq!(record.method, "PUT");
        assert_eq!(record.scheme, "http");
        assert_eq!(record.authority, "example.com:8080");
        assert_eq!(record.path, "/api/items/%C3%A9");
        assert_eq!(record.query, "x=1&y=%20");
        assert_eq!(
            record.headers,
            vec![
                ("host".to_owned(), b"example.com:8080".to_vec()),
                ("x-bytes".to_owned(), b"caf\xe9".to_vec()),
            ]
        );
        assert_eq!(record.body, b"payload");
        assert_eq!(record.remote_addr, "10.0.0.7:5000");
        assert_eq!(
            (&*record.script_name, &*record.path_info),
            ("/api", "/items/%C3%A9")
        );
        assert_eq!(record.session.as_deref(), Some("{}"));
    }

    #[test]
    fn authority_falls_back_to_the_uri() {
        let (parts, ()) = http::Request::builder()
            .uri("http://origin.test/x")
            .body(())
            .unwrap()
            .into_parts();
        let context = RequestContext {
            request_id: "r",
            remote: "127.0.0.1:1".parse().unwrap(),
            script_name: "",
            path_info: "/x",
            full_path: "/x",
            session: None,
        };
        assert_eq!(to_guest(&parts, Bytes::new(), &context).authority, "origin.test");
    }
}
