//! Random straight-line code (issue 4, part 4b; grown by issue 10, item
//! 6): batches of random sequences, drawn with proptest and encoded with
//! iced-x86, run on the host CPU and on every backend. Each sequence has
//! a kind (`random_code::Kind`): the original integer/SSE mix, the
//! profile's required families (BMI1/2, ADX, MOVBE, LZCNT, POPCNT,
//! AES-NI, PCLMULQDQ), the SHA extensions (a hazard, drawn when the host
//! CPU has them), x87 arithmetic and SSE floating point with the
//! exception flags compared, and the ending kinds, whose last
//! instruction may fault: privileged and I/O instructions, SSE accesses
//! at random alignments, accesses after setting RFLAGS.AC, SHA at random
//! alignments with and without RFLAGS.AC, and VEX/EVEX/XOP encodings,
//! which must be #UD under qvm. Every register, RFLAGS
//! (undefined flags masked), MXCSR, the x87 state, every XMM register and
//! the scratch memory must agree, and so must the way a sequence ends: the
//! signal, and qvm's fault kind and address against the native handler's
//! record. On KVM the emulator runs too and the backends are compared
//! with each other.
//!
//! Each run draws new batches: 250 of 20 body sequences plus one ending
//! sequence, 5,250 sequences per CI run on the emulator (50 batches, 1,050
//! sequences, on KVM, whose CI run is in a slow nested VM), and prints how
//! many of each kind ran. `QVM_RANDOM_KINDS=x87,sse-align` draws only those
//! kinds (`all` adds the x87 transcendentals, off by default; the SHA
//! kinds are skipped, loudly, on a host CPU without SHA and against QEMU's
//! TCG),
//! `QVM_RANDOM_BATCHES=N` sets the batch count, and
//! `QVM_RANDOM_ALL_FAILURES=1` reports every failing batch instead of the
//! first. In CI's nested VM the host CPU is QEMU's TCG;
//! `QVM_HOST_CPU=qemu-tcg` (set there) steers around its known bugs. A
//! failure is reduced to one minimal sequence and reported with its start
//! state and listing.

mod support;

use std::cell::RefCell;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Command;

use proptest::collection::vec;
use proptest::prelude::*;
use proptest::sample::select;
use proptest::test_runner::{Config, TestCaseError, TestError, TestRunner};
use qvm::BackendChoice;
use qvm_conformance::native_count;
use qvm_conformance::random_code::{
    self, Draw, End, Expect, Kind, Oracle, Program, Run, Sequence, MAX_DRAWS,
};
use support::*;

/// Batches per run (`QVM_RANDOM_BATCHES` overrides).
const BATCHES: u32 = 250;
/// Batches of the KVM variant. In CI it runs in a nested VM under QEMU's
/// TCG, where a batch took about 2 s (40 batches in 79 s, measured):
/// 50 batches keep it under two minutes there.
const KVM_BATCHES: u32 = 50;
/// Sequences of body kinds per batch; a batch also ends in one sequence
/// of an ending kind when any is drawn.
const BODY_PER_BATCH: usize = 20;

fn sequence(kinds: Vec<Kind>) -> impl Strategy<Value = Sequence> {
    let draw = (any::<u32>(), any::<u64>()).prop_map(|(form, bits)| Draw { form, bits });
    (
        select(kinds),
        any::<[u64; 16]>(),
        any::<u64>(),
        0u8..4,
        any::<u64>(),
        vec(draw.clone(), 1..=MAX_DRAWS),
        draw,
    )
        .prop_map(
            |(kind, gprs, flags, rounding, data_seed, draws, ending)| Sequence {
                kind,
                gprs,
                flags,
                rounding,
                data_seed,
                draws,
                ending,
            },
        )
}

