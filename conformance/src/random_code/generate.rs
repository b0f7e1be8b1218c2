//! Turning random draws into straight-line instructions that any correct
//! x86-64 CPU must execute identically: operands are filled so that every
//! memory access stays inside the sequence's scratch buffer, division
//! cannot fault, and no instruction consumes a flag that an earlier one
//! left undefined. Flags still undefined at the end are reported so the
//! comparison can mask them.

use iced_x86::{
    Code, Encoder, Instruction, IntelFormatter, Mnemonic, OpCodeOperandKind, OpKind, Register,
    RepPrefixKind, RflagsBits,
};

use super::{catalog, ending, Kind};

/// The CPU the backends are compared with. In CI's nested VM the "host
/// CPU" (and KVM inside it) is QEMU's TCG, which shares three of the bugs
/// qvm fixed in its unicorn (third_party/README.md); there the generator
/// steers around them, so a failure still means a qvm bug.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub enum Oracle {
    /// Real hardware (natively, or KVM on a physical host).
    #[default]
    Hardware,
    /// QEMU 7.2's TCG: SHLD/SHRD with an immediate count address a
    /// RIP-relative operand one byte low, CMPXCHG8B/16B can change CF, PF,
    /// AF, SF and OF, and SSE picks between two NaNs by the x87 rule.
    QemuTcg,
}

impl Oracle {
    /// `QVM_HOST_CPU=qemu-tcg` (set by ci/kvm-in-qemu.sh) selects
    /// [`Oracle::QemuTcg`].
    pub fn from_env() -> Self {
        if crate::native::host_cpu_is_qemu_tcg() {
            Oracle::QemuTcg
        } else {
            Oracle::Hardware
        }
    }

    /// Whether this CPU can be the oracle for `kind`. QEMU's TCG does not
    /// implement alignment checking (it keeps RFLAGS.AC but never raises
    /// #AC: qemu-user 7.2 ran every misaligned access of the align-check
    /// kind), nor the x87 status word and MXCSR flags as CPUs set them
    /// (against qemu-user 7.2 every batch of the x87 and mxcsr kinds
    /// differed: no C1 rounding indicator, no DE, MXCSR flags and DAZ),
    /// nor every BMI instruction (QEMU 7.2 still computes BLSI's CF as
    /// QEMU 5.0 did, fixed in qvm's unicorn), nor the alignment of every
    /// SSE form that needs it (PHMINPOSUW and AESENC with a misaligned
    /// operand ran in the nested VM; a CPU raises #GP), so against it those kinds are
    /// not drawn. The emulator variant checks them against the real CPU.
    pub fn judges(self, kind: Kind) -> bool {
        self.cannot_judge(kind).is_none()
    }

    /// Why this CPU cannot be the oracle for `kind`, if it cannot (see
    /// [`Oracle::judges`]). The SHA kinds need a host CPU with SHA: QEMU
    /// 7.2's TCG has none, nor have Intel server cores before Ice Lake.
    pub fn cannot_judge(self, kind: Kind) -> Option<&'static str> {
        match self {
            Oracle::QemuTcg if kind.uses_sha() => Some("QEMU 7.2's TCG has no SHA extensions"),
            Oracle::QemuTcg
                if matches!(
                    kind,
                    Kind::AlignCheck
                        | Kind::SseAlign
                        | Kind::X87
                        | Kind::X87Transcendental
                        | Kind::Mxcsr
                        | Kind::Required
                ) =>
            {
                Some("QEMU's TCG shares bugs the emulator had")
            }
            Oracle::Hardware if kind.uses_sha() && !crate::native::host_cpu_has_sha() => {
                Some("the host CPU has no SHA extensions (CPUID 7.0:EBX[29] clear)")
            }
            _ => None,
        }
    }
}

/// One random instruction: which kind, and the bits its operands come
/// from. Kept as plain numbers so proptest can shrink them.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Draw {
    pub form: u32,
    pub bits: u64,
}

/// Layout of a sequence's scratch buffer, relative to its start.
pub mod scratch {
    /// Bytes a sequence may touch.
    pub const LEN: u64 = 2048;
    /// Where RSP starts: pushes and pops of one sequence stay within a
    /// few hundred bytes of it.
    pub const STACK: u64 = 1024;
    /// Source and destination areas for string instructions (64 bytes of
    /// start offsets, then at most 16 elements of 8 bytes either way).
    pub const STRING_SOURCE: u64 = 256;
    pub const STRING_DEST: u64 = 1792;
    /// 16-byte slots at the start that hold chosen x87 and SSE values
    /// (an 80-bit value, two doubles or four floats each) in the x87 and
    /// MXCSR kinds.
    pub const X87_SLOTS: u64 = 32;
}

/// Instructions longer than this are cut: pushes, pops and RSP-relative
/// operands of a sequence then stay inside the scratch buffer.
pub const MAX_DRAWS: usize = 48;

/// A generated sequence.
#[derive(Clone, Debug)]
pub struct Generated {
    pub instructions: Vec<Instruction>,
    /// RFLAGS bits (architectural positions) that the ISA leaves undefined
    /// after the sequence.
    pub undefined_flags: u64,
    /// What the sequence's outcome is compared with.
    pub expect: Expect,
}

