//! Semantic checks: everything serde cannot see, reported all at once,
//! each at the line and column of the offending value where it can be found.

use std::collections::HashMap;
use std::path::Path;

use super::Config;
use super::error::{Position, Problem};
use super::locate::Locator;
use super::model::{Adapter, Person, RawConfig};
use super::secret::Secret;
use super::suggest::{closest, known_list};

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
    let retention = match raw.retention.as_deref().map(parse_retention) {
        None => None,
        Some(Ok(d)) => Some(d),
        Some(Err(why)) => {
            let at = c.key(&["retention"]);
            c.push(
                Problem::new("retention", why)
                    .at(at)
                    .help("write a number of days, e.g. `retention: \"400d\"`, or leave it out to keep everything"),
            );
            None
        }
    };
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
        chat: raw.chat,
        discord: raw.discord,
        matrix,
        reconcile: raw.reconcile,
        slack: raw.slack,
        github_app: raw.github_app,
        retention,
    })
}

/// `"400d"`: a whole number of days, at least one.
pub(super) fn parse_retention(text: &str) -> Result<chrono::TimeDelta, String> {
    let days = text
        .trim()
        .strip_suffix('d')
        .and_then(|n| n.parse::<i64>().ok())
        .filter(|n| (1..=36_500).contains(n))
        .ok_or_else(|| {
            format!("`retention` is `{text}`, not a number of days from 1d to 36500d")
        })?;
    chrono::TimeDelta::try_days(days).ok_or_else(|| format!("`retention` `{text}` is too long"))
}

pub(super) struct Checker<'t> {
    pub(super) text: &'t str,
    pub(super) loc: Locator,
    pub(super) problems: Vec<Problem>,
    /// How many times each (path, value) has been visited, to find the
    /// n-th occurrence in the text.
    pub(super) seen: HashMap<(String, String), usize>,
    pub(super) person_names: HashMap<String, (String, Option<Position>)>,
    pub(super) product_names: HashMap<String, (String, Option<Position>)>,
    pub(super) product_name_at: HashMap<String, Option<Position>>,
    pub(super) git: HashMap<String, (String, Option<Position>)>,
    pub(super) repos: HashMap<String, (String, Option<Position>)>,
    pub(super) channels: HashMap<(Adapter, String), (String, Option<Position>)>,
}

impl<'t> Checker<'t> {
    pub(super) fn new(text: &'t str) -> Self {
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

    pub(super) fn push(&mut self, p: Problem) {
        self.problems.push(p);
    }

    /// The position of the next occurrence of the string `value` at `path`.
    /// Call once per value, in document order.
    pub(super) fn at(&mut self, path: &[&str], value: &str) -> Option<Position> {
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

    pub(super) fn key(&self, path: &[&str]) -> Option<Position> {
        self.loc
            .key(path, 0)
            .map(|r| Position::of_offset(self.text, r.start))
    }

    /// A name people type in chat: non-empty, one word.
    pub(super) fn word(&mut self, what: &str, value: &str, at: Option<Position>) -> bool {
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

    pub(super) fn secret(&mut self, path: &[&str], secret: &Secret) {
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
}

pub(super) fn suggestion(wanted: &str, names: &[&str], what: &str) -> String {
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

/// A Slack id: an upper-case letter then upper-case letters and digits
/// (`C0123ABCD`, `U0123ABCD`).
pub(super) fn is_slack_id(s: &str, first: &[char]) -> bool {
    let mut chars = s.chars();
    chars.next().is_some_and(|c| first.contains(&c))
        && s.len() >= 3
        && s.len() <= 32
        && chars.all(|c| c.is_ascii_uppercase() || c.is_ascii_digit())
}

pub(super) fn is_snowflake(id: &str) -> bool {
    !id.is_empty() && id.len() <= 20 && id.bytes().all(|b| b.is_ascii_digit())
}

/// A room id (`!opaque:server`, or `!opaque` from room version 12 on) or
/// an alias (`#name:server`).
pub(super) fn is_matrix_room(id: &str) -> bool {
    let well_formed = id.len() > 1 && !id.contains(char::is_whitespace);
    well_formed && (id.starts_with('!') || (id.starts_with('#') && id.contains(':')))
}

pub(super) fn is_http_url(url: &str) -> bool {
    let rest = url
        .strip_prefix("https://")
        .or_else(|| url.strip_prefix("http://"));
    rest.is_some_and(|r| !r.is_empty() && !r.contains(char::is_whitespace))
}

pub(super) fn is_header_name(name: &str) -> bool {
    !name.is_empty()
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"-_!#$%&'*+.^`|~".contains(&b))
}

pub(super) fn is_listen_addr(addr: &str) -> bool {
    let Some((host, port)) = addr.rsplit_once(':') else {
        return false;
    };
    let host_ok = !host.is_empty()
        && !host.contains(char::is_whitespace)
        && (!host.contains(':') || (host.starts_with('[') && host.ends_with(']')));
    host_ok && port.parse::<u16>().is_ok()
}
