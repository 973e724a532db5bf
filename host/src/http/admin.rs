//! The control API, served on the admin listener (JSON; metrics as
//! Prometheus text).
//!
//! ```text
//! GET  /health                   {"status":"ok"}
//! GET  /mounts                   every mount: name, path, kind, state, isolation,
//!                                instances (ready, busy, cold starts, retired),
//!                                requests, errors, version; the site's instance budget
//! GET  /mounts/{name}            that mount, and a change of it not live yet
//!                                (`building` with its step, or `failed` with the error)
//! PUT  /mounts/{name}            add or change a mount: its keys as JSON, checked as the
//!                                file's (400 naming the key); built in the background,
//!                                live when ready (202), written into terrarium.toml
//! DELETE /mounts/{name}          take a mount out: new requests 404, those in flight
//!                                finish; removed from terrarium.toml
//! POST /config/reload           apply what terrarium.toml changed: mounts added, changed
//!                                (built in the background) and removed; the rest untouched;
//!                                an invalid file changes nothing (400 with the error)
//! POST /mounts/{name}/disable    switch a mount off (503 + maintenance page)
//! POST /mounts/{name}/enable     switch it on again
//! POST /mounts/{name}/reload     rebuild the app and swap it in; old version keeps
//!                                serving if the build fails (answered 500 with the error)
//! GET  /metrics                  requests, errors, latency, instances per mount; the budget
//! ```
//! With `server.admin_token` set, every request needs `Authorization: Bearer <token>`
//! (or the dashboard's login cookie, see [`super::dashboard`]). A change a
//! browser asks for must carry the dashboard's CSRF token and come from the
//! dashboard's own origin.
//!
//! `GET /` is the dashboard.

use std::{
    net::SocketAddr,
    sync::{Arc, atomic::Ordering},
    time::{Instant, SystemTime},
};

use bytes::Bytes;
use http::{HeaderMap, HeaderValue, Method, Request, Response, StatusCode, header};
use http_body_util::{BodyExt, Limited};
use hyper::body::Incoming;
use serde::Serialize;

use super::{
    dashboard::{
        self,
        access::{self, Caller, Keys},
    },
    responses::{self, Body, Context, ControlRefusal, Refusal},
};
use crate::{
    api::{
        AppInfo, BudgetInfo, ChangeInfo, ConfigReloaded, DataInfo, MountChanged, MountInfo, MountList,
        MountStatus, OutboundInfo, Reloaded,
    },
    sandbox::net::OutboundAccess,
    site::{ControlError, Mount, MountChange, MountTarget, Site},
    stats::METRICS_HEADER,
};

/// The largest request body the control API reads (a mount's keys).
const MAX_CONTROL_BODY: usize = 64 << 10;

/// Answers one control request from `peer`.
pub async fn handle(site: Arc<Site>, peer: SocketAddr, request: Request<Incoming>) -> Response<Body> {
    let (parts, body) = request.into_parts();
    let method = parts.method.clone();
    let path = parts.uri.path().to_owned();
    let token = site
        .config
        .server
        .admin_token
        .as_ref()
        .map(|token| token.expose());
    let keys = Keys::new(token);
    let caller = keys.caller(token, &parts.headers, SystemTime::now());
    let outcome = match read_body(body).await {
        Err(refusal) => Err(refusal),
        Ok(body) => match dashboard::answer(&site, &keys, &caller, &parts, &body).await {
            Some(page) => Ok(page),
            None => control(&site, &keys, &caller, &parts, body, peer).await,
        },
    };
    let response = outcome.unwrap_or_else(|refusal| {
        refusal.respond(Context {
            mount: None,
            request_id: "",
        })
    });
    let status = response.status().as_u16();
    // The dashboard asks for its live part each second: those stay out of
    // the log unless it is turned up.
    if method == Method::GET && (path == "/" || path.starts_with("/dashboard/")) {
        tracing::debug!(target: "admin", method = %method, path = %path, status);
    } else {
        tracing::info!(target: "admin", method = %method, path = %path, status);
    }
    response
}

