//! Parsing and validating a contract's ELF file.
//!
//! Only the ELF header and program headers matter to a loader, so only they
//! are parsed (with goblin). Everything is checked before any memory is
//! touched: a bad file is refused with a typed error, never a panic.

use goblin::elf::header;
use goblin::elf::program_header::{
    PF_R, PF_W, PF_X, PT_DYNAMIC, PT_GNU_STACK, PT_INTERP, PT_LOAD, PT_PHDR,
};
use goblin::elf64::header::Header;
use goblin::elf64::program_header::{ProgramHeader, SIZEOF_PHDR};
use thiserror::Error;

use crate::address_space::Prot;
use crate::layout::{page_align_down, page_align_up, PAGE_SIZE, PIE_BASE, USER_END, USER_MIN};

/// Why a file cannot be run as a contract.
#[derive(Debug, Error, PartialEq, Eq)]
pub enum ElfError {
    #[error("not an ELF file")]
    NotElf,
    #[error("not a 64-bit ELF file")]
    Not64Bit,
    #[error("not a little-endian ELF file")]
    NotLittleEndian,
    #[error("not an x86-64 program (ELF machine {0})")]
    NotX86_64(u16),
    #[error("not an executable (ELF type {0}); build a static executable")]
    NotExecutable(u16),
    #[error("dynamically linked (it asks for the interpreter {0}); build it with -static")]
    Dynamic(String),
    #[error("truncated or malformed ELF header: {0}")]
    BadHeader(String),
    #[error("malformed program headers: {0}")]
    BadProgramHeaders(String),
    #[error("no loadable segments")]
    NoSegments,
    #[error("segment {index} is malformed: {reason}")]
    BadSegment { index: usize, reason: String },
    #[error("segments {0} and {1} overlap")]
    Overlap(usize, usize),
    #[error("segment {0} lies outside the user address space")]
    OutOfAddressSpace(usize),
}

/// A loadable segment, with its final (relocated) virtual address.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Segment {
    pub vaddr: u64,
    pub mem_size: u64,
    pub file_offset: u64,
    pub file_size: u64,
    pub prot: Prot,
}

/// A validated static executable.
#[derive(Clone, Debug)]
pub struct ElfImage {
    /// Load bias: 0 for ET_EXEC, [`PIE_BASE`] for static-pie.
    pub base: u64,
    /// Entry point (relocated).
    pub entry: u64,
    pub segments: Vec<Segment>,
    /// Where the program headers are in guest memory (AT_PHDR), if loaded.
    pub phdr_addr: u64,
    pub phnum: u16,
    /// PT_GNU_STACK asks for an executable stack.
    pub exec_stack: bool,
    /// First byte past the highest segment: where brk starts.
    pub image_end: u64,
}

impl ElfImage {
    /// Page-granular memory the image's segments need.
    pub fn memory_needed(&self) -> u64 {
        self.segments
            .iter()
            .map(|s| {
                let lo = page_align_down(s.vaddr);
                page_align_up(s.vaddr + s.mem_size).unwrap_or(u64::MAX) - lo
            })
            .fold(0u64, |a, b| a.saturating_add(b))
    }
}

fn prot_of(flags: u32) -> Prot {
    let mut p = Prot::NONE;
    if flags & PF_R != 0 {
        p = p.union(Prot::READ);
    }
    if flags & PF_W != 0 {
        p = p.union(Prot::WRITE);
    }
    if flags & PF_X != 0 {
        p = p.union(Prot::EXEC);
    }
    p
}

