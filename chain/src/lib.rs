//! qvm's local chain: contracts, blocks, transactions and state in one
//! embedded ACID database (redb), with a state root per block and replay.
//!
//! The ledger knows nothing of CPUs: it runs each transaction through an
//! [`Executor`] (qvm's runtime, or [`fake::FakeExecutor`] in tests) and
//! commits its block, durably, in one database transaction. docs/chain.md
//! defines the data model, every hash and the tables.

mod block;
mod code_cache;
mod config;
mod digest;
mod error;
mod executor;
mod ids;
mod ledger;
mod receipt;
mod replay;
mod repr;
mod snapshot;
mod state_root;
mod store;
mod tx;
mod verify;

#[cfg(feature = "fake-executor")]
pub mod fake;

pub use block::{Block, BlockContext};
pub use config::{ChainConfig, Limits};
pub use error::ChainError;
pub use executor::{ContractState, ExecError, ExecRequest, Execution, Executor, Pairs};
pub use ids::{Address, Hash, ParseIdError};
pub use ledger::{Ledger, STORE_FILE};
pub use receipt::{Receipt, Verdict};
pub use replay::{replay, Mismatch, ReplayReport};
pub use snapshot::{Snapshot, Snapshots, StateListing};
pub use store::{ContractInfo, SCHEMA_VERSION};
pub use tx::{Transaction, TxKind};
pub use verify::VerifyReport;
