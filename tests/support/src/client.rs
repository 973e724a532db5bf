//! The tests' HTTP client: one request per fresh connection, real HTTP/1.1.

use std::net::SocketAddr;

use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper::body::{Body, Incoming};
use tokio::net::TcpStream;

/// Sends requests to one address.
#[derive(Debug, Clone, Copy)]
pub struct Client {
    /// Where to.
    pub addr: SocketAddr,
}

/// What a client saw.
#[derive(Debug)]
pub struct Reply {
    /// The status code.
    pub status: u16,
    /// The response's headers.
    pub headers: http::HeaderMap,
    /// The whole body.
    pub body: Bytes,
}

impl Reply {
    /// The body as text (invalid UTF-8 replaced).
    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }

    /// The body as JSON; panics, showing it, when it is not.
    pub fn json(&self) -> serde_json::Value {
        serde_json::from_slice(&self.body).unwrap_or_else(|e| panic!("not JSON ({e}): {}", self.text()))
    }

    /// A header's value as text; panics when it is missing.
    pub fn header(&self, name: &str) -> &str {
        self.headers
            .get(name)
            .unwrap_or_else(|| panic!("no {name} header: {self:?}"))
            .to_str()
            .unwrap()
    }
}

/// A response whose body is read as it arrives; dropping it closes the
/// connection (the client goes away).
#[derive(Debug)]
pub struct StreamedReply {
    /// The status code.
    pub status: u16,
    /// The response's headers.
    pub headers: http::HeaderMap,
    body: Incoming,
}

impl StreamedReply {
    /// The next part of the body as it arrived; none at its end, an error
    /// when the body was cut short.
    pub async fn next_part(&mut self) -> Option<Result<Bytes, hyper::Error>> {
        loop {
            match self.body.frame().await? {
                Ok(frame) => match frame.into_data() {
                    Ok(data) => return Some(Ok(data)),
                    Err(_trailers) => continue,
                },
                Err(error) => return Some(Err(error)),
            }
        }
    }
}

/// The `name=value` part of a response's Set-Cookie header.
pub fn cookie_of(reply: &Reply) -> String {
    reply.header("set-cookie").split(';').next().unwrap().to_owned()
}

impl Client {
    /// A client of the server at `addr`.
    pub fn at(addr: SocketAddr) -> Self {
        Self { addr }
    }

    /// `GET path`.
    pub async fn get(&self, path: &str) -> Reply {
        self.send("GET", path, &[], Vec::new()).await
    }

    /// `GET path` with these headers.
    pub async fn get_with(&self, path: &str, headers: &[(&str, &str)]) -> Reply {
        self.send("GET", path, headers, Vec::new()).await
    }

    /// `POST path` with this body.
    pub async fn post(&self, path: &str, body: impl Into<Vec<u8>>) -> Reply {
        self.send("POST", path, &[], body.into()).await
    }

    /// `POST path` with this body of this content type.
    pub async fn post_as(&self, path: &str, content_type: &str, body: impl Into<Vec<u8>>) -> Reply {
        self.send("POST", path, &[("content-type", content_type)], body.into())
            .await
    }

    /// Any request, on a fresh connection.
    pub async fn send(&self, method: &str, path: &str, headers: &[(&str, &str)], body: Vec<u8>) -> Reply {
        let response = self
            .open(method, path, headers, Full::new(Bytes::from(body)))
            .await;
        let status = response.status;
        let headers = response.headers.clone();
        let body = response.body.collect().await.unwrap().to_bytes();
        Reply {
            status,
            headers,
            body,
        }
    }

    /// Any request with a body that may stream, on a fresh connection,
    /// returned as soon as the response's head is there: its body is read
    /// part by part as it arrives ([`StreamedReply::next_part`]).
    pub async fn open<B>(&self, method: &str, path: &str, headers: &[(&str, &str)], body: B) -> StreamedReply
    where
        B: Body<Data = Bytes> + Send + 'static,
        B::Error: Into<Box<dyn std::error::Error + Send + Sync>>,
    {
        self.try_open(method, path, headers, body).await.unwrap()
    }

    /// [`Self::open`], or the error when the connection ended before the
    /// response's head came.
    pub async fn try_open<B>(
        &self,
        method: &str,
        path: &str,
        headers: &[(&str, &str)],
        body: B,
    ) -> Result<StreamedReply, hyper::Error>
    where
        B: Body<Data = Bytes> + Send + 'static,
        B::Error: Into<Box<dyn std::error::Error + Send + Sync>>,
    {
        let stream = TcpStream::connect(self.addr).await.unwrap();
        let (mut sender, connection) =
            hyper::client::conn::http1::handshake(hyper_util::rt::TokioIo::new(stream))
                .await
                .unwrap();
        tokio::spawn(connection);
        let mut builder = http::Request::builder().method(method).uri(path);
        // The server's address, unless the test names a host of its own.
        if !headers.iter().any(|(name, _)| name.eq_ignore_ascii_case("host")) {
            builder = builder.header("host", self.addr.to_string());
        }
        for (name, value) in headers {
            builder = builder.header(*name, *value);
        }
        let response = sender.send_request(builder.body(body).unwrap()).await?;
        Ok(StreamedReply {
            status: response.status().as_u16(),
            headers: response.headers().clone(),
            body: response.into_body(),
        })
    }

    /// Writes `bytes` as they are (a request no well-behaved client would
    /// send) and returns everything the server answers until it closes the
    /// connection or `limit` passes.
    pub async fn raw(&self, bytes: &[u8], limit: std::time::Duration) -> String {
        use tokio::io::{AsyncReadExt, AsyncWriteExt};
        let mut stream = TcpStream::connect(self.addr).await.unwrap();
        stream.write_all(bytes).await.unwrap();
        let mut answer = Vec::new();
        let _ = tokio::time::timeout(limit, stream.read_to_end(&mut answer)).await;
        String::from_utf8_lossy(&answer).into_owned()
    }

    /// `GET path` from a test that has no runtime of its own; panics when
    /// no answer comes within a minute (a test never hangs on a server that
    /// stopped answering).
    pub fn get_blocking(&self, path: &str) -> Reply {
        self.send_blocking("GET", path)
    }

    /// `POST path` with an empty body, as [`Self::get_blocking`] sends a GET.
    pub fn post_blocking(&self, path: &str) -> Reply {
        self.send_blocking("POST", path)
    }

    fn send_blocking(&self, method: &str, path: &str) -> Reply {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        runtime.block_on(async {
            tokio::time::timeout(
                std::time::Duration::from_secs(60),
                self.send(method, path, &[], Vec::new()),
            )
            .await
            .unwrap_or_else(|_| panic!("{method} {path}: no answer from {} within 60 s", self.addr))
        })
    }
}