/// Parses and validates `bytes` as a static x86-64 Linux executable.
pub fn parse(bytes: &[u8]) -> Result<ElfImage, ElfError> {
    if bytes.len() < 4 || bytes[..4] != header::ELFMAG[..] {
        return Err(ElfError::NotElf);
    }
    if bytes.len() < header::header64::SIZEOF_EHDR {
        if bytes.len() > header::EI_CLASS && bytes[header::EI_CLASS] != header::ELFCLASS64 {
            return Err(ElfError::Not64Bit);
        }
        return Err(ElfError::BadHeader(format!(
            "file is only {} bytes",
            bytes.len()
        )));
    }
    if bytes[header::EI_CLASS] != header::ELFCLASS64 {
        return Err(ElfError::Not64Bit);
    }
    if bytes[header::EI_DATA] != header::ELFDATA2LSB {
        return Err(ElfError::NotLittleEndian);
    }
    let h = Header::parse(bytes).map_err(|e| ElfError::BadHeader(e.to_string()))?;
    if h.e_machine != header::EM_X86_64 {
        return Err(ElfError::NotX86_64(h.e_machine));
    }
    let pie = match h.e_type {
        header::ET_EXEC => false,
        header::ET_DYN => true,
        other => return Err(ElfError::NotExecutable(other)),
    };
    if h.e_phentsize as usize != SIZEOF_PHDR {
        return Err(ElfError::BadProgramHeaders(format!(
            "entry size {} (expected {})",
            h.e_phentsize, SIZEOF_PHDR
        )));
    }
    let phnum = h.e_phnum as usize;
    let phoff = usize::try_from(h.e_phoff)
        .map_err(|_| ElfError::BadProgramHeaders("offset too large".into()))?;
    let table_end = phnum
        .checked_mul(SIZEOF_PHDR)
        .and_then(|n| n.checked_add(phoff))
        .filter(|&end| end <= bytes.len())
        .ok_or_else(|| {
            ElfError::BadProgramHeaders("table extends past the end of the file".into())
        })?;
    let _ = table_end;
    let phdrs = ProgramHeader::parse(bytes, phoff, phnum, scroll_le())
        .map_err(|e| ElfError::BadProgramHeaders(e.to_string()))?;

    if let Some(interp) = phdrs.iter().find(|p| p.p_type == PT_INTERP) {
        let name = interp_name(bytes, interp).unwrap_or_else(|| "(unreadable)".into());
        return Err(ElfError::Dynamic(name));
    }
    let has_dynamic = phdrs.iter().any(|p| p.p_type == PT_DYNAMIC);
    // ET_DYN without PT_DYNAMIC cannot relocate itself; refuse it as not
    // being a static-pie.
    if pie && !has_dynamic {
        return Err(ElfError::NotExecutable(h.e_type));
    }
    let base = if pie { PIE_BASE } else { 0 };

    let mut segments = Vec::new();
    for (index, p) in phdrs
        .iter()
        .enumerate()
        .filter(|(_, p)| p.p_type == PT_LOAD)
    {
        let bad = |reason: &str| ElfError::BadSegment {
            index,
            reason: reason.into(),
        };
        if p.p_filesz > p.p_memsz {
            return Err(bad("file size exceeds memory size"));
        }
        if p.p_memsz == 0 {
            continue;
        }
        p.p_offset
            .checked_add(p.p_filesz)
            .filter(|&end| end <= bytes.len() as u64)
            .ok_or_else(|| bad("file data extends past the end of the file"))?;
        if p.p_vaddr % PAGE_SIZE != p.p_offset % PAGE_SIZE {
            return Err(bad(
                "address and file offset are not congruent modulo the page size",
            ));
        }
        let vaddr = p
            .p_vaddr
            .checked_add(base)
            .ok_or(ElfError::OutOfAddressSpace(index))?;
        let end = vaddr
            .checked_add(p.p_memsz)
            .ok_or(ElfError::OutOfAddressSpace(index))?;
        if page_align_down(vaddr) < USER_MIN || page_align_up(end).map_or(true, |e| e > USER_END) {
            return Err(ElfError::OutOfAddressSpace(index));
        }
        segments.push((
            index,
            Segment {
                vaddr,
                mem_size: p.p_memsz,
                file_offset: p.p_offset,
                file_size: p.p_filesz,
                prot: prot_of(p.p_flags),
            },
        ));
    }
    if segments.is_empty() {
        return Err(ElfError::NoSegments);
    }
    let mut sorted: Vec<&(usize, Segment)> = segments.iter().collect();
    sorted.sort_by_key(|(_, s)| s.vaddr);
    for pair in sorted.windows(2) {
        let (ia, a) = pair[0];
        let (ib, b) = pair[1];
        if a.vaddr + a.mem_size > b.vaddr {
            return Err(ElfError::Overlap(*ia, *ib));
        }
    }
    let segments: Vec<Segment> = segments.into_iter().map(|(_, s)| s).collect();
    let image_end = segments
        .iter()
        .map(|s| s.vaddr + s.mem_size)
        .max()
        .unwrap_or(0);

    // AT_PHDR: PT_PHDR if present, else the table's place in a segment that
    // maps it from the file.
    let phdr_addr = phdrs
        .iter()
        .find(|p| p.p_type == PT_PHDR)
        .map(|p| p.p_vaddr.wrapping_add(base))
        .or_else(|| {
            segments
                .iter()
                .find(|s| s.file_offset <= h.e_phoff && h.e_phoff < s.file_offset + s.file_size)
                .map(|s| s.vaddr + (h.e_phoff - s.file_offset))
        })
        .unwrap_or(0);
    let exec_stack = phdrs
        .iter()
        .find(|p| p.p_type == PT_GNU_STACK)
        .is_some_and(|p| p.p_flags & PF_X != 0);

    Ok(ElfImage {
        base,
        entry: h.e_entry.wrapping_add(base),
        segments,
        phdr_addr,
        phnum: h.e_phnum,
        exec_stack,
        image_end,
    })
}

fn scroll_le() -> goblin::container::Endian {
    goblin::container::Endian::Little
}

