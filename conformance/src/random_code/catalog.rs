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
}