/// A control API request, once its caller is known to be allowed in.
async fn control(
    site: &Arc<Site>,
    keys: &Keys,
    caller: &Caller,
    parts: &http::request::Parts,
    body: Bytes,
    peer: SocketAddr,
) -> Result<Response<Body>, Refusal> {
    let (method, path) = (&parts.method, parts.uri.path());
    if *caller == Caller::Stranger {
        tracing::warn!(target: "admin", %peer, method = %method, path = %path, "refused: no valid bearer token");
        return Err(ControlRefusal::Unauthorized.into());
    }
    let changes = !matches!(*method, Method::GET | Method::HEAD);
    if changes && access::needs_csrf(caller, &parts.headers) {
        if access::cross_origin(&parts.headers) {
            tracing::warn!(target: "admin", %peer, method = %method, path = %path, "refused: a change asked for by another site");
            return Err(ControlRefusal::CrossSite.into());
        }
        let given = parts
            .headers
            .get(access::CSRF_HEADER)
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned)
            .or_else(|| {
                is_form(&parts.headers)
                    .then(|| dashboard::form_field(&body, "csrf"))
                    .flatten()
            })
            .unwrap_or_default();
        if !keys.csrf_valid(caller, &given) {
            tracing::warn!(target: "admin", %peer, method = %method, path = %path, "refused: no valid CSRF token");
            return Err(ControlRefusal::NoCsrfToken.into());
        }
    }
    let answer = route(site, method, path, body).await?;
    // A form posted by a browser without the page's script goes back to the page.
    if changes && is_form(&parts.headers) && accepts_html(&parts.headers) {
        return Ok(dashboard::see_other());
    }
    Ok(answer)
}

/// The request's body, read whole (the control API's bodies are small).
async fn read_body(body: Incoming) -> Result<Bytes, Refusal> {
    Limited::new(body, MAX_CONTROL_BODY)
        .collect()
        .await
        .map(|collected| collected.to_bytes())
        .map_err(|e| {
            ControlRefusal::from(ControlError::Invalid(format!(
                "cannot read the body (at most {MAX_CONTROL_BODY} bytes): {e}"
            )))
            .into()
        })
}

fn is_form(headers: &HeaderMap) -> bool {
    headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("application/x-www-form-urlencoded"))
}

fn accepts_html(headers: &HeaderMap) -> bool {
    headers
        .get(header::ACCEPT)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.contains("text/html"))
}

async fn route(
    site: &Arc<Site>,
    method: &Method,
    path: &str,
    body: Bytes,
) -> Result<Response<Body>, Refusal> {
    let segments: Vec<&str> = path.trim_matches('/').split('/').collect();
    match (method, segments.as_slice()) {
        (&Method::GET, ["health"]) => Ok(json(&serde_json::json!({"status": "ok"}))),
        (&Method::GET, ["mounts", name]) => {
            let mount = site.mounts().named(name).map(|mount| describe(mount));
            let change = site.change_of(name).map(|change| change_info(&change));
            if mount.is_none() && change.is_none() {
                return Err(ControlRefusal::from(ControlError::NoSuchMount((*name).to_owned())).into());
            }
            Ok(json(&MountStatus { mount, change }))
        }
        (&Method::PUT, ["mounts", name]) => {
            let keys = mount_keys(&body)?;
            site.put_mount(name, keys).await.map_err(ControlRefusal::from)?;
            let mut response = json(&MountChanged {
                name: (*name).to_owned(),
                state: "building".to_owned(),
            });
            *response.status_mut() = StatusCode::ACCEPTED;
            Ok(response)
        }
        (&Method::DELETE, ["mounts", name]) => {
            site.remove_mount(name).await.map_err(ControlRefusal::from)?;
            Ok(json(&MountChanged {
                name: (*name).to_owned(),
                state: "removed".to_owned(),
            }))
        }
        (&Method::POST, ["config", "reload"]) => {
            let diff = site.reload_config().await.map_err(ControlRefusal::from)?;
            Ok(json(&ConfigReloaded {
                added: diff.added,
                changed: diff.changed,
                removed: diff.removed,
                unchanged: diff.unchanged,
                need_restart: diff.need_restart,
            }))
        }
        (_, ["config", "reload"]) => Err(ControlRefusal::MethodNotAllowed { allow: "POST" }.into()),
        (&Method::GET, ["mounts"]) => Ok(json(&MountList {
            mounts: site.mounts().in_order.iter().map(|m| describe(m)).collect(),
            budget: budget_info(site),
        })),
        (&Method::GET, ["metrics"]) => Ok(metrics(site)),
        (&Method::POST, ["mounts", name, action @ ("enable" | "disable")]) => {
            let mount = site.mount(name).map_err(ControlRefusal::from)?;
            mount.switch.set(*action == "enable");
            tracing::info!(mount = %mount.name, "{action}d through the control API");
            Ok(json(&describe(&mount)))
        }
        (&Method::POST, ["mounts", name, "reload"]) => {
            let started = Instant::now();
            site.reload(name).await.map_err(ControlRefusal::from)?;
            let mount = site.mount(name).map_err(ControlRefusal::from)?;
            Ok(json(&Reloaded {
                mount: describe(&mount),
                reloaded: true,
                duration_ms: started.elapsed().as_millis() as u64,
            }))
        }
        (_, ["health" | "mounts" | "metrics"]) => {
            Err(ControlRefusal::MethodNotAllowed { allow: "GET" }.into())
        }
        (_, ["mounts", _]) => Err(ControlRefusal::MethodNotAllowed {
            allow: "GET, PUT, DELETE",
        }
        .into()),
        (_, ["mounts", _, "enable" | "disable" | "reload"]) => {
            Err(ControlRefusal::MethodNotAllowed { allow: "POST" }.into())
        }
        _ => Err(ControlRefusal::NoEndpoint(path.to_owned()).into()),
    }
}

