//! The virtual CPU every backend presents: one CPUID table, answered by
//! both engines (a CPUID hook in unicorn, KVM_SET_CPUID2 on KVM).
//!
//! Baseline x86-64 with SSE through SSE4.2, POPCNT and CX16. No AVX (unicorn
//! cannot run it; KVM gets XCR0 = x87|SSE), no XSAVE, no RDRAND/RDSEED, no
//! TSX, no RDPID, no hypervisor leaves. The vendor string is qvm's own, so
//! no libc takes a vendor-specific path that the other backend would not.

/// Register values of one CPUID leaf.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct CpuidResult {
    pub eax: u32,
    pub ebx: u32,
    pub ecx: u32,
    pub edx: u32,
}

/// CPUID.1:ECX feature bits offered.
pub const LEAF1_ECX: u32 = (1 << 0) // SSE3
    | (1 << 9) // SSSE3
    | (1 << 13) // CMPXCHG16B
    | (1 << 19) // SSE4.1
    | (1 << 20) // SSE4.2
    | (1 << 23); // POPCNT

/// CPUID.1:EDX feature bits offered (also `AT_HWCAP`).
pub const LEAF1_EDX: u32 = (1 << 0) // FPU
    | (1 << 4) // TSC (RDTSC is trapped and deterministic)
    | (1 << 5) // MSR
    | (1 << 6) // PAE
    | (1 << 8) // CX8
    | (1 << 11) // SYSENTER/SYSEXIT present
    | (1 << 13) // PGE
    | (1 << 15) // CMOV
    | (1 << 16) // PAT
    | (1 << 19) // CLFLUSH
    | (1 << 23) // MMX
    | (1 << 24) // FXSAVE/FXRSTOR
    | (1 << 25) // SSE
    | (1 << 26); // SSE2

/// CPUID.80000001h:ECX: LAHF/SAHF in 64-bit mode.
pub const EXT1_ECX: u32 = 1 << 0;
/// CPUID.80000001h:EDX: SYSCALL, NX, long mode.
pub const EXT1_EDX: u32 = (1 << 11) | (1 << 20) | (1 << 29);

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
    let _ = subleaf; // no leaf offered depends on the subleaf
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

    #[test]
    fn vendor_and_features() {
        let r = cpuid(0, 0);
        let mut v = Vec::new();
        for w in [r.ebx, r.edx, r.ecx] {
            v.extend_from_slice(&w.to_le_bytes());
        }
        assert_eq!(&v, VENDOR);
        let f = cpuid(1, 0);
        assert_eq!(f.ecx & (1 << 28), 0, "no AVX");
        assert_eq!(f.ecx & (1 << 30), 0, "no RDRAND");
        assert_eq!(f.ecx & (1 << 27), 0, "no OSXSAVE");
        assert_eq!(f.ecx & (1 << 31), 0, "no hypervisor bit");
        assert_eq!(cpuid(7, 0), CpuidResult::default(), "no AVX2, RDSEED, TSX");
        assert_eq!(cpuid(2, 0).eax & 0xff, 1, "leaf 2 must be called once");
        assert_eq!(cpuid(2, 0).eax & 0xff, 1, "leaf 2 must be called once");
        assert_eq!(leaves().len(), 8 + 9);
    }
}