/// A batch: body sequences, then at most one of an ending kind (it may
/// fault, which ends the program).
fn batch(kinds: &[Kind]) -> BoxedStrategy<Vec<Sequence>> {
    let (endings, bodies): (Vec<Kind>, Vec<Kind>) = kinds.iter().partition(|k| k.is_ending());
    let body_count = if bodies.is_empty() { 0 } else { BODY_PER_BATCH };
    let body = if bodies.is_empty() {
        Just(Vec::new()).boxed()
    } else {
        vec(sequence(bodies), body_count).boxed()
    };
    if endings.is_empty() {
        body
    } else {
        (body, sequence(endings))
            .prop_map(|(mut body, last)| {
                body.push(last);
                body
            })
            .boxed()
    }
}

/// Runs the program on the host CPU. Another test thread's fork can hold
/// the freshly written file open for a moment (ETXTBSY), so retry that.
fn native(program: &Program, path: &Path) -> Result<Run, String> {
    use std::os::unix::fs::PermissionsExt;
    std::fs::write(path, &program.elf).map_err(|e| e.to_string())?;
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o755))
        .map_err(|e| e.to_string())?;
    // QVM_RANDOM_NATIVE_RUNNER=qemu-x86_64 runs the "native" side under
    // qemu-user: with QVM_HOST_CPU=qemu-tcg, a way to try on any host what
    // CI's nested VM (QEMU's TCG as the host CPU) will see.
    let runner = std::env::var_os("QVM_RANDOM_NATIVE_RUNNER");
    let command = || match &runner {
        Some(runner) => {
            let mut command = Command::new(runner);
            command.arg(path);
            command
        }
        None => Command::new(path),
    };
    for _ in 0..50 {
        match qvm_conformance::native::run_command(command(), b"") {
            Ok(run) => return program.native_run(run.status, &run.stdout),
            Err(e) if e.raw_os_error() == Some(ETXTBSY) => {
                std::thread::sleep(std::time::Duration::from_millis(20))
            }
            Err(e) => return Err(format!("running natively: {e}")),
        }
    }
    Err("the test binary stayed busy (ETXTBSY)".into())
}

/// Linux's "text file busy" errno.
const ETXTBSY: i32 = 26;

fn on_backend(program: &Program, choice: BackendChoice, path: &Path) -> Result<Run, String> {
    let mut spec = program.spec();
    spec.call.timeout = Some(qvm_conformance::runner::CALL_TIMEOUT);
    if choice == BackendChoice::Kvm {
        spec.call.gas_limit = None; // KVM cannot meter (docs/gas.md)
    }
    let outcome = qvm::run(&spec, choice).map_err(|e| format!("qvm: {e}"))?;
    // The instruction oracle (issue 11), on a backend that meters: the
    // count of every sequence (each stretch between two writes) against
    // the host CPU's, single-stepped.
    // Not in CI's nested VM, whose "CPU" is QEMU's TCG; and only where the
    // host CPU is the oracle for the whole program (not for an ending the
    // host runs but qvm's profile hides, such as VEX).
    if outcome.gas.instructions.is_some()
        && program.expect == Expect::Native
        && !qvm_conformance::native::host_cpu_is_qemu_tcg()
    {
        match program.count_natively(
            &path.with_extension("count"),
            native_count::Limits::default(),
        ) {
            Ok(native) => {
                if let native_count::Verdict::Differs(d) = native_count::compare(&outcome, &native)
                {
                    return Err(format!("instructions differ from the CPU's: {d}"));
                }
                COUNTED.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
            }
            // qvm built for another host (an ARM64 build under qemu-user,
            // scripts/check-aarch64.sh) still runs the x86-64 sequences
            // natively, but cannot single-step them: the final line says
            // how many were counted.
            Err(native_count::CountError::NotOnThisHost) => {}
            Err(e) => return Err(format!("counting natively: {e}")),
        }
    }
    Ok(Run::from_outcome(&outcome))
}

/// Programs whose instruction count (every stretch between two syscalls)
/// equalled the host CPU's, for the summary.
static COUNTED: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);

/// What a batch showed, for the summary.
#[derive(Default)]
struct Tally {
    /// Sequences run, per kind.
    sequences: BTreeMap<Kind, usize>,
    /// Ending sequences that faulted natively, per kind.
    native_faults: BTreeMap<Kind, usize>,
    /// Ending sequences compared only for #UD, only between backends, or
    /// only for not faulting.
    expectations: BTreeMap<&'static str, usize>,
}

