//! The control API, served on the admin listener (JSON; metrics as
//! Prometheus text).
//!
//! ```text
//! GET  /health                   {"status":"ok"}
//! GET  /mounts                   every mount: name, path, kind, state, isolation,
//!                                instances (ready, busy, cold starts, retired),
//!                                requests, errors, version; the site's instance budget
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
use hyper::body::Incoming;
use serde::Serialize;
use sha2::{Digest, Sha256};

use super::responses::{self, Body, Context, ControlRefusal, Refusal};
use crate::{
    api::{AppInfo, BudgetInfo, DataInfo, MountInfo, MountList, OutboundInfo, Reloaded},
    sandbox::net::OutboundAccess,
    site::{Mount, MountTarget, Site},
    stats::METRICS_HEADER,
};

/// Answers one control request from `peer`.
pub async fn handle(site: Arc<Site>, peer: SocketAddr, request: Request<Incoming>) -> Response<Body> {
    let method = request.method().clone();
    let path = request.uri().path().to_owned();
    let outcome = match &site.config.server.admin_token {
        Some(expected) if !authorized(request.headers().get(header::AUTHORIZATION), expected.expose()) => {
            tracing::warn!(target: "admin", %peer, method = %method, path = %path, "refused: no valid bearer token");
            Err(ControlRefusal::Unauthorized.into())
        }
        _ => route(&site, &method, &path).await,
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

async fn route(site: &Site, method: &Method, path: &str) -> Result<Response<Body>, Refusal> {
    let segments: Vec<&str> = path.trim_matches('/').split('/').collect();
    match (method, segments.as_slice()) {
        (&Method::GET, ["health"]) => Ok(json(&serde_json::json!({"status": "ok"}))),
        (&Method::GET, ["mounts"]) => Ok(json(&MountList {
            mounts: site.mounts_in_order().iter().map(|m| describe(m)).collect(),
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
            Ok(json(&describe(mount)))
        }
        (&Method::POST, ["mounts", name, "reload"]) => {
            let started = Instant::now();
            site.reload(name).await.map_err(ControlRefusal::from)?;
            let mount = site.mount(name).map_err(ControlRefusal::from)?;
            Ok(json(&Reloaded {
                mount: describe(mount),
                reloaded: true,
                duration_ms: started.elapsed().as_millis() as u64,
            }))
        }
        (_, ["health" | "mounts" | "metrics"]) => {
            Err(ControlRefusal::MethodNotAllowed { allow: "GET" }.into())
        }
        (_, ["mounts", _, "enable" | "disable" | "reload"]) => {
            Err(ControlRefusal::MethodNotAllowed { allow: "POST" }.into())
        }
        _ => Err(ControlRefusal::NoEndpoint(path.to_owned()).into()),
    }
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
    for mount in site.mounts_in_order() {
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
    for table in site.routes.tables() {
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
