//! Session ids and the signed cookie that carries them. Pure: no I/O.
//!
//! An id is 32 bytes (256 bits) from the OS's secure generator, written as
//! 43 base64url characters. The cookie value is `<id>.<mac>`, where `mac` is
//! HMAC-SHA256 over the mount's namespace and the id, keyed with the first
//! secret; any of the secrets verifies (rotation). Anything that does not
//! parse and verify is treated as no cookie at all.

use base64::{Engine, engine::general_purpose::URL_SAFE_NO_PAD};
use hmac::{Hmac, Mac};
use sha2::Sha256;

type HmacSha256 = Hmac<Sha256>;

/// Length of an id in characters (32 bytes, base64url without padding).
pub const ID_LEN: usize = 43;

/// A fresh session id from the OS's secure random generator.
pub fn new_id() -> String {
    let mut bytes = [0u8; 32];
    getrandom::fill(&mut bytes).expect("the OS random generator is available");
    URL_SAFE_NO_PAD.encode(bytes)
}

/// Whether `id` has exactly the shape `new_id` makes (safe as a file name or key).
pub fn is_valid_id(id: &str) -> bool {
    id.len() == ID_LEN
        && id
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
}

fn mac(secret: &str, namespace: &str, id: &str) -> HmacSha256 {
    let mut mac = HmacSha256::new_from_slice(secret.as_bytes()).expect("HMAC takes any key length");
    mac.update(namespace.as_bytes());
    mac.update(b"\0");
    mac.update(id.as_bytes());
    mac
}

/// The cookie value for `id`, signed with `secret`.
pub fn sign(secret: &str, namespace: &str, id: &str) -> String {
    let tag = mac(secret, namespace, id).finalize().into_bytes();
    format!("{id}.{}", URL_SAFE_NO_PAD.encode(tag))
}

/// The id in a cookie value, when some secret verifies it (in constant time).
pub fn verify<'v>(secrets: &[String], namespace: &str, value: &'v str) -> Option<&'v str> {
    let (id, tag) = value.split_once('.')?;
    if !is_valid_id(id) {
        return None;
    }
    let tag = URL_SAFE_NO_PAD.decode(tag).ok()?;
    secrets
        .iter()
        .any(|secret| mac(secret, namespace, id).verify_slice(&tag).is_ok())
        .then_some(id)
}

#[cfg(test)]
mod tests {
    use super::*;

    const OLD: &str = "an-old-secret-that-still-verifies";
    const NEW: &str = "the-new-secret-that-signs-cookies";

    #[test]
    fn ids_are_unique_and_well_formed() {
        let a = new_id();
        assert!(is_valid_id(&a) && a != new_id());
        for bad in [
            "",
            "../../etc/passwd",
            &"a".repeat(42),
            &"a".repeat(44),
            &format!("{}=", "a".repeat(42)),
        ] {
            assert!(!is_valid_id(bad), "{bad}");
        }
    }

    #[test]
    fn signed_values_verify_and_tampering_fails() {
        let id = new_id();
        let value = sign(NEW, "blog", &id);
        let secrets = vec![NEW.to_owned(), OLD.to_owned()];
        assert_eq!(verify(&secrets, "blog", &value), Some(id.as_str()));
        assert_eq!(verify(&secrets, "api", &value), None, "another mount's cookie");
        let other_id = new_id();
        let swapped = format!("{other_id}.{}", value.split_once('.').unwrap().1);
        assert_eq!(
            verify(&secrets, "blog", &swapped),
            None,
            "a signature for another id"
        );
        for bad in [
            "",
            ".",
            "nodot",
            &format!("{id}."),
            &format!("{id}.!!!"),
            &value[..value.len() - 1],
        ] {
            assert_eq!(verify(&secrets, "blog", bad), None, "{bad:?}");
        }
    }

    #[test]
    fn rotation_old_secrets_verify_only_while_listed() {
        let id = new_id();
        let old_cookie = sign(OLD, "blog", &id);
        assert!(verify(&[NEW.to_owned(), OLD.to_owned()], "blog", &old_cookie).is_some());
        assert!(verify(&[NEW.to_owned()], "blog", &old_cookie).is_none());
    }
}
