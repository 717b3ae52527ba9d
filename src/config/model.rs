//! The config's types as the rest of shipgate sees them, and the raw shapes
//! read from RON before validation.
//!
//! Every struct denies unknown fields, so a typo is an error with a line
//! and column rather than a silently ignored setting.

use std::collections::BTreeMap;
use std::fmt;
use std::path::PathBuf;

use serde::Deserialize;

use super::secret::Secret;

/// A chat platform.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Adapter {
    Console,
    Discord,
    Matrix,
    Slack,
}

impl Adapter {
    pub const ALL: [Adapter; 4] = [
        Adapter::Console,
        Adapter::Discord,
        Adapter::Matrix,
        Adapter::Slack,
    ];

    /// The lowercase name used in the config (`console`, `discord`,
    /// `matrix`, `slack`).
    pub fn name(self) -> &'static str {
        match self {
            Adapter::Console => "console",
            Adapter::Discord => "discord",
            Adapter::Matrix => "matrix",
            Adapter::Slack => "slack",
        }
    }
}

impl fmt::Display for Adapter {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// A product: what gets release candidates, where it talks, which repos
/// feed it.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Product {
    pub name: String,
    #[serde(default)]
    /// Its channel on each chat adapter.
    pub channels: AdapterIds,
    /// The `product` block in the rules whose overrides apply. `None`: the
    /// block with the same name as the product, if the rules define one.
    #[serde(default)]
    pub rules_product: Option<String>,
    #[serde(default = "default_branch")]
    pub default_branch: String,
    /// Repositories (`owner/name`) whose merges belong to this product.
    #[serde(default)]
    pub repos: Vec<String>,
    #[serde(default)]
    pub actions: Actions,
    /// GitHub deployment environments -> the window that gates them, e.g.
    /// `{"production": "production", "staging": "candidate"}`.
    #[serde(default)]
    pub environments: BTreeMap<String, String>,
    /// Keep a deployment that finds its window closed waiting, and approve
    /// it when the window opens (else it is rejected at once).
    #[serde(default)]
    pub hold_until_open: bool,
}

/// shipgate as a GitHub App answering deployment protection rules.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct GithubAppConfig {
    /// The App's id (its settings page, "App ID").
    pub app_id: u64,
    /// The App's private key (PEM), from a secret source.
    pub private_key: Secret,
    /// Base URL of the GitHub REST API. `None`: `https://api.github.com`
    /// (GitHub Enterprise Server: `https://HOST/api/v3`). Tests point it
    /// at a fake.
    #[serde(default)]
    pub api_base: Option<String>,
    /// Seconds a held deployment may wait for its window before it is
    /// rejected.
    #[serde(default = "default_hold_max")]
    pub hold_max_secs: u64,
}

impl GithubAppConfig {
    pub fn api_base(&self) -> &str {
        self.api_base
            .as_deref()
            .unwrap_or("https://api.github.com")
            .trim_end_matches('/')
    }
}

pub const DEFAULT_HOLD_MAX_SECS: u64 = 3 * 24 * 3600;

fn default_hold_max() -> u64 {
    DEFAULT_HOLD_MAX_SECS
}

impl Product {
    /// The name of the rules `product` block to use.
    pub fn rules_name(&self) -> &str {
        self.rules_product.as_deref().unwrap_or(&self.name)
    }
}

/// One id per chat adapter: a product's `channels` (where it talks) and a
/// person's `chat` (who they are) have the same shape.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AdapterIds {
    /// The console channel (a product's) or name (a person's); `None`
    /// means the product's or person's own name.
    #[serde(default)]
    pub console: Option<String>,
    /// A Discord channel id or user id (digits).
    #[serde(default)]
    pub discord: Option<String>,
    /// A Matrix room id (`!abc:example.org`) or alias
    /// (`#releases:example.org`), or a user id (`@ana:example.org`).
    #[serde(default)]
    pub matrix: Option<String>,
    /// A Slack channel id (`C0123ABCD`; private channels `G...`), or a
    /// member id (`U0123ABCD`, or `W...` in Enterprise Grid).
    #[serde(default)]
    pub slack: Option<String>,
}

impl AdapterIds {
    pub fn get(&self, adapter: Adapter) -> Option<&str> {
        match adapter {
            Adapter::Console => self.console.as_deref(),
            Adapter::Discord => self.discord.as_deref(),
            Adapter::Matrix => self.matrix.as_deref(),
            Adapter::Slack => self.slack.as_deref(),
        }
    }
}

/// What to run when an RC is cut or a release is approved.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Actions {
    #[serde(default)]
    pub on_cut: Option<Action>,
    #[serde(default)]
    pub on_release: Option<Action>,
}

