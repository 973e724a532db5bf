//! The contract's `tls` import: client TLS for the guest's connections,
//! run by rustls in the host. The guest keeps the socket and carries the
//! encrypted bytes both ways ([`ClientSession::receive`], `transmit`); the
//! handshake, the certificate checks and the record layer are here.
//!
//! A [`ClientConfig`] is what an `SSLContext` holds: trust anchors (the
//! mount's `outbound_ca` always, the system's and the app's own when it
//! asks) and a client certificate. Each session is opened with what the
//! context says about checking the peer (its chain, its name), and the
//! failures come back in OpenSSL's words, as CPython's `ssl` shows them.

use std::sync::{Arc, OnceLock};

use rustls::{
    CertificateError, ClientConnection, DigitallySignedStruct, Error as TlsFailure, RootCertStore,
    SignatureScheme,
    client::{
        WebPkiServerVerifier,
        danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier},
    },
    crypto::CryptoProvider,
    pki_types::{CertificateDer, PrivateKeyDer, ServerName, UnixTime, pem::PemObject},
};

/// The crypto every session uses (ring's).
fn provider() -> &'static Arc<CryptoProvider> {
    static PROVIDER: OnceLock<Arc<CryptoProvider>> = OnceLock::new();
    PROVIDER.get_or_init(|| Arc::new(rustls::crypto::ring::default_provider()))
}

/// The host's system roots, loaded and made trust anchors once.
fn system_roots() -> &'static RootCertStore {
    static ROOTS: OnceLock<RootCertStore> = OnceLock::new();
    ROOTS.get_or_init(|| {
        let found = rustls_native_certs::load_native_certs();
        for error in &found.errors {
            tracing::warn!("a system root certificate could not be loaded: {error}");
        }
        let mut roots = RootCertStore::empty();
        roots.add_parsable_certificates(found.certs);
        roots
    })
}

/// Reads the certificates of a PEM file, or of DER certificates one after
/// another; an error when there is none or one is malformed.
pub fn parse_certificates(data: &[u8]) -> Result<Vec<CertificateDer<'static>>, String> {
    let text_like = data.iter().take(64).all(|b| b.is_ascii());
    let certificates: Vec<CertificateDer<'static>> = if text_like {
        CertificateDer::pem_slice_iter(data)
            .collect::<Result<_, _>>()
            .map_err(|error| format!("malformed PEM: {error}"))?
    } else {
        split_der(data)?
    };
    if certificates.is_empty() {
        return Err("no certificate found".to_owned());
    }
    Ok(certificates)
}

/// The certificates in `data` (as [`parse_certificates`] reads them), and
/// the same made trust anchors; an error when one cannot be an anchor.
pub fn parse_roots(data: &[u8]) -> Result<(Vec<CertificateDer<'static>>, RootCertStore), String> {
    let certificates = parse_certificates(data)?;
    let mut anchors = RootCertStore::empty();
    for certificate in &certificates {
        anchors
            .add(certificate.clone())
            .map_err(|error| format!("not a usable certificate: {error}"))?;
    }
    Ok((certificates, anchors))
}

/// DER certificates one after another, split at their SEQUENCE headers.
fn split_der(mut data: &[u8]) -> Result<Vec<CertificateDer<'static>>, String> {
    let mut certificates = Vec::new();
    while !data.is_empty() {
        let length = der_length(data).ok_or("malformed DER")?;
        let (one, rest) = data.split_at(length);
        certificates.push(CertificateDer::from(one.to_vec()));
        data = rest;
    }
    Ok(certificates)
}

/// The length (header included) of the DER SEQUENCE `data` starts with.
fn der_length(data: &[u8]) -> Option<usize> {
    if data.first() != Some(&0x30) {
        return None;
    }
    let first = *data.get(1)?;
    let (header, body) = if first < 0x80 {
        (2, usize::from(first))
    } else {
        let count = usize::from(first & 0x7f);
        if count == 0 || count > 4 {
            return None;
        }
        let bytes = data.get(2..2 + count)?;
        (
            2 + count,
            bytes.iter().fold(0usize, |n, b| n << 8 | usize::from(*b)),
        )
    };
    let total = header + body;
    (total <= data.len()).then_some(total)
}

/// What an `SSLContext` holds.
pub struct ClientConfig {
    roots: RootCertStore,
    added: Vec<CertificateDer<'static>>,
    client_auth: Option<(Vec<CertificateDer<'static>>, Arc<PrivateKeyDer<'static>>)>,
}

