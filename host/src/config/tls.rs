//! `[[tls]]`: the certificates the HTTPS listener (`server.tls_listen`)
//! serves, each chosen by the name a client asks for (SNI).
//!
//! ```toml
//! [[tls]]
//! hosts = ["blog.example.com", "*.shop.example.com"]
//! cert = "certs/blog.pem"       # the chain, leaf first (PEM)
//! key = "certs/blog.key"        # its private key (PEM: PKCS#8, PKCS#1 or SEC1)
//! redirect_http = true          # plain HTTP for these hosts: 308 to https://
//!
//! [[tls]]                       # no `hosts`: the default, for any other name
//! cert = "certs/default.pem"
//! key = "certs/default.key"
//! ```
//!
//! Only the shape is checked here; the files are read (and a bad one
//! refused, naming it) by [`crate::tls`] before the server listens.

use std::path::{Path, PathBuf};

use serde::Deserialize;

use crate::hosts::ServedHost;

/// One `[[tls]]` entry.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TlsConfig {
    /// `hosts = ["blog.example.com", "*.example.com"]`: the names it is
    /// served for; none: the default certificate.
    #[serde(default)]
    pub hosts: Vec<ServedHost>,
    /// `cert = "certs/blog.pem"`: the certificate chain (PEM), relative to
    /// the site folder.
    pub cert: PathBuf,
    /// `key = "certs/blog.key"`: its private key (PEM).
    pub key: PathBuf,
    /// `redirect_http = true`: plain-HTTP requests for `hosts` get a 308
    /// to the same URL over HTTPS.
    #[serde(default)]
    pub redirect_http: bool,
}

/// Checks the `[[tls]]` entries against `tls_listen` and makes their paths
/// absolute.
pub(super) fn resolve(
    entries: Vec<TlsConfig>,
    tls_listen: Option<std::net::SocketAddr>,
    site_dir: &Path,
) -> Result<Vec<TlsConfig>, String> {
    match (tls_listen, entries.is_empty()) {
        (Some(address), true) => {
            return Err(format!(
                "server.tls_listen: {address} needs a certificate: add a [[tls]] with `cert` and `key`"
            ));
        }
        (None, false) => {
            return Err(
                "tls[0]: certificates are served only with server.tls_listen (the HTTPS \
                 address, e.g. \"0.0.0.0:8443\"); set it"
                    .to_owned(),
            );
        }
        _ => {}
    }
    let mut default = None;
    entries
        .into_iter()
        .enumerate()
        .map(|(index, entry)| {
            if entry.hosts.is_empty()
                && let Some(first) = default.replace(index)
            {
                return Err(format!(
                    "tls[{index}].hosts: tls[{first}] is the default certificate already \
                     (the one without `hosts`); name this one's hosts"
                ));
            }
            if entry.redirect_http && entry.hosts.is_empty() {
                return Err(format!(
                    "tls[{index}].redirect_http: redirects go by host name; name the `hosts` to redirect"
                ));
            }
            if let Some(host) = entry.hosts.iter().find(|host| host.port().is_some()) {
                return Err(format!(
                    "tls[{index}].hosts: {host}: a certificate is chosen by name alone; leave the port out"
                ));
            }
            Ok(TlsConfig {
                cert: site_dir.join(&entry.cert),
                key: site_dir.join(&entry.key),
                ..entry
            })
        })
        .collect()
}
