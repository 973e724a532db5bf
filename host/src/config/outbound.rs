//! What an app may connect to: `outbound` (the destinations, none by
//! default), `outbound_connections` (how many it may have open at once)
//! and `outbound_ca` (roots its TLS connections trust beside the system's).
//!
//! A destination is a host and a port. The host is an IP address (which
//! matches that address only), a name (matched after the host resolves
//! it: the addresses it resolves to, on that port), or `*.name`, any name
//! below `name`. Names are compared as DNS compares them: in any case,
//! with or without a trailing dot.

use std::{
    fmt,
    net::IpAddr,
    path::{Path, PathBuf},
    time::Duration,
};

use serde::Deserialize;

use super::checked_string;
use crate::units::HumanDuration;

/// How many outbound connections an app may have open at once, by default.
pub const DEFAULT_OUTBOUND_CONNECTIONS: u32 = 32;
/// The most `outbound_connections` may be.
pub const MAX_OUTBOUND_CONNECTIONS: u32 = 4096;
/// How long a connect without a timeout of its own may wait, by default.
pub const DEFAULT_CONNECT_TIMEOUT: Duration = Duration::from_secs(10);

/// An app's outbound grants.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Outbound {
    /// `outbound = ["localhost:6379", "api.example.com:443"]`, in order.
    pub allow: Vec<Destination>,
    /// `outbound_connections = 32`: connections open at once, over all its instances.
    pub connections: u32,
    /// `outbound_ca = "certs/extra-ca.pem"`: a PEM file of roots every TLS
    /// connection of the app trusts (absolute).
    pub ca: Option<PathBuf>,
    /// `outbound_connect_timeout = "10s"`: the longest a blocking connect
    /// without a timeout of its own waits (the SDK's socket layer applies it).
    pub connect_timeout: Duration,
}

impl Default for Outbound {
    fn default() -> Self {
        Self {
            allow: Vec::new(),
            connections: DEFAULT_OUTBOUND_CONNECTIONS,
            ca: None,
            connect_timeout: DEFAULT_CONNECT_TIMEOUT,
        }
    }
}

impl Outbound {
    /// Whether a connection to `name` (as the app wrote it) on `port` is
    /// allowed, once the host has resolved it.
    pub fn allows_name(&self, name: &str, port: u16) -> bool {
        let name = canonical_name(name);
        self.allow
            .iter()
            .any(|destination| destination.port == port && destination.host.matches_name(&name))
    }

    /// Whether some entry allows `name` on any port (a name lookup of it
    /// without a port is allowed then).
    pub fn mentions_name(&self, name: &str) -> bool {
        let name = canonical_name(name);
        self.allow
            .iter()
            .any(|destination| destination.host.matches_name(&name))
    }

    /// Whether an IP entry allows `ip` on `port`.
    pub fn allows_ip(&self, ip: IpAddr, port: u16) -> bool {
        self.allow
            .iter()
            .any(|destination| destination.port == port && destination.host == HostPattern::Ip(ip))
    }

    /// The plain names (not wildcards) allowed on `port`.
    pub fn names_on(&self, port: u16) -> impl Iterator<Item = &str> {
        self.allow
            .iter()
            .filter(move |destination| destination.port == port)
            .filter_map(|destination| match &destination.host {
                HostPattern::Name(name) => Some(name.as_str()),
                _ => None,
            })
    }
}

/// One `outbound` entry: a host pattern and a port.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Destination {
    /// Which hosts.
    pub host: HostPattern,
    /// Which port.
    pub port: u16,
}

/// The host part of a destination.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum HostPattern {
    /// That address only.
    Ip(IpAddr),
    /// That name, in lower case, without a trailing dot.
    Name(String),
    /// Any name ending in `.suffix` (the suffix in lower case, without dots at either end).
    Below(String),
}

impl HostPattern {
    fn matches_name(&self, canonical: &str) -> bool {
        match self {
            HostPattern::Ip(ip) => canonical.parse::<IpAddr>().is_ok_and(|given| given == *ip),
            HostPattern::Name(name) => name == canonical,
            HostPattern::Below(suffix) => canonical
                .strip_suffix(suffix.as_str())
                .is_some_and(|head| head.len() > 1 && head.ends_with('.')),
        }
    }
}

impl fmt::Display for Destination {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.host {
            HostPattern::Ip(IpAddr::V6(ip)) => write!(f, "[{ip}]:{}", self.port),
            HostPattern::Ip(IpAddr::V4(ip)) => write!(f, "{ip}:{}", self.port),
            HostPattern::Name(name) => write!(f, "{name}:{}", self.port),
            HostPattern::Below(suffix) => write!(f, "*.{suffix}:{}", self.port),
        }
    }
}

