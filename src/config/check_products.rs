//! Checks on products: names, repos, channels and CI actions.

use super::error::{Position, Problem};
use super::model::{Action, Adapter, Product};
use super::same;
use super::validate::{
    Checker, is_header_name, is_http_url, is_matrix_room, is_slack_id, is_snowflake, normalize_repo,
};

impl Checker<'_> {
    pub(super) fn product(&mut self, product: &Product) {
        let name = &product.name;
        let name_at = self.at(&["products", "name"], name);
        self.product_name_at.insert(name.clone(), name_at);
        if self.word("a product's name", name, name_at) {
            let key = name.to_lowercase();
            if let Some((first, first_at)) = self.product_names.get(&key).cloned() {
                self.push(
                    Problem::new(
                        "duplicate-product",
                        format!("the product `{name}` is defined twice"),
                    )
                    .at(name_at)
                    .related(first_at)
                    .help(format!(
                        "names must be unique (ignoring case); `{first}` is defined{}",
                        first_at.map_or(String::new(), |p| format!(" at {p}"))
                    )),
                );
            } else {
                self.product_names.insert(key, (name.clone(), name_at));
            }
        }
        if let Some(rp) = &product.rules_product {
            let at = self.at(&["products", "rules_product"], rp);
            self.word("`rules_product`", rp, at);
        }
        let branch_at = self.at(&["products", "default_branch"], &product.default_branch);
        self.word("`default_branch`", &product.default_branch, branch_at);
        for repo in &product.repos {
            let at = self.at(&["products", "repos"], repo);
            if !self.word("a repo", repo, at) {
                continue;
            }
            if !repo.contains('/') {
                self.push(
                    Problem::new("bad-repo", format!("the repo `{repo}` has no owner"))
                        .at(at)
                        .help(format!("write it as `owner/{repo}`")),
                );
            }
            let key = normalize_repo(repo);
            match self.repos.get(&key).cloned() {
                Some((owner, first_at)) => self.push(
                    Problem::new(
                        "duplicate-repo",
                        if &owner == name {
                            format!("the repo `{repo}` is listed twice for `{name}`")
                        } else {
                            format!("the repo `{repo}` is claimed by both `{owner}` and `{name}`")
                        },
                    )
                    .at(at)
                    .related(first_at)
                    .help("a webhook from a repo must map to one product"),
                ),
                None => {
                    self.repos.insert(key, (name.clone(), at));
                }
            }
        }
        for adapter in Adapter::ALL {
            let explicit = product.channels.get(adapter);
            let (channel, at) = match (adapter, explicit) {
                (_, Some(ch)) => {
                    let at = self.at(&["products", "channels", adapter.name()], ch);
                    (ch, at)
                }
                (Adapter::Console, None) => (name.as_str(), name_at),
                (Adapter::Discord | Adapter::Matrix | Adapter::Slack, None) => continue,
            };
            // A defaulted console channel is the name, checked above.
            if explicit.is_some() && !self.channel_ok(adapter, channel, at) {
                continue;
            }
            let key = match adapter {
                Adapter::Console => channel.to_lowercase(),
                Adapter::Discord | Adapter::Matrix | Adapter::Slack => channel.to_owned(),
            };
            match self.channels.get(&(adapter, key.clone())).cloned() {
                Some((owner, first_at)) if !same(&owner, name) => self.push(
                    Problem::new(
                        "duplicate-channel",
                        format!(
                            "the products `{owner}` and `{name}` both use the {adapter} channel `{channel}`"
                        ),
                    )
                    .at(at)
                    .related(first_at)
                    .help("give each product its own channel"),
                ),
                Some(_) => {}
                None => {
                    self.channels.insert((adapter, key), (name.clone(), at));
                }
            }
        }
        let actions = [
            ("on_cut", &product.actions.on_cut),
            ("on_release", &product.actions.on_release),
        ];
        for (when, action) in actions {
            if let Some(action) = action {
                self.action(name, name_at, when, action);
            }
        }
    }

    pub(super) fn channel_ok(
        &mut self,
        adapter: Adapter,
        channel: &str,
        at: Option<Position>,
    ) -> bool {
        let help = match adapter {
            Adapter::Console => return self.word("a console channel", channel, at),
            Adapter::Discord if !is_snowflake(channel) => {
                "in Discord, enable Developer Mode, right-click the channel and Copy Channel ID"
            }
            Adapter::Matrix if !is_matrix_room(channel) => {
                "write a room id like `!abc123:example.org` or an alias like `#releases:example.org`"
            }
            Adapter::Slack if !is_slack_id(channel, &['C', 'G', 'D']) => {
                "in Slack, open the channel's details: its id (`C0123ABCD`) is at the bottom"
            }
            Adapter::Discord | Adapter::Matrix | Adapter::Slack => return true,
        };
        self.push(
            Problem::new(
                "bad-channel",
                format!("`{channel}` is not a {adapter} channel id"),
            )
            .at(at)
            .help(help),
        );
        false
    }

    pub(super) fn action(
        &mut self,
        product: &str,
        name_at: Option<Position>,
        when: &str,
        action: &Action,
    ) {
        let base = ["products", "actions", when];
        if action.timeout_secs() == 0 {
            self.push(
                Problem::new(
                    "bad-timeout",
                    format!("the `{when}` action of `{product}` has `timeout_secs: 0`"),
                )
                .at(name_at)
                .help("give it at least 1 second, or leave it out for the default of 600"),
            );
        }
        match action {
            Action::Command { program, .. } => {
                let at = self.at(&[base[0], base[1], base[2], "program"], program);
                if program.trim().is_empty() {
                    self.push(
                        Problem::new(
                            "bad-action",
                            format!("the `{when}` command of `{product}` has an empty `program`"),
                        )
                        .at(at.or(name_at))
                        .help("name the program to run, e.g. `program: \"./ci/cut.sh\"`"),
                    );
                }
            }
            Action::Http {
                url,
                headers,
                secret_headers,
                ..
            } => {
                let at = self.at(&[base[0], base[1], base[2], "url"], url);
                if !is_http_url(url) {
                    self.push(
                        Problem::new(
                            "bad-url",
                            format!(
                                "the `{when}` URL of `{product}` is not an http(s) URL: `{url}`"
                            ),
                        )
                        .at(at.or(name_at))
                        .help("write it with `https://` or `http://`"),
                    );
                }
                for (header, value) in headers {
                    let value_at = self.at(&[base[0], base[1], base[2], "headers", header], value);
                    let bad_value = value.contains(['\r', '\n']);
                    if !is_header_name(header) || bad_value {
                        self.push(
                            Problem::new(
                                "bad-header",
                                format!("the header `{header}` of `{product}`'s `{when}` action is not valid"),
                            )
                            .at(value_at.or(at))
                            .help("header names are letters, digits and `-`; values are one line"),
                        );
                    }
                    if secret_headers.contains_key(header) {
                        self.push(
                            Problem::new(
                                "duplicate-header",
                                format!("the header `{header}` is in both `headers` and `secret_headers`"),
                            )
                            .at(value_at.or(at))
                            .help("keep it in one of them"),
                        );
                    }
                }
                for (header, secret) in secret_headers {
                    if !is_header_name(header) {
                        self.push(
                            Problem::new(
                                "bad-header",
                                format!("the header `{header}` of `{product}`'s `{when}` action is not valid"),
                            )
                            .at(at)
                            .help("header names are letters, digits and `-`"),
                        );
                    }
                    let path = [base[0], base[1], base[2], "secret_headers", header.as_str()];
                    self.secret(&path, secret);
                }
            }
        }
    }
}
