//! The conformance corpus through the differential runner, on every
//! backend; and proof that the runner catches a backend that differs.

mod support;

use qvm::backend::BackendExecutor;
use qvm::BackendChoice;
use qvm_common::call::{CallSpec, Outcome};
use qvm_conformance::coverage;
use qvm_conformance::report::{Report, Status};
use qvm_conformance::runner::{self, ExecError, Executor, Options, Paths};
use support::*;

fn everything() -> Options {
    Options::default()
}

on_every_backend! {
    fn corpus_agrees_with_linux(backend) {
        let emu = BackendExecutor(BackendChoice::Emu);
        let kvm = BackendExecutor(BackendChoice::Kvm);
        // KVM runs beside the emulator, so it is also compared with it,
        // syscall trace included.
        let executors: Vec<&dyn Executor> = match backend {
            Backend::Emu => vec![&emu],
            Backend::Kvm => vec![&emu, &kvm],
        };
        let report = runner::run(&executors, &Paths::of_checkout(), &everything(), &mut |l| eprintln!("{l}"));
        let (passed, failed, _) = report.counts();
        assert_eq!(failed, 0, "{}", report.text());
        assert!(passed > 0);
        syscall_coverage_is_current(&report);
        if std::env::var_os("CI").is_some() {
            let langs = report.clean_languages();
            assert!(langs.len() >= 11, "only {} languages ran clean: {langs:?}", langs.len());
        }
    }
}

/// The committed syscall coverage (docs/syscall-coverage.tsv, shown in
/// docs/syscalls.md) must be this run's when the whole corpus ran;
/// `QVM_BLESS=1` rewrites both files.
fn syscall_coverage_is_current(report: &Report) {
    let missing = report.coverage.missing();
    if !missing.is_empty() {
        eprintln!(
            "syscall coverage not checked: {} did not run",
            missing.join(", ")
        );
        return;
    }
    let root = Paths::of_checkout().root;
    if std::env::var_os("QVM_BLESS").is_some() {
        report.coverage.write(&root).unwrap();
    }
    let have = std::fs::read_to_string(root.join(coverage::DATA_FILE)).unwrap_or_default();
    assert!(
        have == report.coverage.tsv(),
        "{} is stale: run `{}` (or this test with QVM_BLESS=1)",
        coverage::DATA_FILE,
        coverage::REGENERATE
    );
}

/// A backend that gets one thing wrong: the last syscall's result.
struct Tampered(BackendExecutor);

impl Executor for Tampered {
    fn name(&self) -> &'static str {
        "tampered"
    }
    fn run(&self, spec: &CallSpec) -> Result<Outcome, ExecError> {
        let mut o = self.0.run(spec)?;
        if let Some(last) = o.trace.as_mut().and_then(|t| t.last_mut()) {
            last.result ^= 1;
        }
        Ok(o)
    }
}

/// A backend whose program reads an undefined flag differently.
struct FlippedOutput(BackendExecutor);

impl Executor for FlippedOutput {
    fn name(&self) -> &'static str {
        "flipped"
    }
    fn run(&self, spec: &CallSpec) -> Result<Outcome, ExecError> {
        let mut o = self.0.run(spec)?;
        if let Some(b) = o.stdout.get_mut(3) {
            *b ^= 1;
        }
        Ok(o)
    }
}

#[test]
fn runner_catches_a_backend_that_differs() {
    let emu = BackendExecutor(BackendChoice::Emu);
    let tampered = Tampered(BackendExecutor(BackendChoice::Emu));
    let flipped = FlippedOutput(BackendExecutor(BackendChoice::Emu));
    let only = Options {
        only: Some("c-glibc-sort".into()),
        ..Options::default()
    };
    let report = runner::run(
        &[&emu, &tampered, &flipped],
        &Paths::of_checkout(),
        &only,
        &mut |_| {},
    );
    let Some(entry) = report.programs.first() else {
        panic!("no program ran")
    };
    if entry.backends["emu"].status == Status::Skip {
        return; // no gcc here
    }
    assert_eq!(
        entry.backends["emu"].status,
        Status::Pass,
        "{}",
        report.text()
    );
    let t = &entry.backends["tampered"];
    assert_eq!(t.status, Status::Fail);
    assert!(t.detail.starts_with("vs emu: trace["), "{}", t.detail);
    let f = &entry.backends["flipped"];
    assert_eq!(f.status, Status::Fail);
    assert!(
        f.detail.starts_with("vs native: stdout (byte 3"),
        "{}",
        f.detail
    );
    assert_eq!(report.counts().1, 2);
}
