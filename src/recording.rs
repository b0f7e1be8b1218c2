//! A conformance executor that also writes every cold outcome it returns
//! to a file, as `qvm run --json` prints it, so that two builds of qvm (an
//! x86-64 and an ARM64 one, say) can be compared byte for byte.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::Mutex;

use qvm_common::call::{Call, CallSpec, Outcome};
use qvm_conformance::runner::{ExecError, Executor};

/// Wraps an executor; with a directory, each `run` also writes
/// `DIR/PROGRAM.CASE.BACKEND.json`, CASE counting the program's cold calls
/// from 1 (the runner makes them in case order). Warm calls pass through.
pub struct RecordingExecutor<E> {
    inner: E,
    dir: Option<PathBuf>,
    /// Cold calls made so far, per program name.
    calls: Mutex<BTreeMap<String, u32>>,
}

impl<E> RecordingExecutor<E> {
    pub fn new(inner: E, dir: Option<PathBuf>) -> Self {
        RecordingExecutor {
            inner,
            dir,
            calls: Mutex::new(BTreeMap::new()),
        }
    }

    fn record(&self, spec: &CallSpec, backend: &str, outcome: &Outcome) -> Result<(), ExecError> {
        let Some(dir) = &self.dir else {
            return Ok(());
        };
        let case = {
            let mut calls = self.calls.lock().unwrap_or_else(|p| p.into_inner());
            let n = calls.entry(spec.name.clone()).or_insert(0);
            *n = n.saturating_add(1);
            *n
        };
        let file = dir.join(format!("{}.{case}.{backend}.json", spec.name));
        let mut json = crate::report::to_json(outcome);
        json.push('\n');
        std::fs::write(&file, json)
            .map_err(|e| ExecError::Failed(format!("cannot write {}: {e}", file.display())))
    }
}

impl<E: Executor> Executor for RecordingExecutor<E> {
    fn name(&self) -> &'static str {
        self.inner.name()
    }

    fn run(&self, spec: &CallSpec) -> Result<Outcome, ExecError> {
        let outcome = self.inner.run(spec)?;
        self.record(spec, self.inner.name(), &outcome)?;
        Ok(outcome)
    }

    fn run_warm(&self, contract: &CallSpec, calls: &[Call]) -> Result<Vec<Outcome>, ExecError> {
        self.inner.run_warm(contract, calls)
    }
}
