//! Threads on one virtual CPU (docs/design.md, "Threads"): C pthreads with
//! glibc and musl, Rust std threads, a thread that spins without syscalls
//! while another sleeps (only a time slice can switch), and a deadlock.
//! Each must behave as natively, identically on every backend, and give
//! the same `--json --trace` document every time.

mod support;

use support::*;

fn threads_same_as_native(backend: Backend, tc: Toolchain, source: &str) {
    let Some(bin) = build(tc, &format!("threads/{source}")) else {
        return;
    };
    let r = assert_same_as_native(backend, &bin, &[], &[], b"");
    assert_eq!(r.status, 0, "{}", r.stderr_text());
}

on_every_backend! {
    fn pthreads_glibc(backend) {
        threads_same_as_native(backend, C_GLIBC, "pthreads.c");
    }

    fn pthreads_musl(backend) {
        threads_same_as_native(backend, C_MUSL, "pthreads.c");
    }

    fn rust_threads_and_a_spinning_thread(backend) {
        threads_same_as_native(backend, RUST, "spin.rs");
    }

    fn a_deadlock_ends_the_call_naming_every_thread(backend) {
        for tc in [C_GLIBC, C_MUSL] {
            let Some(bin) = build(tc, "threads/deadlock.c") else { continue };
            let r = qvm(backend, &bin, backend.run_options(), &[], &[], b"");
            assert_eq!(r.status, 137, "{}", r.stderr_text());
            let err = r.stderr_text();
            assert!(err.contains("deadlock"), "{err}");
            assert!(err.contains("thread 2 in futex") && err.contains("thread 3 in futex"), "{err}");
            assert!(r.stdout.is_empty());
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
