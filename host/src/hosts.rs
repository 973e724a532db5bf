//! Virtual hosts: the host names a mount claims (`host`, `hosts`), a
//! request's host made canonical, and the router that picks the mount
//! table of the host a request names. Pure: no I/O.
//!
//! Names compare in their canonical form: ASCII (IDNA names in their
//! punycode form, `bücher.example` as `xn--bcher-kva.example`), lower case,
//! without a trailing dot. A pattern without a port matches the name on any
//! port; one with a port matches only that port (a request that names no
//! port is on its scheme's default port).
//!
//! A wildcard `*.tenants.example.com` stands for exactly one label, as in a
//! TLS certificate: it matches `a.tenants.example.com`, not
//! `tenants.example.com` nor `x.a.tenants.example.com`. The most specific
//! claim wins: the exact name on the request's port, the exact name on any
//! port, the wildcard on the port, the wildcard on any port; mounts that
//! claim no host (the default site) serve every other host.

use std::{borrow::Cow, collections::HashMap, fmt, sync::atomic::AtomicU64};

use crate::mounts::MountTable;

/// The longest host name accepted (RFC 1035: 253 characters).
const MAX_NAME: usize = 253;
/// The longest label accepted (RFC 1035).
const MAX_LABEL: usize = 63;

/// Why a host name was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct HostError(String);

/// A host name with an optional port, canonical: what a `Host` header or
/// an absolute-form request's authority names.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RequestHost<'a> {
    /// The name, canonical (an IPv6 address keeps its brackets).
    pub name: Cow<'a, str>,
    /// The port, when one was named.
    pub port: Option<u16>,
}

impl<'a> RequestHost<'a> {
    /// Parses `host[:port]`; None for an empty value (a request that names
    /// no host), an error for anything that is not a host name or address.
    pub fn parse(authority: &'a str) -> Result<Option<Self>, HostError> {
        if authority.is_empty() {
            return Ok(None);
        }
        if authority.contains('@') {
            return Err(HostError(format!(
                "the host {authority:?} carries user information, which HTTP forbids"
            )));
        }
        let (name, port) = split_port(authority)?;
        let name = canonical_name(name).map_err(|why| HostError(format!("the host {authority:?} {why}")))?;
        Ok(Some(Self { name, port }))
    }
}

impl RequestHost<'_> {
    /// The same host, owning its name.
    pub fn into_owned(self) -> RequestHost<'static> {
        RequestHost {
            name: Cow::Owned(self.name.into_owned()),
            port: self.port,
        }
    }
}

impl fmt::Display for RequestHost<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.name)?;
        if let Some(port) = self.port {
            write!(f, ":{port}")?;
        }
        Ok(())
    }
}

/// A host claimed by a mount: `blog.example.com`, `*.tenants.example.com`,
/// `example.com:8080`.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct ServedHost {
    /// Whether the first label is `*`.
    wildcard: bool,
    /// The canonical name (without the `*.` of a wildcard).
    name: String,
    /// The port it is claimed on; any port when None.
    port: Option<u16>,
}

impl ServedHost {
    /// The port it is claimed on; None for any.
    pub fn port(&self) -> Option<u16> {
        self.port
    }

    /// Whether it claims the canonical host `name` on any port: the name
    /// itself, or for a wildcard a name one label below it.
    pub fn claims_name(&self, name: &str) -> bool {
        if self.wildcard {
            name.split_once('.')
                .is_some_and(|(_, parent)| parent == self.name)
        } else {
            name == self.name
        }
    }

    /// A mount name made of the pattern: `blog.example.com:8080` →
    /// `blog-example-com-8080` (a wildcard's `*.` left out).
    pub fn default_mount_name(&self) -> String {
        let mut name: String = self
            .name
            .chars()
            .map(|c| {
                if c.is_ascii_alphanumeric() || c == '_' {
                    c
                } else {
                    '-'
                }
            })
            .collect::<String>()
            .trim_matches('-')
            .to_owned();
        if let Some(port) = self.port {
            name.push_str(&format!("-{port}"));
        }
        name
    }
}

impl std::str::FromStr for ServedHost {
    type Err = String;

    fn from_str(text: &str) -> Result<Self, String> {
        let (wildcard, rest) = match text.strip_prefix("*.") {
            Some(rest) => (true, rest),
            None => (false, text),
        };
        let (name, port) = split_port(rest).map_err(|error| error.0)?;
        if name.contains('*') {
            return Err(format!(
                "{text:?}: a wildcard may only be a whole first label, as in \"*.example.com\""
            ));
        }
        let name = canonical_name(name).map_err(|why| format!("{text:?} {why}"))?;
        if wildcard && name.starts_with('[') {
            return Err(format!("{text:?}: an IP address cannot have a wildcard"));
        }
        Ok(Self {
            wildcard,
            name: name.into_owned(),
            port,
        })
    }
}

