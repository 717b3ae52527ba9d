//! Chat: how people talk to shipgate.
//!
//! Platform adapters (Discord, Matrix, Slack, the console) turn messages
//! into a [`crate::ledger::Input`]; the ledger reads the text into the
//! command language's typed [`crate::command::Said`] once, so the engine
//! never sees a platform type or an unparsed string. The command language
//! itself is part of the core (`src/command/`), not of the shell.

pub mod adapter;
pub mod console;
pub mod discord;
pub mod error_chain;
pub mod health;
pub mod inbound;
pub mod matrix;
pub mod slack;

// The command language's old paths, kept while the adapters' branches
// still name them; new code imports `crate::command`.
pub use crate::command;
pub use crate::command::mention;
