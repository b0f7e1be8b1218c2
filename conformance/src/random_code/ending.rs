//! Instructions a sequence may end in, which may fault: privileged, I/O
//! and system instructions, SSE memory accesses at a random alignment,
//! VEX/EVEX/XOP encodings; and the accesses that follow setting RFLAGS.AC.
//! Each comes with what its outcome is compared with ([`Expect`]).

use iced_x86::{Code, Instruction, OpCodeOperandKind, OpKind, Register, RepPrefixKind};

use super::catalog;
use super::generate::{
    encodable, form, gpr, instructions, set_immediate, set_memory, set_register, string, with_code,
    Draw, Expect, Group, Memory, Oracle, Rng, XMM,
};
use super::Kind;

/// RFLAGS.AC.
const AC: u32 = 1 << 18;

/// CMP, so that no status flag is undefined when PUSHF stores them to
/// (compared) memory; then PUSHF, `op` on the saved image, POPF.
fn modify_flags(op: Code, bits: u32) -> Vec<Instruction> {
    let mut modify = with_code(op);
    set_memory(&mut modify, 0, Register::RSP, 0, 0);
    let _ = set_immediate(&mut modify, 1, OpKind::Immediate32to64, u64::from(bits));
    let mut cmp = with_code(Code::Cmp_rm64_r64);
    set_register(&mut cmp, 0, Register::RAX);
    set_register(&mut cmp, 1, Register::RBX);
    vec![
        cmp,
        Instruction::with(Code::Pushfq),
        modify,
        Instruction::with(Code::Popfq),
    ]
}

/// PUSHF, OR AC into the saved image, POPF: user code's only way to set
/// AC (STAC is privileged). Linux runs processes with CR0.AM set, so from
/// here a misaligned access faults with #AC (SIGBUS).
pub(crate) fn set_alignment_check() -> Group {
    modify_flags(Code::Or_rm64_imm32, AC).into()
}

/// SSE moves whose memory operand need not be aligned, and one that must.
const SSE_ACCESSES: &[Code] = &[
    Code::Movups_xmm_xmmm128,
    Code::Movups_xmmm128_xmm,
    Code::Movdqu_xmm_xmmm128,
    Code::Movdqu_xmmm128_xmm,
    Code::Lddqu_xmm_m128,
    Code::Movss_xmm_xmmm32,
    Code::Movss_xmmm32_xmm,
    Code::Movsd_xmm_xmmm64,
    Code::Movsd_xmmm64_xmm,
    Code::Movq_xmm_rm64,
    Code::Movd_xmm_rm32,
    Code::Movhps_xmm_m64,
    Code::Movlps_m64_xmm,
    Code::Movaps_xmm_xmmm128,
];

/// x87 loads and stores of every width.
const X87_ACCESSES: &[Code] = &[
    Code::Fld_m32fp,
    Code::Fld_m64fp,
    Code::Fld_m80fp,
    Code::Fild_m16int,
    Code::Fild_m32int,
    Code::Fild_m64int,
    Code::Fnstcw_m2byte,
    Code::Fnstsw_m2byte,
];

/// One access after AC is set: a base draw (its memory operands point at
/// any byte), a string instruction, a push or pop after moving RSP by a
/// few bytes, an SSE move or an x87 load at any alignment.
pub(crate) fn access(draw: Draw, memory: Memory) -> Option<Vec<Instruction>> {
    let mut rng = Rng::new(draw.bits);
    match draw.form % 6 {
        0 | 1 => instructions(
            Draw {
                form: draw.form / 6,
                ..draw
            },
            memory,
        ),
        2 => string(&mut rng, memory),
        3 => {
            let mut lea = with_code(Code::Lea_r64_m);
            set_register(&mut lea, 0, Register::RSP);
            set_memory(&mut lea, 1, Register::RSP, rng.below(16).wrapping_sub(8), 1);
            let reg = gpr(&mut rng, 8, &[]);
            let stack = match rng.below(4) {
                0 => Instruction::with1(Code::Push_r64, reg),
                1 => Instruction::with1(Code::Pop_r64, reg),
                2 => Instruction::with1(Code::Push_r16, gpr(&mut rng, 2, &[])),
                _ => Instruction::with1(Code::Pushq_imm8, rng.below(128) as i32),
            }
            .ok()?;
            Some(vec![lea, stack])
        }
        4 => {
            let code = rng.pick(SSE_ACCESSES);
            let misaligned = Memory {
                misalign: Some(rng.below(16)),
                ..memory
            };
            let mut ins = with_code(code);
            let op = code.op_code();
            for n in 0..op.op_count() {
                match op.op_kind(n) {
                    OpCodeOperandKind::xmm_reg => set_register(&mut ins, n, rng.pick(&XMM)),
                    _ => set_memory(&mut ins, n, Register::RIP, target(&mut rng, misaligned), 8),
                }
            }
            Some(vec![ins])
        }
        _ => {
            let mut ins = with_code(rng.pick(X87_ACCESSES));
            let at = memory.scratch + rng.below(512);
            set_memory(&mut ins, 0, Register::RIP, at, 8);
            Some(vec![ins])
        }
    }
}

