//! qvm: deterministic runtime for smart contracts that are static x86-64
//! Linux ELF programs.
//!
//! This crate is the facade: it picks a backend and runs a call through it.
//! The machine model and kernel live in `qvm-common`; the CPUs in the
//! engine crates.

pub mod backend;
pub mod bench;
pub mod check;
pub mod executor;
mod kvm;
pub mod recording;
pub mod report;
pub mod runtime;
pub mod serve;
pub mod units;

pub use backend::{BackendChoice, RunError};
pub use qvm_common::call::{Call, CallSpec, Outcome, ProgramImage};
pub use qvm_common::contract::BlockContext;
pub use runtime::{Contract, Runtime, RuntimeOptions};

/// Runs one call of a contract, cold: a runtime that loads the contract
/// and runs the call once. A metered call (a gas limit in `spec`) needs an
/// engine that counts instructions exactly: `Auto` then means the
/// emulator, and `Kvm` is refused (docs/gas.md).
pub fn run(spec: &CallSpec, choice: BackendChoice) -> Result<Outcome, RunError> {
    let (mut runtime, contract) = one_shot(spec, choice)?;
    runtime.call(&contract, &spec.call)
}

/// Runs one call, passing its stdout and stderr to `sink` as the contract
/// writes them; the outcome's `stdout`, `stderr` and `state` stay empty.
pub fn run_streaming(
    spec: &CallSpec,
    choice: BackendChoice,
    sink: Box<dyn qvm_common::kernel::output::OutputSink>,
) -> Result<Outcome, RunError> {
    let (mut runtime, contract) = one_shot(spec, choice)?;
    runtime.call_streaming(&contract, &spec.call, sink)
}

/// A runtime for one call of `spec`'s contract, and the contract loaded.
fn one_shot(spec: &CallSpec, choice: BackendChoice) -> Result<(Runtime, Contract), RunError> {
    if spec.call.gas_limit.is_some() && choice == BackendChoice::Kvm {
        return Err(qvm_common::call::CallError::NotMetered("kvm").into());
    }
    let mut runtime = Runtime::new(RuntimeOptions {
        backend: choice,
        memory_limit: spec.memory_limit,
        max_loaded: std::num::NonZeroUsize::MIN,
        snapshot: false,
    });
    let contract = runtime.load(&spec.name, spec.program.clone())?;
    Ok((runtime, contract))
}
