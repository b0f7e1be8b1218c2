//! The contract toolchains qvm is tested with, and building one source
//! file with one of them, cached.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use thiserror::Error;

/// A way to build a contract from one source file.
#[derive(Clone, Copy, Debug)]
pub struct Toolchain {
    pub name: &'static str,
    /// Program whose presence means the toolchain is installed.
    pub probe: &'static [&'static str],
    /// Build command, run in the build directory; `{src}` and `{out}`
    /// are replaced by the source's and the binary's names relative to
    /// it, `{dir}` by its absolute path.
    pub build: &'static [&'static str],
}

pub const C_GLIBC: Toolchain = Toolchain {
    name: "c-glibc",
    probe: &["gcc", "--version"],
    build: &["gcc", "-static", "-O2", "-o", "{out}", "{src}", "-lm"],
};
pub const C_GLIBC_PIE: Toolchain = Toolchain {
    name: "c-glibc-pie",
    probe: &["gcc", "--version"],
    build: &[
        "gcc",
        "-static-pie",
        "-fPIE",
        "-O2",
        "-o",
        "{out}",
        "{src}",
        "-lm",
    ],
};
pub const C_MUSL: Toolchain = Toolchain {
    name: "c-musl",
    probe: &["musl-gcc", "--version"],
    build: &["musl-gcc", "-static", "-O2", "-o", "{out}", "{src}", "-lm"],
};
pub const CPP: Toolchain = Toolchain {
    name: "c++",
    probe: &["g++", "--version"],
    build: &["g++", "-static", "-O2", "-o", "{out}", "{src}"],
};
pub const RUST: Toolchain = Toolchain {
    name: "rust",
    probe: &["rustc", "--version"],
    build: &[
        "rustc",
        "-O",
        "-C",
        "target-feature=+crt-static",
        // Panic locations embed the source's path: the same
        // binary, and so the same gas, whatever the checkout's path.
        "--remap-path-prefix",
        "{dir}=/contract",
        "-o",
        "{out}",
        "{src}",
    ],
};
pub const RUST_NOPIE: Toolchain = Toolchain {
    name: "rust-static",
    probe: &["rustc", "--version"],
    build: &[
        "rustc",
        "-O",
        "-C",
        "target-feature=+crt-static",
        "-C",
        "relocation-model=static",
        // Panic locations embed the source's path: the same
        // binary, and so the same gas, whatever the checkout's path.
        "--remap-path-prefix",
        "{dir}=/contract",
        "-o",
        "{out}",
        "{src}",
    ],
};
pub const ZIG: Toolchain = Toolchain {
    name: "zig",
    probe: &["python3", "-m", "ziglang", "version"],
    build: &[
        "python3",
        "-m",
        "ziglang",
        "build-exe",
        "-O",
        "ReleaseSmall",
        "-mcpu=x86_64_v2",
        "--cache-dir",
        "zig-cache",
        "--global-cache-dir",
        "zig-cache",
        "-femit-bin={out}",
        "{src}",
    ],
};
pub const FORTRAN: Toolchain = Toolchain {
    name: "fortran",
    probe: &["gfortran", "--version"],
    build: &["gfortran", "-static", "-O2", "-o", "{out}", "{src}"],
};
pub const PASCAL: Toolchain = Toolchain {
    name: "pascal",
    probe: &["fpc", "-iV"],
    build: &["fpc", "-O2", "-Xs", "-XS", "-o{out}", "{src}"],
};
pub const ADA: Toolchain = Toolchain {
    name: "ada",
    probe: &["gnatmake", "--version"],
    build: &[
        "gnatmake", "-q", "-O2", "{src}", "-o", "{out}", "-bargs", "-static", "-largs", "-static",
    ],
};
pub const D: Toolchain = Toolchain {
    name: "d",
    probe: &["ldc2", "--version"],
    build: &[
        "ldc2",
        "-O2",
        "-static",
        "{src}",
        "-of={out}",
        "-L-lphobos2-ldc",
        "-L-lz",
    ],
};
pub const NIM: Toolchain = Toolchain {
    name: "nim",
    probe: &["nim", "--version"],
    build: &[
        "nim",
        "c",
        "-d:release",
        "--hints:off",
        "--nimcache:nimcache",
        "--passL:-static",
        // Strip: the symbol table names nimcache's object files by their
        // path relative to Nim's library, which depends on the build
        // directory's depth.
        "--passL:-s",
        "-o:{out}",
        "{src}",
    ],
};
pub const OCAML: Toolchain = Toolchain {
    name: "ocaml",
    probe: &["ocamlopt", "-version"],
    build: &["ocamlopt", "-ccopt", "-static", "-o", "{out}", "{src}"],
};