impl fmt::Display for ServedHost {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.wildcard {
            f.write_str("*.")?;
        }
        f.write_str(&self.name)?;
        if let Some(port) = self.port {
            write!(f, ":{port}")?;
        }
        Ok(())
    }
}

impl<'de> serde::Deserialize<'de> for ServedHost {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let text = String::deserialize(deserializer)?;
        text.parse().map_err(serde::de::Error::custom)
    }
}

/// `name[:port]` split at the port, which must be a number from 1 to 65535
/// when present; an IPv6 address in brackets keeps them.
fn split_port(authority: &str) -> Result<(&str, Option<u16>), HostError> {
    let (name, port) = if authority.starts_with('[') {
        match authority.find(']') {
            Some(end) => {
                let (name, rest) = authority.split_at(end + 1);
                match rest {
                    "" => (name, None),
                    _ => match rest.strip_prefix(':') {
                        Some(port) => (name, Some(port)),
                        None => return Err(HostError(format!("{authority:?} is not a host"))),
                    },
                }
            }
            None => return Err(HostError(format!("{authority:?} is missing its ']'"))),
        }
    } else {
        match authority.rsplit_once(':') {
            Some((name, port)) => (name, Some(port)),
            None => (authority, None),
        }
    };
    let port = match port {
        None => None,
        Some(digits) => Some(
            digits
                .parse::<u16>()
                .ok()
                .filter(|port| *port > 0 && digits.bytes().all(|b| b.is_ascii_digit()))
                .ok_or_else(|| HostError(format!("{authority:?} has a port that is not 1 to 65535")))?,
        ),
    };
    Ok((name, port))
}

/// A host name or address in its canonical form, or what is wrong with it.
fn canonical_name(name: &str) -> Result<Cow<'_, str>, String> {
    if let Some(inside) = name.strip_prefix('[').and_then(|n| n.strip_suffix(']')) {
        return match inside.parse::<std::net::Ipv6Addr>() {
            Ok(address) => Ok(Cow::Owned(format!("[{address}]"))),
            Err(_) => Err("is not an IPv6 address".to_owned()),
        };
    }
    let name = name.strip_suffix('.').unwrap_or(name);
    if name.is_empty() {
        return Err("has no name".to_owned());
    }
    // Plain ASCII needs only lower case; IDNA's mapping is for the rest.
    let ascii = if name.is_ascii() {
        if name.bytes().any(|b| b.is_ascii_uppercase()) {
            Cow::Owned(name.to_ascii_lowercase())
        } else {
            Cow::Borrowed(name)
        }
    } else {
        idna::domain_to_ascii_cow(name.as_bytes(), idna::AsciiDenyList::URL)
            .map_err(|_| "is not a valid host name".to_owned())?
    };
    if ascii.len() > MAX_NAME {
        return Err(format!("is longer than {MAX_NAME} characters"));
    }
    for label in ascii.split('.') {
        if label.is_empty() || label.len() > MAX_LABEL {
            return Err(format!("has an empty label or one over {MAX_LABEL} characters"));
        }
        if let Some(bad) = label
            .chars()
            .find(|c| !(c.is_ascii_alphanumeric() || *c == '-' || *c == '_'))
        {
            return Err(format!("has the character {bad:?}, which no host name has"));
        }
    }
    // The borrowed name when it was canonical already (no copy per request).
    Ok(match ascii {
        Cow::Borrowed(_) => Cow::Borrowed(name),
        Cow::Owned(owned) => Cow::Owned(owned),
    })
}

/// The mounts of one host pattern (or of the default site), and the
/// requests routed to them.
#[derive(Debug)]
pub struct HostTable<T> {
    /// The pattern ("blog.example.com"); None for the default site.
    pub pattern: Option<ServedHost>,
    /// Its mounts by path.
    pub mounts: MountTable<T>,
    /// Requests routed here by their host.
    pub requests: AtomicU64,
}

/// (mount point, target) pairs, as a [`MountTable`] is made of.
type PathTargets<T> = Vec<(String, T)>;

/// The claims on one name: on any port, and on given ports.
#[derive(Debug, Default)]
struct Claims {
    any_port: Option<usize>,
    ports: Vec<(u16, usize)>,
}

impl Claims {
    /// The table claimed on `port`, else on any port.
    fn on(&self, port: u16) -> Option<usize> {
        self.ports
            .iter()
            .find(|(claimed, _)| *claimed == port)
            .map(|(_, table)| *table)
            .or(self.any_port)
    }
}

