//! One request, end to end: id, canonical path, mount, on/off state, body
//! limit, dispatch (static folder or sandboxed app), stats and access log.

use std::{
    net::SocketAddr,
    sync::{
        Arc, LazyLock,
        atomic::{AtomicU64, Ordering},
    },
    time::{Duration, Instant},
};

use bytes::{Bytes, BytesMut};
use http::{
    HeaderMap, HeaderName, HeaderValue, Request, Response, StatusCode, Version, header, request::Parts,
};
use http_body_util::BodyExt;
use hyper::body::Incoming;

use super::{
    body_budget::{BodyBudget, HeldBytes},
    connections::Activity,
    finished::Finished,
    marshal,
    responses::{self, Body, Context, Refusal},
    transport::Transport,
};
use crate::{
    config::UnknownHost,
    hosts::RequestHost,
    paths::CanonicalPath,
    sandbox::{BodyFault, BodySource, GuestAnswer, GuestError, GuestRequest},
    sessions::{Change, Loaded, Sessions},
    site::{AppMount, Mount, MountTarget, Site},
};

static NEXT_REQUEST: AtomicU64 = AtomicU64::new(1);

/// The port of a request that names none: the listener speaks plain HTTP.
const DEFAULT_PORT: u16 = 80;

/// The response header that names the request's id.
const X_REQUEST_ID: HeaderName = HeaderName::from_static("x-request-id");

/// This process's id, read once (each read is a system call).
static PROCESS_ID: LazyLock<u32> = LazyLock::new(std::process::id);

/// A short id for a request, unique within this process.
fn next_request_id() -> String {
    format!(
        "{:x}-{:06x}",
        *PROCESS_ID,
        NEXT_REQUEST.fetch_add(1, Ordering::Relaxed)
    )
}

/// Answers one request on the public listener. Never fails: every problem
/// is a [`Refusal`], turned into a response (and logged) here.
pub async fn handle(
    site: Arc<Site>,
    bodies: Arc<BodyBudget>,
    remote: SocketAddr,
    request: Request<Incoming>,
    activity: Arc<Activity>,
) -> Response<Body> {
    let started = Instant::now();
    let request_id = next_request_id();
    let method = request.method().clone();
    let raw_path = request.uri().path().to_owned();
    let host = request_host(&request);
    let (version, transport) = (request.version(), Transport::of(&request));
    let (mount, outcome) = route(&site, &bodies, &activity, remote, request, &host, &request_id).await;
    let mut response = outcome.unwrap_or_else(|refusal| {
        refusal.respond(Context {
            mount: mount.as_ref().map(|m| m.name.as_str()),
            request_id: &request_id,
        })
    });
    // The id the log tags the request with, for the user to quote (an
    // app's own X-Request-Id gives way to it).
    // Marked sensitive: HTTP/2 then sends it as a literal never indexed,
    // instead of inserting each new id into the HPACK table and comparing
    // every later one against the ids already there (a unique value per
    // response gains nothing from the table).
    if let Ok(mut id) = HeaderValue::from_str(&request_id) {
        id.set_sensitive(true);
        response.headers_mut().insert(X_REQUEST_ID, id);
    }
    Finished {
        site,
        mount,
        method,
        host: host.ok().flatten(),
        path: raw_path,
        version,
        tls: transport.tls,
        request_id,
        remote,
        started,
    }
    .record_when_sent(response)
}

/// The host a request names, canonical: an absolute-form target's
/// authority, which wins over `Host` (RFC 9112 §3.2.2), else `Host`; None
/// when it names none; why it cannot be read when it is malformed.
fn request_host(request: &Request<Incoming>) -> Result<Option<RequestHost<'static>>, String> {
    let authority = match request.uri().authority() {
        Some(authority) => authority.as_str(),
        None => match request.headers().get(header::HOST) {
            Some(value) => value
                .to_str()
                .map_err(|_| "the Host header is not a host name".to_owned())?,
            None => return Ok(None),
        },
    };
    match RequestHost::parse(authority) {
        Ok(host) => Ok(host.map(RequestHost::into_owned)),
        Err(error) => Err(error.to_string()),
    }
}

