//! The differential runner: every corpus program on native Linux (the
//! oracle) and on every backend, compared field by field; between backends
//! the whole outcome, syscall trace included. The traces also give the
//! report's syscall coverage.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use qvm_common::call::{Call, CallSpec, Outcome};
use qvm_common::contract::BlockContext;

use crate::compare::{native_difference, outcome_difference};
use crate::corpus::{NativeStream, Oracle, Program};
use crate::coverage::Coverage;
use crate::native;
use crate::native_count::{self, CountError, NativeCount, Verdict};
use crate::report::{Entry, Report, Status};
use crate::toolchain::{self, BuildError};

/// The fixed block context every corpus call runs against, so golden
/// files hold.
pub const BLOCK: BlockContext = BlockContext {
    prev_hash: [
        0x8c, 0x2f, 0x1d, 0x0e, 0x4b, 0x6a, 0x97, 0x53, 0xc1, 0xe8, 0xf0, 0x2d, 0x4a, 0x6b, 0x8c,
        0x0e, 0x1f, 0x3a, 0x5b, 0x7c, 0x9d, 0x2e, 0x4f, 0x60, 0x81, 0xa3, 0xc5, 0xe7, 0xf9, 0xb1,
        0xd3, 0xe5,
    ],
    timestamp: 1_700_000_000,
};

/// Why a backend could not run a call.
#[derive(Debug)]
pub enum ExecError {
    /// The backend does not exist here (reported as skipped).
    Unavailable(String),
    /// It exists but failed (reported as a failure).
    Failed(String),
}

/// A backend the runner can use; implemented by the `qvm` crate.
pub trait Executor {
    fn name(&self) -> &'static str;
    /// One cold call: the contract loaded for it alone.
    fn run(&self, spec: &CallSpec) -> Result<Outcome, ExecError>;
    /// Warm calls: `contract`'s program loaded once (its `call` is not
    /// run), then `calls` run on it one after another, in order, each
    /// after the ones before it. `Unavailable` when the executor cannot
    /// keep a contract loaded (the warm check is then skipped, saying so).
    fn run_warm(&self, contract: &CallSpec, calls: &[Call]) -> Result<Vec<Outcome>, ExecError> {
        let _ = (contract, calls);
        Err(ExecError::Unavailable(format!(
            "executor {} has no warm calls",
            self.name()
        )))
    }
}

/// Where the runner finds sources and puts binaries.
pub struct Paths {
    /// The workspace root (program sources are relative to it).
    pub root: PathBuf,
    /// Build cache.
    pub cache: PathBuf,
    /// Golden outputs.
    pub golden: PathBuf,
}

impl Paths {
    /// The layout of this checkout: sources and `conformance/corpus/golden`
    /// here, the cache under `target/conformance`.
    pub fn of_checkout() -> Self {
        let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
        let root = root.canonicalize().unwrap_or(root);
        Paths {
            cache: root.join("target/conformance"),
            golden: root.join("conformance/corpus/golden"),
            root,
        }
    }
}

/// Options of a run.
pub struct Options {
    /// Only programs whose name contains this.
    pub only: Option<String>,
    /// Only programs with these exact names (empty: no such filter).
    pub programs: Vec<String>,
    /// Rewrite golden files from the first backend's output.
    pub bless: bool,
    /// Single steps the instruction oracle may take per case; programs
    /// known to run more (`NativeStream::SameButLong`) are skipped.
    pub native_steps: u64,
    /// Which warm checks to leave out: given a program and a backend, the
    /// reason to skip its warm calls there (None: check them, the
    /// default). Skips are reported, never silent.
    pub warm_skip: Option<WarmSkip>,
}

/// Why the warm check of a program on a backend is left out, if it is.
pub type WarmSkip = fn(&Program, &str) -> Option<String>;

/// The instruction oracle's default budget: about 35 s of single steps
/// per case here (30,000 steps a second).
pub const DEFAULT_NATIVE_STEPS: u64 = 1_000_000;

impl Default for Options {
    fn default() -> Self {
        Options {
            only: None,
            programs: Vec::new(),
            bless: false,
            native_steps: DEFAULT_NATIVE_STEPS,
            warm_skip: None,
        }
    }
}

