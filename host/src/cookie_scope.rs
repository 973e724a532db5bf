//! Cookies kept to the mount that sets them.
//!
//! An app may set cookies for its own mount only: a `Set-Cookie` that names
//! another mount's session cookie, or whose `Path` points elsewhere on the
//! site, would let one tenant log another's users out or fix their session
//! id. Such a header is dropped before the response leaves. A `Path` above
//! the mount (`Path=/`, the default of most frameworks, from an app mounted
//! at `/blog`) is narrowed to the mount's path, as a reverse proxy's cookie
//! path rewriting does: the app works under its prefix unchanged, and its
//! cookie never reaches its neighbours. A mount's `share_cookies = true`
//! lets every cookie through as the app wrote it. A cookie without a `Path`
//! gets the browser's default, the request's own folder: inside the mount.
//! On a site whose mounts serve several hosts, a `Domain` attribute is
//! removed, so the cookie stays on the host that set it: one for a parent
//! domain would reach every tenant's host under it. No app may set the
//! dashboard's login cookie (browsers send it to every port of the host).

use std::borrow::Cow;

use crate::http::dashboard::access::SESSION_COOKIE;

/// What becomes of one `Set-Cookie` header.
#[derive(Debug, PartialEq, Eq)]
pub enum Verdict<'a> {
    /// It stays as it is.
    Keep,
    /// It stays, with its `Path` narrowed to the mount's (the new value).
    Narrow(Cow<'a, str>),
    /// It is dropped, for this reason.
    Drop(String),
}

/// The cookies one mount may set.
#[derive(Debug, Clone)]
pub struct CookieScope {
    /// The mount's path, without a trailing '/' ("" for the whole site).
    mount_path: String,
    /// The session cookie names of the other mounts.
    foreign_names: Vec<String>,
    /// Whether a `Domain` attribute is removed: on a site of several
    /// hosts, a cookie for a parent domain would reach other tenants.
    host_only: bool,
}

impl CookieScope {
    /// The scope of the mount at `mount_path`, whose neighbours' session
    /// cookies are named `foreign_names`; `host_only` when the site serves
    /// several hosts, so that every cookie stays on the host that set it.
    pub fn new(mount_path: &str, foreign_names: Vec<String>, host_only: bool) -> Self {
        Self {
            mount_path: mount_path.trim_end_matches('/').to_owned(),
            foreign_names,
            host_only,
        }
    }

    /// What becomes of the `Set-Cookie` header value `set_cookie`.
    pub fn judge<'a>(&self, set_cookie: &'a str) -> Verdict<'a> {
        let name = set_cookie
            .split(';')
            .next()
            .unwrap_or("")
            .split('=')
            .next()
            .unwrap_or("")
            .trim();
        if self.foreign_names.iter().any(|foreign| foreign == name) {
            return Verdict::Drop(format!("it names another mount's session cookie ({name})"));
        }
        if name == SESSION_COOKIE {
            return Verdict::Drop(format!("it names the dashboard's login cookie ({name})"));
        }
        let narrow_path = match attribute(set_cookie, "path") {
            Some(path) if !self.mount_path.is_empty() && path.starts_with('/') && !self.holds(path) => {
                if !self.is_below(path) {
                    return Verdict::Drop(format!(
                        "cookie {name} has Path={path}, elsewhere than the mount's path {}",
                        self.mount_path
                    ));
                }
                true
            }
            _ => false,
        };
        let drop_domain = self.host_only && attribute(set_cookie, "domain").is_some();
        if narrow_path || drop_domain {
            Verdict::Narrow(Cow::Owned(self.rewrite(set_cookie, narrow_path, drop_domain)))
        } else {
            Verdict::Keep
        }
    }

    /// Whether the cookie path `path` lies inside the mount.
    fn holds(&self, path: &str) -> bool {
        path.strip_prefix(self.mount_path.as_str())
            .is_some_and(|rest| rest.is_empty() || rest.starts_with('/'))
    }

    /// Whether the mount lies below the cookie path `path` ("/", or a
    /// folder the mount's path is in).
    fn is_below(&self, path: &str) -> bool {
        let folder = path.trim_end_matches('/');
        self.mount_path
            .strip_prefix(folder)
            .is_some_and(|rest| rest.starts_with('/'))
    }

    /// `set_cookie` with every `Path` attribute's value made the mount's
    /// path (`narrow_path`), and without its `Domain` (`drop_domain`).
    fn rewrite(&self, set_cookie: &str, narrow_path: bool, drop_domain: bool) -> String {
        let mut attributes = set_cookie.split(';');
        let mut rewritten = attributes.next().unwrap_or("").to_owned();
        for attribute in attributes {
            let key = attribute.split_once('=').map(|(key, _)| key);
            match key {
                Some(key) if narrow_path && key.trim().eq_ignore_ascii_case("path") => {
                    rewritten.push_str(&format!(";{key}={}", self.mount_path));
                }
                Some(key) if drop_domain && key.trim().eq_ignore_ascii_case("domain") => {}
                _ => {
                    rewritten.push(';');
                    rewritten.push_str(attribute);
                }
            }
        }
        rewritten
    }
}

