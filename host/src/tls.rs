//! The HTTPS listener's certificates: read from the `[[tls]]` PEM files,
//! chosen per handshake by the name the client asks for (SNI), and
//! replaced whole on a reload, so new connections get the new certificates
//! while open ones keep theirs.
//!
//! A file that cannot be read, holds no certificate or key, or whose key
//! does not match its certificate is refused with a message naming it;
//! at start that stops the server before it listens, on a reload it
//! changes nothing. A certificate that does not cover a host its entry
//! names, has expired, is not valid yet or expires within two weeks is
//! served, with a warning in the log.

use std::{
    fmt,
    path::{Path, PathBuf},
    sync::{Arc, RwLock},
};

use rustls::{
    ServerConfig,
    crypto::CryptoProvider,
    pki_types::{CertificateDer, PrivateKeyDer, pem::PemObject},
    server::{ClientHello, ResolvesServerCert},
    sign::CertifiedKey,
};

use crate::{
    config::TlsConfig,
    hosts::{RequestHost, ServedHost},
    sandbox::net::tls::{CertificateInfo, describe_certificate},
};

/// A certificate expiring sooner than this is warned about.
const EXPIRY_WARNING_SECONDS: i64 = 14 * 24 * 3600;

/// How the access log and the app name a connection's TLS version.
pub fn version_name(version: Option<rustls::ProtocolVersion>) -> &'static str {
    match version {
        Some(rustls::ProtocolVersion::TLSv1_3) => "TLSv1.3",
        Some(rustls::ProtocolVersion::TLSv1_2) => "TLSv1.2",
        _ => "TLS",
    }
}

/// The protocols offered by ALPN, preferred first.
const ALPN: [&[u8]; 2] = [b"h2", b"http/1.1"];

/// The certificates a site serves, replaceable while it runs.
pub struct Certificates {
    provider: Arc<CryptoProvider>,
    table: RwLock<Arc<CertificateTable>>,
}

/// One generation of certificates.
struct CertificateTable {
    /// Each entry's hosts and certificate, in file order.
    by_name: Vec<(Vec<ServedHost>, Arc<CertifiedKey>)>,
    /// For a name no entry claims, or a client that sends none.
    default: Arc<CertifiedKey>,
    /// The hosts whose plain-HTTP requests are sent to HTTPS.
    redirect_http: Vec<ServedHost>,
    /// Each entry's certificate file and what its leaf says, in file order.
    leaves: Vec<(PathBuf, CertificateInfo)>,
}

impl Certificates {
    /// Reads the certificates of `entries` (at least one).
    pub fn load(entries: &[TlsConfig]) -> Result<Arc<Self>, String> {
        let provider = Arc::new(rustls::crypto::ring::default_provider());
        let table = CertificateTable::read(entries, &provider)?;
        warn_of_concerns(entries, &table);
        Ok(Arc::new(Self {
            provider,
            table: RwLock::new(Arc::new(table)),
        }))
    }

    /// Reads `entries` again and serves them to new connections; on an
    /// error the certificates served stay as they were.
    pub fn reload(&self, entries: &[TlsConfig]) -> Result<(), String> {
        let table = CertificateTable::read(entries, &self.provider)?;
        warn_of_concerns(entries, &table);
        *self.table.write().expect("never poisoned") = Arc::new(table);
        Ok(())
    }

    /// The rustls configuration of the HTTPS listener: these certificates,
    /// TLS 1.2 and 1.3, HTTP/2 and HTTP/1.1 by ALPN.
    pub fn server_config(self: &Arc<Self>) -> Arc<ServerConfig> {
        let mut config = ServerConfig::builder_with_provider(self.provider.clone())
            .with_safe_default_protocol_versions()
            .expect("ring supports the default versions")
            .with_no_client_auth()
            .with_cert_resolver(self.clone());
        config.alpn_protocols = ALPN.iter().map(|protocol| protocol.to_vec()).collect();
        Arc::new(config)
    }

    /// Each certificate file served now, with when it expires (seconds
    /// since the Unix epoch), in file order.
    pub fn expiries(&self) -> Vec<(PathBuf, i64)> {
        let table = self.table.read().expect("never poisoned");
        table
            .leaves
            .iter()
            .map(|(cert, leaf)| (cert.clone(), leaf.valid_until))
            .collect()
    }

    /// Whether plain-HTTP requests for the canonical host `name` are sent
    /// to HTTPS (`redirect_http`).
    pub fn redirects_http(&self, name: &str) -> bool {
        let table = self.table.read().expect("never poisoned");
        table.redirect_http.iter().any(|host| host.claims_name(name))
    }

