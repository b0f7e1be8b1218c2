//! The contract runs at CPL 3 with the privilege state Linux gives a
//! process, on every backend: privileged and I/O instructions fault
//! (SIGSEGV), RFLAGS.AC checks alignment (SIGBUS, CR0.AM being set as
//! Linux sets it), SSE instructions that need an aligned operand fault
//! when it is not, instructions the CPU profile hides are SIGILL, and the
//! ones it requires compute what the CPU computes. One C program
//! (`tests/contracts/c/cpl3.c`) holds a case per instruction; the expected
//! outcomes below were measured on native Linux (AMD EPYC), and the
//! emulator variant checks them natively again where the host is the
//! oracle. On KVM every outcome is also compared with the emulator's.

mod support;

use support::*;

const SIGILL: i32 = 4;
const SIGTRAP: i32 = 5;
const SIGBUS: i32 = 7;
const SIGSEGV: i32 = 11;

/// Case name and outcome: the value it prints, or the signal it dies of.
const CASES: &[(&str, Result<&str, i32>)] = &[
    ("cli", Err(SIGSEGV)),
    ("sti", Err(SIGSEGV)),
    ("hlt", Err(SIGSEGV)),
    ("mov_from_cr0", Err(SIGSEGV)),
    ("mov_to_cr4", Err(SIGSEGV)),
    ("mov_to_dr7", Err(SIGSEGV)),
    ("rdmsr", Err(SIGSEGV)),
    ("wrmsr", Err(SIGSEGV)),
    ("in_imm", Err(SIGSEGV)),
    ("out_imm", Err(SIGSEGV)),
    ("in_dx", Err(SIGSEGV)),
    ("insb", Err(SIGSEGV)),
    ("lgdt", Err(SIGSEGV)),
    ("lidt", Err(SIGSEGV)),
    ("lldt", Err(SIGSEGV)),
    ("ltr", Err(SIGSEGV)),
    ("invlpg", Err(SIGSEGV)),
    ("wbinvd", Err(SIGSEGV)),
    ("invd", Err(SIGSEGV)),
    ("clts", Err(SIGSEGV)),
    ("swapgs", Err(SIGSEGV)),
    ("sysret", Err(SIGSEGV)),
    ("sysexit", Err(SIGSEGV)),
    ("int_0x40", Err(SIGSEGV)),
    ("int_4", Err(SIGSEGV)),
    ("sysenter", Err(SIGILL)),
    ("umwait", Err(SIGILL)),
    ("tpause", Err(SIGILL)),
    ("incssp", Err(SIGILL)),
    ("xop", Err(SIGILL)),
    ("salc", Err(SIGILL)),
    ("ud1", Err(SIGILL)),
    ("icebp", Err(SIGTRAP)),
    ("ac_load4", Err(SIGBUS)),
    ("ac_store8", Err(SIGBUS)),
    ("ac_push", Err(SIGBUS)),
    ("ac_movsw", Err(SIGBUS)),
    ("ac_lock_add", Err(SIGBUS)),
    ("ac_movdqu8", Err(SIGBUS)),
    ("ac_movq4", Err(SIGBUS)),
    ("ac_fldt2", Err(SIGBUS)),
    ("ac_fldl4", Err(SIGBUS)),
    ("ac_pcmpistri8", Err(SIGBUS)),
    ("ac_aligned", Ok("0")),
    ("no_ac_misaligned", Ok("0")),
    ("movaps8", Err(SIGSEGV)),
    ("movdqa_store8", Err(SIGSEGV)),
    ("addps8", Err(SIGSEGV)),
    ("pshufb8", Err(SIGSEGV)),
    ("aesenc8", Err(SIGSEGV)),
    ("pclmul8", Err(SIGSEGV)),
    ("movntdq8", Err(SIGSEGV)),
    ("movaps8_ac", Err(SIGSEGV)),
    ("unaligned_ok", Ok("0")),
    ("popf_iopl_if", Ok("200")),
    ("smsw", Ok("80050033")),
    ("smsw_mem", Ok("33")),
    ("str", Ok("40")),
    ("sldt", Ok("0")),
    ("lzcnt1", Ok("3f")),
    ("tzcnt0", Ok("40")),
    ("popcnt", Ok("10")),
    ("andn", Ok("340078")),
    ("bextr", Ok("cde")),
    ("blsi", Ok("10")),
    ("blsmsk", Ok("1f")),
    ("blsr", Ok("1220")),
    ("bzhi", Ok("1fffffffff")),
    ("pdep", Ok("9a00bc00d0e0f000")),
    ("pext", Ok("12569bdf")),
    ("mulx", Ok("121fa00ac")),
    ("rorx", Ok("ef0123456789abcd")),
    ("sarx", Ok("ff00000000000024")),
    ("shlx", Ok("91a00")),
    ("shrx", Ok("100000000000024")),
    ("adcx_adox", Ok("8000000100000004")),
    ("movbe", Ok("78563412")),
    ("aesenc", Ok("1a59a28ffd658d11")),
    ("pclmulqdq", Ok("4040404040404040")),
    ("test_f7_1", Ok("0")),
    ("fences", Ok("0")),
    ("clflushopt_clwb", Ok("0")),
    ("mov_ds_ss", Ok("2b")),
    ("mov_es_user32", Ok("23")),
    ("lretq", Ok("7")),
    ("iretq_same_privilege", Ok("9")),
    ("lar_user_ds", Ok("cff300")),
    ("lar_tss", Ok("40")),
    ("lsl_user_cs", Ok("ffffffff")),
    ("verw_user_ds", Ok("1")),
    ("mov_ds_kernel", Err(SIGSEGV)),
    ("iretq_to_kernel", Err(SIGSEGV)),
    ("read_gdt", Err(SIGSEGV)),
    ("read_noncanonical", Err(SIGSEGV)),
    ("write_noncanonical", Err(SIGSEGV)),
    ("lock_cpuid", Err(SIGILL)),
    ("lock_mov", Err(SIGILL)),
    ("lock_add_register", Err(SIGILL)),
    ("lock_cmp_memory", Err(SIGILL)),
    ("lock_rdtsc", Err(SIGILL)),
    ("lock_rmw_memory", Ok("ffffffffffffffe6")),
    ("rdtsc_prefixed", Ok("0")),
];

