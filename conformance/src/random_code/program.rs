//! A test program for a batch of random sequences, and reading its
//! output back. Each sequence runs from a known state (every GPR, RFLAGS,
//! MXCSR, every XMM register and a 2 KiB scratch buffer set from the
//! draw), then stores its final state next to the buffer. At the end one
//! `write` sends every sequence's region to stdout and the program exits
//! with status 0, so an engine's result is just its stdout: comparable
//! byte for byte with native Linux and with the other backend.

use iced_x86::{
    BlockEncoder, BlockEncoderOptions, Code, IcedError, Instruction, InstructionBlock, Register,
};
use qvm_common::test_elf;

use super::generate::{self, scratch, Draw, Oracle, Rng, GPR64, XMM};

/// Where the code starts (the ELF builder's entry point).
pub const CODE_BASE: u64 = 0x40_1000;
/// Where the first sequence's region starts.
const DATA_BASE: u64 = 0x60_0000;
/// One region per sequence: scratch buffer, initial data, final state.
const REGION: u64 = 0x1000;

/// Offsets inside a region.
mod region {
    use super::scratch;
    pub const XMM_INIT: u64 = scratch::LEN;
    pub const MXCSR_INIT: u64 = XMM_INIT + 256;
    pub const DUMP_GPRS: u64 = MXCSR_INIT + 16;
    pub const DUMP_FLAGS: u64 = DUMP_GPRS + 128;
    pub const DUMP_MXCSR: u64 = DUMP_FLAGS + 8;
    pub const DUMP_XMM: u64 = DUMP_MXCSR + 8;
    pub const END: u64 = DUMP_XMM + 256;
    const _: () = assert!(END <= super::REGION);
}

/// RFLAGS bits a sequence's start state sets at random: the status flags
/// and DF.
const RANDOM_FLAGS: u64 = 0x1 | 0x4 | 0x10 | 0x40 | 0x80 | 0x400 | 0x800;
/// IF and the reserved bit 1, as every user process has them.
const FIXED_FLAGS: u64 = 0x202;
/// MXCSR's sticky exception flags (IE, DE, ZE, OE, UE, PE). The emulator
/// never sets them: unicorn's SSE helpers (QEMU 5.0) do not copy
/// softfloat's exception state into MXCSR. That is a documented
/// difference (docs/known-differences.md), so the comparison masks them.
const MXCSR_EXCEPTION_FLAGS: u32 = 0x3f;
/// Linux's initial MXCSR: all exceptions masked, round to nearest.
const MXCSR_DEFAULT: u32 = 0x1f80;

/// One random sequence and its start state.
#[derive(Clone, Debug)]
pub struct Sequence {
    /// Initial RAX..R15 in encoding order (RSP's entry is ignored: RSP
    /// points into the scratch buffer).
    pub gprs: [u64; 16],
    /// Initial flags (only the status flags and DF are used).
    pub flags: u64,
    /// MXCSR rounding control, 0..=3.
    pub rounding: u8,
    /// Seed of the scratch buffer and XMM contents.
    pub data_seed: u64,
    pub draws: Vec<Draw>,
}

/// A built test program.
pub struct Program {
    pub elf: Vec<u8>,
    /// Address, owning sequence and text of every instruction, in order.
    instructions: Vec<(u64, usize, String)>,
    /// Per sequence: its start state and instruction listing, for reports.
    pub listings: Vec<String>,
    sequences: usize,
}

fn region_base(index: usize) -> u64 {
    DATA_BASE + index as u64 * REGION
}

fn rip(target: u64) -> iced_x86::MemoryOperand {
    iced_x86::MemoryOperand::with_base_displ(Register::RIP, target as i64)
}

/// A double from a small table of values that exercise rounding, signs,
/// infinities, NaNs and denormals.
fn interesting_f64(rng: &mut Rng) -> u64 {
    const SPECIAL: [u64; 12] = [
        0,                     // +0
        0x8000_0000_0000_0000, // -0
        0x3ff0_0000_0000_0000, // 1
        0xbff8_0000_0000_0000, // -1.5
        0x7ff0_0000_0000_0000, // +inf
        0xfff0_0000_0000_0000, // -inf
        0x7ff8_0000_0000_0000, // quiet NaN
        0x7ff4_0000_0000_0001, // signaling NaN
        0x0000_0000_0000_0001, // smallest denormal
        0x000f_ffff_ffff_ffff, // largest denormal
        0x7fef_ffff_ffff_ffff, // largest finite
        0x43e0_0000_0000_0000, // 2^63: overflows int conversions
    ];
    match rng.below(3) {
        0 => SPECIAL[rng.below(SPECIAL.len() as u64) as usize],
        1 => ((rng.next_u64() as i64 >> 20) as f64 / 1024.0).to_bits(),
        _ => rng.next_u64(),
    }
}