/// A scratch address `misalign` bytes past a 16-byte boundary.
fn target(rng: &mut Rng, memory: Memory) -> u64 {
    memory.scratch + 16 * rng.below(120) + memory.misalign.unwrap_or(0)
}

/// A form of `forms` (the `choice`th) whose memory operand is half the
/// time aligned, half at another offset: the aligned half shows that a
/// fault is about alignment, not the instruction.
fn access_at_any_alignment(
    forms: &[Code],
    choice: u32,
    rng: &mut Rng,
    memory: Memory,
) -> Option<Vec<Instruction>> {
    let misalign = if rng.below(2) == 0 {
        0
    } else {
        1 + rng.below(15)
    };
    let memory = Memory {
        misalign: Some(misalign),
        ..memory
    };
    let code = *forms.get(choice as usize % forms.len().max(1))?;
    form(code, rng, memory)
}

/// The ending of a sequence of `kind` and what it is compared with.
pub(crate) fn ending(kind: Kind, draw: Draw, memory: Memory) -> Option<(Group, Expect)> {
    let mut rng = Rng::new(draw.bits);
    match kind {
        Kind::Privileged => privileged(draw.form, &mut rng, memory),
        Kind::SseAlign => {
            let group =
                access_at_any_alignment(catalog::memory_forms(), draw.form, &mut rng, memory)?;
            Some((group.into(), Expect::Native))
        }
        Kind::HazardShaAlign => {
            // Mostly with RFLAGS.AC set: a SHA operand need not be aligned
            // unless AC asks for it.
            let access =
                access_at_any_alignment(catalog::sha_forms(), draw.form, &mut rng, memory)?;
            let mut group = if rng.below(4) == 0 {
                Vec::new()
            } else {
                set_alignment_check().instructions
            };
            group.extend(access);
            Some((group.into(), Expect::Native))
        }
        Kind::Vex => {
            let forms = catalog::vex_forms();
            // A few tries: some operand choices do not encode (EVEX-only
            // registers in a VEX form, for example).
            (0..8).find_map(|i| {
                let code = forms[(draw.form as usize + i * 7919) % forms.len()];
                // QEMU 7.2's TCG (the CPU under CI's nested KVM) raises #GP
                // for some XOP forms where a CPU raises #UD.
                if memory.oracle == Oracle::QemuTcg
                    && code.op_code().encoding() == iced_x86::EncodingKind::XOP
                {
                    return None;
                }
                let ins = vex(code, &mut rng, memory)?;
                encodable(std::slice::from_ref(&ins))
                    .then(|| (vec![ins].into(), Expect::InvalidOpcode))
            })
        }
        _ => None,
    }
}

fn no_operands(code: Code) -> Option<Vec<Instruction>> {
    Some(vec![Instruction::with(code)])
}

fn with_register(code: Code, reg: Register) -> Option<Vec<Instruction>> {
    Some(vec![Instruction::with1(code, reg).ok()?])
}

fn with_memory(code: Code, rng: &mut Rng, memory: Memory) -> Option<Vec<Instruction>> {
    let mut ins = with_code(code);
    set_memory(&mut ins, 0, Register::RIP, target(rng, memory), 8);
    Some(vec![ins])
}

/// `mov` of a random value into a register, as setup.
fn load(reg: Register, value: u64) -> Option<Instruction> {
    Instruction::with2(Code::Mov_r64_imm64, reg, value).ok()
}

/// An IRETQ frame that is invalid at CPL 3 (a null, kernel or data code
/// selector, or a null stack selector), so IRETQ raises #GP on every CPU.
/// Valid frames are a known difference (docs/known-differences.md,
/// "Segment loads and far transfers").
fn bad_iretq(rng: &mut Rng) -> Option<Vec<Instruction>> {
    const FRAMES: [(u32, u32); 5] = [
        (0, 0x2b),
        (0x10, 0x18),
        (0x13, 0x2b),
        (0x33, 0),
        (0x2b, 0x2b),
    ];
    let (cs, ss) = FRAMES[rng.below(FRAMES.len() as u64) as usize];
    let push = |value: u32| Instruction::with1(Code::Pushq_imm32, value as i32).ok();
    Some(vec![
        push(ss)?,
        push(0x2000)?,
        push(0x202)?,
        push(cs)?,
        push(0)?,
        Instruction::with(Code::Iretq),
    ])
}

