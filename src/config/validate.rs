//! Semantic checks: everything serde cannot see, reported all at once,
//! each at the line and column of the offending value where it can be found.

use std::collections::HashMap;
use std::path::Path;

use super::error::{Position, Problem};
use super::locate::Locator;
use super::model::{Action, Adapter, Person, Product, RawConfig, RawPerson};
use super::secret::Secret;
use super::suggest::{closest, closest_timezone, known_list};
use super::{Config, same};

/// Builds the [`Config`] from its raw form, or returns every problem.
pub(super) fn build(mut raw: RawConfig, path: &Path, text: &str) -> Result<Config, Vec<Problem>> {
    let mut c = Checker::new(text);
    if raw.products.is_empty() {
        c.push(
            Problem::new("no-products", "the config names no products")
                .at(c.key(&["products"]))
                .help("add one, e.g. `products: [(name: \"web\")]`"),
        );
    }
    let people: Vec<Person> = std::mem::take(&mut raw.people)
        .into_iter()
        .map(|p| c.person(p))
        .collect();
    c.chat_ids(&people);
    for product in &raw.products {
        c.product(product);
    }
    c.top_level(&people, &raw);
    if !c.problems.is_empty() {
        // In file order; problems without a position last.
        c.problems
            .sort_by_key(|p| p.at.map_or(usize::MAX, |a| a.offset));
        return Err(c.problems);
    }
    let base = path.parent().unwrap_or(Path::new("")).to_path_buf();
    let mut matrix = raw.matrix;
    if let Some(m) = &mut matrix {
        m.store_dir = m.store_dir.as_ref().map(|d| base.join(d));
    }
    Ok(Config {
        path: path.to_path_buf(),
        database: base.join(&raw.database),
        rules: raw.rules.map(|r| base.join(r)),
        prefix: raw.prefix,
        seed: raw.seed,
        products: raw.products,
        people,
        console: raw.console,
        http: raw.http,
        discord: raw.discord,
        matrix,
    })
}

struct Checker<'t> {
    text: &'t str,
    loc: Locator,
    problems: Vec<Problem>,
    /// How many times each (path, value) has been visited, to find the
    /// n-th occurrence in the text.
    seen: HashMap<(String, String), usize>,
    person_names: HashMap<String, (String, Option<Position>)>,
    product_names: HashMap<String, (String, Option<Position>)>,
    product_name_at: HashMap<String, Option<Position>>,
    git: HashMap<String, (String, Option<Position>)>,
    repos: HashMap<String, (String, Option<Position>)>,
    channels: HashMap<(Adapter, String), (String, Option<Position>)>,
}

impl<'t> Checker<'t> {
    fn new(text: &'t str) -> Self {
        Self {
            text,
            loc: Locator::new(text),
            problems: Vec::new(),
            seen: HashMap::new(),
            person_names: HashMap::new(),
            product_names: HashMap::new(),
            product_name_at: HashMap::new(),
            git: HashMap::new(),
            repos: HashMap::new(),
            channels: HashMap::new(),
        }
    }

    fn push(&mut self, p: Problem) {
        self.problems.push(p);
    }

    /// The position of the next occurrence of the string `value` at `path`.
    /// Call once per value, in document order.
    fn at(&mut self, path: &[&str], value: &str) -> Option<Position> {
        let n = self
            .seen
            .entry((path.join("."), value.to_owned()))
            .or_insert(0);
        let nth = *n;
        *n += 1;
        self.loc
            .string(path, value, nth)
            .map(|r| Position::of_offset(self.text, r.start))
    }

    fn key(&self, path: &[&str]) -> Option<Position> {
        self.loc
            .key(path, 0)
            .map(|r| Position::of_offset(self.text, r.start))
    }

    /// A name people type in chat: non-empty, one word.
    fn word(&mut self, what: &str, value: &str, at: Option<Position>) -> bool {
        let problem = if value.trim().is_empty() {
            Some(format!("{what} is empty"))
        } else if value.chars().any(char::is_whitespace) {
            Some(format!("{what} `{value}` contains a space"))
        } else {
            None
        };
        match problem {
            Some(msg) => {
                self.push(
                    Problem::new("bad-name", msg)
                        .at(at)
                        .help("use one word, e.g. `ana` or `payments-api`"),
                );
                false
            }
            None => true,
        }
    }

