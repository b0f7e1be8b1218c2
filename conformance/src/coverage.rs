//! Which corpus programs exercise each syscall, and the syscall page built
//! from it.
//!
//! The runner records, for every syscall number, the corpus programs whose
//! syscall trace contains it. `qvm conformance --write-syscall-coverage`
//! saves that as `docs/syscall-coverage.tsv`; `docs/syscalls.md` is
//! rendered from the kernel's syscall table
//! (`qvm_common::kernel::table::SYSCALLS`) and that file, so a change to
//! either shows up as a stale page (`syscall_doc_is_current` below).

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

use qvm_common::kernel::table::{self, Handling, SYSCALLS};
use qvm_common::kernel::TraceEntry;

/// The data file, relative to the workspace root.
pub const DATA_FILE: &str = "docs/syscall-coverage.tsv";
/// The generated page, relative to the workspace root.
pub const PAGE: &str = "docs/syscalls.md";
/// How to regenerate both.
pub const REGENERATE: &str = "qvm conformance --backends emu --write-syscall-coverage";

/// Programs shown by name in a cell before it switches to languages.
const NAMED: usize = 3;

/// For every syscall number, the programs whose trace contains it.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Coverage {
    /// Every program that ran, with its language.
    pub programs: BTreeMap<String, String>,
    pub syscalls: BTreeMap<u64, BTreeSet<String>>,
}

impl Coverage {
    /// Adds one run of `program`.
    pub fn record(&mut self, program: &str, language: &str, trace: &[TraceEntry]) {
        self.programs.insert(program.into(), language.into());
        for t in trace {
            self.syscalls
                .entry(t.nr)
                .or_default()
                .insert(program.into());
        }
    }

    /// The data file: comment lines, then `program<TAB>name<TAB>language`
    /// rows, then `nr<TAB>syscall name<TAB>programs` rows (programs
    /// space-separated; the name is for readers and is not parsed).
    pub fn tsv(&self) -> String {
        let mut out = format!(
            "# Syscall coverage of the conformance corpus: for each syscall, the corpus programs\n\
             # whose syscall trace contains it. Written by `{REGENERATE}`;\n\
             # docs/syscalls.md is generated from it.\n"
        );
        for (name, language) in &self.programs {
            out.push_str(&format!("program\t{name}\t{language}\n"));
        }
        for (nr, programs) in &self.syscalls {
            let names: Vec<&str> = programs.iter().map(String::as_str).collect();
            out.push_str(&format!(
                "{nr}\t{}\t{}\n",
                table::name(*nr),
                names.join(" ")
            ));
        }
        out
    }

    /// Reads what [`Coverage::tsv`] wrote.
    pub fn parse(text: &str) -> Result<Self, String> {
        let mut c = Coverage::default();
        for (i, line) in text.lines().enumerate() {
            if line.is_empty() || line.starts_with('#') {
                continue;
            }
            let bad = || format!("line {}: cannot parse {line:?}", i + 1);
            let fields: Vec<&str> = line.split('\t').collect();
            match fields.as_slice() {
                ["program", name, language] => {
                    c.programs.insert(name.to_string(), language.to_string());
                }
                [nr, _name, programs] => {
                    let nr = nr.parse().map_err(|_| bad())?;
                    let set = programs.split_whitespace().map(str::to_string).collect();
                    c.syscalls.insert(nr, set);
                }
                _ => return Err(bad()),
            }
        }
        Ok(c)
    }