/// Which mount table serves a request's host (see the module's rules).
#[derive(Debug)]
pub struct HostRouter<T> {
    tables: Vec<HostTable<T>>,
    exact: HashMap<String, Claims>,
    wildcard: HashMap<String, Claims>,
    default: Option<usize>,
}

impl<T: Clone> HostRouter<T> {
    /// The router of `mounts`: each a path, the hosts it claims (none: the
    /// default site) and its target. Two mounts claiming one host and path
    /// are the config's to refuse; here the first one wins.
    pub fn new<'m>(mounts: impl IntoIterator<Item = (&'m str, &'m [ServedHost], T)>) -> Self {
        // One group of (path, target) per pattern, in the order first claimed.
        let mut group_of: HashMap<Option<ServedHost>, usize> = HashMap::new();
        let mut groups: Vec<(Option<ServedHost>, PathTargets<T>)> = Vec::new();
        for (path, hosts, target) in mounts {
            let patterns: Vec<Option<&ServedHost>> = if hosts.is_empty() {
                vec![None]
            } else {
                hosts.iter().map(Some).collect()
            };
            for pattern in patterns {
                let group = *group_of.entry(pattern.cloned()).or_insert_with(|| {
                    groups.push((pattern.cloned(), Vec::new()));
                    groups.len() - 1
                });
                groups[group].1.push((path.to_owned(), target.clone()));
            }
        }
        let mut router = Self {
            tables: Vec::with_capacity(groups.len()),
            exact: HashMap::new(),
            wildcard: HashMap::new(),
            default: None,
        };
        for (index, (pattern, mounts)) in groups.into_iter().enumerate() {
            match &pattern {
                None => router.default = Some(index),
                Some(pattern) => {
                    let names = if pattern.wildcard {
                        &mut router.wildcard
                    } else {
                        &mut router.exact
                    };
                    let claims = names.entry(pattern.name.clone()).or_default();
                    match pattern.port {
                        None => claims.any_port = Some(index),
                        Some(port) => claims.ports.push((port, index)),
                    }
                }
            }
            router.tables.push(HostTable {
                pattern,
                mounts: MountTable::new(mounts),
                requests: AtomicU64::new(0),
            });
        }
        router
    }
}

impl<T> HostRouter<T> {
    /// The table serving `host` (None: a request that named no host),
    /// whose port, when it names none, is `default_port`; None when no
    /// mount claims the host and there is no default site.
    pub fn route(&self, host: Option<&RequestHost<'_>>, default_port: u16) -> Option<&HostTable<T>> {
        let claimed = host.and_then(|host| {
            let port = host.port.unwrap_or(default_port);
            let exact = self.exact.get(&*host.name).and_then(|claims| claims.on(port));
            exact.or_else(|| {
                let (_, parent) = host.name.split_once('.')?;
                self.wildcard.get(parent)?.on(port)
            })
        });
        claimed.or(self.default).map(|index| &self.tables[index])
    }

