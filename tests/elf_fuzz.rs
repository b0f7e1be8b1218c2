//! Random and mutated ELF files through the loader: every input gives a
//! clean result (a loaded process or a typed error), never a panic.

mod support;

use proptest::prelude::*;
use qvm_common::call::{CallSpec, Process};
use qvm_common::test_elf;

fn seed() -> Vec<u8> {
    support::build(support::C_MUSL, "hello.c")
        .or_else(|| support::build(support::C_GLIBC, "hello.c"))
        .map(|p| std::fs::read(p).unwrap())
        .unwrap_or_else(|| test_elf::build(2, &[(1, 5, 0, 0x400000, 0x200, 0x200)], &[0xcc; 0x200]))
}

fn load(bytes: Vec<u8>) {
    let mut spec = CallSpec::new(bytes, "fuzz");
    spec.call.timeout = Some(qvm_conformance::runner::CALL_TIMEOUT);
    spec.memory_limit = 16 << 20;
    spec.call.args = vec![b"a".to_vec()];
    let _ = Process::new(&spec);
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 10_000, failure_persistence: None, ..ProptestConfig::default() })]

    #[test]
    fn mutated_static_executables(
        edits in prop::collection::vec((0usize..4096, any::<u8>()), 1..12),
        cut in prop::option::of(0usize..8192),
    ) {
        thread_local!(static SEED: Vec<u8> = seed());
        let mut bytes = SEED.with(|s| s.clone());
        for (at, b) in edits {
            if let Some(x) = bytes.get_mut(at) {
                *x = b;
            }
        }
        if let Some(cut) = cut {
            bytes.truncate(cut);
        }
        load(bytes);
    }

    #[test]
    fn random_program_headers(
        phdrs in prop::collection::vec((0u32..8, 0u32..8, 0u64..0x400, any::<u64>(), 0u64..0x400, any::<u64>()), 0..6),
        e_type in prop_oneof![Just(2u16), Just(3u16), any::<u16>()],
    ) {
        load(test_elf::build(e_type, &phdrs, &[0x90; 0x400]));
    }

    #[test]
    fn random_bytes(mut bytes in prop::collection::vec(any::<u8>(), 0..512), magic in any::<bool>()) {
        if magic && bytes.len() >= 6 {
            bytes[..6].copy_from_slice(b"\x7fELF\x02\x01");
        }
        load(bytes);
    }
}
