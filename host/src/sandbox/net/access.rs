//! Who may connect where: a mount's `outbound` list with its counters
//! ([`OutboundAccess`], shared by the app's instances and kept across
//! reloads), and one instance's view of it ([`InstanceNet`]: the
//! addresses its name lookups learned, and why the host last refused it).

use std::{
    collections::HashSet,
    net::{IpAddr, SocketAddr},
    sync::{
        Arc, Mutex,
        atomic::{AtomicU64, AtomicUsize, Ordering},
    },
};

use rustls::RootCertStore;

use crate::config::Outbound;

/// The most addresses one instance keeps from its lookups; past it, the
/// oldest are forgotten (looked up again when needed).
const MAX_LEARNED: usize = 4096;

/// A mount's outbound grants and what its instances did with them.
#[derive(Debug)]
pub struct OutboundAccess {
    rules: Outbound,
    extra_roots: RootCertStore,
    open: AtomicUsize,
    refused: AtomicU64,
}

impl OutboundAccess {
    /// The grants `rules` gives, nothing used yet; reads `outbound_ca`.
    pub fn new(rules: Outbound) -> Result<Self, String> {
        let extra_roots = match &rules.ca {
            None => RootCertStore::empty(),
            Some(file) => {
                let data = std::fs::read(file)
                    .map_err(|error| format!("outbound_ca {}: {error}", file.display()))?;
                super::tls::parse_roots(&data)
                    .map_err(|error| format!("outbound_ca {}: {error}", file.display()))?
                    .1
            }
        };
        Ok(Self {
            rules,
            extra_roots,
            open: AtomicUsize::new(0),
            refused: AtomicU64::new(0),
        })
    }

    /// No destination granted: what an instance holds before an app takes
    /// it (see `sandbox::spares`).
    pub fn none() -> Self {
        Self {
            rules: Outbound::default(),
            extra_roots: RootCertStore::empty(),
            open: AtomicUsize::new(0),
            refused: AtomicU64::new(0),
        }
    }

    /// The roots of `outbound_ca` (made trust anchors once, at start), which
    /// every TLS connection of the app trusts.
    pub fn extra_roots(&self) -> &RootCertStore {
        &self.extra_roots
    }

    /// The rules as configured.
    pub fn rules(&self) -> &Outbound {
        &self.rules
    }

    /// Sockets the app's instances have open now.
    pub fn open(&self) -> usize {
        self.open.load(Ordering::Relaxed)
    }

    /// Lookups and connections refused so far.
    pub fn refused(&self) -> u64 {
        self.refused.load(Ordering::Relaxed)
    }

    /// One socket more, unless `outbound_connections` are open already.
    pub fn open_socket(self: &Arc<Self>) -> Option<OpenSocket> {
        let limit = self.rules.connections as usize;
        self.open
            .fetch_update(Ordering::AcqRel, Ordering::Acquire, |open| {
                (open < limit).then_some(open + 1)
            })
            .ok()
            .map(|_| OpenSocket(self.clone()))
    }
}

/// One of a mount's open sockets, given back when dropped.
#[derive(Debug)]
pub struct OpenSocket(Arc<OutboundAccess>);

impl Drop for OpenSocket {
    fn drop(&mut self) {
        self.0.open.fetch_sub(1, Ordering::AcqRel);
    }
}

/// One instance's outbound state: its mount's access, the addresses its
/// lookups of allowed names returned (each with the port its entry
/// allows), and the host's last refusal, until the guest asks.
#[derive(Debug)]
pub struct InstanceNet {
    access: Arc<OutboundAccess>,
    learned: Mutex<Learned>,
    refusal: Mutex<Option<String>>,
}

#[derive(Debug, Default)]
struct Learned {
    set: HashSet<SocketAddr>,
    order: std::collections::VecDeque<SocketAddr>,
}

impl Learned {
    fn insert(&mut self, address: SocketAddr) {
        if !self.set.insert(address) {
            return;
        }
        self.order.push_back(address);
        if self.order.len() > MAX_LEARNED
            && let Some(oldest) = self.order.pop_front()
        {
            self.set.remove(&oldest);
        }
    }
}

/// Why a lookup was not answered with addresses.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum LookupError {
    /// No `outbound` entry allows the name.
    Refused(String),
    /// The name could not be resolved.
    Failed(String),
}

