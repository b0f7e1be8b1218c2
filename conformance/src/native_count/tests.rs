//! The counter on hand-written machine code whose count is known by
//! construction, and on a musl C hello world.

use std::path::PathBuf;

use qvm_common::call::CallSpec;
use qvm_common::test_elf;

use super::*;

const DATA: u64 = 0x60_0000;
const SYS_WRITE: u64 = 1;
const SYS_RT_SIGACTION: u64 = 13;
const SYS_EXIT: u64 = 60;

/// `exit(status)`: mov eax, 60; mov edi, status; syscall (3 instructions).
fn exit(status: u8) -> Vec<u8> {
    vec![0xb8, 60, 0, 0, 0, 0xbf, status, 0, 0, 0, 0x0f, 0x05]
}

/// `mov r32, imm32` for eax..edi (0..7).
fn mov(reg: u8, imm: u32) -> Vec<u8> {
    let mut v = vec![0xb8 + reg];
    v.extend_from_slice(&imm.to_le_bytes());
    v
}
const EAX: u8 = 0;
const ECX: u8 = 1;
const EDX: u8 = 2;
const ESI: u8 = 6;
const EDI: u8 = 7;

/// Writes `elf` to a fresh executable file.
fn executable(name: &str, elf: &[u8]) -> PathBuf {
    use std::os::unix::fs::PermissionsExt;
    let dir = std::env::temp_dir().join(format!("qvm-native-count-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join(name);
    std::fs::write(&path, elf).unwrap();
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o755)).unwrap();
    path
}

fn count_code(name: &str, code: &[u8], data: &[u8]) -> NativeCount {
    let elf = test_elf::code_and_data(code, DATA, data, 0x1000);
    let path = executable(name, &elf);
    let spec = CallSpec::new(elf, name);
    count(&path, &spec, Limits::default()).unwrap_or_else(|e| panic!("{name}: {e}"))
}

struct Case {
    name: &'static str,
    code: Vec<u8>,
    data: Vec<u8>,
    instructions: u64,
    syscalls: Vec<(u64, u64)>,
    /// Signals and the count at each.
    signals: Vec<(i32, u64)>,
    end: End,
}

fn cat(parts: &[&[u8]]) -> Vec<u8> {
    parts.concat()
}

/// `rep movsb` of `rcx` bytes inside the data page, then exit(0).
fn rep_movsb(rcx: u32) -> Vec<u8> {
    cat(&[
        &mov(ESI, DATA as u32),
        &mov(EDI, DATA as u32 + 0x100),
        &mov(ECX, rcx),
        &[0xf3, 0xa4], // rep movsb
        &exit(0),
    ])
}

