//! Password-based key derivation for guests (the contract's `kdf`): PBKDF2
//! with HMAC (RFC 8018) and scrypt (RFC 7914), with the argument checks and
//! error messages of CPython's `hashlib`. Pure: no I/O.
//!
//! A guest chooses the cost, so both are bounded: PBKDF2 stops early once
//! its caller gives up (the request's deadline passed), and scrypt's memory
//! and work have ceilings of their own, whatever `maxmem` asks for.

use std::sync::atomic::{AtomicBool, Ordering};

use hmac::{Mac, SimpleHmac};
use sha1::Sha1;
use sha2::{Digest, Sha224, Sha256, Sha384, Sha512};

/// How many PBKDF2 iterations run between two looks at `cancelled`.
const ITERATIONS_PER_CHECK: u32 = 4096;

/// scrypt's memory when `maxmem` is 0 (OpenSSL's default, as CPython has it).
pub const SCRYPT_DEFAULT_MAXMEM: u64 = 32 << 20;
/// The most memory one scrypt call may take, whatever `maxmem` says.
pub const SCRYPT_MAX_MEMORY: u64 = 256 << 20;
/// The most work one scrypt call may do: `n * r * p` (Django's default is
/// 2^17, Werkzeug's 2^18; this one takes a few seconds).
pub const SCRYPT_MAX_WORK: u64 = 1 << 24;
/// The longest key either function derives (CPython's limit is `INT_MAX`).
pub const MAX_LENGTH: u32 = 1 << 20;

/// Why a derivation was refused or stopped.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum KdfError {
    /// An argument CPython would refuse, with CPython's message.
    Invalid(String),
    /// The caller gave up before the key was done.
    Cancelled,
}

impl std::fmt::Display for KdfError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Invalid(message) => f.write_str(message),
            Self::Cancelled => f.write_str("the key derivation was cancelled"),
        }
    }
}

fn invalid(message: impl Into<String>) -> KdfError {
    KdfError::Invalid(message.into())
}

fn check_length(length: u32) -> Result<usize, KdfError> {
    match length {
        0 => Err(invalid("key length must be greater than 0.")),
        length if length > MAX_LENGTH => Err(invalid(format!(
            "key length must be at most {MAX_LENGTH} in this sandbox."
        ))),
        length => Ok(length as usize),
    }
}

/// PBKDF2-HMAC with the hash named `hash` ("sha1", "sha224", "sha256",
/// "sha384" or "sha512"); gives up when `cancelled` is set.
pub fn pbkdf2_hmac(
    hash: &str,
    password: &[u8],
    salt: &[u8],
    iterations: u32,
    length: u32,
    cancelled: &AtomicBool,
) -> Result<Vec<u8>, KdfError> {
    if iterations == 0 {
        return Err(invalid("iteration value must be greater than 0."));
    }
    let length = check_length(length)?;
    match hash {
        "sha1" => pbkdf2::<Sha1>(password, salt, iterations, length, cancelled),
        "sha224" => pbkdf2::<Sha224>(password, salt, iterations, length, cancelled),
        "sha256" => pbkdf2::<Sha256>(password, salt, iterations, length, cancelled),
        "sha384" => pbkdf2::<Sha384>(password, salt, iterations, length, cancelled),
        "sha512" => pbkdf2::<Sha512>(password, salt, iterations, length, cancelled),
        other => Err(invalid(format!("unsupported hash type {other}"))),
    }
}

