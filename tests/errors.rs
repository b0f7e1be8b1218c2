//! qvm's own errors: every bad input exits 125 with exactly one
//! `qvm: error:` line on stderr, never a panic.

mod support;

use std::path::Path;
use std::process::Command;

use qvm_common::test_elf;
use support::*;

const PT_LOAD: u32 = 1;
const RX: u32 = 5;

/// Runs qvm with `args` and checks the single-line error.
fn assert_error(args: &[&str], expect: &str) {
    let out = Command::new(qvm_bin()).args(args).output().unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(
        out.status.code(),
        Some(125),
        "args {args:?}: stderr {stderr}"
    );
    assert!(
        out.stdout.is_empty(),
        "args {args:?}: stdout {:?}",
        String::from_utf8_lossy(&out.stdout)
    );
    assert_eq!(
        stderr.lines().count(),
        1,
        "args {args:?}: not one line: {stderr}"
    );
    assert!(
        stderr.starts_with("qvm: error: "),
        "args {args:?}: {stderr}"
    );
    assert!(
        stderr.contains(expect),
        "args {args:?}: expected {expect:?} in {stderr}"
    );
    assert!(!stderr.contains("panicked"));
}

/// `qvm run --backend B` with the options B needs, then `rest`.
fn run_args<'a>(backend: Backend, rest: &[&'a str]) -> Vec<&'a str> {
    let mut args = vec!["run", "--backend", backend.as_str()];
    args.extend_from_slice(backend.run_options());
    args.extend_from_slice(rest);
    args
}

fn file(bytes: &[u8]) -> String {
    tempfile(bytes).to_str().unwrap().to_string()
}

fn run_file(backend: Backend, bytes: &[u8], expect: &str) {
    let path = file(bytes);
    assert_error(&run_args(backend, &[&path]), expect);
}

fn static_hello() -> Option<Vec<u8>> {
    build(C_GLIBC, "hello.c").map(|p| std::fs::read(p).unwrap())
}