/// A CI action.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub enum Action {
    /// Run a program (no shell) with arguments.
    Command {
        program: String,
        #[serde(default)]
        args: Vec<String>,
        #[serde(default = "default_action_timeout")]
        timeout_secs: u64,
    },
    /// POST to a URL.
    Http {
        url: String,
        /// Plain header values.
        #[serde(default)]
        headers: BTreeMap<String, String>,
        /// Header values read from secrets (e.g. `Authorization`).
        #[serde(default)]
        secret_headers: BTreeMap<String, Secret>,
        #[serde(default = "default_action_timeout")]
        timeout_secs: u64,
    },
}

impl Action {
    pub fn timeout_secs(&self) -> u64 {
        match self {
            Action::Command { timeout_secs, .. } | Action::Http { timeout_secs, .. } => {
                *timeout_secs
            }
        }
    }
}

/// A person on the team.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Person {
    pub name: String,
    pub timezone: chrono_tz::Tz,
    pub chat: AdapterIds,
    /// Git identities: commit emails and forge logins, matched
    /// case-insensitively.
    pub git: Vec<String>,
    pub roles: Vec<String>,
}

impl Person {
    /// The id this person has on `adapter`. On the console that is
    /// `chat.console`, else the person's name.
    pub fn chat_id(&self, adapter: Adapter) -> Option<&str> {
        match adapter {
            Adapter::Console => Some(self.chat.console.as_deref().unwrap_or(&self.name)),
            Adapter::Discord | Adapter::Matrix | Adapter::Slack => self.chat.get(adapter),
        }
    }
}

/// The console chat adapter: stdin lines are messages, posts go to stdout.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ConsoleConfig {
    /// Who typed lines come from.
    pub person: String,
    /// The product a line is about unless it says otherwise.
    pub product: String,
}

/// The HTTP server: webhooks, API, health and metrics.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct HttpConfig {
    #[serde(default = "default_listen")]
    pub listen: String,
    #[serde(default = "default_body_limit")]
    pub body_limit: usize,
    /// Bearer token for `/api/events`; `None` disables that endpoint.
    #[serde(default)]
    pub api_token: Option<Secret>,
    /// GitHub webhook secret; `None` disables `/hooks/github`.
    #[serde(default)]
    pub github_secret: Option<Secret>,
    /// GitLab webhook token; `None` disables `/hooks/gitlab`.
    #[serde(default)]
    pub gitlab_token: Option<Secret>,
    /// HTTP Basic credentials for the web page (`/`, `/products/..`,
    /// `/audit`) and calendars; `None` leaves them open.
    #[serde(default)]
    pub web_auth: Option<WebAuth>,
}

/// `http.web_auth`: who may read the web page, and the token calendar
/// subscriptions carry instead (calendar apps cannot send Basic credentials).
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct WebAuth {
    pub username: String,
    pub password: Secret,
    /// `?calendar_token=` for `/calendar/..`; without it calendars need the
    /// Basic credentials too.
    #[serde(default)]
    pub calendar_token: Option<Secret>,
}

impl Default for HttpConfig {
    fn default() -> Self {
        Self {
            listen: default_listen(),
            body_limit: default_body_limit(),
            api_token: None,
            github_secret: None,
            gitlab_token: None,
            web_auth: None,
        }
    }
}

/// Settings every chat adapter shares.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ChatConfig {
    /// Seconds: a command read on catch-up (sent while shipgate was not
    /// listening) whose effect depends on when it runs (`release`,
    /// `approve`, `rc proceed`, ...) is not run when it is older than this.
    #[serde(default = "default_catch_up_max_age")]
    pub catch_up_max_age: u64,
    /// Seconds: a homeserver or gateway unreachable for longer than this
    /// makes the daemon not ready.
    #[serde(default = "default_unreachable_after")]
    pub unreachable_after: u64,
}

impl Default for ChatConfig {
    fn default() -> Self {
        Self {
            catch_up_max_age: DEFAULT_CATCH_UP_MAX_AGE_SECS,
            unreachable_after: DEFAULT_UNREACHABLE_AFTER_SECS,
        }
    }
}

/// The Discord adapter.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DiscordConfig {
    /// The bot token.
    pub token: Secret,
    /// Base URL of the Discord API (REST, and where the gateway URL is
    /// asked for). `None`: Discord itself. Tests point it at a fake.
    #[serde(default)]
    pub api_base: Option<String>,
}

/// How Slack's events reach shipgate.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize)]
pub enum SlackMode {
    /// A WebSocket shipgate opens with the app-level token (no public URL).
    #[default]
    Socket,
    /// Slack POSTs events, slash commands and clicks to `/hooks/slack` on
    /// shipgate's listener, signed with the signing secret.
    Http,
}

