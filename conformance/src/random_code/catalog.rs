//! Which instruction forms the random-instruction test draws from: every
//! legacy-encoded 64-bit form of an allow-listed mnemonic whose operands
//! the generator can fill and whose CPUID features qvm's CPU profile
//! offers. Forms are discovered from iced-x86's opcode tables, so a
//! mnemonic brings all its operand sizes and encodings with it.

use std::sync::OnceLock;

use iced_x86::{Code, CpuidFeature, EncodingKind, Mnemonic, OpCodeOperandKind};

/// Mnemonics under test: integer ALU, shifts and rotates, multiply and
/// divide, bit operations, moves, push/pop, and SSE up to SSE4.2. Left out
/// on purpose: control flow, privileged and system instructions, x87 and
/// MMX (the profile's promises end at SSE), RCPPS/RSQRTPS (approximations
/// that differ between CPU vendors by design), LDMXCSR (it could unmask
/// exceptions) and anything reading memory at an address the generator
/// does not choose (XLAT, MASKMOVDQU). String instructions and division
/// are generated separately, with the setup they need.
const MNEMONICS: &[Mnemonic] = {
    use Mnemonic::*;
    &[
        // Integer arithmetic and logic.
        Add, Or, Adc, Sbb, And, Sub, Xor, Cmp, Test, Inc, Dec, Neg, Not, Mul, Imul,
        // Shifts and rotates.
        Shl, Shr, Sar, Rol, Ror, Rcl, Rcr, Shld, Shrd, // Bits and bytes.
        Bt, Bts, Btr, Btc, Bsf, Bsr, Bswap, Popcnt, Crc32,
        // Moves, conversions, exchanges.
        Mov, Movzx, Movsx, Movsxd, Xchg, Xadd, Cmpxchg, Cmpxchg8b, Cmpxchg16b, Lea, Cbw, Cwde, Cdqe,
        Cwd, Cdq, Cqo, Push, Pop, Nop, // Flags.
        Lahf, Sahf, Clc, Stc, Cmc, Cld, Std, Seto, Setno, Setb, Setae, Sete, Setne, Setbe, Seta,
        Sets, Setns, Setp, Setnp, Setl, Setge, Setle, Setg, Cmovo, Cmovno, Cmovb, Cmovae, Cmove,
        Cmovne, Cmovbe, Cmova, Cmovs, Cmovns, Cmovp, Cmovnp, Cmovl, Cmovge, Cmovle, Cmovg,
        // SSE/SSE2 floating point.
        Addps, Addpd, Addss, Addsd, Subps, Subpd, Subss, Subsd, Mulps, Mulpd, Mulss, Mulsd, Divps,
        Divpd, Divss, Divsd, Minps, Minpd, Minss, Minsd, Maxps, Maxpd, Maxss, Maxsd, Sqrtps,
        Sqrtpd, Sqrtss, Sqrtsd, Andps, Andpd, Andnps, Andnpd, Orps, Orpd, Xorps, Xorpd, Cmpps,
        Cmppd, Cmpss, Cmpsd, Comiss, Comisd, Ucomiss, Ucomisd, // Conversions.
        Cvtsi2ss, Cvtsi2sd, Cvtss2sd, Cvtsd2ss, Cvtps2pd, Cvtpd2ps, Cvtdq2ps, Cvtps2dq, Cvttps2dq,
        Cvtdq2pd, Cvtpd2dq, Cvttpd2dq, Cvtss2si, Cvttss2si, Cvtsd2si, Cvttsd2si,
        // SSE moves and shuffles.
        Unpcklps, Unpckhps, Unpcklpd, Unpckhpd, Shufps, Shufpd, Movaps, Movups, Movapd, Movupd,
        Movss, Movsd, Movhlps, Movlhps, Movhps, Movlps, Movhpd, Movlpd, Movd, Movq, Movdqa, Movdqu,
        Movmskps, Movmskpd, // SSE2 integer.
        Paddb, Paddw, Paddd, Paddq, Psubb, Psubw, Psubd, Psubq, Paddsb, Paddsw, Paddusb, Paddusw,
        Psubsb, Psubsw, Psubusb, Psubusw, Pmullw, Pmulhw, Pmulhuw, Pmuludq, Pmaddwd, Pavgb, Pavgw,
        Psadbw, Pcmpeqb, Pcmpeqw, Pcmpeqd, Pcmpgtb, Pcmpgtw, Pcmpgtd, Pand, Pandn, Por, Pxor,
        Psllw, Pslld, Psllq, Psrlw, Psrld, Psrlq, Psraw, Psrad, Pslldq, Psrldq, Pshufd, Pshuflw,
        Pshufhw, Punpcklbw, Punpcklwd, Punpckldq, Punpcklqdq, Punpckhbw, Punpckhwd, Punpckhdq,
        Punpckhqdq, Packsswb, Packuswb, Packssdw, Pmovmskb, Pminub, Pmaxub, Pminsw, Pmaxsw, Pextrw,
        Pinsrw, // SSE3 and SSSE3.
        Addsubps, Addsubpd, Haddps, Haddpd, Hsubps, Hsubpd, Movddup, Movshdup, Movsldup, Lddqu,
        Pshufb, Phaddw, Phaddd, Phaddsw, Phsubw, Phsubd, Phsubsw, Pabsb, Pabsw, Pabsd, Psignb,
        Psignw, Psignd, Palignr, Pmaddubsw, Pmulhrsw, // SSE4.1 and SSE4.2.
        Pmulld, Pmuldq, Pminsb, Pminsd, Pminuw, Pminud, Pmaxsb, Pmaxsd, Pmaxuw, Pmaxud, Ptest,
        Roundps, Roundpd, Roundss, Roundsd, Blendps, Blendpd, Blendvps, Blendvpd, Pblendvb,
        Pblendw, Dppd, Insertps, Extractps, Pextrb, Pextrd, Pextrq, Pinsrb, Pinsrd, Pinsrq,
        Pmovsxbw, Pmovsxbd, Pmovsxbq, Pmovsxwd, Pmovsxwq, Pmovsxdq, Pmovzxbw, Pmovzxbd, Pmovzxbq,
        Pmovzxwd, Pmovzxwq, Pmovzxdq, Packusdw, Pcmpeqq, Phminposuw, Mpsadbw, Pcmpgtq, Pcmpestri,
        Pcmpestrm, Pcmpistri, Pcmpistrm,
    ]
};

