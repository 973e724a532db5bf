//! What an instance may reach over the network: the destinations its
//! mount's `outbound` lists, and no more sockets than its
//! `outbound_connections`.
//!
//! - [`access`]: the rules and counters of a mount, and one instance's
//!   view of them (the addresses its lookups learned, its last refusal).
//! - [`sockets`]: `wasi:sockets/tcp` with every socket counted.
//! - [`import`]: the contract's `net` import: name lookups, refusals explained.
//! - [`tls`]: client TLS by rustls: configs, sessions, certificates described.
//! - [`tls_import`]: the contract's `tls` import, over the resource table.
//!
//! The guest's sockets are WASI's own; [`address_check`] is the one place
//! that decides which addresses a socket may connect to (none may bind, so
//! none may listen). UDP and WASI's own name lookups are off.

pub mod access;
mod import;
pub mod sockets;
pub mod tls;
mod tls_import;

use std::{future::Future, net::SocketAddr, pin::Pin, sync::Arc};

use wasmtime::component::{HasData, Linker};
use wasmtime_wasi::{WasiCtxBuilder, sockets::SocketAddrUse};

pub use access::{InstanceNet, OutboundAccess};
pub use sockets::{CountedSockets, OpenSockets};

/// Marks [`CountedSockets`] as the TCP interfaces' host state in the linker.
struct CountedSocketsData;

impl HasData for CountedSocketsData {
    type Data<'a> = CountedSockets<'a>;
}

/// Replaces WASI's TCP interfaces in `linker` (which must hold them
/// already) with the counted ones, reached through `view`.
pub fn shadow_sockets<T: Send + 'static>(
    linker: &mut Linker<T>,
    view: fn(&mut T) -> CountedSockets<'_>,
) -> wasmtime::Result<()> {
    use wasmtime_wasi::p2::bindings::sockets::{tcp, tcp_create_socket};
    linker.allow_shadowing(true);
    tcp::add_to_linker::<T, CountedSocketsData>(linker, view)?;
    tcp_create_socket::add_to_linker::<T, CountedSocketsData>(linker, view)?;
    linker.allow_shadowing(false);
    Ok(())
}

/// Sets up `wasi`'s sockets for an instance whose outbound state is `net`:
/// TCP connections where [`InstanceNet::may_connect`] says, no binding, no
/// UDP, no name lookups through WASI (they go through the `net` import).
pub fn grant_sockets(wasi: &mut WasiCtxBuilder, net: &Arc<InstanceNet>) {
    let net = net.clone();
    wasi.allow_tcp(true)
        .allow_udp(false)
        .allow_ip_name_lookup(false)
        .socket_addr_check(move |address, use_| address_check(net.clone(), address, use_));
}

/// Whether a socket may use `address` as `use_` says.
fn address_check(
    net: Arc<InstanceNet>,
    address: SocketAddr,
    use_: SocketAddrUse,
) -> Pin<Box<dyn Future<Output = bool> + Send + Sync>> {
    Box::pin(async move {
        match use_ {
            SocketAddrUse::TcpConnect => net.may_connect(address).await,
            SocketAddrUse::TcpBind => {
                net.refuse_bind(address);
                false
            }
            SocketAddrUse::UdpBind | SocketAddrUse::UdpConnect | SocketAddrUse::UdpOutgoingDatagram => false,
        }
    })
}