    fn person(&mut self, raw: RawPerson) -> Person {
        let name_at = self.at(&["people", "name"], &raw.name);
        if self.word("a person's name", &raw.name, name_at) {
            let key = raw.name.to_lowercase();
            if let Some((first, first_at)) = self.person_names.get(&key).cloned() {
                self.push(
                    Problem::new(
                        "duplicate-person",
                        format!("the person `{}` is defined twice", raw.name),
                    )
                    .at(name_at)
                    .related(first_at)
                    .help(format!(
                        "names must be unique (ignoring case); `{first}` is defined{}",
                        first_at.map_or(String::new(), |p| format!(" at {p}"))
                    )),
                );
            } else {
                self.person_names.insert(key, (raw.name.clone(), name_at));
            }
        }
        let tz_at = self.at(&["people", "timezone"], &raw.timezone);
        let timezone = match raw.timezone.parse::<chrono_tz::Tz>() {
            Ok(tz) => tz,
            Err(_) => {
                let help = match closest_timezone(&raw.timezone) {
                    Some(best) => format!("did you mean `{best}`?"),
                    None => "use an IANA time zone name such as `America/New_York`, \
                             `Europe/Berlin` or `UTC`"
                        .to_owned(),
                };
                self.push(
                    Problem::new(
                        "unknown-timezone",
                        format!(
                            "unknown time zone `{}` for the person `{}`",
                            raw.timezone, raw.name
                        ),
                    )
                    .at(tz_at)
                    .help(help),
                );
                chrono_tz::UTC
            }
        };
        if let Some(id) = &raw.chat.console {
            let at = self.at(&["people", "chat", "console"], id);
            self.word("a console name", id, at);
        }
        if let Some(id) = &raw.chat.discord {
            let at = self.at(&["people", "chat", "discord"], id);
            if !is_snowflake(id) {
                self.push(
                    Problem::new(
                        "bad-chat-id",
                        format!("`{id}` is not a Discord user id (a number)"),
                    )
                    .at(at)
                    .help(
                        "in Discord, enable Developer Mode, right-click the user and Copy User ID",
                    ),
                );
            }
        }
        if let Some(id) = &raw.chat.matrix {
            let at = self.at(&["people", "chat", "matrix"], id);
            if !(id.starts_with('@') && id.contains(':')) {
                self.push(
                    Problem::new("bad-chat-id", format!("`{id}` is not a Matrix user id"))
                        .at(at)
                        .help("write the full id, e.g. `@ana:example.org`"),
                );
            }
        }
        for g in &raw.git {
            let at = self.at(&["people", "git"], g);
            if !self.word("a git identity", g, at) {
                continue;
            }
            let key = g.to_lowercase();
            match self.git.get(&key).cloned() {
                Some((owner, first_at)) if owner != raw.name => self.push(
                    Problem::new(
                        "duplicate-git",
                        format!(
                            "the git identity `{g}` is claimed by both `{owner}` and `{}`",
                            raw.name
                        ),
                    )
                    .at(at)
                    .related(first_at)
                    .help("each email or login must belong to one person (ignoring case)"),
                ),
                Some(_) => {}
                None => {
                    self.git.insert(key, (raw.name.clone(), at));
                }
            }
        }
        for r in &raw.roles {
            let at = self.at(&["people", "roles"], r);
            self.word("a role", r, at);
        }
        Person {
            name: raw.name,
            timezone,
            chat: raw.chat,
            git: raw.git,
            roles: raw.roles,
        }
    }

