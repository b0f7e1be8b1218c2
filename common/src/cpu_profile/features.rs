//! The feature table: every x86-64 feature qvm takes a position on, where
//! CPUID reports it, which of the profile's lists it is on and why.
//!
//! CPUID alone does not pin a KVM guest: the CPU executes many instructions
//! whatever the guest's CPUID says. So a feature is on one of four lists:
//! the plain x86-64 *baseline*; *required* features the emulator implements
//! exactly and every KVM host must have, since nothing can hide them;
//! *hidden* features that a hardware control turns off on KVM and the
//! emulator refuses, so they raise #UD on both; and *hazards*, which
//! neither backend can hide or make identical. CPUID advertises exactly the
//! baseline and required features ([`super::cpuid`] is computed from this
//! table), and `qvm check` classifies a contract's instructions with it.

/// A CPUID output register.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Reg {
    Eax,
    Ebx,
    Ecx,
    Edx,
}

impl Reg {
    pub const fn name(self) -> &'static str {
        match self {
            Reg::Eax => "EAX",
            Reg::Ebx => "EBX",
            Reg::Ecx => "ECX",
            Reg::Edx => "EDX",
        }
    }
}

/// Where CPUID reports a feature: one bit of one register of one leaf.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct CpuidBit {
    pub leaf: u32,
    pub subleaf: u32,
    pub reg: Reg,
    pub bit: u8,
}

/// Which list of the profile a feature is on.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Category {
    /// Plain x86-64 as every host has it; advertised.
    Baseline,
    /// Advertised; the emulator implements it exactly; a KVM host must
    /// have it because no control hides it.
    Required,
    /// Not advertised; #UD on both backends.
    Hidden,
    /// Not advertised; neither backend can hide it or make it identical.
    Hazard,
}

impl Category {
    pub const fn name(self) -> &'static str {
        match self {
            Category::Baseline => "baseline",
            Category::Required => "required",
            Category::Hidden => "hidden",
            Category::Hazard => "hazard",
        }
    }

    /// Advertised in CPUID.
    pub const fn advertised(self) -> bool {
        matches!(self, Category::Baseline | Category::Required)
    }
}

/// What `qvm check` does with an instruction that needs the feature.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum CheckRule {
    /// Not reported.
    Pass,
    /// Reported as a warning: it raises #UD identically everywhere.
    Warn,
    /// Reported, and the check fails (exit status 1).
    Fail,
    /// Counted and listed, not failed: the difference needs a condition
    /// compiled code does not create (see the reason).
    Note,
}

impl CheckRule {
    pub const fn name(self) -> &'static str {
        match self {
            CheckRule::Pass => "pass",
            CheckRule::Warn => "warn",
            CheckRule::Fail => "fail",
            CheckRule::Note => "note",
        }
    }
}

/// Names of the features in the table.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Id {
    // Baseline.
    X86_64,
    HintNop,
    Fpu,
    Tsc,
    Msr,
    Apic,
    Pae,
    Cx8,
    Pge,
    Cmov,
    Pat,
    Clflush,
    Mmx,
    Fxsr,
    Sse,
    Sse2,
    Sse3,
    Ssse3,
    Cx16,
    Sse41,
    Sse42,
    Popcnt,
    LahfLm,
    Syscall,
    Nx,
    // Required.
    Pclmulqdq,
    Movbe,
    Aes,
    Bmi1,
    Bmi2,
    Adx,
    Sha,
    Lzcnt,
    Rdtscp,
    // Hidden.
    Avx,
    Avx2,
    Fma,
    F16c,
    Avx512,
    VexOther,
    Xsave,
    MonitorMwait,
    Fsgsbase,
    Pku,
    Waitpkg,
    Rdpru,
    Amx,
    Uintr,
    KeyLocker,
    Amd3dnow,
    XopTbm,
    CetShadowStack,
    Rdpmc,
    Privileged,
    // Hazards.
    Rdrand,
    Rdseed,
    Sse4a,
    Clzero,
    MonitorX,
    Rdpid,
    Movdiri,
    Movdir64b,
    Serialize,
    Clflushopt,
    Clwb,
    Prefetchw,
    Gfni,
    Tsx,
    Sgx,
    Sysenter,
    Hypercall,
    RcpApprox,
    X87Transcendental,
    UndefinedFlags,
    BsfBsrZero,
    Unclassified,
}

