//! shipgate: a release chat-ops daemon.
//!
//! The release process lives in rule files ([`rules`]).

pub mod chat;
pub mod cli;
pub mod config;
pub mod daemon;
pub mod engine;
pub mod ledger;
pub mod rules;
pub mod sim;
pub mod store;
pub mod team;
pub mod timefmt;