/// Wall-clock limit of every call the corpus and the tests make: far above
/// any program's run (the slowest take seconds in the nested VM), there so
/// a contract that hangs on a backend that does not meter (KVM) fails its
/// test instead of hanging CI. The host's safety net, not a verdict.
pub const CALL_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(300);

fn spec_for(program: &Program, binary: &[u8], case: &crate::corpus::Case) -> CallSpec {
    let mut spec = CallSpec::new(binary.to_vec(), program.name);
    spec.call.args = case.args.iter().map(|a| a.as_bytes().to_vec()).collect();
    spec.call.env = case
        .env
        .iter()
        .map(|(k, v)| format!("{k}={v}").into_bytes())
        .collect();
    spec.call.stdin = case.stdin.bytes();
    spec.call.block = BLOCK;
    spec.call.trace = true;
    spec.call.timeout = Some(CALL_TIMEOUT);
    spec
}

/// Runs one program on native and every executor; one entry per column.
fn run_program(
    program: &Program,
    executors: &[&dyn Executor],
    paths: &Paths,
    opts: &Options,
    coverage: &mut Coverage,
    versions: &mut BTreeMap<&'static str, String>,
) -> Entry {
    let mut entry = Entry::new(
        program.name,
        program.language,
        executors.iter().map(|e| e.name()),
    );
    let dir = paths.cache.join(program.name);
    let binary = match toolchain::build(program.toolchain, &paths.root.join(program.source), &dir) {
        Ok(b) => b,
        Err(BuildError::Missing(tc)) => {
            entry.all(Status::Skip, format!("toolchain {tc} is not installed"));
            return entry;
        }
        Err(e) => {
            entry.all(Status::Fail, format!("build failed: {e}"));
            return entry;
        }
    };
    let bytes = match std::fs::read(&binary) {
        Ok(b) => b,
        Err(e) => {
            entry.all(
                Status::Fail,
                format!("cannot read {}: {e}", binary.display()),
            );
            return entry;
        }
    };
    // Programs this host's CPU cannot judge, natively or under KVM: in CI's
    // nested VM the CPU is QEMU's TCG (corpus::REAL_FPU_SOURCES), and a
    // CPU without SHA raises #UD on it (corpus::SHA_SOURCES).
    const TCG_HOST: &str = "this host's CPU is QEMU's TCG (CI's nested VM), whose x87 and SSE exception flags and traps are not the hardware's: judged on real hardware only";
    const TCG_STEPS: &str = "this host's CPU is QEMU's TCG (CI's nested VM): single steps there are emulated, slow, and not a CPU's: the instruction oracle runs on real hardware";
    const NO_SHA: &str = "this host's CPU has no SHA extensions (a hazard: #UD natively and on KVM); the emulator's run is judged by the program's known-answer checks";
    let unjudged = if program.needs_real_fpu() && native::host_cpu_is_qemu_tcg() {
        Some(TCG_HOST)
    } else if program.needs_host_sha() && !native::host_cpu_has_sha() {
        Some(NO_SHA)
    } else {
        None
    };
    // Whether the instruction oracle applies, and if not why.
    let count_skip: Option<String> = match program.native_stream {
        NativeStream::Differs(_) => None,
        NativeStream::SameButLong(n) if n > opts.native_steps => Some(format!(
            "about {n} instructions: beyond the single-step budget of {} per case",
            opts.native_steps
        )),
        _ if native::host_cpu_is_qemu_tcg() => Some(TCG_STEPS.into()),
        _ => unjudged.map(str::to_string),
    };
    let counted = !matches!(program.native_stream, NativeStream::Differs(_));
    if let Some(why) = &count_skip {
        entry.set_instructions(Status::Skip, why.clone());
    }
    // Each case's gas from the first backend that meters, and its name:
    // checked against the program's golden gas file after the last case.
    let mut gas: Vec<String> = Vec::new();
    let mut gas_backend: Option<&'static str> = None;
    // Each executor's cold outcome of each case, for the warm check.
    let mut cold: Vec<Vec<Option<Outcome>>> = vec![Vec::new(); executors.len()];
    for (i, case) in program.cases.iter().enumerate() {
        let label = |d: String| {
            if program.cases.len() > 1 {
                format!("case {}: {d}", i + 1)
            } else {
                d
            }
        };
        let spec = spec_for(program, &bytes, case);
        // The oracle for this case.
        let expected: Option<crate::compare::NativeRun> = match (program.oracle, unjudged) {
            (Oracle::Native, Some(why)) => {
                entry.set("native", Status::Skip, why.into());
                None
            }
            (Oracle::Native, None) => {
                match native::run(&binary, &spec.call.args, &spec.call.env, &spec.call.stdin) {
                    Ok(n) => Some(n),
                    Err(e) => {
                        entry.set(
                            "native",
                            Status::Fail,
                            label(format!("cannot run natively: {e}")),
                        );
                        None
                    }
                }
            }
            (Oracle::Golden, _) => {
                entry.set(
                    "native",
                    Status::Skip,
                    "output depends on the block context: checked against a golden file".into(),
                );
                None
            }
        };
        let mut reference: Option<Outcome> = None;
        // The native count of this case, made once the first metered
        // outcome needs it.
        let mut count: Option<Result<NativeCount, CountError>> = None;
        let mut metered = false;
        for (e, ex) in executors.iter().enumerate() {
            if let (Some(why), "kvm") = (unjudged, ex.name()) {
                entry.set(ex.name(), Status::Skip, why.into());
                continue;
            }
            let outcome = match ex.run(&spec) {
                Ok(o) => o,
                Err(ExecError::Unavailable(why)) => {
                    entry.set(ex.name(), Status::Skip, why);
                    continue;
                }
                Err(ExecError::Failed(why)) => {
                    entry.set(ex.name(), Status::Fail, label(why));
                    continue;
                }
            };
            coverage.record(
                program.name,
                program.language,
                outcome.trace.as_deref().unwrap_or_default(),
            );
            let problem = match (&expected, program.oracle) {
                (Some(n), _) => native_difference(n, &outcome)
                    .map(|d| format!("vs native: {} ({} vs {})", d.field, d.left, d.right)),
                (None, Oracle::Golden) => {
                    golden_difference(paths, program.name, &outcome.stdout, opts.bless)
                }
                (None, Oracle::Native) if program.needs_host_sha() => self_check(&outcome),
                (None, Oracle::Native) => None,
            }
            .or_else(|| {
                reference
                    .as_ref()
                    .and_then(|r| outcome_difference(r, &outcome))
                    .map(|d| {
                        format!(
                            "vs {}: {} ({} vs {})",
                            executors[0].name(),
                            d.field,
                            d.left,
                            d.right
                        )
                    })
            });
            if let Some(p) = problem {
                entry.set(ex.name(), Status::Fail, label(p));
            }
            if counted && count_skip.is_none() && outcome.gas.instructions.is_some() {
                metered = true;
                let native = count.get_or_insert_with(|| {
                    let limits = native_count::Limits {
                        max_steps: opts.native_steps,
                    };
                    native_count::count(&binary, &spec, limits)
                });
                let (status, detail) = instruction_verdict(native, &outcome);
                if status == Status::Fail {
                    entry.set(
                        ex.name(),
                        Status::Fail,
                        label(format!("vs native {detail}")),
                    );
                }
                entry.set_instructions(status, label(format!("{}: {detail}", ex.name())));
            }
            if let (Some(instructions), Some(used)) = (outcome.gas.instructions, outcome.gas.used) {
                if gas.len() == i && gas_backend.is_none_or(|b| b == ex.name()) {
                    gas.push(format!("{instructions} instructions, {used} gas"));
                    gas_backend = Some(ex.name());
                }
            }
            if reference.is_none() {
                reference = Some(outcome.clone());
            }
            if let Some(slot) = cold.get_mut(e) {
                slot.resize(i + 1, None);
                slot[i] = Some(outcome);
            }
        }
        if counted && count_skip.is_none() && !metered {
            entry.set_instructions(
                Status::Skip,
                "not metered: skipped (no backend reported gas.instructions)".into(),
            );
        }
    }
    for (ex, cold) in executors.iter().zip(&cold) {
        check_warm(program, *ex, &bytes, cold, opts, &mut entry);
    }
    if let Some(backend) = gas_backend {
        if gas.len() == program.cases.len() {
            // One probe per toolchain and corpus run, not per program.
            let built_with = versions
                .entry(program.toolchain.name)
                .or_insert_with(|| toolchain::version(program.toolchain).unwrap_or_default());
            let text: String = std::iter::once(format!("{GAS_TOOLCHAIN}{built_with}"))
                .chain(gas)
                .map(|l| format!("{l}\n"))
                .collect();
            if let Some(p) = golden_gas_difference(paths, program.name, &text, opts.bless) {
                entry.set(backend, Status::Fail, p);
            }
        }
    }
    entry
}