/// The mount a request reached (if any), and its answer.
async fn route(
    site: &Site,
    bodies: &BodyBudget,
    activity: &Arc<Activity>,
    remote: SocketAddr,
    request: Request<Incoming>,
    host: &Result<Option<RequestHost<'static>>, String>,
    request_id: &str,
) -> (Option<Arc<Mount>>, Result<Response<Body>, Refusal>) {
    if let Err(refusal) = check_framing(request.version(), request.headers()) {
        return (None, Err(refusal));
    }
    let host = match host {
        Ok(host) => host,
        Err(why) => return (None, Err(Refusal::Unreadable(why.clone()))),
    };
    let path = match CanonicalPath::parse(request.uri().path()) {
        Ok(path) => path,
        Err(error) => return (None, Err(error.into())),
    };
    if let Some(host) = host
        && Transport::of(&request).tls.is_none()
        && let Some(location) =
            site.https_redirect(host, request.uri().path_and_query().map_or("/", |p| p.as_str()))
    {
        return (
            None,
            Ok(responses::redirect(StatusCode::PERMANENT_REDIRECT, &location)),
        );
    }
    let mounts = site.mounts();
    let Some(table) = mounts.routes.route(host.as_ref(), DEFAULT_PORT) else {
        site.count_unknown_host();
        let refusal = Refusal::UnknownHost {
            host: host
                .as_ref()
                .map_or_else(|| "(none named)".to_owned(), |host| host.to_string()),
            misdirected: site.config.server.unknown_host == UnknownHost::Misdirected,
        };
        return (None, Err(refusal));
    };
    if table.pattern.is_some() {
        table.requests.fetch_add(1, Ordering::Relaxed);
    }
    let Some(resolved) = table.mounts.resolve(&path) else {
        return (None, Err(Refusal::NotFound));
    };
    let mount = resolved.target.clone();
    if !mount.switch.is_on() {
        let page = mount.maintenance_page().cloned();
        return (Some(mount), Err(Refusal::Maintenance(page)));
    }
    let outcome = match &mount.target {
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
            let server = &site.config.server;
            let target = AppTarget {
                mount: &mount,
                bodies,
                body_limits: BodyLimits {
                    max: mount.max_body,
                    buffer: mount.buffer_body.min(mount.max_body) as usize,
                    idle: server.body_timeout.0,
                    min_rate: server.min_body_rate.0,
                },
                app,
                sessions: if mount.sessions {
                    site.sessions().map(|s| &**s)
                } else {
                    None
                },
                script_name: resolved.script_name,
                path_info: &resolved.path_info,
                full_path: path.encoded(),
            };
            dispatch(&target, activity, request, remote, request_id).await
        }
    };
    (Some(mount), outcome)
}

/// What HTTP/1.1 requires of a request's head that hyper leaves to us
/// (RFC 9112 §3.2, §6.1): exactly one `Host` (none is fine before 1.1), and
/// no transfer coding but chunked, which hyper decodes (any other would
/// reach the app still encoded).
fn check_framing(version: Version, headers: &HeaderMap) -> Result<(), Refusal> {
    match headers.get_all(header::HOST).iter().count() {
        0 if version >= Version::HTTP_11 && version < Version::HTTP_2 => {
            return Err(Refusal::Unreadable(
                "an HTTP/1.1 request needs a Host header".into(),
            ));
        }
        0 | 1 => {}
        _ => return Err(Refusal::Unreadable("more than one Host header".into())),
    }
    for value in headers.get_all(header::TRANSFER_ENCODING) {
        let codings = String::from_utf8_lossy(value.as_bytes());
        if let Some(coding) = codings
            .split(',')
            .map(str::trim)
            .find(|coding| !coding.eq_ignore_ascii_case("chunked"))
        {
            return Err(Refusal::NotImplemented(format!(
                "the transfer coding {coding:?} (only chunked is accepted)"
            )));
        }
    }
    Ok(())
}

/// Where an app request goes, with its path split at the mount point.
struct AppTarget<'a> {
    mount: &'a Mount,
    bodies: &'a BodyBudget,
    body_limits: BodyLimits,
    app: &'a AppMount,
    sessions: Option<&'a Sessions>,
    script_name: &'a str,
    path_info: &'a str,
    full_path: String,
}

