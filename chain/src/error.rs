//! Why a ledger operation failed.

use std::path::PathBuf;

use thiserror::Error;

use crate::executor::ExecError;
use crate::ids::Address;

#[derive(Debug, Error)]
pub enum ChainError {
    #[error("cannot create the data directory {path}: {source}")]
    CreateDir {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("{path} is not a qvm chain store: {reason}")]
    NotAStore { path: PathBuf, reason: String },
    /// Another ledger (another process, or this one) has the store open.
    #[error("{0} is in use by another process")]
    InUse(PathBuf),
    #[error("the store has schema version {found}; this qvm reads version {expected}")]
    SchemaVersion { found: u32, expected: u32 },
    #[error("database: {0}")]
    Database(#[from] redb::Error),
    /// A stored record that does not decode or does not fit the others.
    #[error("corrupt store: {0}")]
    Corrupt(String),
    /// The store's history does not check out (see [`crate::Snapshot::verify`]).
    #[error("inconsistent store at block {block}: {what}")]
    Inconsistent { block: u64, what: String },
    #[error("{what} is {size} bytes, over the limit of {limit}")]
    TooLarge {
        what: &'static str,
        size: usize,
        limit: usize,
    },
    #[error("no contract at {0}")]
    NoSuchContract(Address),
    #[error("a contract already exists at {0}")]
    AddressInUse(Address),
    #[error("{0} overflows")]
    Overflow(&'static str),
    /// A transaction was given to an executor that does not count gas
    /// ([`crate::Executor::counts_gas`]): its receipt could not hold the
    /// gas every other node would count. Nothing was stored.
    #[error("this backend cannot count gas, which every recorded transaction's receipt holds: record on one that counts it (the emulator); replays and queries can run on this one")]
    GasNotCounted,
    /// The executor could not run the transaction at all; nothing was stored.
    #[error("cannot execute: {0}")]
    Exec(#[from] ExecError),
}

/// redb reports each step's failure with its own type; all are
/// [`redb::Error`] to us.
macro_rules! from_redb {
    ($($error:ident),*) => {$(
        impl From<redb::$error> for ChainError {
            fn from(error: redb::$error) -> ChainError {
                ChainError::Database(error.into())
            }
        }
    )*};
}

from_redb!(
    DatabaseError,
    TransactionError,
    TableError,
    StorageError,
    CommitError
);
