//! Random syscalls (issue 4, part 4a): programs that make up to 16
//! syscalls with random numbers and arguments (small integers, pointers
//! into their data, into code and the stack, unmapped and non-canonical
//! addresses, random bits) and then print their data and results. qvm
//! must never fail or panic on them, must give the same outcome twice,
//! and on KVM the outcome (with the syscall trace) must equal the
//! emulator's.

mod support;

use iced_x86::{BlockEncoder, BlockEncoderOptions, Code, Instruction, InstructionBlock, Register};
use proptest::collection::vec;
use proptest::prelude::*;
use proptest::test_runner::{Config, TestCaseError, TestError, TestRunner};
use qvm::{BackendChoice, CallSpec, Outcome};
use qvm_common::test_elf;
use support::*;

const CASES: u32 = 300;
const MAX_CALLS: usize = 16;
const CODE: u64 = 0x40_1000;
/// Data the calls may point into; results are stored at its end.
const DATA: u64 = 0x60_0000;
const DATA_LEN: u64 = 0x1_0000;
const RESULTS: u64 = DATA + DATA_LEN - 8 * MAX_CALLS as u64;

#[derive(Clone, Debug)]
struct Call {
    nr: u64,
    args: [u64; 6],
}

fn number() -> impl Strategy<Value = u64> {
    prop_oneof![
        14 => 0u64..335,
        3 => 424u64..=450,
        2 => any::<u64>(),
        1 => (-8i64..0).prop_map(|n| n as u64),
    ]
}

fn argument() -> impl Strategy<Value = u64> {
    prop_oneof![
        4 => 0u64..8,
        2 => (-8i64..0).prop_map(|n| n as u64),
        4 => (0..DATA_LEN).prop_map(|o| DATA + o),
        1 => Just(CODE),
        1 => Just(0x7fff_ffff_e000u64), // the stack's top page
        1 => (12u32..40).prop_map(|s| 1u64 << s),
        1 => (1u64..64).prop_map(|p| p * 4096),
        1 => Just(0x8000_0000_0000_0000u64), // non-canonical
        1 => Just(0xdead_0000u64), // unmapped
        2 => any::<u64>(),
    ]
}

fn call() -> impl Strategy<Value = Call> {
    (
        number(),
        [
            argument(),
            argument(),
            argument(),
            argument(),
            argument(),
            argument(),
        ],
    )
        .prop_map(|(nr, args)| Call { nr, args })
}

/// A static ELF making `calls`, storing each result, then writing its
/// whole data segment to stdout and exiting 0.
fn program(calls: &[Call], fill: u8) -> Vec<u8> {
    use Register::*;
    let mov = |reg, value: u64| Instruction::with2(Code::Mov_r64_imm64, reg, value).unwrap();
    let mut code = Vec::new();
    for (i, c) in calls.iter().enumerate() {
        code.push(mov(RAX, c.nr));
        for (&reg, &value) in [RDI, RSI, RDX, R10, R8, R9].iter().zip(&c.args) {
            code.push(mov(reg, value));
        }
        code.push(Instruction::with(Code::Syscall));
        code.push(mov(RCX, RESULTS + 8 * i as u64));
        let slot = iced_x86::MemoryOperand::with_base(RCX);
        code.push(Instruction::with2(Code::Mov_rm64_r64, slot, RAX).unwrap());
    }
    for (reg, value) in [(RAX, 1), (RDI, 1), (RSI, DATA), (RDX, DATA_LEN)] {
        code.push(mov(reg, value));
    }
    code.push(Instruction::with(Code::Syscall));
    code.extend([mov(RAX, 231), mov(RDI, 0), Instruction::with(Code::Syscall)]);
    let text = BlockEncoder::encode(
        64,
        InstructionBlock::new(&code, CODE),
        BlockEncoderOptions::NONE,
    )
    .unwrap()
    .code_buffer;
    let data: Vec<u8> = (0..DATA_LEN)
        .map(|i| (i as u8).wrapping_mul(31) ^ fill)
        .collect();
    test_elf::code_and_data(&text, DATA, &data, DATA_LEN)
}

fn run(elf: &[u8], choice: BackendChoice) -> Result<Outcome, String> {
    let mut spec = CallSpec::new(elf.to_vec(), "random-syscalls");
    spec.call.timeout = Some(qvm_conformance::runner::CALL_TIMEOUT);
    spec.memory_limit = 16 << 20;
    spec.call.stdin = b"some input\n".to_vec();
    spec.call.trace = true;
    if choice == BackendChoice::Kvm {
        spec.call.gas_limit = None; // KVM cannot meter (docs/gas.md)
    }
    qvm::run(&spec, choice).map_err(|e| format!("qvm failed instead of the call: {e}"))
}

/// What the runs did, for the summary line.
#[derive(Default)]
struct Tally {
    programs: usize,
    syscalls: u64,
    completed: usize,
    faulted: usize,
}

fn check(backend: Backend, calls: &[Call], fill: u8, tally: &mut Tally) -> Result<(), String> {
    let elf = program(calls, fill);
    let emu = run(&elf, BackendChoice::Emu)?;
    tally.programs += 1;
    tally.syscalls += emu.syscalls;
    tally.completed +=
        usize::from(emu.exit_code == Some(0) && emu.stdout.len() == DATA_LEN as usize);
    tally.faulted += usize::from(emu.fault.is_some());
    if run(&elf, BackendChoice::Emu)? != emu {
        return Err("two emulator runs differ".into());
    }
    if backend == Backend::Kvm {
        let kvm = run(&elf, BackendChoice::Kvm)?;
        if let Some(diff) = qvm_conformance::compare::outcome_difference(&emu, &kvm) {
            return Err(format!(
                "kvm differs from emu in {}: emu {}, kvm {}",
                diff.field, diff.left, diff.right
            ));
        }
    }
    Ok(())
}

on_every_backend! {
    fn random_syscalls_never_break_qvm_and_agree(backend) {
        let mut runner = TestRunner::new(Config {
            cases: CASES,
            failure_persistence: None,
            max_shrink_iters: 256,
            ..Config::default()
        });
        let tally = std::cell::RefCell::new(Tally::default());
        let result = runner.run(&(vec(call(), 1..=MAX_CALLS), any::<u8>()), |(calls, fill)| {
            check(backend, &calls, fill, &mut tally.borrow_mut()).map_err(TestCaseError::fail)
        });
        let t = tally.borrow();
        eprintln!(
            "{} programs, {} syscalls: {} ran to the end, {} faulted, the rest exited or were killed early",
            t.programs, t.syscalls, t.completed, t.faulted
        );
        match result {
            Ok(()) => {}
            Err(TestError::Fail(reason, calls)) => panic!("{reason}\nminimal failing calls: {calls:#x?}"),
            Err(e) => panic!("{e}"),
        }
    }
}
