//! shipgate: a release chat-ops daemon.
//!
//! The release process lives in rule files ([`rules`]).

pub mod cli;
pub mod rules;
