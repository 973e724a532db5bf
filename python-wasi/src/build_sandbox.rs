//! What the app sees while it is built: WASI, with the app's folder
//! read-only as at run time, and the contract's imports as far as they make
//! sense before any request (logging goes to the build's error output;
//! password hashing is refused with a message; no quota has refused anything).
//!
//! componentize-py pre-initializes the app in a wasmtime store of its own
//! and mounts every `python_path` folder read-write; this is the linker it
//! is given instead of its default one.

use componentize_py::Ctx;
use wasmtime::component::{HasData, Linker, Resource};
use wasmtime_wasi::{
    DirPerms, FilePerms, WasiView,
    filesystem::{Descriptor, WasiFilesystemCtxView},
    p2::bindings::filesystem::preopens,
};

use crate::{
    cache::APP_GUEST_DIR,
    contract::bindings::{App, terrarium},
};

/// Fills `linker` for building: WASI with the app's folder read-only, and
/// the contract's imports.
pub fn add_to_linker(linker: &mut Linker<Ctx>) -> wasmtime::Result<()> {
    wasmtime_wasi::p2::add_to_linker_async(linker)?;
    linker.allow_shadowing(true);
    preopens::add_to_linker::<Ctx, ReadOnlyAppData>(linker, |ctx| {
        let view = ctx.ctx();
        ReadOnlyApp(WasiFilesystemCtxView {
            ctx: view.ctx.filesystem(),
            table: view.table,
        })
    })?;
    linker.allow_shadowing(false);
    App::add_to_linker::<Ctx, BuildImports>(linker, |_| BuildImports)?;
    Ok(())
}

/// The preopens, the app's folder among them read-only.
struct ReadOnlyApp<'a>(WasiFilesystemCtxView<'a>);

struct ReadOnlyAppData;

impl HasData for ReadOnlyAppData {
    type Data<'a> = ReadOnlyApp<'a>;
}

impl preopens::Host for ReadOnlyApp<'_> {
    fn get_directories(&mut self) -> wasmtime::Result<Vec<(Resource<Descriptor>, String)>> {
        let preopens = preopens::Host::get_directories(&mut self.0)?;
        for (fd, name) in &preopens {
            // componentize-py names its preopens without the leading '/'.
            if name.trim_start_matches('/') == APP_GUEST_DIR.trim_start_matches('/')
                && let Descriptor::Dir(dir) = self.0.table.get_mut(fd)?
            {
                // What is opened from it inherits these: nothing below it
                // can be created, changed or removed.
                dir.perms = DirPerms::READ;
                dir.file_perms = FilePerms::READ;
            }
        }
        Ok(preopens)
    }
}

/// The contract's imports while building.
struct BuildImports;

impl HasData for BuildImports {
    type Data<'a> = BuildImports;
}

impl terrarium::app::bytes::Host for BuildImports {}

impl terrarium::app::http::Host for BuildImports {}

impl terrarium::app::log::Host for BuildImports {
    fn write(&mut self, level: terrarium::app::log::Level, message: String) {
        eprintln!("[build] {level:?}: {message}");
    }
}

impl terrarium::app::kdf::Host for BuildImports {
    fn pbkdf2_hmac(&mut self, _: String, _: String, _: String, _: u32, _: u32) -> Result<Vec<u8>, String> {
        Err(NO_HASHING_WHILE_BUILDING.to_owned())
    }

    fn scrypt(
        &mut self,
        _: String,
        _: String,
        _: u64,
        _: u32,
        _: u32,
        _: u64,
        _: u32,
    ) -> Result<Vec<u8>, String> {
        Err(NO_HASHING_WHILE_BUILDING.to_owned())
    }
}

const NO_HASHING_WHILE_BUILDING: &str = "password hashing is done by the server, which is not there while the app is built: hash passwords when a request asks";

impl terrarium::app::storage::Host for BuildImports {
    fn take_refusal(&mut self) -> Option<String> {
        None
    }
}

/// While building, the guest SDK does not ask (it knows nothing can
/// connect then, and componentize-py cannot yet take an answer with a
/// payload while it pre-initializes): no addresses, no reason.
impl terrarium::app::net::Host for BuildImports {
    fn resolve(
        &mut self,
        _: String,
        _: Option<u16>,
    ) -> Result<Vec<String>, terrarium::app::net::LookupError> {
        Ok(Vec::new())
    }

