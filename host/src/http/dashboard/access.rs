//! Who may use the admin listener, and whether a browser's request comes
//! from the dashboard itself. Pure: no I/O.
//!
//! Three ways in:
//! - `Authorization: Bearer <admin_token>`, as scripts and `terrarium app`
//!   use it. A browser never sends it on its own, so it needs no CSRF check.
//! - The dashboard's session cookie, got by typing the token into the login
//!   form: `<expires>.<id>.<mac>`, signed (see [`crate::sessions::cookie`])
//!   with a key drawn at start and mixed with the token, so a restart or a
//!   new token ends every session. `HttpOnly`, `SameSite=Strict`.
//! - No token configured: the listener is open, as it always was.
//!
//! A browser may be made to send a request by any page it visits. So every
//! change asked for with the cookie, and every change a browser asks for on
//! an open listener (it names an `Origin` or a `Sec-Fetch-Site`), must carry
//! the page's CSRF token (`X-CSRF-Token`, or a form's `csrf` field), and is
//! refused when it comes from another origin.

use std::{
    sync::OnceLock,
    time::{Duration, SystemTime, UNIX_EPOCH},
};

use http::{HeaderMap, HeaderValue, header};
use sha2::{Digest, Sha256};

use crate::sessions::cookie;

/// The dashboard's session cookie.
pub const SESSION_COOKIE: &str = "terrarium_admin";
/// How long a dashboard login lasts.
pub const SESSION_LIFETIME: Duration = Duration::from_secs(12 * 60 * 60);
/// The header the dashboard's script sends its CSRF token in.
pub const CSRF_HEADER: &str = "x-csrf-token";

/// The admin listener's keys for one configured token (or none).
pub struct Keys {
    secret: String,
    /// The CSRF token's subject on an open listener (no session to bind it to).
    open_subject: &'static str,
}

/// Who a request comes from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Caller {
    /// A client with the bearer token.
    Bearer,
    /// A dashboard login: the session's id.
    Session(String),
    /// Anyone: no token is configured.
    Open,
    /// A token is configured and the request has neither it nor a login.
    Stranger,
}

impl Keys {
    /// The keys for `token`: its sessions and CSRF tokens are good in this
    /// process only, and only while the token stays the same.
    pub fn new(token: Option<&str>) -> Self {
        static PROCESS_SECRET: OnceLock<String> = OnceLock::new();
        static OPEN_SUBJECT: OnceLock<String> = OnceLock::new();
        let process = PROCESS_SECRET.get_or_init(cookie::new_id);
        Self {
            secret: format!("{process}:{}", token.unwrap_or("")),
            open_subject: OPEN_SUBJECT.get_or_init(cookie::new_id),
        }
    }

    /// A new login's cookie value, good until `now + SESSION_LIFETIME`.
    pub fn new_session(&self, now: SystemTime) -> String {
        let expires = unix_seconds(now + SESSION_LIFETIME);
        let signed = cookie::sign(&self.secret, &session_namespace(expires), &cookie::new_id());
        format!("{expires}.{signed}")
    }

    /// The session id in a cookie value this process signed and that has
    /// not expired at `now`.
    pub fn session<'v>(&self, value: &'v str, now: SystemTime) -> Option<&'v str> {
        let (expires, signed) = value.split_once('.')?;
        let expires: u64 = expires.parse().ok()?;
        if expires <= unix_seconds(now) {
            return None;
        }
        cookie::verify(
            std::slice::from_ref(&self.secret),
            &session_namespace(expires),
            signed,
        )
    }

    /// Who sent a request with these headers, when the listener's token is
    /// `token`.
    pub fn caller(&self, token: Option<&str>, headers: &HeaderMap, now: SystemTime) -> Caller {
        let Some(token) = token else {
            return Caller::Open;
        };
        if bearer_matches(headers.get(header::AUTHORIZATION), token) {
            return Caller::Bearer;
        }
        match session_cookie(headers).and_then(|value| self.session(value, now)) {
            Some(id) => Caller::Session(id.to_owned()),
            None => Caller::Stranger,
        }
    }

    /// The CSRF token of the pages shown to `caller`.
    pub fn csrf_token(&self, caller: &Caller) -> String {
        cookie::sign(&self.secret, "csrf", self.csrf_subject(caller))
    }

    /// Whether `given` is `caller`'s CSRF token.
    pub fn csrf_valid(&self, caller: &Caller, given: &str) -> bool {
        cookie::verify(std::slice::from_ref(&self.secret), "csrf", given) == Some(self.csrf_subject(caller))
    }

    fn csrf_subject<'c>(&'c self, caller: &'c Caller) -> &'c str {
        match caller {
            Caller::Session(id) => id,
            _ => self.open_subject,
        }
    }
}