impl ClientConfig {
    /// A config trusting `mount_roots` (the mount's `outbound_ca`) only.
    pub fn new(mount_roots: &RootCertStore) -> Self {
        Self {
            roots: mount_roots.clone(),
            added: Vec::new(),
            client_auth: None,
        }
    }

    /// Trusts the certificates in `data`; how many were added.
    pub fn add_roots(&mut self, data: &[u8]) -> Result<u32, String> {
        let (certificates, anchors) = parse_roots(data)?;
        let added = anchors.len() as u32;
        self.roots.roots.extend(anchors.roots);
        self.added.extend(certificates);
        Ok(added)
    }

    /// Trusts the system's roots; how many there are.
    pub fn add_system_roots(&mut self) -> u32 {
        let roots = system_roots();
        self.roots.roots.extend(roots.roots.iter().cloned());
        roots.len() as u32
    }

    /// The roots the app added, DER.
    pub fn added_roots(&self) -> Vec<Vec<u8>> {
        self.added.iter().map(|c| c.to_vec()).collect()
    }

    /// How many roots it trusts.
    pub fn root_count(&self) -> u32 {
        self.roots.len() as u32
    }

    /// Offers `chain` with `key` (PEM) to servers that ask for a client certificate.
    pub fn set_client_certificate(&mut self, chain: &[u8], key: &[u8]) -> Result<(), String> {
        let chain = parse_certificates(chain)?;
        let key = PrivateKeyDer::from_pem_slice(key).map_err(|error| match error {
            rustls::pki_types::pem::Error::NoItemsFound => {
                "no private key found (encrypted keys are not supported)".to_owned()
            }
            other => format!("malformed private key: {other}"),
        })?;
        provider()
            .key_provider
            .load_private_key(key.clone_key())
            .map_err(|error| format!("unusable private key: {error}"))?;
        self.client_auth = Some((chain, Arc::new(key)));
        Ok(())
    }
}

/// How a session checks the peer, and what it offers.
#[derive(Debug, Clone)]
pub struct SessionOptions {
    /// The peer's name (SNI, and what its certificate must be for).
    pub server_name: Option<String>,
    /// The chain must lead to a trusted root.
    pub verify_chain: bool,
    /// The certificate must be for `server_name`.
    pub check_name: bool,
    /// ALPN protocols, in order.
    pub alpn: Vec<String>,
    /// Lowest and highest TLS version (0x0303, 0x0304).
    pub versions: (u16, u16),
}

/// One connection's TLS state.
pub struct ClientSession {
    connection: ClientConnection,
}

/// Why a TLS operation failed, in OpenSSL's terms.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SessionError {
    /// The peer's certificate was refused: a verify code and its message.
    Certificate(i32, String),
    /// The protocol failed: OpenSSL's reason name and a message.
    Protocol(String, String),
    /// The peer closed the socket without a close_notify.
    Eof,
}

/// What reading plaintext found.
#[derive(Debug, PartialEq, Eq)]
pub enum ReadOutcome {
    /// Bytes.
    Data(Vec<u8>),
    /// Nothing until more is received.
    WantRead,
    /// The peer closed TLS cleanly.
    Closed,
}

/// What a finished handshake agreed on.
#[derive(Debug, Clone)]
pub struct SessionInfo {
    /// "TLSv1.3" or "TLSv1.2".
    pub version: String,
    /// OpenSSL's name of the cipher suite.
    pub cipher: String,
    /// Its secret bits.
    pub cipher_bits: u32,
    /// The protocol ALPN chose.
    pub alpn: Option<String>,
    /// The peer's chain, leaf first.
    pub peer_certificates: Vec<Vec<u8>>,
}

