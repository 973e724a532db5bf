//! Request paths made canonical before routing. Pure: no I/O.
//!
//! The raw path is split on '/', each segment percent-decoded, empty and "."
//! segments dropped and ".." segments resolved (never above the root), also
//! when they were percent-encoded. Routing and static files then only ever
//! see the canonical segments, so no spelling of a path (`//`, `%2e%2e`,
//! `/a/../b`) can reach a mount other than the one the canonical path names.

use std::fmt;

/// A canonical request path: decoded segments, plus whether it ended in '/'.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CanonicalPath {
    segments: Vec<String>,
    trailing_slash: bool,
}

/// Why a path was refused (answered with 400).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PathError {
    /// The path does not start with '/'.
    NotAbsolute,
    /// A '%' was not followed by two hex digits.
    BadEscape,
    /// A segment decodes to bytes that are not UTF-8.
    NotUtf8,
    /// A segment decodes to a NUL byte.
    Nul,
}

impl fmt::Display for PathError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            PathError::NotAbsolute => "the path must start with '/'",
            PathError::BadEscape => "the path has a malformed percent-escape",
            PathError::NotUtf8 => "the path does not decode to UTF-8",
            PathError::Nul => "the path contains a NUL byte",
        })
    }
}

impl std::error::Error for PathError {}

impl CanonicalPath {
    /// Canonicalizes a raw request path (without the query).
    pub fn parse(raw: &str) -> Result<Self, PathError> {
        let rest = raw.strip_prefix('/').ok_or(PathError::NotAbsolute)?;
        let mut segments: Vec<String> = Vec::new();
        let mut trailing_slash = false;
        for raw_segment in rest.split('/') {
            let segment = percent_decode(raw_segment)?;
            trailing_slash = false;
            match segment.as_str() {
                "" | "." => trailing_slash = true,
                ".." => {
                    segments.pop();
                    trailing_slash = true;
                }
                _ => segments.push(segment),
            }
        }
        if segments.is_empty() {
            trailing_slash = false;
        }
        Ok(Self {
            segments,
            trailing_slash,
        })
    }

    /// The decoded segments.
    pub fn segments(&self) -> &[String] {
        &self.segments
    }

    /// Whether the path ended with '/' (after a non-root segment).
    pub fn trailing_slash(&self) -> bool {
        self.trailing_slash
    }

    /// Whether the path starts with the segments of `prefix`.
    pub fn starts_with(&self, prefix: &[String]) -> bool {
        self.segments.len() >= prefix.len() && self.segments[..prefix.len()] == *prefix
    }

    /// The canonical path, percent-encoded: "/" or "/a/b" or "/a/b/".
    pub fn encoded(&self) -> String {
        encode_segments(&self.segments, self.trailing_slash, true)
    }

    /// The segments after the first `skip`, percent-encoded: "" when nothing
    /// is left (and no trailing slash), else starting with "/".
    pub fn encoded_from(&self, skip: usize) -> String {
        encode_segments(
            &self.segments[skip.min(self.segments.len())..],
            self.trailing_slash,
            false,
        )
    }
}

fn encode_segments(segments: &[String], trailing_slash: bool, root_if_empty: bool) -> String {
    let mut out = String::new();
    for segment in segments {
        out.push('/');
        percent_encode_into(segment, &mut out);
    }
    if trailing_slash || (out.is_empty() && root_if_empty) {
        out.push('/');
    }
    out
}

/// Decodes %XX escapes in one segment.
fn percent_decode(segment: &str) -> Result<String, PathError> {
    if !segment.contains('%') {
        if segment.contains('\0') {
            return Err(PathError::Nul);
        }
        return Ok(segment.to_owned());
    }
    let bytes = segment.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%' {
            let hex = bytes.get(i + 1..i + 3).ok_or(PathError::BadEscape)?;
            let hex = std::str::from_utf8(hex).map_err(|_| PathError::BadEscape)?;
            out.push(u8::from_str_radix(hex, 16).map_err(|_| PathError::BadEscape)?);
            i += 3;
        } else {
            out.push(bytes[i]);
            i += 1;
        }
    }
    if out.contains(&0) {
        return Err(PathError::Nul);
    }
    String::from_utf8(out).map_err(|_| PathError::NotUtf8)
}

/// Percent-encodes everything but RFC 3986 unreserved and a few safe
/// sub-delimiters; '/' inside a segment is always encoded.
pub fn percent_encode_into(segment: &str, out: &mut String) {
    for byte in segment.bytes() {
        let keep = byte.is_ascii_alphanumeric() || b"-._~!$&'()*+,;=:@".contains(&byte);
        if keep {
            out.push(byte as char);
        } else {
            out.push_str(&format!("%{byte:02X}"));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn canonical_forms() {
        let cases = [
            ("/", Ok("/")),
            ("/a/b", Ok("/a/b")),
            ("/a/b/", Ok("/a/b/")),
            ("//a///b", Ok("/a/b")),
            ("/a/./b", Ok("/a/b")),
            ("/a/../b", Ok("/b")),
            ("/a/b/..", Ok("/a/")),
            ("/../../etc/passwd", Ok("/etc/passwd")),
            ("/static/%2e%2e/secret", Ok("/secret")),
            ("/static/%2E%2E/%2e%2E/x", Ok("/x")),
            ("/static/.%2e/x", Ok("/x")),
            ("/a%2fb", Ok("/a%2Fb")),
            ("/caf%C3%A9", Ok("/caf%C3%A9")),
            ("/with space", Ok("/with%20space")),
            ("/%41pi", Ok("/Api")),
            ("/..", Ok("/")),
            ("relative", Err(PathError::NotAbsolute)),
            ("/bad%zz", Err(PathError::BadEscape)),
            ("/bad%4", Err(PathError::BadEscape)),
            ("/nul%00", Err(PathError::Nul)),
            ("/latin%E9", Err(PathError::NotUtf8)),
        ];
        for (raw, expected) in cases {
            let got = CanonicalPath::parse(raw).map(|p| p.encoded());
            assert_eq!(got.as_deref().map_err(Clone::clone), expected, "{raw}");
        }
    }

    #[test]
    fn encoded_slash_stays_inside_its_segment() {
        let path = CanonicalPath::parse("/files/a%2Fb/c").unwrap();
        assert_eq!(path.segments(), ["files", "a/b", "c"]);
    }

    #[test]
    fn remainder_after_a_prefix() {
        let path = CanonicalPath::parse("/api/users/1").unwrap();
        assert_eq!(path.encoded_from(1), "/users/1");
        assert_eq!(path.encoded_from(3), "");
        assert_eq!(CanonicalPath::parse("/api/").unwrap().encoded_from(1), "/");
        assert_eq!(CanonicalPath::parse("/api").unwrap().encoded_from(1), "");
        assert_eq!(CanonicalPath::parse("/").unwrap().encoded_from(0), "");
    }
}
