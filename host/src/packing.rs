//! The contract's packed byte strings (see `python-wasi/wit/terrarium.wit`):
//! a request's head (ten text fields, then its headers) and a response's
//! headers, each crossing the sandbox boundary as one `list<u8>`. Pure: no I/O.
//!
//! Layout: each (ASCII) text field followed by LF; each header as `name NUL value LF`.
//! HTTP allows neither LF nor NUL in any of these, which is what makes the
//! packing unambiguous; anything that does contain one is refused.

use std::fmt;

const LF: u8 = b'\n';
const NUL: u8 = 0;
/// Room reserved up front for the headers (a browser sends 300-800 bytes).
const TYPICAL_HEADERS_SIZE: usize = 1024;

/// The request head's text fields, in the order they are packed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct HeadFields<'a> {
    /// The host's id for the request.
    pub request_id: &'a str,
    /// The method as sent.
    pub method: &'a str,
    /// "http" or "https".
    pub scheme: &'a str,
    /// The Host header, or the URI's authority.
    pub authority: &'a str,
    /// The full path, percent-encoded, without the query.
    pub path: &'a str,
    /// The query string without '?'.
    pub query: &'a str,
    /// The peer's "ip:port".
    pub remote_addr: &'a str,
    /// The mount point, percent-encoded ("" for the root mount).
    pub script_name: &'a str,
    /// The path below the mount point, percent-encoded.
    pub path_info: &'a str,
    /// The protocol's version as ASGI writes it: "1.0", "1.1" or "2".
    pub http_version: &'a str,
}

impl<'a> HeadFields<'a> {
    fn in_order(&self) -> [&'a str; 10] {
        [
            self.request_id,
            self.method,
            self.scheme,
            self.authority,
            self.path,
            self.query,
            self.remote_addr,
            self.script_name,
            self.path_info,
            self.http_version,
        ]
    }
}

/// A field, header name or header value that cannot be packed, or a packed
/// string that does not follow the layout.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PackingError(String);

impl fmt::Display for PackingError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for PackingError {}

fn has_separator(bytes: &[u8]) -> bool {
    bytes.iter().any(|&b| b == LF || b == NUL)
}

/// Packs a request's text fields and headers into the contract's `head`.
pub fn pack_head<'h>(
    fields: &HeadFields<'_>,
    headers: impl Iterator<Item = (&'h str, &'h [u8])>,
) -> Result<Vec<u8>, PackingError> {
    let fields = fields.in_order();
    let text_size = fields.iter().map(|f| f.len() + 1).sum::<usize>();
    let mut packed = Vec::with_capacity(text_size + TYPICAL_HEADERS_SIZE);
    for field in fields {
        if has_separator(field.as_bytes()) || !field.is_ascii() {
            return Err(PackingError(format!(
                "{field:?} is not ASCII without line feeds and NUL bytes"
            )));
        }
        packed.extend_from_slice(field.as_bytes());
        packed.push(LF);
    }
    for (name, value) in headers {
        if has_separator(name.as_bytes()) || has_separator(value) {
            return Err(PackingError(format!(
                "header {name:?} contains a line feed or NUL byte"
            )));
        }
        packed.extend_from_slice(name.as_bytes());
        packed.push(NUL);
        packed.extend_from_slice(value);
        packed.push(LF);
    }
    Ok(packed)
}