/// CPUID features of qvm's profile (`qvm_common::cpu_profile`) that
/// instruction forms may need.
const FEATURES: &[CpuidFeature] = {
    use CpuidFeature::*;
    &[
        INTEL8086,
        INTEL186,
        INTEL286,
        INTEL386,
        INTEL486,
        X64,
        CMOV,
        CX8,
        CMPXCHG16B,
        MULTIBYTENOP,
        POPCNT,
        SSE,
        SSE2,
        SSE3,
        SSSE3,
        SSE4_1,
        SSE4_2,
    ]
};

/// Forms left out: BSWAP of a 16-bit register (its result is undefined)
/// and the undocumented aliases TEST /1 (F6/F7 /1), which unicorn treats
/// as #UD. (SAL's only distinct encoding, /6, is undocumented too, so SAL
/// is tested as SHL.)
const EXCLUDED_FORMS: &[Code] = &[
    Code::Bswap_r16,
    Code::Test_rm8_imm8_F6r1,
    Code::Test_rm16_imm16_F7r1,
    Code::Test_rm32_imm32_F7r1,
    Code::Test_rm64_imm32_F7r1,
];

/// Operand kinds the generator can fill.
pub(crate) fn fillable(kind: OpCodeOperandKind) -> bool {
    use OpCodeOperandKind::*;
    matches!(
        kind,
        mem | r8_or_mem
            | r16_or_mem
            | r32_or_mem
            | r64_or_mem
            | xmm_or_mem
            | r8_reg
            | r8_opcode
            | r16_reg
            | r16_opcode
            | r32_reg
            | r32_opcode
            | r64_reg
            | r64_opcode
            | xmm_reg
            | xmm_rm
            | r16_rm
            | r32_rm
            | r64_rm
            | al
            | cl
            | ax
            | eax
            | rax
            | imm8
            | imm8_const_1
            | imm8sex16
            | imm8sex32
            | imm8sex64
            | imm16
            | imm32
            | imm32sex64
            | imm64
    )
}