fn interesting_f32(rng: &mut Rng) -> u32 {
    const SPECIAL: [u32; 10] = [
        0,
        0x8000_0000,
        0x3f80_0000,
        0xbfc0_0000,
        0x7f80_0000,
        0xff80_0000,
        0x7fc0_0000,
        0x7fa0_0001,
        0x0000_0001,
        0x4f00_0000,
    ];
    match rng.below(3) {
        0 => SPECIAL[rng.below(SPECIAL.len() as u64) as usize],
        1 => ((rng.next_u64() as i32 >> 12) as f32 / 64.0).to_bits(),
        _ => rng.next_u64() as u32,
    }
}

/// Initial data of a region: random scratch bytes, XMM values mixing
/// doubles, pairs of floats, small integers and raw bits, and MXCSR.
fn region_data(seq: &Sequence) -> Vec<u8> {
    let mut rng = Rng::new(seq.data_seed);
    let mut data = vec![0u8; REGION as usize];
    for chunk in data[..scratch::LEN as usize].chunks_mut(8) {
        chunk.copy_from_slice(&rng.next_u64().to_le_bytes());
    }
    let xmm = &mut data[region::XMM_INIT as usize..region::MXCSR_INIT as usize];
    for lane in xmm.chunks_mut(8) {
        let value = match rng.below(4) {
            0 => interesting_f64(&mut rng),
            1 => u64::from(interesting_f32(&mut rng)) | u64::from(interesting_f32(&mut rng)) << 32,
            2 => rng.next_u64() & 0x00ff_00ff_00ff_00ff,
            _ => rng.next_u64(),
        };
        lane.copy_from_slice(&value.to_le_bytes());
    }
    let mxcsr = MXCSR_DEFAULT | u32::from(seq.rounding & 3) << 13;
    let at = region::MXCSR_INIT as usize;
    data[at..at + 4].copy_from_slice(&mxcsr.to_le_bytes());
    data
}

/// Instructions that load a sequence's start state.
fn prologue(seq: &Sequence, base: u64) -> Result<Vec<Instruction>, IcedError> {
    let flags = (FIXED_FLAGS | seq.flags & RANDOM_FLAGS) as u32;
    let mut out = vec![
        Instruction::with2(Code::Mov_r64_imm64, Register::RSP, base + scratch::STACK)?,
        Instruction::with1(Code::Pushq_imm32, flags as i32)?,
        Instruction::with(Code::Popfq),
        Instruction::with1(Code::Ldmxcsr_m32, rip(base + region::MXCSR_INIT))?,
    ];
    for (k, &xmm) in XMM.iter().enumerate() {
        let at = base + region::XMM_INIT + 16 * k as u64;
        out.push(Instruction::with2(Code::Movdqu_xmm_xmmm128, xmm, rip(at))?);
    }
    for (&reg, &value) in GPR64.iter().zip(&seq.gprs) {
        if reg != Register::RSP {
            out.push(Instruction::with2(Code::Mov_r64_imm64, reg, value)?);
        }
    }
    Ok(out)
}

/// Instructions that store the final state, with the undefined flags
/// cleared. RSP moves to a stack outside every region first, so storing
/// RFLAGS does not touch compared memory.
fn epilogue(base: u64, undefined_flags: u64, stack: u64) -> Result<Vec<Instruction>, IcedError> {
    let mut out = Vec::new();
    for (k, &reg) in GPR64.iter().enumerate() {
        let at = base + region::DUMP_GPRS + 8 * k as u64;
        out.push(Instruction::with2(Code::Mov_rm64_r64, rip(at), reg)?);
    }
    for (k, &xmm) in XMM.iter().enumerate() {
        let at = base + region::DUMP_XMM + 16 * k as u64;
        out.push(Instruction::with2(Code::Movdqu_xmmm128_xmm, rip(at), xmm)?);
    }
    out.extend([
        Instruction::with1(Code::Stmxcsr_m32, rip(base + region::DUMP_MXCSR))?,
        Instruction::with2(
            Code::And_rm32_imm32,
            rip(base + region::DUMP_MXCSR),
            !MXCSR_EXCEPTION_FLAGS,
        )?,
        Instruction::with2(Code::Mov_r64_imm64, Register::RSP, stack)?,
        Instruction::with(Code::Pushfq),
        Instruction::with1(Code::Pop_r64, Register::RAX)?,
        // The mask has bit 31 set, so it survives sign extension.
        Instruction::with2(
            Code::And_rm64_imm32,
            Register::RAX,
            !undefined_flags as u32 as i32,
        )?,
        Instruction::with2(
            Code::Mov_rm64_r64,
            rip(base + region::DUMP_FLAGS),
            Register::RAX,
        )?,
    ]);
    Ok(out)
}

