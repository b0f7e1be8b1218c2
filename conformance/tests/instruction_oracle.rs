//! The instruction oracle inside the conformance runner, with stand-in
//! backends built on the native counter itself: one that reports the
//! native counts as its gas (every compared program must come out equal),
//! one whose count is one instruction off after the first syscall (the
//! runner must fail it and name the stretch), and one that does not meter
//! (skipped). The musl crash programs are the corpus here: they are short.

use qvm_common::call::{CallSpec, GasReport, MemoryReport, Outcome};
use qvm_common::contract::StateChanges;
use qvm_common::kernel::{table, TraceEntry};
use qvm_conformance::native_count::{self, End, Limits};
use qvm_conformance::report::Status;
use qvm_conformance::runner::{self, ExecError, Executor, Options, Paths};

/// How a stand-in backend reports instructions.
#[derive(Clone, Copy)]
enum Metering {
    /// The native counts.
    Exact,
    /// One more instruction from the second syscall on.
    OneOffAfterFirstSyscall,
    /// None.
    Off,
}

struct Counted(Metering);

impl Executor for Counted {
    fn name(&self) -> &'static str {
        match self.0 {
            Metering::Exact => "counted",
            Metering::OneOffAfterFirstSyscall => "one-off",
            Metering::Off => "unmetered",
        }
    }

    fn run(&self, spec: &CallSpec) -> Result<Outcome, ExecError> {
        let dir = std::env::temp_dir().join(format!("qvm-oracle-test-{}", std::process::id()));
        std::fs::create_dir_all(&dir).map_err(|e| ExecError::Failed(e.to_string()))?;
        let path = dir.join(format!("{}-{}", spec.name, self.name()));
        std::fs::write(&path, &*spec.program).map_err(|e| ExecError::Failed(e.to_string()))?;
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o755))
            .map_err(|e| ExecError::Failed(e.to_string()))?;
        let n = native_count::count(&path, spec, Limits::default())
            .map_err(|e| ExecError::Failed(e.to_string()))?;
        let off = |i: usize| match self.0 {
            Metering::OneOffAfterFirstSyscall if i >= 1 => 1,
            _ => 0,
        };
        let metered = !matches!(self.0, Metering::Off);
        let trace = n
            .syscalls
            .iter()
            .enumerate()
            .map(|(i, s)| TraceEntry {
                nr: s.nr,
                name: table::name(s.nr),
                args: [0; 6],
                result: s.result,
                instructions: metered.then_some(s.instructions + off(i)),
            })
            .collect();
        let (exit_code, signal) = match n.end {
            End::Exited(c) => (Some(c), None),
            End::Signaled(s) => (None, Some(s)),
        };
        Ok(Outcome {
            backend: self.name(),
            exit_code,
            signal,
            fault: None,
            kill_reason: None,
            failed: n.end != End::Exited(0) || !n.stderr.is_empty(),
            stdout: n.stdout,
            stderr: n.stderr,
            state: StateChanges::default(),
            syscalls: n.syscalls.len() as u64,
            refused: Vec::new(),
            memory: MemoryReport { limit: 0, peak: 0 },
            gas: GasReport {
                limit: None,
                used: None,
                instructions: metered.then_some(n.instructions + off(n.syscalls.len())),
            },
            trace: Some(trace),
            trace_dropped: 0,
        })
    }
}

fn run(metering: Metering) -> qvm_conformance::report::Report {
    let backend = Counted(metering);
    let opts = Options {
        only: Some("c-musl-crash".into()),
        ..Options::default()
    };
    runner::run(&[&backend], &Paths::of_checkout(), &opts, &mut |l| {
        eprintln!("{l}")
    })
}

#[test]
fn exact_counts_are_equal_for_every_compared_program() {
    let report = run(Metering::Exact);
    eprintln!("{}", report.text());
    let (compared, equal, skipped, other) = report.instruction_counts();
    assert_eq!((compared, equal, skipped, other), (6, 6, 0, 0));
    assert_eq!(report.counts().1, 0, "{}", report.text());
    assert!(report
        .text()
        .contains("instruction oracle: 6 programs compared, 6 equal"));
}

#[test]
fn a_count_one_off_fails_the_run_and_names_the_stretch() {
    let report = run(Metering::OneOffAfterFirstSyscall);
    let (compared, equal, _, _) = report.instruction_counts();
    assert_eq!((compared, equal), (6, 0));
    for e in &report.programs {
        let Some(cell) = e.instructions.as_ref() else {
            continue;
        };
        assert_eq!(cell.status, Status::Fail, "{}", e.name);
        // musl's first two syscalls: arch_prctl, then set_tid_address.
        assert!(
            cell.detail
                .contains("from arch_prctl (#1) to set_tid_address (#2)")
                && cell.detail.contains("(+1)"),
            "{}: {}",
            e.name,
            cell.detail
        );
        assert_eq!(e.backends["one-off"].status, Status::Fail);
    }
}

#[test]
fn unmetered_backends_are_skipped() {
    let report = run(Metering::Off);
    let (compared, _, skipped, _) = report.instruction_counts();
    assert_eq!((compared, skipped), (0, 6));
    assert_eq!(report.counts().1, 0, "{}", report.text());
    assert!(report.programs[0]
        .instructions
        .as_ref()
        .unwrap()
        .detail
        .contains("not metered"));
}
