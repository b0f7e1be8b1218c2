//! Random straight-line code (issue 4, part 4b): batches of sequences of
//! integer, bit, string, multiply/divide, push/pop, load/store and SSE
//! instructions, drawn with proptest and encoded with iced-x86, run on
//! the host CPU and on every backend. Every register, RFLAGS (with the
//! flags the ISA leaves undefined masked), MXCSR, every XMM register and
//! the scratch memory must agree. On KVM the emulator runs too, so the
//! two backends are also compared with each other.
//!
//! Each run draws new sequences: 40 batches of 50, so 2,000 sequences per
//! backend and CI run. In CI's nested VM the host CPU is QEMU's TCG;
//! `QVM_HOST_CPU=qemu-tcg` (set there) steers around its known bugs. A failure is shrunk to a minimal batch and reported
//! with the sequence's start state and listing.

mod support;

use std::path::{Path, PathBuf};
use std::process::Command;

use proptest::collection::vec;
use proptest::prelude::*;
use proptest::test_runner::{Config, TestCaseError, TestError, TestRunner};
use qvm::{BackendChoice, CallSpec};
use qvm_conformance::random_code::{self, Draw, Oracle, Program, Sequence, MAX_DRAWS};
use support::*;

const BATCHES: u32 = 40;
const SEQUENCES_PER_BATCH: usize = 50;

fn sequence() -> impl Strategy<Value = Sequence> {
    let draw = (any::<u32>(), any::<u64>()).prop_map(|(form, bits)| Draw { form, bits });
    (
        any::<[u64; 16]>(),
        any::<u64>(),
        0u8..4,
        any::<u64>(),
        vec(draw, 1..=MAX_DRAWS),
    )
        .prop_map(|(gprs, flags, rounding, data_seed, draws)| Sequence {
            gprs,
            flags,
            rounding,
            data_seed,
            draws,
        })
}

/// Runs the program on the host CPU. Another test thread's fork can hold
/// the freshly written file open for a moment (ETXTBSY), so retry that.
fn native(program: &Program, path: &Path) -> Result<Vec<u8>, String> {
    use std::os::unix::fs::PermissionsExt;
    std::fs::write(path, &program.elf).map_err(|e| e.to_string())?;
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o755))
        .map_err(|e| e.to_string())?;
    for _ in 0..50 {
        match qvm_conformance::native::run_command(Command::new(path), b"") {
            Ok(run) if run.status == 0 && run.stdout.len() == program.output_len() => {
                return Ok(run.stdout)
            }
            Ok(run) => {
                return Err(format!(
                    "the host CPU did not run the batch cleanly (a generator bug): status {}, {} bytes of stdout",
                    run.status,
                    run.stdout.len()
                ))
            }
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

fn on_backend(program: &Program, choice: BackendChoice) -> Result<Vec<u8>, String> {
    let mut spec = CallSpec::new(program.elf.clone(), "random-code");
    spec.memory_limit = 16 << 20;
    let outcome = qvm::run(&spec, choice).map_err(|e| format!("qvm: {e}"))?;
    if outcome.exit_code != Some(0) {
        let place = outcome
            .fault
            .as_ref()
            .and_then(|f| program.locate(f.address));
        return Err(format!(
            "{} did not finish the batch: exit {:?}, signal {:?}, fault {:?}\n{}",
            outcome.backend,
            outcome.exit_code,
            outcome.signal,
            outcome.fault,
            place.unwrap_or_default()
        ));
    }
    Ok(outcome.stdout)
}

fn check(backend: Backend, batch: &[Sequence], path: &Path) -> Result<(), String> {
    let program =
        random_code::build(batch, Oracle::from_env()).map_err(|e| format!("encoding: {e}"))?;
    let native = native(&program, path)?;
    let mut runs = vec![("emu", on_backend(&program, BackendChoice::Emu)?)];
    if backend == Backend::Kvm {
        runs.push(("kvm", on_backend(&program, BackendChoice::Kvm)?));
    }
    for (name, stdout) in &runs {
        if let Some(diff) = program.difference("native", &native, name, stdout) {
            return Err(diff);
        }
    }
    Ok(())
}

/// Reduces a failing batch to one failing sequence with as few draws as
/// still fail: proptest's own shrinking cannot drop sequences from a batch
/// of fixed size, and re-running whole batches would be slow.
fn minimize(backend: Backend, batch: Vec<Sequence>, path: &Path) -> Option<(Sequence, String)> {
    let (mut seq, mut reason) = batch.into_iter().find_map(|s| {
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
            Ok(()) => i += 1,
        }
    }
    Some((seq, reason))
}

on_every_backend! {
    fn random_instruction_sequences_agree_with_the_cpu(backend) {
        let path: PathBuf = Path::new(env!("CARGO_TARGET_TMPDIR"))
            .join(format!("random-code-{}.elf", backend.as_str()));
        let mut runner = TestRunner::new(Config {
            cases: BATCHES,
            failure_persistence: None,
            max_shrink_iters: 0,
            ..Config::default()
        });
        let batches = vec(sequence(), SEQUENCES_PER_BATCH);
        let result = runner.run(&batches, |batch| {
            check(backend, &batch, &path).map_err(TestCaseError::fail)
        });
        match result {
            Ok(()) => eprintln!(
                "{} random sequences agreed with the host CPU on {}",
                BATCHES as usize * SEQUENCES_PER_BATCH,
                backend.as_str()
            ),
            Err(TestError::Fail(reason, batch)) => match minimize(backend, batch, &path) {
                Some((seq, reason)) => panic!("{reason}\nminimal failing sequence: {seq:?}"),
                None => panic!("{reason}\n(no sequence fails alone: the batch fails as a whole)"),
            },
            Err(e) => panic!("{e}"),
        }
    }
}
