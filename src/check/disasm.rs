//! Decoding a contract's executable segments: recursive descent from the
//! entry point, every function symbol and every code address its data
//! holds, then a linear sweep of the bytes descent did not reach.

use std::collections::{BTreeMap, BTreeSet};

use iced_x86::{Decoder, DecoderOptions, FlowControl, Instruction, OpKind};

use super::image::Image;

/// How an instruction was found.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Found {
    /// By following control flow from a known start.
    Descent,
    /// Only by the linear sweep: code reached in ways descent cannot
    /// follow, or data that decodes.
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
    /// Executable bytes in the file.
    pub code_bytes: u64,
    /// Instructions found by descent, and only by the sweep.
    pub descent_instructions: u64,
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

/// Decodes the image.
pub fn decode(image: &Image<'_>) -> Code {
    let mut code = Code {
        insns: BTreeMap::new(),
        blind: Blind::default(),
    };
    // First byte covered by each instruction, for overlap detection.
    let mut covered: BTreeMap<u64, u64> = BTreeMap::new();
    let mut work: Vec<u64> = Vec::new();
    work.push(image.entry);
    work.extend(image.functions.keys().copied());
    work.extend(image.data_refs.iter().copied());
    work.reverse();
    let mut seen_starts: BTreeSet<u64> = BTreeSet::new();
    while let Some(start) = work.pop() {
        if !seen_starts.insert(start) {
            continue;
        }
        let Some(region) = image.region(start) else {
            code.blind.targets_outside += 1;
            continue;
        };
        if let Some(insn) = code.insns.get_mut(&start) {
            insn.path_start = true;
            continue;
        }
        if inside_other(&covered, start) {
            code.blind.overlapping += 1;
        }
        let mut d = decoder(region.from(start), start);
        let mut first = true;
        while d.can_decode() {
            let ip = d.ip();
            if !first && code.insns.contains_key(&ip) {
                break; // joined an already decoded path
            }
            let i = d.decode();
            if i.is_invalid() {
                code.blind.invalid_at_reached += 1;
                break;
            }
            covered.insert(ip, i.next_ip());
            code.insns.insert(
                ip,
                Insn {
                    instruction: i,
                    found: Found::Descent,
                    path_start: first,
                },
            );
            first = false;
            let direct = matches!(
                i.op0_kind(),
                OpKind::NearBranch16 | OpKind::NearBranch32 | OpKind::NearBranch64
            );
            match i.flow_control() {
                FlowControl::Next | FlowControl::Interrupt => {}
                FlowControl::ConditionalBranch => {
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
                FlowControl::Call => {
                    if direct {
                        work.push(i.near_branch_target());
                    }
                }
                FlowControl::IndirectCall => code.blind.indirect_calls += 1,
                FlowControl::IndirectBranch => {
                    code.blind.indirect_jumps += 1;
                    break;
                }
                FlowControl::Return | FlowControl::Exception => break,
                FlowControl::XbeginXabortXend => {
                    if direct {
                        work.push(i.near_branch_target());
                    }
                }
            }
        }
    }
    code.blind.descent_instructions = code.insns.len() as u64;
    sweep(image, &mut code, &covered);
    code
}

/// Whether `addr` falls inside (not at the start of) a decoded
/// instruction.
fn inside_other(covered: &BTreeMap<u64, u64>, addr: u64) -> bool {
    covered
        .range(..addr)
        .next_back()
        .is_some_and(|(_, &end)| addr < end)
}

/// Decodes, linearly, every byte range descent did not cover.
fn sweep(image: &Image<'_>, code: &mut Code, covered: &BTreeMap<u64, u64>) {
    for region in &image.regions {
        code.blind.code_bytes += region.bytes.len() as u64;
        let mut addr = region.vaddr;
        let end = region.end();
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
