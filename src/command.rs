//! The chat command language: `!sg rc request urgent REASON`, `!sg verify
//! #12`, ... parsed in this one module into one [`Command`] enum. It is part
//! of the pure core (with `rules` and `engine`): it imports nothing from the
//! shell. The shell reads a message once, at the edge ([`read`], called by
//! `ledger::to_event`), and the engine receives the typed [`Said`].
//!
//! - [`parse`] reads a chat message (prefix included) into a [`Command`], or
//!   a one-line [`ParseError`] that names the problem and, where there is
//!   one, the closest valid command.
//! - [`help`] is generated from [`CommandKind::ALL`] through an exhaustive
//!   match, so a new command cannot ship without its usage, description and
//!   example.
//! - [`Command`]'s `Display` writes the canonical text (without prefix);
//!   parsing it again gives the same command.

mod action;
mod help;
pub mod mention;
mod parse;
#[cfg(test)]
mod tests;
mod words;

use std::fmt;

use chrono::NaiveDate;
use serde::{Deserialize, Serialize};

pub use action::Action;
pub use help::help;
pub use parse::parse;
pub use words::invocation;

/// The prefix that addresses shipgate in a chat channel.
pub const DEFAULT_PREFIX: &str = "!sg ";

/// What a chat message says to shipgate, read once at the edge: what the
/// engine receives and the event log stores, so a stored message is
/// decided the same way whatever the prefix is later.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Said {
    /// Not addressed to shipgate (it does not start with the prefix).
    Nothing,
    /// A command.
    Command(Command),
    /// Addressed to shipgate but not a command: the engine answers the
    /// error.
    Invalid(ParseError),
}

/// Reads a chat message (prefix included) into what it says: [`parse`]
/// as one value.
pub fn read(text: &str, prefix: &str) -> Said {
    match parse(text, prefix) {
        Ok(None) => Said::Nothing,
        Ok(Some(command)) => Said::Command(command),
        Err(e) => Said::Invalid(e),
    }
}

/// One chat command, as typed by a person.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Command {
    /// `rc request [urgent] REASON`
    RcRequest { urgent: bool, reason: String },
    /// `rc object REASON`
    RcObject { reason: String },
    /// `rc proceed`
    RcProceed,
    /// `rc withdraw`
    RcWithdraw,
    /// `rc not-viable REASON [next: STEPS]`
    RcNotViable {
        reason: String,
        next_steps: Option<String>,
    },
    /// `rc released`
    RcReleased,
    /// `verify CHANGE...` or `verify all`
    Verify { changes: ChangeSelection },
    /// `handoff CHANGE to PERSON` (a leading `@` on PERSON is dropped)
    Handoff { change: String, to: String },
    /// `away until YYYY-MM-DD`
    Away { until: NaiveDate },
    /// `back`
    Back,
    /// `release`
    Release,
    /// `release exception NAME REASON`
    ReleaseException { exception: String, reason: String },
    /// `approve ID`: `E7` as shipgate writes an exception request's id;
    /// `7` and `#7` too.
    Approve { id: u64 },
    /// `status [PRODUCT]`: PRODUCT as typed (any case), the channel's
    /// product when absent.
    Status { product: Option<String> },
    /// `windows`
    Windows,
    /// `explain [WINDOW] [at TIME]`; TIME is the rest of the line, as text.
    Explain {
        window: Option<String>,
        at: Option<String>,
    },
    /// `help [COMMAND]`
    Help { topic: Option<String> },
}

/// Which changes a `verify` names.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ChangeSelection {
    /// `verify all`: every change of the sender's in the RC.
    All,
    /// Change ids exactly as written (`#123`, `abc123f`, `web-42`), in
    /// order, without duplicates; never empty when parsed.
    Some(Vec<String>),
}

macro_rules! command_kinds {
    ($($kind:ident),+ $(,)?) => {
        /// The kinds of [`Command`], without their arguments: what `help`
        /// and "did you mean" iterate over.
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
        pub enum CommandKind { $($kind),+ }

        impl CommandKind {
            /// Every kind, in the order `help` lists them.
            pub const ALL: &'static [CommandKind] = &[$(CommandKind::$kind),+];
        }
    };
}

command_kinds! {
    RcRequest,
    RcObject,
    RcProceed,
    RcWithdraw,
    RcNotViable,
    RcReleased,
    Verify,
    Handoff,
    Away,
    Back,
    Release,
    ReleaseException,
    Approve,
    Status,
    Windows,
    Explain,
    Help,
}

