//! Metering (docs/gas.md): exact instruction counts and out-of-gas verdicts
//! on hand-assembled programs, each run several times to prove the same
//! verdict and figure every time. Only the emulator meters; KVM refuses a
//! metered call.

mod support;

use qvm::{BackendChoice, CallSpec, Outcome};
use qvm_common::kernel::gas::{cost, KILL_OUT_OF_GAS};
use qvm_common::test_elf;
use support::*;

/// A call of raw x86-64 `code` placed at 0x401000 (the builder's entry).
fn spec(code: &[u8], gas_limit: Option<u64>) -> CallSpec {
    let mut spec = CallSpec::new(test_elf::with_code(code), "gas");
    spec.memory_limit = 16 << 20;
    spec.call.trace = true;
    spec.call.gas_limit = gas_limit;
    spec
}

/// Runs the call three times on the emulator; every outcome must be the
/// same.
fn run(code: &[u8], gas_limit: Option<u64>) -> Outcome {
    let spec = spec(code, gas_limit);
    let first = qvm::run(&spec, BackendChoice::Emu).expect("call");
    for _ in 0..2 {
        let again = qvm::run(&spec, BackendChoice::Emu).expect("call");
        assert_eq!(again, first, "a repeated call differs");
    }
    first
}

/// Gas the call spends before its first instruction: the memory committed
/// for its image and stack.
fn startup_gas(code: &[u8]) -> u64 {
    let o = run(code, Some(0));
    assert_eq!(o.gas.instructions, Some(0));
    let pages = o.memory.peak.div_ceil(4096);
    pages * cost::PAGE
}

fn assert_out_of_gas(o: &Outcome, limit: u64, instructions: u64) {
    assert_eq!(o.signal, Some(9), "{o:?}");
    assert_eq!(o.kill_reason.as_deref(), Some(KILL_OUT_OF_GAS));
    assert!(o.failed);
    assert!(o.state.writes.is_empty());
    assert_eq!(o.gas.limit, Some(limit));
    assert_eq!(o.gas.used, Some(limit), "gas used is the limit");
    assert_eq!(
        o.gas.instructions,
        Some(instructions),
        "instructions retired"
    );
}

const EXIT_0: &[u8] = &[0x31, 0xff, 0xb8, 0x3c, 0, 0, 0, 0x0f, 0x05]; // xor edi,edi; mov eax,60; syscall

#[test]
fn an_infinite_loop_ends_out_of_gas_after_exactly_its_budget() {
    let code = [0xeb, 0xfe]; // jmp $
    let start = startup_gas(&code);
    for n in [0, 1, 2, 1000, 123_457] {
        let o = run(&code, Some(start + n));
        assert_out_of_gas(&o, start + n, n);
    }
}

#[test]
fn an_infinite_syscall_loop_pays_for_every_syscall() {
    // again: mov eax, 110 (getppid); syscall; jmp again
    let code = [0xb8, 0x6e, 0, 0, 0, 0x0f, 0x05, 0xeb, 0xf7];
    let start = startup_gas(&code);
    for extra in [0, 2, 3, 1002, 1003, 1004, 50_000, 50_001] {
        let limit = start + extra;
        let o = run(&code, Some(limit));
        // The definition, step by step: each instruction needs one unit
        // left; each syscall is charged after it ran.
        let (mut gas, mut insns, mut syscalls) = (start, 0u64, 0u64);
        'model: loop {
            for is_syscall in [false, true, false] {
                if gas + 1 > limit {
                    break 'model;
                }
                gas += 1;
                insns += 1;
                if is_syscall {
                    syscalls += 1;
                    gas += cost::SYSCALL;
                    if gas > limit {
                        break 'model;
                    }
                }
            }
        }
        assert_out_of_gas(&o, limit, insns);
        assert_eq!(o.syscalls, syscalls, "limit {limit}");
        let trace = o.trace.as_ref().unwrap();
        for (i, entry) in trace.iter().enumerate() {
            assert_eq!(entry.instructions, Some(3 * i as u64 + 2), "trace[{i}]");
        }
    }
}

#[test]
fn deep_recursion_runs_out_of_gas_or_out_of_stack_the_same_way_every_time() {
    let code = [0xe8, 0xfb, 0xff, 0xff, 0xff]; // again: call again
    let start = startup_gas(&code);
    let o = run(&code, Some(start + 10_000));
    assert_out_of_gas(&o, start + 10_000, 10_000);
    // Unlimited, the 8 MiB stack overflows: each call retired pushed 8
    // bytes; the one that faults counts nothing.
    let o = run(&code, None);
    assert_eq!(o.signal, Some(11), "{o:?}");
    let calls = o.gas.instructions.unwrap();
    assert!(
        (1_000_000..=(8 << 20) / 8).contains(&calls),
        "{calls} calls before the stack overflowed"
    );
    assert_eq!(o.gas.limit, None);
    assert_eq!(o.gas.used, Some(start + calls));
}

