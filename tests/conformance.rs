//! The conformance corpus through the differential runner, on every
//! backend; and proof that the runner catches a backend that differs.

mod support;

use qvm::backend::BackendExecutor;
use qvm::BackendChoice;
use qvm_common::call::{Call, CallSpec, Outcome};
use qvm_conformance::corpus::Program;
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
        // The emulator's warm calls are checked by its own variant; the
        // KVM variant (in CI, in a nested VM where the emulator is slow)
        // checks KVM's.
        let opts = match backend {
            Backend::Emu => everything(),
            Backend::Kvm => Options { warm_skip: Some(kvm_warm_slice), ..everything() },
        };
        let report = runner::run(&executors, &Paths::of_checkout(), &opts, &mut |l| eprintln!("{l}"));
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

/// The programs whose warm calls the KVM variant checks on KVM: the
/// hello-world of every language, and one program of each kind (crash,
/// signals, threads, memory, entropy and time). In CI this variant runs in
/// a nested VM, where the whole corpus's warm calls took minutes the
/// 45-minute budget does not have; the emulator's variant checks every
/// program warm.
const KVM_WARM_SLICE: &[&str] = &[
    "c-glibc",
    "c-glibc-static-pie",
    "c-musl",
    "cpp",
    "rust-static-pie",
    "rust-static",
    "zig",
    "fortran",
    "pascal",
    "ada",
    "d",
    "nim",
    "ocaml",
    "haskell",
    "go-hello",
    "c-glibc-crash-divide",
    "c-glibc-crash-stack-overflow",
    "c-glibc-signals",
    "c-glibc-pthreads",
    "rust-threads",
    "go-goroutines",
    "c-glibc-memory-syscalls",
    "c-glibc-entropy-and-time",
    "c-musl-tmpfiles",
];

/// The warm checks the KVM variant leaves out, and why: the emulator's
/// (done by `corpus_agrees_with_linux::emu`), and KVM's outside
/// [`KVM_WARM_SLICE`].
fn kvm_warm_slice(program: &Program, backend: &str) -> Option<String> {
    if backend == "emu" {
        return Some(
            "the emulator's warm calls are checked by corpus_agrees_with_linux::emu; this run checks KVM's"
                .into(),
        );
    }
    (!KVM_WARM_SLICE.contains(&program.name)).then(|| {
        "KVM's warm calls are checked on a slice (one program per language and per kind: \
         tests/conformance.rs KVM_WARM_SLICE) to keep the nested VM within CI's time"
            .into()
    })
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

/// A backend whose warm calls are one gas unit off their cold ones.
struct WarmDiffers(BackendExecutor);

impl Executor for WarmDiffers {
    fn name(&self) -> &'static str {
        "warm-differs"
    }
    fn run(&self, spec: &CallSpec) -> Result<Outcome, ExecError> {
        self.0.run(spec)
    }
    fn run_warm(&self, contract: &CallSpec, calls: &[Call]) -> Result<Vec<Outcome>, ExecError> {
        let mut o = self.0.run_warm(contract, calls)?;
        if let Some(used) = o.last_mut().and_then(|l| l.gas.used.as_mut()) {
            *used += 1;
        }
        Ok(o)
    }
}

#[test]
fn runner_catches_a_warm_call_that_differs_from_cold() {
    let emu = BackendExecutor(BackendChoice::Emu);
    let differs = WarmDiffers(BackendExecutor(BackendChoice::Emu));
    let only = Options {
        only: Some("c-musl-exit-code".into()),
        ..Options::default()
    };
    let report = runner::run(&[&emu, &differs], &Paths::of_checkout(), &only, &mut |_| {});
    let Some(entry) = report.programs.first() else {
        panic!("no program ran")
    };
    if entry.backends["emu"].status == Status::Skip {
        return; // no musl-gcc here
    }
    assert_eq!(
        entry.backends["emu"].status,
        Status::Pass,
        "{}",
        report.text()
    );
    assert_eq!(entry.warm["emu"].status, Status::Pass, "{}", report.text());
    let d = &entry.backends["warm-differs"];
    assert_eq!(d.status, Status::Fail, "{}", report.text());
    assert!(
        d.detail.contains("warm call differs from cold: field gas"),
        "{}",
        d.detail
    );
    assert_eq!(entry.warm["warm-differs"].status, Status::Fail);
    assert!(report.text().contains("warm calls ("), "{}", report.text());
}

/// `qvm conformance --outcomes DIR` writes each cold call's outcome exactly
/// as `qvm run --json --trace` prints that call (what scripts/check-aarch64.sh
/// compares between builds), and refuses a program name the corpus lacks.
#[test]
fn recorded_outcomes_are_what_qvm_run_prints() {
    let name = "c-musl-stdin";
    let dir = std::path::Path::new(env!("CARGO_TARGET_TMPDIR"))
        .join(format!("outcomes-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    let (status, _, stderr) = qvm_command(&[
        "conformance",
        "--backends",
        "emu",
        "--program",
        name,
        "--outcomes",
        dir.to_str().unwrap(),
    ]);
    let program = qvm_conformance::corpus::programs()
        .into_iter()
        .find(|p| p.name == name)
        .unwrap();
    let stem = std::path::Path::new(program.source).file_stem().unwrap();
    let binary = Paths::of_checkout().cache.join(name).join(stem);
    if !binary.exists() {
        return; // no musl-gcc here: the program was skipped
    }
    assert_eq!(status, 0, "{stderr}");
    assert!(!program.cases.is_empty());
    for (i, case) in program.cases.iter().enumerate() {
        let recorded = std::fs::read(dir.join(format!("{name}.{}.emu.json", i + 1))).unwrap();
        let stdin = tempfile(&case.stdin.bytes());
        let hash: String = runner::BLOCK
            .prev_hash
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect();
        let mut args: Vec<String> = vec![
            "run".into(),
            "--backend".into(),
            "emu".into(),
            "--json".into(),
            "--trace".into(),
            "--block-hash".into(),
            hash,
            "--block-time".into(),
            runner::BLOCK.timestamp.to_string(),
            "--stdin".into(),
            stdin.to_str().unwrap().into(),
        ];
        for (k, v) in case.env {
            args.extend(["--env".into(), format!("{k}={v}")]);
        }
        // argv[0] is the program's name, as the runner gives it.
        let named = dir.join(name);
        std::fs::copy(&binary, &named).unwrap();
        args.push(named.to_str().unwrap().into());
        args.extend(case.args.iter().map(|a| a.to_string()));
        let run = qvm_output(&args);
        assert_eq!(
            String::from_utf8_lossy(&recorded),
            String::from_utf8_lossy(&run.stdout),
            "case {}",
            i + 1
        );
    }
    let (status, _, stderr) = qvm_command(&["conformance", "--program", "no-such-program"]);
    assert_eq!(status, 125);
    assert!(
        stderr.contains("no corpus program is named \"no-such-program\""),
        "{stderr}"
    );
}