impl CommandKind {
    /// The canonical name, e.g. `"rc request"`.
    pub fn name(self) -> &'static str {
        self.spec().name
    }

    /// The usage line without prefix, e.g. `"rc request [urgent] REASON"`.
    pub fn usage(self) -> &'static str {
        self.spec().usage
    }

    /// The one-line description `help` shows.
    pub fn summary(self) -> &'static str {
        self.spec().summary
    }

    /// Other spellings the parser accepts, e.g. `"verified"` for `verify`.
    pub fn aliases(self) -> &'static [&'static str] {
        self.spec().aliases
    }

    /// What this kind of command needs permission for.
    pub fn action(self) -> Action {
        match self {
            CommandKind::RcRequest => Action::Request,
            CommandKind::RcObject => Action::Object,
            CommandKind::RcProceed | CommandKind::RcWithdraw => Action::Decide,
            CommandKind::RcNotViable => Action::NotViable,
            CommandKind::RcReleased => Action::Released,
            CommandKind::Verify => Action::Verify,
            CommandKind::Handoff => Action::Handoff,
            CommandKind::Away | CommandKind::Back => Action::Away,
            CommandKind::Release => Action::Release,
            CommandKind::ReleaseException => Action::Exception,
            CommandKind::Approve => Action::Approve,
            CommandKind::Status
            | CommandKind::Windows
            | CommandKind::Explain
            | CommandKind::Help => Action::Read,
        }
    }
}

impl Command {
    /// What this command needs permission for.
    pub fn action(&self) -> Action {
        self.kind().action()
    }

    /// The canonical command name, e.g. `"rc request"`.
    pub fn name(&self) -> &'static str {
        self.kind().name()
    }

    /// The kind of command, without its arguments.
    pub fn kind(&self) -> CommandKind {
        match self {
            Command::RcRequest { .. } => CommandKind::RcRequest,
            Command::RcObject { .. } => CommandKind::RcObject,
            Command::RcProceed => CommandKind::RcProceed,
            Command::RcWithdraw => CommandKind::RcWithdraw,
            Command::RcNotViable { .. } => CommandKind::RcNotViable,
            Command::RcReleased => CommandKind::RcReleased,
            Command::Verify { .. } => CommandKind::Verify,
            Command::Handoff { .. } => CommandKind::Handoff,
            Command::Away { .. } => CommandKind::Away,
            Command::Back => CommandKind::Back,
            Command::Release => CommandKind::Release,
            Command::ReleaseException { .. } => CommandKind::ReleaseException,
            Command::Approve { .. } => CommandKind::Approve,
            Command::Status { .. } => CommandKind::Status,
            Command::Windows => CommandKind::Windows,
            Command::Explain { .. } => CommandKind::Explain,
            Command::Help { .. } => CommandKind::Help,
        }
    }
}

/// The canonical text, without prefix: `parse` reads it back as the same
/// command (for every command `parse` produces).
impl fmt::Display for Command {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let name = self.name();
        match self {
            Command::RcRequest { urgent, reason } => {
                let urgent = if *urgent { " urgent" } else { "" };
                write!(f, "{name}{urgent} {reason}")
            }
            Command::RcObject { reason } => write!(f, "{name} {reason}"),
            Command::RcNotViable { reason, next_steps } => {
                write!(f, "{name} {reason}")?;
                match next_steps {
                    Some(steps) => write!(f, " next: {steps}"),
                    None => Ok(()),
                }
            }
            Command::Verify { changes } => match changes {
                ChangeSelection::All => write!(f, "{name} all"),
                ChangeSelection::Some(ids) => write!(f, "{name} {}", ids.join(" ")),
            },
            Command::Handoff { change, to } => write!(f, "{name} {change} to {to}"),
            Command::Away { until } => write!(f, "{name} until {}", until.format("%Y-%m-%d")),
            Command::ReleaseException { exception, reason } => {
                write!(f, "{name} {exception} {reason}")
            }
            Command::Approve { id } => write!(f, "{name} E{id}"),
            Command::Explain { window, at } => {
                f.write_str(name)?;
                if let Some(window) = window {
                    write!(f, " {window}")?;
                }
                match at {
                    Some(at) => write!(f, " at {at}"),
                    None => Ok(()),
                }
            }
            Command::Help { topic } => match topic {
                Some(topic) => write!(f, "{name} {topic}"),
                None => f.write_str(name),
            },
            Command::Status { product } => match product {
                Some(product) => write!(f, "{name} {product}"),
                None => f.write_str(name),
            },
            Command::RcProceed
            | Command::RcWithdraw
            | Command::RcReleased
            | Command::Back
            | Command::Release
            | Command::Windows => f.write_str(name),
        }
    }
}

/// A command that could not be read: one line for the chat, never a Rust
/// type.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ParseError {
    /// What is wrong, in plain words (lowercase, user text in backticks).
    pub message: String,
    /// The closest valid command, prefix included, ready to copy.
    pub suggestion: Option<String>,
}

impl fmt::Display for ParseError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)?;
        match &self.suggestion {
            Some(suggestion) => write!(f, " (did you mean `{suggestion}`?)"),
            None => Ok(()),
        }
    }
}

impl std::error::Error for ParseError {}
