//! Which entry of the CPU profile's feature table an instruction falls
//! under: iced-x86's CPUID features and encodings, and the mnemonics the
//! table names, mapped onto `qvm_common::cpu_profile::Id`.

use iced_x86::{CpuidFeature as C, EncodingKind, Instruction, Mnemonic as M};
use qvm_common::cpu_profile::{feature, Category, Id};

/// The feature an instruction needs that decides its fate: the worst of
/// its features (hazard over hidden over required over baseline).
pub fn classify(i: &Instruction) -> Id {
    if let Some(id) = by_mnemonic(i) {
        return id;
    }
    let features = i.cpuid_features();
    match i.encoding() {
        EncodingKind::Legacy => {}
        EncodingKind::VEX => {
            // BMI1/BMI2 use VEX but no vector state: XCR0 does not hide them.
            if features.iter().all(|f| matches!(f, C::BMI1 | C::BMI2)) {
                return worst(features.iter().map(|&f| by_feature(f)));
            }
            if features.iter().any(|f| {
                matches!(
                    f,
                    C::AMX_TILE | C::AMX_INT8 | C::AMX_BF16 | C::AMX_FP16 | C::AMX_COMPLEX
                )
            }) {
                return Id::Amx;
            }
            return worst(features.iter().map(|&f| match f {
                C::AVX | C::AVX2 | C::FMA | C::F16C => by_feature(f),
                _ => Id::VexOther,
            }));
        }
        EncodingKind::EVEX | EncodingKind::MVEX => return Id::Avx512,
        EncodingKind::XOP => return Id::XopTbm,
        EncodingKind::D3NOW => return Id::Amd3dnow,
        _ => return Id::Unclassified,
    }
    worst(features.iter().map(|&f| by_feature(f)))
}

/// Instructions the table names itself.
fn by_mnemonic(i: &Instruction) -> Option<Id> {
    let legacy = i.encoding() == EncodingKind::Legacy;
    Some(match i.mnemonic() {
        M::Rcpps | M::Rcpss | M::Rsqrtps | M::Rsqrtss if legacy => Id::RcpApprox,
        M::Fsin
        | M::Fcos
        | M::Fsincos
        | M::Fptan
        | M::Fpatan
        | M::F2xm1
        | M::Fyl2x
        | M::Fyl2xp1 => Id::X87Transcendental,
        M::Bsf | M::Bsr => Id::BsfBsrZero,
        M::Sysenter | M::Sysexit | M::Sysexitq => Id::Sysenter,
        M::Vmcall | M::Vmmcall => Id::Hypercall,
        M::Rdsspd | M::Rdsspq | M::Endbr32 | M::Endbr64 => Id::HintNop,
        M::Rdpmc => Id::Rdpmc,
        M::Extrq | M::Insertq | M::Movntss | M::Movntsd => Id::Sse4a,
        _ => return None,
    })
}

