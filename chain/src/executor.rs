//! The boundary between the ledger and whatever runs contracts.
//!
//! The ledger knows nothing of CPUs: it hands an [`Executor`] one
//! [`ExecRequest`] per transaction and stores what comes back. qvm's
//! runtime implements it; tests use [`crate::fake`].

use std::sync::Arc;

use qvm_common::state::{StateReadError, StateReader};
use serde::Serialize;
use thiserror::Error;

use crate::block::BlockContext;
use crate::ids::{Address, Hash};
use crate::repr;
use crate::tx::Transaction;

/// Key-value pairs: a contract's state, or a call's writes.
pub type Pairs = Vec<(Vec<u8>, Vec<u8>)>;

/// A contract's stored state as it was before the block.
pub trait ContractState: StateReader {
    /// The contract's pairs in key order, from the first, as many as fit
    /// in `budget` bytes of keys plus values: it stops at the first pair
    /// that does not fit, so the cut is the same on every node.
    fn pairs(&self, budget: usize) -> Result<Pairs, StateReadError>;
}

/// One transaction to run.
pub struct ExecRequest<'a> {
    pub address: Address,
    pub code_hash: Hash,
    /// Shared, so a runtime keeping contracts warm by code hash can hold it.
    pub code: Arc<[u8]>,
    pub tx: &'a Transaction,
    /// The block the transaction runs in, and what it sees of the one before.
    pub block: BlockContext,
    /// The contract's own state before the block (empty for a deploy).
    pub state: Arc<dyn ContractState>,
}

impl ExecRequest<'_> {
    /// The contract's argv after `argv[0]`; see [`Transaction::contract_args`].
    pub fn args(&self) -> Vec<&[u8]> {
        self.tx.contract_args()
    }
}

/// What running a transaction gave.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
pub struct Execution {
    pub exit_code: Option<i32>,
    pub signal: Option<i32>,
    /// The call failed (non-zero exit, signal, stderr output, out of gas):
    /// its writes, deletes and events are discarded.
    pub failed: bool,
    /// Why it failed: "exit status 3", "killed by SIGSEGV", "out of gas",
    /// "wrote to stderr", ...
    pub failure: Option<String>,
    #[serde(with = "repr::bytes")]
    pub stdout: Vec<u8>,
    #[serde(with = "repr::bytes")]
    pub stderr: Vec<u8>,
    /// State writes, in output order; applied in that order (the last
    /// write of a key wins), then the deletes.
    #[serde(with = "repr::pairs")]
    pub writes: Pairs,
    #[serde(with = "repr::list")]
    pub deletes: Vec<Vec<u8>>,
    #[serde(with = "repr::list")]
    pub events: Vec<Vec<u8>>,
    pub gas_used: u64,
}

/// The executor could not run the transaction at all (an engine or host
/// error, not the contract's doing). Nothing is stored.
#[derive(Debug, Error)]
#[error("{0}")]
pub struct ExecError(#[source] pub Box<dyn std::error::Error + Send + Sync>);

impl ExecError {
    pub fn new(error: impl Into<Box<dyn std::error::Error + Send + Sync>>) -> ExecError {
        ExecError(error.into())
    }
}

/// Runs contracts for the ledger.
pub trait Executor {
    fn execute(&mut self, req: &ExecRequest<'_>) -> Result<Execution, ExecError>;

    /// Whether [`Execution::gas_used`] is counted. An executor that cannot
    /// count instructions (KVM) runs calls unmetered and says false:
    /// [`crate::replay`] then takes each transaction's gas from the
    /// history and checks everything else.
    fn counts_gas(&self) -> bool {
        true
    }
}