/// One row of the table.
#[derive(Clone, Copy, Debug)]
pub struct Feature {
    pub id: Id,
    /// Short name, as in vendor manuals.
    pub name: &'static str,
    /// The instructions it covers, when the name does not say.
    pub instructions: &'static str,
    pub cpuid: Option<CpuidBit>,
    pub category: Category,
    pub check: CheckRule,
    /// Why it is on its list, and for hazards what qvm does about it.
    pub reason: &'static str,
}

const fn bit(leaf: u32, subleaf: u32, reg: Reg, bit: u8) -> Option<CpuidBit> {
    Some(CpuidBit {
        leaf,
        subleaf,
        reg,
        bit,
    })
}

const fn l1(reg: Reg, b: u8) -> Option<CpuidBit> {
    bit(1, 0, reg, b)
}

const fn l7(reg: Reg, b: u8) -> Option<CpuidBit> {
    bit(7, 0, reg, b)
}

const fn e1(reg: Reg, b: u8) -> Option<CpuidBit> {
    bit(0x8000_0001, 0, reg, b)
}

const fn e8(reg: Reg, b: u8) -> Option<CpuidBit> {
    bit(0x8000_0008, 0, reg, b)
}

const fn baseline(
    id: Id,
    name: &'static str,
    instructions: &'static str,
    cpuid: Option<CpuidBit>,
    reason: &'static str,
) -> Feature {
    Feature {
        id,
        name,
        instructions,
        cpuid,
        category: Category::Baseline,
        check: CheckRule::Pass,
        reason,
    }
}

const fn required(
    id: Id,
    name: &'static str,
    instructions: &'static str,
    cpuid: Option<CpuidBit>,
    reason: &'static str,
) -> Feature {
    Feature {
        id,
        name,
        instructions,
        cpuid,
        category: Category::Required,
        check: CheckRule::Pass,
        reason,
    }
}

const fn hidden(
    id: Id,
    name: &'static str,
    instructions: &'static str,
    cpuid: Option<CpuidBit>,
    reason: &'static str,
) -> Feature {
    Feature {
        id,
        name,
        instructions,
        cpuid,
        category: Category::Hidden,
        check: CheckRule::Warn,
        reason,
    }
}

const fn hazard(
    id: Id,
    name: &'static str,
    instructions: &'static str,
    cpuid: Option<CpuidBit>,
    check: CheckRule,
    reason: &'static str,
) -> Feature {
    Feature {
        id,
        name,
        instructions,
        cpuid,
        category: Category::Hazard,
        check,
        reason,
    }
}

use CheckRule::{Fail, Note};
use Reg::{Ebx, Ecx, Edx};

