//! Secret values (tokens, signing keys): `"env:NAME"` reads the environment
//! variable NAME when the config is parsed; anything else is the value
//! itself. A secret never shows in `Debug` output, so printing a config
//! never leaks one.

use std::{fmt, str::FromStr};

use super::deserialize_from_str;

/// A secret value, already read from the environment when it named one.
#[derive(Clone, PartialEq, Eq)]
pub struct Secret(String);

impl Secret {
    /// A secret with this value (for code; the config goes through `FromStr`).
    pub fn new(value: impl Into<String>) -> Self {
        Self(value.into())
    }

    /// The value itself: for signing and comparing, never for showing.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Secret(..)")
    }
}

impl FromStr for Secret {
    type Err = String;

    fn from_str(text: &str) -> Result<Self, String> {
        let value = read_reference(text)?;
        if value.trim().is_empty() {
            return Err("must not be empty".to_owned());
        }
        Ok(Self(value))
    }
}

/// Whether `text` names a host variable (`"env:NAME"`) rather than being the value.
pub(super) fn is_reference(text: &str) -> bool {
    text.starts_with("env:")
}

/// The value `text` stands for: the host's variable NAME for `"env:NAME"`
/// (an error naming it when it is not set), else the text itself.
pub(super) fn read_reference(text: &str) -> Result<String, String> {
    match text.strip_prefix("env:") {
        Some(variable) => {
            std::env::var(variable).map_err(|_| format!("environment variable {variable} is not set"))
        }
        None => Ok(text.to_owned()),
    }
}

deserialize_from_str!(
    Secret,
    "a secret, or \"env:NAME\" to read it from the environment"
);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn secrets_come_from_the_environment_or_the_text_and_never_show() {
        let from_env: Secret = "env:PATH".parse().unwrap();
        assert_eq!(from_env.expose(), std::env::var("PATH").unwrap());
        assert_eq!("s3cret".parse::<Secret>().unwrap().expose(), "s3cret");
        assert_eq!(
            "env:TERRARIUM_TEST_SURELY_UNSET".parse::<Secret>().unwrap_err(),
            "environment variable TERRARIUM_TEST_SURELY_UNSET is not set"
        );
        assert_eq!("  ".parse::<Secret>().unwrap_err(), "must not be empty");
        assert_eq!(format!("{:?}", Secret::new("s3cret")), "Secret(..)");
    }
}
