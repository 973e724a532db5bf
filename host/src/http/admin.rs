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
//! With `server.admin_token` set, every request needs `Authorization: Bearer <token>`.

use std::{
    net::SocketAddr,
    sync::{Arc, atomic::Ordering},
    time::Instant,
};

use http::{HeaderValue, Method, Request, Response, StatusCode, header};
use http_body_util::{BodyExt, Limited};
use hyper::body::Incoming;
use serde::Serialize;
use sha2::{Digest, Sha256};

use super::responses::{self, Body, Context, ControlRefusal, Refusal};
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
    let method = request.method().clone();
    let path = request.uri().path().to_owned();
    let outcome = match &site.config.server.admin_token {
        Some(expected) if !authorized(request.headers().get(header::AUTHORIZATION), expected.expose()) => {
            tracing::warn!(target: "admin", %peer, method = %method, path = %path, "refused: no valid bearer token");
            Err(ControlRefusal::Unauthorized.into())
        }
        _ => route(&site, &method, &path, request.into_body()).await,
    };
    let response = outcome.unwrap_or_else(|refusal| {
        refusal.respond(Context {
            mount: None,
            request_id: "",
        })
    });
    tracing::info!(target: "admin", method = %method, path = %path, status = response.status().as_u16());
    response
}

async fn route(
    site: &Arc<Site>,
    method: &Method,
    path: &str,
    body: Incoming,
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
            let keys = mount_keys(body).await?;
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
            budget: BudgetInfo {
                max_instances: site.budget().limit(),
                in_use: site.budget().in_use(),
                retired_for_room: site.budget().retired_for_room(),
            },
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
async fn mount_keys(body: Incoming) -> Result<serde_json::Map<String, serde_json::Value>, Refusal> {
    let invalid = |why: String| Refusal::from(ControlRefusal::from(ControlError::Invalid(why)));
    let bytes = Limited::new(body, MAX_CONTROL_BODY)
        .collect()
        .await
        .map_err(|e| {
            invalid(format!(
                "cannot read the body (at most {MAX_CONTROL_BODY} bytes): {e}"
            ))
        })?
        .to_bytes();
    match serde_json::from_slice(&bytes) {
        Ok(serde_json::Value::Object(keys)) => Ok(keys),
        Ok(_) => Err(invalid(
            "the body must be a JSON object of the mount's keys".to_owned(),
        )),
        Err(e) => Err(invalid(format!("the body is not JSON: {e}"))),
    }
}

/// A change not live yet as `GET /mounts/{name}` shows it.
fn change_info(change: &MountChange) -> ChangeInfo {
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
fn describe(mount: &Mount) -> MountInfo {
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
                    retired_idle: pool.retired_idle,
                    retired_for_room: pool.retired_for_room,
                    version: current.key.clone(),
                    interface: current.interface.as_str().to_owned(),
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

/// Whether the request carries the bearer token. The two are compared as
/// SHA-256 digests, byte for byte to the end, so neither the time taken nor
/// an early return tells how much of the token (or its length) was right.
fn authorized(header: Option<&HeaderValue>, expected: &str) -> bool {
    let given = header
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
        .map(str::trim);
    let digest = |token: &str| Sha256::digest(token.as_bytes());
    let matches = digest(given.unwrap_or(""))
        .iter()
        .zip(digest(expected).iter())
        .fold(0u8, |acc, (a, b)| acc | (a ^ b))
        == 0;
    given.is_some() && matches
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bearer_tokens() {
        let header = |v: &str| HeaderValue::from_str(v).unwrap();
        assert!(authorized(Some(&header("Bearer s3cret")), "s3cret"));
        assert!(!authorized(Some(&header("Bearer s3cre")), "s3cret"));
        assert!(!authorized(Some(&header("Bearer s3creT")), "s3cret"));
        assert!(!authorized(Some(&header("Bearer s3cret-and-more")), "s3cret"));
        assert!(!authorized(Some(&header("Basic s3cret")), "s3cret"));
        assert!(!authorized(Some(&header("Bearer ")), "s3cret"));
        assert!(!authorized(None, "s3cret"));
    }
}