/// POPF of an image with IOPL, IF, NT, RF, VM, AC, VIF, VIP or ID flipped:
/// at CPL 3 the CPU ignores IOPL, IF, RF and VM and takes the others.
fn popf_system_flags(rng: &mut Rng) -> Group {
    const BITS: [u32; 9] = [
        0x3000, 0x1000, 0x200, 0x4000, 0x1_0000, 0x2_0000, 0x4_0000, 0x18_0000, 0x20_0000,
    ];
    let mask = BITS
        .iter()
        .filter(|_| rng.below(3) == 0)
        .fold(0, |acc, bit| acc | bit);
    modify_flags(Code::Xor_rm64_imm32, if mask == 0 { 0x3000 } else { mask }).into()
}

/// A privileged, I/O or system instruction, with the operands and setup
/// it needs. Nearly all raise #GP at CPL 3 (SIGSEGV); the host CPU is the
/// oracle for which signal each gives (SYSENTER and SYSEXIT are #UD on
/// AMD in long mode, #GP on Intel).
fn privileged(choice: u32, rng: &mut Rng, memory: Memory) -> Option<(Group, Expect)> {
    use Code::*;
    let gpr64 = |rng: &mut Rng| gpr(rng, 8, &[]);
    let gpr16 = |rng: &mut Rng| gpr(rng, 2, &[]);
    let native = |group: Option<Vec<Instruction>>| group.map(|g| (g.into(), Expect::Native));
    let control = [
        Register::CR0,
        Register::CR2,
        Register::CR3,
        Register::CR4,
        Register::CR8,
    ];
    let debug = [
        Register::DR0,
        Register::DR1,
        Register::DR2,
        Register::DR3,
        Register::DR6,
        Register::DR7,
    ];
    match choice % 40 {
        0 => native(no_operands(Cli)),
        1 => native(no_operands(Sti)),
        2 => native(no_operands(Hlt)),
        3 => {
            let port = rng.below(0x400);
            let mut setup = vec![load(Register::RDX, port)?];
            let io = match rng.below(6) {
                0 => Instruction::with2(In_AL_DX, Register::AL, Register::DX),
                1 => Instruction::with2(In_EAX_DX, Register::EAX, Register::DX),
                2 => Instruction::with2(Out_DX_AL, Register::DX, Register::AL),
                3 => Instruction::with2(Out_DX_EAX, Register::DX, Register::EAX),
                4 => {
                    let mut ins = with_code(In_AL_imm8);
                    set_register(&mut ins, 0, Register::AL);
                    set_immediate(&mut ins, 1, OpKind::Immediate8, port & 0xff)?;
                    Ok(ins)
                }
                _ => {
                    let mut ins = with_code(Out_imm8_AL);
                    set_immediate(&mut ins, 0, OpKind::Immediate8, port & 0xff)?;
                    set_register(&mut ins, 1, Register::AL);
                    Ok(ins)
                }
            }
            .ok()?;
            setup.push(io);
            native(Some(setup))
        }
        4 => {
            let rep = if rng.below(2) == 0 {
                RepPrefixKind::None
            } else {
                RepPrefixKind::Repe
            };
            let mut group = string(rng, memory)?;
            group.pop();
            group.push(load(Register::RDX, rng.below(0x400))?);
            group.push(
                if rng.below(2) == 0 {
                    Instruction::with_insb(64, rep)
                } else {
                    Instruction::with_outsb(64, Register::None, rep)
                }
                .ok()?,
            );
            native(Some(group))
        }
        5 => native(Some(vec![
            load(Register::RCX, 0xc000_0080)?,
            Instruction::with(Rdmsr),
        ])),
        6 => native(Some(vec![
            load(Register::RCX, rng.below(0x200))?,
            Instruction::with(Wrmsr),
        ])),
        7 => native(Some(vec![
            load(Register::RCX, rng.below(4))?,
            Instruction::with(Rdpmc),
        ])),
        8 => native(Some(vec![Instruction::with2(
            Mov_r64_cr,
            gpr64(rng),
            rng.pick(&control),
        )
        .ok()?])),
        9 => native(Some(vec![Instruction::with2(
            Mov_cr_r64,
            rng.pick(&control),
            gpr64(rng),
        )
        .ok()?])),
        10 => native(Some(vec![Instruction::with2(
            Mov_r64_dr,
            gpr64(rng),
            rng.pick(&debug),
        )
        .ok()?])),
        11 => native(Some(vec![Instruction::with2(
            Mov_dr_r64,
            rng.pick(&debug),
            gpr64(rng),
        )
        .ok()?])),
        12 => native(with_memory(Lgdt_m1664, rng, memory)),
        13 => native(with_memory(Lidt_m1664, rng, memory)),
        14 => native(with_register(Lldt_rm16, gpr16(rng))),
        15 => native(with_register(Ltr_rm16, gpr16(rng))),
        16 => native(with_register(Lmsw_rm16, gpr16(rng))),
        17 => native(with_memory(Invlpg_m, rng, memory)),
        18 => native(no_operands(Wbinvd)),
        19 => native(no_operands(Invd)),
        20 => native(no_operands(Clts)),
        21 => native(no_operands(Swapgs)),
        22 => native(no_operands(Sysretq)),
        // QEMU 7.2's TCG makes SYSEXIT #UD on an AMD model before its
        // privilege check; AMD CPUs (and the emulator) raise #GP at CPL 3.
        23 if memory.oracle == Oracle::QemuTcg => None,
        23 => native(no_operands(Sysexitq)),
        24 => native(no_operands(Sysenter)),
        // QEMU 7.2's TCG as the host CPU (CI's nested VM) killed the
        // process with SIGKILL on IRETQ with a null CS, instead of SIGSEGV.
        25 if memory.oracle == Oracle::QemuTcg => None,
        25 => native(bad_iretq(rng)),
        26 | 27 => Some((popf_system_flags(rng), Expect::Native)),
        28 => native(no_operands(Clac)),
        29 => native(no_operands(Stac)),
        30 => native(Some(vec![
            Instruction::with2(
                Code::Lea_r64_m,
                Register::RAX,
                iced_x86::MemoryOperand::with_base_displ(Register::RIP, memory.scratch as i64),
            )
            .ok()?,
            load(Register::RCX, 0)?,
            load(Register::RDX, 0)?,
            Instruction::with(Monitorq),
        ])),
        31 => native(Some(vec![
            load(Register::RAX, 0)?,
            load(Register::RCX, 0)?,
            Instruction::with(Mwait),
        ])),
        32 => native(no_operands(Ud2)),
        // WAITPKG is hidden by the profile: #UD on every backend, whatever
        // the host has (AMD has none; Intel hosts may). QEMU 7.2's TCG as
        // the CPU under KVM (CI's nested VM) runs them as fences.
        33 if memory.oracle == Oracle::QemuTcg => None,
        33 => Some((
            match rng.below(3) {
                0 => with_register(Umonitor_r64, gpr64(rng))?,
                1 => with_register(Umwait_r32, gpr(rng, 4, &[0, 2]))?,
                _ => with_register(Tpause_r32, gpr(rng, 4, &[0, 2]))?,
            }
            .into(),
            Expect::InvalidOpcode,
        )),
        // Allowed at CPL 3 unless CR4.UMIP is set; under UMIP Linux
        // emulates some with dummy values. What they read is the backends'
        // choice (the profile's), so the backends are compared.
        34 => Some((
            with_register(Smsw_r64m16, gpr64(rng))?.into(),
            Expect::Backends,
        )),
        35 => Some((
            with_memory(Sgdt_m1664, rng, memory)?.into(),
            Expect::Backends,
        )),
        36 => Some((
            with_memory(Sidt_m1664, rng, memory)?.into(),
            Expect::Backends,
        )),
        37 => Some((
            with_register(Sldt_r64m16, gpr64(rng))?.into(),
            Expect::Backends,
        )),
        38 => Some((
            with_register(Str_r64m16, gpr64(rng))?.into(),
            Expect::Backends,
        )),
        // The clock: not comparable with the host, but it must run.
        _ => Some((no_operands(Rdtscp)?.into(), Expect::NoFault)),
    }
}

