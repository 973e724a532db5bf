//! The contract's `kdf` import: PBKDF2 and scrypt for the guest (its
//! CPython has no OpenSSL), computed by [`crate::kdf`] on tokio's blocking
//! pool, at most one per core at a time, so a guest hashing a password
//! never holds up the event loop or the other guests on it. A derivation
//! still running at the call's deadline is abandoned (PBKDF2 stops at its
//! next check), and the guest is interrupted at its next epoch tick.

use std::sync::{
    Arc, OnceLock,
    atomic::{AtomicBool, Ordering},
};

use tokio::sync::Semaphore;

use super::{
    instance::GuestState,
    latin1,
    terrarium::app::{bytes::Latin1, kdf::Host},
};
use crate::kdf::{self, KdfError};

/// Derivations running at once, process-wide: one per core.
fn slots() -> &'static Semaphore {
    static SLOTS: OnceLock<Semaphore> = OnceLock::new();
    SLOTS.get_or_init(|| Semaphore::new(std::thread::available_parallelism().map_or(1, |n| n.get())))
}

/// Sets the flag when dropped: the caller gave up (deadline, or the
/// request's future was dropped).
struct CancelOnDrop(Arc<AtomicBool>);

impl Drop for CancelOnDrop {
    fn drop(&mut self) {
        self.0.store(true, Ordering::Relaxed);
    }
}

/// Runs `derive` on the blocking pool; the key, or why it was refused.
/// When `deadline` passes first, the guest is interrupted (as at an epoch
/// tick past its deadline: the request answers 504).
async fn run(
    deadline: std::time::Instant,
    derive: impl FnOnce(&AtomicBool) -> Result<Vec<u8>, KdfError> + Send + 'static,
) -> wasmtime::Result<Result<Vec<u8>, String>> {
    let work = async {
        let _slot = slots().acquire().await.expect("never closed");
        let cancelled = Arc::new(AtomicBool::new(false));
        let _cancel = CancelOnDrop(cancelled.clone());
        tokio::task::spawn_blocking(move || derive(&cancelled))
            .await
            .map_err(|_| "the key derivation failed".to_owned())?
            .map_err(|error| error.to_string())
    };
    tokio::time::timeout_at(deadline.into(), work)
        .await
        .map_err(|_| wasmtime::Trap::Interrupt.into())
}

impl Host for GuestState {
    async fn pbkdf2_hmac(
        &mut self,
        hash: String,
        password: Latin1,
        salt: Latin1,
        iterations: u32,
        length: u32,
    ) -> wasmtime::Result<Result<Vec<u8>, String>> {
        let (password, salt) = (latin1::into_bytes(password)?, latin1::into_bytes(salt)?);
        run(self.deadline(), move |cancelled| {
            kdf::pbkdf2_hmac(&hash, &password, &salt, iterations, length, cancelled)
        })
        .await
    }

    async fn scrypt(
        &mut self,
        password: Latin1,
        salt: Latin1,
        n: u64,
        r: u32,
        p: u32,
        maxmem: u64,
        length: u32,
    ) -> wasmtime::Result<Result<Vec<u8>, String>> {
        let (password, salt) = (latin1::into_bytes(password)?, latin1::into_bytes(salt)?);
        run(self.deadline(), move |_| {
            kdf::scrypt(&password, &salt, n, r, p, maxmem, length)
        })
        .await
    }
}