/// iced-x86's CPUID feature as a row of the table.
fn by_feature(f: C) -> Id {
    match f {
        C::INTEL8086
        | C::INTEL186
        | C::INTEL286
        | C::INTEL386
        | C::INTEL486
        | C::X64
        | C::CPUID
        | C::MULTIBYTENOP
        | C::PAUSE => Id::X86_64,
        C::FPU | C::FPU287 | C::FPU387 => Id::Fpu,
        C::TSC => Id::Tsc,
        C::MSR => Id::Msr,
        C::CX8 => Id::Cx8,
        C::CMOV => Id::Cmov,
        C::CLFSH => Id::Clflush,
        C::MMX => Id::Mmx,
        C::FXSR => Id::Fxsr,
        C::SSE => Id::Sse,
        C::SSE2 => Id::Sse2,
        C::SSE3 => Id::Sse3,
        C::SSSE3 => Id::Ssse3,
        C::CMPXCHG16B => Id::Cx16,
        C::SSE4_1 => Id::Sse41,
        C::SSE4_2 => Id::Sse42,
        C::POPCNT => Id::Popcnt,
        C::SYSCALL => Id::Syscall,
        // 0F 1C /0, in the hint-NOP space: a cache hint or a NOP.
        C::CET_IBT | C::CLDEMOTE => Id::HintNop,
        C::PCLMULQDQ => Id::Pclmulqdq,
        C::MOVBE => Id::Movbe,
        C::AES => Id::Aes,
        C::BMI1 => Id::Bmi1,
        C::BMI2 => Id::Bmi2,
        C::ADX => Id::Adx,
        C::SHA => Id::Sha,
        C::LZCNT => Id::Lzcnt,
        C::RDTSCP => Id::Rdtscp,
        C::AVX => Id::Avx,
        C::AVX2 => Id::Avx2,
        C::FMA => Id::Fma,
        C::F16C => Id::F16c,
        C::XSAVE | C::XSAVEC | C::XSAVEOPT | C::XSAVES => Id::Xsave,
        C::MONITOR => Id::MonitorMwait,
        C::FSGSBASE => Id::Fsgsbase,
        C::PKU => Id::Pku,
        C::WAITPKG => Id::Waitpkg,
        C::RDPRU => Id::Rdpru,
        C::AMX_TILE | C::AMX_INT8 | C::AMX_BF16 | C::AMX_FP16 | C::AMX_COMPLEX => Id::Amx,
        C::UINTR => Id::Uintr,
        C::KL | C::AESKLE | C::WIDE_KL => Id::KeyLocker,
        C::D3NOW | C::D3NOWEXT => Id::Amd3dnow,
        C::XOP | C::TBM | C::FMA4 | C::LWP => Id::XopTbm,
        C::CET_SS => Id::CetShadowStack,
        C::RDPMC => Id::Rdpmc,
        C::VMX
        | C::SVM
        | C::SMX
        | C::INVEPT
        | C::INVVPID
        | C::INVPCID
        | C::WBNOINVD
        | C::PCONFIG
        | C::SKINIT
        | C::SKINIT_or_SVM
        | C::SMAP
        | C::SEV_ES
        | C::SEV_SNP
        | C::INVLPGB
        | C::RMPQUERY
        | C::HRESET
        | C::FRED
        | C::LKGS
        | C::MSRLIST
        | C::WRMSRNS
        | C::TDX
        | C::SMM
        | C::MCOMMIT
        | C::PCOMMIT => Id::Privileged,
        C::RDRAND => Id::Rdrand,
        C::RDSEED => Id::Rdseed,
        C::SSE4A => Id::Sse4a,
        C::CLZERO => Id::Clzero,
        C::MONITORX => Id::MonitorX,
        C::RDPID => Id::Rdpid,
        C::MOVDIRI => Id::Movdiri,
        C::MOVDIR64B => Id::Movdir64b,
        C::SERIALIZE => Id::Serialize,
        C::CLFLUSHOPT => Id::Clflushopt,
        C::CLWB => Id::Clwb,
        C::PREFETCHW => Id::Prefetchw,
        C::GFNI => Id::Gfni,
        C::RTM | C::HLE | C::HLE_or_RTM | C::TSXLDTRK => Id::Tsx,
        C::SGX1 => Id::Sgx,
        C::SEP => Id::Sysenter,
        _ => Id::Unclassified,
    }
}

fn rank(id: Id) -> u8 {
    match feature(id).category {
        Category::Baseline => 0,
        Category::Required => 1,
        Category::Hidden => 2,
        Category::Hazard => 3,
    }
}

fn worst(ids: impl Iterator<Item = Id>) -> Id {
    ids.max_by_key(|&id| rank(id)).unwrap_or(Id::X86_64)
}

#[cfg(test)]
mod tests {
    use super::*;
    use iced_x86::{Decoder, DecoderOptions};

    fn id_of(bytes: &[u8]) -> Id {
        let i = Decoder::new(64, bytes, DecoderOptions::NONE).decode();
        assert!(!i.is_invalid(), "{bytes:02x?}");
        classify(&i)
    }