    fn take_refusal(&mut self) -> Option<String> {
        None
    }

    fn connect_timeout(&mut self) -> u32 {
        10_000
    }
}

/// No request while building (warm-up requests never leave the guest):
/// no body to read, and no client to go away.
impl terrarium::app::streams::Host for BuildImports {
    fn read_body(&mut self, _: u32) -> Result<Option<Vec<u8>>, terrarium::app::streams::BodyError> {
        Ok(None)
    }

    fn client_gone(&mut self) -> bool {
        false
    }
}

/// No TLS while building: the SDK makes its host configs and sessions
/// only when a connection needs them, and none can be made then. A call
/// that comes anyway ends the build with this message.
const NO_TLS_WHILE_BUILDING: &str =
    "no TLS while the app is built (imported and snapshotted): make connections when a request needs them";

mod build_tls {
    use wasmtime::component::Resource;

    use super::{BuildImports, NO_TLS_WHILE_BUILDING, terrarium::app::tls::*};

    fn refused<T>() -> wasmtime::Result<T> {
        Err(wasmtime::format_err!("{NO_TLS_WHILE_BUILDING}"))
    }

    impl Host for BuildImports {
        fn describe_certificate(&mut self, _: String) -> wasmtime::Result<Result<CertificateInfo, String>> {
            refused()
        }
    }

    impl HostClientConfig for BuildImports {
        fn new(&mut self) -> wasmtime::Result<Resource<ClientConfig>> {
            refused()
        }
        fn add_roots(
            &mut self,
            _: Resource<ClientConfig>,
            _: String,
        ) -> wasmtime::Result<Result<u32, String>> {
            refused()
        }
        fn add_system_roots(&mut self, _: Resource<ClientConfig>) -> wasmtime::Result<u32> {
            refused()
        }
        fn added_roots(&mut self, _: Resource<ClientConfig>) -> wasmtime::Result<Vec<Vec<u8>>> {
            refused()
        }
        fn root_count(&mut self, _: Resource<ClientConfig>) -> wasmtime::Result<u32> {
            refused()
        }
        fn set_client_certificate(
            &mut self,
            _: Resource<ClientConfig>,
            _: String,
            _: String,
        ) -> wasmtime::Result<Result<(), String>> {
            refused()
        }
        fn drop(&mut self, _: Resource<ClientConfig>) -> wasmtime::Result<()> {
            Ok(())
        }
    }

    impl HostClientSession for BuildImports {
        fn open(
            &mut self,
            _: Resource<ClientConfig>,
            _: SessionOptions,
        ) -> wasmtime::Result<Result<Resource<ClientSession>, String>> {
            refused()
        }
        fn receive(
            &mut self,
            _: Resource<ClientSession>,
            _: String,
        ) -> wasmtime::Result<Result<(), TlsError>> {
            refused()
        }
        fn transmit(&mut self, _: Resource<ClientSession>) -> wasmtime::Result<Vec<u8>> {
            refused()
        }
        fn handshaking(&mut self, _: Resource<ClientSession>) -> wasmtime::Result<bool> {
            refused()
        }
        fn read(
            &mut self,
            _: Resource<ClientSession>,
            _: u32,
        ) -> wasmtime::Result<Result<ReadOutcome, TlsError>> {
            refused()
        }
        fn pending(&mut self, _: Resource<ClientSession>) -> wasmtime::Result<u32> {
            refused()
        }
        fn write(
            &mut self,
            _: Resource<ClientSession>,
            _: String,
        ) -> wasmtime::Result<Result<u32, TlsError>> {
            refused()
        }
        fn close(&mut self, _: Resource<ClientSession>) -> wasmtime::Result<()> {
            refused()
        }
        fn peer_closed(&mut self, _: Resource<ClientSession>) -> wasmtime::Result<bool> {
            refused()
        }
        fn info(&mut self, _: Resource<ClientSession>) -> wasmtime::Result<Option<SessionInfo>> {
            refused()
        }
        fn drop(&mut self, _: Resource<ClientSession>) -> wasmtime::Result<()> {
            Ok(())
        }
    }
}
