//! `docs/cpu-profile.md`, rendered from the feature table so the page
//! cannot drift from what CPUID answers (`doc_is_current` below fails
//! while the committed page is stale).

use super::features::{Category, CpuidBit, FEATURES};
use super::{cpuid, leaves};

/// The generated page, relative to the workspace root.
pub const PAGE: &str = "docs/cpu-profile.md";

/// `leaf.subleaf.REG[bit]`, as the tables show a CPUID location.
pub fn location(c: &CpuidBit) -> String {
    let leaf = format!("{:X}h", c.leaf);
    let sub = if c.leaf == 7 {
        format!(".{}", c.subleaf)
    } else {
        String::new()
    };
    format!("{leaf}{sub}:{}[{}]", c.reg.name(), c.bit)
}

fn section(out: &mut String, category: Category, title: &str, intro: &str) {
    out.push_str(&format!("\n## {title}\n\n{intro}\n\n"));
    out.push_str("| feature | instructions | CPUID | `qvm check` | why |\n|---|---|---|---|---|\n");
    for f in FEATURES.iter().filter(|f| f.category == category) {
        let cpuid = f.cpuid.as_ref().map_or("—".to_string(), location);
        let instructions = if f.instructions.is_empty() {
            "—"
        } else {
            f.instructions
        };
        out.push_str(&format!(
            "| {} | {} | {} | {} | {} |\n",
            f.name,
            instructions,
            cpuid,
            f.check.name(),
            f.reason
        ));
    }
}

/// The whole page.
pub fn markdown() -> String {
    let mut out = String::from(
        "# CPU profile\n\n\
         Generated from `common/src/cpu_profile/features.rs` (`cargo test -p qvm-common cpu_profile`\n\
         checks it; run it with `QVM_BLESS=1` to regenerate).\n\n\
         Every backend presents one virtual CPU. CPUID alone does not pin a KVM guest: the CPU\n\
         executes many instructions whatever the guest's CPUID says. So every feature qvm takes a\n\
         position on is on one of four lists:\n\n\
         - **baseline**: x86-64 as every accepted host has it; advertised in CPUID;\n\
         - **required**: advertised; the emulator implements them exactly, and the KVM engine\n  \
           refuses a host whose KVM lacks one (naming it), because no control can hide them;\n\
         - **hidden**: not advertised, and #UD (SIGILL) on both backends: a hardware control turns\n  \
           them off on KVM (XCR0 = x87|SSE with CR4.OSXSAVE clear, other CR4 bits, VMX controls,\n  \
           intercepts) and the emulator refuses them;\n\
         - **hazards**: not advertised, and neither backend can hide them or make them identical;\n  \
           each says what qvm does about it.\n\n\
         The `qvm check` column is what `qvm check` ([README](../README.md#checking-a-contract-qvm-check))\n\
         does with an instruction that needs the feature: **pass** (not reported), **warn**\n\
         (reported; it raises #UD identically everywhere), **fail** (reported; exit status 1) or\n\
         **note** (listed and counted, not failed).\n\n\
         ## CPUID\n\n\
         The leaves answered (every other leaf and subleaf reads as zeros; no hypervisor leaves).\n\
         Vendor `QvmDetermCPU`, family 6 model 0x1a stepping 5, one logical processor. `AT_HWCAP`\n\
         is leaf 1's EDX.\n\n\
         | leaf | EAX | EBX | ECX | EDX |\n|---|---|---|---|---|\n",
    );
    for (leaf, r) in leaves() {
        // The brand string and vendor are text; the rest are numbers.
        if (0x8000_0002..=0x8000_0004).contains(&leaf) {
            continue;
        }
        out.push_str(&format!(
            "| {leaf:X}h | {:#010x} | {:#010x} | {:#010x} | {:#010x} |\n",
            r.eax, r.ebx, r.ecx, r.edx
        ));
    }
    let brand = (0x8000_0002u32..=0x8000_0004)
        .flat_map(|l| {
            let r = cpuid(l, 0);
            [r.eax, r.ebx, r.ecx, r.edx]
        })
        .flat_map(u32::to_le_bytes)
        .take_while(|&b| b != 0)
        .map(char::from)
        .collect::<String>();
    out.push_str(&format!(
        "\nLeaves 80000002h-80000004h hold the brand string `{brand}`.\n"
    ));
    section(
        &mut out,
        Category::Baseline,
        "Baseline",
        "Advertised. The system features (MSR, PAE, PGE, PAT) describe the ring-0 side and are\n\
         invisible to a contract.",
    );
    section(
        &mut out,
        Category::Required,
        "Required",
        "Advertised. Each runs on a KVM host whatever CPUID says, so the emulator must match the\n\
         CPU exactly and a host without one is refused: `--backend kvm` fails with\n\
         `backend kvm is not available: ... lacks required CPU features: ...`, and `--backend auto`\n\
         falls back to the emulator. Together they admit Intel Ice Lake and later (and Gracemont-class\n\
         Atom cores) and AMD Zen and later.",
    );
    section(
        &mut out,
        Category::Hidden,
        "Hidden",
        "Not advertised; #UD (SIGILL) on both backends.",
    );
    section(
        &mut out,
        Category::Hazard,
        "Hazards",
        "Not advertised, and not identical on every host or between the backends. A contract that\n\
         never executes them is unaffected; `qvm check` finds them in a contract's code.",
    );
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::path::Path;

    #[test]
    fn doc_is_current() {
        let path = Path::new(concat!(env!("CARGO_MANIFEST_DIR"), "/..")).join(PAGE);
        let want = markdown();
        if std::env::var_os("QVM_BLESS").is_some() {
            std::fs::write(&path, &want).unwrap();
        }
        let have = std::fs::read_to_string(&path).unwrap_or_default();
        assert!(
            have == want,
            "{PAGE} is stale: run `QVM_BLESS=1 cargo test -p qvm-common cpu_profile`"
        );
    }

    #[test]
    fn locations_read_as_in_the_manuals() {
        let sha = super::super::feature(super::super::Id::Sha).cpuid.unwrap();
        assert_eq!(location(&sha), "7h.0:EBX[29]");
        let lzcnt = super::super::feature(super::super::Id::Lzcnt)
            .cpuid
            .unwrap();
        assert_eq!(location(&lzcnt), "80000001h:ECX[5]");
    }
}
