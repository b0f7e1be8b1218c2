//! A test program for a batch of random sequences, and reading its
//! output back. Each sequence runs from a known state (every GPR, RFLAGS,
//! MXCSR, the x87 control word, every XMM register and a 2 KiB scratch
//! buffer set from the draw), then stores its final state (with the x87
//! state from FXSAVE and FNSTENV) next to the buffer. The program writes
//! every sequence's region but the last to stdout, runs the last sequence,
//! which may end in a faulting instruction, writes its region and exits
//! with status 0.
//!
//! A fault kills the process, natively and under qvm, but first a handler
//! (on an alternate stack) writes a record of the signal, its code, the
//! faulting instruction's address and the data address; then it returns
//! and the instruction faults again, with the default action
//! (SA_RESETHAND), and the call's `fault` says where. Comparing the two
//! ends compares the signal, the fault's kind and its address.

use iced_x86::{
    BlockEncoder, BlockEncoderOptions, Code, IcedError, Instruction, InstructionBlock, Register,
};
use qvm_common::call::{CallSpec, Outcome};
use qvm_common::test_elf;

use crate::native_count::{self, CountError, Limits, NativeCount};

use super::generate::{self, scratch, Draw, Expect, Oracle, Rng, GPR64, XMM};
use super::Kind;

/// Where the code starts (the ELF builder's entry point).
pub const CODE_BASE: u64 = 0x40_1000;
/// Where the first sequence's region starts.
const DATA_BASE: u64 = 0x60_0000;
/// One region per sequence: scratch buffer, initial data, final state.
const REGION: u64 = 0x1000;
/// The alternate signal stack's size: a signal frame with AVX-512 state
/// takes about 3.5 KiB.
const ALT_STACK: u64 = 0x8000;

/// Offsets inside a region.
mod region {
    use super::scratch;
    pub const XMM_INIT: u64 = scratch::LEN;
    /// MXCSR (4 bytes), then the x87 control word (2 bytes).
    pub const MXCSR_INIT: u64 = XMM_INIT + 256;
    pub const FCW_INIT: u64 = MXCSR_INIT + 4;
    pub const DUMP_GPRS: u64 = MXCSR_INIT + 16;
    pub const DUMP_FLAGS: u64 = DUMP_GPRS + 128;
    pub const DUMP_MXCSR: u64 = DUMP_FLAGS + 8;
    pub const DUMP_XMM: u64 = DUMP_MXCSR + 8;
    /// FXSAVE's 512-byte image (16-byte aligned).
    pub const DUMP_FXSAVE: u64 = DUMP_XMM + 256;
    /// FNSTENV's 28-byte image: the full tag word.
    pub const DUMP_FPU_ENV: u64 = DUMP_FXSAVE + 512;
    pub const END: u64 = DUMP_FPU_ENV + 32;
    const _: () = assert!(END <= super::REGION && DUMP_FXSAVE.is_multiple_of(16));
}

/// Offsets in the FXSAVE image.
mod fxsave {
    pub const FSW: u64 = 2;
    pub const FTW: u64 = 4;
    pub const MXCSR: u64 = 24;
    pub const MXCSR_MASK: u64 = 28;
    pub const ST: u64 = 32;
    pub const XMM: u64 = 160;
    pub const END_USED: u64 = 416;
}

/// Offsets in the runtime page after the regions.
mod runtime {
    /// The native fault record: signal, si_code, RIP, si_addr (8 bytes each).
    pub const RECORD: u64 = 0;
    pub const RECORD_LEN: u64 = 32;
    /// struct kernel_sigaction: handler, flags, restorer, mask.
    pub const SIGACTION: u64 = 64;
    /// stack_t: ss_sp, ss_flags, ss_size.
    pub const ALTSTACK: u64 = 128;
}

/// RFLAGS bits a sequence's start state sets at random: the status flags
/// and DF.
const RANDOM_FLAGS: u64 = 0x1 | 0x4 | 0x10 | 0x40 | 0x80 | 0x400 | 0x800;
/// IF and the reserved bit 1, as every user process has them.
const FIXED_FLAGS: u64 = 0x202;
/// MXCSR's sticky exception flags (IE, DE, ZE, OE, UE, PE); masked in the
/// comparison of the kinds that are about something else
/// ([`Kind::masks_mxcsr_flags`]).
const MXCSR_EXCEPTION_FLAGS: u8 = 0x3f;
/// Linux's initial MXCSR: all exceptions masked, round to nearest.
const MXCSR_DEFAULT: u32 = 0x1f80;
/// MXCSR's DAZ and FTZ bits, drawn in [`Kind::Mxcsr`].
const MXCSR_DAZ: u32 = 1 << 6;
const MXCSR_FTZ: u32 = 1 << 15;
/// Linux's initial x87 control word: all exceptions masked, extended
/// precision, round to nearest.
const FCW_DEFAULT: u16 = 0x37f;

/// Signals the native handler records: what CPU faults raise.
const FAULT_SIGNALS: [u32; 4] = [SIGILL, SIGBUS, SIGFPE, SIGSEGV];
const SIGILL: u32 = 4;
const SIGBUS: u32 = 7;
const SIGFPE: u32 = 8;
const SIGSEGV: u32 = 11;

