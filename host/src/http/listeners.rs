//! The public listening sockets, one per worker thread.
//!
//! On Linux every worker gets a socket of its own, all bound to the same
//! address in one `SO_REUSEPORT` group, and the kernel spreads new
//! connections between them; elsewhere the workers share one socket.

use std::{io, net::SocketAddr};

/// Sockets listening on the site's address, one per worker thread.
#[derive(Debug)]
pub struct PublicListeners {
    sockets: Vec<std::net::TcpListener>,
    address: SocketAddr,
}

/// Connections waiting to be accepted, per socket.
const BACKLOG: i32 = 1024;

impl PublicListeners {
    /// Listens on `address` for `workers` worker threads (at least one).
    /// Port 0 picks a free port. Fails, as a plain bind would, when another
    /// socket already listens on the address.
    pub fn bind(address: SocketAddr, workers: usize) -> io::Result<Self> {
        let sockets = bind_sockets(address, workers.max(1))?;
        let address = sockets[0].local_addr()?;
        Ok(Self { sockets, address })
    }

    /// The address listened on (with the port picked for port 0).
    pub fn local_addr(&self) -> SocketAddr {
        self.address
    }

    /// How many workers these sockets are for.
    pub fn workers(&self) -> usize {
        self.sockets.len()
    }

    /// The sockets, one per worker, non-blocking.
    pub(super) fn into_sockets(self) -> Vec<std::net::TcpListener> {
        self.sockets
    }
}

#[cfg(target_os = "linux")]
fn bind_sockets(address: SocketAddr, workers: usize) -> io::Result<Vec<std::net::TcpListener>> {
    use socket2::{Domain, Protocol, Socket, Type};

    let socket = |reuse_port: bool| -> io::Result<Socket> {
        let socket = Socket::new(Domain::for_address(address), Type::STREAM, Some(Protocol::TCP))?;
        socket.set_reuse_address(true)?;
        socket.set_reuse_port(reuse_port)?;
        socket.set_nonblocking(true)?;
        Ok(socket)
    };
    if address.port() != 0 {
        // A group would quietly share the port with another server of the
        // same user that listens on it with SO_REUSEPORT: make sure no one does.
        socket(false)?.bind(&address.into())?;
    }
    let mut sockets = Vec::with_capacity(workers);
    let mut bound_to = address;
    for _ in 0..workers {
        let member = socket(true)?;
        member.bind(&bound_to.into())?;
        member.listen(BACKLOG)?;
        let listener = std::net::TcpListener::from(member);
        bound_to = listener.local_addr()?;
        sockets.push(listener);
    }
    Ok(sockets)
}

#[cfg(not(target_os = "linux"))]
fn bind_sockets(address: SocketAddr, workers: usize) -> io::Result<Vec<std::net::TcpListener>> {
    let listener = std::net::TcpListener::bind(address)?;
    listener.set_nonblocking(true)?;
    let mut sockets = vec![listener.try_clone()?];
    for _ in 1..workers {
        sockets.push(listener.try_clone()?);
    }
    Ok(sockets)
}

#[cfg(test)]
mod tests {
    use std::io::{Read, Write};

    use super::*;

    #[test]
    fn every_worker_gets_a_socket_on_the_same_port() {
        let listeners = PublicListeners::bind("127.0.0.1:0".parse().unwrap(), 3).unwrap();
        assert_eq!(listeners.workers(), 3);
        let address = listeners.local_addr();
        assert_ne!(address.port(), 0);
        for socket in listeners.into_sockets() {
            assert_eq!(socket.local_addr().unwrap(), address);
        }
    }

    #[test]
    fn a_port_in_use_is_refused() {
        let taken = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let error = PublicListeners::bind(taken.local_addr().unwrap(), 2).unwrap_err();
        assert_eq!(error.kind(), io::ErrorKind::AddrInUse);
        // Nor can a second server join a running one's group.
        let running = PublicListeners::bind("127.0.0.1:0".parse().unwrap(), 2).unwrap();
        let error = PublicListeners::bind(running.local_addr(), 2).unwrap_err();
        assert_eq!(error.kind(), io::ErrorKind::AddrInUse);
    }

    #[test]
    fn connections_reach_the_sockets() {
        let listeners = PublicListeners::bind("127.0.0.1:0".parse().unwrap(), 2).unwrap();
        let address = listeners.local_addr();
        let sockets = listeners.into_sockets();
        let mut clients: Vec<_> = (0..16)
            .map(|_| std::net::TcpStream::connect(address).unwrap())
            .collect();
        // Every connection lands in one of the group's accept queues.
        let mut accepted = 0;
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(5);
        while accepted < clients.len() && std::time::Instant::now() < deadline {
            for socket in &sockets {
                while let Ok((mut stream, _)) = socket.accept() {
                    stream.write_all(b"x").unwrap();
                    accepted += 1;
                }
            }
        }
        assert_eq!(accepted, clients.len());
        for client in &mut clients {
            let mut byte = [0];
            client.read_exact(&mut byte).unwrap();
            assert_eq!(&byte, b"x");
        }
    }
}
