//! The contract's `tls` import, over the instance's resource table: its
//! configs and sessions are [`tls`](super::tls)'s, and an instance may
//! have as many sessions open as its mount's `outbound_connections`.

use wasmtime::component::Resource;

use super::tls::{self, ClientConfig, ClientSession, ReadOutcome, SessionError, SessionOptions};
use crate::sandbox::{
    instance::GuestState,
    latin1,
    terrarium::app::bytes::Latin1,
    terrarium::app::tls::{
        CertificateInfo, CertificateRefusal, Host, HostClientConfig, HostClientSession, ProtocolFailure,
        ReadOutcome as WitReadOutcome, SessionInfo, SessionOptions as WitSessionOptions, TlsError,
    },
};

impl From<SessionError> for TlsError {
    fn from(error: SessionError) -> Self {
        match error {
            SessionError::Certificate(code, message) => {
                TlsError::Certificate(CertificateRefusal { code, message })
            }
            SessionError::Protocol(reason, message) => {
                TlsError::Protocol(ProtocolFailure { reason, message })
            }
            SessionError::Eof => TlsError::Eof,
        }
    }
}

impl Host for GuestState {
    fn describe_certificate(&mut self, der: Latin1) -> wasmtime::Result<Result<CertificateInfo, String>> {
        Ok(
            tls::describe_certificate(&latin1::into_bytes(der)?).map(|info| CertificateInfo {
                subject: info.subject,
                issuer: info.issuer,
                version: info.version,
                serial_number: info.serial_number,
                not_before: info.not_before,
                not_after: info.not_after,
                subject_alt_names: info.subject_alt_names,
            }),
        )
    }
}

impl HostClientConfig for GuestState {
    fn new(&mut self) -> wasmtime::Result<Resource<ClientConfig>> {
        let config = ClientConfig::new(self.net().access().extra_roots());
        Ok(self.table().push(config)?)
    }

    fn add_roots(
        &mut self,
        this: Resource<ClientConfig>,
        data: Latin1,
    ) -> wasmtime::Result<Result<u32, String>> {
        let data = latin1::into_bytes(data)?;
        Ok(self.table().get_mut(&this)?.add_roots(&data))
    }

    fn add_system_roots(&mut self, this: Resource<ClientConfig>) -> wasmtime::Result<u32> {
        Ok(self.table().get_mut(&this)?.add_system_roots())
    }

    fn added_roots(&mut self, this: Resource<ClientConfig>) -> wasmtime::Result<Vec<Vec<u8>>> {
        Ok(self.table().get(&this)?.added_roots())
    }

    fn root_count(&mut self, this: Resource<ClientConfig>) -> wasmtime::Result<u32> {
        Ok(self.table().get(&this)?.root_count())
    }

    fn set_client_certificate(
        &mut self,
        this: Resource<ClientConfig>,
        chain: Latin1,
        key: Latin1,
    ) -> wasmtime::Result<Result<(), String>> {
        let (chain, key) = (latin1::into_bytes(chain)?, latin1::into_bytes(key)?);
        Ok(self.table().get_mut(&this)?.set_client_certificate(&chain, &key))
    }

    fn drop(&mut self, this: Resource<ClientConfig>) -> wasmtime::Result<()> {
        self.table().delete(this)?;
        Ok(())
    }
}

impl HostClientSession for GuestState {
    fn open(
        &mut self,
        config: Resource<ClientConfig>,
        options: WitSessionOptions,
    ) -> wasmtime::Result<Result<Resource<ClientSession>, String>> {
        let limit = self.net().access().rules().connections as usize;
        if self.tls_sessions >= limit {
            return Ok(Err(format!(
                "the app already has {limit} TLS connections open in this instance, its `outbound_connections`"
            )));
        }
        let options = SessionOptions {
            server_name: options.server_name,
            verify_chain: options.verify_chain,
            check_name: options.check_name,
            alpn: options.alpn,
            versions: (options.min_version, options.max_version),
        };
        let opened = ClientSession::open(self.table().get(&config)?, &options);
        Ok(match opened {
            Ok(session) => {
                self.tls_sessions += 1;
                Ok(self.table().push(session)?)
            }
            Err(reason) => Err(reason),
        })
    }

    fn receive(
        &mut self,
        this: Resource<ClientSession>,
        data: Latin1,
    ) -> wasmtime::Result<Result<(), TlsError>> {
        let data = latin1::into_bytes(data)?;
        Ok(self
            .table()
            .get_mut(&this)?
            .receive(&data)
            .map_err(TlsError::from))
    }

    fn transmit(&mut self, this: Resource<ClientSession>) -> wasmtime::Result<Vec<u8>> {
        Ok(self.table().get_mut(&this)?.transmit())
    }

    fn handshaking(&mut self, this: Resource<ClientSession>) -> wasmtime::Result<bool> {
        Ok(self.table().get(&this)?.handshaking())
    }

    fn read(
        &mut self,
        this: Resource<ClientSession>,
        max: u32,
    ) -> wasmtime::Result<Result<WitReadOutcome, TlsError>> {
        let outcome = self.table().get_mut(&this)?.read(max as usize);
        Ok(match outcome {
            Ok(ReadOutcome::Data(data)) => Ok(WitReadOutcome::Data(data)),
            Ok(ReadOutcome::WantRead) => Ok(WitReadOutcome::WantRead),
            Ok(ReadOutcome::Closed) => Ok(WitReadOutcome::Closed),
            Err(error) => Err(error.into()),
        })
    }

    fn pending(&mut self, this: Resource<ClientSession>) -> wasmtime::Result<u32> {
        Ok(self.table().get_mut(&this)?.pending() as u32)
    }

    fn write(
        &mut self,
        this: Resource<ClientSession>,
        data: Latin1,
    ) -> wasmtime::Result<Result<u32, TlsError>> {
        let data = latin1::into_bytes(data)?;
        Ok(self
            .table()
            .get_mut(&this)?
            .write(&data)
            .map(|count| count as u32)
            .map_err(TlsError::from))
    }

    fn close(&mut self, this: Resource<ClientSession>) -> wasmtime::Result<()> {
        self.table().get_mut(&this)?.close();
        Ok(())
    }

    fn peer_closed(&mut self, this: Resource<ClientSession>) -> wasmtime::Result<bool> {
        Ok(self.table().get_mut(&this)?.peer_closed())
    }

    fn info(&mut self, this: Resource<ClientSession>) -> wasmtime::Result<Option<SessionInfo>> {
        Ok(self.table().get(&this)?.info().map(|info| SessionInfo {
            version: info.version,
            cipher: info.cipher,
            cipher_bits: info.cipher_bits,
            alpn: info.alpn,
            peer_certificates: info.peer_certificates,
        }))
    }

    fn drop(&mut self, this: Resource<ClientSession>) -> wasmtime::Result<()> {
        self.table().delete(this)?;
        self.tls_sessions -= 1;
        Ok(())
    }
}