/// An app request: its body read, its session loaded, the app called, the
/// session saved.
async fn dispatch(
    target: &AppTarget<'_>,
    activity: &Arc<Activity>,
    request: Request<Incoming>,
    remote: SocketAddr,
    request_id: &str,
) -> Result<Response<Body>, Refusal> {
    let (parts, body) = request.into_parts();
    // The bytes held of the body count against the site's budget until the
    // app has answered.
    let (body, _held, rest) = read_body(&parts, body, target.body_limits, target.bodies, activity).await?;
    let session = match target.sessions {
        Some(sessions) => {
            let secure = sessions.secure_for(
                Transport::of_extensions(&parts.extensions).tls.is_some(),
                remote.ip(),
                &parts.headers,
            );
            let loaded = sessions
                .load(&target.mount.name, &parts.headers)
                .await
                .map_err(|error| Refusal::Sessions { saving: false, error })?;
            Some(OpenSession {
                sessions,
                loaded,
                secure,
            })
        }
        None => None,
    };
    let guest_request = marshal::to_guest(
        &parts,
        body,
        &marshal::RequestContext {
            request_id,
            remote,
            script_name: target.script_name,
            path_info: target.path_info,
            full_path: &target.full_path,
            session: session.as_ref().map(|open| open.loaded.data()),
            more_body: rest.is_some(),
        },
    )
    .map_err(|error| Refusal::Unreadable(error.to_string()))?;
    let (mut response, change) = call_app(target.app, request_id, guest_request, rest).await?;
    target
        .app
        .keep_cookies_to_mount(&target.mount.name, response.headers_mut());
    if let Some(open) = session
        && let Some(cookie) = open.save(change, &target.mount.path).await?
    {
        response.headers_mut().append(header::SET_COOKIE, cookie);
    }
    Ok(response)
}

/// How much of a body, and how slowly, the host accepts.
#[derive(Debug, Clone, Copy)]
struct BodyLimits {
    /// The mount's `max_body`.
    max: u64,
    /// The mount's `buffer_body`: how much of a body the host reads before
    /// calling the app. A body that ends within it reaches the app whole,
    /// in the call; a longer one reaches it as this first part and the
    /// rest as it arrives.
    buffer: usize,
    /// `server.body_timeout`: the longest wait for the next part.
    idle: Duration,
    /// `server.min_body_rate`, bytes per second, once `idle` has passed.
    min_rate: u64,
}

/// The body within `limits`: 413 beyond `max` (checked against
/// `Content-Length` before reading when there is one), 408 when it stalls
/// for `idle` or, after `idle`, averages less than `min_rate`, 503 when the
/// site's `budget` has no bytes left for the part held. Returns the body
/// whole, or its first `limits.buffer` bytes and the source of the
/// rest (which applies the same limits as it goes), with the bytes held
/// from the budget.
async fn read_body(
    parts: &Parts,
    body: Incoming,
    limits: BodyLimits,
    budget: &BodyBudget,
    activity: &Arc<Activity>,
) -> Result<(Bytes, HeldBytes, Option<BodySource>), Refusal> {
    let declared = parts
        .headers
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u64>().ok());
    if declared.is_some_and(|length| length > limits.max) {
        return Err(Refusal::TooLarge { limit: limits.max });
    }
    let mut held = BodyBudget::none();
    if hyper::body::Body::is_end_stream(&body) {
        activity.working();
        return Ok((Bytes::new(), held, None));
    }
    let mut reader = BodyReader {
        body,
        limits,
        received: 0,
        started: Instant::now(),
        activity: activity.clone(),
    };
    // Grown as the body arrives: a declared length costs nothing until it is sent.
    let mut first = BytesMut::with_capacity(declared.unwrap_or(0).min(64 << 10) as usize);
    while first.len() < limits.buffer {
        let Some(part) = reader.next_part().await? else {
            return Ok((first.freeze(), held, None));
        };
        if !budget.take(&mut held, part.len()) {
            return Err(Refusal::BodiesBusy);
        }
        first.extend_from_slice(&part);
    }
    let rest = futures_util::stream::try_unfold(reader, |mut reader| async move {
        Ok(reader.next_part().await?.map(|part| (part, reader)))
    });
    Ok((first.freeze(), held, Some(Box::pin(rest))))
}

/// A request body read part by part, within its limits.
struct BodyReader {
    body: Incoming,
    limits: BodyLimits,
    received: u64,
    started: Instant,
    activity: Arc<Activity>,
}