#[test]
fn a_rep_string_instruction_runs_out_in_the_middle() {
    let mut code = vec![
        0xb9, 0xe8, 0x03, 0, 0, // mov ecx, 1000
        0x48, 0x8d, 0xbc, 0x24, 0x00, 0xf0, 0xff, 0xff, // lea rdi, [rsp-4096]
        0xf3, 0xaa, // rep stosb
    ];
    code.extend_from_slice(EXIT_0);
    let start = startup_gas(&code);
    // Completed: 2 + 1000 iterations + 3, then the exit syscall's cost.
    let o = run(&code, None);
    assert_eq!(o.exit_code, Some(0));
    assert_eq!(o.gas.instructions, Some(1005));
    assert_eq!(o.gas.used, Some(start + 1005 + cost::SYSCALL));
    for n in [2, 3, 500, 1001, 1002] {
        let o = run(&code, Some(start + n));
        assert_out_of_gas(&o, start + n, n);
    }
    // RCX = 0 counts one.
    let mut code = vec![0x31, 0xc9, 0xf3, 0xaa]; // xor ecx, ecx; rep stosb
    code.extend_from_slice(EXIT_0);
    let o = run(&code, None);
    assert_eq!(o.gas.instructions, Some(1 + 1 + 3));
}

#[test]
fn the_budget_can_end_at_a_block_boundary_or_inside_a_block() {
    // Two blocks of ten instructions: nine NOPs and a jump each.
    let mut code = vec![0x90; 9];
    code.extend_from_slice(&[0xeb, 0x00]); // jmp next
    code.extend_from_slice(&[0x90; 9]);
    code.extend_from_slice(&[0xeb, 0xea]); // jmp back to the start
    let start = startup_gas(&code);
    for n in [9, 10, 11, 19, 20, 21, 1_000_001] {
        let o = run(&code, Some(start + n));
        assert_out_of_gas(&o, start + n, n);
    }
}

#[test]
fn faults_count_nothing_and_traps_count_their_instruction() {
    let cases: &[(&[u8], i32, u64)] = &[
        (&[0x90, 0x90, 0x0f, 0x0b], 4, 2), // nop; nop; ud2 -> SIGILL
        (&[0x90, 0x31, 0xc0, 0x48, 0x8b, 0x00], 11, 2), // nop; xor eax,eax; mov rax,[rax]
        (&[0x90, 0xcc], 5, 2),             // nop; int3 -> SIGTRAP after it
        (&[0x90, 0xf4], 11, 1),            // nop; hlt -> #GP
        (&[0x31, 0xc9, 0x31, 0xc0, 0xf7, 0xf1], 8, 2), // xor ecx,ecx; xor eax,eax; div ecx
    ];
    for &(code, signal, instructions) in cases {
        let o = run(code, None);
        assert_eq!(o.signal, Some(signal), "{code:x?}: {o:?}");
        assert_eq!(o.gas.instructions, Some(instructions), "{code:x?}");
    }
}

#[test]
fn the_last_syscall_of_a_call_has_retired_every_instruction() {
    let Some(bin) = build(C_MUSL, "hello.c") else {
        return;
    };
    let mut spec = CallSpec::new(std::fs::read(&bin).unwrap(), "hello");
    spec.call.trace = true;
    let o = qvm::run(&spec, BackendChoice::Emu).unwrap();
    let trace = o.trace.as_ref().unwrap();
    let counts: Vec<u64> = trace.iter().map(|e| e.instructions.unwrap()).collect();
    assert!(counts.windows(2).all(|w| w[0] < w[1]), "{counts:?}");
    assert_eq!(counts.last().copied(), o.gas.instructions);
    assert_eq!(o, qvm::run(&spec, BackendChoice::Emu).unwrap());
}

#[test]
fn kvm_refuses_a_metered_call_and_auto_meters_on_the_emulator() {
    let Some(bin) = build(C_MUSL, "hello.c") else {
        return;
    };
    let bin = bin.to_str().unwrap();
    let (status, _, stderr) = qvm_command(&["run", "--backend", "kvm", bin]);
    assert_eq!(status, 125);
    assert!(
        stderr.contains("cannot meter") && stderr.contains("--gas-limit none"),
        "{stderr}"
    );
    assert_eq!(stderr.lines().count(), 1, "{stderr}");
    let (status, stdout, _) = qvm_command(&["run", "--json", bin]);
    assert_eq!(status, 0);
    let doc: serde_json::Value = serde_json::from_str(&stdout).unwrap();
    assert_eq!(doc["schema"], 3);
    assert_eq!(doc["backend"], "emu");
    assert_eq!(doc["gas"]["limit"], 100_000_000_000u64);
    assert!(doc["gas"]["instructions"].as_u64().unwrap() > 100);
    let (status, stdout, _) = qvm_command(&["run", "--json", "--gas-limit", "none", bin]);
    assert_eq!(status, 0);
    let doc: serde_json::Value = serde_json::from_str(&stdout).unwrap();
    assert!(doc["gas"]["limit"].is_null());
}

#[test]
fn out_of_gas_in_pass_through_mode_says_so() {
    let Some(bin) = build(C_MUSL, "hello.c") else {
        return;
    };
    let (status, stdout, stderr) =
        qvm_command(&["run", "--gas-limit", "1000", bin.to_str().unwrap()]);
    assert_eq!(status, 137);
    assert_eq!(stdout, "");
    assert_eq!(stderr, "qvm: call killed: out of gas\n");
    let (status, _, stderr) = qvm_command(&["run", "--gas-limit", "lots", "x"]);
    assert_eq!(status, 125, "{stderr}");
    assert!(stderr.contains("invalid gas limit 'lots'"), "{stderr}");
}
