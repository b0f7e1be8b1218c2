//! Shared helpers for qvm's end-to-end tests: build contracts from source
//! with the toolchains installed here, run them natively and under `qvm`,
//! compare.

#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::Mutex;

pub use qvm_conformance::toolchain::*;

static BUILD_LOCK: Mutex<()> = Mutex::new(());

/// A qvm backend under test.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Backend {
    Emu,
    Kvm,
}

impl Backend {
    pub fn as_str(self) -> &'static str {
        match self {
            Backend::Emu => "emu",
            Backend::Kvm => "kvm",
        }
    }

    /// The library's name for this backend.
    pub fn choice(self) -> qvm::BackendChoice {
        match self {
            Backend::Emu => qvm::BackendChoice::Emu,
            Backend::Kvm => qvm::BackendChoice::Kvm,
        }
    }

    /// `qvm run` options this backend needs: KVM cannot meter
    /// (docs/gas.md), so its calls run with `--gas-limit none`.
    pub fn run_options(self) -> &'static [&'static str] {
        match self {
            Backend::Emu => &[],
            Backend::Kvm => &["--gas-limit", "none"],
        }
    }
}

/// Defines each test once and runs it on every backend: `name::emu` and
/// `name::kvm`. The KVM variant is ignored (shown as skipped, with the
/// reason) unless run with `--ignored`, which `ci/kvm-in-qemu.sh` does
/// inside a VM that has /dev/kvm. No test can forget a backend.
#[macro_export]
macro_rules! on_every_backend {
    ($(fn $name:ident($backend:ident) $body:block)*) => {
        $(
            mod $name {
                #[allow(unused_imports)]
                use super::*;
                fn body($backend: Backend) $body
                #[test]
                fn emu() {
                    body(Backend::Emu)
                }
                #[test]
                #[ignore = "needs a working /dev/kvm: ci/kvm-in-qemu.sh runs it in a nested VM"]
                fn kvm() {
                    body(Backend::Kvm)
                }
            }
        )*
    };
}

/// Source directory of the test contracts.
pub fn contracts_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/contracts")
}

/// Builds `source` (relative to tests/contracts) with `tc`, caching the
/// result. `None` when the toolchain is missing here, which is reported
/// loudly; under CI (CI set) a missing toolchain fails the test instead.
pub fn build(tc: Toolchain, source: &str) -> Option<PathBuf> {
    let _guard = BUILD_LOCK.lock().unwrap_or_else(|e| e.into_inner());
    let src = contracts_dir().join(source);
    let stem = Path::new(source)
        .file_stem()
        .and_then(|s| s.to_str())
        .unwrap_or("contract");
    let dir = Path::new(env!("CARGO_TARGET_TMPDIR"))
        .join("contracts")
        .join(format!("{}-{}", tc.name, stem));
    match qvm_conformance::toolchain::build(tc, &src, &dir) {
        Ok(bin) => Some(bin),
        Err(BuildError::Missing(name)) => {
            assert!(
                std::env::var_os("CI").is_none(),
                "toolchain {name} is missing in CI: scripts/install-deps.sh test installs it"
            );
            eprintln!("SKIPPED: toolchain {name} is not installed (scripts/install-deps.sh test installs it)");
            None
        }
        Err(e) => panic!("{e}"),
    }
}

/// What a process did, as a shell sees it.
#[derive(Debug, PartialEq, Eq)]
pub struct Run {
    pub status: i32,
    pub stdout: Vec<u8>,
    pub stderr: Vec<u8>,
}

impl Run {
    pub fn stdout_text(&self) -> String {
        String::from_utf8_lossy(&self.stdout).into_owned()
    }
    pub fn stderr_text(&self) -> String {
        String::from_utf8_lossy(&self.stderr).into_owned()
    }
}

fn finish(cmd: Command, stdin: &[u8]) -> Run {
    let out = qvm_conformance::native::run_command(cmd, stdin).unwrap();
    Run {
        status: out.status,
        stdout: out.stdout,
        stderr: out.stderr,
    }
}

/// Runs `bin` natively with exactly `env` as its environment.
pub fn native(bin: &Path, args: &[&str], env: &[(&str, &str)], stdin: &[u8]) -> Run {
    let mut cmd = Command::new(bin);
    cmd.args(args).env_clear().envs(env.iter().copied());
    finish(cmd, stdin)
}

/// The qvm binary under test.
pub fn qvm_bin() -> &'static str {
    env!("CARGO_BIN_EXE_qvm")
}

