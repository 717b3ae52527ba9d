//! Checks on the top level and the adapter sections: prefix, paths,
//! console, HTTP, Discord and Matrix.

use super::error::Problem;
use super::model::{Person, RawConfig, SlackConfig, SlackMode};
use super::same;
use super::validate::{Checker, is_http_url, is_listen_addr, suggestion};

impl Checker<'_> {
    pub(super) fn top_level(&mut self, people: &[Person], raw: &RawConfig) {
        let (prefix, database, products) = (&raw.prefix, &raw.database, &raw.products);
        if prefix.trim().is_empty() {
            let at = self.at(&["prefix"], prefix);
            self.push(
                Problem::new("bad-prefix", "the command `prefix` is empty")
                    .at(at)
                    .help("use something people will not type by accident, e.g. `\"!sg \"`"),
            );
        }
        if database.as_os_str().is_empty() {
            let at = self.key(&["database"]);
            self.push(
                Problem::new("bad-path", "the `database` path is empty")
                    .at(at)
                    .help("leave it out for `shipgate.db` next to the config"),
            );
        }
        if let Some(console) = &raw.console {
            let at = self.at(&["console", "person"], &console.person);
            if !people.iter().any(|p| same(&p.name, &console.person)) {
                let names: Vec<&str> = people.iter().map(|p| p.name.as_str()).collect();
                self.push(
                    Problem::new(
                        "unknown-person",
                        format!(
                            "`console.person` names `{}`, who is not in `people`",
                            console.person
                        ),
                    )
                    .at(at)
                    .help(suggestion(&console.person, &names, "people")),
                );
            }
            let at = self.at(&["console", "product"], &console.product);
            if !products.iter().any(|p| same(&p.name, &console.product)) {
                let names: Vec<&str> = products.iter().map(|p| p.name.as_str()).collect();
                self.push(
                    Problem::new(
                        "unknown-product",
                        format!(
                            "`console.product` names `{}`, which is not in `products`",
                            console.product
                        ),
                    )
                    .at(at)
                    .help(suggestion(&console.product, &names, "products")),
                );
            }
        }
        let http = &raw.http;
        let at = self.at(&["http", "listen"], &http.listen);
        if !is_listen_addr(&http.listen) {
            self.push(
                Problem::new(
                    "bad-listen",
                    format!("`http.listen` is not a host and port: `{}`", http.listen),
                )
                .at(at)
                .help("write it like `127.0.0.1:8080` or `[::1]:8080`"),
            );
        }
        if http.body_limit == 0 {
            self.push(
                Problem::new(
                    "bad-body-limit",
                    "`http.body_limit` is 0, which refuses every request",
                )
                .at(self.key(&["http", "body_limit"]))
                .help("leave it out for 1 MiB (1048576 bytes)"),
            );
        }
        let http_secrets = [
            ("api_token", &http.api_token),
            ("github_secret", &http.github_secret),
            ("gitlab_token", &http.gitlab_token),
        ];
        for (field, secret) in http_secrets {
            if let Some(s) = secret {
                self.secret(&["http", field], s);
            }
        }
        if let Some(d) = &raw.discord {
            self.secret(&["discord", "token"], &d.token);
            if let Some(base) = &d.api_base {
                let at = self.at(&["discord", "api_base"], base);
                if !is_http_url(base) {
                    self.push(
                        Problem::new(
                            "bad-url",
                            format!("`discord.api_base` is not an http(s) URL: `{base}`"),
                        )
                        .at(at)
                        .help("leave it out to talk to Discord itself"),
                    );
                }
            }
        }
        if let Some(sl) = &raw.slack {
            self.slack(sl);
        }
        if let Some(m) = &raw.matrix {
            let at = self.at(&["matrix", "homeserver"], &m.homeserver);
            if !is_http_url(&m.homeserver) {
                self.push(
                    Problem::new(
                        "bad-url",
                        format!(
                            "`matrix.homeserver` is not an http(s) URL: `{}`",
                            m.homeserver
                        ),
                    )
                    .at(at)
                    .help("write it like `https://matrix.example.org`"),
                );
            }
            let at = self.at(&["matrix", "user"], &m.user);
            if m.user.trim().is_empty() {
                self.push(
                    Problem::new("bad-matrix-user", "`matrix.user` is empty")
                        .at(at.or_else(|| self.key(&["matrix", "user"])))
                        .help("write the bot's user id, e.g. `@shipgate:example.org`"),
                );
            }
            let login = match (&m.password, &m.access_token) {
                (None, None) => Some("`matrix` needs a `password` or an `access_token`"),
                (Some(_), Some(_)) => Some("`matrix` has both a `password` and an `access_token`"),
                (Some(_), None) | (None, Some(_)) => None,
            };
            if let Some(msg) = login {
                self.push(
                    Problem::new("matrix-login", msg)
                        .at(self.key(&["matrix"]))
                        .help(
                            "give exactly one, e.g. `access_token: Env(\"SHIPGATE_MATRIX_TOKEN\")`",
                        ),
                );
            }
            if let Some(p) = &m.password {
                self.secret(&["matrix", "password"], p);
            }
            if let Some(t) = &m.access_token {
                self.secret(&["matrix", "access_token"], t);
            }
            let at = self.at(&["matrix", "device_name"], &m.device_name);
            if m.device_name.trim().is_empty() {
                self.push(
                    Problem::new("bad-device-name", "`matrix.device_name` is empty")
                        .at(at)
                        .help("leave it out for `shipgate`"),
                );
            }
        }
    }

    fn slack(&mut self, sl: &SlackConfig) {
        self.secret(&["slack", "bot_token"], &sl.bot_token);
        if let Some(t) = &sl.app_token {
            self.secret(&["slack", "app_token"], t);
        }
        if let Some(t) = &sl.signing_secret {
            self.secret(&["slack", "signing_secret"], t);
        }
        let missing = match sl.mode {
            SlackMode::Socket if sl.app_token.is_none() => Some((
                "`slack.mode` is `Socket` but no `slack.app_token` is given",
                "create an app-level token with the `connections:write` scope (Basic Information > App-Level Tokens) and give it as `app_token: Env(\"SHIPGATE_SLACK_APP_TOKEN\")`",
            )),
            SlackMode::Http if sl.signing_secret.is_none() => Some((
                "`slack.mode` is `Http` but no `slack.signing_secret` is given",
                "copy the signing secret from Basic Information > App Credentials and give it as `signing_secret: Env(\"SHIPGATE_SLACK_SIGNING_SECRET\")`",
            )),
            SlackMode::Socket | SlackMode::Http => None,
        };
        if let Some((msg, help)) = missing {
            self.push(
                Problem::new("slack-credentials", msg)
                    .at(self.key(&["slack"]))
                    .help(help),
            );
        }
        if let Some(name) = &sl.slash_command {
            let at = self.at(&["slack", "slash_command"], name);
            let ok = !name.is_empty()
                && name.len() <= 32
                && name
                    .chars()
                    .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-' || c == '_');
            if !ok {
                self.push(
                    Problem::new(
                        "bad-slash-command",
                        format!("`{name}` is not a slash command name"),
                    )
                    .at(at)
                    .help("lowercase letters, digits, `-` and `_`, without the `/`, e.g. `sg`"),
                );
            }
        }
        if let Some(base) = &sl.api_base {
            let at = self.at(&["slack", "api_base"], base);
            if !is_http_url(base) {
                self.push(
                    Problem::new(
                        "bad-url",
                        format!("`slack.api_base` is not an http(s) URL: `{base}`"),
                    )
                    .at(at)
                    .help("leave it out to talk to Slack itself"),
                );
            }
        }
    }
}