    /// The certificate served for `server_name` (None: the client sent none).
    fn choose(&self, server_name: Option<&str>) -> Arc<CertifiedKey> {
        let table = self.table.read().expect("never poisoned").clone();
        let name = server_name.and_then(|name| RequestHost::parse(name).ok().flatten());
        name.and_then(|name| {
            table
                .by_name
                .iter()
                .find(|(hosts, _)| hosts.iter().any(|host| host.claims_name(&name.name)))
                .map(|(_, key)| key.clone())
        })
        .unwrap_or_else(|| table.default.clone())
    }
}

impl fmt::Debug for Certificates {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let table = self.table.read().expect("never poisoned");
        f.debug_struct("Certificates")
            .field("named", &table.by_name.len())
            .finish_non_exhaustive()
    }
}

impl ResolvesServerCert for Certificates {
    fn resolve(&self, client_hello: ClientHello<'_>) -> Option<Arc<CertifiedKey>> {
        Some(self.choose(client_hello.server_name()))
    }
}

impl CertificateTable {
    fn read(entries: &[TlsConfig], provider: &CryptoProvider) -> Result<Self, String> {
        let mut by_name = Vec::new();
        let mut default = None;
        let mut leaves = Vec::new();
        for (index, entry) in entries.iter().enumerate() {
            let (key, leaf) = read_certified_key(&entry.cert, &entry.key, provider)
                .map_err(|problem| format!("tls[{index}]: {problem}"))?;
            leaves.push((entry.cert.clone(), leaf));
            let key = Arc::new(key);
            if entry.hosts.is_empty() {
                default = Some(key);
            } else {
                by_name.push((entry.hosts.clone(), key));
            }
        }
        // Without an entry of no hosts, the first entry is the default.
        let default = default.or_else(|| by_name.first().map(|(_, key)| key.clone()));
        let redirect_http = entries
            .iter()
            .filter(|entry| entry.redirect_http)
            .flat_map(|entry| entry.hosts.iter().cloned())
            .collect();
        Ok(Self {
            by_name,
            default: default.ok_or("no [[tls]] certificate")?,
            redirect_http,
            leaves,
        })
    }
}

/// Logs what each entry's certificate says that its operator should hear.
fn warn_of_concerns(entries: &[TlsConfig], table: &CertificateTable) {
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |since| since.as_secs() as i64);
    for (entry, (cert, leaf)) in entries.iter().zip(&table.leaves) {
        for concern in concerns(&entry.hosts, leaf, now) {
            tracing::warn!(cert = %cert.display(), "{concern}");
        }
    }
}

/// What a certificate says that is wrong for `hosts` at `now` (seconds
/// since the epoch): a host it does not cover, a validity that excludes
/// now or ends soon.
fn concerns(hosts: &[ServedHost], leaf: &CertificateInfo, now: i64) -> Vec<String> {
    let names: Vec<String> = leaf
        .subject_alt_names
        .iter()
        .filter(|(kind, _)| kind == "DNS")
        .map(|(_, name)| name.to_ascii_lowercase())
        .collect();
    let covers = |host: &str| {
        names.iter().any(|name| match name.strip_prefix("*.") {
            _ if name == host => true,
            Some(parent) => {
                !host.starts_with("*.") && host.split_once('.').is_some_and(|(_, rest)| rest == parent)
            }
            None => false,
        })
    };
    let mut found: Vec<String> = hosts
        .iter()
        .map(ServedHost::to_string)
        .filter(|host| !covers(host))
        .map(|host| format!("does not cover {host} (it names {})", names.join(", ")))
        .collect();
    if now > leaf.valid_until {
        found.push(format!("expired on {}", leaf.not_after));
    } else if now < leaf.valid_from {
        found.push(format!("is not valid until {}", leaf.not_before));
    } else if leaf.valid_until - now < EXPIRY_WARNING_SECONDS {
        found.push(format!("expires on {}", leaf.not_after));
    }
    found
}

/// A certificate chain and its key, checked to belong together.
/// Returns it with what its leaf certificate says.
fn read_certified_key(
    cert: &Path,
    key: &Path,
    provider: &CryptoProvider,
) -> Result<(CertifiedKey, CertificateInfo), String> {
    let chain = read_chain(cert)?;
    let leaf = describe_certificate(&chain[0]).map_err(|error| {
        format!(
            "{}: its first certificate cannot be read: {error}",
            cert.display()
        )
    })?;
    let key_der = read_key(key)?;
    let certified = CertifiedKey::from_der(chain, key_der, provider).map_err(|error| match error {
        rustls::Error::InconsistentKeys(_) => format!(
            "{}: this key does not belong to the certificate in {}",
            key.display(),
            cert.display()
        ),
        error => format!("{}: the key cannot be used: {error}", key.display()),
    })?;
    Ok((certified, leaf))
}

