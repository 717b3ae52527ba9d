//! What can go wrong with the database, in words an operator can act on.
//!
//! Every message names the database file, so a log line or a chat
//! announcement is enough to find it.

use std::path::PathBuf;

/// An error from the durable store.
#[derive(Debug, thiserror::Error, miette::Diagnostic)]
pub enum StoreError {
    /// The file could not be opened or created.
    #[error("could not open the database `{path}`: {source}")]
    #[diagnostic(
        code(shipgate::store::open),
        help("check that the directory exists and that shipgate may read and write it")
    )]
    Open {
        path: PathBuf,
        #[source]
        source: rusqlite::Error,
    },

    /// A statement failed; `action` says what the store was doing.
    #[error("database `{path}`: could not {action}: {source}")]
    #[diagnostic(code(shipgate::store::sqlite))]
    Sqlite {
        path: PathBuf,
        action: &'static str,
        #[source]
        source: rusqlite::Error,
    },

    /// The file was written by a newer shipgate.
    #[error(
        "database `{path}` has schema version {found}, but this shipgate only knows versions up to {supported}"
    )]
    #[diagnostic(
        code(shipgate::store::newer_schema),
        help("run the newer shipgate that wrote it, or point this one at another database file")
    )]
    NewerSchema {
        path: PathBuf,
        found: u32,
        supported: u32,
    },

    /// A read-only opening found a database that is not fully migrated.
    #[error(
        "database `{path}` has schema version {found}, but this shipgate needs version {expected} and cannot migrate it while opened read-only"
    )]
    #[diagnostic(
        code(shipgate::store::old_schema),
        help("start the daemon (`shipgate run`) once so it migrates the database")
    )]
    OldSchema {
        path: PathBuf,
        found: u32,
        expected: u32,
    },

    /// SQLite refused write-ahead logging (e.g. on some network file systems).
    #[error(
        "database `{path}`: write-ahead logging could not be turned on (journal mode is `{mode}`)"
    )]
    #[diagnostic(
        code(shipgate::store::no_wal),
        help("put the database on a local file system")
    )]
    NoWal { path: PathBuf, mode: String },

    /// A write was attempted through a read-only opening.
    #[error("database `{path}` was opened read-only, so it cannot {action}")]
    #[diagnostic(code(shipgate::store::read_only))]
    ReadOnly { path: PathBuf, action: &'static str },

    /// No outbox message has this id.
    #[error("database `{path}` has no outbox message {id}")]
    #[diagnostic(code(shipgate::store::unknown_message))]
    UnknownMessage { path: PathBuf, id: i64 },

    /// A failed attempt was reported for a message already marked sent.
    #[error("database `{path}`: outbox message {id} is already marked sent")]
    #[diagnostic(code(shipgate::store::already_sent))]
    AlreadySent { path: PathBuf, id: i64 },

    /// `outbox skip` of a message that is no longer waiting to be sent.
    #[error("database `{path}`: outbox message {id} was already {was}; there is nothing to skip")]
    #[diagnostic(
        code(shipgate::store::not_pending),
        help("`shipgate outbox list --all` shows every message and its state")
    )]
    NotPending {
        path: PathBuf,
        id: i64,
        was: &'static str,
    },

    /// The same rules hash was recorded with a different text.
    #[error(
        "database `{path}` already holds rules version `{hash}` with a different text; the hash does not match the text"
    )]
    #[diagnostic(
        code(shipgate::store::rules_hash_mismatch),
        help("compute the hash with `shipgate::store::rules_hash` over the same sources")
    )]
    RulesHashMismatch { path: PathBuf, hash: String },

    /// A stored value could not be read back (hand-edited or damaged file).
    #[error("database `{path}`: {what}")]
    #[diagnostic(
        code(shipgate::store::corrupt),
        help("run `PRAGMA integrity_check` on the file, or restore it from a backup")
    )]
    Corrupt { path: PathBuf, what: String },
}