impl InstanceNet {
    /// A fresh instance's view of `access`.
    pub fn new(access: Arc<OutboundAccess>) -> Self {
        Self {
            access,
            learned: Mutex::new(Learned::default()),
            refusal: Mutex::new(None),
        }
    }

    /// The mount's access.
    pub fn access(&self) -> &Arc<OutboundAccess> {
        &self.access
    }

    /// Resolves `name` when an entry allows it (on `port`, or on any port
    /// when there is none), and remembers the addresses for the ports the
    /// matching entries allow.
    pub async fn resolve(&self, name: &str, port: Option<u16>) -> Result<Vec<IpAddr>, LookupError> {
        let rules = self.access.rules();
        let allowed = match port {
            Some(port) => rules.allows_name(name, port),
            None => rules.mentions_name(name),
        };
        if !allowed {
            let destination = match port {
                Some(port) => format!("{name}:{port}"),
                None => name.to_owned(),
            };
            // Answered to the lookup itself, so not kept for a later error.
            self.access.refused.fetch_add(1, Ordering::Relaxed);
            return Err(LookupError::Refused(format!(
                "outbound: {destination} is not in this app's `outbound` list{}",
                listed(rules)
            )));
        }
        let addresses = lookup(name).await.map_err(LookupError::Failed)?;
        let ports: Vec<u16> = rules
            .allow
            .iter()
            .map(|destination| destination.port)
            .filter(|entry_port| rules.allows_name(name, *entry_port))
            .collect();
        let mut learned = self.learned.lock().unwrap();
        for ip in &addresses {
            for port in &ports {
                learned.insert(SocketAddr::new(*ip, *port));
            }
        }
        Ok(addresses)
    }

    /// Whether the instance may connect to `address`: an IP entry allows it,
    /// or a lookup of an allowed name returned it for that port. Before
    /// refusing, the plain names allowed on that port are looked up, so
    /// `localhost:6379` also allows connecting to 127.0.0.1:6379 directly.
    /// A refusal is noted and counted; a connection allowed clears the
    /// last refusal, so that it never explains a later, unrelated error.
    pub async fn may_connect(&self, address: SocketAddr) -> bool {
        let rules = self.access.rules();
        if rules.allows_ip(address.ip(), address.port()) || self.has_learned(address) {
            self.take_refusal();
            return true;
        }
        let names: Vec<String> = rules.names_on(address.port()).map(str::to_owned).collect();
        for name in names {
            let _ = self.resolve(&name, Some(address.port())).await;
            if self.has_learned(address) {
                self.take_refusal();
                return true;
            }
        }
        self.refuse(format!(
            "{} is not in this app's `outbound` list{}",
            address,
            listed(rules)
        ));
        false
    }

    /// Notes that the mount's `outbound_connections` are all open.
    pub fn refuse_socket(&self) {
        self.refuse(format!(
            "the app already has {} outbound connections open, its `outbound_connections`",
            self.access.rules().connections
        ));
    }

    /// Binding (and so listening) is refused: the sandbox only connects out.
    pub fn refuse_bind(&self, address: SocketAddr) {
        self.refuse(format!(
            "cannot bind {}: apps in the sandbox may connect out, not listen",
            address
        ));
    }

    /// The last refusal since the previous call, if any.
    pub fn take_refusal(&self) -> Option<String> {
        self.refusal.lock().unwrap().take()
    }

    fn has_learned(&self, address: SocketAddr) -> bool {
        self.learned.lock().unwrap().set.contains(&address)
    }

    /// Notes and counts a refusal; returns its message.
    fn refuse(&self, reason: String) -> String {
        self.access.refused.fetch_add(1, Ordering::Relaxed);
        let message = format!("outbound: {reason}");
        *self.refusal.lock().unwrap() = Some(message.clone());
        message
    }
}

/// " (it allows: a, b)" or " (it has none)".
fn listed(rules: &Outbound) -> String {
    if rules.allow.is_empty() {
        return " (it has none)".to_owned();
    }
    let entries: Vec<String> = rules.allow.iter().map(ToString::to_string).collect();
    format!(" (it allows {})", entries.join(", "))
}

