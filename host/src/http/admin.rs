//! The control API, served on the admin listener (JSON; metrics as
//! Prometheus text).
//!
//! ```text
//! GET  /health                   {"status":"ok"}
//! GET  /mounts                   every mount: name, path, kind, state, isolation,
//!                                instances, live_instances, requests, errors, version
//! POST /mounts/{name}/disable    switch a mount off (503 + maintenance page)
//! POST /mounts/{name}/enable     switch it on again
//! POST /mounts/{name}/reload     rebuild the app and swap it in; old version keeps
//!                                serving if the build fails (answered 500 with the error)
//! GET  /metrics                  requests, errors, latency, live instances per mount
//! ```
//! With `server.admin_token` set, every request needs `Authorization: Bearer <token>`.

use std::{sync::Arc, time::Instant};

use http::{HeaderValue, Method, Request, Response, StatusCode, header};
use hyper::body::Incoming;
use serde_json::{Value, json};

use super::responses::{self, Body};
use crate::{
    site::{ControlError, Mount, MountTarget, Site},
    stats::METRICS_HEADER,
};

/// Answers one control request.
pub async fn handle(site: Arc<Site>, request: Request<Incoming>) -> Response<Body> {
    let method = request.method().clone();
    let path = request.uri().path().to_owned();
    if let Some(expected) = &site.config.server.admin_token
        && !authorized(request.headers().get(header::AUTHORIZATION), expected)
    {
        let mut response = json_response(
            StatusCode::UNAUTHORIZED,
            json!({"error": "a valid bearer token is required"}),
        );
        response
            .headers_mut()
            .insert(header::WWW_AUTHENTICATE, HeaderValue::from_static("Bearer"));
        return response;
    }
    let response = route(&site, &method, &path).await;
    tracing::info!(target: "admin", method = %method, path = %path, status = response.status().as_u16());
    response
}

async fn route(site: &Site, method: &Method, path: &str) -> Response<Body> {
    let segments: Vec<&str> = path.trim_matches('/').split('/').collect();
    match (method, segments.as_slice()) {
        (&Method::GET, ["health"]) => json_response(StatusCode::OK, json!({"status": "ok"})),
        (&Method::GET, ["mounts"]) => {
            let mounts: Vec<Value> = site.mounts_in_order().iter().map(|m| describe(m)).collect();
            json_response(StatusCode::OK, json!({"mounts": mounts}))
        }
        (&Method::GET, ["metrics"]) => metrics(site),
        (&Method::POST, ["mounts", name, action @ ("enable" | "disable")]) => match site.mount(name) {
            Ok(mount) => {
                mount.set_enabled(*action == "enable");
                tracing::info!(mount = %mount.name, "{action}d through the control API");
                json_response(StatusCode::OK, describe(mount))
            }
            Err(error) => control_error(&error),
        },
        (&Method::POST, ["mounts", name, "reload"]) => {
            let started = Instant::now();
            match site.reload(name).await {
                Ok(version) => {
                    let mut body = describe(site.mount(name).expect("just reloaded"));
                    body["reloaded"] = json!(true);
                    body["version"] = json!(version.key);
                    body["duration_ms"] = json!(started.elapsed().as_millis() as u64);
                    json_response(StatusCode::OK, body)
                }
                Err(error) => control_error(&error),
            }
        }
        (_, ["health" | "mounts" | "metrics"] | ["mounts", _, "enable" | "disable" | "reload"]) => {
            let mut response = json_response(
                StatusCode::METHOD_NOT_ALLOWED,
                json!({"error": "method not allowed"}),
            );
            let allow = if segments.len() == 1 { "GET" } else { "POST" };
            response
                .headers_mut()
                .insert(header::ALLOW, HeaderValue::from_static(allow));
            response
        }
        _ => json_response(
            StatusCode::NOT_FOUND,
            json!({"error": format!("no such endpoint: {path}")}),
        ),
    }
}

/// One mount as `GET /mounts` shows it.
fn describe(mount: &Mount) -> Value {
    let mut value = json!({
        "name": mount.name,
        "path": mount.path,
        "kind": mount.kind(),
        "state": if mount.is_enabled() { "enabled" } else { "disabled" },
        "requests": mount.stats.requests(),
        "errors": mount.stats.errors(),
    });
    if let MountTarget::App(app) = &mount.target {
        let current = app.current();
        value["isolation"] = json!(app.settings.isolation.to_string());
        value["instances"] = json!(app.settings.instances);
        value["live_instances"] = json!(current.pool.live_instances());
        value["version"] = json!(current.key);
        value["last_error"] = json!(app.last_error());
    }
    value
}

fn metrics(site: &Site) -> Response<Body> {
    let mut out = String::from(METRICS_HEADER);
    for mount in site.mounts_in_order() {
        mount.stats.render(&mount.name, &mut out);
        let label = &mount.name;
        out.push_str(&format!(
            "terrarium_mount_enabled{{mount=\"{label}\"}} {}\n",
            u8::from(mount.is_enabled())
        ));
        if let MountTarget::App(app) = &mount.target {
            let live = app.current().pool.live_instances();
            out.push_str(&format!("terrarium_instances_live{{mount=\"{label}\"}} {live}\n"));
        }
    }
    let mut response = Response::new(responses::full(out));
    response.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/plain; version=0.0.4; charset=utf-8"),
    );
    response
}

fn control_error(error: &ControlError) -> Response<Body> {
    let status = match error {
        ControlError::NoSuchMount(_) => StatusCode::NOT_FOUND,
        ControlError::NotAnApp(_) => StatusCode::CONFLICT,
        ControlError::ReloadFailed(_) => StatusCode::INTERNAL_SERVER_ERROR,
    };
    json_response(status, json!({"error": error.to_string()}))
}

fn json_response(status: StatusCode, body: Value) -> Response<Body> {
    let mut response = Response::new(responses::full(body.to_string()));
    *response.status_mut() = status;
    response
        .headers_mut()
        .insert(header::CONTENT_TYPE, HeaderValue::from_static("application/json"));
    response
}

/// Compares the bearer token in constant time.
fn authorized(header: Option<&HeaderValue>, expected: &str) -> bool {
    let Some(given) = header
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
    else {
        return false;
    };
    let (given, expected) = (given.trim().as_bytes(), expected.as_bytes());
    given.len() == expected.len() && given.iter().zip(expected).fold(0u8, |acc, (a, b)| acc | (a ^ b)) == 0
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
        assert!(!authorized(Some(&header("Basic s3cret")), "s3cret"));
        assert!(!authorized(None, "s3cret"));
    }
}
