//! Decoding a contract's code: recursive descent from the entry point,
//! every function symbol and every code pointer its data holds; then
//! descent from the other numbers the file holds that fall in code; then a
//! linear sweep of the bytes neither reached.

use std::collections::{BTreeMap, BTreeSet};

use iced_x86::{Decoder, DecoderOptions, FlowControl, Instruction, Mnemonic, OpKind};

use super::image::Image;

/// How an instruction was found.
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Found {
    /// By following control flow from a known start: the entry point, a
    /// function symbol, a relocation, or a data word that points at a
    /// function.
    Descent,
    /// By following control flow from another number the file holds that
    /// falls in code (an address operand, an immediate, a data word, a
    /// relative jump table's entry), in bytes descent left: code reached
    /// through computed pointers (GHC's code, switch cases), if it is code.
    Pointer,
    /// Only by the linear sweep: no address the file holds leads there.
    /// Data that decodes, padding, or code reached by addresses computed
    /// in ways the check does not follow.
    Sweep,
}

/// One decoded instruction.
pub struct Insn {
    pub instruction: Instruction,
    pub found: Found,
    /// Starts a path of descent (a branch target or a known start): the
    /// flags state is unknown here.
    pub path_start: bool,
}

/// What the decoder could not see.
#[derive(Clone, Debug, Default, PartialEq, Eq, serde::Serialize)]
pub struct Blind {
    /// Bytes of code: executable sections (whole executable segments
    /// when the file has no section headers).
    pub code_bytes: u64,
    /// Bytes of executable segments that the section headers say are data
    /// (`.rodata`, `.eh_frame` in gold's layout): not decoded, except
    /// where a direct branch leads.
    pub data_bytes_in_code_segments: u64,
    /// Instructions found by descent, from other numbers, and only by the
    /// sweep.
    pub descent_instructions: u64,
    pub pointer_instructions: u64,
    pub sweep_instructions: u64,
    /// Bytes the sweep could not decode.
    pub undecodable_bytes: u64,
    /// Descent reached invalid bytes (often data after a call that does
    /// not return).
    pub invalid_at_reached: u64,
    /// Branch targets inside another instruction: two decodings overlap.
    pub overlapping: u64,
    /// Jumps and calls through a register or memory, whose targets
    /// descent cannot follow.
    pub indirect_jumps: u64,
    pub indirect_calls: u64,
    /// Branch targets outside the executable segments.
    pub targets_outside: u64,
}

/// Every instruction found, by address.
pub struct Code {
    pub insns: BTreeMap<u64, Insn>,
    pub blind: Blind,
}

fn decoder(bytes: &[u8], ip: u64) -> Decoder<'_> {
    Decoder::with_ip(64, bytes, ip, DecoderOptions::NONE)
}

/// Entries read from one relative jump table at most (a switch larger
/// than this is not compiled to one table).
const TABLE_ENTRIES: u64 = 4096;

/// Decodes the image.
pub fn decode(image: &Image<'_>) -> Code {
    let mut d = Descent {
        image,
        code: Code {
            insns: BTreeMap::new(),
            blind: Blind::default(),
        },
        covered: BTreeMap::new(),
        seen_starts: BTreeSet::new(),
    };
    let mut starts = vec![image.entry];
    starts.extend(image.functions.keys().copied());
    starts.extend(image.data_refs.iter().copied());
    d.run(starts, Found::Descent);
    d.code.blind.descent_instructions = d.code.insns.len() as u64;
    // Then every other address the file holds as a number, until no new
    // code turns up.
    let mut looked: BTreeSet<u64> = BTreeSet::new();
    let mut weak: Vec<u64> = image.weak_refs.iter().copied().collect();
    loop {
        let fresh: Vec<u64> = d
            .code
            .insns
            .keys()
            .copied()
            .filter(|ip| looked.insert(*ip))
            .collect();
        for ip in fresh {
            if let Some(insn) = d.code.insns.get(&ip) {
                weak.extend(numbers_in(&insn.instruction, image));
            }
        }
        let starts: Vec<u64> = weak
            .drain(..)
            .filter(|&a| !d.code.insns.contains_key(&a) && !inside_other(&d.covered, a))
            .collect();
        if starts.is_empty() {
            break;
        }
        d.run(starts, Found::Pointer);
    }
    d.code.blind.pointer_instructions =
        d.code.insns.len() as u64 - d.code.blind.descent_instructions;
    let Descent {
        mut code, covered, ..
    } = d;
    sweep(image, &mut code, &covered);
    code
}