/// What a sequence's outcome is compared with.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Expect {
    /// The host CPU: the final state, or the signal and the faulting
    /// instruction's address.
    Native,
    /// #UD at the last instruction on every backend (SIGILL,
    /// `invalid_opcode`), whatever the host CPU does: VEX encodings, which
    /// the host runs but qvm's profile hides.
    InvalidOpcode,
    /// Not the host (its answer depends on the host kernel: SMSW, SGDT,
    /// SIDT, SLDT, STR under UMIP); the backends only with each other.
    Backends,
    /// Must not fault; values not comparable with the host (RDTSCP reads
    /// the clock); the backends with each other.
    NoFault,
}

/// SplitMix64: a tiny deterministic generator for operand choices.
#[derive(Clone, Debug)]
pub struct Rng(u64);

impl Rng {
    pub fn new(seed: u64) -> Self {
        Rng(seed)
    }

    pub fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }

    /// A number below `n` (`n` > 0).
    pub fn below(&mut self, n: u64) -> u64 {
        self.next_u64() % n.max(1)
    }

    pub(crate) fn pick<T: Copy>(&mut self, items: &[T]) -> T {
        items[self.below(items.len() as u64) as usize]
    }
}

/// General-purpose registers in encoding order, by operand size.
pub const GPR64: [Register; 16] = {
    use Register::*;
    [
        RAX, RCX, RDX, RBX, RSP, RBP, RSI, RDI, R8, R9, R10, R11, R12, R13, R14, R15,
    ]
};
const GPR32: [Register; 16] = {
    use Register::*;
    [
        EAX, ECX, EDX, EBX, ESP, EBP, ESI, EDI, R8D, R9D, R10D, R11D, R12D, R13D, R14D, R15D,
    ]
};
const GPR16: [Register; 16] = {
    use Register::*;
    [
        AX, CX, DX, BX, SP, BP, SI, DI, R8W, R9W, R10W, R11W, R12W, R13W, R14W, R15W,
    ]
};
const GPR8: [Register; 16] = {
    use Register::*;
    [
        AL, CL, DL, BL, SPL, BPL, SIL, DIL, R8L, R9L, R10L, R11L, R12L, R13L, R14L, R15L,
    ]
};
const HIGH8: [Register; 4] = [Register::AH, Register::CH, Register::DH, Register::BH];
/// Index of the stack pointer, which random operands never name.
const RSP_INDEX: usize = 4;
const RAX_INDEX: usize = 0;
const RDX_INDEX: usize = 2;

pub const XMM: [Register; 16] = {
    use Register::*;
    [
        XMM0, XMM1, XMM2, XMM3, XMM4, XMM5, XMM6, XMM7, XMM8, XMM9, XMM10, XMM11, XMM12, XMM13,
        XMM14, XMM15,
    ]
};

fn sized(size: u32) -> &'static [Register; 16] {
    match size {
        1 => &GPR8,
        2 => &GPR16,
        4 => &GPR32,
        _ => &GPR64,
    }
}

/// A general-purpose register of `size` bytes, never the stack pointer
/// nor one of `avoid` (register indexes).
pub(crate) fn gpr(rng: &mut Rng, size: u32, avoid: &[usize]) -> Register {
    if size == 1 && avoid.is_empty() && rng.below(8) == 0 {
        return rng.pick(&HIGH8);
    }
    loop {
        let i = rng.below(16) as usize;
        if i != RSP_INDEX && !avoid.contains(&i) {
            return sized(size)[i];
        }
    }
}

/// Architectural RFLAGS bit positions of iced-x86's flag set.
pub(crate) fn eflags(iced: u32) -> u64 {
    const MAP: [(u32, u64); 8] = [
        (RflagsBits::CF, 1 << 0),
        (RflagsBits::PF, 1 << 2),
        (RflagsBits::AF, 1 << 4),
        (RflagsBits::ZF, 1 << 6),
        (RflagsBits::SF, 1 << 7),
        (RflagsBits::DF, 1 << 10),
        (RflagsBits::OF, 1 << 11),
        (RflagsBits::AC, 1 << 18),
    ];
    MAP.iter()
        .filter(|(bit, _)| iced & bit != 0)
        .fold(0, |acc, (_, flag)| acc | flag)
}

/// Flags to treat as undefined after `ins`: what the ISA says, plus,
/// against QEMU's TCG, the flags its CMPXCHG8B/16B rebuild from stale
/// lazy state (in the nested VM that once even set reserved bit 3).
fn undefined_after(ins: &Instruction, oracle: Oracle) -> u64 {
    let stale = match ins.mnemonic() {
        Mnemonic::Cmpxchg8b | Mnemonic::Cmpxchg16b if oracle == Oracle::QemuTcg => {
            0x1 | 0x4 | 0x8 | 0x10 | 0x20 | 0x80 | 0x800
        }
        _ => 0,
    };
    eflags(ins.rflags_undefined()) | stale
}

/// Where memory operands may point.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Memory {
    pub(crate) scratch: u64,
    pub(crate) oracle: Oracle,
    /// For [`super::Kind::SseAlign`]'s access: SSE operands are memory, this
    /// many bytes past a 16-byte boundary.
    pub(crate) misalign: Option<u64>,
}