impl ClientSession {
    /// Starts a handshake with `config`'s roots and `options`.
    pub fn open(config: &ClientConfig, options: &SessionOptions) -> Result<Self, String> {
        let versions: Vec<&'static rustls::SupportedProtocolVersion> = [
            (0x0303, &rustls::version::TLS12),
            (0x0304, &rustls::version::TLS13),
        ]
        .into_iter()
        .filter(|(number, _)| (options.versions.0..=options.versions.1).contains(number))
        .map(|(_, version)| version)
        .collect();
        if versions.is_empty() {
            return Err("no protocols available: the sandbox's TLS speaks TLS 1.2 and 1.3".to_owned());
        }
        let chain = if config.roots.is_empty() {
            None
        } else {
            Some(
                WebPkiServerVerifier::builder_with_provider(
                    Arc::new(config.roots.clone()),
                    provider().clone(),
                )
                .build()
                .map_err(|error| format!("cannot use the trusted roots: {error}"))?,
            )
        };
        let check = PeerCheck {
            chain,
            verify_chain: options.verify_chain,
            check_name: options.check_name,
        };
        let builder = rustls::ClientConfig::builder_with_provider(provider().clone())
            .with_protocol_versions(&versions)
            .map_err(|error| error.to_string())?
            .dangerous()
            .with_custom_certificate_verifier(Arc::new(check));
        let mut tls = match &config.client_auth {
            None => builder.with_no_client_auth(),
            Some((chain, key)) => builder
                .with_client_auth_cert(chain.clone(), key.clone_key())
                .map_err(|error| format!("the client certificate cannot be used: {error}"))?,
        };
        tls.alpn_protocols = options.alpn.iter().map(|p| p.as_bytes().to_vec()).collect();
        let name = match &options.server_name {
            Some(name) => ServerName::try_from(name.clone())
                .map_err(|_| format!("{name:?} is not a host name or an IP address"))?,
            // Nothing to check the certificate against: any name will do.
            None => ServerName::IpAddress(std::net::Ipv4Addr::UNSPECIFIED.into()),
        };
        tls.enable_sni = matches!(name, ServerName::DnsName(_));
        let connection = ClientConnection::new(Arc::new(tls), name).map_err(|error| error.to_string())?;
        Ok(Self { connection })
    }

    /// Processes bytes received from the peer; empty means it closed the socket.
    pub fn receive(&mut self, mut data: &[u8]) -> Result<(), SessionError> {
        let closed = data.is_empty();
        loop {
            if !closed && data.is_empty() {
                return Ok(());
            }
            match self.connection.read_tls(&mut data) {
                Ok(_) => {}
                Err(error) => {
                    return Err(SessionError::Protocol(
                        "READ_FAILED".to_owned(),
                        error.to_string(),
                    ));
                }
            }
            self.connection
                .process_new_packets()
                .map_err(|error| describe_failure(&error))?;
            if closed {
                return Ok(());
            }
        }
    }

    /// The bytes to send to the peer now.
    pub fn transmit(&mut self) -> Vec<u8> {
        let mut out = Vec::new();
        while self.connection.wants_write() {
            if self.connection.write_tls(&mut out).is_err() {
                break;
            }
        }
        out
    }

    /// Whether the handshake is still going on.
    pub fn handshaking(&self) -> bool {
        self.connection.is_handshaking()
    }

    /// Plaintext received, at most `max` bytes.
    pub fn read(&mut self, max: usize) -> Result<ReadOutcome, SessionError> {
        use std::io::Read;
        let mut buffer = vec![0; max.clamp(1, 1 << 20)];
        match self.connection.reader().read(&mut buffer) {
            Ok(0) => Ok(ReadOutcome::Closed),
            Ok(count) => {
                buffer.truncate(count);
                Ok(ReadOutcome::Data(buffer))
            }
            Err(error) if error.kind() == std::io::ErrorKind::WouldBlock => Ok(ReadOutcome::WantRead),
            Err(error) if error.kind() == std::io::ErrorKind::UnexpectedEof => Err(SessionError::Eof),
            Err(error) => Err(SessionError::Protocol(
                "READ_FAILED".to_owned(),
                error.to_string(),
            )),
        }
    }

    /// Plaintext bytes received and not read yet.
    pub fn pending(&mut self) -> usize {
        self.connection
            .process_new_packets()
            .map_or(0, |state| state.plaintext_bytes_to_read())
    }

    /// Queues plaintext; how many bytes were taken.
    pub fn write(&mut self, data: &[u8]) -> Result<usize, SessionError> {
        use std::io::Write;
        self.connection
            .writer()
            .write(data)
            .map_err(|error| SessionError::Protocol("WRITE_FAILED".to_owned(), error.to_string()))
    }

    /// Queues a close_notify.
    pub fn close(&mut self) {
        self.connection.send_close_notify();
    }

    /// Whether the peer sent its close_notify.
    pub fn peer_closed(&mut self) -> bool {
        self.connection
            .process_new_packets()
            .is_ok_and(|state| state.peer_has_closed())
    }

    /// What the handshake agreed on, once it is done.
    pub fn info(&self) -> Option<SessionInfo> {
        if self.connection.is_handshaking() {
            return None;
        }
        let suite = self.connection.negotiated_cipher_suite()?;
        let version = match self.connection.protocol_version()? {
            rustls::ProtocolVersion::TLSv1_3 => "TLSv1.3",
            _ => "TLSv1.2",
        };
        let (cipher, cipher_bits) = openssl_cipher_name(suite.suite());
        Some(SessionInfo {
            version: version.to_owned(),
            cipher,
            cipher_bits,
            alpn: self
                .connection
                .alpn_protocol()
                .map(|p| String::from_utf8_lossy(p).into_owned()),
            peer_certificates: self
                .connection
                .peer_certificates()
                .map(|chain| chain.iter().map(|c| c.to_vec()).collect())
                .unwrap_or_default(),
        })
    }
}