/// Runs the qvm command with `args`: (status, stdout, stderr).
pub fn qvm_command(args: &[&str]) -> (i32, String, String) {
    let out = Command::new(qvm_bin()).args(args).output().unwrap();
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

/// Runs the qvm command with `args`: what a shell sees, output as bytes.
pub fn qvm_output<S: AsRef<std::ffi::OsStr>>(args: &[S]) -> Run {
    let mut cmd = Command::new(qvm_bin());
    cmd.args(args);
    finish(cmd, &[])
}

/// A `--json` document without what only a metering backend reports (the
/// `gas` object and each trace entry's `instructions`), so an emulator run
/// and a KVM run compare as equal when they agree on everything else.
pub fn without_gas(json: &str) -> String {
    let Ok(mut doc) = serde_json::from_str::<serde_json::Value>(json) else {
        return json.to_string();
    };
    if let Some(obj) = doc.as_object_mut() {
        obj.remove("gas");
        obj.remove("backend");
        if let Some(trace) = obj.get_mut("trace").and_then(|t| t.as_array_mut()) {
            for entry in trace {
                if let Some(e) = entry.as_object_mut() {
                    e.remove("instructions");
                }
            }
        }
    }
    serde_json::to_string_pretty(&doc).unwrap_or_default()
}

/// Runs `qvm run --backend B [options] bin args...`; stdin is passed
/// through a file. On KVM the call is also run on both backends with
/// `--json --trace`, and the two outcomes must be byte-identical apart from
/// the backend's name.
pub fn qvm(
    backend: Backend,
    bin: &Path,
    options: &[&str],
    args: &[&str],
    env: &[(&str, &str)],
    stdin: &[u8],
) -> Run {
    if backend == Backend::Kvm {
        let plain: Vec<&str> = options
            .iter()
            .copied()
            .filter(|o| *o != "--json" && *o != "--trace")
            .collect();
        let mut with_json = plain.clone();
        with_json.extend(["--json", "--trace"]);
        let emu = qvm_once(Backend::Emu, bin, &with_json, args, env, stdin);
        let kvm = qvm_once(Backend::Kvm, bin, &with_json, args, env, stdin);
        assert_eq!(
            kvm.stderr_text(),
            emu.stderr_text(),
            "qvm's own stderr differs between backends"
        );
        // KVM does not meter (docs/gas.md): compare everything but gas.
        let (emu_doc, kvm_doc) = (
            without_gas(&emu.stdout_text()),
            without_gas(&kvm.stdout_text()),
        );
        assert!(
            emu_doc == kvm_doc,
            "outcome differs between backends for {}:\n{}",
            bin.display(),
            first_difference(&emu_doc, &kvm_doc)
        );
    }
    qvm_once(backend, bin, options, args, env, stdin)
}

/// The first differing line of two texts, with context.
fn first_difference(a: &str, b: &str) -> String {
    let (al, bl): (Vec<&str>, Vec<&str>) = (a.lines().collect(), b.lines().collect());
    let i = al
        .iter()
        .zip(&bl)
        .position(|(x, y)| x != y)
        .unwrap_or(al.len().min(bl.len()));
    format!(
        "line {}:\n  emu: {}\n  kvm: {}",
        i + 1,
        al.get(i).unwrap_or(&"<end>"),
        bl.get(i).unwrap_or(&"<end>")
    )
}

fn qvm_once(
    backend: Backend,
    bin: &Path,
    options: &[&str],
    args: &[&str],
    env: &[(&str, &str)],
    stdin: &[u8],
) -> Run {
    let mut cmd = Command::new(qvm_bin());
    cmd.args(["run", "--backend", backend.as_str()]);
    cmd.args(backend.run_options());
    // A contract that hangs (KVM does not meter) fails instead of hanging
    // CI: the host's safety net, far above any test's run.
    if !options.contains(&"--timeout") {
        let secs = qvm_conformance::runner::CALL_TIMEOUT.as_secs().to_string();
        cmd.args(["--timeout", &secs]);
    }
    cmd.args(options);
    for (k, v) in env {
        cmd.arg("--env").arg(format!("{k}={v}"));
    }
    let stdin_file;
    if !stdin.is_empty() {
        stdin_file = tempfile(stdin);
        cmd.arg("--stdin").arg(&stdin_file);
    }
    cmd.arg(bin).args(args);
    finish(cmd, &[])
}

/// Writes `data` to a fresh file under the test tmpdir.
pub fn tempfile(data: &[u8]) -> PathBuf {
    use std::sync::atomic::{AtomicU64, Ordering};
    static N: AtomicU64 = AtomicU64::new(0);
    let dir = Path::new(env!("CARGO_TARGET_TMPDIR")).join("inputs");
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join(format!(
        "{}-{}",
        std::process::id(),
        N.fetch_add(1, Ordering::Relaxed)
    ));
    std::fs::write(&path, data).unwrap();
    path
}

/// Asserts that the contract behaves under qvm exactly as natively:
/// status (exit code or 128+signal), stdout and stderr.
pub fn assert_same_as_native(
    backend: Backend,
    bin: &Path,
    args: &[&str],
    env: &[(&str, &str)],
    stdin: &[u8],
) -> Run {
    let n = native(bin, args, env, stdin);
    let q = qvm(backend, bin, &[], args, env, stdin);
    assert_eq!(
        q.status,
        n.status,
        "status differs for {}; qvm stderr: {}",
        bin.display(),
        q.stderr_text()
    );
    if q.stdout != n.stdout {
        let pos = q
            .stdout
            .iter()
            .zip(&n.stdout)
            .position(|(a, b)| a != b)
            .unwrap_or(q.stdout.len().min(n.stdout.len()));
        panic!(
            "stdout differs for {} at byte {pos} (qvm {} bytes, native {} bytes)\nqvm:    {:?}\nnative: {:?}",
            bin.display(),
            q.stdout.len(),
            n.stdout.len(),
            String::from_utf8_lossy(&q.stdout[pos.saturating_sub(40)..(pos + 80).min(q.stdout.len())]),
            String::from_utf8_lossy(&n.stdout[pos.saturating_sub(40)..(pos + 80).min(n.stdout.len())]),
        );
    }
    assert_eq!(
        q.stderr_text(),
        n.stderr_text(),
        "stderr differs for {}",
        bin.display()
    );
    q
}
