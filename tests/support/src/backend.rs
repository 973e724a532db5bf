//! A small HTTP/1.1 server on a free loopback port, plain or over TLS:
//! the service a test's app calls out to. It answers every request with
//! `backend saw PATH`;
//! `/slow` answers after two seconds. It closes a connection when the
//! client asks (`Connection: close`) or closes it.

use std::{
    io::{BufRead, BufReader, Read, Write},
    net::{SocketAddr, TcpListener},
    sync::Arc,
    time::Duration,
};

/// How long `/slow` takes to answer.
pub const SLOW: Duration = Duration::from_secs(2);

/// A running backend; it serves until the test process ends.
pub struct Backend {
    /// Where it listens (127.0.0.1, a free port).
    pub addr: SocketAddr,
}

impl Backend {
    /// Starts a plain HTTP backend on its own threads.
    pub fn start() -> Self {
        Self::serve(None)
    }

    /// Starts an HTTPS backend that presents `config`'s certificate.
    pub fn start_tls(config: Arc<rustls::ServerConfig>) -> Self {
        Self::serve(Some(config))
    }

    fn serve(tls: Option<Arc<rustls::ServerConfig>>) -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = listener.local_addr().unwrap();
        std::thread::spawn(move || {
            for stream in listener.incoming().flatten() {
                let tls = tls.clone();
                std::thread::spawn(move || {
                    let _ = match tls {
                        None => answer(stream),
                        Some(config) => match rustls::ServerConnection::new(config) {
                            Ok(connection) => answer(rustls::StreamOwned::new(connection, stream)),
                            Err(_) => Ok(()),
                        },
                    };
                });
            }
        });
        Self { addr }
    }

    /// `http://127.0.0.1:PORT{path}`.
    pub fn url(&self, path: &str) -> String {
        format!("http://{}{path}", self.addr)
    }
}

/// Answers the requests of one connection until the client closes it.
fn answer(stream: impl Read + Write) -> std::io::Result<()> {
    let mut reader = BufReader::new(stream);
    loop {
        let mut request_line = String::new();
        if reader.read_line(&mut request_line)? == 0 {
            return Ok(());
        }
        let mut close = false;
        loop {
            let mut header = String::new();
            if reader.read_line(&mut header)? == 0 || header == "\r\n" {
                break;
            }
            close |= header.to_ascii_lowercase().starts_with("connection: close");
        }
        let path = request_line.split(' ').nth(1).unwrap_or("/").to_owned();
        if path == "/slow" {
            std::thread::sleep(SLOW);
        }
        let body = format!("backend saw {path}");
        write!(
            reader.get_mut(),
            "HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: {}\r\n\r\n{body}",
            body.len()
        )?;
        reader.get_mut().flush()?;
        if close {
            return Ok(());
        }
    }
}