/// A `PUT`'s body: a JSON object of the mount's keys.
fn mount_keys(body: &[u8]) -> Result<serde_json::Map<String, serde_json::Value>, Refusal> {
    let invalid = |why: String| Refusal::from(ControlRefusal::from(ControlError::Invalid(why)));
    match serde_json::from_slice(body) {
        Ok(serde_json::Value::Object(keys)) => Ok(keys),
        Ok(_) => Err(invalid(
            "the body must be a JSON object of the mount's keys".to_owned(),
        )),
        Err(e) => Err(invalid(format!("the body is not JSON: {e}"))),
    }
}

/// The site's instance budget as `GET /mounts` shows it.
pub(super) fn budget_info(site: &Site) -> BudgetInfo {
    let budget = site.budget();
    BudgetInfo {
        max_instances: budget.limit(),
        in_use: budget.in_use(),
        retired_for_room: budget.retired_for_room(),
    }
}

/// A change not live yet as `GET /mounts/{name}` shows it.
pub(super) fn change_info(change: &MountChange) -> ChangeInfo {
    let mut info = ChangeInfo {
        state: change.state().to_owned(),
        step: None,
        elapsed_ms: None,
        error: None,
    };
    match change {
        MountChange::Building { since, step } => {
            info.step = Some((*step).to_owned());
            info.elapsed_ms = Some(since.elapsed().as_millis() as u64);
        }
        MountChange::Failed { error } => info.error = Some(error.clone()),
    }
    info
}

/// One mount as `GET /mounts` shows it.
pub(super) fn describe(mount: &Mount) -> MountInfo {
    MountInfo {
        name: mount.name.clone(),
        path: mount.path.clone(),
        hosts: mount.hosts.iter().map(ToString::to_string).collect(),
        kind: mount.kind().to_owned(),
        state: if mount.switch.is_on() {
            "enabled"
        } else {
            "disabled"
        }
        .to_owned(),
        requests: mount.stats.requests(),
        errors: mount.stats.errors(),
        last_minute: mount.stats.last_minute(Instant::now()),
        app: match &mount.target {
            MountTarget::App(app) => {
                let current = app.current();
                let pool = current.pool.state();
                Some(AppInfo {
                    isolation: app.settings.isolation.to_string(),
                    instances: app.settings.instances,
                    min_instances: app.settings.min_instances,
                    idle_ms: app.settings.idle.0.as_millis() as u64,
                    live_instances: pool.ready + pool.busy,
                    ready: pool.ready,
                    busy: pool.busy,
                    cold_starts: pool.cold_starts,
                    spare_starts: pool.spare_starts,
                    retired_idle: pool.retired_idle,
                    retired_for_room: pool.retired_for_room,
                    version: current.key.clone(),
                    interface: current.interface.as_str().to_owned(),
                    snapshot: app.settings.snapshot.to_string(),
                    last_error: app.last_error(),
                    env: app.settings.env.names().map(str::to_owned).collect(),
                    data: app.grants.data.as_ref().map(|data| DataInfo {
                        folder: data.host.display().to_string(),
                        at: data.guest.clone(),
                        quota: data.quota.limit(),
                        used: data.quota.counted(),
                    }),
                    tmp_quota: app.settings.storage.tmp.map(|quota| quota.0),
                    outbound: outbound_info(&app.grants.outbound),
                })
            }
            MountTarget::Static(_) => None,
        },
    }
}

