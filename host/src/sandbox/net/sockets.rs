//! `wasi:sockets/tcp` and `tcp-create-socket` for an instance: wasmtime-wasi's
//! own implementation, with every socket counted against the mount's
//! `outbound_connections` from creation until the guest drops it (or the
//! instance goes), so a guest cannot hold more sockets, nor host file
//! descriptors, than its mount allows. Which addresses a socket may reach
//! is decided by the instance's socket address check ([`super::address_check`]).

use std::collections::HashMap;

use wasmtime::component::Resource;
use wasmtime_wasi::{
    p2::{
        DynInputStream, DynOutputStream, DynPollable, SocketError, SocketResult,
        bindings::sockets::{
            network::{self, ErrorCode, IpAddressFamily, IpSocketAddress, Network},
            tcp::{self, Duration, HostTcpSocket, ShutdownType},
            tcp_create_socket,
        },
    },
    sockets::{TcpSocket, WasiSocketsCtxView},
};

use super::access::{InstanceNet, OpenSocket};

/// The sockets one instance has open, by resource index.
#[derive(Debug, Default)]
pub struct OpenSockets(HashMap<u32, OpenSocket>);

/// The sockets as one instance sees them: WASI's, counted.
pub struct CountedSockets<'a> {
    /// wasmtime-wasi's sockets state.
    pub sockets: WasiSocketsCtxView<'a>,
    /// The instance's outbound state.
    pub net: &'a InstanceNet,
    /// Its open sockets.
    pub open: &'a mut OpenSockets,
}

impl tcp_create_socket::Host for CountedSockets<'_> {
    fn create_tcp_socket(&mut self, family: IpAddressFamily) -> SocketResult<Resource<TcpSocket>> {
        let Some(slot) = self.net.access().open_socket() else {
            self.net.refuse_socket();
            return Err(ErrorCode::NewSocketLimit.into());
        };
        let socket = tcp_create_socket::Host::create_tcp_socket(&mut self.sockets, family)?;
        self.open.0.insert(socket.rep(), slot);
        Ok(socket)
    }
}

impl network::Host for CountedSockets<'_> {
    fn convert_error_code(&mut self, error: SocketError) -> wasmtime::Result<ErrorCode> {
        network::Host::convert_error_code(&mut self.sockets, error)
    }

    fn network_error_code(
        &mut self,
        error: Resource<wasmtime::Error>,
    ) -> wasmtime::Result<Option<ErrorCode>> {
        network::Host::network_error_code(&mut self.sockets, error)
    }
}

impl network::HostNetwork for CountedSockets<'_> {
    fn drop(&mut self, this: Resource<Network>) -> wasmtime::Result<()> {
        network::HostNetwork::drop(&mut self.sockets, this)
    }
}

impl tcp::Host for CountedSockets<'_> {}