impl Memory {
    /// An operand for a general-purpose access: RIP-relative to any byte
    /// of the buffer, or RSP-relative (RSP stays near the buffer's middle).
    fn general(self, rng: &mut Rng, ins: &mut Instruction, n: u32, rsp_only: bool) {
        if rsp_only || rng.below(4) == 0 {
            let disp = rng.below(256) as i64 - 128;
            set_memory(ins, n, Register::RSP, disp as u64, 1);
        } else {
            let target = self.scratch + rng.below(scratch::LEN - 16);
            set_memory(ins, n, Register::RIP, target, 8);
        }
    }

    /// A 16-byte aligned operand, as SSE and CMPXCHG16B require (unless
    /// `misalign` asks for another alignment).
    fn aligned(self, rng: &mut Rng, ins: &mut Instruction, n: u32) {
        let target =
            self.scratch + 16 * rng.below(scratch::LEN / 16 - 1) + self.misalign.unwrap_or(0);
        set_memory(ins, n, Register::RIP, target, 8);
    }

    /// A 64-byte aligned operand of up to 64 bytes (VEX and EVEX forms).
    pub(crate) fn vector(self, rng: &mut Rng, ins: &mut Instruction, n: u32) {
        let target = self.scratch + 64 * rng.below(scratch::LEN / 64 - 1);
        set_memory(ins, n, Register::RIP, target, 8);
    }

    /// An x87 operand: mostly one of the slots that hold chosen values
    /// (`scratch::X87_SLOTS`), sometimes any byte.
    fn x87(self, rng: &mut Rng, ins: &mut Instruction, n: u32) {
        let target = if rng.below(4) == 0 {
            self.scratch + rng.below(scratch::LEN - 16)
        } else {
            self.scratch + 16 * rng.below(scratch::X87_SLOTS)
        };
        set_memory(ins, n, Register::RIP, target, 8);
    }
}

/// An instruction of `code` whose operands are set afterwards.
pub(crate) fn with_code(code: Code) -> Instruction {
    let mut ins = Instruction::default();
    ins.set_code(code);
    ins
}

pub(crate) fn set_memory(
    ins: &mut Instruction,
    n: u32,
    base: Register,
    displacement: u64,
    size: u32,
) {
    ins.set_op_kind(n, OpKind::Memory);
    ins.set_memory_base(base);
    ins.set_memory_index(Register::None);
    ins.set_memory_index_scale(1);
    ins.set_memory_displ_size(size);
    ins.set_memory_displacement64(displacement);
}

pub(crate) fn set_register(ins: &mut Instruction, n: u32, reg: Register) {
    ins.set_op_kind(n, OpKind::Register);
    ins.set_op_register(n, reg);
}

pub(crate) fn set_immediate(ins: &mut Instruction, n: u32, kind: OpKind, value: u64) -> Option<()> {
    ins.set_op_kind(n, kind);
    ins.try_set_immediate_u64(n, value).ok()
}

/// Bytes of a general-purpose operand kind.
fn gpr_size(kind: OpCodeOperandKind) -> Option<u32> {
    use OpCodeOperandKind as K;
    match kind {
        K::r8_or_mem | K::r8_reg | K::r8_opcode => Some(1),
        K::r16_or_mem | K::r16_reg | K::r16_opcode | K::r16_rm => Some(2),
        K::r32_or_mem | K::r32_reg | K::r32_opcode | K::r32_rm => Some(4),
        K::r32_vvvv => Some(4),
        K::r64_or_mem | K::r64_reg | K::r64_opcode | K::r64_rm | K::r64_vvvv => Some(8),
        _ => None,
    }
}

/// Whether `mnemonic` shifts or rotates by a count operand.
fn is_shift(mnemonic: Mnemonic) -> bool {
    use Mnemonic::*;
    matches!(
        mnemonic,
        Shl | Shr | Sar | Rol | Ror | Rcl | Rcr | Shld | Shrd
    )
}

/// A shift count whose masked value is 1..width-1. A masked count of 0
/// leaves the flags alone (which static flag tracking cannot know), and
/// counts of the width or more leave CF, and SHLD/SHRD's result, undefined
/// for 8- and 16-bit operands. The bits the CPU masks off are random.
fn shift_count(rng: &mut Rng, width_bits: u32) -> u64 {
    let count = 1 + rng.below(u64::from(width_bits) - 1);
    let ignored = if width_bits == 64 {
        rng.below(4) << 6
    } else {
        rng.below(8) << 5
    };
    count | ignored
}

/// Immediate bits that legacy SSE defines for the predicate or control of
/// CMPPS, ROUNDPS and PCMPxSTRx; the rest are reserved. PCMPxSTRx's
/// "equal ordered" aggregation (mode 3) is a known difference
/// (docs/known-differences.md): the emulator compares elements past the
/// end of the string. It is replaced by "equal each".
fn sse_immediate(mnemonic: Mnemonic, value: u64) -> u64 {
    use Mnemonic::*;
    match mnemonic {
        Cmpps | Cmppd | Cmpss | Cmpsd => value & 7,
        Roundps | Roundpd | Roundss | Roundsd => value & 0xf,
        Pcmpestri | Pcmpestrm | Pcmpistri | Pcmpistrm if value & 0xc == 0xc => value & 0x7b,
        Pcmpestri | Pcmpestrm | Pcmpistri | Pcmpistrm => value & 0x7f,
        _ => value,
    }
}