/// A VEX, EVEX or XOP instruction of form `code` with random registers and
/// memory in the scratch buffer.
fn vex(code: Code, rng: &mut Rng, memory: Memory) -> Option<Instruction> {
    use OpCodeOperandKind as K;
    const YMM: [Register; 16] = {
        use Register::*;
        [
            YMM0, YMM1, YMM2, YMM3, YMM4, YMM5, YMM6, YMM7, YMM8, YMM9, YMM10, YMM11, YMM12, YMM13,
            YMM14, YMM15,
        ]
    };
    const ZMM: [Register; 16] = {
        use Register::*;
        [
            ZMM0, ZMM1, ZMM2, ZMM3, ZMM4, ZMM5, ZMM6, ZMM7, ZMM8, ZMM9, ZMM10, ZMM11, ZMM12, ZMM13,
            ZMM14, ZMM15,
        ]
    };
    const KMASK: [Register; 8] = {
        use Register::*;
        [K0, K1, K2, K3, K4, K5, K6, K7]
    };
    let op = code.op_code();
    let mut ins = with_code(code);
    let memory_op = |rng: &mut Rng, ins: &mut Instruction, n: u32| memory.vector(rng, ins, n);
    for n in 0..op.op_count() {
        let use_memory = rng.below(3) == 0;
        match op.op_kind(n) {
            K::xmm_reg | K::xmm_rm | K::xmm_vvvv | K::xmm_is4 => {
                set_register(&mut ins, n, rng.pick(&XMM))
            }
            K::ymm_reg | K::ymm_rm | K::ymm_vvvv | K::ymm_is4 => {
                set_register(&mut ins, n, rng.pick(&YMM))
            }
            K::zmm_reg | K::zmm_rm | K::zmm_vvvv => set_register(&mut ins, n, rng.pick(&ZMM)),
            K::k_reg | K::k_rm | K::k_vvvv => set_register(&mut ins, n, rng.pick(&KMASK)),
            K::mem => memory_op(rng, &mut ins, n),
            K::xmm_or_mem
            | K::ymm_or_mem
            | K::zmm_or_mem
            | K::k_or_mem
            | K::r32_or_mem
            | K::r64_or_mem
                if use_memory =>
            {
                memory_op(rng, &mut ins, n)
            }
            K::xmm_or_mem => set_register(&mut ins, n, rng.pick(&XMM)),
            K::ymm_or_mem => set_register(&mut ins, n, rng.pick(&YMM)),
            K::zmm_or_mem => set_register(&mut ins, n, rng.pick(&ZMM)),
            K::k_or_mem => set_register(&mut ins, n, rng.pick(&KMASK)),
            K::imm8 => set_immediate(&mut ins, n, OpKind::Immediate8, rng.below(256))?,
            K::r8_or_mem | K::r8_reg => set_register(&mut ins, n, gpr(rng, 1, &[0, 1, 2, 3])),
            K::r16_or_mem | K::r16_reg | K::r16_rm => set_register(&mut ins, n, gpr(rng, 2, &[])),
            K::r32_or_mem | K::r32_reg | K::r32_rm | K::r32_vvvv => {
                set_register(&mut ins, n, gpr(rng, 4, &[]))
            }
            K::r64_or_mem | K::r64_reg | K::r64_rm | K::r64_vvvv => {
                set_register(&mut ins, n, gpr(rng, 8, &[]))
            }
            _ => return None,
        }
    }
    Some(ins)
}