/// GHC, single-threaded RTS with the clock tick off (-V0): no timer
/// signals, so the program needs neither threads nor timer_create.
pub const HASKELL: Toolchain = Toolchain {
    name: "haskell",
    probe: &["ghc", "--version"],
    build: &[
        "ghc",
        "-O2",
        "-static",
        "-optl-static",
        "-optl-pthread",
        "-rtsopts",
        "-with-rtsopts=-V0",
        "-outputdir",
        "ghc-out",
        "-o",
        "{out}",
        "{src}",
    ],
};

/// Every toolchain, for listing what a machine has.
pub const ALL: &[Toolchain] = &[
    C_GLIBC,
    C_GLIBC_PIE,
    C_MUSL,
    CPP,
    RUST,
    RUST_NOPIE,
    ZIG,
    FORTRAN,
    PASCAL,
    ADA,
    D,
    NIM,
    OCAML,
    HASKELL,
];

/// Why a build did not produce a binary.
#[derive(Debug, Error)]
pub enum BuildError {
    #[error("toolchain {0} is not installed (scripts/install-deps.sh test installs it)")]
    Missing(&'static str),
    #[error("building {file} with {toolchain} failed:\n{output}")]
    Failed {
        toolchain: &'static str,
        file: String,
        output: String,
    },
    #[error("cannot build {0}: {1}")]
    Io(String, std::io::Error),
}

/// True when the toolchain's probe command runs.
pub fn installed(tc: Toolchain) -> bool {
    Command::new(tc.probe[0])
        .args(&tc.probe[1..])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|s| s.success())
}

/// The first line the toolchain's probe prints (its version, e.g.
/// `rustc 1.91.0 (f8297e351 2025-10-28)`); None when it does not run.
pub fn version(tc: Toolchain) -> Option<String> {
    let out = Command::new(tc.probe[0])
        .args(&tc.probe[1..])
        .stderr(Stdio::null())
        .output()
        .ok()
        .filter(|o| o.status.success())?;
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .next()
        .map(|l| l.trim().to_string())
}

/// Builds `src` with `tc` into `dir` (created; the binary is named after
/// the source's stem), unless a binary newer than the source is there.
/// The source is copied into `dir` first: some compilers write objects
/// next to it.
pub fn build(tc: Toolchain, src: &Path, dir: &Path) -> Result<PathBuf, BuildError> {
    let io = |e| BuildError::Io(src.display().to_string(), e);
    let stem = src
        .file_stem()
        .and_then(|s| s.to_str())
        .unwrap_or("contract");
    let out = dir.join(stem);
    let fresh = match (std::fs::metadata(&out), std::fs::metadata(src)) {
        (Ok(o), Ok(s)) => matches!((o.modified(), s.modified()), (Ok(o), Ok(s)) if o >= s),
        _ => false,
    };
    if fresh {
        return Ok(out);
    }
    if !installed(tc) {
        return Err(BuildError::Missing(tc.name));
    }
    std::fs::create_dir_all(dir).map_err(io)?;
    let file_name = src
        .file_name()
        .ok_or_else(|| io(std::io::Error::other("no file name")))?;
    std::fs::copy(src, dir.join(file_name)).map_err(io)?;
    // The command runs in `dir` and names the source and the binary
    // relative to it: compilers embed the source's path (gfortran's
    // runtime error messages, Rust's panic locations), and the same
    // program must build to the same bytes, and so the same gas, in any
    // checkout.
    let local = file_name.to_string_lossy();
    let args: Vec<String> = tc
        .build
        .iter()
        .map(|a| {
            a.replace("{src}", &local)
                .replace("{out}", stem)
                .replace("{dir}", &dir.to_string_lossy())
        })
        .collect();
    let result = Command::new(&args[0])
        .args(&args[1..])
        .current_dir(dir)
        .output()
        .map_err(io)?;
    if !result.status.success() {
        return Err(BuildError::Failed {
            toolchain: tc.name,
            file: src.display().to_string(),
            output: format!(
                "{}{}",
                String::from_utf8_lossy(&result.stdout),
                String::from_utf8_lossy(&result.stderr)
            ),
        });
    }
    Ok(out)
}