/// One instruction of catalog form `code` with random operands, preceded
/// by any setup it needs.
pub(crate) fn form(code: Code, rng: &mut Rng, memory: Memory) -> Option<Vec<Instruction>> {
    use OpCodeOperandKind as K;
    let op = code.op_code();
    let mnemonic = code.mnemonic();
    let count = op.op_count();
    let kinds: Vec<K> = (0..count).map(|i| op.op_kind(i)).collect();
    // BT* with a register bit offset address memory far outside the
    // operand: keep their first operand a register.
    let register_offset = matches!(
        mnemonic,
        Mnemonic::Bt | Mnemonic::Bts | Mnemonic::Btr | Mnemonic::Btc
    ) && kinds.get(1).and_then(|k| gpr_size(*k)).is_some();
    // Known difference (docs/known-differences.md): when CMPXCHG with a
    // 32-bit register destination fails, CPUs leave the register alone
    // but the emulator writes it back zero-extended. Compilers emit
    // CMPXCHG on memory (LOCK CMPXCHG), which agrees, so test that.
    let memory_destination = code == Code::Cmpxchg_rm32_r32;
    let rsp_only = memory.oracle == Oracle::QemuTcg
        && matches!(
            code,
            Code::Shld_rm16_r16_imm8
                | Code::Shld_rm32_r32_imm8
                | Code::Shld_rm64_r64_imm8
                | Code::Shrd_rm16_r16_imm8
                | Code::Shrd_rm32_r32_imm8
                | Code::Shrd_rm64_r64_imm8
        );
    let width_bits = kinds.first().and_then(|k| gpr_size(*k)).unwrap_or(8) * 8;
    let shift = is_shift(mnemonic);

    let mut ins = with_code(code);
    let mut setup = Vec::new();
    for (n, &kind) in (0u32..).zip(&kinds) {
        match kind {
            K::mem => memory.aligned(rng, &mut ins, n),
            K::xmm_or_mem if memory.misalign.is_some() || rng.below(4) == 0 => {
                memory.aligned(rng, &mut ins, n)
            }
            K::xmm_or_mem | K::xmm_reg | K::xmm_rm => set_register(&mut ins, n, rng.pick(&XMM)),
            K::r8_or_mem | K::r16_or_mem | K::r32_or_mem | K::r64_or_mem
                if !(register_offset && n == 0) && (memory_destination || rng.below(4) == 0) =>
            {
                memory.general(rng, &mut ins, n, rsp_only)
            }
            K::al => set_register(&mut ins, n, Register::AL),
            K::ax => set_register(&mut ins, n, Register::AX),
            K::eax => set_register(&mut ins, n, Register::EAX),
            K::rax => set_register(&mut ins, n, Register::RAX),
            K::cl => {
                set_register(&mut ins, n, Register::CL);
                if shift {
                    let count = shift_count(rng, width_bits) as u32;
                    setup.push(Instruction::with2(Code::Mov_r8_imm8, Register::CL, count).ok()?);
                }
            }
            K::imm8_const_1 => set_immediate(&mut ins, n, OpKind::Immediate8, 1)?,
            K::imm8 if shift => set_immediate(
                &mut ins,
                n,
                OpKind::Immediate8,
                shift_count(rng, width_bits),
            )?,
            K::imm8 => {
                let value = sse_immediate(mnemonic, rng.next_u64() & 0xff);
                set_immediate(&mut ins, n, OpKind::Immediate8, value)?
            }
            K::imm8sex16 => {
                set_immediate(&mut ins, n, OpKind::Immediate8to16, rng.next_u64() & 0xff)?
            }
            K::imm8sex32 => {
                set_immediate(&mut ins, n, OpKind::Immediate8to32, rng.next_u64() & 0xff)?
            }
            K::imm8sex64 => {
                set_immediate(&mut ins, n, OpKind::Immediate8to64, rng.next_u64() & 0xff)?
            }
            K::imm16 => set_immediate(&mut ins, n, OpKind::Immediate16, rng.next_u64() & 0xffff)?,
            K::imm32 => set_immediate(
                &mut ins,
                n,
                OpKind::Immediate32,
                rng.next_u64() & 0xffff_ffff,
            )?,
            K::imm32sex64 => {
                let v = rng.next_u64() & 0xffff_ffff;
                set_immediate(&mut ins, n, OpKind::Immediate32to64, v)?
            }
            K::imm64 => set_immediate(&mut ins, n, OpKind::Immediate64, rng.next_u64())?,
            other => set_register(&mut ins, n, gpr(rng, gpr_size(other)?, &[])),
        }
    }
    if matches!(mnemonic, Mnemonic::Bsf | Mnemonic::Bsr) {
        setup.push(nonzero_source(&ins, rng)?);
    }
    if let Some(single) = nan_propagating(mnemonic).filter(|_| memory.oracle == Oracle::QemuTcg) {
        for n in 0..ins.op_count() {
            match ins.op_kind(n) {
                OpKind::Register if ins.op_register(n) == NAN_TEMP => return None,
                OpKind::Register if XMM.contains(&ins.op_register(n)) => {
                    setup.extend(canonical_nans(ins.op_register(n), single)?)
                }
                OpKind::Register => {}
                _ => return None,
            }
        }
    }
    setup.push(ins);
    Some(setup)
}

