//! The virtual CPU every backend presents: one CPUID table, answered by
//! both engines (a CPUID hook in unicorn, KVM_SET_CPUID2 on KVM).
//!
//! The feature bits come from the feature table ([`features`]): CPUID
//! advertises the baseline and required features and nothing else. No
//! hypervisor leaves. The vendor string is qvm's own, so no libc takes a
//! vendor-specific path that the other backend would not.
//! `docs/cpu-profile.md` is rendered from the table ([`doc`]).

pub mod doc;
pub mod features;

pub use features::{feature, Category, CheckRule, CpuidBit, Feature, Id, Reg, FEATURES};

/// Register values of one CPUID leaf.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct CpuidResult {
    pub eax: u32,
    pub ebx: u32,
    pub ecx: u32,
    pub edx: u32,
}

impl CpuidResult {
    pub const fn reg(&self, reg: Reg) -> u32 {
        match reg {
            Reg::Eax => self.eax,
            Reg::Ebx => self.ebx,
            Reg::Ecx => self.ecx,
            Reg::Edx => self.edx,
        }
    }
}

/// The advertised feature bits of one register of one leaf: the baseline
/// and required features the table places there.
pub const fn advertised(leaf: u32, subleaf: u32, reg: Reg) -> u32 {
    let mut bits = 0;
    let mut i = 0;
    while i < FEATURES.len() {
        let f = &FEATURES[i];
        if let Some(c) = f.cpuid {
            if f.category.advertised()
                && c.leaf == leaf
                && c.subleaf == subleaf
                && c.reg as u8 == reg as u8
            {
                bits |= 1 << c.bit;
            }
        }
        i += 1;
    }
    bits
}

/// CPUID.1:ECX feature bits offered.
pub const LEAF1_ECX: u32 = advertised(1, 0, Reg::Ecx);
/// CPUID.1:EDX feature bits offered (also `AT_HWCAP`).
pub const LEAF1_EDX: u32 = advertised(1, 0, Reg::Edx);
/// CPUID.(7,0):EBX, ECX, EDX feature bits offered.
pub const LEAF7_EBX: u32 = advertised(7, 0, Reg::Ebx);
pub const LEAF7_ECX: u32 = advertised(7, 0, Reg::Ecx);
pub const LEAF7_EDX: u32 = advertised(7, 0, Reg::Edx);
/// CPUID.80000001h:ECX and EDX feature bits offered.
pub const EXT1_ECX: u32 = advertised(0x8000_0001, 0, Reg::Ecx);
pub const EXT1_EDX: u32 = advertised(0x8000_0001, 0, Reg::Edx);
/// CPUID.80000008h:EBX feature bits offered.
pub const EXT8_EBX: u32 = advertised(0x8000_0008, 0, Reg::Ebx);

/// The advertised features a host's CPUID lacks: `host(leaf, subleaf)`
/// answers for the host (None when it has no such leaf). A KVM host must
/// have all of them, since nothing hides them from a guest.
pub fn missing_on_host(host: impl Fn(u32, u32) -> Option<CpuidResult>) -> Vec<&'static Feature> {
    FEATURES
        .iter()
        .filter(|f| f.category.advertised())
        .filter(|f| match f.cpuid {
            Some(c) => {
                !matches!(host(c.leaf, c.subleaf), Some(r) if r.reg(c.reg) & (1 << c.bit) != 0)
            }
            None => false,
        })
        .collect()
}

const VENDOR: &[u8; 12] = b"QvmDetermCPU";
const BRAND: &[u8; 48] = b"qvm deterministic x86-64 CPU\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0";

/// Family 6, model 0x1a, stepping 5 (a Nehalem-class core).
const SIGNATURE: u32 = 0x0001_06a5;
const MAX_BASIC: u32 = 7;
const MAX_EXTENDED: u32 = 0x8000_0008;

fn word(bytes: &[u8], index: usize) -> u32 {
    let mut w = [0u8; 4];
    if let Some(src) = bytes.get(index * 4..index * 4 + 4) {
        w.copy_from_slice(src);
    }
    u32::from_le_bytes(w)
}