fn check(backend: Backend, batch: &[Sequence], path: &Path) -> Result<(Program, Run), String> {
    let mut program =
        random_code::build(batch, Oracle::from_env()).map_err(|e| format!("encoding: {e}"))?;
    // QVM_RANDOM_MASK_EXCEPTION_FLAGS=1: leave MXCSR's and the x87 status
    // word's exception flags out, to see the x87 and MXCSR kinds' other
    // differences while the emulator does not set the flags.
    program.mask_exception_flags(std::env::var_os("QVM_RANDOM_MASK_EXCEPTION_FLAGS").is_some());
    let native = native(&program, path)?;
    // On KVM, KVM first: what it shows is worth seeing even while the
    // emulator still differs.
    let kvm = match backend {
        Backend::Kvm => {
            let kvm = on_backend(&program, BackendChoice::Kvm, path)?;
            if let Some(diff) = program.compare_with_native(&native, "kvm", &kvm) {
                return Err(diff);
            }
            Some(kvm)
        }
        Backend::Emu => None,
    };
    let emu = on_backend(&program, BackendChoice::Emu, path)?;
    if let Some(diff) = program.compare_with_native(&native, "emu", &emu) {
        return Err(diff);
    }
    if let Some(kvm) = kvm {
        if let Some(diff) = program.compare_backends("emu", &emu, "kvm", &kvm) {
            return Err(diff);
        }
    }
    Ok((program, native))
}

/// Reduces a failing batch to one failing sequence with as few draws as
/// still fail: proptest's own shrinking cannot drop sequences from a batch
/// of fixed size, and re-running whole batches would be slow. A sequence
/// of an ending kind is tried alone; a body sequence alone too (then it is
/// the last, which changes nothing for a body kind).
fn minimize(backend: Backend, batch: Vec<Sequence>, path: &Path) -> Option<(Sequence, String)> {
    let (mut seq, mut reason) = batch.into_iter().rev().find_map(|s| {
        check(backend, std::slice::from_ref(&s), path)
            .err()
            .map(|e| (s, e))
    })?;
    let mut i = 0;
    while i < seq.draws.len() {
        let mut smaller = seq.clone();
        smaller.draws.remove(i);
        match check(backend, std::slice::from_ref(&smaller), path) {
            Err(e) => (seq, reason) = (smaller, e),
            Ok(_) => i += 1,
        }
    }
    Some((seq, reason))
}

/// What groups failures of one kind: a report's first line with numbers
/// blanked, and the mnemonic of the instruction it names, if any.
fn signature(reason: &str) -> String {
    let is_number = |word: &str| {
        let w = word.trim_end_matches([' ', ',', ']', ')', ':']);
        w.starts_with("0x")
            || w.len() > 1
                && w.ends_with('h')
                && w[..w.len() - 1].chars().all(|c| c.is_ascii_hexdigit())
    };
    let first = reason.lines().next().unwrap_or("");
    let mut out: String = first
        .split_inclusive([' ', ',', '[', '(', ')'])
        .map(|word| if is_number(word) { "N " } else { word })
        .collect();
    if let Some(at) = reason.split("at `").nth(1) {
        out.push_str(" at ");
        out.push_str(at.split([' ', '`']).next().unwrap_or(""));
    }
    out
}

fn batches_from_env(backend: Backend) -> u32 {
    std::env::var("QVM_RANDOM_BATCHES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(match backend {
            Backend::Emu => BATCHES,
            Backend::Kvm => KVM_BATCHES,
        })
}

