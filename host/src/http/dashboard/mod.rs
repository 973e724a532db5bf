//! The dashboard: one self-contained page on the admin listener that lists
//! every mount with its health and switches it on and off.
//!
//! ```text
//! GET  /                          the page (to a stranger, the login form alone)
//! GET  /dashboard/live            its live part (summary and table), which its
//!                                 script fetches again each second
//! GET  /dashboard/dashboard.css   its style; dashboard.js its script (no CDN, nothing external)
//! POST /dashboard/login           form field `token`: the session cookie, and back to /
//! POST /dashboard/logout          the cookie cleared
//! ```
//! Its buttons post to the control API's own endpoints
//! (`/mounts/{name}/disable`, `enable`, `reload`) with the page's CSRF
//! token; see [`access`] for who may do what.

pub mod access;
mod render;

use std::{
    collections::HashMap,
    time::{Duration, SystemTime},
};

use bytes::Bytes;
use http::{HeaderValue, Method, Response, StatusCode, header, request::Parts};

use self::{
    access::{Caller, Keys},
    render::{Pending, Row},
};
use super::{
    admin,
    responses::{self, Body},
};
use crate::{api::ChangeInfo, site::Site};

const STYLE: &str = include_str!("dashboard.css");
const SCRIPT: &str = include_str!("dashboard.js");
/// How long a wrong token waits for its answer, to slow down guessing.
const REFUSAL_DELAY: Duration = Duration::from_millis(250);

/// The dashboard's answer to an admin request, or `None` when the request
/// is for the control API.
pub async fn answer(
    site: &Site,
    keys: &Keys,
    caller: &Caller,
    parts: &Parts,
    body: &Bytes,
) -> Option<Response<Body>> {
    let response = match (&parts.method, parts.uri.path()) {
        (&Method::GET | &Method::HEAD, "/") => match caller {
            Caller::Stranger => html(StatusCode::OK, render::login(&site_name(site), false)),
            _ => {
                let csrf = keys.csrf_token(caller);
                let live = live(site, &csrf);
                let signed_in = matches!(caller, Caller::Session(_));
                html(
                    StatusCode::OK,
                    render::page(&site_name(site), &csrf, &live, signed_in),
                )
            }
        },
        (&Method::GET | &Method::HEAD, "/dashboard/live") => match caller {
            Caller::Stranger => responses::plain(StatusCode::UNAUTHORIZED, "401 Unauthorized: sign in again"),
            _ => html(StatusCode::OK, live(site, &keys.csrf_token(caller))),
        },
        (&Method::GET | &Method::HEAD, "/dashboard/dashboard.css") => asset(STYLE, "text/css"),
        (&Method::GET | &Method::HEAD, "/dashboard/dashboard.js") => asset(SCRIPT, "text/javascript"),
        (_, "/favicon.ico") => responses::plain(StatusCode::NOT_FOUND, "404 Not Found"),
        (&Method::POST, "/dashboard/login") => login(site, keys, parts, body).await,
        (&Method::POST, "/dashboard/logout") => {
            let mut response = see_other();
            set_cookie(&mut response, &access::logout_cookie());
            response
        }
        (_, "/" | "/dashboard/live" | "/dashboard/dashboard.css" | "/dashboard/dashboard.js") => {
            not_allowed("GET, HEAD")
        }
        (_, "/dashboard/login" | "/dashboard/logout") => not_allowed("POST"),
        _ => return None,
    };
    Some(response)
}

