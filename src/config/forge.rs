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

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use crate::config::Config;

    fn config(reconcile: &str) -> Config {
        Config::from_str(
            &format!(
                "(products: [(name: \"web\", repos: [\"acme/web\", \"acme/api\"])], \
                 people: [(name: \"ana\", timezone: \"UTC\")], {reconcile})"
            ),
            std::path::Path::new("shipgate.ron"),
        )
        .unwrap()
    }

    #[test]
    fn a_repo_goes_to_the_forge_that_lists_it_else_to_one_listing_none() {
        let c = config(
            "reconcile: (interval_secs: 600, github: (token: Env(\"GH\")), \
             gitlab: (api_base: \"https://gl.example/\", repos: [\"acme/api\"]))",
        );
        let r = &c.reconcile;
        assert_eq!(r.interval_secs, 600);
        assert_eq!(r.forge_of("acme/api").unwrap().0, Forge::GitLab);
        assert_eq!(r.forge_of("acme/web").unwrap().0, Forge::GitHub);
        let (_, gl) = r.forge_of("acme/api").unwrap();
        assert_eq!(gl.api_base(Forge::GitLab), "https://gl.example");
        let (_, gh) = r.forge_of("acme/web").unwrap();
        assert_eq!(gh.api_base(Forge::GitHub), "https://api.github.com");
        let names: Vec<String> = c.secrets().into_iter().map(|(w, _)| w).collect();
        assert!(
            names.contains(&"reconcile.github.token".to_owned()),
            "{names:?}"
        );
    }

    #[test]
    fn without_reconcile_nothing_is_claimed_and_the_interval_is_hourly() {
        let c = config("");
        assert!(c.reconcile.forges().is_empty());
        assert!(c.reconcile.forge_of("acme/web").is_none());
        assert_eq!(c.reconcile.interval_secs, 3600);
    }

    #[test]
    fn an_unknown_reconcile_field_is_an_error() {
        let err = Config::from_str(
            "(products: [(name: \"web\")], reconcile: (github: (tokn: Env(\"GH\"))))",
            std::path::Path::new("shipgate.ron"),
        )
        .unwrap_err();
        assert!(
            err.to_string().contains("tokn") || format!("{err:?}").contains("tokn"),
            "{err:?}"
        );
    }
}
