//! `qvm check`: which of a contract's instructions fall outside the CPU
//! profile's baseline and required lists (`docs/cpu-profile.md`).
//!
//! The executable sections are decoded by recursive descent from the entry
//! point, every function symbol and every code pointer the data holds,
//! then from every other number in code, then by a linear sweep of what
//! neither reached ([`disasm`]); findings only the sweep reaches are ruled
//! out in files with function symbols ([`Finding::sweep_ruled_out`]). Each instruction
//! is classified against the profile's feature table; reads of flags the
//! previous instruction left undefined are found by following the flags
//! along straight-line code. The report says what the decoding could not
//! see. Output formats: [`output`]; JSON schema: `docs/check-json.md`.

mod classify;
mod disasm;
mod image;
pub mod output;
mod reach;

use iced_x86::{FlowControl, Formatter, Instruction, IntelFormatter, Mnemonic, RflagsBits};
use qvm_common::cpu_profile::{feature, CheckRule, Id};
use qvm_common::elf::ElfError;
use thiserror::Error;

pub use disasm::{Blind, Found};
pub use reach::Reach;

/// Why a file could not be checked.
#[derive(Debug, Error)]
pub enum CheckError {
    #[error("{0}")]
    NotAContract(#[from] ElfError),
    #[error("cannot parse the ELF file: {0}")]
    Elf(String),
}

/// One instruction outside the baseline and required lists.
#[derive(Clone, Debug)]
pub struct Finding {
    pub address: u64,
    /// The function symbol holding it, and the offset into it.
    pub function: Option<String>,
    pub offset: u64,
    /// Intel syntax.
    pub instruction: String,
    pub feature: Id,
    /// For undefined-flag reads: which flags, and the instruction that
    /// left them undefined.
    pub detail: Option<String>,
    /// How the instruction was found: by descent, from a number, or only
    /// by the sweep.
    pub found: Found,
    /// Found only by the sweep: nothing the file holds leads there.
    pub sweep_only: bool,
    /// Found only by the sweep in a file with function symbols, so ruled
    /// out: descent started at every function the file names and at every
    /// number it holds that falls in code, and none led here. What is left
    /// is data in the code (GHC's info tables), padding, or code reached
    /// only through addresses computed at run time. In a file without
    /// function symbols (stripped) the sweep is the only view of a
    /// function nothing points to, so its findings are not ruled out.
    pub sweep_ruled_out: bool,
    pub reach: Reach,
    /// The ifunc resolver that selects the function, when reach is ifunc.
    pub resolver: Option<String>,
}

impl Finding {
    pub fn rule(&self) -> CheckRule {
        feature(self.feature).check
    }

    /// Whether this finding fails the check: a hazard, unless only an
    /// ifunc resolver selects its function (glibc's resolvers choose by
    /// CPUID, which hides every hazard) or glibc guards it by CPUID, or
    /// the sweep alone found it and the file's symbols rule it out
    /// ([`Finding::sweep_ruled_out`]).
    pub fn fails(&self) -> bool {
        self.rule() == CheckRule::Fail && !self.guarded() && !self.sweep_ruled_out
    }

