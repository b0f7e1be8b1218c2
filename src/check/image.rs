//! What `qvm check` reads from a contract's ELF file: the executable
//! segments, the function symbols, and the code addresses its data holds.
//! Addresses are the file's own (unrelocated, as `objdump` and `nm` show
//! them), also for static-pie files.

use std::collections::{BTreeMap, BTreeSet};

use goblin::elf::program_header::{PF_W, PF_X, PT_GNU_STACK, PT_LOAD};
use goblin::elf::section_header::{SHF_ALLOC, SHF_EXECINSTR, SHT_RELA};
use goblin::elf::sym::{STT_FUNC, STT_GNU_IFUNC};
use goblin::elf::Elf;

use super::CheckError;

/// R_X86_64_IRELATIVE: the addend is an ifunc resolver.
const R_X86_64_IRELATIVE: u64 = 37;
const RELA_SIZE: usize = 24;

/// Bytes of one executable segment, as the file holds them.
pub struct Region<'a> {
    pub vaddr: u64,
    pub bytes: &'a [u8],
}

impl Region<'_> {
    pub fn end(&self) -> u64 {
        self.vaddr.saturating_add(self.bytes.len() as u64)
    }

    pub fn contains(&self, addr: u64) -> bool {
        (self.vaddr..self.end()).contains(&addr)
    }

    /// The bytes from `addr` to the end of the segment.
    pub fn from(&self, addr: u64) -> &[u8] {
        addr.checked_sub(self.vaddr)
            .and_then(|off| usize::try_from(off).ok())
            .and_then(|off| self.bytes.get(off..))
            .unwrap_or(&[])
    }
}

/// Addresses the file marks as code: an executable section, or a whole
/// executable segment when the file has no section headers.
pub struct Span {
    pub start: u64,
    pub end: u64,
}

/// A function symbol.
#[derive(Clone, Debug)]
pub struct Function {
    pub name: String,
    pub size: u64,
    /// An STT_GNU_IFUNC symbol: its address is the resolver's.
    pub ifunc_resolver: bool,
}

/// The parts of the file the check uses.
pub struct Image<'a> {
    pub entry: u64,
    pub pie: bool,
    pub regions: Vec<Region<'a>>,
    /// The parts of the regions that hold code. Linkers such as gold put
    /// `.rodata` and `.eh_frame` in the executable segment: their bytes are
    /// data, decoded only if a direct branch leads there.
    pub code: Vec<Span>,
    /// Function symbols by address (the first name wins at an address,
    /// except that a resolver keeps its ifunc mark).
    pub functions: BTreeMap<u64, Function>,
    /// Code addresses held by data: pointers in non-executable segments
    /// and relocation addends.
    pub data_refs: BTreeSet<u64>,
    /// Other integers in data that fall in code: weaker evidence, which
    /// only lets decoding start in bytes descent left (see `disasm`).
    pub weak_refs: BTreeSet<u64>,
    /// The non-executable segments, to read jump tables from.
    pub data: Vec<Region<'a>>,
    /// Resolvers named by IRELATIVE relocations.
    pub irelative: BTreeSet<u64>,
    /// A segment both writable and executable.
    pub writable_code: bool,
    /// PT_GNU_STACK asks for an executable stack.
    pub exec_stack: bool,
}

impl<'a> Image<'a> {
    /// Parses `bytes`, which must be a file qvm would run.
    pub fn parse(bytes: &'a [u8]) -> Result<Self, CheckError> {
        let loaded = qvm_common::elf::parse(bytes)?;
        let elf = Elf::parse(bytes).map_err(|e| CheckError::Elf(e.to_string()))?;
        let mut image = Image {
            entry: elf.entry,
            pie: loaded.base != 0,
            regions: Vec::new(),
            code: Vec::new(),
            functions: BTreeMap::new(),
            data_refs: BTreeSet::new(),
            weak_refs: BTreeSet::new(),
            data: Vec::new(),
            irelative: BTreeSet::new(),
            writable_code: false,
            exec_stack: false,
        };
        for ph in &elf.program_headers {
            if ph.p_type == PT_GNU_STACK {
                image.exec_stack = ph.p_flags & PF_X != 0;
            }
            if ph.p_type != PT_LOAD {
                continue;
            }
            let file = usize::try_from(ph.p_offset)
                .ok()
                .zip(usize::try_from(ph.p_filesz).ok())
                .and_then(|(off, len)| bytes.get(off..off.checked_add(len)?))
                .ok_or_else(|| CheckError::Elf("a segment lies outside the file".into()))?;
            if ph.p_flags & PF_X != 0 {
                image.writable_code |= ph.p_flags & PF_W != 0;
                image.regions.push(Region {
                    vaddr: ph.p_vaddr,
                    bytes: file,
                });
            } else {
                image.data.push(Region {
                    vaddr: ph.p_vaddr,
                    bytes: file,
                });
            }
        }
        image.code = code_spans(&elf, &image.regions);
        for sym in elf.syms.iter() {
            let kind = sym.st_type();
            if (kind != STT_FUNC && kind != STT_GNU_IFUNC) || sym.st_value == 0 {
                continue;
            }
            let name = elf.strtab.get_at(sym.st_name).unwrap_or("?").to_string();
            let resolver = kind == STT_GNU_IFUNC;
            image
                .functions
                .entry(sym.st_value)
                .and_modify(|f| f.ifunc_resolver |= resolver)
                .or_insert(Function {
                    name,
                    size: sym.st_size,
                    ifunc_resolver: resolver,
                });
        }
        let (mut refs, mut weak) = (BTreeSet::new(), BTreeSet::new());
        // In a static-pie file every pointer in data has a relocation (read
        // below), and its small unrelocated code addresses look like
        // ordinary integers: scan raw data words only in fixed-address files.
        let raw_data = if image.pie { &[][..] } else { &image.data[..] };
        for d in raw_data {
            for chunk in d.bytes.chunks_exact(8) {
                let mut w = [0u8; 8];
                w.copy_from_slice(chunk);
                let v = u64::from_le_bytes(w);
                if image.pointer_like(v) {
                    refs.insert(v);
                } else if image.is_code(v) {
                    weak.insert(v);
                }
            }
        }
        image.weak_refs = weak;
        for sh in elf.section_headers.iter().filter(|s| s.sh_type == SHT_RELA) {
            let Some(table) = usize::try_from(sh.sh_offset)
                .ok()
                .zip(usize::try_from(sh.sh_size).ok())
                .and_then(|(off, len)| bytes.get(off..off.checked_add(len)?))
            else {
                continue;
            };
            for rela in table.chunks_exact(RELA_SIZE) {
                let field = |i: usize| {
                    let mut w = [0u8; 8];
                    w.copy_from_slice(rela.get(i * 8..i * 8 + 8).unwrap_or(&[0; 8]));
                    u64::from_le_bytes(w)
                };
                let (info, addend) = (field(1), field(2));
                if !image.is_code(addend) {
                    continue;
                }
                refs.insert(addend);
                if info & 0xffff_ffff == R_X86_64_IRELATIVE {
                    image.irelative.insert(addend);
                }
            }
        }
        image.data_refs = refs;
        Ok(image)
    }