/// The value of the cookie attribute `key` (case-insensitive), if set.
fn attribute<'a>(set_cookie: &'a str, key: &str) -> Option<&'a str> {
    set_cookie.split(';').skip(1).find_map(|attribute| {
        let (name, value) = attribute.split_once('=')?;
        name.trim().eq_ignore_ascii_case(key).then(|| value.trim())
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cookies_are_kept_narrowed_to_the_mount_or_dropped() {
        let blog = CookieScope::new("/blog", vec!["tsid_shop".to_owned()], false);
        let nested = CookieScope::new("/apps/blog", Vec::new(), false);
        let root = CookieScope::new("/", vec!["tsid_blog".to_owned()], false);
        let tenant = CookieScope::new("/", Vec::new(), true);
        let tenant_blog = CookieScope::new("/blog", Vec::new(), true);
        let keep = || Verdict::Keep;
        let narrow = |value: &'static str| Verdict::Narrow(Cow::Borrowed(value));
        let cases: Vec<(&CookieScope, &str, Verdict<'_>)> = vec![
            (&blog, "theme=dark", keep()),
            (&blog, "theme=dark; Path=/blog", keep()),
            (&blog, "theme=dark; path=/blog/posts; HttpOnly", keep()),
            (&blog, "theme=dark; Path=/blog/", keep()),
            (&blog, "theme=dark; Path=relative", keep()),
            (&blog, "tsid_blog=mine", keep()),
            (
                &root,
                "terrarium_admin=forged; Path=/",
                Verdict::Drop("it names the dashboard's login cookie (terrarium_admin)".to_owned()),
            ),
            (&blog, "theme=dark; Path=/", narrow("theme=dark; Path=/blog")),
            (
                &blog,
                "a=1; HttpOnly; path=/ ; SameSite=Lax",
                narrow("a=1; HttpOnly; path=/blog; SameSite=Lax"),
            ),
            (&nested, "a=1; Path=/apps", narrow("a=1; Path=/apps/blog")),
            (&nested, "a=1; Path=/apps/", narrow("a=1; Path=/apps/blog")),
            (&root, "theme=dark; Path=/anything", keep()),
            (&root, "sso=1; Domain=example.com", keep()),
            (&tenant, "theme=dark; Path=/", keep()),
            (
                &tenant,
                "sso=1; Domain=.tenants.example.com; Path=/; HttpOnly",
                narrow("sso=1; Path=/; HttpOnly"),
            ),
            (
                &tenant_blog,
                "a=1; domain=example.com; Path=/",
                narrow("a=1; Path=/blog"),
            ),
        ];
        for (scope, cookie, verdict) in cases {
            assert_eq!(scope.judge(cookie), verdict, "{scope:?} {cookie}");
        }
        for (scope, cookie) in [
            (&blog, "theme=dark; Path=/shop"),
            (&blog, "theme=dark; Path=/blogger"),
            (&blog, "theme=dark;Path = /shop "),
            (&nested, "a=1; Path=/app"),
            (&blog, "tsid_shop=forged; Path=/blog"),
            (&blog, " tsid_shop = forged"),
            (&root, "tsid_blog=x; Path=/blog"),
        ] {
            assert!(
                matches!(scope.judge(cookie), Verdict::Drop(_)),
                "{scope:?} {cookie}"
            );
        }
    }
}
