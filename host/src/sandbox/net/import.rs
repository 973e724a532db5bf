//! The contract's `net` import: the guest's name lookups, made by the host
//! for names its mount's `outbound` allows, and the host's refusals
//! explained (the guest's libc sees only an errno).

use crate::sandbox::{
    instance::GuestState,
    terrarium::app::net::{Host, LookupError as WitLookupError},
};

use super::access::LookupError;

impl Host for GuestState {
    async fn resolve(
        &mut self,
        name: String,
        port: Option<u16>,
    ) -> wasmtime::Result<Result<Vec<String>, WitLookupError>> {
        let net = self.net().clone();
        let lookup = async move { net.resolve(&name, port).await };
        let found = tokio::time::timeout_at(self.deadline().into(), lookup)
            .await
            .map_err(|_| wasmtime::Trap::Interrupt)?;
        Ok(match found {
            Ok(addresses) => Ok(addresses.iter().map(ToString::to_string).collect()),
            Err(LookupError::Refused(message)) => Err(WitLookupError::Refused(message)),
            Err(LookupError::Failed(message)) => Err(WitLookupError::Failed(message)),
        })
    }

    fn take_refusal(&mut self) -> Option<String> {
        self.net().take_refusal()
    }

    fn connect_timeout(&mut self) -> u32 {
        let timeout = self.net().access().rules().connect_timeout;
        u32::try_from(timeout.as_millis()).unwrap_or(u32::MAX)
    }
}
