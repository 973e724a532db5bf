//! Property tests (proptest) for the pure parts that face input: canonical
//! paths, the packed contract format, session cookies, mount resolution and
//! configuration parsing. Each holds for every input the strategies make,
//! not only the examples the unit tests pick.

use std::path::Path;

use proptest::prelude::*;
use terrarium::{
    config::SiteConfig,
    mounts::MountTable,
    packing::{self, HeadFields},
    paths::CanonicalPath,
    sessions::cookie,
};

/// Pieces of hostile and ordinary paths: dot segments in every spelling,
/// encoded slashes and NULs, broken escapes, non-ASCII.
fn path_piece() -> impl Strategy<Value = String> {
    prop_oneof![
        Just(String::new()),
        Just(".".to_owned()),
        Just("..".to_owned()),
        Just("%2e".to_owned()),
        Just("%2E%2e".to_owned()),
        Just(".%2e".to_owned()),
        Just("%2f".to_owned()),
        Just("%5c..".to_owned()),
        Just("%00".to_owned()),
        Just("%".to_owned()),
        Just("%g1".to_owned()),
        Just("%c3%a9".to_owned()),
        Just("%ff".to_owned()),
        Just("é".to_owned()),
        "[a-z]{1,3}",
        any::<String>(),
    ]
}

fn raw_path() -> impl Strategy<Value = String> {
    prop::collection::vec(path_piece(), 0..10).prop_map(|pieces| format!("/{}", pieces.join("/")))
}

/// A mount point: "/" or one to three short segments.
fn mount_point() -> impl Strategy<Value = String> {
    prop::collection::vec("[a-c]{1,2}", 0..4).prop_map(|segments| format!("/{}", segments.join("/")))
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(2000))]

    /// A canonical path has no dot or empty segment (so it can never climb
    /// above a mount or a static folder), and canonicalizing it again
    /// changes nothing.
    #[test]
    fn canonical_paths_never_escape_and_are_idempotent(raw in raw_path()) {
        if let Ok(path) = CanonicalPath::parse(&raw) {
            for segment in path.segments() {
                prop_assert!(!segment.is_empty() && segment != "." && segment != "..", "{raw:?} gave {segment:?}");
                prop_assert!(!segment.contains('\0'));
            }
            let again = CanonicalPath::parse(&path.encoded()).expect("a canonical path parses");
            prop_assert_eq!(&again, &path, "{:?} → {:?}", raw, path.encoded());
        }
    }

    /// Any bytes, unpacked as response headers, give pairs or errors, never a
    /// panic, and no pair holds a separator.
    #[test]
    fn unpacking_any_bytes_never_panics(bytes in prop::collection::vec(any::<u8>(), 0..512)) {
        for (name, value) in packing::unpack_headers(&bytes).flatten() {
            prop_assert!(!name.contains(&b'\n') && !name.contains(&0));
            prop_assert!(!value.contains(&b'\n'));
        }
    }

    /// Headers without separators pack and unpack to themselves; one with a
    /// separator is refused, never packed ambiguously.
    #[test]
    fn headers_round_trip_through_the_packed_format(
        headers in prop::collection::vec(("[a-z-]{1,12}", prop::collection::vec(any::<u8>(), 0..40)), 0..12),
    ) {
        let fields = HeadFields {
            request_id: "1",
            method: "GET",
            scheme: "http",
            authority: "a.test",
            path: "/",
            query: "",
            remote_addr: "127.0.0.1:1",
            script_name: "",
            path_info: "/",
            http_version: "1.1",
        };
        let has_separator = headers.iter().any(|(_, value)| value.contains(&b'\n') || value.contains(&0));
        let packed = packing::pack_head(&fields, headers.iter().map(|(n, v)| (n.as_str(), v.as_slice())));
        match packed {
            Err(_) => prop_assert!(has_separator),
            Ok(packed) => {
                prop_assert!(!has_separator);
                // Past the ten text fields, the headers use the response's layout.
                let mut rest = packed.as_slice();
                for _ in 0..10 {
                    let end = rest.iter().position(|&b| b == b'\n').unwrap();
                    rest = &rest[end + 1..];
                }
                let unpacked: Vec<(Vec<u8>, Vec<u8>)> = packing::unpack_headers(rest)
                    .map(|entry| entry.map(|(n, v)| (n.to_vec(), v.to_vec())))
                    .collect::<Result<_, _>>()
                    .unwrap();
                let expected: Vec<(Vec<u8>, Vec<u8>)> =
                    headers.iter().map(|(n, v)| (n.as_bytes().to_vec(), v.clone())).collect();
                prop_assert_eq!(unpacked, expected);
            }
        }
    }

    /// A signed cookie verifies to its id with its secret and namespace only;
    /// any other text verifies to nothing, and no text makes verify panic.
    #[test]
    fn cookies_verify_only_as_signed(
        secret in "[ -~]{16,40}",
        other_secret in "[ -~]{16,40}",
        namespace in "[a-z]{1,8}",
        tampered_at in any::<prop::sample::Index>(),
        replacement in "[A-Za-z0-9_.-]",
        junk in any::<String>(),
    ) {
        let id = cookie::new_id();
        let value = cookie::sign(&secret, &namespace, &id);
        let secrets = [secret.clone()];
        prop_assert_eq!(cookie::verify(&secrets, &namespace, &value), Some(id.as_str()));
        prop_assert_eq!(cookie::verify(&secrets, &format!("{namespace}x"), &value), None);
        if other_secret != secret {
            prop_assert_eq!(cookie::verify(&[other_secret], &namespace, &value), None);
        }
        let at = tampered_at.index(value.len());
        let mut tampered = value.clone();
        tampered.replace_range(at..=at, &replacement);
        if tampered != value {
            prop_assert_eq!(cookie::verify(&secrets, &namespace, &tampered), None, "{}", tampered);
        }
        prop_assert_eq!(cookie::verify(&secrets, &namespace, &junk), None);
    }

    /// A path resolves to the longest mount point that is a whole-segment
    /// prefix of it (the same answer as a plain search of every mount), and
    /// the mount point and the rest give back the canonical path.
    #[test]
    fn mount_resolution_picks_the_longest_whole_segment_prefix(
        points in prop::collection::btree_set(mount_point(), 1..6),
        raw in prop::collection::vec("[a-c]{1,2}|\\.\\.|%2e", 0..5).prop_map(|s| format!("/{}", s.join("/"))),
    ) {
        let table = MountTable::new(points.iter().map(|p| (p.clone(), p.clone())));
        let path = CanonicalPath::parse(&raw).unwrap();
        let expected = points
            .iter()
            .filter(|point| {
                let segments: Vec<String> =
                    point.split('/').filter(|s| !s.is_empty()).map(str::to_owned).collect();
                path.starts_with(&segments)
            })
            .max_by_key(|point| point.split('/').filter(|s| !s.is_empty()).count());
        let resolved = table.resolve(&path);
        prop_assert_eq!(resolved.as_ref().map(|r| r.target), expected);
        if let Some(resolved) = resolved {
            let rebuilt = format!("{}{}", resolved.script_name, resolved.path_info);
            let rebuilt = if rebuilt.is_empty() { "/".to_owned() } else { rebuilt };
            prop_assert_eq!(rebuilt, path.encoded());
        }
    }

    /// Any text, as a site file, is refused with a message or accepted:
    /// never a panic.
    #[test]
    fn any_text_as_a_site_file_is_refused_or_accepted_without_panic(text in any::<String>()) {
        let _ = SiteConfig::parse(&text, Path::new("/nonexistent-site"));
    }

    /// TOML built from the schema's own keys, with values of every type and
    /// size, is refused with a message or accepted: never a panic.
    #[test]
    fn schema_shaped_toml_is_refused_or_accepted_without_panic(text in site_file()) {
        if let Err(message) = SiteConfig::parse(&text, Path::new("/nonexistent-site")) {
            prop_assert!(!message.is_empty());
        }
    }
}