fn interp_name(bytes: &[u8], p: &ProgramHeader) -> Option<String> {
    let start = usize::try_from(p.p_offset).ok()?;
    let len = usize::try_from(p.p_filesz).ok()?;
    let raw = bytes.get(start..start.checked_add(len)?)?;
    let raw = raw.split(|&b| b == 0).next()?;
    Some(String::from_utf8_lossy(raw).into_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    use crate::test_elf::build;

    fn text(len: u64) -> (u32, u32, u64, u64, u64, u64) {
        (PT_LOAD, PF_R | PF_X, 0, 0x400000, len, len)
    }

    #[test]
    fn accepts_a_static_executable() {
        let f = build(
            header::ET_EXEC,
            &[
                text(0x200),
                (PT_LOAD, PF_R | PF_W, 0x100, 0x402100, 0x10, 0x2000),
            ],
            &[0; 0x200],
        );
        let img = parse(&f).unwrap();
        assert_eq!(img.entry, 0x401000);
        assert_eq!(img.segments.len(), 2);
        assert_eq!(img.segments[0].prot, Prot::READ.union(Prot::EXEC));
        assert_eq!(img.phdr_addr, 0x400040);
        assert_eq!(img.image_end, 0x404100);
    }

    #[test]
    fn refusals() {
        let ok = build(header::ET_EXEC, &[text(0x200)], &[0; 0x200]);
        let cases: Vec<(Vec<u8>, ElfError)> = vec![
            (b"#!/bin/sh\n".to_vec(), ElfError::NotElf),
            (vec![], ElfError::NotElf),
            (
                {
                    let mut f = ok.clone();
                    f[4] = 1;
                    f
                },
                ElfError::Not64Bit,
            ),
            (
                {
                    let mut f = ok.clone();
                    f[5] = 2;
                    f
                },
                ElfError::NotLittleEndian,
            ),
            (
                {
                    let mut f = ok.clone();
                    f[18] = 183;
                    f[19] = 0;
                    f
                },
                ElfError::NotX86_64(183),
            ),
            (
                {
                    let mut f = ok.clone();
                    f[16] = 1;
                    f
                },
                ElfError::NotExecutable(1),
            ),
            (
                ok[..40].to_vec(),
                ElfError::BadHeader("file is only 40 bytes".into()),
            ),
            (
                ok[..100].to_vec(),
                ElfError::BadProgramHeaders("table extends past the end of the file".into()),
            ),
            (build(header::ET_EXEC, &[], &[]), ElfError::NoSegments),
            (
                build(header::ET_DYN, &[text(0x200)], &[0; 0x200]),
                ElfError::NotExecutable(3),
            ),
            (
                build(
                    header::ET_EXEC,
                    &[text(0x200), (PT_LOAD, PF_R, 0x100, 0x400100, 0x10, 0x10)],
                    &[0; 0x200],
                ),
                ElfError::Overlap(0, 1),
            ),
            (
                build(
                    header::ET_EXEC,
                    &[(PT_LOAD, PF_R, 0, 0x1000, 0x10, 0x10)],
                    &[0; 0x200],
                ),
                ElfError::OutOfAddressSpace(0),
            ),
            (
                build(
                    header::ET_EXEC,
                    &[(PT_LOAD, PF_R, 0, 0x7fff_ffff_f000, 0x10, 0x2000)],
                    &[0; 0x200],
                ),
                ElfError::OutOfAddressSpace(0),
            ),
        ];
        for (i, (bytes, want)) in cases.into_iter().enumerate() {
            assert_eq!(parse(&bytes).unwrap_err(), want, "case {i}");
        }
        let f = build(
            header::ET_EXEC,
            &[(PT_LOAD, PF_R, 0, 0x400000, 0x10000, 0x10000)],
            &[],
        );
        assert!(matches!(
            parse(&f),
            Err(ElfError::BadSegment { index: 0, .. })
        ));
        let f = build(
            header::ET_EXEC,
            &[(PT_INTERP, PF_R, 0xb0, 0, 5, 5), text(0x200)],
            b"/ld\0\0",
        );
        assert_eq!(parse(&f).unwrap_err(), ElfError::Dynamic("/ld".into()));
    }

    #[test]
    fn static_pie_is_relocated() {
        let f = build(
            header::ET_DYN,
            &[
                (PT_LOAD, PF_R | PF_X, 0, 0, 0x200, 0x200),
                (PT_DYNAMIC, PF_R, 0, 0x100, 0x10, 0x10),
            ],
            &[0; 0x200],
        );
        let img = parse(&f).unwrap();
        assert_eq!(img.base, PIE_BASE);
        assert_eq!(img.segments[0].vaddr, PIE_BASE);
        assert_eq!(img.entry, PIE_BASE + 0x401000);
    }
}