/// A suite's name as OpenSSL spells it, and its secret bits.
fn openssl_cipher_name(suite: rustls::CipherSuite) -> (String, u32) {
    use rustls::CipherSuite as S;
    let (name, bits) = match suite {
        S::TLS13_AES_256_GCM_SHA384 => ("TLS_AES_256_GCM_SHA384", 256),
        S::TLS13_AES_128_GCM_SHA256 => ("TLS_AES_128_GCM_SHA256", 128),
        S::TLS13_CHACHA20_POLY1305_SHA256 => ("TLS_CHACHA20_POLY1305_SHA256", 256),
        S::TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384 => ("ECDHE-ECDSA-AES256-GCM-SHA384", 256),
        S::TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256 => ("ECDHE-ECDSA-AES128-GCM-SHA256", 128),
        S::TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256 => ("ECDHE-ECDSA-CHACHA20-POLY1305", 256),
        S::TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384 => ("ECDHE-RSA-AES256-GCM-SHA384", 256),
        S::TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256 => ("ECDHE-RSA-AES128-GCM-SHA256", 128),
        S::TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305_SHA256 => ("ECDHE-RSA-CHACHA20-POLY1305", 256),
        other => return (format!("{other:?}"), 0),
    };
    (name.to_owned(), bits)
}

/// A rustls failure in OpenSSL's terms.
fn describe_failure(error: &TlsFailure) -> SessionError {
    match error {
        TlsFailure::InvalidCertificate(refusal) => {
            let (code, message) = certificate_refusal(refusal);
            SessionError::Certificate(code, message)
        }
        TlsFailure::AlertReceived(alert) => {
            let name = format!("{alert:?}");
            let words = snake_words(&name);
            SessionError::Protocol(
                format!("TLSV1_ALERT_{}", words.to_ascii_uppercase().replace(' ', "_")),
                format!("tlsv1 alert {words}"),
            )
        }
        TlsFailure::InvalidMessage(_) | TlsFailure::InappropriateMessage { .. } => SessionError::Protocol(
            "WRONG_VERSION_NUMBER".to_owned(),
            format!("the peer does not speak TLS ({error})"),
        ),
        other => SessionError::Protocol("PROTOCOL_FAILURE".to_owned(), other.to_string()),
    }
}

/// "UnknownCa" → "unknown ca".
fn snake_words(camel: &str) -> String {
    let mut words = String::new();
    for (index, c) in camel.chars().enumerate() {
        if c.is_ascii_uppercase() && index > 0 {
            words.push(' ');
        }
        words.push(c.to_ascii_lowercase());
    }
    words
}

/// An OpenSSL verify code and message for a refused certificate.
fn certificate_refusal(refusal: &CertificateError) -> (i32, String) {
    match refusal {
        CertificateError::UnknownIssuer => (20, "unable to get local issuer certificate".to_owned()),
        CertificateError::Expired | CertificateError::ExpiredContext { .. } => {
            (10, "certificate has expired".to_owned())
        }
        CertificateError::NotValidYet | CertificateError::NotValidYetContext { .. } => {
            (9, "certificate is not yet valid".to_owned())
        }
        CertificateError::NotValidForName => (
            62,
            "Hostname mismatch, certificate is not valid for this name.".to_owned(),
        ),
        CertificateError::NotValidForNameContext { expected, .. } => (
            62,
            format!(
                "Hostname mismatch, certificate is not valid for '{}'.",
                shown_name(expected)
            ),
        ),
        CertificateError::Revoked => (23, "certificate revoked".to_owned()),
        CertificateError::BadSignature => (7, "certificate signature failure".to_owned()),
        CertificateError::InvalidPurpose | CertificateError::InvalidPurposeContext { .. } => {
            (26, "unsupported certificate purpose".to_owned())
        }
        other => (1, format!("{other:?}")),
    }
}

