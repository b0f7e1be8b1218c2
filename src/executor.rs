//! The local chain's executor: runs a block's transaction with the
//! warm-call runtime. The chain (qvm-chain) knows blocks and storage; this
//! knows how a contract call is made of a transaction.
//!
//! What a call gets, beyond its arguments and stdin (docs/chain.md):
//! `QVM_SENDER`, `QVM_ADDRESS` and `QVM_BLOCK` in its environment, QVM's
//! `DB_<KEY>` variables for its stored keys that are environment-safe
//! names (up to [`DECLARED_ENV_BUDGET`] bytes, in key order), every key as
//! the file `/state/KEY`, and the previous block's hash and time as its
//! block context.

use std::collections::BTreeMap;

use qvm_chain::{ExecError, ExecRequest, Execution, Executor, Hash};
use qvm_common::call::Outcome;
use qvm_common::contract::BlockContext;
use qvm_common::state::declared_env;

use crate::runtime::{Contract, Runtime, RuntimeOptions};
use crate::{BackendChoice, Call};

/// Most bytes of `DB_<KEY>=VALUE` entries a call's environment gets; keys
/// past it are still readable as `/state/KEY`.
pub const DECLARED_ENV_BUDGET: usize = 64 << 10;

/// argv[0] of every chain call: contracts are known by address, not file
/// name, and a fixed name keeps a contract's outcome independent of how it
/// was deployed.
const CONTRACT_NAME: &str = "contract";

/// Runs transactions on a [`Runtime`], keeping contracts loaded between
/// blocks.
pub struct RuntimeExecutor {
    runtime: Runtime,
    /// Contracts by code hash.
    contracts: BTreeMap<Hash, Contract>,
    /// The host's safety net per call (not a verdict: a call it ends is
    /// refused, never recorded).
    timeout: Option<std::time::Duration>,
}

impl RuntimeExecutor {
    /// `options.backend` `Auto` means the emulator: a receipt records the
    /// call's gas, so every call of a chain is counted, metered or not (the
    /// runtime's `Auto` runs an unmetered call on KVM where KVM works, and
    /// the receipt would then depend on the host).
    pub fn new(options: RuntimeOptions, timeout: Option<std::time::Duration>) -> Self {
        let backend = match options.backend {
            BackendChoice::Auto => BackendChoice::Emu,
            chosen => chosen,
        };
        RuntimeExecutor {
            runtime: Runtime::new(RuntimeOptions { backend, ..options }),
            contracts: BTreeMap::new(),
            timeout,
        }
    }

    /// The backend calls run on, as chosen.
    pub fn backend(&self) -> BackendChoice {
        self.runtime.options().backend
    }

    fn contract(&mut self, req: &ExecRequest<'_>) -> Result<Contract, ExecError> {
        if let Some(contract) = self.contracts.get(&req.code_hash) {
            return Ok(contract.clone());
        }
        let contract = self
            .runtime
            .load(CONTRACT_NAME, req.code.to_vec())
            .map_err(|e| ExecError::new(format!("cannot load the contract: {e}")))?;
        self.contracts.insert(req.code_hash, contract.clone());
        Ok(contract)
    }
}

impl Executor for RuntimeExecutor {
    fn execute(&mut self, req: &ExecRequest<'_>) -> Result<Execution, ExecError> {
        if req.tx.sender.contains(&0) {
            // An environment entry ends at its NUL: the contract would see
            // another sender.
            return Err(ExecError::new("the sender contains a NUL byte"));
        }
        let contract = self.contract(req)?;
        let pairs = req
            .state
            .pairs(DECLARED_ENV_BUDGET)
            .map_err(|e| ExecError::new(e.to_string()))?;
        let mut env = declared_env(
            pairs.iter().map(|(k, v)| (k.as_slice(), v.as_slice())),
            DECLARED_ENV_BUDGET,
        );
        env.push([b"QVM_SENDER=".as_slice(), &req.tx.sender].concat());
        env.push(format!("QVM_ADDRESS={}", req.address).into_bytes());
        env.push(format!("QVM_BLOCK={}", req.block.number).into_bytes());
        let state: std::sync::Arc<dyn qvm_common::state::StateReader> = req.state.clone();
        let call = Call {
            args: req.args().into_iter().map(<[u8]>::to_vec).collect(),
            env,
            stdin: req.tx.stdin.clone(),
            block: BlockContext {
                prev_hash: req.block.prev_hash.0,
                timestamp: req.block.prev_timestamp,
            },
            // KVM cannot count instructions: its calls run unmetered
            // (counts_gas says so; docs/gas.md).
            gas_limit: req.tx.gas_limit.filter(|_| self.counts_gas()),
            timeout: self.timeout,
            state: Some(state),
            ..Call::default()
        };
        let outcome = self
            .runtime
            .call(&contract, &call)
            .map_err(|e| ExecError::new(e.to_string()))?;
        if outcome.timed_out() {
            return Err(ExecError::new(format!(
                "the host's timeout ({:?}) ended the call; nothing was recorded",
                self.timeout.unwrap_or_default()
            )));
        }
        Ok(execution_of(outcome))
    }

    fn counts_gas(&self) -> bool {
        self.runtime.options().backend != BackendChoice::Kvm
    }
}

/// Why a call failed, in words (None when it succeeded).
pub fn failure_of(outcome: &Outcome) -> Option<String> {
    if let Some(reason) = &outcome.kill_reason {
        return Some(reason.clone());
    }
    if let Some(name) = outcome.signal_name() {
        return Some(format!("killed by {name}"));
    }
    match outcome.exit_code {
        Some(code) if code != 0 => Some(format!("exit status {code}")),
        _ if !outcome.stderr.is_empty() => Some("wrote to stderr".into()),
        _ if outcome.failed => Some("failed".into()),
        _ => None,
    }
}

/// The chain's record of a call's outcome.
fn execution_of(outcome: Outcome) -> Execution {
    let failure = failure_of(&outcome);
    Execution {
        exit_code: outcome.exit_code,
        signal: outcome.signal,
        failed: outcome.failed,
        failure,
        gas_used: outcome.gas.used.unwrap_or(0),
        writes: outcome
            .state
            .writes
            .into_iter()
            .map(|w| (w.key, w.value))
            .collect(),
        deletes: outcome.state.deletes,
        events: outcome.state.events,
        stdout: outcome.stdout,
        stderr: outcome.stderr,
    }
}

/// An executor for `backend` with the default runtime options.
pub fn executor_for(
    backend: BackendChoice,
    timeout: Option<std::time::Duration>,
) -> RuntimeExecutor {
    RuntimeExecutor::new(
        RuntimeOptions {
            backend,
            ..RuntimeOptions::default()
        },
        timeout,
    )
}