impl HostTcpSocket for CountedSockets<'_> {
    async fn start_bind(
        &mut self,
        this: Resource<TcpSocket>,
        network: Resource<Network>,
        local_address: IpSocketAddress,
    ) -> SocketResult<()> {
        HostTcpSocket::start_bind(&mut self.sockets, this, network, local_address).await
    }

    fn finish_bind(&mut self, this: Resource<TcpSocket>) -> SocketResult<()> {
        HostTcpSocket::finish_bind(&mut self.sockets, this)
    }

    async fn start_connect(
        &mut self,
        this: Resource<TcpSocket>,
        network: Resource<Network>,
        remote_address: IpSocketAddress,
    ) -> SocketResult<()> {
        HostTcpSocket::start_connect(&mut self.sockets, this, network, remote_address).await
    }

    fn finish_connect(
        &mut self,
        this: Resource<TcpSocket>,
    ) -> SocketResult<(Resource<DynInputStream>, Resource<DynOutputStream>)> {
        HostTcpSocket::finish_connect(&mut self.sockets, this)
    }

    fn start_listen(&mut self, this: Resource<TcpSocket>) -> SocketResult<()> {
        HostTcpSocket::start_listen(&mut self.sockets, this)
    }

    fn finish_listen(&mut self, this: Resource<TcpSocket>) -> SocketResult<()> {
        HostTcpSocket::finish_listen(&mut self.sockets, this)
    }

    fn accept(
        &mut self,
        _this: Resource<TcpSocket>,
    ) -> SocketResult<(
        Resource<TcpSocket>,
        Resource<DynInputStream>,
        Resource<DynOutputStream>,
    )> {
        // No socket of the sandbox can listen (binding is refused), so none can accept.
        Err(ErrorCode::InvalidState.into())
    }

    fn local_address(&mut self, this: Resource<TcpSocket>) -> SocketResult<IpSocketAddress> {
        HostTcpSocket::local_address(&mut self.sockets, this)
    }

    fn remote_address(&mut self, this: Resource<TcpSocket>) -> SocketResult<IpSocketAddress> {
        HostTcpSocket::remote_address(&mut self.sockets, this)
    }

    fn is_listening(&mut self, this: Resource<TcpSocket>) -> wasmtime::Result<bool> {
        HostTcpSocket::is_listening(&mut self.sockets, this)
    }

    fn address_family(&mut self, this: Resource<TcpSocket>) -> wasmtime::Result<IpAddressFamily> {
        HostTcpSocket::address_family(&mut self.sockets, this)
    }

    fn set_listen_backlog_size(&mut self, this: Resource<TcpSocket>, value: u64) -> SocketResult<()> {
        HostTcpSocket::set_listen_backlog_size(&mut self.sockets, this, value)
    }

    fn keep_alive_enabled(&mut self, this: Resource<TcpSocket>) -> SocketResult<bool> {
        HostTcpSocket::keep_alive_enabled(&mut self.sockets, this)
    }

    fn set_keep_alive_enabled(&mut self, this: Resource<TcpSocket>, value: bool) -> SocketResult<()> {
        HostTcpSocket::set_keep_alive_enabled(&mut self.sockets, this, value)
    }

    fn keep_alive_idle_time(&mut self, this: Resource<TcpSocket>) -> SocketResult<Duration> {
        HostTcpSocket::keep_alive_idle_time(&mut self.sockets, this)
    }

    fn set_keep_alive_idle_time(&mut self, this: Resource<TcpSocket>, value: Duration) -> SocketResult<()> {
        HostTcpSocket::set_keep_alive_idle_time(&mut self.sockets, this, value)
    }

    fn keep_alive_interval(&mut self, this: Resource<TcpSocket>) -> SocketResult<Duration> {
        HostTcpSocket::keep_alive_interval(&mut self.sockets, this)
    }

    fn set_keep_alive_interval(&mut self, this: Resource<TcpSocket>, value: Duration) -> SocketResult<()> {
        HostTcpSocket::set_keep_alive_interval(&mut self.sockets, this, value)
    }

    fn keep_alive_count(&mut self, this: Resource<TcpSocket>) -> SocketResult<u32> {
        HostTcpSocket::keep_alive_count(&mut self.sockets, this)
    }

    fn set_keep_alive_count(&mut self, this: Resource<TcpSocket>, value: u32) -> SocketResult<()> {
        HostTcpSocket::set_keep_alive_count(&mut self.sockets, this, value)
    }

    fn hop_limit(&mut self, this: Resource<TcpSocket>) -> SocketResult<u8> {
        HostTcpSocket::hop_limit(&mut self.sockets, this)
    }

    fn set_hop_limit(&mut self, this: Resource<TcpSocket>, value: u8) -> SocketResult<()> {
        HostTcpSocket::set_hop_limit(&mut self.sockets, this, value)
    }

    fn receive_buffer_size(&mut self, this: Resource<TcpSocket>) -> SocketResult<u64> {
        HostTcpSocket::receive_buffer_size(&mut self.sockets, this)
    }

    fn set_receive_buffer_size(&mut self, this: Resource<TcpSocket>, value: u64) -> SocketResult<()> {
        HostTcpSocket::set_receive_buffer_size(&mut self.sockets, this, value)
    }

    fn send_buffer_size(&mut self, this: Resource<TcpSocket>) -> SocketResult<u64> {
        HostTcpSocket::send_buffer_size(&mut self.sockets, this)
    }

    fn set_send_buffer_size(&mut self, this: Resource<TcpSocket>, value: u64) -> SocketResult<()> {
        HostTcpSocket::set_send_buffer_size(&mut self.sockets, this, value)
    }

    fn subscribe(&mut self, this: Resource<TcpSocket>) -> wasmtime::Result<Resource<DynPollable>> {
        HostTcpSocket::subscribe(&mut self.sockets, this)
    }

    fn shutdown(&mut self, this: Resource<TcpSocket>, how: ShutdownType) -> SocketResult<()> {
        HostTcpSocket::shutdown(&mut self.sockets, this, how)
    }

    fn drop(&mut self, this: Resource<TcpSocket>) -> wasmtime::Result<()> {
        let rep = this.rep();
        let dropped = HostTcpSocket::drop(&mut self.sockets, this);
        self.open.0.remove(&rep);
        dropped
    }
}