/// `name` as DNS compares it: lower case, no trailing dot.
pub fn canonical_name(name: &str) -> String {
    name.strip_suffix('.').unwrap_or(name).to_ascii_lowercase()
}

checked_string! {
    /// An `outbound` entry as written: "host:port", "[v6]:port" or "*.name:port".
    DestinationText, check_destination, "a destination such as \"api.example.com:443\""
}

fn check_destination(text: &str) -> Result<(), String> {
    parse_destination(text).map(|_| ())
}

/// Parses one `outbound` entry.
pub fn parse_destination(text: &str) -> Result<Destination, String> {
    let (host, port) = text
        .rsplit_once(':')
        .filter(|(host, _)| !host.is_empty())
        .ok_or_else(|| format!("{text:?} must be \"host:port\", as in \"api.example.com:443\""))?;
    let port = match port.parse::<u16>() {
        Ok(port) if port > 0 => port,
        _ => return Err(format!("{text:?}: the port must be a number from 1 to 65535")),
    };
    let host = if let Some(v6) = host.strip_prefix('[').and_then(|h| h.strip_suffix(']')) {
        let ip = v6
            .parse::<std::net::Ipv6Addr>()
            .map_err(|_| format!("{text:?}: {v6:?} is not an IPv6 address"))?;
        HostPattern::Ip(IpAddr::V6(ip))
    } else if host.contains(':') {
        return Err(format!(
            "{text:?}: write an IPv6 address in brackets, as in \"[::1]:5432\""
        ));
    } else if host == "*" {
        return Err(format!(
            "{text:?}: `*` alone would allow every host; list them (\"*.example.com:443\" allows the names below one)"
        ));
    } else if let Ok(ip) = host.parse::<std::net::Ipv4Addr>() {
        HostPattern::Ip(IpAddr::V4(ip))
    } else if let Some(suffix) = host.strip_prefix("*.") {
        check_name(text, suffix)?;
        HostPattern::Below(canonical_name(suffix))
    } else {
        check_name(text, host)?;
        HostPattern::Name(canonical_name(host))
    };
    Ok(Destination { host, port })
}

/// A DNS name: labels of letters, digits, '-' and '_', 1 to 63 bytes each.
fn check_name(text: &str, name: &str) -> Result<(), String> {
    let bare = name.strip_suffix('.').unwrap_or(name);
    let label_ok = |label: &str| {
        (1..=63).contains(&label.len())
            && label
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
            && !label.starts_with('-')
            && !label.ends_with('-')
    };
    if bare.is_empty() || bare.len() > 253 || !bare.split('.').all(label_ok) {
        return Err(format!(
            "{text:?}: {name:?} is not a host name (letters, digits and '-' in dot-separated labels; `*.` only as the first label)"
        ));
    }
    if bare
        .split('.')
        .all(|label| label.chars().all(|c| c.is_ascii_digit()))
    {
        return Err(format!("{text:?}: {name:?} is not an IPv4 address"));
    }
    Ok(())
}

/// `outbound`: a list of destinations.
#[derive(Debug, Clone, Deserialize)]
#[serde(try_from = "Vec<DestinationText>")]
pub(super) struct AllowList(Vec<Destination>);

impl TryFrom<Vec<DestinationText>> for AllowList {
    type Error = String;

    fn try_from(entries: Vec<DestinationText>) -> Result<Self, String> {
        let mut allow: Vec<Destination> = Vec::with_capacity(entries.len());
        for entry in entries {
            let destination = parse_destination(&entry.0)?;
            if !allow.contains(&destination) {
                allow.push(destination);
            }
        }
        Ok(Self(allow))
    }
}

/// `outbound_connections`: 1 to [`MAX_OUTBOUND_CONNECTIONS`].
#[derive(Debug, Clone, Copy, Deserialize)]
#[serde(try_from = "u32")]
pub(super) struct ConnectionLimit(u32);

impl TryFrom<u32> for ConnectionLimit {
    type Error = String;

    fn try_from(count: u32) -> Result<Self, String> {
        if count == 0 || count > MAX_OUTBOUND_CONNECTIONS {
            return Err(format!("{count} is not between 1 and {MAX_OUTBOUND_CONNECTIONS}"));
        }
        Ok(Self(count))
    }
}

/// `outbound_connect_timeout`: 100ms to 1h.
#[derive(Debug, Clone, Copy, Deserialize)]
#[serde(try_from = "HumanDuration")]
pub(super) struct ConnectTimeout(Duration);

impl TryFrom<HumanDuration> for ConnectTimeout {
    type Error = String;

    fn try_from(timeout: HumanDuration) -> Result<Self, String> {
        if timeout.0 < Duration::from_millis(100) || timeout.0 > Duration::from_secs(3600) {
            return Err("must be between 100ms and 1h".to_owned());
        }
        Ok(Self(timeout.0))
    }
}