/// Answers CPUID for `leaf` (EAX) and `subleaf` (ECX).
pub fn cpuid(leaf: u32, subleaf: u32) -> CpuidResult {
    match leaf {
        0 => CpuidResult {
            eax: MAX_BASIC,
            ebx: word(VENDOR, 0),
            edx: word(VENDOR, 1),
            ecx: word(VENDOR, 2),
        },
        // EBX: CLFLUSH line size 8 qwords, one logical processor, APIC id 0.
        1 => CpuidResult {
            eax: SIGNATURE,
            ebx: 0x0001_0800,
            ecx: LEAF1_ECX,
            edx: LEAF1_EDX,
        },
        // Cache descriptors: AL = 1 ("call once") as on every real CPU, no
        // descriptors. Runtimes loop `while (--count)` on AL, so 0 would
        // mean 2^32 iterations.
        2 => CpuidResult {
            eax: 1,
            ..Default::default()
        },
        // Structured extended features: subleaf 0 only (EAX = 0 says
        // there is no other).
        7 if subleaf == 0 => CpuidResult {
            eax: 0,
            ebx: LEAF7_EBX,
            ecx: LEAF7_ECX,
            edx: LEAF7_EDX,
        },
        0x8000_0000 => CpuidResult {
            eax: MAX_EXTENDED,
            ..Default::default()
        },
        0x8000_0001 => CpuidResult {
            ecx: EXT1_ECX,
            edx: EXT1_EDX,
            ..Default::default()
        },
        0x8000_0002..=0x8000_0004 => {
            let base = ((leaf - 0x8000_0002) * 4) as usize;
            CpuidResult {
                eax: word(BRAND, base),
                ebx: word(BRAND, base + 1),
                ecx: word(BRAND, base + 2),
                edx: word(BRAND, base + 3),
            }
        }
        // 48-bit virtual, 40-bit physical addresses.
        0x8000_0008 => CpuidResult {
            eax: 0x3028,
            ebx: EXT8_EBX,
            ..Default::default()
        },
        _ => CpuidResult::default(),
    }
}