    /// The 4 bytes at `addr` as a signed integer, from any segment.
    pub fn read_i32(&self, addr: u64) -> Option<i32> {
        let region = self
            .regions
            .iter()
            .chain(&self.data)
            .find(|r| r.contains(addr))?;
        let b = region.from(addr).get(..4)?;
        Some(i32::from_le_bytes(b.try_into().ok()?))
    }

    /// The region holding `addr`.
    pub fn region(&self, addr: u64) -> Option<&Region<'a>> {
        self.regions.iter().find(|r| r.contains(addr))
    }

    /// The function symbol whose extent holds `addr` (or, for symbols of
    /// size 0, the nearest one before it in the same code span).
    pub fn function_at(&self, addr: u64) -> Option<(u64, &Function)> {
        let (&start, f) = self.functions.range(..=addr).next_back()?;
        let inside = if f.size == 0 {
            self.span(start).is_some_and(|s| addr < s.end)
        } else {
            addr < start.saturating_add(f.size)
        };
        inside.then_some((start, f))
    }

    /// The code span holding `addr`.
    pub fn span(&self, addr: u64) -> Option<&Span> {
        self.code.iter().find(|s| (s.start..s.end).contains(&addr))
    }

    pub fn is_code(&self, addr: u64) -> bool {
        self.span(addr).is_some()
    }

    /// Whether an integer found in data or in an immediate operand, with
    /// nothing saying it is an address, is taken for a code pointer: it
    /// must be a function's first byte, or fall in code no function symbol
    /// covers. Code pointers in data point at functions (jump tables point
    /// inside functions already reached through their start); the rest
    /// are numbers and text that happen to fall in code (glibc's "ULL"
    /// string, futex flags), which would make code look reachable from
    /// the wrong place and start decodings in the middle of instructions.
    pub fn pointer_like(&self, v: u64) -> bool {
        self.is_code(v) && (self.functions.contains_key(&v) || self.function_at(v).is_none())
    }

    /// Bytes of executable segments outside the code spans.
    pub fn data_in_code_segments(&self) -> u64 {
        let code: u64 = self.code.iter().map(|s| s.end - s.start).sum();
        let all: u64 = self.regions.iter().map(|r| r.bytes.len() as u64).sum();
        all.saturating_sub(code)
    }

    /// Whether `addr` is an ifunc resolver.
    pub fn is_resolver(&self, addr: u64) -> bool {
        self.irelative.contains(&addr)
            || self.functions.get(&addr).is_some_and(|f| f.ifunc_resolver)
    }
}

/// The executable sections' extents clipped to the executable segments'
/// file bytes; the segments themselves when there are no such sections.
fn code_spans(elf: &Elf<'_>, regions: &[Region<'_>]) -> Vec<Span> {
    let flags = u64::from(SHF_ALLOC | SHF_EXECINSTR);
    let mut spans = Vec::new();
    for sh in elf
        .section_headers
        .iter()
        .filter(|s| s.sh_flags & flags == flags)
    {
        let end = sh.sh_addr.saturating_add(sh.sh_size);
        for r in regions {
            let (start, end) = (sh.sh_addr.max(r.vaddr), end.min(r.end()));
            if start < end {
                spans.push(Span { start, end });
            }
        }
    }
    if spans.is_empty() {
        spans = regions
            .iter()
            .map(|r| Span {
                start: r.vaddr,
                end: r.end(),
            })
            .collect();
    }
    spans.sort_by_key(|s| s.start);
    spans
}