/// Code addresses an instruction holds as numbers: its RIP-relative and
/// immediate operands that fall in code, and the targets of a relative
/// jump table an LEA may load (the switch tables of position-independent
/// code: 32-bit offsets from the table, read until one leaves the code).
fn numbers_in(i: &Instruction, image: &Image<'_>) -> Vec<u64> {
    let mut out = Vec::new();
    for n in 0..i.op_count() {
        match i.op_kind(n) {
            OpKind::Memory if i.is_ip_rel_memory_operand() => {
                let base = i.ip_rel_memory_address();
                if image.is_code(base) {
                    out.push(base);
                } else if i.mnemonic() == Mnemonic::Lea {
                    // GCC and Clang load a switch table's address with LEA;
                    // its cases lie in the same function.
                    let function = image.function_at(i.ip()).map(|(start, _)| start);
                    for k in 0..TABLE_ENTRIES {
                        let target = image
                            .read_i32(base.wrapping_add(4 * k))
                            .map(|e| base.wrapping_add_signed(i64::from(e)));
                        match target {
                            Some(t)
                                if image.is_code(t)
                                    && image.function_at(t).map(|(start, _)| start) == function =>
                            {
                                out.push(t)
                            }
                            _ => break,
                        }
                    }
                }
            }
            OpKind::Immediate32 | OpKind::Immediate32to64 | OpKind::Immediate64 => {
                let v = i.immediate(n);
                if image.is_code(v) {
                    out.push(v);
                }
            }
            _ => {}
        }
    }
    out
}

/// Recursive descent over the image.
struct Descent<'i, 'a> {
    image: &'i Image<'a>,
    code: Code,
    /// First byte covered by each instruction, for overlap detection.
    covered: BTreeMap<u64, u64>,
    seen_starts: BTreeSet<u64>,
}

impl Descent<'_, '_> {
    /// Follows control flow from `starts`, marking what it decodes `found`.
    fn run(&mut self, mut work: Vec<u64>, found: Found) {
        work.reverse();
        while let Some(start) = work.pop() {
            if !self.seen_starts.insert(start) {
                continue;
            }
            let Some(region) = self.image.region(start) else {
                self.code.blind.targets_outside += 1;
                continue;
            };
            if let Some(insn) = self.code.insns.get_mut(&start) {
                insn.path_start = true;
                continue;
            }
            if inside_other(&self.covered, start) {
                // A number that points inside an instruction is a number.
                if found == Found::Pointer {
                    continue;
                }
                self.code.blind.overlapping += 1;
            }
            let mut d = decoder(region.from(start), start);
            let mut first = true;
            while d.can_decode() {
                let ip = d.ip();
                if !first && self.code.insns.contains_key(&ip) {
                    break; // joined an already decoded path
                }
                let i = d.decode();
                if i.is_invalid() {
                    self.code.blind.invalid_at_reached += 1;
                    break;
                }
                self.covered.insert(ip, i.next_ip());
                self.code.insns.insert(
                    ip,
                    Insn {
                        instruction: i,
                        found,
                        path_start: first,
                    },
                );
                first = false;
                let direct = matches!(
                    i.op0_kind(),
                    OpKind::NearBranch16 | OpKind::NearBranch32 | OpKind::NearBranch64
                );
                let blind = &mut self.code.blind;
                match i.flow_control() {
                    FlowControl::Next | FlowControl::Interrupt => {}
                    FlowControl::ConditionalBranch
                    | FlowControl::Call
                    | FlowControl::XbeginXabortXend => {
                        if direct {
                            work.push(i.near_branch_target());
                        }
                    }
                    FlowControl::UnconditionalBranch => {
                        if direct {
                            work.push(i.near_branch_target());
                        }
                        break;
                    }
                    FlowControl::IndirectCall => blind.indirect_calls += 1,
                    FlowControl::IndirectBranch => {
                        blind.indirect_jumps += 1;
                        break;
                    }
                    FlowControl::Return | FlowControl::Exception => break,
                }
            }
        }
    }
}

/// Whether `addr` falls inside (not at the start of) a decoded
/// instruction.
fn inside_other(covered: &BTreeMap<u64, u64>, addr: u64) -> bool {
    covered
        .range(..addr)
        .next_back()
        .is_some_and(|(_, &end)| addr < end)
}

/// Decodes, linearly, every byte range of the code spans descent did not
/// cover.
fn sweep(image: &Image<'_>, code: &mut Code, covered: &BTreeMap<u64, u64>) {
    code.blind.data_bytes_in_code_segments = image.data_in_code_segments();
    for span in &image.code {
        let Some(region) = image.region(span.start) else {
            continue;
        };
        code.blind.code_bytes += span.end - span.start;
        let mut addr = span.start;
        let end = span.end;
        while addr < end {
            // Skip what descent covered.
            if let Some(&stop) = covered.get(&addr) {
                addr = stop.max(addr + 1);
                continue;
            }
            let gap_end = covered
                .range(addr..)
                .next()
                .map_or(end, |(&s, _)| s)
                .min(end);
            let len = usize::try_from(gap_end - addr).unwrap_or(0);
            let bytes = region.from(addr);
            let mut d = decoder(bytes.get(..len).unwrap_or(bytes), addr);
            while d.can_decode() {
                let ip = d.ip();
                let i = d.decode();
                if i.is_invalid() {
                    code.blind.undecodable_bytes += 1;
                    d.set_position(usize::try_from(ip + 1 - addr).unwrap_or(len))
                        .ok();
                    d.set_ip(ip + 1);
                    continue;
                }
                code.blind.sweep_instructions += 1;
                code.insns.insert(
                    ip,
                    Insn {
                        instruction: i,
                        found: Found::Sweep,
                        path_start: true,
                    },
                );
            }
            addr = gap_end;
        }
    }
}