/// Cases whose native outcome depends on the host CPU's vendor or model,
/// or on what the host kernel enables (UMIP, SYSENTER_CS): checked under
/// qvm only.
const HOST_DEPENDENT: &[&str] = &[
    "sysenter",
    "xop",
    "tpause",
    "umwait",
    "incssp",
    "clflushopt_clwb",
];

/// Cases the "hardware" under CI's nested KVM gets wrong: there the CPU is
/// QEMU 7.2's TCG, which has no alignment checking (#AC), runs some
/// reserved encodings as other instructions and misplaces one fault. Skipped on KVM in that VM,
/// loudly; the emulator variant checks them on the real CPU.
fn tcg_cannot_run(name: &str) -> bool {
    name.starts_with("ac_")
        || matches!(name, "xop" | "umwait" | "tpause" | "incssp" | "test_f7_1" | "icebp")
        // The nested VM's EPYC (Zen 1) has no CLWB: a host-dependent hazard.
        || name == "clflushopt_clwb"
        // QEMU 7.2's LAR drops the limit's bits 19:16 (fixed in qvm's unicorn).
        || name == "lar_user_ds"
        // QEMU 7.2 runs LOCK CPUID and the like (fixed in qvm's unicorn).
        || (name.starts_with("lock_") && name != "lock_rmw_memory")
        // Its SSE alignment checks miss some forms (AESENC, PHMINPOSUW...).
        || matches!(
            name,
            "movaps8" | "movdqa_store8" | "addps8" | "pshufb8" | "aesenc8" | "pclmul8"
                | "movntdq8" | "movaps8_ac"
        )
        // The #GP of `int N` through a DPL-0 gate is reported past the
        // instruction there (nested SVM without next-RIP saving); a CPU
        // reports the instruction, as the emulator does.
        || name.starts_with("int_")
}

fn nested_under_tcg() -> bool {
    qvm_conformance::native::host_cpu_is_qemu_tcg()
}