/// One random sequence and its start state.
#[derive(Clone, Debug)]
pub struct Sequence {
    pub kind: Kind,
    /// Initial RAX..R15 in encoding order (RSP's entry is ignored: RSP
    /// points into the scratch buffer).
    pub gprs: [u64; 16],
    /// Initial flags (only the status flags and DF are used).
    pub flags: u64,
    /// MXCSR (and x87) rounding control, 0..=3.
    pub rounding: u8,
    /// Seed of the scratch buffer, XMM contents and the kinds' extra
    /// choices (x87 precision, DAZ/FTZ, x87 operand loads).
    pub data_seed: u64,
    pub draws: Vec<Draw>,
    /// The ending instruction of the kinds that have one.
    pub ending: Draw,
}

/// A built test program.
pub struct Program {
    pub elf: Vec<u8>,
    /// Address, owning sequence and text of every instruction, in order.
    instructions: Vec<(u64, usize, String)>,
    /// Per sequence: its start state and instruction listing, for reports.
    pub listings: Vec<String>,
    /// Per sequence: its kind.
    kinds: Vec<Kind>,
    /// What the last sequence is compared with.
    pub expect: Expect,
    /// The last sequence's last instruction (its ending), if it has any.
    ending_address: Option<u64>,
    /// Mask MXCSR's and the x87 status word's exception flags in every
    /// kind ([`Program::mask_exception_flags`]).
    mask_exception_flags: bool,
}

/// How a run ended, as the comparison sees it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Run {
    pub stdout: Vec<u8>,
    pub end: End,
}

/// A run's end: an exit, or a fault with its signal, qvm's kind name and
/// the instruction's address (the data address for a memory fault).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum End {
    Exit(i32),
    Fault {
        signal: i32,
        kind: String,
        address: u64,
    },
    /// Killed without a fault (qvm's kernel ended the call), or natively
    /// without a record.
    Killed(i32),
}

impl std::fmt::Display for End {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            End::Exit(code) => write!(f, "exit {code}"),
            End::Fault {
                signal,
                kind,
                address,
            } => write!(f, "signal {signal} ({kind} at {address:#x})"),
            End::Killed(signal) => write!(f, "signal {signal} without a fault"),
        }
    }
}

