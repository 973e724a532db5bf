//! Static files served by the host through cap-std, confined to one folder.
//!
//! The folder is opened once as a capability (`cap_std::fs::Dir`); every
//! file is opened relative to it, so neither `..` nor a symlink pointing out
//! of it can escape (cap-std refuses such paths). Hidden files (".env",
//! ".git/") are never served. Supports `ETag`/`Last-Modified` with 304,
//! single `Range` requests (206/416), `HEAD`, and an HTML listing of folders
//! when the mount allows it. Files are streamed, never read whole.

use std::{
    io,
    path::PathBuf,
    sync::Arc,
    time::{SystemTime, UNIX_EPOCH},
};

use bytes::Bytes;
use cap_std::{ambient_authority, fs::Dir};
use futures_util::TryStreamExt;
use http::{HeaderMap, Method, Response, StatusCode, header};
use http_body_util::{BodyExt, StreamBody};
use hyper::body::Frame;
use tokio::io::{AsyncReadExt, AsyncSeekExt};

use super::responses::{self, Body, Refusal};
use crate::paths::percent_encode_into;

/// A folder served as static files.
pub struct StaticFolder {
    dir: Arc<Dir>,
    listing: bool,
}

impl StaticFolder {
    /// Opens `path` as the root of a static mount.
    pub fn open(path: &std::path::Path, listing: bool) -> io::Result<Self> {
        let dir = Dir::open_ambient_dir(path, ambient_authority())?;
        Ok(Self {
            dir: Arc::new(dir),
            listing,
        })
    }

    /// Answers a request for `segments` (canonical, inside the mount).
    /// `request_path` is the full canonical request path, for redirects and listings.
    pub async fn serve(
        &self,
        method: &Method,
        headers: &HeaderMap,
        segments: &[String],
        trailing_slash: bool,
        request_path: &str,
    ) -> Result<Response<Body>, Refusal> {
        if method != Method::GET && method != Method::HEAD {
            return Err(Refusal::MethodNotAllowed { allow: "GET, HEAD" });
        }
        if segments
            .iter()
            .any(|s| s.starts_with('.') || s.contains(['/', '\\']))
        {
            return Err(Refusal::NotFound);
        }
        let relative: PathBuf = segments.iter().collect();
        let relative = if segments.is_empty() {
            PathBuf::from(".")
        } else {
            relative
        };
        let dir = self.dir.clone();
        let opened = tokio::task::spawn_blocking(move || open_entry(&dir, relative)).await;
        match opened {
            Ok(Ok(Entry::File(file, meta))) => serve_file(method, headers, file, meta).await,
            Ok(Ok(Entry::Folder(listing))) => {
                if !trailing_slash && !segments.is_empty() {
                    return Ok(responses::redirect(
                        StatusCode::MOVED_PERMANENTLY,
                        &format!("{request_path}/"),
                    ));
                }
                if let Some((file, meta)) = listing.index_html {
                    return serve_file(method, headers, file, meta).await;
                }
                if !self.listing {
                    return Err(Refusal::Forbidden);
                }
                Ok(html_listing(method, request_path, &listing.entries))
            }
            // Missing, unreadable, or outside the folder (cap-std refuses
            // such paths): all look alike from outside.
            Ok(Err(_)) => Err(Refusal::NotFound),
            Err(error) => Err(Refusal::Internal(format!("opening a static file: {error}"))),
        }
    }
}

struct FileMeta {
    len: u64,
    modified: Option<SystemTime>,
    content_type: &'static str,
}

struct Listing {
    index_html: Option<(std::fs::File, FileMeta)>,
    /// (name, is folder, size)
    entries: Vec<(String, bool, u64)>,
}

enum Entry {
    File(std::fs::File, FileMeta),
    Folder(Listing),
}

fn open_entry(dir: &Dir, relative: PathBuf) -> io::Result<Entry> {
    let metadata = dir.metadata(&relative)?;
    if metadata.is_dir() {
        let folder = dir.open_dir(&relative)?;
        let index_html = match folder.open("index.html") {
            Ok(file) => {
                let meta = file_meta(&file, "index.html")?;
                Some((file.into_std(), meta))
            }
            Err(_) => None,
        };
        let mut entries = Vec::new();
        if index_html.is_none() {
            for entry in folder.entries()? {
                let entry = entry?;
                let Ok(name) = entry.file_name().into_string() else {
                    continue;
                };
                if name.starts_with('.') {
                    continue;
                }
                let meta = entry.metadata()?;
                entries.push((name, meta.is_dir(), meta.len()));
            }
            entries.sort_by(|a, b| b.1.cmp(&a.1).then_with(|| a.0.cmp(&b.0)));
        }
        return Ok(Entry::Folder(Listing { index_html, entries }));
    }
    if !metadata.is_file() {
        return Err(io::ErrorKind::NotFound.into());
    }
    let file = dir.open(&relative)?;
    let name = relative.file_name().and_then(|n| n.to_str()).unwrap_or("");
    let meta = file_meta(&file, name)?;
    Ok(Entry::File(file.into_std(), meta))
}