/// The table, in the order the documentation shows it.
#[rustfmt::skip]
pub const FEATURES: &[Feature] = &[
    // Baseline.
    baseline(Id::X86_64, "x86-64", "the 8086-486 integer instructions, 64-bit mode, CPUID, NOP forms", e1(Edx, 29),
        "long mode; every x86-64 CPU"),
    baseline(Id::HintNop, "hint NOPs", "ENDBR32/ENDBR64, RDSSP, CLDEMOTE, the 0F 18-0F 1F hint space", None,
        "execute as NOPs while CET is not enabled (qvm never enables it), on every CPU and in the emulator; CLDEMOTE (0F 1C /0) is a cache hint where CPUID reports it and a hint NOP elsewhere, with no architectural effect either way"),
    baseline(Id::Fpu, "x87", "", l1(Edx, 0), "every x86-64 CPU (its transcendental instructions are a hazard, below)"),
    baseline(Id::Tsc, "TSC", "RDTSC", l1(Edx, 4),
        "RDTSC faults under CR4.TSD on KVM and is hooked in the emulator; both return the virtual clock"),
    baseline(Id::Msr, "MSR", "RDMSR, WRMSR", l1(Edx, 5), "ring 0 only: #GP at CPL 3 on both backends"),
    baseline(Id::Pae, "PAE", "", l1(Edx, 6), "paging of the ring-0 side; invisible at CPL 3"),
    baseline(Id::Apic, "APIC", "", l1(Edx, 9),
        "the local APIC: ring 0 only; KVM reports it whenever the vCPU has one (Go's start-up leaves the bit in a register a syscall shows), and every Linux machine does"),
    baseline(Id::Cx8, "CX8", "CMPXCHG8B", l1(Edx, 8), "every x86-64 CPU"),
    baseline(Id::Pge, "PGE", "", l1(Edx, 13), "paging of the ring-0 side; invisible at CPL 3"),
    baseline(Id::Cmov, "CMOV", "CMOVcc, FCMOVcc, FCOMI", l1(Edx, 15), "every x86-64 CPU"),
    baseline(Id::Pat, "PAT", "", l1(Edx, 16), "paging of the ring-0 side; invisible at CPL 3"),
    baseline(Id::Clflush, "CLFSH", "CLFLUSH", l1(Edx, 19), "every x86-64 CPU; no architectural result"),
    baseline(Id::Mmx, "MMX", "", l1(Edx, 23), "every x86-64 CPU"),
    baseline(Id::Fxsr, "FXSR", "FXSAVE, FXRSTOR", l1(Edx, 24), "every x86-64 CPU; the only FP state save qvm offers"),
    baseline(Id::Sse, "SSE", "", l1(Edx, 25), "x86-64 baseline (RCPPS/RSQRTPS approximations are a hazard, below)"),
    baseline(Id::Sse2, "SSE2", "", l1(Edx, 26), "x86-64 baseline"),
    baseline(Id::Sse3, "SSE3", "", l1(Ecx, 0), "x86-64-v2; every KVM host with the required features has it"),
    baseline(Id::Ssse3, "SSSE3", "", l1(Ecx, 9), "x86-64-v2"),
    baseline(Id::Cx16, "CX16", "CMPXCHG16B", l1(Ecx, 13), "x86-64-v2"),
    baseline(Id::Sse41, "SSE4.1", "", l1(Ecx, 19), "x86-64-v2"),
    baseline(Id::Sse42, "SSE4.2", "", l1(Ecx, 20), "x86-64-v2"),
    baseline(Id::Popcnt, "POPCNT", "", l1(Ecx, 23), "x86-64-v2"),
    baseline(Id::LahfLm, "LAHF/SAHF", "LAHF, SAHF in 64-bit mode", e1(Ecx, 0), "x86-64-v2"),
    baseline(Id::Syscall, "SYSCALL", "SYSCALL (SYSRET is ring 0)", e1(Edx, 11), "the contract's only way into the kernel"),
    baseline(Id::Nx, "NX", "", e1(Edx, 20), "no-execute pages; a fetch from data faults identically on both"),
    // Required.
    required(Id::Pclmulqdq, "PCLMULQDQ", "", l1(Ecx, 1), "no control hides it on KVM; Westmere and Zen and later have it"),
    required(Id::Movbe, "MOVBE", "", l1(Ecx, 22), "no control hides it on KVM; Haswell, Goldmont and Zen and later have it"),
    required(Id::Aes, "AES-NI", "AESENC, AESDEC, AESIMC, AESKEYGENASSIST (legacy encodings)", l1(Ecx, 25),
        "no control hides it on KVM"),
    required(Id::Bmi1, "BMI1", "ANDN, BEXTR, BLSI, BLSMSK, BLSR, TZCNT", l7(Ebx, 3),
        "VEX-encoded but needs no XSAVE state, so XCR0 does not hide it; without BMI1 a CPU runs TZCNT as BSF"),
    required(Id::Bmi2, "BMI2", "BZHI, MULX, PDEP, PEXT, RORX, SARX, SHLX, SHRX", l7(Ebx, 8),
        "VEX-encoded but needs no XSAVE state, so XCR0 does not hide it"),
    required(Id::Adx, "ADX", "ADCX, ADOX", l7(Ebx, 19), "no control hides it on KVM; Broadwell and Zen and later"),
    required(Id::Lzcnt, "LZCNT (ABM)", "LZCNT", e1(Ecx, 5),
        "no control hides it; without it a CPU runs LZCNT as BSR (64-bit LZCNT of 1 is 63, BSR gives 0)"),
    required(Id::Rdtscp, "RDTSCP", "", e1(Edx, 27),
        "faults under CR4.TSD on KVM like RDTSC (VMX enables it only when CPUID has it); returns the virtual clock, TSC_AUX 0"),
    // Hidden.
    hidden(Id::Avx, "AVX", "every VEX-encoded vector instruction", l1(Ecx, 28),
        "#UD on KVM: CR4.OSXSAVE = 0 and XCR0 holds x87 and SSE only; the emulator refuses every VEX form but BMI1/BMI2"),
    hidden(Id::Avx2, "AVX2", "", l7(Ebx, 5), "VEX-encoded: #UD without OSXSAVE/XCR0.YMM, as AVX"),
    hidden(Id::Fma, "FMA", "", l1(Ecx, 12), "VEX-encoded: #UD as AVX"),
    hidden(Id::F16c, "F16C", "", l1(Ecx, 29), "VEX-encoded: #UD as AVX"),
    hidden(Id::Avx512, "AVX-512", "every EVEX-encoded instruction", l7(Ebx, 16),
        "#UD while XCR0 lacks the opmask/ZMM state, on KVM and in the emulator"),
    hidden(Id::VexOther, "other VEX/EVEX", "AVX-VNNI, VAES, VPCLMULQDQ, VEX GFNI, AVX-IFMA and later VEX sets", None,
        "#UD without XCR0.YMM, as AVX"),
    hidden(Id::Xsave, "XSAVE", "XSAVE*, XRSTOR*, XGETBV, XSETBV", l1(Ecx, 26),
        "#UD while CR4.OSXSAVE = 0 (and OSXSAVE, CPUID.1:ECX[27], reads 0)"),
    hidden(Id::MonitorMwait, "MONITOR/MWAIT", "", l1(Ecx, 3),
        "#UD at CPL > 0 on Intel and AMD; the privilege check comes before any VM exit"),
    hidden(Id::Fsgsbase, "FSGSBASE", "RDFSBASE, RDGSBASE, WRFSBASE, WRGSBASE", l7(Ebx, 0),
        "#UD while CR4.FSGSBASE = 0, which qvm never sets; the contract uses arch_prctl"),
    hidden(Id::Pku, "PKU", "RDPKRU, WRPKRU", l7(Ecx, 3), "#UD while CR4.PKE = 0"),
    hidden(Id::Waitpkg, "WAITPKG", "UMONITOR, UMWAIT, TPAUSE", l7(Ecx, 5),
        "KVM clears the VMX 'enable user wait and pause' control when CPUID lacks WAITPKG: #UD; AMD has none"),
    hidden(Id::Rdpru, "RDPRU", "", e8(Ebx, 4),
        "KVM's SVM code always intercepts RDPRU and injects #UD; Intel has no RDPRU"),
    hidden(Id::Amx, "AMX", "LDTILECFG, TILE*, TDP*", l7(Edx, 24), "#UD while XCR0 lacks the tile state"),
    hidden(Id::Uintr, "UINTR", "UIRET, TESTUI, CLUI, STUI, SENDUIPI", l7(Edx, 5), "#UD while CR4.UINTR = 0"),
    hidden(Id::KeyLocker, "Key Locker", "AESENC128KL, ENCODEKEY128, ...", bit(7, 0, Ecx, 23),
        "#UD while CR4.KL = 0"),
    hidden(Id::Amd3dnow, "3DNow!", "0F 0F instructions, FEMMS", e1(Edx, 31),
        "AMD dropped it after family 10h and Intel never had it, so no host with the required features (ADX, BMI2) runs it"),
    hidden(Id::XopTbm, "XOP, TBM, FMA4, LWP", "", e1(Ecx, 11),
        "AMD family 15h only, which lacks the required ADX: no accepted host runs them"),
    hidden(Id::CetShadowStack, "CET shadow stack", "INCSSP, SAVEPREVSSP, RSTORSSP, WRSS, WRUSS, SETSSBSY", l7(Ecx, 7),
        "#UD while CR4.CET = 0 (RDSSP is a hint NOP and stays baseline)"),
    hidden(Id::Rdpmc, "RDPMC", "", None, "#GP at CPL 3 while CR4.PCE = 0, which qvm never sets"),
    hidden(Id::Privileged, "system instructions", "VMX, SVM, SMX, INVPCID, WBNOINVD, PCONFIG, ENCLS, ...", None,
        "ring 0 or VMX root only: #UD or #GP at CPL 3 on both"),
    // Hazards.
    hazard(Id::Rdrand, "RDRAND", "", l1(Ecx, 30), Fail,
        "#UD in the emulator and on Intel KVM hosts (RDRAND exiting, set when CPUID hides it); AMD's SVM cannot intercept it, so there it returns host randomness. qvm: hidden from CPUID; `qvm check` fails"),
    hazard(Id::Rdseed, "RDSEED", "", l7(Ebx, 18), Fail, "as RDRAND (RDSEED exiting on Intel, no intercept on AMD)"),
    hazard(Id::Sse4a, "SSE4a", "EXTRQ, INSERTQ, MOVNTSS, MOVNTSD", e1(Ecx, 6), Fail,
        "every AMD host runs them whatever CPUID says; Intel and the emulator raise #UD. qvm: hidden; `qvm check` fails"),
    hazard(Id::Clzero, "CLZERO", "", e8(Ebx, 0), Fail,
        "AMD Zen zeroes a cache line (a store the contract sees); no intercept; #UD on Intel and in the emulator"),
    hazard(Id::MonitorX, "MONITORX/MWAITX", "", e1(Ecx, 29), Fail,
        "user-mode on AMD: they run (or KVM turns them into NOPs), while Intel and the emulator raise #UD"),
    hazard(Id::Rdpid, "RDPID", "", l7(Ecx, 22), Fail,
        "no intercept (VMX enables it with RDTSCP): reads TSC_AUX = 0 on hosts that have it (Ice Lake, Goldmont Plus, Zen 2 and later), #UD on older hosts and in the emulator"),
    hazard(Id::Movdiri, "MOVDIRI", "", l7(Ecx, 27), Fail,
        "a plain store on hosts that have it (Tremont, Sapphire Rapids and later), #UD elsewhere and in the emulator; no intercept"),
    hazard(Id::Movdir64b, "MOVDIR64B", "", l7(Ecx, 28), Fail, "as MOVDIRI"),
    hazard(Id::Serialize, "SERIALIZE", "", l7(Edx, 14), Fail,
        "no effect on hosts that have it (Alder Lake, Sapphire Rapids and later), #UD elsewhere and in the emulator; no intercept"),
    hazard(Id::Sha, "SHA", "SHA1*, SHA256* (legacy encodings)", l7(Ebx, 29), Fail,
        "no control hides it on KVM: it runs on hosts that have it (Goldmont, Ice Lake, Zen and later) and in the emulator, which computes it as they do; #UD on Skylake to Cascade Lake servers and in CI's nested KVM (QEMU 7.2's TCG). qvm: not advertised"),
    hazard(Id::Clflushopt, "CLFLUSHOPT", "", l7(Ebx, 23), Fail,
        "no architectural result where present (the emulator runs it, checking the address), #UD on hosts without it; no intercept"),
    hazard(Id::Clwb, "CLWB", "", l7(Ebx, 24), Fail, "as CLFLUSHOPT; Ice Lake and Zen 2 and later have it"),
    hazard(Id::Prefetchw, "PREFETCHW", "PREFETCHW (0F 0D /1)", e1(Ecx, 8), Note,
        "a prefetch where present and a NOP on older Intel cores; never faults, no architectural result; the emulator runs it as a NOP"),
    hazard(Id::Gfni, "GFNI (SSE forms)", "GF2P8AFFINEQB, GF2P8AFFINEINVQB, GF2P8MULB (legacy encodings)", l7(Ecx, 8), Fail,
        "legacy-encoded, so XCR0 does not hide them: they run on hosts that have GFNI (Ice Lake, Zen 4 and later), #UD elsewhere and in the emulator"),
    hazard(Id::Tsx, "TSX", "XBEGIN, XEND, XABORT, XTEST, XSUSLDTRK, XRESLDTRK", l7(Ebx, 11), Fail,
        "no VMX control hides RTM: Intel hosts with TSX run transactions (or abort them all when TSX is disabled) instead of #UD, as AMD hosts and the emulator raise"),
    hazard(Id::Sgx, "SGX (ENCLU)", "ENCLU", l7(Ebx, 2), Fail,
        "VMX can intercept ENCLS but not ENCLU: on hosts with SGX enabled ENCLU need not raise #UD (no qvm guest has an enclave, so it can only fault)"),
    hazard(Id::Sysenter, "SYSENTER in 64-bit mode", "SYSENTER, SYSEXIT", l1(Edx, 11), Fail,
        "#GP(0) on Intel (IA32_SYSENTER_CS is 0), #UD on AMD in long mode: SIGSEGV or SIGILL by host vendor. qvm: not advertised"),
    hazard(Id::Hypercall, "VMCALL/VMMCALL", "VMCALL, VMMCALL", None, Fail,
        "KVM handles both (on either vendor) even at CPL 3: RAX = -KVM_EPERM (-1), no fault; the emulator does the same. Natively they fault; KVM's quirk that rewrites the other vendor's encoding in guest memory can still make hosts differ"),
    hazard(Id::RcpApprox, "SSE reciprocal approximations", "RCPPS, RCPSS, RSQRTPS, RSQRTSS", None, Fail,
        "12-bit approximations whose low bits differ between Intel and AMD; the emulator computes the exact quotient"),
    hazard(Id::X87Transcendental, "x87 transcendentals", "FSIN, FCOS, FSINCOS, FPTAN, FPATAN, F2XM1, FYL2X, FYL2XP1", None, Fail,
        "results differ in the last bits between vendors; see known-differences.md for the emulator's"),
    hazard(Id::UndefinedFlags, "undefined flags", "", None, Fail,
        "flags the ISA leaves undefined (AF after logic ops, OF after multi-bit shifts, most after MUL and DIV) differ between vendors and the emulator; `qvm check` fails on an instruction that reads one"),
    hazard(Id::BsfBsrZero, "BSF/BSR of zero", "BSF, BSR", None, Note,
        "the destination is undefined when the source is 0 (Intel SDM); AMD documents it unchanged, which Intel CPUs and the emulator do; compilers test the source first"),
    UNCLASSIFIED,
];

const UNCLASSIFIED: Feature = hazard(
    Id::Unclassified,
    "unclassified",
    "instructions of any feature not listed above",
    None,
    Fail,
    "not in the table, so no claim is made: treated as a hazard until it is classified",
);

/// The row of `id` (every id has one: tested).
pub fn feature(id: Id) -> &'static Feature {
    FEATURES
        .iter()
        .find(|f| f.id == id)
        .unwrap_or(&UNCLASSIFIED)
}