fn read_chain(path: &Path) -> Result<Vec<CertificateDer<'static>>, String> {
    let pem = read(path)?;
    let chain = CertificateDer::pem_slice_iter(&pem)
        .collect::<Result<Vec<_>, _>>()
        .map_err(|error| format!("{}: not a PEM certificate file: {error}", path.display()))?;
    if chain.is_empty() {
        return Err(format!(
            "{}: holds no certificate (a PEM block \"-----BEGIN CERTIFICATE-----\")",
            path.display()
        ));
    }
    if let Err(error) = x509_parser::parse_x509_certificate(&chain[0]) {
        return Err(format!(
            "{}: its first certificate cannot be read: {error}",
            path.display()
        ));
    }
    Ok(chain)
}

fn read_key(path: &Path) -> Result<PrivateKeyDer<'static>, String> {
    let pem = read(path)?;
    PrivateKeyDer::from_pem_slice(&pem).map_err(|error| match error {
        rustls::pki_types::pem::Error::NoItemsFound => format!(
            "{}: holds no private key (a PEM block \"-----BEGIN PRIVATE KEY-----\", \
             \"RSA PRIVATE KEY\" or \"EC PRIVATE KEY\")",
            path.display()
        ),
        error => format!("{}: not a PEM private key file: {error}", path.display()),
    })
}

fn read(path: &Path) -> Result<Vec<u8>, String> {
    std::fs::read(path).map_err(|error| format!("{}: cannot read it: {error}", path.display()))
}

#[cfg(test)]
mod tests {
    use rcgen::{CertificateParams, KeyPair};

    use super::*;

    /// A self-signed certificate for `names`, written to `dir` as
    /// `stem.pem` and `stem.key`; returns the entry and the certificate.
    fn write_cert(dir: &Path, stem: &str, names: &[&str], hosts: &[&str]) -> (TlsConfig, Vec<u8>) {
        let key = KeyPair::generate().unwrap();
        let names: Vec<String> = names.iter().map(|name| (*name).to_owned()).collect();
        let cert = CertificateParams::new(names).unwrap().self_signed(&key).unwrap();
        std::fs::write(dir.join(format!("{stem}.pem")), cert.pem()).unwrap();
        std::fs::write(dir.join(format!("{stem}.key")), key.serialize_pem()).unwrap();
        let entry = TlsConfig {
            hosts: hosts.iter().map(|host| host.parse().unwrap()).collect(),
            cert: dir.join(format!("{stem}.pem")),
            key: dir.join(format!("{stem}.key")),
            redirect_http: false,
        };
        (entry, cert.der().to_vec())
    }

    fn served(certificates: &Certificates, name: Option<&str>) -> Vec<u8> {
        certificates.choose(name).cert[0].to_vec()
    }

    #[test]
    fn the_certificate_is_chosen_by_name_with_the_default_for_any_other() {
        let dir = tempfile::tempdir().unwrap();
        let (blog, blog_der) = write_cert(dir.path(), "blog", &["blog.example.com"], &["blog.example.com"]);
        let (shops, shops_der) = write_cert(
            dir.path(),
            "shops",
            &["*.shop.example.com"],
            &["*.shop.example.com"],
        );
        let (fallback, fallback_der) = write_cert(dir.path(), "default", &["localhost"], &[]);
        let certificates = Certificates::load(&[blog, fallback, shops]).unwrap();
        let cases = [
            (Some("blog.example.com"), &blog_der),
            (Some("BLOG.example.com."), &blog_der),
            (Some("a.shop.example.com"), &shops_der),
            (Some("shop.example.com"), &fallback_der),
            (Some("a.b.shop.example.com"), &fallback_der),
            (Some("other.example.com"), &fallback_der),
            (None, &fallback_der),
        ];
        for (name, expected) in cases {
            assert_eq!(&served(&certificates, name), expected, "{name:?}");
        }
    }