fn file_meta(file: &cap_std::fs::File, name: &str) -> io::Result<FileMeta> {
    let metadata = file.metadata()?;
    Ok(FileMeta {
        len: metadata.len(),
        modified: metadata.modified().ok().map(|m| m.into_std()),
        content_type: content_type_for(name),
    })
}

/// A strong validator from size and modification time.
fn etag(meta: &FileMeta) -> String {
    let nanos = meta
        .modified
        .and_then(|m| m.duration_since(UNIX_EPOCH).ok())
        .map_or(0, |d| d.as_nanos());
    format!("\"{:x}-{:x}\"", meta.len, nanos)
}

/// Whether the client's cached copy is still good (→ 304).
fn not_modified(headers: &HeaderMap, etag: &str, modified: Option<SystemTime>) -> bool {
    if let Some(if_none_match) = headers.get(header::IF_NONE_MATCH).and_then(|v| v.to_str().ok()) {
        return if_none_match
            .split(',')
            .map(|tag| tag.trim().trim_start_matches("W/"))
            .any(|tag| tag == "*" || tag == etag);
    }
    let since = headers
        .get(header::IF_MODIFIED_SINCE)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| httpdate::parse_http_date(v).ok());
    match (since, modified) {
        (Some(since), Some(modified)) => truncate_to_seconds(modified) <= since,
        _ => false,
    }
}

fn truncate_to_seconds(time: SystemTime) -> SystemTime {
    let secs = time.duration_since(UNIX_EPOCH).map_or(0, |d| d.as_secs());
    UNIX_EPOCH + std::time::Duration::from_secs(secs)
}

/// What a `Range` header asks of a file of `len` bytes.
#[derive(Debug, PartialEq, Eq)]
pub enum RangeRequest {
    /// No usable range: send the whole file.
    Full,
    /// One satisfiable range, inclusive bounds.
    Partial(u64, u64),
    /// A range that lies outside the file (→ 416).
    Unsatisfiable,
}

/// Parses a `Range` header value; several ranges are answered with the whole file.
pub fn parse_range(value: &str, len: u64) -> RangeRequest {
    let Some(spec) = value.trim().strip_prefix("bytes=") else {
        return RangeRequest::Full;
    };
    if spec.contains(',') {
        return RangeRequest::Full;
    }
    let Some((start, end)) = spec.trim().split_once('-') else {
        return RangeRequest::Full;
    };
    let (start, end) = (start.trim(), end.trim());
    let parsed = match (start.is_empty(), end.is_empty()) {
        (true, true) => return RangeRequest::Full,
        (true, false) => match end.parse::<u64>() {
            Ok(0) => return RangeRequest::Unsatisfiable,
            Ok(suffix) => (len.saturating_sub(suffix), len.saturating_sub(1)),
            Err(_) => return RangeRequest::Full,
        },
        (false, _) => {
            let Ok(first) = start.parse::<u64>() else {
                return RangeRequest::Full;
            };
            let last = if end.is_empty() {
                len.saturating_sub(1)
            } else {
                match end.parse::<u64>() {
                    Ok(last) if last >= first => last.min(len.saturating_sub(1)),
                    _ => return RangeRequest::Full,
                }
            };
            (first, last)
        }
    };
    if len == 0 || parsed.0 >= len {
        return RangeRequest::Unsatisfiable;
    }
    RangeRequest::Partial(parsed.0, parsed.1)
}

async fn serve_file(
    method: &Method,
    headers: &HeaderMap,
    file: std::fs::File,
    meta: FileMeta,
) -> Result<Response<Body>, Refusal> {
    let etag = etag(&meta);
    let mut response = Response::builder()
        .header(header::ETAG, &etag)
        .header(header::ACCEPT_RANGES, "bytes")
        .header(header::CONTENT_TYPE, meta.content_type);
    if let Some(modified) = meta.modified {
        response = response.header(header::LAST_MODIFIED, httpdate::fmt_http_date(modified));
    }
    if not_modified(headers, &etag, meta.modified) {
        return Ok(response
            .status(StatusCode::NOT_MODIFIED)
            .body(responses::empty())
            .unwrap());
    }
    let if_range_ok = headers
        .get(header::IF_RANGE)
        .and_then(|v| v.to_str().ok())
        .is_none_or(|value| value.trim() == etag);
    let range = match headers.get(header::RANGE).and_then(|v| v.to_str().ok()) {
        Some(value) if if_range_ok => parse_range(value, meta.len),
        _ => RangeRequest::Full,
    };
    let (status, start, length) = match range {
        RangeRequest::Full => (StatusCode::OK, 0, meta.len),
        RangeRequest::Partial(first, last) => {
            response = response.header(
                header::CONTENT_RANGE,
                format!("bytes {first}-{last}/{}", meta.len),
            );
            (StatusCode::PARTIAL_CONTENT, first, last - first + 1)
        }
        RangeRequest::Unsatisfiable => {
            return Ok(response
                .status(StatusCode::RANGE_NOT_SATISFIABLE)
                .header(header::CONTENT_RANGE, format!("bytes */{}", meta.len))
                .body(responses::empty())
                .unwrap());
        }
    };
    let response = response.status(status).header(header::CONTENT_LENGTH, length);
    if method == Method::HEAD {
        return Ok(response.body(responses::empty()).unwrap());
    }
    let mut file = tokio::fs::File::from_std(file);
    if start > 0 {
        file.seek(io::SeekFrom::Start(start))
            .await
            .map_err(|error| Refusal::Internal(format!("seeking in a static file: {error}")))?;
    }
    let stream =
        tokio_util::io::ReaderStream::with_capacity(file.take(length), 64 * 1024).map_ok(Frame::data);
    Ok(response.body(BodyExt::boxed(StreamBody::new(stream))).unwrap())
}

