//! Forge reconciliation settings: which forges shipgate asks, with which
//! token, how often, for the changes merged while it was not listening.
//! Without a token for a forge, its repos are not reconciled.

use serde::Deserialize;

use super::secret::Secret;

/// The default time between two reconciliations (one hour).
pub const DEFAULT_RECONCILE_INTERVAL_SECS: u64 = 3600;

/// `reconcile: (interval_secs: 3600, github: (...), gitlab: (...))`.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ReconcileConfig {
    /// Seconds between two reconciliations after the one at start.
    #[serde(default = "default_interval")]
    pub interval_secs: u64,
    #[serde(default)]
    pub github: Option<ForgeAccess>,
    #[serde(default)]
    pub gitlab: Option<ForgeAccess>,
}

impl Default for ReconcileConfig {
    fn default() -> Self {
        Self {
            interval_secs: DEFAULT_RECONCILE_INTERVAL_SECS,
            github: None,
            gitlab: None,
        }
    }
}

/// How to reach one forge's API.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ForgeAccess {
    /// A token that may read the repos; without one, reconciliation with
    /// this forge is off.
    #[serde(default)]
    pub token: Option<Secret>,
    /// The API's base URL: `https://api.github.com` and `https://gitlab.com`
    /// when unset.
    #[serde(default)]
    pub api_base: Option<String>,
    /// The products' repos on this forge; empty = every product repo no
    /// other configured forge lists.
    #[serde(default)]
    pub repos: Vec<String>,
}

/// A forge shipgate reconciles with.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Forge {
    GitHub,
    GitLab,
}

impl Forge {
    pub fn name(self) -> &'static str {
        match self {
            Forge::GitHub => "github",
            Forge::GitLab => "gitlab",
        }
    }

    pub fn default_api_base(self) -> &'static str {
        match self {
            Forge::GitHub => "https://api.github.com",
            Forge::GitLab => "https://gitlab.com",
        }
    }
}

impl ReconcileConfig {
    /// The configured forges, GitHub first.
    pub fn forges(&self) -> Vec<(Forge, &ForgeAccess)> {
        let mut out = Vec::new();
        if let Some(g) = &self.github {
            out.push((Forge::GitHub, g));
        }
        if let Some(g) = &self.gitlab {
            out.push((Forge::GitLab, g));
        }
        out
    }

    /// Which forge `repo` is on: the one that lists it, else the first
    /// configured forge that lists no repos; `None` when no forge claims it.
    pub fn forge_of(&self, repo: &str) -> Option<(Forge, &ForgeAccess)> {
        let forges = self.forges();
        forges
            .iter()
            .find(|(_, a)| a.repos.iter().any(|r| r == repo))
            .or_else(|| forges.iter().find(|(_, a)| a.repos.is_empty()))
            .copied()
    }
}

impl ForgeAccess {
    pub fn api_base(&self, forge: Forge) -> &str {
        self.api_base
            .as_deref()
            .unwrap_or(forge.default_api_base())
            .trim_end_matches('/')
    }
}

fn default_interval() -> u64 {
    DEFAULT_RECONCILE_INTERVAL_SECS
}