/// Unpacks a response's headers: `(name, value)` pairs, in order. Fails on
/// the first entry without a NUL or without its closing LF.
pub fn unpack_headers(packed: &[u8]) -> impl Iterator<Item = Result<(&[u8], &[u8]), PackingError>> {
    let mut rest = packed;
    std::iter::from_fn(move || {
        if rest.is_empty() {
            return None;
        }
        let Some(end) = rest.iter().position(|&b| b == LF) else {
            rest = &[];
            return Some(Err(PackingError(
                "the last header is not ended by a line feed".into(),
            )));
        };
        let entry = &rest[..end];
        rest = &rest[end + 1..];
        Some(match entry.iter().position(|&b| b == NUL) {
            Some(split) => Ok((&entry[..split], &entry[split + 1..])),
            None => Err(PackingError(format!(
                "header entry {:?} has no NUL between name and value",
                String::from_utf8_lossy(entry)
            ))),
        })
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::Value;

    /// Examples shared with the guest SDK's tests, so both sides agree on the layout.
    const EXAMPLES: &str = include_str!("../../python-wasi/wit/packing-examples.json");

    /// JSON strings stand for bytes: each character is one byte (latin-1).
    fn bytes_of(value: &Value) -> Vec<u8> {
        value
            .as_str()
            .unwrap()
            .chars()
            .map(|c| u8::try_from(u32::from(c)).expect("example characters are latin-1"))
            .collect()
    }

    fn header_pairs(value: &Value) -> Vec<(String, Vec<u8>)> {
        value
            .as_array()
            .unwrap()
            .iter()
            .map(|pair| (pair[0].as_str().unwrap().to_owned(), bytes_of(&pair[1])))
            .collect()
    }

    #[test]
    fn request_heads_pack_as_the_shared_examples_say() {
        let examples: Value = serde_json::from_str(EXAMPLES).unwrap();
        let heads = examples["request_heads"].as_array().unwrap();
        assert!(!heads.is_empty());
        for example in heads {
            let f = &example["fields"];
            let field = |name: &str| f[name].as_str().unwrap();
            let fields = HeadFields {
                request_id: field("request_id"),
                method: field("method"),
                scheme: field("scheme"),
                authority: field("authority"),
                path: field("path"),
                query: field("query"),
                remote_addr: field("remote_addr"),
                script_name: field("script_name"),
                path_info: field("path_info"),
                http_version: field("http_version"),
            };
            let headers = header_pairs(&example["headers"]);
            let packed = pack_head(&fields, headers.iter().map(|(n, v)| (n.as_str(), v.as_slice()))).unwrap();
            assert_eq!(packed, bytes_of(&example["packed"]), "{example}");
        }
    }

    #[test]
    fn response_headers_unpack_as_the_shared_examples_say() {
        let examples: Value = serde_json::from_str(EXAMPLES).unwrap();
        let cases = examples["response_headers"].as_array().unwrap();
        assert!(!cases.is_empty());
        for example in cases {
            let packed = bytes_of(&example["packed"]);
            let unpacked: Vec<(String, Vec<u8>)> = unpack_headers(&packed)
                .map(|entry| {
                    let (name, value) = entry.unwrap();
                    (String::from_utf8(name.to_vec()).unwrap(), value.to_vec())
                })
                .collect();
            assert_eq!(unpacked, header_pairs(&example["headers"]), "{example}");
        }
    }

    #[test]
    fn separators_inside_fields_or_headers_are_refused() {
        let fields = HeadFields {
            request_id: "r",
            method: "GET",
            scheme: "http",
            authority: "a",
            path: "/",
            query: "",
            remote_addr: "1.2.3.4:5",
            script_name: "",
            path_info: "/",
            http_version: "1.1",
        };
        let cases: [(HeadFields<'_>, (&str, &[u8])); 5] = [
            (
                HeadFields {
                    path: "/a\nb",
                    ..fields
                },
                ("x", b"1"),
            ),
            (
                HeadFields {
                    query: "a=\0",
                    ..fields
                },
                ("x", b"1"),
            ),
            (
                HeadFields {
                    query: "q=caf\u{e9}",
                    ..fields
                },
                ("x", b"1"),
            ),
            (fields, ("x\n", b"1")),
            (fields, ("x", b"1\0")),
        ];
        for (fields, header) in cases {
            assert!(
                pack_head(&fields, [header].into_iter()).is_err(),
                "{fields:?} {header:?}"
            );
        }
    }

    #[test]
    fn malformed_packed_headers_are_refused() {
        let cases: [(&[u8], usize); 4] = [
            (b"no-nul\n", 0),
            (b"a\x001\nb\x002", 1),
            (b"a\x001\nbroken\n", 1),
            (b"\n", 0),
        ];
        for (packed, bad_entry) in cases {
            let entries: Vec<_> = unpack_headers(packed).collect();
            assert!(entries[..bad_entry].iter().all(Result::is_ok), "{packed:?}");
            assert!(entries[bad_entry].is_err(), "{packed:?}");
        }
    }
}