on_every_backend! {
    fn missing_file(backend) {
    assert_error(
        &run_args(backend, &["/nonexistent/contract"]),
        "cannot read contract /nonexistent/contract: No such file or directory",
    );
}

    fn directory(backend) {
    assert_error(&run_args(backend, &[env!("CARGO_MANIFEST_DIR")]), "is a directory");
}

    fn not_an_elf(backend) {
    run_file(backend, b"#!/bin/sh\necho hi\n", "not an ELF file");
    run_file(backend, b"", "not an ELF file");
}

    fn dynamically_linked(backend) {
    let src = contracts_dir().join("hello.c");
    let out = Path::new(env!("CARGO_TARGET_TMPDIR")).join("hello-dynamic");
    let ok = Command::new("gcc")
        .args(["-O2", "-o"])
        .arg(&out)
        .arg(&src)
        .status()
        .is_ok_and(|s| s.success());
    if !ok {
        eprintln!("SKIPPED: gcc cannot build a dynamic executable here");
        return;
    }
    assert_error(
        &run_args(backend, &[out.to_str().unwrap()]),
        "dynamically linked (it asks for the interpreter /lib64/ld-linux-x86-64.so.2)",
    );
}

    fn wrong_architecture_class_and_endianness(backend) {
    let Some(hello) = static_hello() else { return };
    let mut arm = hello.clone();
    arm[18] = 183; // EM_AARCH64
    arm[19] = 0;
    run_file(backend, &arm, "not an x86-64 program (ELF machine 183)");
    let mut elf32 = hello.clone();
    elf32[4] = 1;
    run_file(backend, &elf32, "not a 64-bit ELF file");
    let mut big = hello.clone();
    big[5] = 2;
    run_file(backend, &big, "not a little-endian ELF file");
    let mut rel = hello;
    rel[16] = 1; // ET_REL
    run_file(backend, &rel, "not an executable (ELF type 1)");
}

    fn truncated_files(backend) {
    let Some(hello) = static_hello() else { return };
    run_file(backend, &hello[..40], "truncated or malformed ELF header");
    run_file(backend, &hello[..100], "malformed program headers");
    run_file(backend, &hello[..8192], "file data extends past the end of the file");
}

    fn malformed_segments(backend) {
    let overlap = test_elf::build(
        2,
        &[
            (PT_LOAD, RX, 0, 0x400000, 0x200, 0x200),
            (PT_LOAD, RX, 0x100, 0x400100, 0x10, 0x10),
        ],
        &[0; 0x200],
    );
    run_file(backend, &overlap, "segments 0 and 1 overlap");
    let low = test_elf::build(2, &[(PT_LOAD, RX, 0, 0x1000, 0x200, 0x200)], &[0; 0x200]);
    run_file(backend, &low, "segment 0 lies outside the user address space");
    let high = test_elf::build(
        2,
        &[(PT_LOAD, RX, 0, 0x7fff_ffff_0000, 0x200, 0x10_0000)],
        &[0; 0x200],
    );
    run_file(backend, &high, "segment 0 lies outside the user address space");
    let wrap = test_elf::build(
        2,
        &[(PT_LOAD, RX, 0, u64::MAX - 0xfff, 0x200, 0x2000)],
        &[0; 0x200],
    );
    run_file(backend, &wrap, "segment 0 lies outside the user address space");
    let none = test_elf::build(2, &[], &[]);
    run_file(backend, &none, "no loadable segments");
    let bad = test_elf::build(2, &[(PT_LOAD, RX, 0, 0x400000, 0x300, 0x200)], &[0; 0x200]);
    run_file(backend, &bad, "file size exceeds memory size");
}

    fn image_larger_than_the_memory_limit(backend) {
    let huge_bss = test_elf::build(
        2,
        &[(PT_LOAD, RX, 0, 0x400000, 0x200, 1 << 30)],
        &[0; 0x200],
    );
    run_file(backend, &huge_bss, "but the memory limit is 268435456 bytes");
    let Some(hello) = static_hello() else { return };
    let path = file(&hello);
    assert_error(
        &["run", "--memory", "4M", &path],
        "the memory limit is 4194304 bytes",
    );
}

}

#[test]
fn bad_options() {
    let Some(hello) = static_hello() else { return };
    let path = file(&hello);
    assert_error(
        &["run", "--memory", "lots", &path],
        "invalid memory size 'lots'",
    );
    assert_error(
        &["run", "--block-hash", "00ff", &path],
        "expected 64 hex digits",
    );
    assert_error(
        &["run", "--block-time", "-5", &path],
        "unexpected argument '-5'",
    );
    assert_error(
        &["run", "--block-time", "soon", &path],
        "invalid value 'soon' for '--block-time <SECONDS>'",
    );
    assert_error(&["run", "--env", "NOEQUALS", &path], "is not KEY=VALUE");
    assert_error(
        &["run", "--backend", "quantum", &path],
        "invalid value 'quantum'",
    );
    assert_error(&["run", "--trace", &path], "--json");
    assert_error(
        &["run", "--stdin", "/nonexistent/input", &path],
        "cannot read stdin file",
    );
    assert_error(&["run"], "required arguments were not provided");
}

/// Without a usable /dev/kvm, `--backend kvm` is one clear error line;
/// with one, it runs the contract.
#[test]
fn explicit_hardware_backend_fails_cleanly_or_runs() {
    let Some(hello) = static_hello() else { return };
    let path = file(&hello);
    // Metered (the default), KVM refuses before it looks for /dev/kvm.
    assert_error(
        &["run", "--backend", "kvm", &path],
        "backend kvm cannot meter a call",
    );
    let unmetered = ["run", "--backend", "kvm", "--gas-limit", "none", &path];
    let out = Command::new(qvm_bin()).args(unmetered).output().unwrap();
    if out.status.code() == Some(125) {
        assert_error(&unmetered, "backend kvm is not available");
    } else {
        assert_eq!(out.status.code(), Some(0));
        assert!(String::from_utf8_lossy(&out.stdout).starts_with("hello"));
    }
}