#[cfg(test)]
mod tests {
    use super::super::generate::{generate, Oracle};
    use super::*;

    fn draws(n: u64) -> Vec<Draw> {
        let mut rng = Rng::new(n);
        (0..8)
            .map(|_| Draw {
                form: rng.next_u64() as u32,
                bits: rng.next_u64(),
            })
            .collect()
    }

    /// Every privileged choice builds and encodes.
    #[test]
    fn every_privileged_choice_encodes() {
        let memory = Memory {
            scratch: 0x60_0000,
            oracle: Oracle::Hardware,
            misalign: None,
        };
        for choice in 0..40 {
            for seed in 0..20 {
                let (group, _) = privileged(choice, &mut Rng::new(seed), memory)
                    .unwrap_or_else(|| panic!("choice {choice} seed {seed}"));
                assert!(encodable(&group.instructions), "choice {choice}");
            }
        }
    }

    /// Ending kinds end in their instruction nearly always.
    #[test]
    fn endings_are_generated() {
        for kind in [
            Kind::Privileged,
            Kind::SseAlign,
            Kind::Vex,
            Kind::HazardShaAlign,
        ] {
            let ended = (0..200)
                .filter(|&seed| {
                    let ending = Draw {
                        form: seed as u32 * 104_729,
                        bits: seed,
                    };
                    let g = generate(
                        kind,
                        &draws(seed),
                        ending,
                        seed,
                        0x60_0000,
                        Oracle::Hardware,
                    );
                    kind != Kind::Vex || g.expect == Expect::InvalidOpcode
                })
                .count();
            assert!(ended > 180, "{kind}: {ended} of 200");
        }
    }
}
