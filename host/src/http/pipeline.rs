//! One request, end to end: id, canonical path, mount, on/off state, body
//! limit, dispatch (static folder or sandboxed app), stats and access log.

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

use super::{
    marshal,
    responses::{self, Body},
};
use crate::{
    access_log::AccessEntry,
    paths::CanonicalPath,
    sandbox::bindings::terrarium::app::http::SessionChange,
    sessions::{Change, Sessions},
    site::{AppMount, Mount, MountTarget, Site},
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

/// Answers one request on the public listener. Never fails: every problem
/// becomes a response.
pub async fn handle(site: Arc<Site>, remote: SocketAddr, request: Request<Incoming>) -> Response<Body> {
    let started = Instant::now();
    let request_id = next_request_id();
    let method = request.method().clone();
    let raw_path = request.uri().path().to_owned();
    let (mount, response) = route(&site, remote, request, &request_id).await;
    let status = response.status().as_u16();
    let bytes = response
        .headers()
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok()?.parse().ok())
        .or_else(|| hyper::body::Body::size_hint(response.body()).exact())
        .unwrap_or(0);
    let elapsed = started.elapsed();
    if let Some(mount) = &mount {
        mount.stats.record(status, elapsed);
    }
    site.access_log().record(&AccessEntry {
        mount: mount.as_ref().map_or("-", |m| m.name.as_str()),
        method: method.as_str(),
        path: &raw_path,
        status,
        bytes,
        duration: elapsed,
        request_id: &request_id,
        remote,
    });
    response
}

async fn route(
    site: &Site,
    remote: SocketAddr,
    request: Request<Incoming>,
    request_id: &str,
) -> (Option<Arc<Mount>>, Response<Body>) {
    let path = match CanonicalPath::parse(request.uri().path()) {
        Ok(path) => path,
        Err(error) => return (None, responses::bad_request(&error.to_string())),
    };
    let Some(resolved) = site.mounts.resolve(&path) else {
        return (None, responses::not_found());
    };
    let mount = resolved.target.clone();
    if !mount.is_enabled() {
        return (
            Some(mount.clone()),
            responses::maintenance(mount.maintenance_page()),
        );
    }
    let response = match &mount.target {
        MountTarget::Static(folder) => {
            let segments = &path.segments()[resolved.depth..];
            folder
                .serve(
                    request.method(),
                    request.headers(),
                    segments,
                    path.trailing_slash(),
                    &path.encoded(),
                )
                .await
        }
        MountTarget::App(app) => {
            let target = AppTarget {
                mount: &mount,
                app,
                sessions: if mount.sessions {
                    site.sessions().map(|s| &**s)
                } else {
                    None
                },
                script_name: resolved.script_name.to_owned(),
                path_info: resolved.path_info,
                full_path: path.encoded(),
            };
            dispatch(target, request, remote, request_id).await
        }
    };
    (Some(mount), response)
}

/// Where an app request goes, with its path split at the mount point.
struct AppTarget<'a> {
    mount: &'a Mount,
    app: &'a AppMount,
    sessions: Option<&'a Sessions>,
    script_name: String,
    path_info: String,
    full_path: String,
}

async fn dispatch(
    target: AppTarget<'_>,
    request: Request<Incoming>,
    remote: SocketAddr,
    request_id: &str,
) -> Response<Body> {
    let max_body = target.mount.max_body;
    let declared = request
        .headers()
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u64>().ok());
    if declared.is_some_and(|length| length > max_body) {
        return responses::payload_too_large(max_body);
    }
    let (parts, body) = request.into_parts();
    let body = match Limited::new(body, max_body as usize).collect().await {
        Ok(collected) => collected.to_bytes(),
        Err(error) if error.is::<http_body_util::LengthLimitError>() => {
            return responses::payload_too_large(max_body);
        }
        Err(error) => return responses::bad_request(&format!("could not read the body: {error}")),
    };
    let secure_cookie = target.sessions.is_some_and(|s| {
        s.secure_for(
            parts.uri.scheme_str() == Some("https"),
            remote.ip(),
            &parts.headers,
        )
    });
    let session = match target.sessions {
        Some(sessions) => match sessions.load(&target.mount.name, &parts.headers).await {
            Ok(loaded) => Some((sessions, loaded)),
            Err(error) => {
                tracing::error!(mount = %target.mount.name, request = %request_id, "{error}");
                return responses::session_store_unavailable();
            }
        },
        None => None,
    };
    let guest_request = marshal::to_guest(
        &parts,
        body,
        &marshal::RequestContext {
            request_id,
            remote,
            script_name: &target.script_name,
            path_info: &target.path_info,
            full_path: &target.full_path,
            session: session.as_ref().map(|(_, loaded)| loaded.data()),
        },
    );
    let guest_request = match guest_request {
        Ok(record) => record,
        Err(error) => return responses::bad_request(&error.to_string()),
    };
    let version = target.app.current();
    let outcome = version
        .pool
        .handle(request_id, guest_request)
        .await
        .and_then(|mut answer| {
            let change = std::mem::replace(&mut answer.session, SessionChange::Unchanged);
            responses::from_guest(answer).map(|response| (response, change))
        });
    let (mut response, change) = match outcome {
        Ok(answered) => answered,
        Err(error) => {
            tracing::error!(mount = %target.mount.name, request = %request_id, "{error}");
            return responses::guest_failure(&error);
        }
    };
    if let Some((sessions, loaded)) = session {
        let change = match change {
            SessionChange::Unchanged => Change::Unchanged,
            SessionChange::Save(data) => Change::Save(data),
            SessionChange::Regenerate(data) => Change::Regenerate(data),
            SessionChange::Destroy => Change::Destroy,
        };
        match sessions
            .finish(loaded, change, &target.mount.path, secure_cookie)
            .await
        {
            Ok(Some(cookie)) => {
                response.headers_mut().append(header::SET_COOKIE, cookie);
            }
            Ok(None) => {}
            Err(error) => {
                tracing::error!(mount = %target.mount.name, request = %request_id, "session not saved: {error}");
                return responses::session_store_unavailable();
            }
        }
    }
    response
}
