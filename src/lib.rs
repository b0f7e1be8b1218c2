//! qvm: deterministic runtime for smart contracts that are static x86-64
//! Linux ELF programs.
//!
//! This crate is the facade: it picks a backend and runs a call through it.
//! The machine model and kernel live in `qvm-common`; the CPUs in the
//! engine crates.

pub mod backend;
pub mod check;
pub mod report;
pub mod units;

pub use backend::{BackendChoice, RunError};
pub use qvm_common::call::{CallSpec, Outcome, ProgramImage};
pub use qvm_common::contract::BlockContext;

/// Runs one call on the chosen backend. A metered call (a gas limit in
/// `spec`) needs an engine that counts instructions exactly: `Auto` then
/// means the emulator, and `Kvm` is refused (docs/gas.md).
pub fn run(spec: &CallSpec, choice: BackendChoice) -> Result<Outcome, RunError> {
    let (process, mut engine) = prepare(spec, choice)?;
    Ok(process.run_with_fallback(&mut engine, Some(&backend::counting_engine))?)
}

/// Runs one call, passing its stdout and stderr to `sink` as the contract
/// writes them; the outcome's `stdout`, `stderr` and `state` stay empty.
pub fn run_streaming(
    spec: &CallSpec,
    choice: BackendChoice,
    sink: Box<dyn qvm_common::kernel::output::OutputSink>,
) -> Result<Outcome, RunError> {
    let (mut process, mut engine) = prepare(spec, choice)?;
    process.stream_output(sink);
    Ok(process.run_with_fallback(&mut engine, Some(&backend::counting_engine))?)
}

/// Builds the call's process and the engine that will run it.
fn prepare(
    spec: &CallSpec,
    choice: BackendChoice,
) -> Result<(qvm_common::call::Process, backend::AnyEngine), RunError> {
    let metered = spec.gas_limit.is_some();
    if metered && choice == BackendChoice::Kvm {
        return Err(qvm_common::call::CallError::NotMetered("kvm").into());
    }
    let process = qvm_common::call::Process::new(spec)?;
    let choice = match choice {
        BackendChoice::Auto if metered => BackendChoice::Emu,
        other => other,
    };
    let engine = backend::create(choice, process.memory())?;
    Ok((process, engine))
}
