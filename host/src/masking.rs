//! Secret values masked out of what the host writes or serves about a mount.
//!
//! Every value a mount's `env` reads from the host (`KEY = "env:NAME"`), and
//! every literal value of at least [`MIN_LITERAL`] characters, becomes
//! `[secret KEY]` in the app's log records, its build errors (and so the
//! control API's `last_error` and reload answers, and the CLI's output). The
//! app itself still sees the real values; shorter literals ("8000", "en")
//! are settings, not secrets, and masking them would garble every line.

use std::borrow::Cow;

/// The shortest literal `env` value that is masked.
pub const MIN_LITERAL: usize = 8;

/// The secret values of one mount, and what replaces each.
#[derive(Clone, Default)]
pub struct Masker {
    /// `(value, "[secret KEY]")`, the longest value first, so that a value
    /// holding another is masked whole.
    secrets: Vec<(String, String)>,
}

/// Names what it masks, never the values.
impl std::fmt::Debug for Masker {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_set()
            .entries(self.secrets.iter().map(|(_, replacement)| replacement))
            .finish()
    }
}

impl Masker {
    /// A masker for `(key, value)` pairs: each non-empty value is replaced
    /// by `[secret KEY]`.
    pub fn new<'a>(secrets: impl IntoIterator<Item = (&'a str, &'a str)>) -> Self {
        let mut secrets: Vec<(String, String)> = secrets
            .into_iter()
            .filter(|(_, value)| !value.is_empty())
            .map(|(key, value)| (value.to_owned(), format!("[secret {key}]")))
            .collect();
        secrets.sort_by(|a, b| b.0.len().cmp(&a.0.len()).then_with(|| a.0.cmp(&b.0)));
        secrets.dedup_by(|a, b| a.0 == b.0);
        Self { secrets }
    }

    /// `text` with every secret value replaced, in one pass (a replacement
    /// is never masked again); borrowed when it holds none.
    pub fn mask<'a>(&self, text: &'a str) -> Cow<'a, str> {
        if !self
            .secrets
            .iter()
            .any(|(value, _)| text.contains(value.as_str()))
        {
            return Cow::Borrowed(text);
        }
        let mut masked = String::with_capacity(text.len());
        let mut rest = text;
        'scan: while let Some(next) = rest.chars().next() {
            for (value, replacement) in &self.secrets {
                if let Some(after) = rest.strip_prefix(value.as_str()) {
                    masked.push_str(replacement);
                    rest = after;
                    continue 'scan;
                }
            }
            masked.push(next);
            rest = &rest[next.len_utf8()..];
        }
        Cow::Owned(masked)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn values_are_replaced_by_their_names_in_one_pass() {
        let masker = Masker::new([
            ("API_KEY", "s3cr3t-token"),
            ("LONGER", "s3cr3t-token-and-more"),
            ("EMPTY", ""),
            ("SAME", "s3cr3t-token"),
            ("SHORT", "ecr"),
        ]);
        let cases = [
            ("nothing here", "nothing here"),
            ("key=s3cr3t-token!", "key=[secret API_KEY]!"),
            ("s3cr3t-token-and-more", "[secret LONGER]"),
            (
                "é s3cr3t-tokens3cr3t-token é",
                "é [secret API_KEY][secret API_KEY] é",
            ),
            ("[secret API_KEY]", "[s[secret SHORT]et API_KEY]"),
            ("secret ecr", "s[secret SHORT]et [secret SHORT]"),
        ];
        for (text, expected) in cases {
            assert_eq!(masker.mask(text), expected, "{text}");
        }
        assert!(matches!(masker.mask("plain"), Cow::Borrowed(_)));
        assert!(matches!(Masker::default().mask("s3cr3t-token"), Cow::Borrowed(_)));
        assert!(!format!("{masker:?}").contains("s3cr3t"), "{masker:?}");
    }
}