/// The block of the warm-up call: another hash and another time than
/// [`BLOCK`], so the warm-up's random stream, clock and output differ from
/// every case's.
pub const WARM_UP_BLOCK: BlockContext = BlockContext {
    prev_hash: [0x5a; 32],
    timestamp: 1_600_000_123,
};

/// Warm equals cold: the program loaded once on `ex`, a warm-up call (the
/// first case in another block), then every case again, each warm; each
/// must give exactly the case's cold outcome on the same backend, trace
/// and gas included. `cold` holds those, one per case.
fn check_warm(
    program: &Program,
    ex: &dyn Executor,
    binary: &[u8],
    cold: &[Option<Outcome>],
    opts: &Options,
    entry: &mut Entry,
) {
    let backend = ex.name();
    // A backend that did not run every case cold has its verdict already.
    let Some(cold) = cold
        .iter()
        .map(Option::as_ref)
        .collect::<Option<Vec<&Outcome>>>()
        .filter(|c| c.len() == program.cases.len() && !c.is_empty())
    else {
        return;
    };
    if let Some(why) = opts.warm_skip.and_then(|skip| skip(program, backend)) {
        eprintln!(
            "SKIPPED: {}: warm calls on {backend} not checked: {why}",
            program.name
        );
        entry.set_warm(backend, Status::Skip, why);
        return;
    }
    let specs: Vec<CallSpec> = program
        .cases
        .iter()
        .map(|case| spec_for(program, binary, case))
        .collect();
    let Some(first) = specs.first() else {
        return;
    };
    let mut warm_up = first.call.clone();
    warm_up.block = WARM_UP_BLOCK;
    let calls: Vec<Call> = std::iter::once(warm_up)
        .chain(specs.iter().map(|s| s.call.clone()))
        .collect();
    let label = |i: usize, d: String| {
        if program.cases.len() > 1 {
            format!("case {}: {d}", i + 1)
        } else {
            d
        }
    };
    let outcomes = match ex.run_warm(first, &calls) {
        Ok(o) => o,
        Err(ExecError::Unavailable(why)) => {
            entry.set_warm(backend, Status::Skip, why);
            return;
        }
        Err(ExecError::Failed(why)) => {
            let why = format!("warm calls failed: {why}");
            entry.set(backend, Status::Fail, why.clone());
            entry.set_warm(backend, Status::Fail, why);
            return;
        }
    };
    if outcomes.len() != calls.len() {
        let why = format!(
            "warm calls: {} outcomes for {} calls",
            outcomes.len(),
            calls.len()
        );
        entry.set(backend, Status::Fail, why.clone());
        entry.set_warm(backend, Status::Fail, why);
        return;
    }
    for (i, (warm, cold)) in outcomes.iter().skip(1).zip(cold).enumerate() {
        if warm == cold {
            continue;
        }
        let what = match outcome_difference(cold, warm) {
            Some(d) => format!("field {} (cold {} vs warm {})", d.field, d.left, d.right),
            None => format!(
                "backend name (cold {:?} vs warm {:?})",
                cold.backend, warm.backend
            ),
        };
        let why = label(i, format!("warm call differs from cold: {what}"));
        entry.set(backend, Status::Fail, why.clone());
        entry.set_warm(backend, Status::Fail, why);
        return;
    }
    entry.set_warm(
        backend,
        Status::Pass,
        format!(
            "{} warm calls after a warm-up, equal to cold",
            program.cases.len()
        ),
    );
}