/// `write(1, DATA_BASE, len)` then `exit_group(0)`.
fn finish(len: u64) -> Result<Vec<Instruction>, IcedError> {
    Ok(vec![
        Instruction::with2(Code::Mov_r32_imm32, Register::EAX, 1u32)?,
        Instruction::with2(Code::Mov_r32_imm32, Register::EDI, 1u32)?,
        Instruction::with2(Code::Mov_r32_imm32, Register::ESI, DATA_BASE as u32)?,
        Instruction::with2(Code::Mov_r32_imm32, Register::EDX, len as u32)?,
        Instruction::with(Code::Syscall),
        Instruction::with2(Code::Mov_r32_imm32, Register::EAX, 231u32)?,
        Instruction::with2(Code::Xor_r32_rm32, Register::EDI, Register::EDI)?,
        Instruction::with(Code::Syscall),
    ])
}

fn start_state(seq: &Sequence) -> String {
    let mut out = String::from("    ; start:");
    for (reg, value) in GPR64.iter().zip(&seq.gprs) {
        if *reg != Register::RSP {
            out.push_str(&format!(" {reg:?}={value:#x}").to_lowercase());
        }
    }
    out.push_str(&format!(
        " rflags={:#x} mxcsr.rc={} data_seed={:#x}\n",
        FIXED_FLAGS | seq.flags & RANDOM_FLAGS,
        seq.rounding & 3,
        seq.data_seed
    ));
    out
}

/// Builds the program for `sequences`, to be compared with `oracle`.
pub fn build(sequences: &[Sequence], oracle: Oracle) -> Result<Program, IcedError> {
    let count = sequences.len();
    let len = count as u64 * REGION;
    // A stack page after the last region, outside the written output.
    let stack = DATA_BASE + len + REGION;
    let mut code = Vec::new();
    let mut listings = Vec::new();
    let mut data = Vec::new();
    let mut owners = Vec::new();
    for (i, seq) in sequences.iter().enumerate() {
        let base = region_base(i);
        let generated = generate::generate(&seq.draws, base, oracle);
        code.extend(prologue(seq, base)?);
        owners.resize(code.len(), i);
        code.extend_from_slice(&generated.instructions);
        owners.resize(code.len(), i);
        code.extend(epilogue(base, generated.undefined_flags, stack)?);
        owners.resize(code.len(), i);
        listings.push(format!(
            "{}{}    ; flags left undefined: {:#x}\n",
            start_state(seq),
            generate::listing(&generated.instructions),
            generated.undefined_flags
        ));
        data.extend(region_data(seq));
    }
    code.extend(finish(len)?);
    owners.resize(code.len(), count);
    let block = InstructionBlock::new(&code, CODE_BASE);
    let encoded = BlockEncoder::encode(
        64,
        block,
        BlockEncoderOptions::RETURN_NEW_INSTRUCTION_OFFSETS,
    )?;
    let text = encoded.code_buffer;
    let instructions = encoded
        .new_instruction_offsets
        .iter()
        .zip(&code)
        .zip(owners)
        .map(|((&offset, ins), owner)| (CODE_BASE + u64::from(offset), owner, ins.to_string()))
        .collect();

    // The regions, then two zero pages: the epilogue's stack, which grows
    // down from the end of the first, stays out of the written output.
    Ok(Program {
        elf: test_elf::code_and_data(&text, DATA_BASE, &data, len + 2 * REGION),
        instructions,
        listings,
        sequences: count,
    })
}