/// `POST /dashboard/login`: the token typed into the form, checked as the
/// bearer token is; right, a session cookie; wrong, the form again, a
/// moment later.
async fn login(site: &Site, keys: &Keys, parts: &Parts, body: &Bytes) -> Response<Body> {
    if access::cross_origin(&parts.headers) {
        tracing::warn!(target: "admin", origin = ?parts.headers.get(header::ORIGIN), "dashboard: refused a login posted from another site");
        return responses::plain(StatusCode::FORBIDDEN, "403 Forbidden: a login from another site");
    }
    let Some(expected) = site.config.server.admin_token.as_ref() else {
        return see_other();
    };
    let given = form_field(body, "token").unwrap_or_default();
    if access::token_matches(&given, expected.expose()) {
        tracing::info!(target: "admin", "dashboard: signed in");
        let mut response = see_other();
        set_cookie(
            &mut response,
            &access::login_cookie(&keys.new_session(SystemTime::now())),
        );
        return response;
    }
    tracing::warn!(target: "admin", "dashboard: refused a login with a wrong token");
    tokio::time::sleep(REFUSAL_DELAY).await;
    html(StatusCode::UNAUTHORIZED, render::login(&site_name(site), true))
}

/// The value of `name` in an `application/x-www-form-urlencoded` body.
pub fn form_field(body: &[u8], name: &str) -> Option<String> {
    form_urlencoded::parse(body)
        .find(|(key, _)| key == name)
        .map(|(_, value)| value.into_owned())
}

fn live(site: &Site, csrf: &str) -> String {
    let table = site.mounts();
    let mounts: Vec<_> = table
        .in_order
        .iter()
        .map(|mount| admin::describe(mount))
        .collect();
    // One look at the changes: those of live mounts go on their rows, the
    // rest are mounts not live yet.
    let mut changes: HashMap<String, ChangeInfo> = site
        .changes()
        .into_iter()
        .map(|(name, change)| (name, admin::change_info(&change)))
        .collect();
    let row_changes: Vec<_> = mounts.iter().map(|mount| changes.remove(&mount.name)).collect();
    let rows: Vec<Row<'_>> = mounts
        .iter()
        .zip(&row_changes)
        .map(|(mount, change)| Row {
            mount,
            change: change.as_ref(),
        })
        .collect();
    let mut new_mounts: Vec<_> = changes.into_iter().collect();
    new_mounts.sort_by(|a, b| a.0.cmp(&b.0));
    let pending: Vec<Pending<'_>> = new_mounts
        .iter()
        .map(|(name, change)| Pending { name, change })
        .collect();
    render::live(&rows, &pending, &admin::budget_info(site), csrf)
}

fn site_name(site: &Site) -> String {
    site.config.site_dir.file_name().map_or_else(
        || site.config.site_dir.display().to_string(),
        |name| name.to_string_lossy().into_owned(),
    )
}

/// An HTML answer, never cached, never framed, running only the page's own
/// script. (`Referrer-Policy: same-origin`, not `no-referrer`: with the
/// latter a browser names the `Origin` of the page's own forms as "null",
/// and the origin check could not tell them from another site's.)
fn html(status: StatusCode, page: String) -> Response<Body> {
    let mut response = Response::new(responses::full(page));
    *response.status_mut() = status;
    let headers = response.headers_mut();
    headers.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/html; charset=utf-8"),
    );
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    headers.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static(
            "default-src 'self'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'",
        ),
    );
    headers.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    headers.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    headers.insert(header::REFERRER_POLICY, HeaderValue::from_static("same-origin"));
    response
}

fn asset(text: &'static str, content_type: &'static str) -> Response<Body> {
    let mut response = Response::new(responses::full(text));
    let headers = response.headers_mut();
    headers.insert(header::CONTENT_TYPE, HeaderValue::from_static(content_type));
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-cache"));
    headers.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    response
}

/// Back to the page after a form's post.
pub fn see_other() -> Response<Body> {
    responses::redirect(StatusCode::SEE_OTHER, "/")
}

fn set_cookie(response: &mut Response<Body>, cookie: &str) {
    if let Ok(value) = HeaderValue::from_str(cookie) {
        response.headers_mut().append(header::SET_COOKIE, value);
    }
}

fn not_allowed(allow: &'static str) -> Response<Body> {
    let mut response = responses::plain(StatusCode::METHOD_NOT_ALLOWED, "405 Method Not Allowed");
    response
        .headers_mut()
        .insert(header::ALLOW, HeaderValue::from_static(allow));
    response
}