impl BodyReader {
    /// The next part of the body; none at its end (the request is then
    /// being worked on, as the connection's activity is told).
    async fn next_part(&mut self) -> Result<Option<Bytes>, BodyFault> {
        let limits = self.limits;
        loop {
            let frame = match tokio::time::timeout(limits.idle, self.body.frame()).await {
                Err(_) => {
                    return Err(BodyFault::TooSlow(format!(
                        "no part of the body came for {:?}",
                        limits.idle
                    )));
                }
                Ok(None) => {
                    self.activity.working();
                    return Ok(None);
                }
                Ok(Some(Err(error))) => {
                    return Err(BodyFault::Unreadable(format!("could not read the body: {error}")));
                }
                Ok(Some(Ok(frame))) => frame,
            };
            self.activity.body_progressed();
            let Ok(data) = frame.into_data() else { continue };
            self.received += data.len() as u64;
            if self.received > limits.max {
                return Err(BodyFault::TooLarge(limits.max));
            }
            let elapsed = self.started.elapsed();
            if elapsed > limits.idle
                && (self.received as f64) < limits.min_rate as f64 * elapsed.as_secs_f64()
            {
                return Err(BodyFault::TooSlow(format!(
                    "the body came at {:.0} bytes/s, below server.min_body_rate ({} bytes/s)",
                    self.received as f64 / elapsed.as_secs_f64(),
                    limits.min_rate
                )));
            }
            if !data.is_empty() {
                return Ok(Some(data));
            }
        }
    }
}

/// Runs the request in the app's current version (`body` is the rest of
/// its body, when it did not come whole); its checked answer, whole or
/// streaming, and what it did with the session.
async fn call_app(
    app: &AppMount,
    request_id: &str,
    request: GuestRequest,
    body: Option<BodySource>,
) -> Result<(Response<Body>, Change), Refusal> {
    let answer = app
        .current()
        .pool
        .handle(request_id, request, body)
        .await
        .map_err(|error| match error {
            GuestError::Body(fault) => Refusal::from(fault),
            error => Refusal::Guest(error),
        })?;
    Ok(match answer {
        GuestAnswer::Whole(response) => responses::from_guest(response)?,
        GuestAnswer::Streamed(head, parts) => responses::streamed_from_guest(head, parts)?,
    })
}

/// A session loaded for one request, to be saved after the app answers.
struct OpenSession<'a> {
    sessions: &'a Sessions,
    loaded: Loaded,
    /// Whether its cookie carries `Secure`.
    secure: bool,
}

impl OpenSession<'_> {
    /// Stores what the app did with the session; the cookie to set, if any.
    async fn save(self, change: Change, cookie_path: &str) -> Result<Option<HeaderValue>, Refusal> {
        self.sessions
            .finish(self.loaded, change, cookie_path, self.secure)
            .await
            .map_err(|error| Refusal::Sessions { saving: true, error })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// One line a case: the version, the headers, and the status refused
    /// with (None: accepted).
    #[test]
    fn request_heads_are_framed_as_http_1_1_requires() {
        type Headers = &'static [(&'static str, &'static str)];
        let cases: &[(Version, Headers, Option<u16>)] = &[
            (Version::HTTP_11, &[("host", "a")], None),
            (Version::HTTP_11, &[], Some(400)),
            (Version::HTTP_10, &[], None),
            (Version::HTTP_11, &[("host", "a"), ("host", "b")], Some(400)),
            (Version::HTTP_10, &[("host", "a"), ("host", "a")], Some(400)),
            (
                Version::HTTP_11,
                &[("host", "a"), ("transfer-encoding", "chunked")],
                None,
            ),
            (
                Version::HTTP_11,
                &[("host", "a"), ("transfer-encoding", "Chunked")],
                None,
            ),
            (
                Version::HTTP_11,
                &[("host", "a"), ("transfer-encoding", "gzip, chunked")],
                Some(501),
            ),
            (
                Version::HTTP_11,
                &[
                    ("host", "a"),
                    ("transfer-encoding", "gzip"),
                    ("transfer-encoding", "chunked"),
                ],
                Some(501),
            ),
        ];
        let mut failures = Vec::new();
        for (version, headers, refused) in cases {
            let mut map = HeaderMap::new();
            for (name, value) in *headers {
                map.append(*name, HeaderValue::from_static(value));
            }
            let got = check_framing(*version, &map).err().map(|r| r.status().as_u16());
            if got != *refused {
                failures.push(format!("{version:?} {headers:?}: {got:?}"));
            }
        }
        assert!(failures.is_empty(), "{failures:#?}");
    }
}