fn html_listing(method: &Method, request_path: &str, entries: &[(String, bool, u64)]) -> Response<Body> {
    let title = html_escape(request_path);
    let mut html = format!(
        "<!DOCTYPE html>\n<html><head><meta charset=\"utf-8\"><title>Index of {title}</title></head>\n\
         <body><h1>Index of {title}</h1>\n<ul>\n"
    );
    if request_path != "/" {
        html.push_str("<li><a href=\"../\">../</a></li>\n");
    }
    for (name, is_dir, size) in entries {
        let mut href = String::new();
        percent_encode_into(name, &mut href);
        let slash = if *is_dir { "/" } else { "" };
        let size = if *is_dir {
            String::new()
        } else {
            format!(" ({size} bytes)")
        };
        html.push_str(&format!(
            "<li><a href=\"{href}{slash}\">{}{slash}</a>{size}</li>\n",
            html_escape(name)
        ));
    }
    html.push_str("</ul></body></html>\n");
    let length = html.len();
    let body = if method == Method::HEAD {
        responses::empty()
    } else {
        responses::full(Bytes::from(html))
    };
    Response::builder()
        .header(header::CONTENT_TYPE, "text/html; charset=utf-8")
        .header(header::CONTENT_LENGTH, length)
        .body(body)
        .unwrap()
}

fn html_escape(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

/// The Content-Type for a file name, by extension.
pub fn content_type_for(name: &str) -> &'static str {
    let extension = name
        .rsplit_once('.')
        .map(|(_, ext)| ext.to_ascii_lowercase())
        .unwrap_or_default();
    match extension.as_str() {
        "html" | "htm" => "text/html; charset=utf-8",
        "css" => "text/css; charset=utf-8",
        "js" | "mjs" => "text/javascript; charset=utf-8",
        "json" | "map" => "application/json",
        "txt" | "md" => "text/plain; charset=utf-8",
        "csv" => "text/csv; charset=utf-8",
        "xml" => "application/xml",
        "svg" => "image/svg+xml",
        "png" => "image/png",
        "jpg" | "jpeg" => "image/jpeg",
        "gif" => "image/gif",
        "webp" => "image/webp",
        "avif" => "image/avif",
        "ico" => "image/x-icon",
        "woff" => "font/woff",
        "woff2" => "font/woff2",
        "ttf" => "font/ttf",
        "otf" => "font/otf",
        "pdf" => "application/pdf",
        "zip" => "application/zip",
        "gz" => "application/gzip",
        "wasm" => "application/wasm",
        "mp4" => "video/mp4",
        "webm" => "video/webm",
        "mp3" => "audio/mpeg",
        "ogg" => "audio/ogg",
        "wav" => "audio/wav",
        _ => "application/octet-stream",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ranges() {
        use RangeRequest::*;
        let cases = [
            ("bytes=0-9", 100, Partial(0, 9)),
            ("bytes=90-", 100, Partial(90, 99)),
            ("bytes=-10", 100, Partial(90, 99)),
            ("bytes=-500", 100, Partial(0, 99)),
            ("bytes=50-1000", 100, Partial(50, 99)),
            ("bytes=100-", 100, Unsatisfiable),
            ("bytes=200-300", 100, Unsatisfiable),
            ("bytes=-0", 100, Unsatisfiable),
            ("bytes=0-0", 0, Unsatisfiable),
            ("bytes=9-3", 100, Full),
            ("bytes=0-1,5-6", 100, Full),
            ("items=0-1", 100, Full),
            ("bytes=x-y", 100, Full),
        ];
        for (header, len, expected) in cases {
            assert_eq!(parse_range(header, len), expected, "{header} of {len}");
        }
    }

    #[test]
    fn content_types() {
        assert_eq!(content_type_for("index.HTML"), "text/html; charset=utf-8");
        assert_eq!(content_type_for("app.js"), "text/javascript; charset=utf-8");
        assert_eq!(content_type_for("logo.svg"), "image/svg+xml");
        assert_eq!(content_type_for("README"), "application/octet-stream");
    }
}