    #[test]
    fn without_an_entry_for_any_name_the_first_is_the_default() {
        let dir = tempfile::tempdir().unwrap();
        let (a, a_der) = write_cert(dir.path(), "a", &["a.test"], &["a.test"]);
        let (b, _) = write_cert(dir.path(), "b", &["b.test"], &["b.test"]);
        let certificates = Certificates::load(&[a, b]).unwrap();
        assert_eq!(served(&certificates, Some("c.test")), a_der);
    }

    #[test]
    fn a_reload_serves_the_new_certificate_and_a_bad_one_changes_nothing() {
        let dir = tempfile::tempdir().unwrap();
        let (entry, old) = write_cert(dir.path(), "site", &["a.test"], &[]);
        let certificates = Certificates::load(std::slice::from_ref(&entry)).unwrap();
        let (_, new) = write_cert(dir.path(), "site", &["a.test"], &[]);
        certificates.reload(std::slice::from_ref(&entry)).unwrap();
        assert_eq!(served(&certificates, None), new);
        assert_ne!(old, new);
        let expiries = certificates.expiries();
        assert!(expiries.len() == 1 && expiries[0].0 == entry.cert, "{expiries:?}");

        std::fs::write(&entry.key, "not a key").unwrap();
        let error = certificates.reload(std::slice::from_ref(&entry)).unwrap_err();
        assert!(error.contains("site.key: holds no private key"), "{error}");
        assert_eq!(served(&certificates, None), new);
    }

    #[test]
    fn a_certificate_that_misses_a_host_or_is_out_of_date_is_warned_about() {
        let leaf = |names: &[&str], days: std::ops::Range<i32>| {
            let names: Vec<String> = names.iter().map(|name| (*name).to_owned()).collect();
            let mut params = CertificateParams::new(names).unwrap();
            let today = time::OffsetDateTime::now_utc();
            params.not_before = today + time::Duration::days(days.start.into());
            params.not_after = today + time::Duration::days(days.end.into());
            let cert = params.self_signed(&KeyPair::generate().unwrap()).unwrap();
            describe_certificate(cert.der()).unwrap()
        };
        let hosts =
            |hosts: &[&str]| -> Vec<ServedHost> { hosts.iter().map(|h| h.parse().unwrap()).collect() };
        let now = time::OffsetDateTime::now_utc().unix_timestamp();
        let covering = leaf(&["blog.example.com", "*.shop.example.com"], -1..90);
        assert_eq!(
            concerns(
                &hosts(&["blog.example.com", "a.shop.example.com", "*.shop.example.com"]),
                &covering,
                now
            ),
            Vec::<String>::new()
        );
        let missing = concerns(&hosts(&["other.example.com", "shop.example.com"]), &covering, now);
        assert_eq!(missing.len(), 2, "{missing:?}");
        assert!(
            missing[0].starts_with(
                "does not cover other.example.com (it names blog.example.com, *.shop.example.com)"
            )
        );
        for (days, expected) in [
            (-30..-1, "expired on"),
            (2..30, "is not valid until"),
            (-30..3, "expires on"),
        ] {
            let said = concerns(&hosts(&["a.test"]), &leaf(&["a.test"], days.clone()), now);
            assert!(
                said.len() == 1 && said[0].starts_with(expected),
                "{days:?}: {said:?}"
            );
        }
    }

    #[test]
    fn a_bad_file_is_refused_naming_it_and_what_is_wrong() {
        let dir = tempfile::tempdir().unwrap();
        let (good, _) = write_cert(dir.path(), "good", &["a.test"], &[]);
        let (other, _) = write_cert(dir.path(), "other", &["b.test"], &[]);
        std::fs::write(dir.path().join("empty.pem"), "").unwrap();
        std::fs::write(
            dir.path().join("garbled.pem"),
            "-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n",
        )
        .unwrap();
        let with = |cert: &str, key: &Path| TlsConfig {
            hosts: vec![],
            cert: dir.path().join(cert),
            key: key.to_owned(),
            redirect_http: false,
        };
        let cases = [
            (with("missing.pem", &good.key), "missing.pem: cannot read it"),
            (with("empty.pem", &good.key), "empty.pem: holds no certificate"),
            (
                with("garbled.pem", &good.key),
                "garbled.pem: its first certificate cannot be read",
            ),
            (
                with("good.pem", &dir.path().join("empty.pem")),
                "empty.pem: holds no private key",
            ),
            (
                with("good.pem", &other.key),
                "other.key: this key does not belong to the certificate in",
            ),
        ];
        for (entry, expected) in cases {
            let error = Certificates::load(&[entry]).unwrap_err();
            assert!(error.contains(expected), "{expected}: {error}");
        }
    }
}