fn expected_run(name: &str, outcome: Result<&str, i32>) -> (i32, String) {
    match outcome {
        Ok(value) => (0, format!("{name}={value}\n")),
        Err(signal) => (128 + signal, String::new()),
    }
}

/// The host is a usable oracle: a real AMD CPU, not CI's nested VM (whose
/// "CPU" is QEMU's TCG, which has no alignment checking).
fn host_is_an_oracle() -> bool {
    !nested_under_tcg()
        && std::fs::read_to_string("/proc/cpuinfo").is_ok_and(|c| c.contains("AuthenticAMD"))
}

on_every_backend! {
    fn every_case_ends_as_on_linux(backend) {
        let Some(bin) = build(C_GLIBC, "c/cpl3.c") else { return };
        let check_native = backend == Backend::Emu && host_is_an_oracle();
        if !check_native {
            eprintln!("NOTE: the host is not an AMD CPU running Linux directly: native outcomes not rechecked");
        }
        let skip_tcg = backend == Backend::Kvm && nested_under_tcg();
        let mut wrong = Vec::new();
        let mut skipped = Vec::new();
        for &(name, outcome) in CASES {
            if skip_tcg && tcg_cannot_run(name) {
                skipped.push(name);
                continue;
            }
            let (status, stdout) = expected_run(name, outcome);
            // Named on stderr: a difference between backends panics inside
            // `qvm`, whose message shows only the outcomes.
            eprintln!("case {name}");
            let run = qvm(backend, &bin, &[], &[name], &[], b"");
            if (run.status, run.stdout_text()) != (status, stdout.clone()) {
                wrong.push(format!("{name}: qvm {} {:?}, expected {status} {stdout:?}", run.status, run.stdout_text()));
            }
            if check_native && !HOST_DEPENDENT.contains(&name) {
                let native = native(&bin, &[name], &[], b"");
                if (native.status, native.stdout_text()) != (status, stdout.clone()) {
                    wrong.push(format!("{name}: native {} {:?}, expected {status} {stdout:?}", native.status, native.stdout_text()));
                }
            }
        }
        if !skipped.is_empty() {
            eprintln!("SKIPPED on KVM over QEMU's TCG (no #AC, reserved encodings run as other instructions): {}", skipped.join(", "));
        }
        assert!(wrong.is_empty(), "{} of {} cases differ:\n{}", wrong.len(), CASES.len(), wrong.join("\n"));
    }

    fn rdtscp_reads_the_virtual_clock(backend) {
        // Not native-comparable (the host's TSC): deterministic under qvm,
        // with TSC_AUX 0 (CPU 0), on every backend.
        let Some(bin) = build(C_GLIBC, "c/cpl3.c") else { return };
        let first = qvm(backend, &bin, &[], &["rdtscp"], &[], b"");
        let again = qvm(backend, &bin, &[], &["rdtscp"], &[], b"");
        assert_eq!(first.status, 0, "{}", first.stderr_text());
        assert_eq!(first.stdout, again.stdout);
        let value = first.stdout_text().trim().trim_start_matches("rdtscp=").to_string();
        let value = u64::from_str_radix(&value, 16).unwrap();
        assert_eq!(value >> 32, 0, "TSC_AUX");
    }

    fn faults_name_their_kind_and_instruction(backend) {
        let Some(bin) = build(C_GLIBC, "c/cpl3.c") else { return };
        for (name, kind) in [
            ("cli", "general_protection"),
            ("ac_load4", "alignment"),
            ("movaps8", "general_protection"),
            ("sysenter", "invalid_opcode"),
            ("read_noncanonical", "general_protection"),
            ("write_noncanonical", "general_protection"),
            ("read_gdt", "memory"),
        ] {
            if backend == Backend::Kvm && nested_under_tcg() && tcg_cannot_run(name) {
                eprintln!("SKIPPED on KVM over QEMU's TCG: {name}");
                continue;
            }
            let run = qvm(backend, &bin, &["--json"], &[name], &[], b"");
            let doc: serde_json::Value = serde_json::from_str(&run.stdout_text()).unwrap();
            assert_eq!(doc["fault"]["kind"], kind, "{name}: {doc}");
        }
    }
}
