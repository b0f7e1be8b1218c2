//! Threads, signals and timers on one virtual CPU (docs/threads.md): C
//! pthreads with glibc and musl, Rust std threads, a thread that spins
//! without syscalls while another sleeps (only a time slice can switch), a
//! deadlock, and the threaded corpus's signal program (handlers for
//! faults, the alternate stack, pending signals, alarm and itimers). Each
//! must behave as natively, identically on every backend, and give the
//! same `--json --trace` document every time.

mod support;

use std::path::{Path, PathBuf};

use qvm_conformance::corpus;
use support::*;

/// Builds a conformance-corpus source with `tc` into this test's own
/// directory; None when the toolchain is missing (reported by `build`'s
/// rules: under CI that fails).
fn corpus_build(tc: Toolchain, source: &str) -> Option<PathBuf> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let dir = Path::new(env!("CARGO_TARGET_TMPDIR"))
        .join("threads")
        .join(tc.name)
        .join(Path::new(source).file_stem()?);
    match qvm_conformance::toolchain::build(tc, &root.join(source), &dir) {
        Ok(bin) => Some(bin),
        Err(BuildError::Missing(name)) if std::env::var_os("CI").is_none() => {
            eprintln!("SKIPPED: toolchain {name} is not installed");
            None
        }
        Err(e) => panic!("{e}"),
    }
}

fn threads_same_as_native(backend: Backend, tc: Toolchain, source: &str) {
    let Some(bin) = build(tc, &format!("threads/{source}")) else {
        return;
    };
    let r = assert_same_as_native(backend, &bin, &[], &[], b"");
    assert_eq!(r.status, 0, "{}", r.stderr_text());
}

on_every_backend! {
    fn signal_handlers_and_timers(backend) {
        for tc in [C_GLIBC, C_MUSL] {
            let Some(bin) = corpus_build(tc, "conformance/corpus/c/signals.c") else { continue };
            let r = assert_same_as_native(backend, &bin, &[], &[], b"");
            assert_eq!(r.status, 0, "{}", r.stderr_text());
        }
    }

    fn pthreads_glibc(backend) {
        threads_same_as_native(backend, C_GLIBC, "pthreads.c");
    }

    fn pthreads_musl(backend) {
        threads_same_as_native(backend, C_MUSL, "pthreads.c");
    }

    fn rust_threads_and_a_spinning_thread(backend) {
        threads_same_as_native(backend, RUST, "spin.rs");
    }

    fn a_timeout_ends_threads_that_spin_forever(backend) {
        // The emulator keeps one watchdog for every run of a call: each
        // switch between these threads ends a run, and the deadline must
        // still end the call (and no thread per run pile up).
        for tc in [C_GLIBC, C_MUSL] {
            let Some(bin) = build(tc, "threads/spin_forever.c") else { continue };
            let mut args = vec!["run", "--backend", backend.as_str()];
            args.extend(backend.run_options());
            args.extend(["--timeout", "1", bin.to_str().unwrap()]);
            let r = qvm_output(&args);
            assert_eq!(r.status, 124, "{}", r.stderr_text());
            assert_eq!(r.stdout_text(), "started\n");
            assert!(r.stderr_text().contains("timeout"), "{}", r.stderr_text());
        }
    }

    fn a_deadlock_ends_the_call_naming_every_thread(backend) {
        for tc in [C_GLIBC, C_MUSL] {
            let Some(bin) = build(tc, "threads/deadlock.c") else { continue };
            let r = qvm(backend, &bin, &[], &[], &[], b"");
            assert_eq!(r.status, 137, "{}", r.stderr_text());
            let err = r.stderr_text();
            assert!(err.contains("deadlock"), "{err}");
            assert!(err.contains("thread 2 in futex") && err.contains("thread 3 in futex"), "{err}");
            assert!(r.stdout.is_empty());
        }
    }
}

/// Every program of the threaded corpus that qvm runs gives the same
/// `--json --trace` document ten times in a row.
#[test]
fn the_threaded_corpus_repeats_bit_for_bit() {
    for program in corpus::threaded_programs() {
        if corpus::not_yet(program.name).is_some() {
            continue;
        }
        let Some(bin) = corpus_build(program.toolchain, program.source) else {
            continue;
        };
        let path = bin.to_string_lossy().into_owned();
        let case = program.cases[0];
        let mut args = vec!["run", "--backend", "emu", "--json", "--trace"];
        let env: Vec<String> = case.env.iter().map(|(k, v)| format!("{k}={v}")).collect();
        for e in &env {
            args.extend(["--env", e.as_str()]);
        }
        args.push(&path);
        args.extend(case.args);
        let (status, first, err) = qvm_command(&args);
        assert!(status >= 0, "{}: {err}", program.name);
        for run in 2..=10 {
            let (_, again, _) = qvm_command(&args);
            assert!(
                again == first,
                "{}: run {run} differs from run 1",
                program.name
            );
        }
    }
}

#[test]
fn threaded_runs_repeat_bit_for_bit() {
    let Some(bin) = build(C_GLIBC, "threads/pthreads.c") else {
        return;
    };
    let path = bin.to_string_lossy().into_owned();
    let args = [
        "run",
        "--backend",
        "emu",
        "--json",
        "--trace",
        path.as_str(),
    ];
    let (status, first, err) = qvm_command(&args);
    assert_eq!(status, 0, "{err}");
    assert!(first.contains("\"clone\""), "the trace shows the threads");
    for _ in 0..4 {
        assert_eq!(qvm_command(&args).1, first);
    }
}