/// Scratch register of [`canonical_nans`]; binary SSE arithmetic never
/// names it as an operand when that is in use.
const NAN_TEMP: Register = Register::XMM15;

/// Binary SSE arithmetic that propagates a NaN operand, and whether its
/// lanes are single (`false`: double) precision.
fn nan_propagating(mnemonic: Mnemonic) -> Option<bool> {
    use Mnemonic::*;
    match mnemonic {
        Addps | Addss | Subps | Subss | Mulps | Mulss | Divps | Divss | Haddps | Hsubps
        | Addsubps => Some(true),
        Addpd | Addsd | Subpd | Subsd | Mulpd | Mulsd | Divpd | Divsd | Haddpd | Hsubpd
        | Addsubpd | Dppd => Some(false),
        _ => None,
    }
}

/// Instructions that turn every NaN lane of `reg` into all-ones bits.
/// QEMU 7.2's TCG still picks between two NaN operands by the x87 rule
/// (qvm's unicorn no longer does); with equal NaNs both rules agree, so
/// against [`Oracle::QemuTcg`] NaN operands of binary SSE arithmetic are
/// made equal first.
fn canonical_nans(reg: Register, single: bool) -> Option<[Instruction; 3]> {
    const UNORDERED: u32 = 3;
    let (mov, cmp, or) = if single {
        (
            Code::Movaps_xmm_xmmm128,
            Code::Cmpps_xmm_xmmm128_imm8,
            Code::Orps_xmm_xmmm128,
        )
    } else {
        (
            Code::Movapd_xmm_xmmm128,
            Code::Cmppd_xmm_xmmm128_imm8,
            Code::Orpd_xmm_xmmm128,
        )
    };
    Some([
        Instruction::with2(mov, NAN_TEMP, reg).ok()?,
        Instruction::with3(cmp, NAN_TEMP, reg, UNORDERED).ok()?,
        Instruction::with2(or, reg, NAN_TEMP).ok()?,
    ])
}

/// BTS that sets a random bit of BSF's or BSR's source. With a zero
/// source the ISA leaves the destination undefined: AMD keeps all 64
/// bits, the emulator writes back a zero-extended 32-bit register.
fn nonzero_source(ins: &Instruction, rng: &mut Rng) -> Option<Instruction> {
    let (code, bits) = match ins.code() {
        Code::Bsf_r16_rm16 | Code::Bsr_r16_rm16 => (Code::Bts_rm16_imm8, 16),
        Code::Bsf_r32_rm32 | Code::Bsr_r32_rm32 => (Code::Bts_rm32_imm8, 32),
        _ => (Code::Bts_rm64_imm8, 64),
    };
    let mut bts = with_code(code);
    if ins.op1_kind() == OpKind::Register {
        set_register(&mut bts, 0, ins.op1_register());
    } else {
        set_memory(
            &mut bts,
            0,
            ins.memory_base(),
            ins.memory_displacement64(),
            ins.memory_displ_size(),
        );
    }
    set_immediate(&mut bts, 1, OpKind::Immediate8, rng.below(bits))?;
    Some(bts)
}

/// DIV or IDIV of a random size with setup that rules out #DE: a zero
/// high half (DIV) or a sign-extended dividend (IDIV), and a divisor made
/// non-zero (DIV) or of magnitude at least 2 (IDIV).
fn division(rng: &mut Rng) -> Option<Vec<Instruction>> {
    use Code::*;
    let signed = rng.below(2) == 0;
    let size = [1u32, 2, 4, 8][rng.below(4) as usize];
    // The divisor is never the dividend's registers.
    let divisor = gpr(rng, size, &[RAX_INDEX, RDX_INDEX]);
    let (or, and) = match size {
        1 => (Or_rm8_imm8, And_rm8_imm8),
        2 => (Or_rm16_imm8, And_rm16_imm8),
        4 => (Or_rm32_imm8, And_rm32_imm8),
        _ => (Or_rm64_imm8, And_rm64_imm8),
    };
    let mut out = Vec::new();
    if signed {
        out.push(Instruction::with(match size {
            1 => Cbw,
            2 => Cwd,
            4 => Cdq,
            _ => Cqo,
        }));
        out.push(Instruction::with2(or, divisor, 2u32).ok()?);
        out.push(Instruction::with2(and, divisor, -2i32).ok()?);
    } else {
        out.push(if size == 1 {
            // AX = AL, so the quotient fits in AL.
            Instruction::with2(Movzx_r32_rm8, Register::EAX, Register::AL).ok()?
        } else {
            Instruction::with2(Xor_r32_rm32, Register::EDX, Register::EDX).ok()?
        });
        out.push(Instruction::with2(or, divisor, 1u32).ok()?);
    }
    let code = match (signed, size) {
        (false, 1) => Div_rm8,
        (false, 2) => Div_rm16,
        (false, 4) => Div_rm32,
        (false, _) => Div_rm64,
        (true, 1) => Idiv_rm8,
        (true, 2) => Idiv_rm16,
        (true, 4) => Idiv_rm32,
        (true, _) => Idiv_rm64,
    };
    out.push(Instruction::with1(code, divisor).ok()?);
    Some(out)
}