#[test]
fn counts_hand_written_code_exactly() {
    let nops = [0x90u8; 100];
    // The handler of the signal-handler case sits after a 6-instruction
    // rt_sigaction call and a ud2 (26 + 5 + 2 bytes, see below).
    let sigaction_code = cat(&[
        &mov(EAX, SYS_RT_SIGACTION as u32),
        &mov(EDI, 4), // SIGILL
        &mov(ESI, DATA as u32),
        &[0x31, 0xd2],             // xor edx, edx
        &[0x41, 0xba, 8, 0, 0, 0], // mov r10d, 8
        &[0x0f, 0x05],             // syscall
        &[0x0f, 0x0b],             // ud2: faults, enters the handler
        &exit(7),                  // the handler
    ]);
    let handler = test_elf_entry() + (sigaction_code.len() - exit(7).len()) as u64;
    let mut act = Vec::new();
    act.extend_from_slice(&handler.to_le_bytes());
    act.extend_from_slice(&0x0400_0000u64.to_le_bytes()); // SA_RESTORER
    act.extend_from_slice(&handler.to_le_bytes()); // never used
    act.extend_from_slice(&0u64.to_le_bytes()); // mask
    let mut compare_data = b"abcdef".to_vec();
    compare_data.resize(0x100, 0);
    compare_data.extend_from_slice(b"abcxef");
    let cases = vec![
        Case {
            name: "straight-line",
            code: cat(&[&nops, &exit(0)]),
            data: vec![],
            instructions: 103,
            syscalls: vec![(SYS_EXIT, 103)],
            signals: vec![],
            end: End::Exited(0),
        },
        Case {
            name: "loop",
            // mov ecx, 10; L: dec ecx; jnz L
            code: cat(&[&mov(ECX, 10), &[0xff, 0xc9, 0x75, 0xfc], &exit(3)]),
            data: vec![],
            instructions: 1 + 10 * 2 + 3,
            syscalls: vec![(SYS_EXIT, 24)],
            signals: vec![],
            end: End::Exited(3),
        },
        Case {
            name: "rep-movsb-5",
            code: rep_movsb(5),
            data: vec![1; 8],
            instructions: 3 + 5 + 3,
            syscalls: vec![(SYS_EXIT, 11)],
            signals: vec![],
            end: End::Exited(0),
        },
        Case {
            name: "rep-movsb-0",
            code: rep_movsb(0),
            data: vec![1; 8],
            instructions: 3 + 1 + 3,
            syscalls: vec![(SYS_EXIT, 7)],
            signals: vec![],
            end: End::Exited(0),
        },
        Case {
            // "abcdef" against "abcxef": four iterations, the fourth
            // finds the difference and ends the instruction.
            name: "repe-cmpsb-stops-early",
            code: cat(&[
                &mov(ESI, DATA as u32),
                &mov(EDI, DATA as u32 + 0x100),
                &mov(ECX, 6),
                &[0xf3, 0xa6], // repe cmpsb
                &[0x89, 0xcf], // mov edi, ecx: the exit status is what is left (2)
                &[0xb8, 60, 0, 0, 0, 0x0f, 0x05],
            ]),
            data: compare_data,
            instructions: 3 + 4 + 3,
            syscalls: vec![(SYS_EXIT, 10)],
            signals: vec![],
            end: End::Exited(2),
        },
        Case {
            name: "ud2-at-the-end",
            code: cat(&[&[0x90, 0x90], &[0x0f, 0x0b]]),
            data: vec![],
            instructions: 2,
            syscalls: vec![],
            signals: vec![(libc::SIGILL, 2)],
            end: End::Signaled(libc::SIGILL),
        },
        Case {
            name: "int3",
            code: cat(&[&[0x90], &[0xcc], &exit(0)]),
            data: vec![],
            instructions: 2,
            syscalls: vec![],
            signals: vec![(libc::SIGTRAP, 2)],
            end: End::Signaled(libc::SIGTRAP),
        },
        Case {
            name: "null-load-faults",
            // mov rax, [0]: #PF counts nothing.
            code: cat(&[&[0x90], &[0x48, 0x8b, 0x04, 0x25, 0, 0, 0, 0]]),
            data: vec![],
            instructions: 1,
            syscalls: vec![],
            signals: vec![(libc::SIGSEGV, 1)],
            end: End::Signaled(libc::SIGSEGV),
        },
        Case {
            name: "write-then-exit",
            code: cat(&[
                &mov(EAX, SYS_WRITE as u32),
                &mov(EDI, 1),
                &mov(ESI, DATA as u32),
                &mov(EDX, 3),
                &[0x0f, 0x05],
                &exit(0),
            ]),
            data: b"abc".to_vec(),
            instructions: 8,
            syscalls: vec![(SYS_WRITE, 5), (SYS_EXIT, 8)],
            signals: vec![],
            end: End::Exited(0),
        },
        Case {
            // Entering the handler retires nothing (qvm runs no handlers;
            // this checks the counter's bookkeeping of delivered signals).
            name: "signal-handler",
            code: sigaction_code,
            data: act,
            instructions: 6 + 3,
            syscalls: vec![(SYS_RT_SIGACTION, 6), (SYS_EXIT, 9)],
            signals: vec![(libc::SIGILL, 6)],
            end: End::Exited(7),
        },
    ];
    // What qvm, which runs no handlers, would see of the handler case.
    let handled = count_code(
        "signal-handler-cut",
        &cases[cases.len() - 1].code,
        &cases[cases.len() - 1].data,
    );
    let (calls, total) = handled.until_first_signal();
    assert_eq!((calls.len(), total), (1, 6));
    for c in cases {
        let n = count_code(c.name, &c.code, &c.data);
        let syscalls: Vec<(u64, u64)> = n.syscalls.iter().map(|s| (s.nr, s.instructions)).collect();
        let signals: Vec<(i32, u64)> = n
            .signals
            .iter()
            .map(|s| (s.signal, s.instructions))
            .collect();
        assert_eq!(
            (n.instructions, syscalls, signals, n.end),
            (c.instructions, c.syscalls, c.signals, c.end),
            "{}",
            c.name
        );
    }
}

/// The entry point of `test_elf::code_and_data` programs.
fn test_elf_entry() -> u64 {
    0x40_1000
}

#[test]
fn write_output_reaches_stdout() {
    let code = cat(&[
        &mov(EAX, SYS_WRITE as u32),
        &mov(EDI, 1),
        &mov(ESI, DATA as u32),
        &mov(EDX, 3),
        &[0x0f, 0x05],
        &exit(0),
    ]);
    let n = count_code("stdout", &code, b"abc");
    assert_eq!(n.stdout, b"abc");
    assert_eq!(n.stderr, b"");
}