    /// Selected by an ifunc resolver or guarded by a known CPUID test.
    pub fn guarded(&self) -> bool {
        matches!(self.reach, Reach::Ifunc | Reach::Guarded)
    }
}

/// The whole result.
#[derive(Debug)]
pub struct Report {
    pub entry: u64,
    pub pie: bool,
    pub functions: usize,
    pub findings: Vec<Finding>,
    pub blind: Blind,
    /// Whether code can be written at run time without a syscall: a
    /// writable and executable segment, or an executable stack.
    pub writable_code: bool,
    pub exec_stack: bool,
}

impl Report {
    /// 1 when a finding fails the check, else 0.
    pub fn status(&self) -> u8 {
        u8::from(self.findings.iter().any(Finding::fails))
    }
}

/// Checks a contract's file.
pub fn check(bytes: &[u8]) -> Result<Report, CheckError> {
    let image = image::Image::parse(bytes)?;
    let code = disasm::decode(&image);
    let reach = reach::Reachability::compute(&image, &code);
    let mut formatter = IntelFormatter::new();
    let mut text = |i: &Instruction| {
        let mut s = String::new();
        formatter.format(i, &mut s);
        s
    };
    let mut findings = Vec::new();
    let mut flags = FlagState::default();
    for (&ip, insn) in &code.insns {
        let i = &insn.instruction;
        // Code that control flow reaches, from known starts or numbers.
        let descent = insn.found != Found::Sweep;
        let mut found = |feature: Id, detail: Option<String>, text: String| {
            let (function, offset) = match image.function_at(ip) {
                Some((start, f)) => (Some(f.name.clone()), ip - start),
                None => (None, 0),
            };
            let reach = reach.of(&image, ip);
            findings.push(Finding {
                address: ip,
                function,
                offset,
                instruction: text,
                feature,
                detail,
                found: insn.found,
                sweep_only: !descent,
                sweep_ruled_out: !descent && !image.functions.is_empty(),
                reach,
                resolver: None,
            });
        };
        let id = classify::classify(i);
        if feature(id).check != CheckRule::Pass {
            found(id, None, text(i));
        }
        if descent {
            if let Some(detail) = flags.step(ip, insn.path_start, i) {
                found(Id::UndefinedFlags, Some(detail), text(i));
            }
        } else {
            flags = FlagState::default();
        }
    }
    for f in &mut findings {
        f.resolver = image
            .function_at(f.address)
            .and_then(|(start, _)| reach.resolver_of.get(&start))
            .and_then(|r| image.functions.get(r))
            .map(|r| r.name.clone());
    }
    Ok(Report {
        entry: image.entry,
        pie: image.pie,
        functions: image.functions.len(),
        findings,
        blind: code.blind,
        writable_code: image.writable_code,
        exec_stack: image.exec_stack,
    })
}

/// Flags left undefined along straight-line code.
#[derive(Default)]
struct FlagState {
    /// Where the previous instruction ends, to notice gaps.
    next: u64,
    undefined: u32,
    /// The instruction that left them undefined.
    by: u64,
}

impl FlagState {
    /// Steps over `i`; describes the read when it reads an undefined flag.
    fn step(&mut self, ip: u64, path_start: bool, i: &Instruction) -> Option<String> {
        if path_start || ip != self.next {
            self.undefined = 0;
        }
        // SYSCALL copies RFLAGS to R11, which the syscall ABI clobbers:
        // not a read a compiled program observes.
        let read = if i.mnemonic() == Mnemonic::Syscall {
            0
        } else {
            i.rflags_read()
        };
        let bad = read & self.undefined;
        let detail = (bad != 0).then(|| {
            format!(
                "reads {} left undefined by the instruction at {:#x}",
                flag_names(bad),
                self.by
            )
        });
        let undefined = i.rflags_undefined();
        self.undefined = (self.undefined & !i.rflags_modified()) | undefined;
        if undefined != 0 {
            self.by = ip;
        }
        // Control leaves straight-line code: a callee or a branch target
        // may change anything.
        if !matches!(
            i.flow_control(),
            FlowControl::Next | FlowControl::ConditionalBranch
        ) {
            self.undefined = 0;
        }
        self.next = i.next_ip();
        detail
    }
}

fn flag_names(bits: u32) -> String {
    let names = [
        (RflagsBits::CF, "CF"),
        (RflagsBits::PF, "PF"),
        (RflagsBits::AF, "AF"),
        (RflagsBits::ZF, "ZF"),
        (RflagsBits::SF, "SF"),
        (RflagsBits::OF, "OF"),
    ];
    let set: Vec<&str> = names
        .iter()
        .filter(|(b, _)| bits & b != 0)
        .map(|(_, n)| *n)
        .collect();
    if set.is_empty() {
        format!("flags {bits:#x}")
    } else {
        set.join(", ")
    }
}