fn outbound_info(access: &OutboundAccess) -> OutboundInfo {
    let rules = access.rules();
    OutboundInfo {
        allow: rules.allow.iter().map(ToString::to_string).collect(),
        connections: rules.connections,
        connect_timeout_ms: rules.connect_timeout.as_millis() as u64,
        open: access.open(),
        refused: access.refused(),
    }
}

fn metrics(site: &Site) -> Response<Body> {
    let mut out = String::from(METRICS_HEADER);
    let table = site.mounts();
    for mount in &table.in_order {
        mount.stats.render(&mount.name, &mut out);
        let label = &mount.name;
        out.push_str(&format!(
            "terrarium_mount_enabled{{mount=\"{label}\"}} {}\n",
            u8::from(mount.switch.is_on())
        ));
        if let MountTarget::App(app) = &mount.target {
            let pool = app.current().pool.state();
            out.push_str(&format!(
                "terrarium_instances_live{{mount=\"{label}\"}} {}\n\
                 terrarium_instances_ready{{mount=\"{label}\"}} {}\n\
                 terrarium_instances_busy{{mount=\"{label}\"}} {}\n\
                 terrarium_cold_starts_total{{mount=\"{label}\"}} {}\n\
                 terrarium_instances_retired_total{{mount=\"{label}\",reason=\"idle\"}} {}\n\
                 terrarium_instances_retired_total{{mount=\"{label}\",reason=\"room\"}} {}\n",
                pool.ready + pool.busy,
                pool.ready,
                pool.busy,
                pool.cold_starts,
                pool.retired_idle,
                pool.retired_for_room
            ));
            out.push_str(&format!(
                "terrarium_cookies_dropped_total{{mount=\"{label}\"}} {}\n",
                app.cookies_dropped()
            ));
            out.push_str(&format!(
                "terrarium_log_dropped_total{{mount=\"{label}\"}} {}\n",
                app.grants.log_limit.dropped()
            ));
            let outbound = &app.grants.outbound;
            out.push_str(&format!(
                "terrarium_outbound_open{{mount=\"{label}\"}} {}\nterrarium_outbound_refused_total{{mount=\"{label}\"}} {}\n",
                outbound.open(),
                outbound.refused()
            ));
        }
    }
    for table in table.routes.tables() {
        if let Some(pattern) = &table.pattern {
            out.push_str(&format!(
                "terrarium_host_requests_total{{host=\"{pattern}\"}} {}\n",
                table.requests.load(Ordering::Relaxed)
            ));
        }
    }
    out.push_str(&format!(
        "terrarium_unknown_host_total {}\n",
        site.unknown_hosts()
    ));
    for (cert, expires) in site.certificates().map(|c| c.expiries()).unwrap_or_default() {
        let label = cert
            .display()
            .to_string()
            .replace('\\', "\\\\")
            .replace('"', "\\\"")
            .replace('\n', "\\n");
        out.push_str(&format!(
            "terrarium_tls_certificate_expiry_timestamp_seconds{{cert=\"{label}\"}} {expires}\n"
        ));
    }
    let budget = site.budget();
    out.push_str(&format!(
        "terrarium_instance_budget {}\nterrarium_instance_budget_in_use {}\n",
        budget.limit(),
        budget.in_use()
    ));
    let mut response = Response::new(responses::full(out));
    response.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/plain; version=0.0.4; charset=utf-8"),
    );
    response
}

fn json(body: &impl Serialize) -> Response<Body> {
    let value = serde_json::to_value(body).expect("the control API's shapes serialize");
    responses::json_response(StatusCode::OK, &value)
}
