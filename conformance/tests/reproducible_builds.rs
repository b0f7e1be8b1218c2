//! Every toolchain builds the same bytes from the same source whatever
//! the build directory's path: golden gas figures are checked in, and a
//! compiler that embeds the path (gfortran's runtime error messages, Rust's
//! panic locations) would otherwise change the binary, and so its gas, in
//! a checkout at another path.

use std::collections::BTreeSet;
use std::path::Path;

use qvm_conformance::corpus;
use qvm_conformance::toolchain::{self, BuildError};

#[test]
fn builds_do_not_depend_on_the_directory() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    let tmp = Path::new(env!("CARGO_TARGET_TMPDIR")).join("reproducible-builds");
    let mut seen = BTreeSet::new();
    let (mut compared, mut differ, mut missing) = (Vec::new(), Vec::new(), Vec::new());
    let programs: Vec<_> = corpus::programs()
        .into_iter()
        .chain(corpus::threaded_programs())
        .collect();
    let covered: BTreeSet<_> = programs.iter().map(|p| p.toolchain.name).collect();
    for tc in toolchain::ALL {
        assert!(
            covered.contains(tc.name),
            "no program builds with {}",
            tc.name
        );
    }
    for program in programs {
        // One program per toolchain: the language's main contract, or
        // the first threaded program for toolchains only they use.
        if !seen.insert(program.toolchain.name) {
            continue;
        }
        let src = root.join(program.source);
        let dirs = [
            tmp.join("a").join(program.toolchain.name),
            tmp.join("a-much-longer-directory-name/b/c")
                .join(program.toolchain.name),
        ];
        let mut binaries = Vec::new();
        for dir in &dirs {
            // Start clean: build() keeps a binary newer than its source.
            let _ = std::fs::remove_dir_all(dir);
            match toolchain::build(program.toolchain, &src, dir) {
                Ok(bin) => binaries.push(std::fs::read(&bin).expect("read the binary")),
                Err(BuildError::Missing(name)) => {
                    missing.push(name);
                    break;
                }
                Err(e) => panic!("{e}"),
            }
        }
        if let [a, b] = binaries.as_slice() {
            if a == b {
                compared.push(program.toolchain.name);
            } else {
                differ.push(program.toolchain.name);
            }
        }
    }
    eprintln!("identical in both directories: {}", compared.join(", "));
    if !missing.is_empty() {
        eprintln!("not installed, not checked: {}", missing.join(", "));
    }
    assert!(
        differ.is_empty(),
        "built different bytes in {} and {}: {}",
        tmp.join("a").display(),
        tmp.join("a-much-longer-directory-name/b/c").display(),
        differ.join(", ")
    );
    assert!(!compared.is_empty(), "no toolchain installed");
}