/// RFC 8018 §5.2: each block of the key is U1 ^ U2 ^ ... ^ Uc, with
/// U1 = PRF(P, S || INT(i)) and Uj = PRF(P, Uj-1).
fn pbkdf2<D>(
    password: &[u8],
    salt: &[u8],
    iterations: u32,
    length: usize,
    cancelled: &AtomicBool,
) -> Result<Vec<u8>, KdfError>
where
    D: Digest + hmac::digest::core_api::BlockSizeUser + Clone,
{
    let keyed = SimpleHmac::<D>::new_from_slice(password).expect("HMAC takes any key length");
    let mut key = Vec::with_capacity(length);
    for index in 1u32.. {
        let mut mac = keyed.clone();
        mac.update(salt);
        mac.update(&index.to_be_bytes());
        let mut u = mac.finalize().into_bytes();
        let mut block = u.clone();
        for round in 1..iterations {
            if round % ITERATIONS_PER_CHECK == 0 && cancelled.load(Ordering::Relaxed) {
                return Err(KdfError::Cancelled);
            }
            let mut mac = keyed.clone();
            mac.update(&u);
            u = mac.finalize().into_bytes();
            block.iter_mut().zip(&u).for_each(|(t, u)| *t ^= u);
        }
        let wanted = (length - key.len()).min(block.len());
        key.extend_from_slice(&block[..wanted]);
        if key.len() == length {
            break;
        }
    }
    Ok(key)
}