fn wanted(code: Code) -> bool {
    let op = code.op_code();
    op.is_instruction()
        && op.mode64()
        && code.encoding() == EncodingKind::Legacy
        && MNEMONICS.contains(&code.mnemonic())
        && !EXCLUDED_FORMS.contains(&code)
        && code.cpuid_features().iter().all(|f| FEATURES.contains(f))
        && (0..op.op_count()).all(|i| fillable(op.op_kind(i)))
}

/// Every form under test, in iced-x86's `Code` order (stable across runs,
/// so a drawn form index means the same instruction every time).
pub fn forms() -> &'static [Code] {
    static FORMS: OnceLock<Vec<Code>> = OnceLock::new();
    FORMS.get_or_init(|| Code::values().filter(|&c| wanted(c)).collect())
}

/// The CPU profile's *required* families: instructions the emulator must
/// compute exactly because no control hides them on KVM (issue 10).
const REQUIRED_MNEMONICS: &[Mnemonic] = {
    use Mnemonic::*;
    &[
        // BMI1, BMI2 (VEX-encoded, general-purpose registers only).
        Andn,
        Bextr,
        Blsi,
        Blsmsk,
        Blsr,
        Tzcnt,
        Bzhi,
        Mulx,
        Pdep,
        Pext,
        Rorx,
        Sarx,
        Shlx,
        Shrx,
        // ADX, MOVBE, LZCNT, POPCNT.
        Adcx,
        Adox,
        Movbe,
        Lzcnt,
        Popcnt, // AES-NI, PCLMULQDQ.
        Aesenc,
        Aesenclast,
        Aesdec,
        Aesdeclast,
        Aesimc,
        Aeskeygenassist,
        Pclmulqdq,
        // SHA is a hazard, not required (docs/cpu-profile.md): hosts
        // without it raise #UD. `sha_forms` has it.
    ]
};

const REQUIRED_FEATURES: &[CpuidFeature] = {
    use CpuidFeature::*;
    &[BMI1, BMI2, ADX, MOVBE, LZCNT, POPCNT, AES, PCLMULQDQ]
};

/// The SHA extensions' legacy forms (their VEX forms need AVX, hidden):
/// the emulator computes them as CPUs that have them do.
pub fn sha_forms() -> &'static [Code] {
    static FORMS: OnceLock<Vec<Code>> = OnceLock::new();
    FORMS.get_or_init(|| {
        Code::values()
            .filter(|&code| {
                let op = code.op_code();
                op.is_instruction()
                    && op.mode64()
                    && code.encoding() == EncodingKind::Legacy
                    && code.cpuid_features() == [CpuidFeature::SHA]
                    && (0..op.op_count()).all(|i| fillable(op.op_kind(i)))
            })
            .collect()
    })
}

/// Forms of the required families: legacy encodings, and the VEX ones of
/// BMI1 and BMI2 (their AES and PCLMULQDQ VEX forms need AVX, hidden).
pub fn required_forms() -> &'static [Code] {
    static FORMS: OnceLock<Vec<Code>> = OnceLock::new();
    FORMS.get_or_init(|| {
        Code::values()
            .filter(|&code| {
                let op = code.op_code();
                let features = code.cpuid_features();
                let encoding_ok = match code.encoding() {
                    EncodingKind::Legacy => true,
                    EncodingKind::VEX => features
                        .iter()
                        .all(|f| matches!(f, CpuidFeature::BMI1 | CpuidFeature::BMI2)),
                    _ => false,
                };
                op.is_instruction()
                    && op.mode64()
                    && encoding_ok
                    && REQUIRED_MNEMONICS.contains(&code.mnemonic())
                    && features
                        .iter()
                        .all(|f| FEATURES.contains(f) || REQUIRED_FEATURES.contains(f))
                    && (0..op.op_count()).all(|i| fillable(op.op_kind(i)) || vvvv(op.op_kind(i)))
            })
            .collect()
    })
}