/// Whether a change asked for by `caller` with these headers must carry the
/// CSRF token: always with a login's cookie; on an open listener, when a
/// browser sent it.
pub fn needs_csrf(caller: &Caller, headers: &HeaderMap) -> bool {
    match caller {
        Caller::Session(_) => true,
        Caller::Open => from_browser(headers),
        Caller::Bearer | Caller::Stranger => false,
    }
}

/// Whether a browser sent the request: browsers name the `Origin` of every
/// POST, and the `Sec-Fetch-Site` of every request.
pub fn from_browser(headers: &HeaderMap) -> bool {
    headers.contains_key(header::ORIGIN) || headers.contains_key("sec-fetch-site")
}

/// Whether a browser sent the request on behalf of another site: its
/// `Sec-Fetch-Site` says so, or its `Origin` names another host than the
/// one it was sent to.
pub fn cross_origin(headers: &HeaderMap) -> bool {
    if let Some(site) = headers.get("sec-fetch-site")
        && !matches!(site.as_bytes(), b"same-origin" | b"none")
    {
        return true;
    }
    let Some(origin) = headers.get(header::ORIGIN) else {
        return false;
    };
    let host = headers.get(header::HOST).map(HeaderValue::as_bytes);
    let origin_host = origin
        .to_str()
        .ok()
        .and_then(|o| o.split_once("://"))
        .map(|(_, authority)| authority.as_bytes());
    origin_host.is_none() || origin_host != host
}

/// The dashboard's session cookie among the request's cookies.
pub fn session_cookie(headers: &HeaderMap) -> Option<&str> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(name, _)| *name == SESSION_COOKIE)
        .map(|(_, value)| value)
}

/// The request's headers without the dashboard's session cookie, when a
/// `Cookie` header carries it. Browsers send a host's cookies to every port
/// of it, so an app on the site's listener would otherwise see the login of
/// the admin listener beside it.
pub fn without_session_cookie(headers: &HeaderMap) -> Option<HeaderMap> {
    let marker = format!("{SESSION_COOKIE}=");
    let carries = |value: &HeaderValue| {
        value
            .as_bytes()
            .windows(marker.len())
            .any(|window| window == marker.as_bytes())
    };
    if !headers.get_all(header::COOKIE).iter().any(carries) {
        return None;
    }
    let mut scrubbed = headers.clone();
    scrubbed.remove(header::COOKIE);
    for value in headers.get_all(header::COOKIE) {
        let kept: Vec<&[u8]> = value
            .as_bytes()
            .split(|&b| b == b';')
            .filter(|pair| {
                let name = pair.split(|&b| b == b'=').next().unwrap_or_default();
                name.trim_ascii() != SESSION_COOKIE.as_bytes()
            })
            .collect();
        let joined = kept.join(&b';');
        if !joined.trim_ascii().is_empty()
            && let Ok(value) = HeaderValue::from_bytes(joined.trim_ascii())
        {
            scrubbed.append(header::COOKIE, value);
        }
    }
    Some(scrubbed)
}

/// The `Set-Cookie` value that logs the browser in with `session`.
pub fn login_cookie(session: &str) -> String {
    format!(
        "{SESSION_COOKIE}={session}; Path=/; HttpOnly; SameSite=Strict; Max-Age={}",
        SESSION_LIFETIME.as_secs()
    )
}

