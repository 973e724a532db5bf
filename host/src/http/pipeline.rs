//! One request, end to end: id, mount, body limit, dispatch, access log.

use std::{
    net::SocketAddr,
    sync::{
        Arc,
        atomic::{AtomicU64, Ordering},
    },
    time::Instant,
};

use http::{Request, Response, header};
use http_body_util::{BodyExt, Limited};
use hyper::body::Incoming;

use super::responses::{self, Body};
use crate::{
    sandbox::WitRequest,
    site::{MountedApp, Site},
};

static NEXT_REQUEST: AtomicU64 = AtomicU64::new(1);

/// A short id for a request, unique within this process.
fn next_request_id() -> String {
    format!(
        "{:x}-{:06x}",
        std::process::id(),
        NEXT_REQUEST.fetch_add(1, Ordering::Relaxed)
    )
}

/// Answers one request. Never fails: every problem becomes a response.
pub async fn handle(site: Arc<Site>, remote: SocketAddr, request: Request<Incoming>) -> Response<Body> {
    let started = Instant::now();
    let request_id = next_request_id();
    let method = request.method().clone();
    let path = request.uri().path().to_owned();
    let (mount_name, response) = match site.mounts.resolve(&path) {
        None => ("-".to_owned(), responses::not_found()),
        Some(resolved) => {
            let app = resolved.target.clone();
            let script_name = resolved.script_name.to_owned();
            let path_info = resolved.path_info.to_owned();
            let response = dispatch(&app, request, remote, &request_id, script_name, path_info).await;
            (app.name.clone(), response)
        }
    };
    let bytes = response.body().size_hint_exact();
    tracing::info!(
        target: "access",
        mount = %mount_name,
        method = %method,
        path = %path,
        status = response.status().as_u16(),
        bytes,
        duration_ms = format_args!("{:.2}", started.elapsed().as_secs_f64() * 1000.0),
        request = %request_id,
    );
    response
}

trait ExactSize {
    fn size_hint_exact(&self) -> u64;
}

impl ExactSize for Body {
    fn size_hint_exact(&self) -> u64 {
        hyper::body::Body::size_hint(self).exact().unwrap_or(0)
    }
}

async fn dispatch(
    app: &Arc<MountedApp>,
    request: Request<Incoming>,
    remote: SocketAddr,
    request_id: &str,
    script_name: String,
    path_info: String,
) -> Response<Body> {
    let declared = request
        .headers()
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u64>().ok());
    if declared.is_some_and(|length| length > app.max_body) {
        return responses::payload_too_large(app.max_body);
    }
    let (parts, body) = request.into_parts();
    let body = match Limited::new(body, app.max_body as usize).collect().await {
        Ok(collected) => collected.to_bytes(),
        Err(error) if error.is::<http_body_util::LengthLimitError>() => {
            return responses::payload_too_large(app.max_body);
        }
        Err(error) => return responses::bad_request(&format!("could not read the body: {error}")),
    };
    let authority = parts
        .headers
        .get(header::HOST)
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned)
        .or_else(|| parts.uri.authority().map(|a| a.to_string()))
        .unwrap_or_default();
    let guest_request = WitRequest {
        request_id: request_id.to_owned(),
        method: parts.method.as_str().to_owned(),
        scheme: parts.uri.scheme_str().unwrap_or("http").to_owned(),
        authority,
        path: parts.uri.path().to_owned(),
        query: parts.uri.query().unwrap_or("").to_owned(),
        headers: parts
            .headers
            .iter()
            .map(|(name, value)| (name.as_str().to_owned(), value.as_bytes().to_vec()))
            .collect(),
        body: body.to_vec(),
        remote_addr: remote.to_string(),
        script_name,
        path_info,
    };
    let outcome = app
        .pool
        .handle(guest_request)
        .await
        .and_then(responses::from_guest);
    match outcome {
        Ok(response) => response,
        Err(error) => {
            tracing::error!(app = %app.name, request = %request_id, "{error}");
            responses::guest_failure(&error)
        }
    }
}