    #[test]
    fn instructions_map_onto_the_table() {
        let cases: &[(&[u8], Id)] = &[
            (&[0x48, 0x01, 0xd8], Id::X86_64),                // add rax, rbx
            (&[0xf3, 0x0f, 0x1e, 0xfa], Id::HintNop),         // endbr64
            (&[0x66, 0x0f, 0xfe, 0xc1], Id::Sse2),            // paddd xmm0, xmm1
            (&[0xf3, 0x48, 0x0f, 0xb8, 0xc1], Id::Popcnt),    // popcnt rax, rcx
            (&[0xc4, 0xe2, 0xf3, 0xf7, 0xc2], Id::Bmi2),      // shlx rax, rdx, rcx
            (&[0xc4, 0xe2, 0xf0, 0xf2, 0xc2], Id::Bmi1),      // andn rax, rcx, rdx
            (&[0xf3, 0x48, 0x0f, 0xbd, 0xc1], Id::Lzcnt),     // lzcnt rax, rcx
            (&[0x66, 0x48, 0x0f, 0x38, 0xf6, 0xc1], Id::Adx), // adcx rax, rcx
            (&[0x66, 0x0f, 0x38, 0xdc, 0xc1], Id::Aes),       // aesenc xmm0, xmm1
            (&[0x0f, 0x38, 0xcb, 0xc1], Id::Sha),             // sha256rnds2
            (&[0x0f, 0x01, 0xf9], Id::Rdtscp),
            (&[0xc5, 0xfc, 0x58, 0xc1], Id::Avx), // vaddps ymm0, ymm0, ymm1
            (&[0xc5, 0xf9, 0xfe, 0xc1], Id::Avx), // vpaddd xmm0, xmm0, xmm1
            (&[0xc4, 0xe2, 0x7d, 0x58, 0xc1], Id::Avx2), // vpbroadcastd ymm0, xmm1
            (&[0x62, 0xf1, 0x7c, 0x48, 0x58, 0xc1], Id::Avx512), // vaddps zmm0, zmm0, zmm1
            (&[0x0f, 0x01, 0xd0], Id::Xsave),     // xgetbv
            (&[0x0f, 0xc7, 0xf0], Id::Rdrand),    // rdrand eax
            (&[0x0f, 0xc7, 0xf8], Id::Rdseed),    // rdseed eax
            (&[0x66, 0x0f, 0x79, 0xc1], Id::Sse4a), // extrq xmm0, xmm1
            (&[0x0f, 0x53, 0xc1], Id::RcpApprox), // rcpps xmm0, xmm1
            (&[0xd9, 0xfe], Id::X87Transcendental), // fsin
            (&[0xd9, 0xf3], Id::X87Transcendental), // fpatan
            (&[0xc7, 0xf8, 0, 0, 0, 0], Id::Tsx), // xbegin
            (&[0x0f, 0x01, 0xfc], Id::Clzero),
            (&[0xf3, 0x0f, 0xc7, 0xf8], Id::Rdpid), // rdpid rax
            (&[0x0f, 0x01, 0xc1], Id::Hypercall),   // vmcall
            (&[0x0f, 0x34], Id::Sysenter),
            (&[0x0f, 0x0d, 0x08], Id::Prefetchw), // prefetchw [rax]
            (&[0x48, 0x0f, 0xbc, 0xc1], Id::BsfBsrZero), // bsf rax, rcx
            (&[0x0f, 0x01, 0xfd], Id::Rdpru),
            (&[0x0f, 0x01, 0xc8], Id::MonitorMwait), // monitor
            (&[0x0f, 0x0f, 0xc1, 0x9e], Id::Amd3dnow), // pfadd mm0, mm1
            (&[0x0f, 0x1c, 0x00], Id::HintNop),      // cldemote [rax]
        ];
        for (bytes, want) in cases {
            assert_eq!(id_of(bytes), *want, "{bytes:02x?}");
        }
    }
}