/// scrypt with CPython's checks: `n` a power of two above 1, the memory it
/// needs (`128 * r * (n + p + 2)` bytes) within `maxmem` (32 MiB when 0) and
/// within [`SCRYPT_MAX_MEMORY`], its work within [`SCRYPT_MAX_WORK`].
pub fn scrypt(
    password: &[u8],
    salt: &[u8],
    n: u64,
    r: u32,
    p: u32,
    maxmem: u64,
    length: u32,
) -> Result<Vec<u8>, KdfError> {
    if n < 2 || !n.is_power_of_two() {
        return Err(invalid("n must be a power of 2."));
    }
    if maxmem > i32::MAX as u64 {
        return Err(invalid(format!(
            "maxmem must be positive and smaller than {}",
            i32::MAX
        )));
    }
    let length = check_length(length)?;
    let combination = || invalid("Invalid parameter combination for n, r, p, maxmem.");
    if r == 0 || p == 0 || u64::from(r) * u64::from(p) >= 1 << 30 {
        return Err(combination());
    }
    let limit = if maxmem == 0 {
        SCRYPT_DEFAULT_MAXMEM
    } else {
        maxmem
    };
    let needed = 128 * u64::from(r) * (n + u64::from(p) + 2);
    if needed > limit {
        return Err(combination());
    }
    if needed > SCRYPT_MAX_MEMORY {
        return Err(invalid(format!(
            "scrypt may use at most {} MiB in this sandbox.",
            SCRYPT_MAX_MEMORY >> 20
        )));
    }
    if n * u64::from(r) * u64::from(p) > SCRYPT_MAX_WORK {
        return Err(invalid(format!(
            "scrypt's n * r * p may be at most {SCRYPT_MAX_WORK} in this sandbox."
        )));
    }
    let params = ::scrypt::Params::new(n.trailing_zeros() as u8, r, p, length).map_err(|_| combination())?;
    let mut key = vec![0; length];
    ::scrypt::scrypt(password, salt, &params, &mut key).map_err(|_| combination())?;
    Ok(key)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn hex(bytes: &[u8]) -> String {
        bytes.iter().map(|b| format!("{b:02x}")).collect()
    }

    fn pbkdf2_hex(hash: &str, password: &[u8], salt: &[u8], iterations: u32, length: u32) -> String {
        hex(&pbkdf2_hmac(hash, password, salt, iterations, length, &AtomicBool::new(false)).unwrap())
    }

    #[test]
    fn pbkdf2_matches_the_rfc_6070_and_rfc_7914_vectors() {
        // RFC 6070 (HMAC-SHA1).
        assert_eq!(
            pbkdf2_hex("sha1", b"password", b"salt", 1, 20),
            "0c60c80f961f0e71f3a9b524af6012062fe037a6"
        );
        assert_eq!(
            pbkdf2_hex("sha1", b"password", b"salt", 4096, 20),
            "4b007901b765489abead49d926f721d065a429c1"
        );
        assert_eq!(
            pbkdf2_hex(
                "sha1",
                b"passwordPASSWORDpassword",
                b"saltSALTsaltSALTsaltSALTsaltSALTsalt",
                4096,
                25
            ),
            "3d2eec4fe41c849b80c8d83662c0e44a8b291a964cf2f07038"
        );
        assert_eq!(
            pbkdf2_hex("sha1", b"pass\0word", b"sa\0lt", 4096, 16),
            "56fa6aa75548099dcc37d7f03425e0c3"
        );
        // RFC 7914 §11 (HMAC-SHA256), two blocks of output.
        assert_eq!(
            pbkdf2_hex("sha256", b"passwd", b"salt", 1, 64),
            "55ac046e56e3089fec1691c22544b605f94185216dde0465e68b9d57c20dacbc\
             49ca9cccf179b645991664b39d77ef317c71b845b1e30bd509112041d3a19783"
        );
    }

    #[test]
    fn pbkdf2_refuses_what_cpython_refuses_and_stops_when_cancelled() {
        let go = AtomicBool::new(false);
        let refused =
            |hash, iterations, length| pbkdf2_hmac(hash, b"p", b"s", iterations, length, &go).unwrap_err();
        assert_eq!(
            refused("sha256", 0, 32),
            invalid("iteration value must be greater than 0.")
        );
        assert_eq!(
            refused("sha256", 1, 0),
            invalid("key length must be greater than 0.")
        );
        assert_eq!(refused("md4", 1, 32), invalid("unsupported hash type md4"));
        let stop = AtomicBool::new(true);
        assert_eq!(
            pbkdf2_hmac("sha256", b"p", b"s", u32::MAX, 32, &stop),
            Err(KdfError::Cancelled)
        );
    }

    #[test]
    fn scrypt_matches_the_rfc_7914_vectors() {
        assert_eq!(
            hex(&scrypt(b"", b"", 16, 1, 1, 0, 64).unwrap()),
            "77d6576238657b203b19ca42c18a0497f16b4844e3074ae8dfdffa3fede21442\
             fcd0069ded0948f8326a753a0fc81f17e8d3e0fb2e0d3628cf35e20c38d18906"
        );
        assert_eq!(
            hex(&scrypt(b"password", b"NaCl", 1024, 8, 16, 0, 64).unwrap()),
            "fdbabe1c9d3472007856e7190d01e9fe7c6ad7cbc8237830e77376634b373162\
             2eaf30d92e22a3886ff109279d9830dac727afb94a83ee6d8360cbdfa2cc0640"
        );
    }

    #[test]
    fn scrypt_refuses_what_cpython_refuses_and_what_costs_too_much() {
        let refused = |n, r, p, maxmem| scrypt(b"p", b"s", n, r, p, maxmem, 64).unwrap_err().to_string();
        assert_eq!(refused(3, 8, 1, 0), "n must be a power of 2.");
        assert_eq!(refused(1, 8, 1, 0), "n must be a power of 2.");
        assert_eq!(
            refused(16, 0, 1, 0),
            "Invalid parameter combination for n, r, p, maxmem."
        );
        // 2^15 * 8 * 128 bytes is 32 MiB and a little: over the default maxmem.
        assert_eq!(
            refused(1 << 15, 8, 1, 0),
            "Invalid parameter combination for n, r, p, maxmem."
        );
        assert_eq!(
            refused(1 << 19, 8, 1, i32::MAX as u64),
            "scrypt may use at most 256 MiB in this sandbox."
        );
        assert_eq!(
            refused(1 << 14, 8, 1 << 10, 1 << 30),
            "scrypt's n * r * p may be at most 16777216 in this sandbox."
        );
        assert!(
            scrypt(b"p", b"s", 1 << 15, 8, 1, 132 << 20, 64).is_ok(),
            "Werkzeug's default"
        );
    }
}
