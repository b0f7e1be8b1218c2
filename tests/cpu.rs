//! The virtual CPU: CPUID answers from the shared profile, RDTSC is
//! deterministic, instructions outside the profile raise SIGILL, int3
//! raises SIGTRAP, a write to the text segment SIGSEGV. On KVM, every probe
//! is also checked byte for byte against the emulator's outcome.

mod support;

use support::*;

fn host_cpu_is_amd() -> bool {
    std::fs::read_to_string("/proc/cpuinfo").is_ok_and(|c| c.contains("AuthenticAMD"))
}

fn probe(backend: Backend, name: &str) -> Option<Run> {
    let bin = build(C_GLIBC, "c/cpu.c")?;
    Some(qvm(backend, &bin, &[], &[name], &[], b""))
}

on_every_backend! {
    fn cpuid_is_the_shared_profile(backend) {
        let Some(r) = probe(backend, "cpuid") else { return };
        assert_eq!(r.stdout_text(), "vendor=QvmDetermCPU avx=0 rdrand=0 sse42=1\n");
    }

    fn rdtsc_is_deterministic_and_advances(backend) {
        let Some(a) = probe(backend, "rdtsc") else { return };
        let Some(b) = probe(backend, "rdtsc") else { return };
        assert_eq!(a.stdout, b.stdout);
        let text = a.stdout_text();
        let values: Vec<u64> = text.trim().trim_start_matches("tsc=").split(',').map(|v| v.parse().unwrap()).collect();
        assert!(values[1] > values[0], "{text}");
    }

    fn instructions_outside_the_profile_raise_sigill(backend) {
        let mut probes = vec!["avx", "avx512", "ud2"];
        // KVM on Intel traps RDRAND/RDSEED when CPUID hides them (#UD);
        // AMD's SVM has no such intercept, so there they execute. That is
        // a known determinism gap (README, "Known limits").
        if backend == Backend::Kvm && host_cpu_is_amd() {
            eprintln!("NOTE: RDRAND/RDSEED cannot be trapped under AMD SVM; not checked on this host");
        } else {
            probes.extend(["rdrand", "rdseed"]);
        }
        for p in probes {
            let Some(r) = probe(backend, p) else { return };
            assert_eq!(r.status, 128 + 4, "{p}: {}", r.stdout_text());
            assert!(r.stdout.is_empty(), "{p}");
        }
    }

    fn int3_raises_sigtrap(backend) {
        let Some(r) = probe(backend, "int3") else { return };
        assert_eq!(r.status, 128 + 5);
    }

    fn write_to_text_raises_sigsegv(backend) {
        let Some(r) = probe(backend, "write_text") else { return };
        assert_eq!(r.status, 128 + 11);
    }

    fn sse_and_popcnt_work(backend) {
        let Some(bin) = build(C_GLIBC, "c/cpu.c") else { return };
        assert_same_as_native(backend, &bin, &["sse"], &[], b"");
    }
}
