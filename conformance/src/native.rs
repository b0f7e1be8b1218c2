//! Running a contract directly on this host: the conformance oracle for
//! programs whose output depends neither on time nor on randomness. It runs
//! the program for real, so only for programs you trust.

use std::io::Write;
use std::os::unix::process::ExitStatusExt;
use std::path::Path;
use std::process::{Command, Stdio};

use crate::compare::NativeRun;

/// Runs `program` with exactly `args`, the `KEY=VALUE` strings of `env` as
/// its whole environment, and `stdin`.
pub fn run(
    program: &Path,
    args: &[Vec<u8>],
    env: &[Vec<u8>],
    stdin: &[u8],
) -> std::io::Result<NativeRun> {
    use std::os::unix::ffi::OsStrExt;
    let mut cmd = Command::new(program);
    cmd.args(args.iter().map(|a| std::ffi::OsStr::from_bytes(a)))
        .env_clear();
    for kv in env {
        let split = kv.iter().position(|&b| b == b'=').unwrap_or(kv.len());
        let (k, v) = kv.split_at(split);
        cmd.env(
            std::ffi::OsStr::from_bytes(k),
            std::ffi::OsStr::from_bytes(v.get(1..).unwrap_or(&[])),
        );
    }
    run_command(cmd, stdin)
}

/// Runs a prepared command with `stdin` piped in and its output captured;
/// the status is the exit code, or 128 + signal as a shell reports it.
pub fn run_command(mut cmd: Command, stdin: &[u8]) -> std::io::Result<NativeRun> {
    let mut child = cmd
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()?;
    let mut input = child.stdin.take();
    let data = stdin.to_vec();
    // Feed stdin from a thread so a program that writes before reading
    // cannot deadlock against us.
    let feeder = std::thread::spawn(move || {
        if let Some(pipe) = input.as_mut() {
            let _ = pipe.write_all(&data);
        }
    });
    let out = child.wait_with_output()?;
    let _ = feeder.join();
    let status = out
        .status
        .code()
        .unwrap_or_else(|| 128 + out.status.signal().unwrap_or(0));
    Ok(NativeRun {
        status,
        stdout: out.stdout,
        stderr: out.stderr,
    })
}

/// Whether this host's CPU is QEMU's TCG rather than hardware:
/// `QVM_HOST_CPU=qemu-tcg`, which ci/kvm-in-qemu.sh sets in its nested VM.
/// There native runs, and KVM inside the VM, share QEMU's bugs.
pub fn host_cpu_is_qemu_tcg() -> bool {
    std::env::var("QVM_HOST_CPU").is_ok_and(|v| v == "qemu-tcg")
}

/// Whether this host's CPU executes the SHA extensions. CPUID may report
/// them under QEMU's TCG, which does not implement them. A host of another
/// architecture runs no x86-64 program natively.
pub fn host_cpu_has_sha() -> bool {
    #[cfg(target_arch = "x86_64")]
    return std::arch::is_x86_feature_detected!("sha") && !host_cpu_is_qemu_tcg();
    #[cfg(not(target_arch = "x86_64"))]
    false
}
