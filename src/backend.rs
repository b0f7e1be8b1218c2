//! Backend selection: one thin enum over the engines.

use std::sync::Arc;

use qvm_common::address_space::MemoryChange;
use qvm_common::call::CallError;
use qvm_common::engine::{Engine, EngineError, EntryState, Exit, Supervisor, ThreadContext};
use qvm_common::guest_memory::GuestMemory;
use qvm_engine_emu::EmuEngine;
use thiserror::Error;

use crate::kvm::{self, KvmEngine};

/// Which backend the user asked for.
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum BackendChoice {
    /// KVM when /dev/kvm opens and works, else the emulator.
    Auto,
    /// The software emulator (unicorn).
    Emu,
    /// Hardware virtualization through /dev/kvm.
    Kvm,
}

/// Why a call could not be run.
#[derive(Debug, Error)]
pub enum RunError {
    #[error("{0}")]
    Call(#[from] CallError),
    #[error("{0}")]
    Engine(#[from] EngineError),
    #[error("internal error (a qvm bug): {0}")]
    Internal(&'static str),
}

/// A ready engine of some backend.
pub enum AnyEngine {
    Emu(EmuEngine),
    Kvm(KvmEngine),
}

/// Creates the engine for `choice` over `memory`.
pub fn create(choice: BackendChoice, memory: &Arc<GuestMemory>) -> Result<AnyEngine, EngineError> {
    match choice {
        BackendChoice::Emu => Ok(AnyEngine::Emu(EmuEngine::new(memory.clone())?)),
        BackendChoice::Kvm => Ok(AnyEngine::Kvm(KvmEngine::new(memory.clone())?)),
        // KVM when a VM can be created, else the emulator.
        BackendChoice::Auto => match kvm::probe() {
            Ok(()) => Ok(AnyEngine::Kvm(KvmEngine::new(memory.clone())?)),
            Err(_) => Ok(AnyEngine::Emu(EmuEngine::new(memory.clone())?)),
        },
    }
}

impl Engine for AnyEngine {
    fn name(&self) -> &'static str {
        match self {
            AnyEngine::Emu(e) => e.name(),
            AnyEngine::Kvm(e) => e.name(),
        }
    }

    fn apply(&mut self, changes: &[MemoryChange]) -> Result<(), EngineError> {
        match self {
            AnyEngine::Emu(e) => e.apply(changes),
            AnyEngine::Kvm(e) => e.apply(changes),
        }
    }

    fn reset(&mut self, entry: EntryState) -> Result<(), EngineError> {
        match self {
            AnyEngine::Emu(e) => e.reset(entry),
            AnyEngine::Kvm(e) => e.reset(entry),
        }
    }

    fn set_deadline(&mut self, deadline: Option<std::time::Instant>) {
        match self {
            AnyEngine::Emu(e) => e.set_deadline(deadline),
            AnyEngine::Kvm(e) => e.set_deadline(deadline),
        }
    }

    fn run(&mut self, supervisor: &mut dyn Supervisor) -> Result<Exit, EngineError> {
        match self {
            AnyEngine::Emu(e) => e.run(supervisor),
            AnyEngine::Kvm(e) => e.run(supervisor),
        }
    }

    fn counts_instructions(&self) -> bool {
        match self {
            AnyEngine::Emu(e) => e.counts_instructions(),
            AnyEngine::Kvm(e) => e.counts_instructions(),
        }
    }

    fn instructions(&self) -> Option<u64> {
        match self {
            AnyEngine::Emu(e) => e.instructions(),
            AnyEngine::Kvm(e) => e.instructions(),
        }
    }

    fn context(&self) -> Result<ThreadContext, EngineError> {
        match self {
            AnyEngine::Emu(e) => e.context(),
            AnyEngine::Kvm(e) => e.context(),
        }
    }

    fn set_context(&mut self, context: &ThreadContext) -> Result<(), EngineError> {
        match self {
            AnyEngine::Emu(e) => e.set_context(context),
            AnyEngine::Kvm(e) => e.set_context(context),
        }
    }
}

/// A backend as the conformance runner sees it.
pub struct BackendExecutor(pub BackendChoice);

impl qvm_conformance::runner::Executor for BackendExecutor {
    fn name(&self) -> &'static str {
        match self.0 {
            BackendChoice::Emu => "emu",
            BackendChoice::Kvm => "kvm",
            BackendChoice::Auto => "auto",
        }
    }

    fn run(
        &self,
        spec: &qvm_common::call::CallSpec,
    ) -> Result<qvm_common::call::Outcome, qvm_conformance::runner::ExecError> {
        let mut spec = spec.clone();
        self.unmeter(&mut spec.call);
        crate::run(&spec, self.0).map_err(exec_error)
    }

    fn run_warm(
        &self,
        contract: &qvm_common::call::CallSpec,
        calls: &[qvm_common::call::Call],
    ) -> Result<Vec<qvm_common::call::Outcome>, qvm_conformance::runner::ExecError> {
        let mut runtime = crate::Runtime::new(crate::RuntimeOptions {
            backend: self.0,
            memory_limit: contract.memory_limit,
            max_loaded: std::num::NonZeroUsize::MIN,
            snapshot: true,
        });
        let loaded = runtime
            .load(&contract.name, contract.program.clone())
            .map_err(exec_error)?;
        let mut outcomes = Vec::with_capacity(calls.len());
        for (i, call) in calls.iter().enumerate() {
            let mut call = call.clone();
            self.unmeter(&mut call);
            let outcome = runtime
                .call(&loaded, &call)
                .map_err(|e| match exec_error(e) {
                    qvm_conformance::runner::ExecError::Failed(why) => {
                        qvm_conformance::runner::ExecError::Failed(format!("call {}: {why}", i + 1))
                    }
                    other => other,
                })?;
            outcomes.push(outcome);
        }
        Ok(outcomes)
    }
}

impl BackendExecutor {
    /// KVM cannot meter (docs/gas.md): its calls run unmetered, and the
    /// comparison leaves gas out where one side has none.
    fn unmeter(&self, call: &mut qvm_common::call::Call) {
        if self.0 == BackendChoice::Kvm {
            call.gas_limit = None;
        }
    }
}

/// A backend missing here is a skip; any other error a failure.
fn exec_error(e: RunError) -> qvm_conformance::runner::ExecError {
    use qvm_conformance::runner::ExecError;
    match e {
        RunError::Engine(EngineError::Unavailable(_, why)) => ExecError::Unavailable(why),
        e => ExecError::Failed(e.to_string()),
    }
}