/// The addresses `name` resolves to, in the resolver's order, each once.
async fn lookup(name: &str) -> Result<Vec<IpAddr>, String> {
    if let Ok(ip) = name.parse::<IpAddr>() {
        return Ok(vec![ip]);
    }
    let found = tokio::net::lookup_host((name, 0))
        .await
        .map_err(|error| format!("cannot resolve {name:?}: {error}"))?;
    let mut addresses: Vec<IpAddr> = Vec::new();
    for address in found {
        if !addresses.contains(&address.ip()) {
            addresses.push(address.ip());
        }
    }
    if addresses.is_empty() {
        return Err(format!("{name:?} has no address"));
    }
    Ok(addresses)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::outbound::parse_destination;

    fn net(entries: &[&str]) -> InstanceNet {
        let rules = Outbound {
            allow: entries.iter().map(|e| parse_destination(e).unwrap()).collect(),
            connections: 2,
            ..Outbound::default()
        };
        InstanceNet::new(Arc::new(OutboundAccess::new(rules).unwrap()))
    }

    #[tokio::test]
    async fn a_name_allows_what_it_resolved_to_on_its_port_only() {
        let net = net(&["localhost:6379", "127.0.0.2:80"]);
        let v4: SocketAddr = "127.0.0.1:6379".parse().unwrap();
        let addresses = net.resolve("LocalHost", Some(6379)).await.unwrap();
        assert!(addresses.contains(&v4.ip()), "{addresses:?}");
        assert!(net.may_connect(v4).await);
        assert!(!net.may_connect("127.0.0.1:6380".parse().unwrap()).await);
        assert!(net.may_connect("127.0.0.2:80".parse().unwrap()).await);
        assert!(!net.may_connect("127.0.0.2:81".parse().unwrap()).await);
        assert_eq!(net.access().refused(), 2);
        let refusal = net.take_refusal().unwrap();
        assert!(
            refusal.contains("127.0.0.2:81 is not in this app's `outbound` list"),
            "{refusal}"
        );
        assert_eq!(net.take_refusal(), None);
    }

    #[tokio::test]
    async fn an_ip_is_allowed_when_an_allowed_name_on_that_port_resolves_to_it() {
        let net = net(&["localhost:6379"]);
        assert!(net.may_connect("127.0.0.1:6379".parse().unwrap()).await);
        assert_eq!(net.access().refused(), 0);
    }

    #[tokio::test]
    async fn names_not_listed_are_refused_before_any_lookup() {
        let net = net(&["localhost:6379"]);
        let refused = net.resolve("example.com", Some(443)).await.unwrap_err();
        assert_eq!(
            refused,
            LookupError::Refused(
                "outbound: example.com:443 is not in this app's `outbound` list (it allows localhost:6379)"
                    .to_owned()
            )
        );
        assert!(matches!(
            net.resolve("localhost", Some(80)).await,
            Err(LookupError::Refused(_))
        ));
        assert!(net.resolve("localhost", None).await.is_ok());
        assert_eq!(net.access().refused(), 2, "refused lookups are counted");
        assert_eq!(
            net.take_refusal(),
            None,
            "a refused lookup says why itself, and leaves nothing for a later error"
        );
    }

    #[tokio::test]
    async fn a_connection_allowed_clears_the_last_refusal() {
        let net = net(&["127.0.0.2:80"]);
        assert!(!net.may_connect("127.0.0.2:81".parse().unwrap()).await);
        assert!(net.may_connect("127.0.0.2:80".parse().unwrap()).await);
        assert_eq!(net.take_refusal(), None);
    }

    #[test]
    fn a_malformed_outbound_ca_is_refused_naming_the_file() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("ca.pem");
        std::fs::write(
            &file,
            "-----BEGIN CERTIFICATE-----\nnot base64\n-----END CERTIFICATE-----\n",
        )
        .unwrap();
        let rules = Outbound {
            ca: Some(file.clone()),
            ..Outbound::default()
        };
        let error = OutboundAccess::new(rules).unwrap_err();
        assert!(
            error.starts_with(&format!("outbound_ca {}: ", file.display())),
            "{error}"
        );
        std::fs::write(&file, "").unwrap();
        let rules = Outbound {
            ca: Some(file.clone()),
            ..Outbound::default()
        };
        assert!(
            OutboundAccess::new(rules)
                .unwrap_err()
                .ends_with("no certificate found")
        );
    }

    #[test]
    fn sockets_are_counted_against_the_limit_and_given_back() {
        let net = net(&[]);
        let first = net.access().open_socket().unwrap();
        let second = net.access().open_socket().unwrap();
        assert!(net.access().open_socket().is_none());
        assert_eq!(net.access().open(), 2);
        drop(first);
        assert!(net.access().open_socket().is_some());
        drop(second);
        assert_eq!(net.access().open(), 0);
    }
}
