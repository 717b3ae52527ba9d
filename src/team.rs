//! The engine's view of the team config.

use crate::config::Config;
use crate::engine::{Member, Team};

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
        prefix: crate::chat::command::invocation(&config.prefix),
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