    /// Every table: one per host pattern, and the default site's.
    pub fn tables(&self) -> &[HostTable<T>] {
        &self.tables
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::paths::CanonicalPath;

    fn patterns(texts: &[&str]) -> Vec<ServedHost> {
        texts.iter().map(|t| t.parse().unwrap()).collect()
    }

    /// One line a case: a pattern as written, and its canonical form or
    /// part of the error.
    #[test]
    fn patterns_are_made_canonical_or_refused() {
        let cases: &[crate::parse_cases::ParseCase] = &[
            ("blog.example.com", Ok("blog.example.com")),
            ("BLOG.Example.COM.", Ok("blog.example.com")),
            ("blog.example.com:8080", Ok("blog.example.com:8080")),
            ("*.tenants.example.com", Ok("*.tenants.example.com")),
            ("bücher.example", Ok("xn--bcher-kva.example")),
            ("localhost", Ok("localhost")),
            ("127.0.0.1:80", Ok("127.0.0.1:80")),
            ("[::1]:8080", Ok("[::1]:8080")),
            ("[0:0::1]", Ok("[::1]")),
            ("my_host.example", Ok("my_host.example")),
            ("a.*.example", Err("whole first label")),
            ("*example.com", Err("whole first label")),
            ("*", Err("whole first label")),
            ("blog.example.com:0", Err("not 1 to 65535")),
            ("blog.example.com:http", Err("not 1 to 65535")),
            ("blog.example.com:+80", Err("not 1 to 65535")),
            ("a..b", Err("empty label")),
            ("", Err("has no name")),
            ("a b.example", Err("the character ' '")),
            ("a/b", Err("the character '/'")),
            ("bü cher.example", Err("valid host name")),
            ("[::1", Err("missing its ']'")),
            ("[nope]", Err("not an IPv6 address")),
            ("*.[::1]", Err("IP address cannot have a wildcard")),
        ];
        crate::parse_cases::check(cases, |text| text.parse::<ServedHost>().map(|p| p.to_string()));
    }

    #[test]
    fn request_hosts_are_made_canonical_or_refused() {
        let host = |text: &str| RequestHost::parse(text).map(|h| h.map(|h| (h.name.into_owned(), h.port)));
        assert_eq!(
            host("Blog.Example.com."),
            Ok(Some(("blog.example.com".into(), None)))
        );
        assert_eq!(
            host("blog.example.com:8080"),
            Ok(Some(("blog.example.com".into(), Some(8080))))
        );
        assert_eq!(host("[::1]:80"), Ok(Some(("[::1]".into(), Some(80)))));
        assert_eq!(host(""), Ok(None));
        for bad in [
            "a b",
            "user@blog.example.com",
            "blog:99999",
            "blog:",
            "a..b",
            "[x]",
            "<script>",
        ] {
            assert!(host(bad).is_err(), "{bad}");
        }
        // Canonical already: borrowed, not copied.
        let parsed = RequestHost::parse("blog.example.com").unwrap().unwrap();
        assert!(matches!(parsed.name, Cow::Borrowed(_)));
    }

    fn router() -> HostRouter<&'static str> {
        let blog = patterns(&["blog.example.com"]);
        let shop = patterns(&["shop.example.com", "www.shop.example.com"]);
        let tenants = patterns(&["*.tenants.example.com"]);
        let alt = patterns(&["blog.example.com:8080"]);
        let none: Vec<ServedHost> = Vec::new();
        HostRouter::new([
            ("/", &blog[..], "blog"),
            ("/api", &blog[..], "blog-api"),
            ("/", &shop[..], "shop"),
            ("/", &tenants[..], "tenants"),
            ("/", &alt[..], "blog-8080"),
            ("/", &none[..], "default"),
        ])
    }

    /// The mount serving (host header, path) on port 80.
    fn serve(router: &HostRouter<&'static str>, host: &str, path: &str) -> Option<&'static str> {
        let host = RequestHost::parse(host).unwrap();
        let table = router.route(host.as_ref(), 80)?;
        table
            .mounts
            .resolve(&CanonicalPath::parse(path).unwrap())
            .map(|resolved| *resolved.target)
    }

    #[test]
    fn the_host_is_chosen_first_then_the_longest_path() {
        let router = router();
        let cases = [
            ("blog.example.com", "/", Some("blog")),
            ("BLOG.example.com.", "/x", Some("blog")),
            ("blog.example.com:80", "/", Some("blog")),
            ("blog.example.com:9999", "/", Some("blog")),
            ("blog.example.com:8080", "/", Some("blog-8080")),
            // A host's own mounts only: its /api, never the default's paths.
            ("blog.example.com", "/api/x", Some("blog-api")),
            ("blog.example.com:8080", "/api/x", Some("blog-8080")),
            ("shop.example.com", "/api/x", Some("shop")),
            ("www.shop.example.com", "/", Some("shop")),
            ("a.tenants.example.com", "/", Some("tenants")),
            ("A.Tenants.Example.Com", "/", Some("tenants")),
            ("tenants.example.com", "/", Some("default")),
            ("x.a.tenants.example.com", "/", Some("default")),
            ("other.example", "/", Some("default")),
            ("", "/", Some("default")),
            ("127.0.0.1:8080", "/", Some("default")),
        ];
        let mut failures = Vec::new();
        for (host, path, expected) in cases {
            let got = serve(&router, host, path);
            if got != expected {
                failures.push(format!("{host} {path}: {got:?}"));
            }
        }
        assert!(failures.is_empty(), "{failures:#?}");
    }

    #[test]
    fn without_a_default_site_unclaimed_hosts_route_nowhere() {
        let blog = patterns(&["blog.example.com"]);
        let router = HostRouter::new([("/", &blog[..], "blog")]);
        assert_eq!(serve(&router, "blog.example.com", "/"), Some("blog"));
        assert!(
            router
                .route(RequestHost::parse("other").unwrap().as_ref(), 80)
                .is_none()
        );
        assert!(router.route(None, 80).is_none());
        let plain = HostRouter::new([("/", &[][..], "site")]);
        assert_eq!(serve(&plain, "anything.example", "/"), Some("site"));
    }
}