/// A string instruction (MOVS, STOS, LODS, CMPS, SCAS of any element
/// size, with or without a REP prefix) with RSI, RDI and RCX set so it
/// stays inside the scratch buffer in either direction.
pub(crate) fn string(rng: &mut Rng, memory: Memory) -> Option<Vec<Instruction>> {
    let rep = match rng.below(3) {
        0 => RepPrefixKind::None,
        1 => RepPrefixKind::Repe,
        _ => RepPrefixKind::Repne,
    };
    let size = rng.below(4);
    let none = Register::None;
    let ins = match (rng.below(5), size) {
        (0, 0) => Instruction::with_movsb(64, none, rep),
        (0, 1) => Instruction::with_movsw(64, none, rep),
        (0, 2) => Instruction::with_movsd(64, none, rep),
        (0, _) => Instruction::with_movsq(64, none, rep),
        (1, 0) => Instruction::with_stosb(64, rep),
        (1, 1) => Instruction::with_stosw(64, rep),
        (1, 2) => Instruction::with_stosd(64, rep),
        (1, _) => Instruction::with_stosq(64, rep),
        (2, 0) => Instruction::with_lodsb(64, none, rep),
        (2, 1) => Instruction::with_lodsw(64, none, rep),
        (2, 2) => Instruction::with_lodsd(64, none, rep),
        (2, _) => Instruction::with_lodsq(64, none, rep),
        (3, 0) => Instruction::with_cmpsb(64, none, rep),
        (3, 1) => Instruction::with_cmpsw(64, none, rep),
        (3, 2) => Instruction::with_cmpsd(64, none, rep),
        (3, _) => Instruction::with_cmpsq(64, none, rep),
        (_, 0) => Instruction::with_scasb(64, rep),
        (_, 1) => Instruction::with_scasw(64, rep),
        (_, 2) => Instruction::with_scasd(64, rep),
        (_, _) => Instruction::with_scasq(64, rep),
    }
    .ok()?;
    let lea = |reg, offset: u64| {
        let mut lea = with_code(Code::Lea_r64_m);
        set_register(&mut lea, 0, reg);
        set_memory(&mut lea, 1, Register::RIP, memory.scratch + offset, 8);
        lea
    };
    let source = lea(Register::RSI, scratch::STRING_SOURCE + rng.below(64));
    let dest = lea(Register::RDI, scratch::STRING_DEST + rng.below(64));
    // At least one iteration: with RCX = 0 a REP CMPS/SCAS leaves the
    // flags alone, which the static flag tracking cannot know.
    let count = Instruction::with2(Code::Mov_r32_imm32, Register::ECX, 1 + rng.below(16) as u32);
    Some(vec![source, dest, count.ok()?, ins])
}

/// What draw `form` selects: 1 in 16 a division, 1 in 16 a string
/// instruction, otherwise a catalog form.
pub(crate) fn instructions(draw: Draw, memory: Memory) -> Option<Vec<Instruction>> {
    let mut rng = Rng::new(draw.bits);
    match draw.form % 16 {
        0 => division(&mut rng),
        1 => string(&mut rng, memory),
        _ => {
            let forms = catalog::forms();
            let code = forms[(draw.form / 16) as usize % forms.len()];
            form(code, &mut rng, memory)
        }
    }
}

/// `forms[index % len]`, or `None` for an empty catalog.
fn nth(forms: &[Code], index: u32) -> Option<Code> {
    forms.get(index as usize % forms.len().max(1)).copied()
}

/// Half of the draws a form of `forms`, the other half base instructions
/// that feed and consume them. `any_alignment`: a third of the forms'
/// memory operands are at a random offset from a 16-byte boundary.
fn mixed(
    draw: Draw,
    memory: Memory,
    forms: &[Code],
    any_alignment: bool,
) -> Option<Vec<Instruction>> {
    if draw.form % 2 == 1 {
        return instructions(
            Draw {
                form: draw.form / 2,
                ..draw
            },
            memory,
        );
    }
    let code = nth(forms, draw.form / 2)?;
    let mut rng = Rng::new(draw.bits);
    let memory = if any_alignment && rng.below(3) == 0 {
        Memory {
            misalign: Some(rng.below(16)),
            ..memory
        }
    } else {
        memory
    };
    form(code, &mut rng, memory)
}

/// An x87 control word with every exception masked and the given
/// precision (0 single, 2 double, 3 extended) and rounding control.
pub fn x87_control(precision: u64, rounding: u64) -> u16 {
    (0x7f | (precision & 3) << 8 | (rounding & 3) << 10) as u16
}