    /// The corpus programs that did not run (missing toolchain, failed
    /// build): a coverage file must not be written without them.
    pub fn missing(&self) -> Vec<&'static str> {
        crate::corpus::programs()
            .iter()
            .map(|p| p.name)
            .filter(|n| !self.programs.contains_key(*n))
            .collect()
    }

    /// The "corpus" cell of syscall `nr`.
    fn cell(&self, nr: u64) -> String {
        let Some(set) = self.syscalls.get(&nr).filter(|s| !s.is_empty()) else {
            return "—".into();
        };
        let quoted = |names: &mut dyn Iterator<Item = &String>| {
            names
                .map(|n| format!("`{n}`"))
                .collect::<Vec<_>>()
                .join(", ")
        };
        let all = self.programs.len();
        if set.len() == all {
            return format!("all {all} programs");
        }
        if set.len() <= NAMED {
            return quoted(&mut set.iter());
        }
        if all - set.len() <= NAMED {
            let mut absent = self.programs.keys().filter(|p| !set.contains(*p));
            return format!("all but {}", quoted(&mut absent));
        }
        let mut languages: BTreeMap<&str, usize> = BTreeMap::new();
        for p in set {
            let language = self.programs.get(p).map_or("?", String::as_str);
            *languages.entry(language).or_default() += 1;
        }
        let languages: Vec<String> = languages
            .into_iter()
            .map(|(l, n)| {
                if n == 1 {
                    l.into()
                } else {
                    format!("{l} ({n})")
                }
            })
            .collect();
        format!("{} programs: {}", set.len(), languages.join(", "))
    }

    /// `docs/syscalls.md`: the kernel's syscall table with a column of the
    /// corpus programs that make each syscall, then the syscalls the corpus
    /// makes that the table does not list.
    pub fn syscalls_markdown(&self) -> String {
        let mut out = format!(
            "# Syscalls\n\n\
             Generated from `common/src/kernel/table.rs` and [syscall-coverage.tsv](syscall-coverage.tsv)\n\
             (`cargo test -p qvm-conformance syscall_doc` checks it; run it with `QVM_BLESS=1` to\n\
             regenerate). Every syscall not listed returns `-ENOSYS` and is counted in the call's\n\
             `refused` list and trace.\n\n\
             Handling: **emulated** (implemented over the kernel's own state), **substitute** (a\n\
             deterministic stand-in for a host-dependent value) or **refused** (a fixed error).\n\n\
             Corpus: the programs of the conformance corpus ([conformance.md](conformance.md)) whose\n\
             syscall trace contains the syscall, by name when there are few, else by language; —\n\
             when none does. The full lists are in the data file; `{REGENERATE}`\n\
             reruns the whole corpus and rewrites it and this page.\n\n\
             | nr | name | handling | why the result is deterministic | corpus |\n\
             |---:|---|---|---|---|\n"
        );
        for s in SYSCALLS {
            let handling = match s.handling {
                Handling::Emulated => "emulated".to_string(),
                Handling::Substitute => "substitute".to_string(),
                Handling::Refused(e) => format!("refused: {}", e.name()),
            };
            out.push_str(&format!(
                "| {} | `{}` | {} | {} | {} |\n",
                s.nr,
                s.name,
                handling,
                s.why,
                self.cell(s.nr)
            ));
        }
        out.push_str(
            "\n## Made by the corpus, not in the table\n\n\
             Syscalls corpus programs make that qvm does not know: each returned `-ENOSYS`.\n\n",
        );
        let unlisted: Vec<u64> = self
            .syscalls
            .keys()
            .copied()
            .filter(|nr| table::lookup(*nr).is_none())
            .collect();
        if unlisted.is_empty() {
            out.push_str("None.\n");
        } else {
            out.push_str("| nr | corpus |\n|---:|---|\n");
            for nr in unlisted {
                out.push_str(&format!("| {nr} | {} |\n", self.cell(nr)));
            }
        }
        out
    }

    /// Writes the data file and the page under `root`, refusing when part
    /// of the corpus did not run.
    pub fn write(&self, root: &Path) -> Result<(), String> {
        let missing = self.missing();
        if !missing.is_empty() {
            return Err(format!(
                "syscall coverage needs the whole corpus; these programs did not run: {}",
                missing.join(", ")
            ));
        }
        for (file, text) in [(DATA_FILE, self.tsv()), (PAGE, self.syscalls_markdown())] {
            let path = root.join(file);
            std::fs::write(&path, text)
                .map_err(|e| format!("cannot write {}: {e}", path.display()))?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn trace(nrs: &[u64]) -> Vec<TraceEntry> {
        nrs.iter()
            .map(|&nr| TraceEntry {
                nr,
                name: table::name(nr),
                args: [0; 6],
                result: 0,
                instructions: None,
            })
            .collect()
    }

    fn root() -> &'static Path {
        Path::new(concat!(env!("CARGO_MANIFEST_DIR"), "/.."))
    }

    #[test]
    fn syscall_doc_is_current() {
        let data = std::fs::read_to_string(root().join(DATA_FILE)).unwrap_or_default();
        let coverage = Coverage::parse(&data).unwrap();
        let want = coverage.syscalls_markdown();
        let path = root().join(PAGE);
        if std::env::var_os("QVM_BLESS").is_some() {
            std::fs::write(&path, &want).unwrap();
        }
        let have = std::fs::read_to_string(&path).unwrap_or_default();
        assert!(
            have == want,
            "{PAGE} is stale: run `QVM_BLESS=1 cargo test -p qvm-conformance syscall_doc`"
        );
    }

    #[test]
    fn data_file_round_trips() {
        let mut c = Coverage::default();
        c.record("a", "C", &trace(&[1, 60, 1, 999]));
        c.record("b", "Free Pascal", &trace(&[1]));
        let text = c.tsv();
        assert!(text.contains("program\tb\tFree Pascal\n"), "{text}");
        assert!(text.contains("1\twrite\ta b\n"), "{text}");
        assert!(text.contains("999\tunknown\ta\n"), "{text}");
        assert_eq!(Coverage::parse(&text), Ok(c));
        assert!(Coverage::parse("1\twrite").is_err());
        assert!(Coverage::parse("x\twrite\ta").is_err());
    }

    #[test]
    fn cells_stay_short() {
        let mut c = Coverage::default();
        let programs = [
            ("c1", "C"),
            ("c2", "C"),
            ("c3", "C"),
            ("d", "D"),
            ("r", "Rust"),
            ("z", "Zig"),
            ("p", "Pascal"),
            ("h", "Haskell"),
        ];
        for (i, (name, language)) in programs.into_iter().enumerate() {
            let mut nrs = vec![60, 500];
            if i < 6 {
                nrs.push(1);
            }
            if i < 4 {
                nrs.push(2);
            }
            if i < 2 {
                nrs.push(3);
            }
            c.record(name, language, &trace(&nrs));
        }
        assert_eq!(c.cell(60), "all 8 programs");
        assert_eq!(c.cell(1), "all but `h`, `p`");
        assert_eq!(c.cell(2), "4 programs: C (3), D");
        assert_eq!(c.cell(3), "`c1`, `c2`");
        assert_eq!(c.cell(4), "—");
        let page = c.syscalls_markdown();
        assert!(page.contains("| 500 | all 8 programs |\n"), "{page}");
        assert!(
            !page.contains("| 60 | all"),
            "listed syscalls stay in the table"
        );
    }
}
