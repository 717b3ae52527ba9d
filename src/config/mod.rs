//! The team configuration: products, people, chat adapters, HTTP, paths.
//!
//! Written in RON (see `docs/config.md` and `examples/shipgate.ron`).
//! Loading is two steps: serde reads the shape (unknown fields and syntax
//! errors stop here, with line and column), then [`validate`] checks what
//! serde cannot see (duplicates, conflicts, time zones, references) and
//! reports every problem at once. Secrets are references (`Env`/`File`)
//! resolved only when the daemon needs them.

mod check_people;
mod check_products;
mod check_sections;
mod error;
mod forge;
mod locate;
mod model;
mod secret;
mod suggest;
mod syntax;
mod validate;

#[cfg(test)]
mod tests;
#[cfg(test)]
mod tests_errors;

use std::path::{Path, PathBuf};
use std::sync::Arc;

use ron::extensions::Extensions;

pub use error::{ConfigError, Position, Problem, SourceText};
pub use forge::{DEFAULT_RECONCILE_INTERVAL_SECS, Forge, ForgeAccess, ReconcileConfig};
pub use model::{
    Action, Actions, Adapter, AdapterIds, ChatConfig, ConsoleConfig, DEFAULT_ACTION_TIMEOUT_SECS,
    DEFAULT_BODY_LIMIT, DEFAULT_BRANCH, DEFAULT_DATABASE, DEFAULT_DEVICE_NAME,
    DEFAULT_HOLD_MAX_SECS, DEFAULT_LISTEN, DEFAULT_PREFIX, DEFAULT_ROLE, DiscordConfig,
    GithubAppConfig, HttpConfig, MatrixConfig, Person, Product, SlackConfig, SlackMode, WebAuth,
};
pub use secret::{Secret, SecretString};

/// The largest config file read.
pub const MAX_FILE_BYTES: u64 = 1024 * 1024;

/// A validated team configuration.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Config {
    /// Where it was loaded from (not in the file). Relative paths in the
    /// file resolve against its directory.
    pub path: PathBuf,
    /// The SQLite database, resolved against the config's directory.
    pub database: PathBuf,
    /// The rules file or directory, resolved; `None` = the embedded defaults.
    pub rules: Option<PathBuf>,
    /// The chat command prefix, e.g. `!sg `.
    pub prefix: String,
    /// A fixed RNG seed (tests); `None` = a fresh recorded seed per decision.
    pub seed: Option<u64>,
    pub products: Vec<Product>,
    pub people: Vec<Person>,
    pub console: Option<ConsoleConfig>,
    pub http: HttpConfig,
    pub chat: ChatConfig,
    pub discord: Option<DiscordConfig>,
    pub matrix: Option<MatrixConfig>,
    /// Forge reconciliation (`docs/daemon.md`); off without forge tokens.
    pub reconcile: ReconcileConfig,
    pub slack: Option<SlackConfig>,
    /// shipgate as a GitHub App (deployment protection rules).
    pub github_app: Option<GithubAppConfig>,
    /// How long old events, sent messages and audit rows are kept
    /// (`retention: "400d"`); `None`: forever (the default).
    pub retention: Option<chrono::TimeDelta>,
}

impl Config {
    /// Reads and validates the config file at `path`.
    pub fn load(path: &Path) -> Result<Config, ConfigError> {
        let read_error = |source| ConfigError::Read {
            path: path.to_path_buf(),
            source,
        };
        let len = std::fs::metadata(path).map_err(read_error)?.len();
        if len > MAX_FILE_BYTES {
            return Err(read_error(std::io::Error::other(format!(
                "it is {len} bytes; a config may be at most 1 MiB"
            ))));
        }
        let text = std::fs::read_to_string(path).map_err(read_error)?;
        Self::from_str(&text, path)
    }

    /// Parses and validates config text. `path` names the file in messages
    /// and is the base for relative paths; nothing is read from disk.
    pub fn from_str(text: &str, path: &Path) -> Result<Config, ConfigError> {
        let invalid = |problems| ConfigError::Invalid {
            file: path.display().to_string(),
            text: SourceText(Arc::from(text)),
            problems,
        };
        let options = ron::Options::default().with_default_extension(Extensions::IMPLICIT_SOME);
        let raw: model::RawConfig = options
            .from_str(text)
            .map_err(|e| invalid(vec![syntax::problem(text, &e)]))?;
        validate::build(raw, path, text).map_err(invalid)
    }

    /// The directory relative paths resolve against.
    pub fn base_dir(&self) -> &Path {
        // `shipgate.ron` alone has the empty path as its parent, which is
        // no directory to run a command in.
        match self.path.parent() {
            Some(p) if !p.as_os_str().is_empty() => p,
            _ => Path::new("."),
        }
    }