/// Precision controls worth drawing (1 is reserved).
const PRECISIONS: [u64; 3] = [0, 2, 3];

/// One x87 instruction of catalog form `code`, with any setup it needs.
fn x87(code: Code, rng: &mut Rng, memory: Memory) -> Option<Vec<Instruction>> {
    use OpCodeOperandKind as K;
    let op = code.op_code();
    let mut ins = with_code(code);
    let mut setup = Vec::new();
    for n in 0..op.op_count() {
        match op.op_kind(n) {
            K::st0 => set_register(&mut ins, n, Register::ST0),
            K::sti_opcode => {
                let st = [
                    Register::ST0,
                    Register::ST1,
                    Register::ST2,
                    Register::ST3,
                    Register::ST4,
                    Register::ST5,
                    Register::ST6,
                    Register::ST7,
                ];
                set_register(&mut ins, n, rng.pick(&st))
            }
            K::ax => set_register(&mut ins, n, Register::AX),
            K::mem if code == Code::Fldcw_m2byte => {
                // A control word that keeps every exception masked: an
                // unmasked one would end the run at the next x87
                // instruction (#MF), which is not what this kind compares.
                let target = memory.scratch + 2 * rng.below(scratch::LEN / 2 - 8);
                let word = x87_control(rng.pick(&PRECISIONS), rng.below(4));
                let mut store = with_code(Code::Mov_rm16_imm16);
                set_memory(&mut store, 0, Register::RIP, target, 8);
                set_immediate(&mut store, 1, OpKind::Immediate16, u64::from(word))?;
                setup.push(store);
                set_memory(&mut ins, n, Register::RIP, target, 8);
            }
            K::mem => memory.x87(rng, &mut ins, n),
            _ => return None,
        }
    }
    setup.push(ins);
    Some(setup)
}

fn x87_draw(draw: Draw, memory: Memory, transcendental: bool) -> Option<Vec<Instruction>> {
    let code = nth(catalog::x87_forms(transcendental), draw.form)?;
    x87(code, &mut Rng::new(draw.bits), memory)
}

/// Loads that give an x87 sequence operands: up to six values from the
/// value slots, each as an 80-bit, 64-bit or 32-bit number.
fn x87_loads(rng: &mut Rng, memory: Memory) -> Vec<Instruction> {
    let codes = [Code::Fld_m80fp, Code::Fld_m64fp, Code::Fld_m32fp];
    (0..rng.below(7))
        .map(|_| {
            let mut ins = with_code(rng.pick(&codes));
            let target = memory.scratch + 16 * rng.below(scratch::X87_SLOTS);
            set_memory(&mut ins, 0, Register::RIP, target, 8);
            ins
        })
        .collect()
}

/// Whether every instruction encodes (a high-byte register next to a REX
/// prefix does not, for example).
pub(crate) fn encodable(instructions: &[Instruction]) -> bool {
    let mut encoder = Encoder::new(64);
    instructions
        .iter()
        .all(|ins| encoder.encode(ins, super::program::CODE_BASE).is_ok())
}

/// A group of instructions the generator appends as a whole, or not at
/// all.
pub(crate) struct Group {
    pub(crate) instructions: Vec<Instruction>,
}

impl From<Vec<Instruction>> for Group {
    fn from(instructions: Vec<Instruction>) -> Self {
        Group { instructions }
    }
}

impl Generated {
    /// Appends `group` unless it does not encode or reads a flag left
    /// undefined; tells whether it was appended.
    fn push(&mut self, group: Group, oracle: Oracle) -> bool {
        if !encodable(&group.instructions) {
            return false;
        }
        // QEMU 7.2's TCG rebuilds RFLAGS after CMPXCHG8B/16B from stale
        // lazy state: in the nested VM even reserved and high bits came out
        // set. Against it they are not drawn at all.
        if oracle == Oracle::QemuTcg
            && group
                .instructions
                .iter()
                .any(|i| matches!(i.mnemonic(), Mnemonic::Cmpxchg8b | Mnemonic::Cmpxchg16b))
        {
            return false;
        }
        let mut undefined = self.undefined_flags;
        for ins in &group.instructions {
            if eflags(ins.rflags_read()) & undefined != 0 {
                return false;
            }
            undefined = (undefined & !eflags(ins.rflags_modified())) | undefined_after(ins, oracle);
        }
        self.undefined_flags = undefined;
        self.instructions.extend(group.instructions);
        true
    }
}

