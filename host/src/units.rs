//! Human-readable durations ("30s", "250ms") and sizes ("256MiB", "10MB").

use std::{fmt, str::FromStr, time::Duration};

use serde::{Deserialize, Deserializer, de};

/// A duration written for humans: a number and a unit (`ms`, `s`, `m`, `h`, `d`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub struct HumanDuration(pub Duration);

/// A size in bytes written for humans: a number and an optional unit
/// (`B`, `KB`, `MB`, `GB`, `KiB`, `MiB`, `GiB`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub struct ByteSize(pub u64);

impl FromStr for HumanDuration {
    type Err = String;

    fn from_str(text: &str) -> Result<Self, String> {
        let (number, unit) = split_number(text)?;
        let millis_per_unit: u64 = match unit {
            "ms" => 1,
            "s" => 1_000,
            "m" | "min" => 60_000,
            "h" => 3_600_000,
            "d" => 86_400_000,
            "" => return Err(format!("`{text}` needs a unit: ms, s, m, h or d (e.g. \"30s\")")),
            _ => {
                return Err(format!(
                    "`{text}` has an unknown unit `{unit}`; use ms, s, m, h or d"
                ));
            }
        };
        let millis = number * millis_per_unit as f64;
        if !millis.is_finite() || millis > u64::MAX as f64 / 2.0 {
            return Err(format!("`{text}` is too long"));
        }
        Ok(Self(Duration::from_micros((millis * 1000.0).round() as u64)))
    }
}

impl FromStr for ByteSize {
    type Err = String;

    fn from_str(text: &str) -> Result<Self, String> {
        let (number, unit) = split_number(text)?;
        let multiplier: u64 = match unit.to_ascii_lowercase().as_str() {
            "" | "b" => 1,
            "kb" | "k" => 1_000,
            "mb" | "m" => 1_000_000,
            "gb" | "g" => 1_000_000_000,
            "kib" => 1 << 10,
            "mib" => 1 << 20,
            "gib" => 1 << 30,
            _ => {
                return Err(format!(
                    "`{text}` has an unknown unit `{unit}`; use B, KB, MB, GB, KiB, MiB or GiB"
                ));
            }
        };
        let bytes = number * multiplier as f64;
        if !bytes.is_finite() || bytes > u64::MAX as f64 / 2.0 {
            return Err(format!("`{text}` is too large"));
        }
        Ok(Self(bytes.round() as u64))
    }
}

fn split_number(text: &str) -> Result<(f64, &str), String> {
    let text = text.trim();
    let split = text
        .find(|c: char| !(c.is_ascii_digit() || c == '.' || c == '_'))
        .unwrap_or(text.len());
    let (digits, unit) = text.split_at(split);
    let digits = digits.replace('_', "");
    if digits.is_empty() {
        return Err(format!("`{text}` does not start with a number"));
    }
    let number: f64 = digits.parse().map_err(|_| format!("`{text}` is not a number"))?;
    Ok((number, unit.trim()))
}

/// Accepts a string ("10MiB") or a bare integer (bytes / seconds).
macro_rules! deserialize_human {
    ($type:ty, $expecting:literal, $from_int:expr) => {
        impl<'de> Deserialize<'de> for $type {
            fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
                struct Visitor;
                impl de::Visitor<'_> for Visitor {
                    type Value = $type;
                    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                        f.write_str($expecting)
                    }
                    fn visit_str<E: de::Error>(self, text: &str) -> Result<$type, E> {
                        text.parse().map_err(E::custom)
                    }
                    fn visit_i64<E: de::Error>(self, value: i64) -> Result<$type, E> {
                        let value = u64::try_from(value).map_err(|_| E::custom("must not be negative"))?;
                        Ok($from_int(value))
                    }
                }
                deserializer.deserialize_any(Visitor)
            }
        }
    };
}

deserialize_human!(HumanDuration, "a duration such as \"30s\" or \"500ms\"", |secs| {
    HumanDuration(Duration::from_secs(secs))
});
deserialize_human!(ByteSize, "a size such as \"256MiB\" or \"10MB\"", ByteSize);

impl fmt::Display for ByteSize {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let units = [(1u64 << 30, "GiB"), (1 << 20, "MiB"), (1 << 10, "KiB")];
        for (size, name) in units {
            if self.0 >= size && self.0.is_multiple_of(size) {
                return write!(f, "{}{name}", self.0 / size);
            }
        }
        write!(f, "{}B", self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations() {
        let cases = [
            ("30s", Some(30_000)),
            ("250ms", Some(250)),
            ("1.5s", Some(1_500)),
            ("2m", Some(120_000)),
            ("1h", Some(3_600_000)),
            ("7d", Some(604_800_000)),
            (" 10 s ", Some(10_000)),
            ("30", None),
            ("s", None),
            ("3 weeks", None),
            ("", None),
        ];
        for (text, millis) in cases {
            let parsed = text.parse::<HumanDuration>().ok().map(|d| d.0.as_millis() as u64);
            assert_eq!(parsed, millis, "{text:?}");
        }
    }

    #[test]
    fn sizes() {
        let cases = [
            ("256MiB", Some(256 << 20)),
            ("10MB", Some(10_000_000)),
            ("1GiB", Some(1 << 30)),
            ("64KiB", Some(64 << 10)),
            ("1024", Some(1024)),
            ("1_024B", Some(1024)),
            ("0.5KiB", Some(512)),
            ("12 parsecs", None),
            ("MiB", None),
        ];
        for (text, bytes) in cases {
            assert_eq!(text.parse::<ByteSize>().ok().map(|s| s.0), bytes, "{text:?}");
        }
    }

    #[test]
    fn sizes_display_in_their_largest_exact_unit() {
        assert_eq!(ByteSize(256 << 20).to_string(), "256MiB");
        assert_eq!(ByteSize(1000).to_string(), "1000B");
        assert_eq!(ByteSize(3 << 30).to_string(), "3GiB");
    }
}