/// The leaves a backend that preloads a table (KVM) must install.
pub fn leaves() -> Vec<(u32, CpuidResult)> {
    (0..=MAX_BASIC)
        .chain(0x8000_0000..=MAX_EXTENDED)
        .map(|l| (l, cpuid(l, 0)))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::BTreeSet;

    #[test]
    fn vendor() {
        let r = cpuid(0, 0);
        let mut v = Vec::new();
        for w in [r.ebx, r.edx, r.ecx] {
            v.extend_from_slice(&w.to_le_bytes());
        }
        assert_eq!(&v, VENDOR);
        assert_eq!(r.eax, 7, "highest basic leaf");
        assert_eq!(cpuid(2, 0).eax & 0xff, 1, "leaf 2 must be called once");
    }

    /// The values contracts and libcs branch on, pinned: a change to the
    /// table that moves them must show up here.
    #[test]
    fn feature_words_are_pinned() {
        let cases: &[(u32, u32, CpuidResult)] = &[
            // SSE3 PCLMULQDQ SSSE3 CX16 SSE4.1 SSE4.2 MOVBE POPCNT AES.
            (
                1,
                0,
                CpuidResult {
                    eax: 0x0001_06a5,
                    ebx: 0x0001_0800,
                    ecx: 0x02d8_2203,
                    edx: 0x0789_a371,
                },
            ),
            // BMI1 BMI2 ADX.
            (
                7,
                0,
                CpuidResult {
                    eax: 0,
                    ebx: 0x0008_0108,
                    ecx: 0,
                    edx: 0,
                },
            ),
            (7, 1, CpuidResult::default()),
            (
                0x8000_0000,
                0,
                CpuidResult {
                    eax: 0x8000_0008,
                    ..Default::default()
                },
            ),
            // LAHF, LZCNT; SYSCALL NX RDTSCP LM.
            (
                0x8000_0001,
                0,
                CpuidResult {
                    ecx: 0x21,
                    edx: 0x2810_0800,
                    ..Default::default()
                },
            ),
            (
                0x8000_0008,
                0,
                CpuidResult {
                    eax: 0x3028,
                    ..Default::default()
                },
            ),
            (0xd, 0, CpuidResult::default()),
            (0x4000_0000, 0, CpuidResult::default()),
        ];
        for &(leaf, subleaf, want) in cases {
            assert_eq!(cpuid(leaf, subleaf), want, "leaf {leaf:#x}.{subleaf}");
        }
        assert_eq!(leaves().len(), 8 + 9);
    }

    #[test]
    fn nothing_outside_the_lists_is_advertised() {
        let f = cpuid(1, 0);
        for (bit, what) in [
            (3, "MONITOR"),
            (12, "FMA"),
            (26, "XSAVE"),
            (27, "OSXSAVE"),
            (28, "AVX"),
            (29, "F16C"),
            (30, "RDRAND"),
            (31, "hypervisor"),
        ] {
            assert_eq!(f.ecx & (1 << bit), 0, "{what}");
        }
        assert_eq!(f.edx & (1 << 11), 0, "SEP: SYSENTER differs by vendor");
        let s = cpuid(7, 0);
        for (bit, what) in [
            (0, "FSGSBASE"),
            (2, "SGX"),
            (4, "HLE"),
            (5, "AVX2"),
            (11, "RTM"),
            (16, "AVX512F"),
            (18, "RDSEED"),
            (23, "CLFLUSHOPT"),
            (24, "CLWB"),
        ] {
            assert_eq!(s.ebx & (1 << bit), 0, "{what}");
        }
        let e = cpuid(0x8000_0001, 0);
        for (bit, what) in [
            (6, "SSE4a"),
            (8, "PREFETCHW"),
            (11, "XOP"),
            (29, "MONITORX"),
        ] {
            assert_eq!(e.ecx & (1 << bit), 0, "{what}");
        }
    }

    #[test]
    fn every_advertised_bit_is_a_feature_of_the_table() {
        for f in FEATURES {
            if let Some(c) = f.cpuid {
                let on = cpuid(c.leaf, c.subleaf).reg(c.reg) & (1 << c.bit) != 0;
                assert_eq!(on, f.category.advertised(), "{}", f.name);
            }
        }
    }

    #[test]
    fn table_is_consistent() {
        let mut ids = BTreeSet::new();
        let mut bits = BTreeSet::new();
        for f in FEATURES {
            assert!(ids.insert(f.id), "{:?} listed twice", f.id);
            assert_eq!(feature(f.id).id, f.id);
            if let Some(c) = f.cpuid {
                assert!(
                    bits.insert((c.leaf, c.subleaf, c.reg as u8, c.bit)),
                    "{}: bit used twice",
                    f.name
                );
            }
            let rule_fits = match f.category {
                Category::Baseline | Category::Required => f.check == CheckRule::Pass,
                Category::Hidden => f.check == CheckRule::Warn,
                Category::Hazard => matches!(f.check, CheckRule::Fail | CheckRule::Note),
            };
            assert!(rule_fits, "{}: {:?} with {:?}", f.name, f.category, f.check);
            assert!(
                !f.reason.is_empty() && !f.reason.contains('\n') && !f.reason.contains('|'),
                "{}",
                f.name
            );
        }
        // Every Id has its row.
        assert_eq!(ids.len(), Id::Unclassified as usize + 1);
    }

    #[test]
    fn missing_on_host_names_what_a_host_lacks() {
        let everything = |leaf, subleaf| Some(cpuid(leaf, subleaf));
        assert!(missing_on_host(everything).is_empty());
        let no_adx = |leaf, subleaf| {
            let mut r = cpuid(leaf, subleaf);
            if leaf == 7 {
                r.ebx &= !(1 << 19);
            }
            Some(r)
        };
        let names: Vec<_> = missing_on_host(no_adx).iter().map(|f| f.id).collect();
        assert_eq!(names, [Id::Adx]);
        let no_leaf7 = |leaf, subleaf| (leaf != 7).then(|| cpuid(leaf, subleaf));
        let names: Vec<_> = missing_on_host(no_leaf7).iter().map(|f| f.id).collect();
        assert_eq!(names, [Id::Bmi1, Id::Bmi2, Id::Adx]);
    }
}
