//! Issue 12's corpus (`corpus::threaded_programs`: threads, signals, files
//! in /tmp and /dev/shm) runs natively before qvm can run it: every
//! program builds with its toolchain, and every case exits 0 in each of
//! five runs; a program with a native oracle prints the same stdout each
//! time, whatever the host's scheduler did.

use std::path::Path;
use std::process::Command;

use qvm_conformance::corpus::{self, Oracle, Program};
use qvm_conformance::native;
use qvm_conformance::toolchain::{self, BuildError};

const RUNS: usize = 5;
/// Host seconds a run may take (the slowest, signals.c, waits 1 s for
/// alarm()); a hang (a spinning goroutine nobody preempts) fails instead
/// of stopping the suite.
const TIMEOUT_SECONDS: &str = "60";

/// Runs every case of `program` (built at `binary`) `RUNS` times; the
/// failures, one line each.
fn check_program(program: &Program, binary: &Path) -> Vec<String> {
    let mut failures = Vec::new();
    for (i, case) in program.cases.iter().enumerate() {
        let mut first: Option<Vec<u8>> = None;
        for run in 1..=RUNS {
            let mut cmd = Command::new("timeout");
            cmd.arg(TIMEOUT_SECONDS)
                .arg(binary)
                .args(case.args)
                .env_clear()
                .envs(case.env.iter().copied());
            let out = match native::run_command(cmd, &case.stdin.bytes()) {
                Ok(out) => out,
                Err(e) => {
                    failures.push(format!("{} case {i}: cannot run: {e}", program.name));
                    break;
                }
            };
            if out.status != 0 {
                failures.push(format!(
                    "{} case {i} run {run}: status {} (124: timed out)\nstdout:\n{}stderr:\n{}",
                    program.name,
                    out.status,
                    String::from_utf8_lossy(&out.stdout),
                    String::from_utf8_lossy(&out.stderr)
                ));
                break;
            }
            match &first {
                None => first = Some(out.stdout),
                Some(f) if program.oracle == Oracle::Native && *f != out.stdout => {
                    failures.push(format!(
                        "{} case {i}: run {run}'s stdout differs from run 1's:\n{}---\n{}",
                        program.name,
                        String::from_utf8_lossy(f),
                        String::from_utf8_lossy(&out.stdout)
                    ));
                    break;
                }
                Some(_) => {}
            }
        }
    }
    failures
}

#[test]
fn threaded_programs_run_natively() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    let tmp = Path::new(env!("CARGO_TARGET_TMPDIR")).join("threaded-native");
    let (mut passed, mut missing, mut failures) = (Vec::new(), Vec::new(), Vec::new());
    for program in corpus::threaded_programs() {
        // One directory per toolchain: the programs of a toolchain have
        // distinct names, and Go's build cache is shared between them.
        let dir = tmp.join(program.toolchain.name);
        let binary = match toolchain::build(program.toolchain, &root.join(program.source), &dir) {
            Ok(b) => b,
            Err(BuildError::Missing(name)) => {
                assert!(
                    std::env::var_os("CI").is_none(),
                    "toolchain {name} is missing in CI: scripts/install-deps.sh test installs it"
                );
                eprintln!("SKIPPED {}: toolchain {name} is not installed (scripts/install-deps.sh test installs it)", program.name);
                missing.push(program.name);
                continue;
            }
            Err(e) => {
                failures.push(format!("{}: {e}", program.name));
                continue;
            }
        };
        let failed = check_program(&program, &binary);
        if failed.is_empty() {
            passed.push(program.name);
        }
        failures.extend(failed);
    }
    eprintln!(
        "exit 0 in {RUNS} native runs (same stdout where the oracle is native): {}",
        passed.join(", ")
    );
    assert!(failures.is_empty(), "{}", failures.join("\n"));
    assert!(!passed.is_empty(), "no toolchain installed");
}