    /// No chat id may belong to two people. Runs after every person is read
    /// so a console name can be checked against every person's name.
    fn chat_ids(&mut self, people: &[Person]) {
        let mut claimed: HashMap<(Adapter, String), &str> = HashMap::new();
        let mut explicit_seen: HashMap<(Adapter, &str), usize> = HashMap::new();
        for adapter in Adapter::ALL {
            for p in people {
                let Some(id) = p.chat_id(adapter) else {
                    continue;
                };
                let nth = p.chat.get(adapter).map(|explicit| {
                    let n = explicit_seen.entry((adapter, explicit)).or_insert(0);
                    *n += 1;
                    *n - 1
                });
                let key = match adapter {
                    Adapter::Console => id.to_lowercase(),
                    Adapter::Discord | Adapter::Matrix => id.to_owned(),
                };
                match claimed.get(&(adapter, key.clone())) {
                    Some(owner) if !same(owner, &p.name) => {
                        let at = match (p.chat.get(adapter), nth) {
                            (Some(explicit), Some(nth)) => self
                                .loc
                                .string(&["people", "chat", adapter.name()], explicit, nth)
                                .map(|r| Position::of_offset(self.text, r.start)),
                            _ => self
                                .person_names
                                .get(&p.name.to_lowercase())
                                .and_then(|x| x.1),
                        };
                        let help = match adapter {
                            Adapter::Console => {
                                "a console name defaults to the person's name; pick another"
                            }
                            Adapter::Discord | Adapter::Matrix => {
                                "each chat account must belong to one person"
                            }
                        };
                        self.push(
                            Problem::new(
                                "duplicate-chat-id",
                                format!(
                                    "the {adapter} id `{id}` is claimed by both `{owner}` and `{}`",
                                    p.name
                                ),
                            )
                            .at(at)
                            .help(help),
                        );
                    }
                    Some(_) => {}
                    None => {
                        claimed.insert((adapter, key), &p.name);
                    }
                }
            }
        }
    }

    fn product(&mut self, product: &Product) {
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
                (Adapter::Discord | Adapter::Matrix, None) => continue,
            };
            if !self.channel_ok(adapter, channel, at) {
                continue;
            }
            let key = match adapter {
                Adapter::Console => channel.to_lowercase(),
                Adapter::Discord | Adapter::Matrix => channel.to_owned(),
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

    fn channel_ok(&mut self, adapter: Adapter, channel: &str, at: Option<Position>) -> bool {
        let help = match adapter {
            Adapter::Console => return self.word("a console channel", channel, at),
            Adapter::Discord if !is_snowflake(channel) => {
                "in Discord, enable Developer Mode, right-click the channel and Copy Channel ID"
            }
            Adapter::Matrix if !is_matrix_room(channel) => {
                "write a room id like `!abc123:example.org` or an alias like `#releases:example.org`"
            }
            Adapter::Discord | Adapter::Matrix => return true,
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

    fn action(&mut self, product: &str, name_at: Option<Position>, when: &str, action: &Action) {
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

    fn secret(&mut self, path: &[&str], secret: &Secret) {
        let (empty, value) = match secret {
            Secret::Env(name) => (name.trim().is_empty() || name.contains('='), name.clone()),
            Secret::File(p) => (p.as_os_str().is_empty(), p.display().to_string()),
        };
        let at = self.at(path, &value);
        if empty {
            self.push(
                Problem::new(
                    "bad-secret",
                    format!("`{}` does not name a secret", path.join(".")),
                )
                .at(at.or_else(|| self.key(path)))
                .help("write `Env(\"VARIABLE_NAME\")` or `File(\"path/to/file\")`"),
            );
        }
    }

    fn top_level(&mut self, people: &[Person], raw: &RawConfig) {
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
}

fn suggestion(wanted: &str, names: &[&str], what: &str) -> String {
    match closest(wanted, names.iter().copied()) {
        Some(best) => format!("did you mean `{best}`?"),
        None => format!("the {what} are {}", known_list(names)),
    }
}

/// The form repos are compared in: lowercase, no `.git` suffix.
pub(super) fn normalize_repo(repo: &str) -> String {
    let r = repo.trim().to_lowercase();
    r.strip_suffix(".git").map(str::to_owned).unwrap_or(r)
}

fn is_snowflake(id: &str) -> bool {
    !id.is_empty() && id.len() <= 20 && id.bytes().all(|b| b.is_ascii_digit())
}

fn is_matrix_room(id: &str) -> bool {
    (id.starts_with('!') || id.starts_with('#')) && id.contains(':') && !id.contains(' ')
}

fn is_http_url(url: &str) -> bool {
    let rest = url
        .strip_prefix("https://")
        .or_else(|| url.strip_prefix("http://"));
    rest.is_some_and(|r| !r.is_empty() && !r.contains(char::is_whitespace))
}

fn is_header_name(name: &str) -> bool {
    !name.is_empty()
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"-_!#$%&'*+.^`|~".contains(&b))
}

fn is_listen_addr(addr: &str) -> bool {
    let Some((host, port)) = addr.rsplit_once(':') else {
        return false;
    };
    let host_ok = !host.is_empty()
        && !host.contains(char::is_whitespace)
        && (!host.contains(':') || (host.starts_with('[') && host.ends_with(']')));
    host_ok && port.parse::<u16>().is_ok()
}
