//! Secrets: named in the config, read from the environment or a file when
//! the daemon needs them, and never printed.

use std::fmt;
use std::path::{Path, PathBuf};

use serde::Deserialize;

use super::error::ConfigError;

/// Where a secret comes from. The config holds only the reference, never
/// the value, so printing a `Secret` is always safe.
///
/// In RON: `Env("SHIPGATE_DISCORD_TOKEN")` or `File("secrets/discord")`
/// (relative to the config file's directory).
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub enum Secret {
    /// The value of an environment variable.
    Env(String),
    /// The contents of a file, with one trailing line ending removed.
    File(PathBuf),
}

impl Secret {
    /// Reads the secret's value. A relative file path resolves against
    /// `base_dir` (the config file's directory). Unset, non-UTF-8 and empty
    /// values are errors that name the variable or file, never the value.
    pub fn resolve(&self, base_dir: &Path) -> Result<String, ConfigError> {
        self.resolve_secret(base_dir).map(SecretString::into_inner)
    }

    /// Like [`Secret::resolve`], but keeps the value wrapped so that it
    /// cannot end up in a log line by accident.
    pub fn resolve_secret(&self, base_dir: &Path) -> Result<SecretString, ConfigError> {
        let value = match self {
            Secret::Env(name) => match std::env::var(name) {
                Ok(v) => v,
                Err(std::env::VarError::NotPresent) => {
                    return Err(self.error("the environment variable is not set"));
                }
                Err(std::env::VarError::NotUnicode(_)) => {
                    return Err(self.error("the environment variable is not valid UTF-8"));
                }
            },
            Secret::File(path) => {
                let full = base_dir.join(path);
                match std::fs::read_to_string(&full) {
                    Ok(mut v) => {
                        if v.ends_with('\n') {
                            v.pop();
                            if v.ends_with('\r') {
                                v.pop();
                            }
                        }
                        v
                    }
                    Err(e) => {
                        return Err(ConfigError::Secret {
                            secret: format!("file `{}`", full.display()),
                            reason: format!("cannot read it: {e}"),
                        });
                    }
                }
            }
        };
        if value.trim().is_empty() {
            return Err(self.error("it is empty"));
        }
        Ok(SecretString::new(value))
    }

    fn error(&self, reason: &str) -> ConfigError {
        ConfigError::Secret {
            secret: self.to_string(),
            reason: reason.to_owned(),
        }
    }
}

impl fmt::Display for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Secret::Env(name) => write!(f, "environment variable `{name}`"),
            Secret::File(path) => write!(f, "file `{}`", path.display()),
        }
    }
}

/// A resolved secret value. `Debug` prints `SecretString(***)`; there is no
/// `Display`, so the value reaches text only through [`SecretString::expose`].
#[derive(Clone, PartialEq, Eq)]
pub struct SecretString(String);

impl SecretString {
    pub fn new(value: impl Into<String>) -> Self {
        Self(value.into())
    }

    /// The value itself, for the one place that sends it (a header, a login).
    pub fn expose(&self) -> &str {
        &self.0
    }

    pub fn into_inner(self) -> String {
        self.0
    }
}

impl fmt::Debug for SecretString {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("SecretString(***)")
    }
}
