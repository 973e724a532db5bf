//! A mount's `env = { NAME = "value", KEY = "env:HOST_VAR" }`: the
//! variables its app finds in `os.environ`. `"env:NAME"` reads the host's
//! variable when the config is parsed (a missing one refuses the config).
//! Values are secrets: they never show in `Debug`, the control API or the
//! log; only the names do, and [`AppEnv::masker`] masks them out of what
//! the app itself writes to the log or raises.

use std::{
    collections::{BTreeMap, BTreeSet},
    fmt,
};

use serde::{Deserialize, Deserializer};

use super::secret;
use crate::masking::{self, Masker};

/// Names the sandbox sets itself, which a mount may not replace.
const RESERVED: &[&str] = &["PYTHONHOME", "PYTHONPATH", "PYTHONUNBUFFERED"];

/// The variables of one app, by name.
#[derive(Clone, Default, PartialEq, Eq)]
pub struct AppEnv {
    values: BTreeMap<String, String>,
    /// The names whose values were read from the host (`"env:NAME"`).
    from_host: BTreeSet<String>,
}

impl AppEnv {
    /// The names, sorted.
    pub fn names(&self) -> impl Iterator<Item = &str> {
        self.values.keys().map(String::as_str)
    }

    /// Every `(name, value)`, sorted by name: for the sandbox, never for showing.
    pub fn expose(&self) -> impl Iterator<Item = (&str, &str)> {
        self.values
            .iter()
            .map(|(name, value)| (name.as_str(), value.as_str()))
    }

    /// Whether there are none.
    pub fn is_empty(&self) -> bool {
        self.values.is_empty()
    }

    /// What masks this app's secrets out of the host's output: every value
    /// read from the host, and every literal of at least
    /// [`masking::MIN_LITERAL`] characters.
    pub fn masker(&self) -> Masker {
        Masker::new(self.expose().filter(|(name, value)| {
            self.from_host.contains(*name) || value.chars().count() >= masking::MIN_LITERAL
        }))
    }
}

impl fmt::Debug for AppEnv {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_set().entries(self.names()).finish()
    }
}

fn check_name(name: &str) -> Result<(), String> {
    let mut chars = name.chars();
    let well_formed = chars.next().is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_');
    if !well_formed {
        return Err("not a variable name (letters, digits and '_', not starting with a digit)".to_owned());
    }
    if RESERVED.contains(&name) {
        return Err("set by the sandbox itself".to_owned());
    }
    Ok(())
}

impl<'de> Deserialize<'de> for AppEnv {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let written = BTreeMap::<String, String>::deserialize(deserializer)?;
        let mut env = Self::default();
        for (name, text) in written {
            let problem = |problem: String| serde::de::Error::custom(format!("{name}: {problem}"));
            check_name(&name).map_err(problem)?;
            let value = secret::read_reference(&text).map_err(problem)?;
            if value.contains('\0') {
                return Err(problem("a value cannot hold a NUL byte".to_owned()));
            }
            if secret::is_reference(&text) {
                env.from_host.insert(name.clone());
            }
            env.values.insert(name, value);
        }
        Ok(env)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(text: &str) -> Result<AppEnv, String> {
        toml::from_str::<BTreeMap<String, AppEnv>>(&format!("env = {text}"))
            .map(|mut table| table.remove("env").unwrap())
            .map_err(|e| e.message().to_owned())
    }

    #[test]
    fn values_are_literal_or_read_from_the_host_and_only_names_show() {
        let env = parse(r#"{ TITLE = "Hello", EMPTY = "", HOME_DIR = "env:CARGO_MANIFEST_DIR" }"#).unwrap();
        let pairs: Vec<_> = env.expose().collect();
        assert_eq!(
            pairs,
            [
                ("EMPTY", ""),
                ("HOME_DIR", env!("CARGO_MANIFEST_DIR")),
                ("TITLE", "Hello")
            ]
        );
        assert_eq!(format!("{env:?}"), r#"{"EMPTY", "HOME_DIR", "TITLE"}"#);
    }

    #[test]
    fn host_values_and_long_literals_are_masked_short_literals_are_not() {
        let env = parse(
            r#"{ PORT = "8000", TOKEN = "a-long-literal", HOME_DIR = "env:CARGO_MANIFEST_DIR", EMPTY = "" }"#,
        )
        .unwrap();
        let text = format!("8000 a-long-literal {}", env!("CARGO_MANIFEST_DIR"));
        assert_eq!(env.masker().mask(&text), "8000 [secret TOKEN] [secret HOME_DIR]");
    }

    #[test]
    fn bad_names_reserved_names_and_missing_host_variables_are_refused() {
        let cases = [
            (r#"{ "1X" = "a" }"#, "1X: not a variable name"),
            (r#"{ "A-B" = "a" }"#, "A-B: not a variable name"),
            (
                r#"{ PYTHONHOME = "/x" }"#,
                "PYTHONHOME: set by the sandbox itself",
            ),
            (
                r#"{ KEY = "env:TERRARIUM_TEST_SURELY_UNSET" }"#,
                "KEY: environment variable TERRARIUM_TEST_SURELY_UNSET is not set",
            ),
            (r#"{ N = 1 }"#, "invalid type: integer `1`, expected a string"),
        ];
        for (text, expected) in cases {
            let problem = parse(text).unwrap_err();
            assert!(problem.contains(expected), "{text}: {problem}");
        }
    }
}