/// General-purpose register operands in VEX.vvvv (BMI1, BMI2).
pub(crate) fn vvvv(kind: OpCodeOperandKind) -> bool {
    matches!(
        kind,
        OpCodeOperandKind::r32_vvvv | OpCodeOperandKind::r64_vvvv
    )
}

/// x87 arithmetic, loads, stores, compares and control.
const X87_MNEMONICS: &[Mnemonic] = {
    use Mnemonic::*;
    &[
        Fld, Fst, Fstp, Fild, Fist, Fistp, Fisttp, Fld1, Fldz, Fldpi, Fldl2e, Fldl2t, Fldlg2,
        Fldln2, Fadd, Faddp, Fiadd, Fsub, Fsubp, Fsubr, Fsubrp, Fisub, Fisubr, Fmul, Fmulp, Fimul,
        Fdiv, Fdivp, Fdivr, Fdivrp, Fidiv, Fidivr, Fsqrt, Fabs, Fchs, Fxch, Fcom, Fcomp, Fcompp,
        Fucom, Fucomp, Fucompp, Fcomi, Fcomip, Fucomi, Fucomip, Ficom, Ficomp, Ftst, Fxam, Frndint,
        Fscale, Fxtract, Fprem, Fprem1, Fldcw, Fnstcw, Fnstsw, Fcmovb, Fcmove, Fcmovbe, Fcmovu,
        Fcmovnb, Fcmovne, Fcmovnbe, Fcmovnu, Ffree, Ffreep, Fdecstp, Fincstp, Fnclex, Fnop, Fbstp,
    ]
};

/// x87 transcendentals: each vendor's approximation, a hazard.
const X87_TRANSCENDENTALS: &[Mnemonic] = {
    use Mnemonic::*;
    &[Fsin, Fcos, Fsincos, Fptan, Fpatan, F2xm1, Fyl2x, Fyl2xp1]
};

const X87_FEATURES: &[CpuidFeature] = {
    use CpuidFeature::*;
    &[FPU, FPU287, FPU387, CMOV, SSE3]
};

/// Operand kinds of x87 forms the generator fills.
pub(crate) fn x87_fillable(kind: OpCodeOperandKind) -> bool {
    use OpCodeOperandKind::*;
    matches!(kind, mem | st0 | sti_opcode | ax)
}

/// x87 forms, with the transcendentals when `transcendental`. FLDCW is in
/// the list; the generator gives it a control word that keeps every
/// exception masked.
pub fn x87_forms(transcendental: bool) -> &'static [Code] {
    static PLAIN: OnceLock<Vec<Code>> = OnceLock::new();
    static ALL: OnceLock<Vec<Code>> = OnceLock::new();
    let cell = if transcendental { &ALL } else { &PLAIN };
    cell.get_or_init(|| {
        Code::values()
            .filter(|&code| {
                let op = code.op_code();
                let mnemonic = code.mnemonic();
                op.is_instruction()
                    && op.mode64()
                    && code.encoding() == EncodingKind::Legacy
                    && (X87_MNEMONICS.contains(&mnemonic)
                        || transcendental && X87_TRANSCENDENTALS.contains(&mnemonic))
                    && code.cpuid_features().iter().all(|f| X87_FEATURES.contains(f))
                    && (0..op.op_count()).all(|i| x87_fillable(op.op_kind(i)))
                    // Undocumented aliases (FSTP1, FCOM2...): not what the
                    // comparison is about, and no assembler emits them.
                    && !format!("{code:?}").contains("_D")
            })
            .collect()
    })
}

