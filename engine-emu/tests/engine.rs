//! The emulator engine on hand-assembled programs: the syscall ABI and
//! fault reporting, without any libc in the way.

use qvm_common::call::{CallSpec, Outcome, Process};
use qvm_common::engine::Access;
use qvm_common::test_elf;
use qvm_engine_emu::EmuEngine;

/// Runs raw x86-64 `code` placed at 0x401000 (the builder's entry point).
fn run(code: &[u8]) -> Outcome {
    let headers = 64 + 56;
    let mut body = vec![0u8; 0x1000 - headers];
    body.extend_from_slice(code);
    let len = (headers + body.len()) as u64;
    let elf = test_elf::build(2, &[(1, 5, 0, 0x400000, len, len)], &body);
    let mut spec = CallSpec::new(elf, "raw");
    spec.memory_limit = 16 << 20;
    let process = Process::new(&spec).unwrap();
    let mut engine = EmuEngine::new(process.memory().clone()).unwrap();
    process.run(&mut engine).unwrap()
}

const EXIT_WITH_EDI: &[u8] = &[0xb8, 0x3c, 0, 0, 0, 0x0f, 0x05]; // mov eax,60; syscall

#[test]
fn syscall_leaves_rcx_and_r11_as_linux_does() {
    let mut code = vec![
        0xb8, 0x27, 0, 0, 0, // 401000: mov eax, 39 (getpid)
        0x0f, 0x05, // 401005: syscall -> RCX = 0x401007, R11 = RFLAGS
        0x9c, // 401007: pushfq
        0x58, // 401008: pop rax
        0x4c, 0x31, 0xd8, // 401009: xor rax, r11
        0x48, 0x8d, 0x15, 0xf4, 0xff, 0xff, 0xff, // 40100c: lea rdx, [rip-12] = 0x401007
        0x48, 0x31, 0xca, // 401013: xor rdx, rcx
        0x48, 0x09, 0xd0, // 401016: or rax, rdx
        0x48, 0x83, 0xf8, 0x01, // cmp rax, 1
        0x19, 0xff, // sbb edi, edi
        0xff, 0xc7, // inc edi: 0 when both matched, else 1
    ];
    code.extend_from_slice(EXIT_WITH_EDI);
    let o = run(&code);
    assert_eq!(o.exit_code, Some(0), "{o:?}");
    assert_eq!(o.syscalls, 2);
}

#[test]
fn syscall_result_is_in_rax() {
    let mut code = vec![
        0xb8, 0x27, 0, 0, 0, // mov eax, 39 (getpid)
        0x0f, 0x05, // syscall
        0x89, 0xc7, // mov edi, eax
    ];
    code.extend_from_slice(EXIT_WITH_EDI);
    assert_eq!(run(&code).exit_code, Some(2), "qvm's fixed pid");
}

#[test]
fn write_fault_reports_the_address() {
    // mov byte [0x12345678], 1
    let o = run(&[0xc6, 0x04, 0x25, 0x78, 0x56, 0x34, 0x12, 0x01]);
    assert_eq!(o.signal, Some(11));
    let f = o.fault.unwrap();
    assert_eq!(
        (f.kind, f.address, f.access),
        ("memory", 0x12345678, Some(Access::Write))
    );
}

#[test]
fn write_to_code_faults_with_its_address() {
    // mov byte [0x401000], 0xcc: the code segment is read/execute only.
    let o = run(&[0xc6, 0x04, 0x25, 0x00, 0x10, 0x40, 0x00, 0xcc]);
    let f = o.fault.unwrap();
    assert_eq!((f.address, f.access), (0x401000, Some(Access::Write)));
}

#[test]
fn jump_to_unmapped_and_to_zero_fault_on_fetch() {
    // mov eax, 0x20000000; jmp rax
    let o = run(&[0xb8, 0x00, 0x00, 0x00, 0x20, 0xff, 0xe0]);
    let f = o.fault.unwrap();
    assert_eq!((f.address, f.access), (0x2000_0000, Some(Access::Execute)));
    // xor eax, eax; jmp rax
    let o = run(&[0x31, 0xc0, 0xff, 0xe0]);
    let f = o.fault.unwrap();
    assert_eq!((f.address, f.access), (0, Some(Access::Execute)));
}

#[test]
fn divide_error_and_invalid_opcode() {
    // xor ecx, ecx; div ecx
    let o = run(&[0x31, 0xc9, 0xf7, 0xf1]);
    assert_eq!((o.signal, o.fault.unwrap().kind), (Some(8), "divide_error"));
    // ud2
    let o = run(&[0x0f, 0x0b]);
    assert_eq!((o.signal, o.fault.unwrap().address), (Some(4), 0x401000));
}

#[test]
fn int3_reports_the_address_after_it() {
    // nop; int3: Linux (and a #BP trap frame on KVM) report the RIP after int3.
    let o = run(&[0x90, 0xcc]);
    let f = o.fault.unwrap();
    assert_eq!(
        (o.signal, f.kind, f.address),
        (Some(5), "breakpoint", 0x401002)
    );
}
