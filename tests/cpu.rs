//! The virtual CPU: CPUID answers from the shared profile, RDTSC is
//! deterministic, instructions outside the profile raise SIGILL, int3
//! raises SIGTRAP.

mod support;

use support::*;

fn probe(name: &str) -> Option<Run> {
    let bin = build(C_GLIBC, "c/cpu.c")?;
    Some(qvm(&bin, &[], &[name], &[], b""))
}

#[test]
fn cpuid_is_the_shared_profile() {
    let Some(r) = probe("cpuid") else { return };
    assert_eq!(
        r.stdout_text(),
        "vendor=QvmDetermCPU avx=0 rdrand=0 sse42=1\n"
    );
}

#[test]
fn rdtsc_is_deterministic_and_advances() {
    let Some(a) = probe("rdtsc") else { return };
    let Some(b) = probe("rdtsc") else { return };
    assert_eq!(a.stdout, b.stdout);
    let text = a.stdout_text();
    let values: Vec<u64> = text
        .trim()
        .trim_start_matches("tsc=")
        .split(',')
        .map(|v| v.parse().unwrap())
        .collect();
    assert!(values[1] > values[0], "{text}");
}

#[test]
fn instructions_outside_the_profile_raise_sigill() {
    for p in ["rdrand", "rdseed", "avx", "avx512", "ud2"] {
        let Some(r) = probe(p) else { return };
        assert_eq!(r.status, 128 + 4, "{p}: {}", r.stdout_text());
        assert!(r.stdout.is_empty(), "{p}");
    }
}

#[test]
fn int3_raises_sigtrap() {
    let Some(r) = probe("int3") else { return };
    assert_eq!(r.status, 128 + 5);
}

#[test]
fn sse_and_popcnt_work() {
    let Some(bin) = build(C_GLIBC, "c/cpu.c") else {
        return;
    };
    assert_same_as_native(&bin, &["sse"], &[], b"");
}