/// The `Set-Cookie` value that logs the browser out.
pub fn logout_cookie() -> String {
    format!("{SESSION_COOKIE}=; Path=/; HttpOnly; SameSite=Strict; Max-Age=0")
}

/// Whether an `Authorization` header carries `Bearer <expected>`.
pub fn bearer_matches(header: Option<&HeaderValue>, expected: &str) -> bool {
    let given = header
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
        .map(str::trim);
    given.is_some_and(|given| token_matches(given, expected))
}

/// Whether `given` is the token. The two are compared as SHA-256 digests,
/// byte for byte to the end, so neither the time taken nor an early return
/// tells how much of the token (or its length) was right.
pub fn token_matches(given: &str, expected: &str) -> bool {
    let digest = |token: &str| Sha256::digest(token.as_bytes());
    digest(given)
        .iter()
        .zip(digest(expected).iter())
        .fold(0u8, |acc, (a, b)| acc | (a ^ b))
        == 0
}

fn session_namespace(expires: u64) -> String {
    format!("admin-session@{expires}")
}

fn unix_seconds(at: SystemTime) -> u64 {
    at.duration_since(UNIX_EPOCH).map_or(0, |d| d.as_secs())
}

#[cfg(test)]
mod tests {
    use super::*;

    const TOKEN: &str = "let-me-in-please-now";