/// The outbound keys of one `[[mount]]` as written.
#[derive(Debug, Default)]
pub(super) struct RawOutbound {
    pub(super) allow: Option<AllowList>,
    pub(super) connections: Option<ConnectionLimit>,
    pub(super) ca: Option<PathBuf>,
    pub(super) connect_timeout: Option<ConnectTimeout>,
}

impl RawOutbound {
    /// The keys that are set, by name (static mounts may set none).
    pub(super) fn set_keys(&self) -> impl Iterator<Item = &'static str> {
        [
            ("outbound", self.allow.is_some()),
            ("outbound_connections", self.connections.is_some()),
            ("outbound_ca", self.ca.is_some()),
            ("outbound_connect_timeout", self.connect_timeout.is_some()),
        ]
        .into_iter()
        .filter_map(|(key, set)| set.then_some(key))
    }

    /// The grants, with the defaults filled in and `outbound_ca` found in
    /// `site_dir`; `key` names a key in errors.
    pub(super) fn resolve(self, key: impl Fn(&str) -> String, site_dir: &Path) -> Result<Outbound, String> {
        let ca = match self.ca {
            None => None,
            Some(file) => {
                let full = site_dir.join(&file);
                if !full.is_file() {
                    return Err(format!(
                        "{}: file {} does not exist",
                        key("outbound_ca"),
                        full.display()
                    ));
                }
                Some(full)
            }
        };
        Ok(Outbound {
            allow: self.allow.map(|list| list.0).unwrap_or_default(),
            connections: self
                .connections
                .map_or(DEFAULT_OUTBOUND_CONNECTIONS, |limit| limit.0),
            ca,
            connect_timeout: self
                .connect_timeout
                .map_or(DEFAULT_CONNECT_TIMEOUT, |timeout| timeout.0),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// One line a case: an entry and what parsing it gives (its canonical
    /// form, or a part of the error).
    #[test]
    fn entries_are_checked_as_they_are_parsed() {
        let cases: &[crate::parse_cases::ParseCase] = &[
            ("localhost:6379", Ok("localhost:6379")),
            ("API.Example.com.:443", Ok("api.example.com:443")),
            ("*.internal.example:8000", Ok("*.internal.example:8000")),
            ("10.0.0.5:5432", Ok("10.0.0.5:5432")),
            ("[::1]:5432", Ok("[::1]:5432")),
            ("[2001:DB8::1]:443", Ok("[2001:db8::1]:443")),
            ("redis_1:6379", Ok("redis_1:6379")),
            ("localhost", Err("must be \"host:port\"")),
            (":443", Err("must be \"host:port\"")),
            ("host:0", Err("from 1 to 65535")),
            ("host:70000", Err("from 1 to 65535")),
            ("host:http", Err("from 1 to 65535")),
            ("::1:5432", Err("in brackets")),
            ("[zz]:1", Err("not an IPv6 address")),
            ("*:443", Err("would allow every host")),
            ("a.*.example:1", Err("not a host name")),
            ("exa mple.com:1", Err("not a host name")),
            ("-bad.example:1", Err("not a host name")),
            ("10.0.0.256:1", Err("not an IPv4 address")),
        ];
        crate::parse_cases::check(cases, |text| parse_destination(text).map(|d| d.to_string()));
    }

    /// One line a case: a name and port, and whether the list allows them.
    #[test]
    fn names_match_by_name_and_port() {
        let outbound = Outbound {
            allow: [
                "localhost:6379",
                "api.example.com:443",
                "*.internal.example:8000",
                "10.0.0.5:5432",
            ]
            .iter()
            .map(|text| parse_destination(text).unwrap())
            .collect(),
            ..Outbound::default()
        };
        let cases: &[(&str, u16, bool)] = &[
            ("localhost", 6379, true),
            ("LOCALHOST.", 6379, true),
            ("localhost", 6380, false),
            ("api.example.com", 443, true),
            ("api.example.com", 80, false),
            ("www.api.example.com", 443, false),
            ("db.internal.example", 8000, true),
            ("a.b.internal.example", 8000, true),
            ("internal.example", 8000, false),
            ("xinternal.example", 8000, false),
            ("10.0.0.5", 5432, true),
            ("10.0.0.5", 5433, false),
            ("example.com", 443, false),
        ];
        for (name, port, allowed) in cases {
            assert_eq!(outbound.allows_name(name, *port), *allowed, "{name}:{port}");
        }
        assert!(outbound.allows_ip("10.0.0.5".parse().unwrap(), 5432));
        assert!(!outbound.allows_ip("10.0.0.6".parse().unwrap(), 5432));
        assert!(outbound.mentions_name("API.example.com"));
        assert!(!outbound.mentions_name("example.com"));
        assert_eq!(outbound.names_on(6379).collect::<Vec<_>>(), ["localhost"]);
    }
}