/// The sequence of `kind` for `draws` (and `ending`, for the kinds that end
/// in a chosen instruction), with memory operands in the scratch buffer at
/// `scratch_base`; `seed` chooses the x87 operand loads. Draws that cannot
/// be encoded, or that would read a flag left undefined, are skipped: the
/// result is the same for every run, so skipping is deterministic.
pub fn generate(
    kind: Kind,
    draws: &[Draw],
    ending: Draw,
    seed: u64,
    scratch_base: u64,
    oracle: Oracle,
) -> Generated {
    let memory = Memory {
        scratch: scratch_base,
        oracle,
        misalign: None,
    };
    let mut out = Generated {
        instructions: Vec::new(),
        undefined_flags: 0,
        expect: Expect::Native,
    };
    let draws = &draws[..draws.len().min(MAX_DRAWS)];
    // Align-check sets AC after a part of the draws chosen by `ending`;
    // the rest are accesses that fault if misaligned.
    let ac_from = (ending.bits % (draws.len() as u64 + 1)) as usize;
    // x87 sequences start with a few loaded operands; what follows may
    // read empty registers or push onto a full stack (stack faults).
    if matches!(kind, Kind::X87 | Kind::X87Transcendental) {
        let loads = x87_loads(&mut Rng::new(seed ^ 0x87), memory);
        out.push(loads.into(), oracle);
    }
    for (i, &draw) in draws.iter().enumerate() {
        let group = match kind {
            Kind::Required => mixed(draw, memory, catalog::required_forms(), false),
            // SHA's m128 operand need not be aligned.
            Kind::HazardSha => mixed(draw, memory, catalog::sha_forms(), true),
            Kind::Mxcsr => nth(catalog::sse_float_forms(), draw.form)
                .and_then(|code| form(code, &mut Rng::new(draw.bits), memory)),
            Kind::X87 => x87_draw(draw, memory, false),
            Kind::X87Transcendental => x87_draw(draw, memory, true),
            Kind::AlignCheck if i == ac_from => {
                out.push(ending::set_alignment_check(), oracle);
                ending::access(draw, memory)
            }
            Kind::AlignCheck if i > ac_from => ending::access(draw, memory),
            _ => instructions(draw, memory),
        };
        if let Some(group) = group {
            out.push(group.into(), oracle);
        }
    }
    match kind {
        Kind::AlignCheck if ac_from == draws.len() => {
            // AC set last: nothing accesses memory after it, but the
            // epilogue's aligned stores must still pass.
            out.push(ending::set_alignment_check(), oracle);
        }
        Kind::Privileged | Kind::SseAlign | Kind::Vex | Kind::HazardShaAlign => {
            if let Some((group, expect)) = ending::ending(kind, ending, memory) {
                if out.push(group, oracle) {
                    out.expect = expect;
                }
            }
        }
        _ => {}
    }
    out
}

/// Intel-syntax listing, one instruction per line.
pub fn listing(instructions: &[Instruction]) -> String {
    use iced_x86::Formatter;
    let mut formatter = IntelFormatter::new();
    let mut out = String::new();
    for ins in instructions {
        out.push_str("    ");
        formatter.format(ins, &mut out);
        out.push('\n');
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    const NO_ENDING: Draw = Draw { form: 0, bits: 0 };

    fn draws(n: u64) -> Vec<Draw> {
        let mut rng = Rng::new(n);
        (0..MAX_DRAWS)
            .map(|_| Draw {
                form: rng.next_u64() as u32,
                bits: rng.next_u64(),
            })
            .collect()
    }

    #[test]
    fn undefined_flags_are_never_read() {
        let body_kinds: Vec<Kind> = Kind::ALL.into_iter().filter(|k| !k.is_ending()).collect();
        for (seed, kind) in (0..400).zip(body_kinds.iter().cycle()) {
            let g = generate(
                *kind,
                &draws(seed),
                NO_ENDING,
                seed,
                0x60_0000,
                Oracle::Hardware,
            );
            let mut undefined = 0;
            for ins in &g.instructions {
                assert_eq!(eflags(ins.rflags_read()) & undefined, 0, "{ins}");
                undefined =
                    (undefined & !eflags(ins.rflags_modified())) | eflags(ins.rflags_undefined());
            }
            assert_eq!(undefined, g.undefined_flags);
        }
    }

    #[test]
    fn most_draws_become_instructions() {
        let total: usize = (0..100)
            .map(|seed| {
                generate(
                    Kind::Base,
                    &draws(seed),
                    NO_ENDING,
                    seed,
                    0x60_0000,
                    Oracle::Hardware,
                )
                .instructions
                .len()
            })
            .sum();
        assert!(total > 100 * MAX_DRAWS / 2, "{total}");
    }

    #[test]
    fn memory_operands_stay_in_scratch() {
        let base = 0x60_0000;
        for (seed, kind) in (0..900).zip(Kind::ALL.iter().cycle()) {
            let ending = Draw {
                form: seed as u32,
                bits: seed,
            };
            let g = generate(*kind, &draws(seed), ending, seed, base, Oracle::QemuTcg);
            for ins in g.instructions {
                if ins.memory_base() == Register::RIP {
                    let target = ins.memory_displacement64();
                    let end = target + u64::from(ins.memory_size().size() as u32);
                    assert!(
                        base <= target && end <= base + scratch::LEN,
                        "{kind}: {ins}"
                    );
                }
                // Align-check moves RSP by a few bytes on purpose.
                if *kind != Kind::AlignCheck {
                    assert_ne!(ins.op0_register(), Register::RSP, "{ins}");
                }
            }
        }
    }

    #[test]
    fn multiply_leaves_flags_undefined() {
        let mul = Instruction::with1(Code::Mul_rm64, Register::RCX).unwrap();
        assert_eq!(eflags(mul.rflags_undefined()), 0x4 | 0x10 | 0x40 | 0x80);
    }
}
