//! A client for the HTTPS and HTTP/2 listeners: one connection, kept open
//! for several requests, over TLS (HTTP/1.1 or HTTP/2 as ALPN settles) or
//! plain TCP with HTTP/2 by prior knowledge (h2c). It tells what the
//! handshake gave: the certificate served, the protocol agreed.

use std::{net::SocketAddr, sync::Arc};

use bytes::Bytes;
use http_body_util::{BodyExt, Empty};
use hyper::client::conn::{http1, http2};
use hyper_util::rt::{TokioExecutor, TokioIo};
use rustls::{
    DigitallySignedStruct, SignatureScheme,
    client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier},
    pki_types::{CertificateDer, ServerName, UnixTime, pem::PemObject},
};
use tokio::net::TcpStream;

use crate::TestCa;

/// How the client checks the server's certificate.
pub enum Trust<'a> {
    /// As a browser would: signed by this CA, for the name asked for.
    Ca(&'a TestCa),
    /// Not at all (to see which certificate a name gets).
    Anything,
}

/// An open connection.
pub struct Connection {
    sender: Sender,
    /// The leaf certificate the server presented (DER), over TLS.
    pub certificate: Option<Vec<u8>>,
    /// The protocol ALPN settled on ("h2", "http/1.1"), over TLS.
    pub alpn: Option<String>,
}

enum Sender {
    Http1(http1::SendRequest<Empty<Bytes>>),
    Http2(http2::SendRequest<Empty<Bytes>>),
}

/// What one request got.
#[derive(Debug)]
pub struct Answer {
    /// The status code.
    pub status: u16,
    /// The protocol of the response.
    pub version: http::Version,
    /// Its headers.
    pub headers: http::HeaderMap,
    /// The whole body, as text.
    pub text: String,
}

impl Connection {
    /// Connects to `addr` over TLS, asking for `name` (SNI) and offering
    /// `alpn` ("h2", "http/1.1"); speaks what ALPN settles on.
    pub async fn tls(addr: SocketAddr, name: &str, alpn: &[&str], trust: Trust<'_>) -> std::io::Result<Self> {
        let provider = Arc::new(rustls::crypto::ring::default_provider());
        let builder = rustls::ClientConfig::builder_with_provider(provider.clone())
            .with_safe_default_protocol_versions()
            .unwrap();
        let mut config = match trust {
            Trust::Ca(ca) => {
                let mut roots = rustls::RootCertStore::empty();
                for cert in CertificateDer::pem_slice_iter(ca.pem.as_bytes()) {
                    roots.add(cert.unwrap()).unwrap();
                }
                builder.with_root_certificates(roots).with_no_client_auth()
            }
            Trust::Anything => builder
                .dangerous()
                .with_custom_certificate_verifier(Arc::new(AcceptAnything(provider)))
                .with_no_client_auth(),
        };
        config.alpn_protocols = alpn.iter().map(|p| p.as_bytes().to_vec()).collect();
        let connector = tokio_rustls::TlsConnector::from(Arc::new(config));
        let tcp = TcpStream::connect(addr).await?;
        let server_name = ServerName::try_from(name.to_owned()).unwrap();
        let stream = connector.connect(server_name, tcp).await?;
        let session = stream.get_ref().1;
        let certificate = session
            .peer_certificates()
            .and_then(|chain| chain.first())
            .map(|cert| cert.to_vec());
        let alpn = session
            .alpn_protocol()
            .map(|p| String::from_utf8_lossy(p).into_owned());
        let sender = if alpn.as_deref() == Some("h2") {
            Sender::Http2(handshake_h2(TokioIo::new(stream)).await)
        } else {
            Sender::Http1(handshake_h1(TokioIo::new(stream)).await)
        };
        Ok(Self {
            sender,
            certificate,
            alpn,
        })
    }

    /// Connects to `addr` over plain TCP and speaks HTTP/2 at once (h2c).
    pub async fn h2c(addr: SocketAddr) -> std::io::Result<Self> {
        let tcp = TcpStream::connect(addr).await?;
        Ok(Self {
            sender: Sender::Http2(handshake_h2(TokioIo::new(tcp)).await),
            certificate: None,
            alpn: None,
        })
    }

    /// `GET path` for `host`; an error when the connection is gone.
    pub async fn get(&mut self, host: &str, path: &str) -> Result<Answer, hyper::Error> {
        let response = match &mut self.sender {
            Sender::Http1(sender) => {
                let request = http::Request::get(path)
                    .header("host", host)
                    .body(Empty::new())
                    .unwrap();
                sender.send_request(request).await?
            }
            Sender::Http2(sender) => {
                let request = http::Request::get(format!("https://{host}{path}"))
                    .body(Empty::new())
                    .unwrap();
                sender.send_request(request).await?
            }
        };
        let (parts, body) = response.into_parts();
        let body = body.collect().await?.to_bytes();
        Ok(Answer {
            status: parts.status.as_u16(),
            version: parts.version,
            headers: parts.headers,
            text: String::from_utf8_lossy(&body).into_owned(),
        })
    }
}

async fn handshake_h1<IO>(io: IO) -> http1::SendRequest<Empty<Bytes>>
where
    IO: hyper::rt::Read + hyper::rt::Write + Unpin + Send + 'static,
{
    let (sender, connection) = http1::handshake(io).await.unwrap();
    tokio::spawn(connection);
    sender
}

async fn handshake_h2<IO>(io: IO) -> http2::SendRequest<Empty<Bytes>>
where
    IO: hyper::rt::Read + hyper::rt::Write + Unpin + Send + 'static,
{
    let (sender, connection) = http2::handshake(TokioExecutor::new(), io).await.unwrap();
    tokio::spawn(connection);
    sender
}

/// Takes any certificate (the test compares it with the one it expects).
#[derive(Debug)]
struct AcceptAnything(Arc<rustls::crypto::CryptoProvider>);

impl ServerCertVerifier for AcceptAnything {
    fn verify_server_cert(
        &self,
        _end_entity: &CertificateDer<'_>,
        _intermediates: &[CertificateDer<'_>],
        _server_name: &ServerName<'_>,
        _ocsp_response: &[u8],
        _now: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        Ok(ServerCertVerified::assertion())
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls12_signature(message, cert, dss, &self.0.signature_verification_algorithms)
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls13_signature(message, cert, dss, &self.0.signature_verification_algorithms)
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.0.signature_verification_algorithms.supported_schemes()
    }
}