    /// Reads a secret named in this config (file paths relative to it).
    pub fn resolve(&self, secret: &Secret) -> Result<SecretString, ConfigError> {
        secret.resolve_secret(self.base_dir())
    }

    /// Every secret the config names, with where (`http.api_token`), for
    /// checking them all at start-up.
    pub fn secrets(&self) -> Vec<(String, &Secret)> {
        let mut out = Vec::new();
        let http = [
            ("http.api_token", &self.http.api_token),
            ("http.github_secret", &self.http.github_secret),
            ("http.gitlab_token", &self.http.gitlab_token),
        ];
        for (name, s) in http {
            if let Some(s) = s {
                out.push((name.to_owned(), s));
            }
        }
        if let Some(w) = &self.http.web_auth {
            out.push(("http.web_auth.password".to_owned(), &w.password));
            if let Some(t) = &w.calendar_token {
                out.push(("http.web_auth.calendar_token".to_owned(), t));
            }
        }
        if let Some(g) = &self.github_app {
            out.push(("github_app.private_key".to_owned(), &g.private_key));
        }
        if let Some(d) = &self.discord {
            out.push(("discord.token".to_owned(), &d.token));
        }
        if let Some(s) = &self.slack {
            out.push(("slack.bot_token".to_owned(), &s.bot_token));
            if let Some(t) = &s.app_token {
                out.push(("slack.app_token".to_owned(), t));
            }
            if let Some(t) = &s.signing_secret {
                out.push(("slack.signing_secret".to_owned(), t));
            }
        }
        if let Some(m) = &self.matrix {
            if let Some(p) = &m.password {
                out.push(("matrix.password".to_owned(), p));
            }
            if let Some(t) = &m.access_token {
                out.push(("matrix.access_token".to_owned(), t));
            }
        }
        for p in &self.products {
            let actions = [
                ("on_cut", &p.actions.on_cut),
                ("on_release", &p.actions.on_release),
            ];
            for (when, action) in actions {
                if let Some(Action::Http { secret_headers, .. }) = action {
                    for (h, s) in secret_headers {
                        out.push((format!("products.{}.actions.{when}.{h}", p.name), s));
                    }
                }
            }
        }
        for (forge, access) in self.reconcile.forges() {
            if let Some(t) = &access.token {
                out.push((format!("reconcile.{}.token", forge.name()), t));
            }
        }
        out
    }

    /// The Matrix session and key store: `matrix.store_dir`, else
    /// `matrix-store` beside the database.
    pub fn matrix_store_dir(&self) -> Option<PathBuf> {
        let m = self.matrix.as_ref()?;
        Some(match &m.store_dir {
            Some(d) => d.clone(),
            None => self
                .database
                .parent()
                .unwrap_or(Path::new(""))
                .join("matrix-store"),
        })
    }

    /// The person with this name (ignoring case).
    pub fn person(&self, name: &str) -> Option<&Person> {
        self.people.iter().find(|p| same(&p.name, name))
    }

    /// The person with this git email or login (ignoring case).
    pub fn person_by_git(&self, identity: &str) -> Option<&Person> {
        let identity = identity.trim();
        self.people
            .iter()
            .find(|p| p.git.iter().any(|g| same(g, identity)))
    }

    /// The person with this chat id. Console names ignore case and default
    /// to the person's name; Discord and Matrix ids match exactly.
    pub fn person_by_chat(&self, adapter: Adapter, id: &str) -> Option<&Person> {
        self.people.iter().find(|p| match adapter {
            Adapter::Console => p.chat_id(Adapter::Console).is_some_and(|c| same(c, id)),
            Adapter::Discord | Adapter::Matrix | Adapter::Slack => p.chat_id(adapter) == Some(id),
        })
    }

    /// The product with this name (ignoring case).
    pub fn product(&self, name: &str) -> Option<&Product> {
        self.products.iter().find(|p| same(&p.name, name))
    }

    /// The product on this channel. A console channel ignores case and
    /// defaults to the product's name.
    pub fn product_by_channel(&self, adapter: Adapter, channel: &str) -> Option<&Product> {
        self.products.iter().find(|p| match adapter {
            Adapter::Console => same(p.channels.console.as_deref().unwrap_or(&p.name), channel),
            Adapter::Discord | Adapter::Matrix | Adapter::Slack => {
                p.channels.get(adapter) == Some(channel)
            }
        })
    }

    /// The product a repo (`owner/name`, any case, optional `.git`) feeds.
    pub fn product_by_repo(&self, repo: &str) -> Option<&Product> {
        let wanted = validate::normalize_repo(repo);
        self.products.iter().find(|p| {
            p.repos
                .iter()
                .any(|r| validate::normalize_repo(r) == wanted)
        })
    }
}

/// Equal ignoring case (Unicode lowercase), as names and identities compare.
pub(crate) fn same(a: &str, b: &str) -> bool {
    crate::engine::same_name(a, b)
}