/// SSE floating point: arithmetic, square roots, min/max, compares,
/// rounding and conversions, whose MXCSR flags [`super::Kind::Mxcsr`]
/// compares.
const SSE_FLOAT_MNEMONICS: &[Mnemonic] = {
    use Mnemonic::*;
    &[
        Addps, Addpd, Addss, Addsd, Subps, Subpd, Subss, Subsd, Mulps, Mulpd, Mulss, Mulsd, Divps,
        Divpd, Divss, Divsd, Minps, Minpd, Minss, Minsd, Maxps, Maxpd, Maxss, Maxsd, Sqrtps,
        Sqrtpd, Sqrtss, Sqrtsd, Cmpps, Cmppd, Cmpss, Cmpsd, Comiss, Comisd, Ucomiss, Ucomisd,
        Cvtsi2ss, Cvtsi2sd, Cvtss2sd, Cvtsd2ss, Cvtps2pd, Cvtpd2ps, Cvtdq2ps, Cvtps2dq, Cvttps2dq,
        Cvtdq2pd, Cvtpd2dq, Cvttpd2dq, Cvtss2si, Cvttss2si, Cvtsd2si, Cvttsd2si, Addsubps,
        Addsubpd, Haddps, Haddpd, Hsubps, Hsubpd, Roundps, Roundpd, Roundss, Roundsd, Dppd,
    ]
};

/// Catalog forms of SSE floating point.
pub fn sse_float_forms() -> &'static [Code] {
    static FORMS: OnceLock<Vec<Code>> = OnceLock::new();
    FORMS.get_or_init(|| {
        forms()
            .iter()
            .copied()
            .filter(|c| SSE_FLOAT_MNEMONICS.contains(&c.mnemonic()))
            .collect()
    })
}

/// Non-temporal SSE stores and loads, which require alignment: drawn only
/// as the memory access of [`super::Kind::SseAlign`].
const NON_TEMPORAL: &[Code] = &[
    Code::Movntdq_m128_xmm,
    Code::Movntps_m128_xmm,
    Code::Movntpd_m128_xmm,
    Code::Movntdqa_xmm_m128,
];

/// Forms with an SSE memory operand (catalog forms whose operand may be
/// memory, plus the non-temporal moves and CMPXCHG16B): the access
/// [`super::Kind::SseAlign`] places at a random alignment.
pub fn memory_forms() -> &'static [Code] {
    static FORMS: OnceLock<Vec<Code>> = OnceLock::new();
    FORMS.get_or_init(|| {
        forms()
            .iter()
            .copied()
            .filter(|c| {
                let op = c.op_code();
                let sse = c.cpuid_features().iter().any(|f| {
                    matches!(
                        f,
                        CpuidFeature::SSE
                            | CpuidFeature::SSE2
                            | CpuidFeature::SSE3
                            | CpuidFeature::SSSE3
                            | CpuidFeature::SSE4_1
                            | CpuidFeature::SSE4_2
                    )
                });
                (sse || *c == Code::Cmpxchg16b_m128)
                    && (0..op.op_count()).any(|i| {
                        matches!(
                            op.op_kind(i),
                            OpCodeOperandKind::xmm_or_mem | OpCodeOperandKind::mem
                        )
                    })
            })
            .chain(NON_TEMPORAL.iter().copied())
            .collect()
    })
}

/// Features of VEX, EVEX and XOP forms that need the AVX state enabled in
/// XCR0, so that KVM (XCR0 = x87|SSE) and the emulator must refuse them.
/// BMI1, BMI2, TBM and LWP are VEX/XOP-encoded too but use only
/// general-purpose registers: no control hides them, so they are left out.
fn vex_feature(feature: CpuidFeature) -> bool {
    use CpuidFeature::*;
    matches!(
        feature,
        AVX | AVX2
            | FMA
            | FMA4
            | F16C
            | XOP
            | VAES
            | VPCLMULQDQ
            | GFNI
            | AVX_VNNI
            | AVX_IFMA
            | AVX_NE_CONVERT
            | AVX_VNNI_INT8
            | AVX_VNNI_INT16
            | AVX512F
            | AVX512VL
            | AVX512BW
            | AVX512DQ
            | AVX512CD
            | AVX512_IFMA
            | AVX512_VBMI
            | AVX512_VBMI2
            | AVX512_VNNI
            | AVX512_BITALG
            | AVX512_VPOPCNTDQ
            | AVX512_BF16
            | AVX512_FP16
            | AVX512_VP2INTERSECT
    )
}