/// Names of the final-state fields, for reports.
fn field(offset: u64) -> String {
    use region::*;
    match offset {
        o if o < scratch::LEN => format!("scratch byte {o}"),
        o if o < DUMP_GPRS => format!("initial data byte {o}"),
        o if o < DUMP_FLAGS => {
            format!("{:?}", GPR64[((o - DUMP_GPRS) / 8) as usize]).to_lowercase()
        }
        o if o < DUMP_MXCSR => "rflags (undefined flags masked)".into(),
        o if o < DUMP_XMM => "mxcsr (exception flags masked)".into(),
        o if o < END => format!("xmm{}", (o - DUMP_XMM) / 16),
        o => format!("unused byte {o}"),
    }
}

/// The whole field that contains `offset`, as hex.
fn field_value(region: &[u8], offset: u64) -> String {
    use region::*;
    let (start, len) = match offset {
        o if o < scratch::LEN => (o & !7, 8),
        o if (DUMP_GPRS..DUMP_XMM).contains(&o) => (o & !7, 8),
        o if (DUMP_XMM..END).contains(&o) => (DUMP_XMM + (o - DUMP_XMM) / 16 * 16, 16),
        o => (o, 1),
    };
    let bytes = region
        .get(start as usize..(start + len) as usize)
        .unwrap_or(&[]);
    let hex: String = bytes.iter().rev().map(|b| format!("{b:02x}")).collect();
    format!("0x{hex}")
}

impl Program {
    /// Bytes of stdout a correct run prints.
    pub fn output_len(&self) -> usize {
        self.sequences * REGION as usize
    }

    /// The instruction at `address` and its sequence's listing, for a
    /// fault report.
    pub fn locate(&self, address: u64) -> Option<String> {
        let (_, owner, text) = self.instructions.iter().find(|(at, ..)| *at == address)?;
        let listing = self
            .listings
            .get(*owner)
            .map_or("(the program's exit code)\n", String::as_str);
        Some(format!("sequence {owner}, at `{text}`:\n{listing}"))
    }

    /// The first difference between two runs' stdout, named by sequence
    /// and register or memory field, with that sequence's listing.
    pub fn difference(&self, a_name: &str, a: &[u8], b_name: &str, b: &[u8]) -> Option<String> {
        if a == b {
            return None;
        }
        let Some(at) = a.iter().zip(b).position(|(x, y)| x != y) else {
            return Some(format!(
                "stdout lengths differ: {a_name} {} bytes, {b_name} {} bytes (expected {})",
                a.len(),
                b.len(),
                self.output_len()
            ));
        };
        let index = at / REGION as usize;
        let offset = (at % REGION as usize) as u64;
        let region = |out: &[u8]| {
            let start = index * REGION as usize;
            out.get(start..start + REGION as usize)
                .unwrap_or(&[])
                .to_vec()
        };
        Some(format!(
            "sequence {index}: {} differs: {a_name} {}, {b_name} {}\n{}",
            field(offset),
            field_value(&region(a), offset),
            field_value(&region(b), offset),
            self.listings.get(index).map_or("", String::as_str)
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fields_are_named() {
        assert_eq!(field(3), "scratch byte 3");
        assert_eq!(field(region::DUMP_GPRS + 8 * 9), "r9");
        assert_eq!(field(region::DUMP_FLAGS), "rflags (undefined flags masked)");
        assert_eq!(field(region::DUMP_XMM + 16 * 15 + 3), "xmm15");
    }

    #[test]
    fn builds_a_loadable_program() {
        let seq = Sequence {
            gprs: [7; 16],
            flags: 0xfff,
            rounding: 2,
            data_seed: 1,
            draws: (0..40)
                .map(|i| Draw {
                    form: i * 7919,
                    bits: u64::from(i),
                })
                .collect(),
        };
        let program = build(&[seq.clone(), seq], Oracle::Hardware).unwrap();
        assert!(qvm_common::elf::parse(&program.elf).is_ok());
        assert_eq!(program.output_len(), 2 * REGION as usize);
        let a = vec![0u8; program.output_len()];
        let mut b = a.clone();
        b[REGION as usize + region::DUMP_GPRS as usize + 8 * 3] = 1;
        let diff = program.difference("native", &a, "emu", &b).unwrap();
        assert!(
            diff.starts_with(
                "sequence 1: rbx differs: native 0x0000000000000000, emu 0x0000000000000001"
            ),
            "{diff}"
        );
    }
}