on_every_backend! {
    fn random_instruction_sequences_agree_with_the_cpu(backend) {
        let oracle = Oracle::from_env();
        let (kinds, unjudged): (Vec<Kind>, Vec<Kind>) = Kind::from_env()
            .unwrap_or_else(|e| panic!("{e}"))
            .into_iter()
            .partition(|k| oracle.judges(*k));
        for kind in unjudged {
            let why = oracle.cannot_judge(kind).unwrap_or("");
            eprintln!("SKIPPED: kind {kind}: {oracle:?} cannot be its oracle: {why}");
        }
        assert!(!kinds.is_empty(), "no kind left to draw");
        let path: PathBuf = Path::new(env!("CARGO_TARGET_TMPDIR"))
            .join(format!("random-code-{}.elf", backend.as_str()));
        let batches = batches_from_env(backend);
        // QVM_RANDOM_ALL_FAILURES=1 runs every batch and reports each
        // failure (minimized) instead of stopping at the first.
        let collect = std::env::var_os("QVM_RANDOM_ALL_FAILURES").is_some();
        let mut runner = TestRunner::new(Config {
            cases: batches,
            failure_persistence: None,
            max_shrink_iters: 0,
            ..Config::default()
        });
        let tally = RefCell::new(Tally::default());
        let failures = RefCell::new(Vec::<(String, usize, String)>::new());
        let started = std::time::Instant::now();
        let result = runner.run(&batch(&kinds), |batch| {
            for seq in &batch {
                *tally.borrow_mut().sequences.entry(seq.kind).or_default() += 1;
            }
            match check(backend, &batch, &path) {
                Ok((program, native)) => {
                    let mut tally = tally.borrow_mut();
                    if let Some(last) = program.last_kind().filter(|k| k.is_ending()) {
                        if matches!(native.end, End::Fault { .. }) {
                            *tally.native_faults.entry(last).or_default() += 1;
                        }
                        let what = match program.expect {
                            Expect::Native => "compared with the host",
                            Expect::InvalidOpcode => "must be #UD",
                            Expect::Backends => "compared between backends",
                            Expect::NoFault => "must not fault",
                        };
                        *tally.expectations.entry(what).or_default() += 1;
                    }
                    Ok(())
                }
                Err(reason) if collect => {
                    // One minimized example per kind of failure: the
                    // report's first two lines with numbers blanked.
                    let signature = signature(&reason);
                    let mut failures = failures.borrow_mut();
                    if let Some(seen) = failures.iter_mut().find(|(s, ..)| *s == signature) {
                        seen.1 += 1;
                    } else {
                        let found = minimize(backend, batch, &path)
                            .map(|(seq, reason)| format!("{reason}\nminimal failing sequence: {seq:?}"))
                            .unwrap_or(reason);
                        failures.push((signature, 1, found));
                    }
                    Ok(())
                }
                Err(reason) => Err(TestCaseError::fail(reason)),
            }
        });
        let tally = tally.into_inner();
        let total: usize = tally.sequences.values().sum();
        eprintln!(
            "{total} random sequences ran on {} in {:.1} s:",
            backend.as_str(),
            started.elapsed().as_secs_f64()
        );
        for (kind, count) in &tally.sequences {
            let faults = tally.native_faults.get(kind).copied().unwrap_or(0);
            if kind.is_ending() {
                eprintln!("  {kind}: {count} ({faults} of the passing ones faulted natively)");
            } else {
                eprintln!("  {kind}: {count}");
            }
        }
        for (what, count) in &tally.expectations {
            eprintln!("  endings {what}: {count}");
        }
        let failures = failures.into_inner();
        if !failures.is_empty() {
            let failed: usize = failures.iter().map(|(_, count, _)| count).sum();
            for (i, (_, count, example)) in failures.iter().enumerate() {
                eprintln!(
                    "--- failure {} of {} ({count} batches):\n{example}",
                    i + 1,
                    failures.len()
                );
            }
            panic!(
                "{failed} of {batches} batches failed, {} kinds of failure",
                failures.len()
            );
        }
        match result {
            Ok(()) => eprintln!(
                "all agreed with the host CPU; instruction counts equal to the CPU's, \
                 every stretch between two syscalls, in {} programs",
                COUNTED.load(std::sync::atomic::Ordering::Relaxed)
            ),
            Err(TestError::Fail(reason, batch)) => match minimize(backend, batch, &path) {
                Some((seq, reason)) => panic!("{reason}\nminimal failing sequence: {seq:?}"),
                None => panic!("{reason}\n(no sequence fails alone: the batch fails as a whole)"),
            },
            Err(e) => panic!("{e}"),
        }
    }
}