    fn headers(pairs: &[(&'static str, &str)]) -> HeaderMap {
        let mut map = HeaderMap::new();
        for (name, value) in pairs {
            map.append(*name, HeaderValue::from_str(value).unwrap());
        }
        map
    }

    #[test]
    fn bearer_tokens() {
        let header = |v: &str| HeaderValue::from_str(v).unwrap();
        assert!(bearer_matches(Some(&header("Bearer s3cret")), "s3cret"));
        assert!(!bearer_matches(Some(&header("Bearer s3cre")), "s3cret"));
        assert!(!bearer_matches(Some(&header("Bearer s3creT")), "s3cret"));
        assert!(!bearer_matches(Some(&header("Bearer s3cret-and-more")), "s3cret"));
        assert!(!bearer_matches(Some(&header("Basic s3cret")), "s3cret"));
        assert!(!bearer_matches(Some(&header("Bearer ")), "s3cret"));
        assert!(!bearer_matches(None, "s3cret"));
    }

    #[test]
    fn a_login_lasts_its_lifetime_for_its_token_only() {
        let keys = Keys::new(Some(TOKEN));
        let now = SystemTime::now();
        let value = keys.new_session(now);
        let with = |value: &str| headers(&[("cookie", &format!("theme=dark; {SESSION_COOKIE}={value}"))]);
        let Caller::Session(id) = keys.caller(Some(TOKEN), &with(&value), now) else {
            panic!("a fresh login is a session");
        };
        assert_eq!(id.len(), cookie::ID_LEN);
        let later = now + SESSION_LIFETIME + Duration::from_secs(1);
        assert_eq!(keys.caller(Some(TOKEN), &with(&value), later), Caller::Stranger);
        let other_token = Keys::new(Some("another-token"));
        assert_eq!(
            other_token.caller(Some("another-token"), &with(&value), now),
            Caller::Stranger
        );
        // A longer life written into the cookie breaks its signature.
        let (expires, rest) = value.split_once('.').unwrap();
        let stretched = format!("{}.{rest}", expires.parse::<u64>().unwrap() + 86_400);
        assert_eq!(keys.caller(Some(TOKEN), &with(&stretched), now), Caller::Stranger);
        for junk in ["", "1.2.3", "abc", "99999999999.x.y"] {
            assert_eq!(
                keys.caller(Some(TOKEN), &with(junk), now),
                Caller::Stranger,
                "{junk}"
            );
        }
    }

    #[test]
    fn callers() {
        let keys = Keys::new(Some(TOKEN));
        let now = SystemTime::now();
        let bearer = headers(&[("authorization", &format!("Bearer {TOKEN}"))]);
        assert_eq!(keys.caller(Some(TOKEN), &bearer, now), Caller::Bearer);
        assert_eq!(keys.caller(Some(TOKEN), &HeaderMap::new(), now), Caller::Stranger);
        assert_eq!(keys.caller(None, &HeaderMap::new(), now), Caller::Open);
    }

    #[test]
    fn csrf_tokens_are_bound_to_their_session() {
        let keys = Keys::new(Some(TOKEN));
        let one = Caller::Session(cookie::new_id());
        let two = Caller::Session(cookie::new_id());
        let token = keys.csrf_token(&one);
        assert!(keys.csrf_valid(&one, &token));
        assert!(!keys.csrf_valid(&two, &token));
        assert!(!keys.csrf_valid(&Caller::Open, &token));
        assert!(!keys.csrf_valid(&one, ""));
        let open = Keys::new(None);
        assert!(open.csrf_valid(&Caller::Open, &open.csrf_token(&Caller::Open)));
        assert!(!open.csrf_valid(&Caller::Open, &keys.csrf_token(&Caller::Open)));
    }

    #[test]
    fn which_changes_need_the_csrf_token() {
        let session = Caller::Session(cookie::new_id());
        let browser = headers(&[("origin", "http://127.0.0.1:9000")]);
        let script = HeaderMap::new();
        let table = [
            (&session, &script, true),
            (&session, &browser, true),
            (&Caller::Open, &browser, true),
            (&Caller::Open, &script, false),
            (&Caller::Bearer, &browser, false),
        ];
        for (caller, headers, needed) in table {
            assert_eq!(needs_csrf(caller, headers), needed, "{caller:?} {headers:?}");
        }
    }

    #[test]
    fn origins() {
        let cases: [(&[(&'static str, &str)], bool); 7] = [
            (&[("host", "127.0.0.1:9000")], false),
            (
                &[("host", "127.0.0.1:9000"), ("origin", "http://127.0.0.1:9000")],
                false,
            ),
            (
                &[("host", "127.0.0.1:9000"), ("origin", "http://evil.example")],
                true,
            ),
            (&[("host", "127.0.0.1:9000"), ("origin", "null")], true),
            (
                &[("host", "127.0.0.1:9000"), ("sec-fetch-site", "same-origin")],
                false,
            ),
            (
                &[("host", "127.0.0.1:9000"), ("sec-fetch-site", "cross-site")],
                true,
            ),
            (
                &[("host", "127.0.0.1:9000"), ("sec-fetch-site", "same-site")],
                true,
            ),
        ];
        for (pairs, cross) in cases {
            assert_eq!(cross_origin(&headers(pairs)), cross, "{pairs:?}");
        }
    }

    #[test]
    fn the_session_cookie_among_others() {
        let map = headers(&[
            ("cookie", "a=1"),
            ("cookie", &format!("b=2; {SESSION_COOKIE}=xyz")),
        ]);
        assert_eq!(session_cookie(&map), Some("xyz"));
        assert_eq!(
            session_cookie(&headers(&[("cookie", "terrarium_admin_x=1")])),
            None
        );
        assert!(login_cookie("v").contains("HttpOnly; SameSite=Strict"));
    }

    #[test]
    fn apps_never_see_the_session_cookie() {
        assert!(without_session_cookie(&headers(&[("cookie", "a=1; b=2")])).is_none());
        let map = headers(&[
            ("cookie", &format!("a=1; {SESSION_COOKIE}=secret; b=2")),
            ("cookie", &format!("{SESSION_COOKIE}=secret")),
            ("accept", "*/*"),
        ]);
        let scrubbed = without_session_cookie(&map).unwrap();
        let cookies: Vec<_> = scrubbed.get_all("cookie").iter().collect();
        assert_eq!(cookies, ["a=1; b=2"]);
        assert_eq!(scrubbed["accept"], "*/*");
    }
}
