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
    /// Environment variables set for the build command on top of the
    /// inherited ones; `{dir}` in a value is replaced as in `build`.
    pub env: &'static [(&'static str, &'static str)],
}

pub const C_GLIBC: Toolchain = Toolchain {
    name: "c-glibc",
    probe: &["gcc", "--version"],
    build: &["gcc", "-static", "-O2", "-o", "{out}", "{src}", "-lm"],
    env: &[],
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
    env: &[],
};
pub const C_MUSL: Toolchain = Toolchain {
    name: "c-musl",
    probe: &["musl-gcc", "--version"],
    build: &["musl-gcc", "-static", "-O2", "-o", "{out}", "{src}", "-lm"],
    env: &[],
};
pub const CPP: Toolchain = Toolchain {
    name: "c++",
    probe: &["g++", "--version"],
    build: &["g++", "-static", "-O2", "-o", "{out}", "{src}"],
    env: &[],
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
    env: &[],
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
    env: &[],
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
    env: &[],
};
pub const FORTRAN: Toolchain = Toolchain {
    name: "fortran",
    probe: &["gfortran", "--version"],
    build: &["gfortran", "-static", "-O2", "-o", "{out}", "{src}"],
    env: &[],
};
pub const PASCAL: Toolchain = Toolchain {
    name: "pascal",
    probe: &["fpc", "-iV"],
    build: &["fpc", "-O2", "-Xs", "-XS", "-o{out}", "{src}"],
    env: &[],
};
pub const ADA: Toolchain = Toolchain {
    name: "ada",
    probe: &["gnatmake", "--version"],
    build: &[
        "gnatmake", "-q", "-O2", "{src}", "-o", "{out}", "-bargs", "-static", "-largs", "-static",
    ],
    env: &[],
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
    env: &[],
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
    env: &[],
};
pub const OCAML: Toolchain = Toolchain {
    name: "ocaml",
    probe: &["ocamlopt", "-version"],
    build: &["ocamlopt", "-ccopt", "-static", "-o", "{out}", "{src}"],
    env: &[],
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
    env: &[],
};

/// GHC with the threaded RTS and its clock tick on (no -V0): worker OS
/// threads, two capabilities (+RTS -N2), and a ticker thread reading a
/// timerfd every 10 ms (the non-threaded RTS ticks with timer_create).
pub const HASKELL_THREADED: Toolchain = Toolchain {
    name: "haskell-threaded",
    probe: &["ghc", "--version"],
    build: &[
        "ghc",
        "-O2",
        "-threaded",
        "-static",
        "-optl-static",
        "-optl-pthread",
        "-rtsopts",
        "-with-rtsopts=-N2",
        "-outputdir",
        "ghc-out",
        "-o",
        "{out}",
        "{src}",
    ],
    env: &[],
};

/// Go (1.19 from Debian), fully static (no cgo), one file outside any
/// module. -trimpath and -buildvcs=false keep the build directory and any
/// enclosing repository out of the binary (module mode is pinned on: in
/// GOPATH mode the same file built other bytes in another directory).
/// A go.mod in a directory above the build directory would still apply.
/// The build cache,
/// GOPATH and HOME live in the build directory and the user's go env file
/// is ignored, so nothing of the host's home steers the build; the target
/// is pinned to baseline x86-64 (GOAMD64=v1).
pub const GO: Toolchain = Toolchain {
    name: "go",
    probe: &["go", "version"],
    build: &[
        "go",
        "build",
        "-trimpath",
        "-buildvcs=false",
        "-o",
        "{out}",
        "{src}",
    ],
    env: &[
        ("CGO_ENABLED", "0"),
        ("GOOS", "linux"),
        ("GOARCH", "amd64"),
        ("GOAMD64", "v1"),
        ("GO111MODULE", "on"),
        ("GOWORK", "off"),
        ("GOFLAGS", ""),
        ("GOENV", "off"),
        ("GOPROXY", "off"),
        ("GOCACHE", "{dir}/go-cache"),
        ("GOPATH", "{dir}/go-path"),
        ("HOME", "{dir}"),
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
    HASKELL_THREADED,
    GO,
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
    // Absolute: Go refuses a relative GOCACHE.
    let abs_dir = std::path::absolute(dir).map_err(io)?;
    let abs_dir = abs_dir.to_string_lossy();
    let args: Vec<String> = tc
        .build
        .iter()
        .map(|a| {
            a.replace("{src}", &local)
                .replace("{out}", stem)
                .replace("{dir}", &abs_dir)
        })
        .collect();
    let result = Command::new(&args[0])
        .args(&args[1..])
        .envs(
            tc.env
                .iter()
                .map(|(k, v)| (k, v.replace("{dir}", &abs_dir))),
        )
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
