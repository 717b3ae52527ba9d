//! The engine's view of the team config.

use crate::config::{Adapter, Config};
use crate::engine::{Member, Team};

/// How typed names find the config's spelling (the engine's rule).
pub use crate::engine::find_name;

/// People (time zone, roles) and products (rules overrides) from the config.
pub fn team_from_config(config: &Config) -> Team {
    Team {
        people: config
            .people
            .iter()
            .map(|p| {
                (
                    p.name.clone(),
                    Member {
                        tz: p.timezone,
                        roles: p.roles.clone(),
                    },
                )
            })
            .collect(),
        products: config
            .products
            .iter()
            .map(|p| (p.name.clone(), p.rules_product.clone()))
            .collect(),
        // As people type it before a command (`"!sg "`), for the hints in
        // shipgate's answers.
        prefix: crate::command::invocation(&config.prefix),
        chat_ids: config
            .people
            .iter()
            .flat_map(|p| {
                [Adapter::Matrix, Adapter::Discord, Adapter::Slack]
                    .into_iter()
                    .filter_map(|a| p.chat_id(a))
                    .map(|id| (id.to_owned(), p.name.clone()))
            })
            .collect(),
    }
}

/// The person a git identity (email or login) belongs to, else the
/// identity itself.
pub fn author_name(config: &Config, identity: &str) -> String {
    config
        .person_by_git(identity)
        .or_else(|| config.person(identity))
        .map_or_else(|| identity.to_owned(), |p| p.name.clone())
}

/// The config's spelling of a product name typed in any case, or an error
/// that lists the products.
pub fn product_name<'a>(config: &'a Config, name: &str) -> Result<&'a str, String> {
    find_name(config.products.iter().map(|p| &p.name), name)
        .ok_or_else(|| unknown_product(config, name))
}

/// The error for a product name the config does not know: it lists the
/// products.
pub fn unknown_product(config: &Config, name: &str) -> String {
    let names: Vec<&str> = config.products.iter().map(|p| p.name.as_str()).collect();
    format!(
        "unknown product `{name}`; the products are {}",
        names.join(", ")
    )
}

/// The config's product names by their lowercase form, built once: finds
/// the same name as [`product_name`] (the typed name trimmed, compared
/// ignoring case; the first product wins, as names are unique ignoring
/// case) without a scan of the products.
pub struct ProductIndex<'a> {
    by_key: std::collections::HashMap<String, &'a str>,
}

impl<'a> ProductIndex<'a> {
    pub fn new(config: &'a Config) -> Self {
        let mut by_key = std::collections::HashMap::new();
        for p in &config.products {
            by_key
                .entry(p.name.to_lowercase())
                .or_insert(p.name.as_str());
        }
        Self { by_key }
    }

    /// The config's spelling of `name` typed in any case.
    pub fn get(&self, name: &str) -> Option<&'a str> {
        self.by_key.get(&name.trim().to_lowercase()).copied()
    }
}

/// The config's spelling of a person's name typed in any case, or an error
/// that lists the team.
pub fn person_name<'a>(config: &'a Config, name: &str) -> Result<&'a str, String> {
    let name = name.trim().trim_start_matches('@');
    find_name(config.people.iter().map(|p| &p.name), name).ok_or_else(|| {
        let names: Vec<&str> = config.people.iter().map(|p| p.name.as_str()).collect();
        format!("nobody called `{name}`; the team is {}", names.join(", "))
    })
}

/// Who a chat message is from, as the engine keys people: the config's
/// spelling when the name is known, else the name as given (the engine
/// then answers "I don't know ...").
pub fn chat_author(config: &Config, from: &str) -> String {
    person_name(config, from).map_or_else(|_| from.to_owned(), str::to_owned)
}

/// Why the daemon cannot run `rules` with `config` although they compile:
/// gates naming no window, and rules and config that disagree about
/// products. Start-up and reload both refuse such rules; `render` says how
/// a diagnostic is written (in full at start, one line in chat).
pub fn unrunnable(
    config: &Config,
    rules: &crate::rules::RuleSet,
    render: impl Fn(&crate::rules::Diagnostic) -> String,
) -> Vec<String> {
    let mut problems: Vec<String> = crate::rules::check_gates(rules)
        .iter()
        .map(render)
        .collect();
    problems.extend(
        cross_check(config, rules)
            .into_iter()
            .map(|m| format!("the rules and the config disagree: {m}")),
    );
    problems
}

/// Where the rules and the config disagree about products: a rules
/// `product` block no config product uses, or a config `rules_product`
/// naming no rules block. One sentence each, with a did-you-mean.
pub fn cross_check(config: &Config, rules: &crate::rules::RuleSet) -> Vec<String> {
    use crate::rules::suggest::{closest, known_list};
    let mut problems = Vec::new();
    let config_names: Vec<&str> = config.products.iter().map(|p| p.name.as_str()).collect();
    let used: Vec<&str> = config.products.iter().map(|p| p.rules_name()).collect();
    let blocks = rules.product_names();
    for block in &blocks {
        if used.contains(block) {
            continue;
        }
        let hint = match closest(block, config_names.iter().copied()) {
            Some(s) => format!(
                "did you mean `{s}`? rename the block to `product {s}`, or set `rules_product: \"{block}\"` on a config product"
            ),
            None if config_names.is_empty() => "the config defines no products".to_owned(),
            None => format!(
                "the config's products are {}; rename the block, or set `rules_product: \"{block}\"` on one of them",
                known_list(&config_names)
            ),
        };
        problems.push(format!(
            "the rules define `product {block}`, but no product in the config is called `{block}` or uses it as its `rules_product`: its settings would apply to nothing; {hint}"
        ));
    }
    for p in &config.products {
        let Some(rp) = &p.rules_product else {
            continue;
        };
        if blocks.contains(&rp.as_str()) {
            continue;
        }
        let hint = match closest(rp, blocks.iter().copied()) {
            Some(s) => format!("did you mean `{s}`?"),
            None if blocks.is_empty() => {
                "the rules define no `product` blocks; remove `rules_product` or add `product NAME { ... }` to the rules".to_owned()
            }
            None => format!("the rules' product blocks are {}", known_list(&blocks)),
        };
        problems.push(format!(
            "product `{}` in the config has `rules_product: \"{rp}\"`, but the rules define no `product {rp}` block; {hint}",
            p.name
        ));
    }
    problems
}