fn shown_name(name: &ServerName<'_>) -> String {
    match name {
        ServerName::DnsName(dns) => dns.as_ref().to_owned(),
        ServerName::IpAddress(ip) => std::net::IpAddr::from(*ip).to_string(),
        _ => "?".to_owned(),
    }
}

/// Checks the peer as the `SSLContext` says: the chain (against the roots),
/// the name, both or neither. The handshake's signatures are always checked.
#[derive(Debug)]
struct PeerCheck {
    chain: Option<Arc<WebPkiServerVerifier>>,
    verify_chain: bool,
    check_name: bool,
}

impl ServerCertVerifier for PeerCheck {
    fn verify_server_cert(
        &self,
        end_entity: &CertificateDer<'_>,
        intermediates: &[CertificateDer<'_>],
        server_name: &ServerName<'_>,
        ocsp_response: &[u8],
        now: UnixTime,
    ) -> Result<ServerCertVerified, TlsFailure> {
        if !self.verify_chain {
            return Ok(ServerCertVerified::assertion());
        }
        let Some(chain) = &self.chain else {
            return Err(TlsFailure::InvalidCertificate(CertificateError::UnknownIssuer));
        };
        match chain.verify_server_cert(end_entity, intermediates, server_name, ocsp_response, now) {
            Err(TlsFailure::InvalidCertificate(
                CertificateError::NotValidForName | CertificateError::NotValidForNameContext { .. },
            )) if !self.check_name => Ok(ServerCertVerified::assertion()),
            other => other,
        }
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, TlsFailure> {
        rustls::crypto::verify_tls12_signature(
            message,
            cert,
            dss,
            &provider().signature_verification_algorithms,
        )
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, TlsFailure> {
        rustls::crypto::verify_tls13_signature(
            message,
            cert,
            dss,
            &provider().signature_verification_algorithms,
        )
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        provider().signature_verification_algorithms.supported_schemes()
    }
}

/// What a certificate says, as CPython's `getpeercert()` shows it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CertificateInfo {
    /// RDNs of (long attribute name, value).
    pub subject: Vec<Vec<(String, String)>>,
    /// The issuer's, likewise.
    pub issuer: Vec<Vec<(String, String)>>,
    /// 3 for X.509 v3.
    pub version: u32,
    /// Upper-case hex.
    pub serial_number: String,
    /// "Jun  1 00:00:00 2026 GMT".
    pub not_before: String,
    /// Likewise.
    pub not_after: String,
    /// `not_before` in seconds since the Unix epoch.
    pub valid_from: i64,
    /// `not_after` in seconds since the Unix epoch.
    pub valid_until: i64,
    /// ("DNS", name), ("IP Address", address).
    pub subject_alt_names: Vec<(String, String)>,
}

/// Reads a DER certificate.
pub fn describe_certificate(der: &[u8]) -> Result<CertificateInfo, String> {
    let (_, certificate) = x509_parser::parse_x509_certificate(der)
        .map_err(|error| format!("not an X.509 certificate: {error}"))?;
    let names = |name: &x509_parser::x509::X509Name<'_>| -> Vec<Vec<(String, String)>> {
        name.iter()
            .map(|rdn| {
                rdn.iter()
                    .map(|attribute| {
                        let oid = attribute.attr_type().to_id_string();
                        let value = attribute.as_str().map_or_else(|_| String::new(), str::to_owned);
                        (long_attribute_name(&oid), value)
                    })
                    .collect()
            })
            .collect()
    };
    let mut subject_alt_names = Vec::new();
    if let Ok(Some(extension)) = certificate.subject_alternative_name() {
        for name in &extension.value.general_names {
            match name {
                x509_parser::extensions::GeneralName::DNSName(dns) => {
                    subject_alt_names.push(("DNS".to_owned(), (*dns).to_owned()));
                }
                x509_parser::extensions::GeneralName::IPAddress(bytes) => {
                    subject_alt_names.push(("IP Address".to_owned(), openssl_ip(bytes)));
                }
                _ => {}
            }
        }
    }
    let validity = certificate.validity();
    Ok(CertificateInfo {
        subject: names(certificate.subject()),
        issuer: names(certificate.issuer()),
        version: certificate.version().0 + 1,
        serial_number: certificate
            .raw_serial()
            .iter()
            .map(|b| format!("{b:02X}"))
            .collect(),
        not_before: openssl_time(validity.not_before.timestamp()),
        not_after: openssl_time(validity.not_after.timestamp()),
        valid_from: validity.not_before.timestamp(),
        valid_until: validity.not_after.timestamp(),
        subject_alt_names,
    })
}

/// The long names OpenSSL gives the attributes certificates use.
fn long_attribute_name(oid: &str) -> String {
    match oid {
        "2.5.4.3" => "commonName",
        "2.5.4.4" => "surname",
        "2.5.4.5" => "serialNumber",
        "2.5.4.6" => "countryName",
        "2.5.4.7" => "localityName",
        "2.5.4.8" => "stateOrProvinceName",
        "2.5.4.9" => "streetAddress",
        "2.5.4.10" => "organizationName",
        "2.5.4.11" => "organizationalUnitName",
        "2.5.4.42" => "givenName",
        "1.2.840.113549.1.9.1" => "emailAddress",
        "0.9.2342.19200300.100.1.25" => "domainComponent",
        "0.9.2342.19200300.100.1.1" => "userId",
        other => other,
    }
    .to_owned()
}

/// An IP address as OpenSSL prints one in a certificate (IPv6 in full,
/// upper-case hex groups).
fn openssl_ip(bytes: &[u8]) -> String {
    match bytes.len() {
        4 => std::net::Ipv4Addr::new(bytes[0], bytes[1], bytes[2], bytes[3]).to_string(),
        16 => bytes
            .chunks(2)
            .map(|pair| format!("{:X}", u16::from_be_bytes([pair[0], pair[1]])))
            .collect::<Vec<_>>()
            .join(":"),
        _ => "<invalid>".to_owned(),
    }
}

/// A Unix time as OpenSSL prints certificate dates: "Jun  1 00:00:00 2026 GMT"
/// (times before 1970 print as its start).
fn openssl_time(seconds: i64) -> String {
    const MONTHS: [&str; 12] = [
        "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
    ];
    let seconds = u64::try_from(seconds).unwrap_or(0);
    let (year, month, day) = crate::access_log::civil_date(seconds / 86_400);
    let of_day = seconds % 86_400;
    format!(
        "{} {day:>2} {:02}:{:02}:{:02} {year} GMT",
        MONTHS[(month - 1) as usize],
        of_day / 3600,
        of_day % 3600 / 60,
        of_day % 60
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dates_print_as_openssl_prints_them() {
        assert_eq!(openssl_time(0), "Jan  1 00:00:00 1970 GMT");
        assert_eq!(openssl_time(1_780_272_000), "Jun  1 00:00:00 2026 GMT");
        assert_eq!(openssl_time(951_825_599), "Feb 29 11:59:59 2000 GMT");
        assert_eq!(openssl_time(4_102_444_799), "Dec 31 23:59:59 2099 GMT");
    }

    #[test]
    fn alerts_and_addresses_in_openssls_words() {
        assert_eq!(snake_words("UnknownCa"), "unknown ca");
        assert_eq!(
            openssl_ip(&[0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1]),
            "2001:DB8:0:0:0:0:0:1"
        );
        assert_eq!(openssl_ip(&[10, 0, 0, 5]), "10.0.0.5");
    }

    #[test]
    fn certificates_are_read_from_pem_or_der_and_refused_when_malformed() {
        let made = rcgen::generate_simple_self_signed(vec!["a.test".to_owned()]).unwrap();
        let pem = made.cert.pem();
        let der = made.cert.der().to_vec();
        assert_eq!(parse_certificates(pem.as_bytes()).unwrap().len(), 1);
        let mut two = der.clone();
        two.extend_from_slice(&der);
        assert_eq!(parse_certificates(&two).unwrap().len(), 2);
        assert_eq!(parse_certificates(b"").unwrap_err(), "no certificate found");
        assert!(
            parse_certificates(b"hello")
                .unwrap_err()
                .contains("no certificate")
        );
        assert!(
            parse_certificates(&[0x30, 0x82, 0xff, 0xff, 0x00])
                .unwrap_err()
                .contains("malformed DER")
        );
        let info = describe_certificate(&der).unwrap();
        assert_eq!(info.subject_alt_names, [("DNS".to_owned(), "a.test".to_owned())]);
        assert_eq!(info.version, 3);
    }
}