/// A value of any TOML type, in sizes and spellings the schema may not expect.
fn toml_value() -> impl Strategy<Value = String> {
    prop_oneof![
        any::<i64>().prop_map(|n| n.to_string()),
        Just("0".to_owned()),
        Just("-1".to_owned()),
        Just("18446744073709551615".to_owned()),
        any::<f64>()
            .prop_filter("finite", |f| f.is_finite())
            .prop_map(|f| format!("{f:?}")),
        any::<bool>().prop_map(|b| b.to_string()),
        Just("\"\"".to_owned()),
        Just("\"/\"".to_owned()),
        Just("\"0s\"".to_owned()),
        Just("\"99999999999h\"".to_owned()),
        Just("\"1EiB\"".to_owned()),
        Just("\"auto\"".to_owned()),
        Just("\"off\"".to_owned()),
        Just("\"env:NOT_SET_ANYWHERE\"".to_owned()),
        Just("\"0.0.0.0:0\"".to_owned()),
        Just("\"@faults\"".to_owned()),
        Just("\"/api/../x\"".to_owned()),
        "\"[ -~]{0,12}\"",
        Just("[]".to_owned()),
        Just("[\"/\", 1]".to_owned()),
        Just("{}".to_owned()),
    ]
}

const SERVER_KEYS: &[&str] = &[
    "listen",
    "admin",
    "admin_token",
    "shutdown_grace",
    "max_connections",
    "header_timeout",
    "keep_alive",
    "body_timeout",
    "min_body_rate",
    "max_buffered_bodies",
    "workers",
    "access_log",
    "memory_reset",
    "unknown",
];
const MOUNT_KEYS: &[&str] = &[
    "path",
    "app",
    "static",
    "entry",
    "name",
    "isolation",
    "instances",
    "memory",
    "timeout",
    "warm_up",
    "max_body",
    "index",
    "enabled",
    "sessions",
    "maintenance",
    "unknown",
];
const SESSIONS_KEYS: &[&str] = &[
    "store",
    "path",
    "url",
    "secrets",
    "idle_timeout",
    "absolute_timeout",
    "secure",
    "trusted_proxies",
    "max_sessions",
    "unknown",
];

fn table_of(keys: &'static [&'static str]) -> impl Strategy<Value = String> {
    prop::collection::vec((prop::sample::select(keys), toml_value()), 0..6).prop_map(|pairs| {
        // A key given twice is a TOML error; keep the first.
        let mut seen = std::collections::HashSet::new();
        pairs
            .into_iter()
            .filter(|(key, _)| seen.insert(*key))
            .map(|(key, value)| format!("{key} = {value}\n"))
            .collect()
    })
}

fn site_file() -> impl Strategy<Value = String> {
    (
        prop::option::of(table_of(SERVER_KEYS)),
        prop::option::of(table_of(SESSIONS_KEYS)),
        prop::collection::vec(table_of(MOUNT_KEYS), 0..4),
    )
        .prop_map(|(server, sessions, mounts)| {
            let mut text = String::new();
            if let Some(server) = server {
                text += &format!("[server]\n{server}");
            }
            if let Some(sessions) = sessions {
                text += &format!("[sessions]\n{sessions}");
            }
            for mount in mounts {
                text += &format!("[[mount]]\n{mount}");
            }
            text
        })
}
