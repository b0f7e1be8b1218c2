//! `qvm diff`: one call on every available backend (and natively), the
//! first difference field by field; exit 0 when all agree, 1 when not.

mod support;

use std::process::Command;

use support::*;

fn diff(args: &[&str]) -> (i32, String) {
    let out = Command::new(qvm_bin())
        .arg("diff")
        .args(args)
        .output()
        .unwrap();
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
    )
}

#[test]
fn agreeing_runs_exit_zero() {
    let Some(bin) = build(C_GLIBC, "hello.c") else {
        return;
    };
    let (status, text) = diff(&[
        "--native",
        "--env",
        "GREETING=hi",
        bin.to_str().unwrap(),
        "a",
        "b",
    ]);
    assert_eq!(status, 0, "{text}");
    assert!(text.starts_with("emu: exit 0"), "{text}");
    assert!(text.contains("native: exit 0"), "{text}");
    assert!(text.contains("runs agree"), "{text}");
}

#[test]
fn a_difference_is_shown_and_exits_one() {
    // The host's TSC is not qvm's virtual one.
    let Some(bin) = build(C_GLIBC, "c/cpu.c") else {
        return;
    };
    let (status, text) = diff(&["--native", bin.to_str().unwrap(), "rdtsc"]);
    assert_eq!(status, 1, "{text}");
    assert!(
        text.contains("native vs emu: first difference in stdout (byte 4, line 1;"),
        "{text}"
    );
    assert!(text.contains("  emu: \"tsc=0,1000\""), "{text}");
}

#[test]
fn crashes_compare_by_signal() {
    let Some(bin) = build(C_GLIBC, "c/crash_null.c") else {
        return;
    };
    let (status, text) = diff(&["--native", bin.to_str().unwrap()]);
    assert_eq!(status, 0, "{text}");
    assert!(text.starts_with("emu: killed by SIGSEGV"), "{text}");
}

#[test]
fn bad_input_is_a_qvm_error() {
    let out = Command::new(qvm_bin())
        .args(["diff", "/nonexistent/contract"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(125));
    assert!(String::from_utf8_lossy(&out.stderr).starts_with("qvm: error: cannot read contract"));
}
