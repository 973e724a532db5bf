//! Request marshaling: an HTTP request's head and body into the contract's
//! request record, as the guest receives it. (The way back, checking a
//! guest's answer, is [`super::responses::from_guest`].)

use std::{borrow::Cow, net::SocketAddr};

use bytes::Bytes;
use http::{Version, header, request::Parts};

use super::transport::Transport;

use crate::{
    packing::{HeadFields, PackingError, pack_head},
    sandbox::GuestRequest,
};

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
    /// Whether the body given is only its first part (the rest is read as it arrives).
    pub more_body: bool,
}

/// The contract's request record for `parts` and `body`: the head packed
/// (see [`crate::packing`]), the body and the session as they are.
///
/// Fails only for a field that cannot be packed (one holding a line feed or
/// NUL byte, which HTTP forbids); the caller answers 400.
pub fn to_guest(
    parts: &Parts,
    body: Bytes,
    context: &RequestContext<'_>,
) -> Result<GuestRequest, PackingError> {
    // An absolute-form target's authority wins over `Host` (RFC 9112 §3.2.2).
    let authority = match parts.uri.authority() {
        Some(authority) => authority.as_str(),
        None => parts
            .headers
            .get(header::HOST)
            .and_then(|v| v.to_str().ok())
            .unwrap_or(""),
    };
    let remote_addr = context.remote.to_string();
    let query = ascii_query(parts.uri.query().unwrap_or(""));
    let fields = HeadFields {
        request_id: context.request_id,
        method: parts.method.as_str(),
        scheme: Transport::of_extensions(&parts.extensions).scheme(),
        authority,
        path: context.full_path,
        query: &query,
        remote_addr: &remote_addr,
        script_name: context.script_name,
        path_info: context.path_info,
        http_version: http_version(parts.version),
    };
    // HTTP/2 names the host in `:authority` alone: the app sees it as the
    // `Host` header, as it would over HTTP/1.1.
    let host_from_authority = (!authority.is_empty() && !parts.headers.contains_key(header::HOST))
        .then_some(("host", authority.as_bytes()));
    // The dashboard's login cookie stays with the admin listener.
    let scrubbed = super::dashboard::access::without_session_cookie(&parts.headers);
    let headers = scrubbed
        .as_ref()
        .unwrap_or(&parts.headers)
        .iter()
        .map(|(name, value)| (name.as_str(), value.as_bytes()))
        .chain(host_from_authority);
    Ok(GuestRequest::new(
        pack_head(&fields, headers)?,
        Vec::from(body),
        context.more_body,
        context.session.map(str::to_owned),
    ))
}

/// The protocol's version as the app sees it (ASGI's `http_version`; WSGI's
/// `SERVER_PROTOCOL` adds "HTTP/"). hyper serves no other version.
fn http_version(version: Version) -> &'static str {
    match version {
        Version::HTTP_10 => "1.0",
        Version::HTTP_2 => "2",
        _ => "1.1",
    }
}

/// The query with any non-ASCII byte percent-encoded (RFC 3986 allows none;
/// a lenient client may still send some).
fn ascii_query(query: &str) -> Cow<'_, str> {
    if query.is_ascii() {
        return Cow::Borrowed(query);
    }
    let mut encoded = String::with_capacity(query.len() * 2);
    for byte in query.bytes() {
        if byte.is_ascii() {
            encoded.push(byte as char);
        } else {
            encoded.push_str(&format!("%{byte:02X}"));
        }
    }
    Cow::Owned(encoded)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Splits a packed head back into its ten fields and its header pairs.
    fn unpack(head: &[u8]) -> (Vec<String>, Vec<(String, Vec<u8>)>) {
        let mut lines = head.split(|&b| b == b'\n');
        let fields = lines
            .by_ref()
            .take(10)
            .map(|f| String::from_utf8(f.to_vec()).unwrap())
            .collect();
        let headers = lines
            .filter(|line| !line.is_empty())
            .map(|line| {
                let split = line.iter().position(|&b| b == 0).unwrap();
                (
                    String::from_utf8(line[..split].to_vec()).unwrap(),
                    line[split + 1..].to_vec(),
                )
            })
            .collect();
        (fields, headers)
    }

    /// The context of a request for `path` on the root mount, without a session.
    fn root_context(path: &str) -> RequestContext<'_> {
        RequestContext {
            request_id: "r",
            remote: "127.0.0.1:1".parse().unwrap(),
            script_name: "",
            path_info: path,
            full_path: path,
            session: None,
            more_body: false,
        }
    }

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
                more_body: false,
            },
        )
        .unwrap();
        let (fields, headers) = unpack(record.head());
        assert_eq!(
            fields,
            [
                "r-1",
                "PUT",
                "http",
                "example.com:8080",
                "/api/items/%C3%A9",
                "x=1&y=%20",
                "10.0.0.7:5000",
                "/api",
                "/items/%C3%A9",
                "1.1"
            ]
        );
        assert_eq!(
            headers,
            vec![
                ("host".to_owned(), b"example.com:8080".to_vec()),
                ("x-bytes".to_owned(), b"caf\xe9".to_vec()),
            ]
        );
        assert_eq!(record.body(), b"payload");
        assert_eq!(record.session(), Some("{}"));
    }

    #[test]
    fn an_absolute_form_authority_wins_over_host() {
        let (parts, ()) = http::Request::builder()
            .uri("http://origin.test/x")
            .header("host", "other.test")
            .body(())
            .unwrap()
            .into_parts();
        let (fields, _) = unpack(
            to_guest(&parts, Bytes::new(), &root_context("/x"))
                .unwrap()
                .head(),
        );
        assert_eq!(fields[3], "origin.test");
    }

    #[test]
    fn the_protocol_version_reaches_the_app_as_asgi_writes_it() {
        let context = root_context("/");
        for (version, expected) in [
            (Version::HTTP_10, "1.0"),
            (Version::HTTP_11, "1.1"),
            (Version::HTTP_2, "2"),
        ] {
            let (parts, ()) = http::Request::builder()
                .version(version)
                .uri("/")
                .body(())
                .unwrap()
                .into_parts();
            let (fields, _) = unpack(to_guest(&parts, Bytes::new(), &context).unwrap().head());
            assert_eq!(fields[9], expected, "{version:?}");
        }
    }

    #[test]
    fn non_ascii_query_bytes_are_percent_encoded() {
        assert_eq!(ascii_query("a=1&b=x%20y"), "a=1&b=x%20y");
        assert_eq!(ascii_query("q=caf\u{e9}"), "q=caf%C3%A9");
    }

    #[test]
    fn a_line_feed_in_a_field_is_refused() {
        let (parts, ()) = http::Request::builder().uri("/x").body(()).unwrap().into_parts();
        assert!(to_guest(&parts, Bytes::new(), &root_context("/a\nb")).is_err());
    }
}