/// Operand kinds of VEX, EVEX and XOP forms the generator fills.
pub(crate) fn vex_fillable(kind: OpCodeOperandKind) -> bool {
    use OpCodeOperandKind::*;
    fillable(kind)
        || vvvv(kind)
        || matches!(
            kind,
            xmm_vvvv
                | xmm_is4
                | ymm_reg
                | ymm_rm
                | ymm_vvvv
                | ymm_is4
                | ymm_or_mem
                | zmm_reg
                | zmm_rm
                | zmm_vvvv
                | zmm_or_mem
                | k_reg
                | k_rm
                | k_vvvv
                | k_or_mem
        )
}

/// VEX, EVEX and XOP forms that qvm must refuse with #UD.
pub fn vex_forms() -> &'static [Code] {
    static FORMS: OnceLock<Vec<Code>> = OnceLock::new();
    FORMS.get_or_init(|| {
        Code::values()
            .filter(|&code| {
                let op = code.op_code();
                let features = code.cpuid_features();
                op.is_instruction()
                    && op.mode64()
                    && matches!(
                        code.encoding(),
                        EncodingKind::VEX | EncodingKind::EVEX | EncodingKind::XOP
                    )
                    && !features.is_empty()
                    && features.iter().all(|f| vex_feature(*f))
                    && (0..op.op_count()).all(|i| vex_fillable(op.op_kind(i)))
            })
            .collect()
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn catalog_covers_every_family() {
        let forms = forms();
        assert!(forms.len() > 600, "{} forms", forms.len());
        let missing: Vec<_> = MNEMONICS
            .iter()
            .filter(|m| !forms.iter().any(|c| c.mnemonic() == **m))
            .collect();
        assert!(missing.is_empty(), "no usable form of {missing:?}");
        assert!(!forms.contains(&Code::Bswap_r16));
        // String forms of MOVSD/CMPSD have implicit operands: not drawn.
        assert!(!forms.contains(&Code::Movsd_m32_m32));
    }

    #[test]
    fn other_catalogs_cover_their_families() {
        let required = required_forms();
        let missing: Vec<_> = REQUIRED_MNEMONICS
            .iter()
            .filter(|m| !required.iter().any(|c| c.mnemonic() == **m))
            .collect();
        assert!(missing.is_empty(), "no usable form of {missing:?}");
        for transcendental in [false, true] {
            let x87 = x87_forms(transcendental);
            let missing: Vec<_> = X87_MNEMONICS
                .iter()
                .chain(if transcendental {
                    X87_TRANSCENDENTALS
                } else {
                    &[]
                })
                .filter(|m| !x87.iter().any(|c| c.mnemonic() == **m))
                .collect();
            assert!(missing.is_empty(), "no usable form of {missing:?}");
        }
        assert!(!x87_forms(false).contains(&Code::Fsin));
        assert!(x87_forms(true).contains(&Code::Fsin));
        assert!(sse_float_forms().contains(&Code::Addps_xmm_xmmm128));
        let memory = memory_forms();
        assert!(memory.contains(&Code::Movaps_xmm_xmmm128));
        assert!(memory.contains(&Code::Movntdq_m128_xmm));
        assert!(memory.contains(&Code::Cmpxchg16b_m128));
        assert!(!memory.contains(&Code::Add_rm32_r32));
        let vex = vex_forms();
        assert!(vex.len() > 1000, "{} VEX forms", vex.len());
        assert!(vex.contains(&Code::VEX_Vpaddd_xmm_xmm_xmmm128));
        assert!(vex.contains(&Code::VEX_Vzeroupper));
        assert!(!vex.contains(&Code::VEX_Andn_r32_r32_rm32));
        assert_eq!(
            sha_forms(),
            [
                Code::Sha1nexte_xmm_xmmm128,
                Code::Sha1msg1_xmm_xmmm128,
                Code::Sha1msg2_xmm_xmmm128,
                Code::Sha256rnds2_xmm_xmmm128,
                Code::Sha256msg1_xmm_xmmm128,
                Code::Sha256msg2_xmm_xmmm128,
                Code::Sha1rnds4_xmm_xmmm128_imm8,
            ]
        );
        assert!(!required.iter().any(|c| sha_forms().contains(c)));
    }
}
