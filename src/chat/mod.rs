//! Chat: how people talk to shipgate.
//!
//! Platform adapters (Discord, Matrix, the console) turn messages into text;
//! [`command`] turns that text into one [`command::Command`] enum, so the
//! engine never sees a platform type or an unparsed string.

pub mod adapter;
pub mod command;
pub mod console;
pub mod discord;
pub mod health;
pub mod inbound;
pub mod matrix;
pub mod mention;
pub mod slack;
