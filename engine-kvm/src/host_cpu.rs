//! Whether this host's KVM can present qvm's CPU: the profile's baseline
//! and required features run in a guest whatever its CPUID says, so a
//! host without one would run a different CPU. Such a host is refused,
//! naming what it lacks (`--backend auto` then falls back to the emulator).

use kvm_bindings::{kvm_cpuid_entry2, KVM_CPUID_FLAG_SIGNIFCANT_INDEX, KVM_MAX_CPUID_ENTRIES};
use kvm_ioctls::Kvm;
use qvm_common::cpu_profile::{self, CpuidResult, Feature};
use qvm_common::engine::EngineError;

use crate::NAME;

/// The profile's advertised features missing from a table of
/// KVM_GET_SUPPORTED_CPUID entries.
pub fn missing(supported: &[kvm_cpuid_entry2]) -> Vec<&'static Feature> {
    cpu_profile::missing_on_host(|leaf, subleaf| {
        supported
            .iter()
            .find(|e| {
                e.function == leaf
                    && (e.flags & KVM_CPUID_FLAG_SIGNIFCANT_INDEX == 0 || e.index == subleaf)
            })
            .map(|e| CpuidResult {
                eax: e.eax,
                ebx: e.ebx,
                ecx: e.ecx,
                edx: e.edx,
            })
    })
}

/// The refusal for a host lacking `missing` (empty: none).
pub fn refusal(missing: &[&Feature]) -> Option<EngineError> {
    if missing.is_empty() {
        return None;
    }
    let names: Vec<&str> = missing.iter().map(|f| f.name).collect();
    Some(EngineError::Unavailable(
        NAME,
        format!(
            "this host's KVM lacks required CPU features: {} (docs/cpu-profile.md); use --backend emu",
            names.join(", ")
        ),
    ))
}

/// Refuses a host whose KVM cannot give the guest every advertised feature.
pub fn check(kvm: &Kvm) -> Result<(), EngineError> {
    let supported = kvm
        .get_supported_cpuid(KVM_MAX_CPUID_ENTRIES)
        .map_err(|e| EngineError::Unavailable(NAME, format!("cannot read KVM's CPUID: {e}")))?;
    match refusal(&missing(supported.as_slice())) {
        Some(e) => Err(e),
        None => Ok(()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use qvm_common::cpu_profile::Id;

    /// KVM's table for a host with exactly the profile's features.
    fn table() -> Vec<kvm_cpuid_entry2> {
        cpu_profile::leaves()
            .into_iter()
            .map(|(leaf, r)| crate::cpuid_entry(leaf, r))
            .collect()
    }

    fn ids(missing: &[&Feature]) -> Vec<Id> {
        missing.iter().map(|f| f.id).collect()
    }

    #[test]
    fn a_host_with_the_profile_is_accepted() {
        assert!(missing(&table()).is_empty());
        assert!(refusal(&missing(&table())).is_none());
    }

    #[test]
    fn a_host_with_more_is_accepted() {
        let mut t = table();
        for e in &mut t {
            e.eax = !0;
            e.ebx = !0;
            e.ecx = !0;
            e.edx = !0;
        }
        assert!(missing(&t).is_empty());
    }

    #[test]
    fn each_missing_feature_is_named() {
        // (leaf, register, bit cleared, what goes missing): a host without
        // BMI1, a pre-Broadwell host, a host without LZCNT.
        type Register = fn(&mut kvm_cpuid_entry2) -> &mut u32;
        let cases: &[(u32, Register, u32, &[Id])] = &[
            (7, |e| &mut e.ebx, 1 << 3, &[Id::Bmi1]),
            (
                7,
                |e| &mut e.ebx,
                (1 << 8) | (1 << 19),
                &[Id::Bmi2, Id::Adx],
            ),
            (0x8000_0001, |e| &mut e.ecx, 1 << 5, &[Id::Lzcnt]),
            (0x8000_0001, |e| &mut e.edx, 1 << 27, &[Id::Rdtscp]),
            (
                1,
                |e| &mut e.ecx,
                (1 << 22) | (1 << 25),
                &[Id::Movbe, Id::Aes],
            ),
        ];
        for (leaf, reg, clear, want) in cases {
            let mut t = table();
            for e in t.iter_mut().filter(|e| e.function == *leaf) {
                *reg(e) &= !clear;
            }
            assert_eq!(
                ids(&missing(&t)),
                *want,
                "leaf {leaf:#x} without {clear:#x}"
            );
        }
    }

    #[test]
    fn leaf_7_is_read_at_subleaf_0() {
        // A table whose leaf 7 subleaf 1 comes first, without the bits.
        let mut t = table();
        t.insert(
            0,
            kvm_cpuid_entry2 {
                function: 7,
                index: 1,
                flags: KVM_CPUID_FLAG_SIGNIFCANT_INDEX,
                ..Default::default()
            },
        );
        assert!(missing(&t).is_empty());
        t.retain(|e| e.function != 7);
        assert_eq!(
            ids(&missing(&t)),
            [Id::Bmi1, Id::Bmi2, Id::Adx],
            "no leaf 7 at all"
        );
    }

    #[test]
    fn the_refusal_names_the_features() {
        let mut t = table();
        for e in t.iter_mut().filter(|e| e.function == 7) {
            e.ebx &= !(1 << 19);
        }
        let e = refusal(&missing(&t)).expect("refused");
        assert!(matches!(e, EngineError::Unavailable("kvm", _)));
        assert_eq!(
            e.to_string(),
            "backend kvm is not available: this host's KVM lacks required CPU features: ADX (docs/cpu-profile.md); use --backend emu"
        );
    }
}