impl Run {
    /// A qvm call's outcome.
    pub fn from_outcome(outcome: &Outcome) -> Run {
        let end = match (outcome.exit_code, outcome.signal, &outcome.fault) {
            (Some(code), ..) => End::Exit(code),
            (None, Some(signal), Some(fault)) => End::Fault {
                signal,
                kind: fault.kind.to_string(),
                address: fault.address,
            },
            (None, signal, None) => End::Killed(signal.unwrap_or(0)),
            (None, None, Some(_)) => End::Killed(0),
        };
        Run {
            stdout: outcome.stdout.clone(),
            end,
        }
    }
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

/// An 80-bit value from a table of x87 cases (zeros, one, infinities,
/// NaNs, denormals, pseudo-denormals, unnormals, the largest finite) or
/// random bits.
fn interesting_f80(rng: &mut Rng) -> [u8; 10] {
    const SPECIAL: [(u16, u64); 12] = [
        (0x0000, 0),                     // +0
        (0x8000, 0),                     // -0
        (0x3fff, 0x8000_0000_0000_0000), // 1
        (0xbffe, 0xc000_0000_0000_0000), // -0.75
        (0x7fff, 0x8000_0000_0000_0000), // +inf
        (0xffff, 0x8000_0000_0000_0000), // -inf
        (0x7fff, 0xc000_0000_0000_0000), // quiet NaN
        (0x7fff, 0xa000_0000_0000_0001), // signaling NaN
        (0x0000, 0x0000_0000_0000_0001), // smallest denormal
        (0x0000, 0x8000_0000_0000_0001), // pseudo-denormal
        (0x4000, 0x4000_0000_0000_0000), // unnormal
        (0x7ffe, 0xffff_ffff_ffff_ffff), // largest finite
    ];
    let (exponent, significand) = match rng.below(3) {
        0 => SPECIAL[rng.below(SPECIAL.len() as u64) as usize],
        // A normal number near 1, so that arithmetic stays finite.
        1 => (
            (0x3ff0 + rng.below(0x20) as u16) | ((rng.below(2) as u16) << 15),
            rng.next_u64() | 1 << 63,
        ),
        _ => (rng.next_u64() as u16, rng.next_u64()),
    };
    let mut out = [0u8; 10];
    out[..8].copy_from_slice(&significand.to_le_bytes());
    out[8..].copy_from_slice(&exponent.to_le_bytes());
    out
}

/// The MXCSR a sequence starts with: Linux's, with the drawn rounding
/// control, and in [`Kind::Mxcsr`] random DAZ and FTZ.
fn initial_mxcsr(seq: &Sequence) -> u32 {
    let mut mxcsr = MXCSR_DEFAULT | u32::from(seq.rounding & 3) << 13;
    if seq.kind == Kind::Mxcsr {
        let mut rng = Rng::new(seq.data_seed ^ 0x1f80);
        mxcsr |= [0, MXCSR_DAZ, MXCSR_FTZ, MXCSR_DAZ | MXCSR_FTZ][rng.below(4) as usize];
    }
    mxcsr
}

/// The x87 control word a sequence starts with: Linux's, and in the x87
/// kinds a random precision and the drawn rounding control.
fn initial_fcw(seq: &Sequence) -> u16 {
    match seq.kind {
        Kind::X87 | Kind::X87Transcendental => {
            let mut rng = Rng::new(seq.data_seed ^ 0x37f);
            let precision = [0, 2, 3, 3][rng.below(4) as usize];
            generate::x87_control(precision, u64::from(seq.rounding))
        }
        _ => FCW_DEFAULT,
    }
}

/// Initial data of a region: random scratch bytes (in the x87 and MXCSR
/// kinds, the first slots hold chosen floating-point values), XMM values
/// mixing doubles, pairs of floats, small integers and raw bits, MXCSR and
/// the x87 control word.
fn region_data(seq: &Sequence) -> Vec<u8> {
    let mut rng = Rng::new(seq.data_seed);
    let mut data = vec![0u8; REGION as usize];
    for chunk in data[..scratch::LEN as usize].chunks_mut(8) {
        chunk.copy_from_slice(&rng.next_u64().to_le_bytes());
    }
    if matches!(seq.kind, Kind::X87 | Kind::X87Transcendental | Kind::Mxcsr) {
        let slots = &mut data[..16 * scratch::X87_SLOTS as usize];
        for slot in slots.chunks_mut(16) {
            match rng.below(3) {
                0 => slot[..10].copy_from_slice(&interesting_f80(&mut rng)),
                1 => {
                    for half in slot.chunks_mut(8) {
                        half.copy_from_slice(&interesting_f64(&mut rng).to_le_bytes());
                    }
                }
                _ => {
                    for quarter in slot.chunks_mut(4) {
                        quarter.copy_from_slice(&interesting_f32(&mut rng).to_le_bytes());
                    }
                }
            }
        }
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
    let at = region::MXCSR_INIT as usize;
    data[at..at + 4].copy_from_slice(&initial_mxcsr(seq).to_le_bytes());
    let at = region::FCW_INIT as usize;
    data[at..at + 2].copy_from_slice(&initial_fcw(seq).to_le_bytes());
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
        Instruction::with(Code::Fninit),
        Instruction::with1(Code::Fldcw_m2byte, rip(base + region::FCW_INIT))?,
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
/// RFLAGS does not touch compared memory. Every store is aligned: the
/// alignment-check kind runs this with RFLAGS.AC set.
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
        Instruction::with1(Code::Fxsave_m512byte, rip(base + region::DUMP_FXSAVE))?,
        // After FXSAVE: FNSTENV masks every x87 exception once it has stored.
        Instruction::with1(Code::Fnstenv_m28byte, rip(base + region::DUMP_FPU_ENV))?,
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

/// `write(1, from, len)`.
fn write(from: u64, len: u64) -> Result<Vec<Instruction>, IcedError> {
    Ok(vec![
        Instruction::with2(Code::Mov_r32_imm32, Register::EAX, 1u32)?,
        Instruction::with2(Code::Mov_r32_imm32, Register::EDI, 1u32)?,
        Instruction::with2(Code::Mov_r32_imm32, Register::ESI, from as u32)?,
        Instruction::with2(Code::Mov_r32_imm32, Register::EDX, len as u32)?,
        Instruction::with(Code::Syscall),
    ])
}

/// `exit_group(0)`.
fn exit() -> Result<Vec<Instruction>, IcedError> {
    Ok(vec![
        Instruction::with2(Code::Mov_r32_imm32, Register::EAX, 231u32)?,
        Instruction::with2(Code::Xor_r32_rm32, Register::EDI, Register::EDI)?,
        Instruction::with(Code::Syscall),
    ])
}

/// `sigaltstack` to the alternate stack, then `rt_sigaction` of each
/// fault signal to the handler. qvm records both and never runs the
/// handler.
fn install_handler(runtime_page: u64) -> Result<Vec<Instruction>, IcedError> {
    let mut out = vec![
        Instruction::with2(Code::Mov_r32_imm32, Register::EAX, 131u32)?,
        Instruction::with2(
            Code::Lea_r64_m,
            Register::RDI,
            rip(runtime_page + runtime::ALTSTACK),
        )?,
        Instruction::with2(Code::Xor_r32_rm32, Register::ESI, Register::ESI)?,
        Instruction::with(Code::Syscall),
    ];
    for signal in FAULT_SIGNALS {
        out.extend([
            Instruction::with2(Code::Mov_r32_imm32, Register::EAX, 13u32)?,
            Instruction::with2(Code::Mov_r32_imm32, Register::EDI, signal)?,
            Instruction::with2(
                Code::Lea_r64_m,
                Register::RSI,
                rip(runtime_page + runtime::SIGACTION),
            )?,
            Instruction::with2(Code::Xor_r32_rm32, Register::EDX, Register::EDX)?,
            Instruction::with2(Code::Mov_r32_imm32, Register::R10D, 8u32)?,
            Instruction::with(Code::Syscall),
        ]);
    }
    Ok(out)
}

/// The handler (RDI signal, RSI siginfo, RDX ucontext): write the record
/// (si_signo, si_code, the ucontext's RIP, si_addr), return through the
/// restorer; the instruction faults again, now with the default action.
fn handler(runtime_page: u64) -> Result<(Vec<Instruction>, Vec<Instruction>), IcedError> {
    use iced_x86::MemoryOperand;
    let record = runtime_page + runtime::RECORD;
    /// Offset of RIP in a ucontext (uc_mcontext.gregs[REG_RIP]).
    const UC_RIP: i64 = 168;
    let handler = vec![
        Instruction::with2(
            Code::Mov_r32_rm32,
            Register::EAX,
            MemoryOperand::with_base(Register::RSI),
        )?,
        Instruction::with2(Code::Mov_rm64_r64, rip(record), Register::RAX)?,
        Instruction::with2(
            Code::Movsxd_r64_rm32,
            Register::RAX,
            MemoryOperand::with_base_displ(Register::RSI, 8),
        )?,
        Instruction::with2(Code::Mov_rm64_r64, rip(record + 8), Register::RAX)?,
        Instruction::with2(
            Code::Mov_r64_rm64,
            Register::RAX,
            MemoryOperand::with_base_displ(Register::RDX, UC_RIP),
        )?,
        Instruction::with2(Code::Mov_rm64_r64, rip(record + 16), Register::RAX)?,
        Instruction::with2(
            Code::Mov_r64_rm64,
            Register::RAX,
            MemoryOperand::with_base_displ(Register::RSI, 16),
        )?,
        Instruction::with2(Code::Mov_rm64_r64, rip(record + 24), Register::RAX)?,
    ]
    .into_iter()
    .chain(write(record, runtime::RECORD_LEN)?)
    .chain([Instruction::with(Code::Retnq)])
    .collect();
    let restorer = vec![
        Instruction::with2(Code::Mov_r32_imm32, Register::EAX, 15u32)?,
        Instruction::with(Code::Syscall),
    ];
    Ok((handler, restorer))
}

/// The runtime page: the sigaction (handler and restorer addresses filled
/// in once the code is encoded) and the alternate stack's stack_t.
fn runtime_data(handler: u64, restorer: u64, alt_stack: u64) -> Vec<u8> {
    const SA_SIGINFO: u64 = 4;
    const SA_ONSTACK: u64 = 0x0800_0000;
    const SA_RESTORER: u64 = 0x0400_0000;
    const SA_RESETHAND: u64 = 0x8000_0000;
    let mut page = vec![0u8; REGION as usize];
    let mut put = |at: u64, value: u64| {
        page[at as usize..at as usize + 8].copy_from_slice(&value.to_le_bytes());
    };
    put(runtime::SIGACTION, handler);
    put(
        runtime::SIGACTION + 8,
        SA_SIGINFO | SA_ONSTACK | SA_RESTORER | SA_RESETHAND,
    );
    put(runtime::SIGACTION + 16, restorer);
    put(runtime::ALTSTACK, alt_stack);
    put(runtime::ALTSTACK + 16, ALT_STACK);
    page
}

fn start_state(seq: &Sequence) -> String {
    let mut out = format!("    ; {} sequence; start:", seq.kind);
    for (reg, value) in GPR64.iter().zip(&seq.gprs) {
        if *reg != Register::RSP {
            out.push_str(&format!(" {reg:?}={value:#x}").to_lowercase());
        }
    }
    out.push_str(&format!(
        " rflags={:#x} mxcsr={:#x} fcw={:#x} data_seed={:#x}\n",
        FIXED_FLAGS | seq.flags & RANDOM_FLAGS,
        initial_mxcsr(seq),
        initial_fcw(seq),
        seq.data_seed
    ));
    out
}

/// Builds the program for `sequences`, to be compared with `oracle`. Only
/// the last sequence may fault: put a sequence of an ending kind
/// ([`Kind::is_ending`]) last.
pub fn build(sequences: &[Sequence], oracle: Oracle) -> Result<Program, IcedError> {
    let count = sequences.len();
    let len = count as u64 * REGION;
    let prefix = count.saturating_sub(1) as u64 * REGION;
    // After the regions: the runtime page, the alternate signal stack, and
    // a page for the epilogue's stack, which grows down from its end.
    let runtime_page = DATA_BASE + len;
    let alt_stack = runtime_page + REGION;
    let stack = alt_stack + ALT_STACK + REGION;
    let mut code = install_handler(runtime_page)?;
    let mut owners = vec![count; code.len()];
    let mut listings = Vec::new();
    let mut data = Vec::new();
    let mut expect = Expect::Native;
    let mut ending_index = None;
    for (i, seq) in sequences.iter().enumerate() {
        let base = region_base(i);
        let generated = generate::generate(
            seq.kind,
            &seq.draws,
            seq.ending,
            seq.data_seed,
            base,
            oracle,
        );
        if i + 1 == count {
            if prefix > 0 {
                code.extend(write(DATA_BASE, prefix)?);
                owners.resize(code.len(), count);
            }
            expect = generated.expect;
            if !generated.instructions.is_empty() {
                ending_index = Some(
                    code.len() + prologue(seq, base)?.len() + generated.instructions.len() - 1,
                );
            }
        }
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
    code.extend(write(DATA_BASE + prefix, len - prefix)?);
    code.extend(exit()?);
    let (handler, restorer) = handler(runtime_page)?;
    let handler_index = code.len();
    code.extend(handler);
    let restorer_index = code.len();
    code.extend(restorer);
    owners.resize(code.len(), count);
    let block = InstructionBlock::new(&code, CODE_BASE);
    let encoded = BlockEncoder::encode(
        64,
        block,
        BlockEncoderOptions::RETURN_NEW_INSTRUCTION_OFFSETS,
    )?;
    let text = encoded.code_buffer;
    let offsets = encoded.new_instruction_offsets;
    let address = |index: usize| CODE_BASE + u64::from(offsets[index]);
    data.extend(runtime_data(
        address(handler_index),
        address(restorer_index),
        alt_stack,
    ));
    let instructions = offsets
        .iter()
        .zip(&code)
        .zip(owners)
        .map(|((&offset, ins), owner)| (CODE_BASE + u64::from(offset), owner, ins.to_string()))
        .collect();
    Ok(Program {
        elf: test_elf::code_and_data(&text, DATA_BASE, &data, len + REGION + ALT_STACK + REGION),
        instructions,
        listings,
        kinds: sequences.iter().map(|s| s.kind).collect(),
        expect,
        ending_address: ending_index.map(address),
        mask_exception_flags: false,
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
        o if o < DUMP_XMM => "mxcsr".into(),
        o if o < DUMP_FXSAVE => format!("xmm{}", (o - DUMP_XMM) / 16),
        o if o < DUMP_FPU_ENV => match o - DUMP_FXSAVE {
            f if f < fxsave::FSW => "x87 control word".into(),
            f if f < fxsave::FTW => "x87 status word".into(),
            f if f < fxsave::MXCSR => "x87 tag word (FXSAVE's)".into(),
            f if f < fxsave::MXCSR_MASK => "mxcsr (FXSAVE's)".into(),
            f if f < fxsave::ST => "mxcsr_mask".into(),
            f if f < fxsave::XMM => format!("st({})", (f - fxsave::ST) / 16),
            f => format!("FXSAVE byte {f}"),
        },
        o if o < END => match o - DUMP_FPU_ENV {
            f if f < 4 => "x87 control word (FNSTENV's)".into(),
            f if f < 8 => "x87 status word (FNSTENV's)".into(),
            _ => "x87 tag word".into(),
        },
        o => format!("unused byte {o}"),
    }
}

/// The whole field that contains `offset`, as hex.
fn field_value(region: &[u8], offset: u64) -> String {
    use region::*;
    let (start, len) = match offset {
        o if o < scratch::LEN => (o & !7, 8),
        o if (DUMP_GPRS..DUMP_XMM).contains(&o) => (o & !7, 8),
        o if (DUMP_XMM..DUMP_FXSAVE).contains(&o) => (DUMP_XMM + (o - DUMP_XMM) / 16 * 16, 16),
        o if (DUMP_FXSAVE + fxsave::ST..DUMP_FXSAVE + fxsave::XMM).contains(&o) => (o & !15, 10),
        o if (DUMP_FXSAVE + fxsave::MXCSR..DUMP_FXSAVE + fxsave::ST).contains(&o) => (o & !3, 4),
        o if (DUMP_FXSAVE..DUMP_FXSAVE + fxsave::ST).contains(&o) => (o & !1, 2),
        o if (DUMP_FPU_ENV..END).contains(&o) => (o & !3, 2),
        o => (o, 1),
    };
    let bytes = region
        .get(start as usize..(start + len) as usize)
        .unwrap_or(&[]);
    let hex: String = bytes.iter().rev().map(|b| format!("{b:02x}")).collect();
    format!("0x{hex}")
}

/// Clears what a region's comparison leaves out: the x87 state's
/// instruction and data pointers and opcode (vendors differ: AMD saves
/// them only while an exception is pending; Intel deprecates the
/// selectors), reserved bytes, FXSAVE's MXCSR_MASK (the host's on KVM:
/// 0x2ffff on AMD, which has misaligned-SSE mode, 0xffff on Intel; 0 on
/// the emulator: a hazard, docs/known-differences.md), and for kinds that
/// mask them MXCSR's exception flags.
fn normalize(region: &mut [u8], kind: Kind, mask_exception_flags: bool) {
    use region::*;
    let fx = DUMP_FXSAVE;
    let mut clear = vec![(fx + fxsave::FTW + 1, fx + fxsave::MXCSR)];
    clear.extend((0..8).map(|i| (fx + fxsave::ST + 16 * i + 10, fx + fxsave::ST + 16 * i + 16)));
    clear.extend([
        (fx + fxsave::MXCSR_MASK, fx + fxsave::ST),
        (fx + fxsave::END_USED, fx + 512),
        (DUMP_FPU_ENV + 2, DUMP_FPU_ENV + 4),
        (DUMP_FPU_ENV + 6, DUMP_FPU_ENV + 8),
        (DUMP_FPU_ENV + 10, END),
    ]);
    for (from, to) in clear {
        if let Some(bytes) = region.get_mut(from as usize..to as usize) {
            bytes.fill(0);
        }
    }
    let mut and = |at: u64, mask: u8| {
        if let Some(byte) = region.get_mut(at as usize) {
            *byte &= mask;
        }
    };
    if kind.masks_mxcsr_flags() || mask_exception_flags {
        and(DUMP_MXCSR, !MXCSR_EXCEPTION_FLAGS);
        and(fx + fxsave::MXCSR, !MXCSR_EXCEPTION_FLAGS);
    }
    if mask_exception_flags {
        // IE, DE, ZE, OE, UE, PE, SF, ES, and B, which mirrors ES.
        for at in [fx + fxsave::FSW, DUMP_FPU_ENV + 4] {
            and(at, 0);
            and(at + 1, 0x7f);
        }
    }
}

/// The fault kind (qvm's names) that Linux's signal and si_code stand for,
/// and whether its address is the data address.
fn native_kind(signal: u32, code: i64) -> (&'static str, bool) {
    /// si_code of a fault the kernel raised for a #GP (SI_KERNEL).
    const SI_KERNEL: i64 = 0x80;
    const FPE_INTDIV: i64 = 1;
    match signal {
        SIGILL => ("invalid_opcode", false),
        SIGBUS => ("alignment", false),
        SIGFPE if code == FPE_INTDIV => ("divide_error", false),
        SIGFPE => ("floating_point", false),
        SIGSEGV if code == SI_KERNEL => ("general_protection", false),
        _ => ("memory", true),
    }
}

impl Program {
    /// The call the random-instruction test makes of this program.
    pub fn spec(&self) -> CallSpec {
        let mut spec = CallSpec::new(self.elf.clone(), "random-code");
        spec.memory_limit = 16 << 20;
        spec.call.trace = true;
        spec
    }

    /// Counts the program's instructions on this host's CPU (the
    /// instruction oracle, [`native_count`]), from an executable written
    /// at `path`. [`native_count::compare`] checks a metered qvm outcome
    /// of [`Program::spec`] against it, up to the last sequence's fault.
    pub fn count_natively(
        &self,
        path: &std::path::Path,
        limits: Limits,
    ) -> Result<NativeCount, CountError> {
        use std::os::unix::fs::PermissionsExt;
        let io = |source| CountError::Io {
            what: "writing the random program",
            source,
        };
        std::fs::write(path, &self.elf).map_err(io)?;
        std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o755)).map_err(io)?;
        // Another test thread's fork can hold the freshly written file
        // open for a moment: execve fails (ETXTBSY) and the child exits
        // with 127 before its first instruction. Try again.
        for _ in 0..50 {
            match native_count::count(path, &self.spec(), limits) {
                Err(CountError::Exec(127)) => {
                    std::thread::sleep(std::time::Duration::from_millis(20))
                }
                other => return other,
            }
        }
        native_count::count(path, &self.spec(), limits)
    }

    /// Bytes of stdout a run that does not fault prints.
    pub fn output_len(&self) -> usize {
        self.kinds.len() * REGION as usize
    }

    /// Bytes of stdout printed before the last sequence runs.
    fn prefix_len(&self) -> usize {
        self.kinds.len().saturating_sub(1) * REGION as usize
    }

    /// Leaves the exception flags of MXCSR and the x87 status word out of
    /// every comparison: a way to look at other differences of the x87
    /// and MXCSR kinds while the emulator does not set them.
    pub fn mask_exception_flags(&mut self, mask: bool) {
        self.mask_exception_flags = mask;
    }

    /// The last sequence's kind.
    pub fn last_kind(&self) -> Option<Kind> {
        self.kinds.last().copied()
    }

    /// Reads a native run: its stdout and status (128 + signal when
    /// killed), with the handler's record when it faulted.
    pub fn native_run(&self, status: i32, stdout: &[u8]) -> Result<Run, String> {
        let prefix = self.prefix_len();
        if status == 0 && stdout.len() == self.output_len() {
            return Ok(Run {
                stdout: stdout.to_vec(),
                end: End::Exit(0),
            });
        }
        let record = stdout
            .get(prefix..)
            .filter(|r| r.len() == runtime::RECORD_LEN as usize && status > 128);
        let Some(record) = record else {
            return Err(format!(
                "the host CPU did not run the batch as planned (a generator bug): status {status}, {} bytes of stdout, {} expected\n{}",
                stdout.len(),
                self.output_len(),
                self.locate_stdout_end(stdout.len())
            ));
        };
        let word = |i: usize| {
            let mut bytes = [0u8; 8];
            bytes.copy_from_slice(&record[8 * i..8 * i + 8]);
            u64::from_le_bytes(bytes)
        };
        let (signal, code, rip, addr) = (word(0) as u32, word(1) as i64, word(2), word(3));
        let (kind, data_address) = native_kind(signal, code);
        Ok(Run {
            stdout: stdout[..prefix].to_vec(),
            end: End::Fault {
                signal: signal as i32,
                kind: kind.into(),
                address: if data_address { addr } else { rip },
            },
        })
    }

    /// Which sequence a short stdout stopped in.
    fn locate_stdout_end(&self, len: usize) -> String {
        let index = len / REGION as usize;
        self.listings
            .get(index)
            .map(|l| format!("sequence {index}:\n{l}"))
            .unwrap_or_default()
    }

    /// The instruction at `address` and its sequence's listing, for a
    /// fault report.
    pub fn locate(&self, address: u64) -> Option<String> {
        let (_, owner, text) = self.instructions.iter().find(|(at, ..)| *at == address)?;
        let listing = self
            .listings
            .get(*owner)
            .map_or("(the program's set-up or exit code)\n", String::as_str);
        Some(format!("sequence {owner}, at `{text}`:\n{listing}"))
    }

    /// Where a run's end happened, for reports.
    fn describe(&self, end: &End) -> String {
        match end {
            End::Fault { address, kind, .. } if kind != "memory" => {
                self.locate(*address).unwrap_or_default()
            }
            _ => String::new(),
        }
    }

    /// `out` with every region normalized for its sequence's kind.
    fn normalized(&self, out: &[u8]) -> Vec<u8> {
        let mut out = out.to_vec();
        for (chunk, kind) in out.chunks_mut(REGION as usize).zip(&self.kinds) {
            normalize(chunk, *kind, self.mask_exception_flags);
        }
        out
    }

    /// The first difference between two runs' regions, named by sequence
    /// and register or memory field, with that sequence's listing.
    pub fn difference(&self, a_name: &str, a: &[u8], b_name: &str, b: &[u8]) -> Option<String> {
        let (a, b) = (self.normalized(a), self.normalized(b));
        if a == b {
            return None;
        }
        let Some(at) = a.iter().zip(&b).position(|(x, y)| x != y) else {
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
            "sequence {index} ({}): {} differs: {a_name} {}, {b_name} {}\n{}",
            self.kinds.get(index).map_or("?", |k| k.name()),
            field(offset),
            field_value(&region(&a), offset),
            field_value(&region(&b), offset),
            self.listings.get(index).map_or("", String::as_str)
        ))
    }

    /// Compares a backend's run with the native one, as the last
    /// sequence's [`Expect`] says.
    pub fn compare_with_native(&self, native: &Run, name: &str, run: &Run) -> Option<String> {
        let prefix = self.prefix_len();
        let head = |out: &[u8]| out.get(..prefix.min(out.len())).unwrap_or(&[]).to_vec();
        if run.stdout.len() < prefix {
            return Some(format!(
                "{name} stopped before the last sequence: {}\n{}",
                run.end,
                self.describe(&run.end)
            ));
        }
        if let Some(diff) =
            self.difference("native", &head(&native.stdout), name, &head(&run.stdout))
        {
            return Some(format!("{diff}({name} ended: {})", run.end));
        }
        let last = self.kinds.len().saturating_sub(1);
        let listing = self.listings.get(last).map_or("", String::as_str);
        match self.expect {
            Expect::Native => match (&native.end, &run.end) {
                (End::Exit(0), End::Exit(0)) => {
                    self.difference("native", &native.stdout, name, &run.stdout)
                }
                (n, r) if n == r => None,
                (n, r) => {
                    let (at_n, at_r) = (self.describe(n), self.describe(r));
                    let place = match (at_n.is_empty(), at_r.is_empty()) {
                        (true, true) => listing.to_string(),
                        (false, false) if at_n != at_r => {
                            format!("native: {at_n}{name}: {at_r}")
                        }
                        (false, _) => at_n,
                        (true, false) => at_r,
                    };
                    Some(format!(
                        "sequence {last} ({}) ends differently: native {n}, {name} {r}\n{place}",
                        self.kinds[last]
                    ))
                }
            },
            Expect::InvalidOpcode => {
                let expected = End::Fault {
                    signal: SIGILL as i32,
                    kind: "invalid_opcode".into(),
                    address: self.ending_address.unwrap_or(0),
                };
                let ending = self.ending_address.and_then(|a| self.locate(a));
                (run.end != expected).then(|| {
                    format!(
                        "sequence {last} ({}) must end in #UD: expected {expected}, {name} {}\n{}",
                        self.kinds[last],
                        run.end,
                        ending.as_deref().unwrap_or(listing)
                    )
                })
            }
            Expect::NoFault => (run.end != End::Exit(0)).then(|| {
                let ending = self.ending_address.and_then(|a| self.locate(a));
                format!(
                    "sequence {last} ({}) must not fault: {name} {}\n{}",
                    self.kinds[last],
                    run.end,
                    ending.as_deref().unwrap_or(listing)
                )
            }),
            Expect::Backends => None,
        }
    }

    /// Compares two backends' runs: everything must agree.
    pub fn compare_backends(&self, a_name: &str, a: &Run, b_name: &str, b: &Run) -> Option<String> {
        if a.end != b.end {
            return Some(format!(
                "the backends end differently: {a_name} {}, {b_name} {}\n{}",
                a.end,
                b.end,
                self.describe(&a.end)
            ));
        }
        self.difference(a_name, &a.stdout, b_name, &b.stdout)
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
        assert_eq!(field(region::DUMP_FXSAVE + 2), "x87 status word");
        assert_eq!(field(region::DUMP_FXSAVE + 32 + 16 * 7 + 9), "st(7)");
        assert_eq!(field(region::DUMP_FPU_ENV + 8), "x87 tag word");
    }

    #[test]
    fn normalizing_masks_only_what_it_should() {
        let mut region = vec![0xffu8; REGION as usize];
        normalize(&mut region, Kind::Base, false);
        assert_eq!(region[region::DUMP_MXCSR as usize], 0xc0);
        assert_eq!(region[(region::DUMP_FXSAVE + 6) as usize], 0);
        assert_eq!(region[(region::DUMP_FXSAVE + 32 + 9) as usize], 0xff);
        assert_eq!(region[(region::DUMP_FXSAVE + 32 + 10) as usize], 0);
        let mut region = vec![0xffu8; REGION as usize];
        normalize(&mut region, Kind::X87, false);
        assert_eq!(region[region::DUMP_MXCSR as usize], 0xff);
        assert_eq!(region[(region::DUMP_FXSAVE + 2) as usize], 0xff);
        let mut region = vec![0xffu8; REGION as usize];
        normalize(&mut region, Kind::X87, true);
        assert_eq!(region[region::DUMP_MXCSR as usize], 0xc0);
        assert_eq!(region[(region::DUMP_FXSAVE + 2) as usize], 0);
        assert_eq!(region[(region::DUMP_FXSAVE + 3) as usize], 0x7f);
    }

    #[test]
    fn native_faults_are_read_from_the_record() {
        let seq = Sequence {
            kind: Kind::Privileged,
            gprs: [0; 16],
            flags: 0,
            rounding: 0,
            data_seed: 0,
            draws: Vec::new(),
            ending: Draw { form: 0, bits: 0 },
        };
        let program = build(&[seq.clone(), seq], Oracle::Hardware).unwrap();
        let mut stdout = vec![0u8; REGION as usize];
        for word in [11u64, 0x80, 0x40_1234, 0] {
            stdout.extend(word.to_le_bytes());
        }
        let run = program.native_run(128 + 11, &stdout).unwrap();
        assert_eq!(
            run.end,
            End::Fault {
                signal: 11,
                kind: "general_protection".into(),
                address: 0x40_1234
            }
        );
        assert_eq!(run.stdout.len(), REGION as usize);
        assert!(program.native_run(139, &stdout[..100]).is_err());
    }

    #[test]
    fn builds_a_loadable_program() {
        let seq = Sequence {
            kind: Kind::Base,
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
            ending: Draw { form: 0, bits: 0 },
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
                "sequence 1 (base): rbx differs: native 0x0000000000000000, emu 0x0000000000000001"
            ),
            "{diff}"
        );
    }

    /// The native count of a batch grows by the same amount with each
    /// more copy of one sequence (a sequence's instructions and the
    /// harness around it are the same every time), and a faulting ending
    /// ends qvm's view of the run at its fault.
    #[test]
    fn native_counts_add_up_per_sequence() {
        let seq = Sequence {
            kind: Kind::Base,
            gprs: [3; 16],
            flags: 0x8d5,
            rounding: 1,
            data_seed: 9,
            draws: (0..30)
                .map(|i| Draw {
                    form: i * 104_729,
                    bits: u64::from(i) * 0x9e37,
                })
                .collect(),
            ending: Draw { form: 0, bits: 0 },
        };
        let dir = std::env::temp_dir().join(format!("qvm-random-count-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let count = |copies: usize, last: Option<&Sequence>| {
            let mut batch = vec![seq.clone(); copies];
            batch.extend(last.cloned());
            let program = build(&batch, Oracle::Hardware).unwrap();
            let path = dir.join(format!("batch-{copies}-{}", last.is_some()));
            program.count_natively(&path, Limits::default()).unwrap()
        };
        let (two, three, four) = (count(2, None), count(3, None), count(4, None));
        let per_sequence = three.instructions - two.instructions;
        assert!(per_sequence > 30, "{per_sequence}");
        assert_eq!(four.instructions - three.instructions, per_sequence);
        assert_eq!(
            four.syscalls.len() - three.syscalls.len(),
            three.syscalls.len() - two.syscalls.len()
        );
        assert!(two.signals.is_empty());
        // A privileged ending faults: the native handler runs on, qvm's
        // view stops at the fault.
        let privileged = Sequence {
            kind: Kind::Privileged,
            draws: Vec::new(),
            ..seq.clone()
        };
        let faulting = count(2, Some(&privileged));
        // The fault, then the same fault again after the handler returned
        // (SA_RESETHAND): that one kills.
        let signals: Vec<i32> = faulting.signals.iter().map(|s| s.signal).collect();
        assert_eq!(signals, [11, 11], "{:?}", faulting.signals);
        assert_eq!(faulting.end, native_count::End::Signaled(11));
        let (calls, total) = faulting.until_first_signal();
        assert_eq!(total, faulting.signals[0].instructions);
        assert!(total < faulting.instructions);
        assert!(calls.len() < faulting.syscalls.len());
    }
}