/// First line of a golden gas file: the toolchain that built the program.
const GAS_TOOLCHAIN: &str = "toolchain: ";

/// Gas is part of the outcome every node must agree on: each program's
/// figures (one line per case) are pinned in `golden/NAME.gas`, so any
/// change to counting or to the schedule (docs/gas.md) shows here. The
/// corpus is built from source on each host, and another compiler version
/// builds another binary, with other figures: the file's first line names
/// the toolchain it was recorded with, and on a host with another version
/// the figures are not compared (said on stderr).
fn golden_gas_difference(paths: &Paths, name: &str, text: &str, bless: bool) -> Option<String> {
    let file = paths.golden.join(format!("{name}.gas"));
    if bless {
        return std::fs::create_dir_all(&paths.golden)
            .and_then(|_| std::fs::write(&file, text))
            .err()
            .map(|e| format!("cannot write {}: {e}", file.display()));
    }
    let first = |t: &str| t.lines().next().unwrap_or_default().to_string();
    match std::fs::read_to_string(&file) {
        Ok(want) if want == text => None,
        Ok(want) if first(&want) != first(text) => {
            eprintln!(
                "SKIPPED: {name}: gas not compared with {}: recorded with {:?}, this host's is \
                 {:?} (another compiler builds another binary; --bless records it)",
                file.display(),
                first(&want),
                first(text)
            );
            None
        }
        Ok(want) => Some(format!(
            "gas vs golden file {}: expected {:?}, got {:?} (if the gas schedule changed on \
             purpose, bump its version and run with --bless)",
            file.display(),
            want.trim_end(),
            text.trim_end()
        )),
        Err(e) => Some(format!(
            "no golden gas file {} ({e}); run with --bless",
            file.display()
        )),
    }
}