/// The Slack adapter.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SlackConfig {
    /// The bot token (`xoxb-...`).
    pub bot_token: Secret,
    /// `Socket` (default) or `Http`.
    #[serde(default)]
    pub mode: SlackMode,
    /// The app-level token (`xapp-...`, scope `connections:write`); needed
    /// in `Socket` mode.
    #[serde(default)]
    pub app_token: Option<Secret>,
    /// The signing secret; needed in `Http` mode (`/hooks/slack`).
    #[serde(default)]
    pub signing_secret: Option<Secret>,
    /// The slash command's name without `/`; `None`: from the prefix
    /// (`!sg ` -> `sg`).
    #[serde(default)]
    pub slash_command: Option<String>,
    /// Base URL of the Web API (`https://slack.com/api`). Tests point it
    /// at a fake.
    #[serde(default)]
    pub api_base: Option<String>,
}

/// The Matrix adapter.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MatrixConfig {
    /// Homeserver URL, e.g. `https://matrix.example.org`.
    pub homeserver: String,
    /// The bot's user id (`@shipgate:example.org`) or localpart.
    pub user: String,
    #[serde(default)]
    pub password: Option<Secret>,
    #[serde(default)]
    pub access_token: Option<Secret>,
    #[serde(default = "default_device_name")]
    pub device_name: String,
    /// Session and encryption-key store. `None`: `matrix-store` next to the
    /// database.
    #[serde(default)]
    pub store_dir: Option<PathBuf>,
}

/// The top level as written in RON (no `path`; people not yet validated).
#[derive(Debug, Deserialize)]
#[serde(rename = "Config", deny_unknown_fields)]
pub(super) struct RawConfig {
    #[serde(default = "default_database")]
    pub database: PathBuf,
    #[serde(default)]
    pub rules: Option<PathBuf>,
    #[serde(default = "default_prefix")]
    pub prefix: String,
    #[serde(default)]
    pub seed: Option<u64>,
    #[serde(default)]
    pub products: Vec<Product>,
    #[serde(default)]
    pub people: Vec<RawPerson>,
    #[serde(default)]
    pub console: Option<ConsoleConfig>,
    #[serde(default)]
    pub http: HttpConfig,
    #[serde(default)]
    pub chat: ChatConfig,
    #[serde(default)]
    pub discord: Option<DiscordConfig>,
    #[serde(default)]
    pub matrix: Option<MatrixConfig>,
    #[serde(default)]
    pub reconcile: super::forge::ReconcileConfig,
    pub slack: Option<SlackConfig>,
    pub github_app: Option<GithubAppConfig>,
    /// How long history is kept, e.g. `"400d"`; `None`: forever.
    #[serde(default)]
    pub retention: Option<String>,
}

/// A person as written: the time zone is still a string.
#[derive(Debug, Deserialize)]
#[serde(rename = "Person", deny_unknown_fields)]
pub(super) struct RawPerson {
    pub name: String,
    pub timezone: String,
    #[serde(default)]
    pub chat: AdapterIds,
    #[serde(default)]
    pub git: Vec<String>,
    #[serde(default = "default_roles")]
    pub roles: Vec<String>,
}

pub const DEFAULT_DATABASE: &str = "shipgate.db";
/// The command prefix when the config sets none: the command language's.
pub use crate::command::DEFAULT_PREFIX;
pub const DEFAULT_BRANCH: &str = "main";
pub const DEFAULT_LISTEN: &str = "127.0.0.1:8080";
pub const DEFAULT_BODY_LIMIT: usize = 1024 * 1024;
pub const DEFAULT_ACTION_TIMEOUT_SECS: u64 = 600;
pub const DEFAULT_DEVICE_NAME: &str = "shipgate";
pub const DEFAULT_ROLE: &str = "engineer";
pub const DEFAULT_CATCH_UP_MAX_AGE_SECS: u64 = 600;
pub const DEFAULT_UNREACHABLE_AFTER_SECS: u64 = 60;

fn default_database() -> PathBuf {
    PathBuf::from(DEFAULT_DATABASE)
}
fn default_prefix() -> String {
    DEFAULT_PREFIX.to_owned()
}
fn default_branch() -> String {
    DEFAULT_BRANCH.to_owned()
}
fn default_listen() -> String {
    DEFAULT_LISTEN.to_owned()
}
fn default_body_limit() -> usize {
    DEFAULT_BODY_LIMIT
}
fn default_action_timeout() -> u64 {
    DEFAULT_ACTION_TIMEOUT_SECS
}
fn default_catch_up_max_age() -> u64 {
    DEFAULT_CATCH_UP_MAX_AGE_SECS
}
fn default_unreachable_after() -> u64 {
    DEFAULT_UNREACHABLE_AFTER_SECS
}
fn default_device_name() -> String {
    DEFAULT_DEVICE_NAME.to_owned()
}
fn default_roles() -> Vec<String> {
    vec![DEFAULT_ROLE.to_owned()]
}