#[test]
fn the_step_limit_ends_the_count_and_the_child() {
    // jmp $: forever.
    let elf = test_elf::code_and_data(&[0xeb, 0xfe], DATA, &[], 0x1000);
    let path = executable("forever", &elf);
    let spec = CallSpec::new(elf, "forever");
    let err = count(&path, &spec, Limits { max_steps: 1000 }).unwrap_err();
    assert!(
        matches!(
            err,
            CountError::StepLimit {
                limit: 1000,
                instructions: 1000
            }
        ),
        "{err}"
    );
}

#[test]
fn int_0x80_is_not_taken_for_syscall() {
    // mov eax, 1 (exit in the 32-bit ABI); xor ebx, ebx; int 0x80
    let code = cat(&[&mov(EAX, 1), &[0x31, 0xdb, 0xcd, 0x80]]);
    let elf = test_elf::code_and_data(&code, DATA, &[], 0x1000);
    let path = executable("int80", &elf);
    let spec = CallSpec::new(elf, "int80");
    let err = count(&path, &spec, Limits::default()).unwrap_err();
    assert!(err.to_string().contains("[cd, 80], not `syscall`"), "{err}");
}

#[test]
fn a_program_other_than_the_calls_is_refused() {
    let elf = test_elf::code_and_data(&exit(0), DATA, &[], 0x1000);
    let path = executable("mismatch", &elf);
    let spec = CallSpec::new(b"not this".to_vec(), "mismatch");
    assert!(matches!(
        count(&path, &spec, Limits::default()),
        Err(CountError::ProgramMismatch(_))
    ));
}

/// A musl C hello world: it runs, prints what it prints natively, and its
/// syscalls are what strace shows for it.
#[test]
fn musl_hello_world() {
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    let dir = root.join("target/conformance/native-count-hello");
    let binary = crate::toolchain::build(
        crate::toolchain::C_MUSL,
        &root.join("tests/contracts/hello.c"),
        &dir,
    )
    .expect("musl-gcc (scripts/install-deps.sh installs it)");
    let mut spec = CallSpec::new(std::fs::read(&binary).unwrap(), "hello");
    spec.call.args = vec![b"big".to_vec(), b"world".to_vec()];
    spec.call.env = vec![b"GREETING=hi".to_vec(), b"OTHER=x".to_vec()];
    let start = std::time::Instant::now();
    let n = count(&binary, &spec, Limits::default()).unwrap();
    let took = start.elapsed();
    eprintln!(
        "musl hello: {} instructions, {} steps in {:?} ({:.0} steps/s); syscalls {:?}",
        n.instructions,
        n.steps,
        took,
        n.steps as f64 / took.as_secs_f64(),
        n.syscalls
    );
    assert_eq!(n.stdout, b"hello big world\nGREETING=hi\n");
    assert_eq!(n.end, End::Exited(0));
    let names: Vec<&str> = n
        .syscalls
        .iter()
        .map(|s| qvm_common::kernel::table::name(s.nr))
        .collect();
    assert_eq!(
        names,
        // What strace shows: musl's stdout starts line-buffered, and the
        // first write finds that fd 1 is no terminal (ioctl) and turns
        // line buffering off, so the second line goes at exit.
        [
            "arch_prctl",
            "set_tid_address",
            "ioctl",
            "writev",
            "writev",
            "exit_group"
        ]
    );
    // Counts grow along the run and the last syscall ends it.
    assert!(n
        .syscalls
        .windows(2)
        .all(|w| w[0].instructions < w[1].instructions));
    assert_eq!(
        n.syscalls.last().map(|s| s.instructions),
        Some(n.instructions)
    );
    assert!(n.startup.notes.is_empty(), "{:?}", n.startup.notes);
    // The vDSO was unmapped.
    assert!(!n.startup.unmapped.is_empty());
    // The same call twice gives the same count (results differ: the
    // pid from set_tid_address).
    let counts = |n: &NativeCount| -> Vec<(u64, u64)> {
        n.syscalls.iter().map(|s| (s.nr, s.instructions)).collect()
    };
    let again = count(&binary, &spec, Limits::default()).unwrap();
    assert_eq!(
        (again.instructions, counts(&again)),
        (n.instructions, counts(&n))
    );
}

/// Steps per second on a loop of 200,000 instructions (a figure, printed;
/// no assertion on time).
#[test]
fn stepping_speed() {
    // mov ecx, 100000; L: dec ecx; jnz L; exit
    let code = cat(&[&mov(ECX, 100_000), &[0xff, 0xc9, 0x75, 0xfc], &exit(0)]);
    let start = std::time::Instant::now();
    let n = count_code("speed", &code, &[]);
    let took = start.elapsed();
    assert_eq!(n.instructions, 200_004);
    eprintln!(
        "{} steps in {:?}: {:.0} steps/s",
        n.steps,
        took,
        n.steps as f64 / took.as_secs_f64()
    );
}
