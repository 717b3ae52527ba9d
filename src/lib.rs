//! shipgate: a release chat-ops daemon.
//!
//! The release process lives in rule files ([`rules`]).

// matrix-sdk's futures are deep; the default limit overflows proving Send.
#![recursion_limit = "256"]

/// `shipgate --version`: the package version and the commit built from
/// (`unknown` outside a git checkout unless `SHIPGATE_COMMIT` was set).
pub const VERSION: &str = concat!(
    env!("CARGO_PKG_VERSION"),
    " (",
    env!("SHIPGATE_COMMIT"),
    ")"
);

pub mod chat;
pub mod cli;
pub mod command;
pub mod config;
pub mod daemon;
pub mod engine;
pub mod ledger;
pub mod rules;
pub mod sim;
pub mod store;
pub mod team;
pub mod timefmt;