/// The instruction oracle's verdict on one metered outcome.
fn instruction_verdict(
    native: &Result<NativeCount, CountError>,
    outcome: &Outcome,
) -> (Status, String) {
    match native {
        Ok(n) => {
            let verdict = native_count::compare(outcome, n);
            let status = match verdict {
                Verdict::Equal { .. } => Status::Pass,
                Verdict::Differs(_) => Status::Fail,
                Verdict::NotMetered | Verdict::NoTrace => Status::Skip,
            };
            (status, verdict.to_string())
        }
        Err(CountError::StepLimit { limit, .. }) => (
            Status::Skip,
            format!("instructions: more than {limit}: beyond the single-step budget"),
        ),
        Err(e @ CountError::NotOnThisHost) => (Status::Skip, format!("instructions: {e}")),
        Err(e) => (
            Status::Fail,
            format!("instructions: native count failed: {e}"),
        ),
    }
}

/// Without a native run, a program that checks itself (known answers)
/// must exit 0 without writing to stderr.
fn self_check(outcome: &Outcome) -> Option<String> {
    (outcome.status() != 0 || !outcome.stderr.is_empty()).then(|| {
        format!(
            "the program's own checks failed: status {}, stderr {:?}",
            outcome.status(),
            String::from_utf8_lossy(&outcome.stderr)
        )
    })
}

fn golden_difference(paths: &Paths, name: &str, stdout: &[u8], bless: bool) -> Option<String> {
    let file = paths.golden.join(format!("{name}.stdout"));
    if bless {
        return std::fs::create_dir_all(&paths.golden)
            .and_then(|_| std::fs::write(&file, stdout))
            .err()
            .map(|e| format!("cannot write {}: {e}", file.display()));
    }
    match std::fs::read(&file) {
        Ok(want) => crate::compare::bytes_difference("stdout vs golden file", &want, stdout)
            .map(|d| format!("{} (expected {}, got {})", d.field, d.left, d.right)),
        Err(e) => Some(format!(
            "no golden file {} ({e}); run with --bless",
            file.display()
        )),
    }
}

/// Runs the corpus; `progress` gets one line per program.
pub fn run(
    executors: &[&dyn Executor],
    paths: &Paths,
    opts: &Options,
    progress: &mut dyn FnMut(&str),
) -> Report {
    let programs: Vec<Program> = crate::corpus::programs()
        .into_iter()
        .filter(|p| opts.only.as_deref().is_none_or(|o| p.name.contains(o)))
        .filter(|p| opts.programs.is_empty() || opts.programs.iter().any(|n| n == p.name))
        .collect();
    let total = programs.len();
    let mut report = Report::default();
    let mut versions = BTreeMap::new();
    for (i, p) in programs.iter().enumerate() {
        progress(&format!(
            "[{}/{total}] {} ({}, {})",
            i + 1,
            p.name,
            p.language,
            p.toolchain.name
        ));
        let entry = run_program(
            p,
            executors,
            paths,
            opts,
            &mut report.coverage,
            &mut versions,
        );
        report.programs.push(entry);
    }
    report
}
