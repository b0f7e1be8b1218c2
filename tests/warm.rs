//! Warm equals cold: a contract loaded once and called many times gives
//! each call exactly the outcome of a cold `qvm run` of it (whole
//! `Outcome`s compared), whatever the calls before it did: markers left
//! in memory and files, odd CPU state, code written at run time, calls
//! killed out of gas, by the host's timeout, or by a fault. On every
//! backend; on KVM each cold outcome must also equal the emulator's.

mod support;

use qvm::runtime::{Runtime, RuntimeOptions};
use qvm::{BackendChoice, BlockContext, Call, CallSpec, Outcome};
use qvm_conformance::compare::outcome_difference;
use std::path::{Path, PathBuf};
use std::time::Duration;
use support::*;

/// One call of a sequence.
#[derive(Clone)]
struct Step {
    args: Vec<String>,
    stdin: Vec<u8>,
    block: BlockContext,
    gas_limit: Option<u64>,
    timeout: Option<Duration>,
}

impl Step {
    fn new(args: &[&str]) -> Self {
        Step {
            args: args.iter().map(|a| a.to_string()).collect(),
            stdin: Vec::new(),
            block: BLOCK_A,
            gas_limit: Some(10_000_000_000),
            timeout: Some(qvm_conformance::runner::CALL_TIMEOUT),
        }
    }

    fn stdin(mut self, bytes: &[u8]) -> Self {
        self.stdin = bytes.to_vec();
        self
    }

    fn block(mut self, block: BlockContext) -> Self {
        self.block = block;
        self
    }

    fn gas(mut self, limit: u64) -> Self {
        self.gas_limit = Some(limit);
        self
    }

    fn timeout(mut self, t: Duration) -> Self {
        self.timeout = Some(t);
        self
    }

    /// The call on `backend`: KVM cannot meter (docs/gas.md).
    fn call(&self, backend: Backend) -> Call {
        Call {
            args: self.args.iter().map(|a| a.as_bytes().to_vec()).collect(),
            env: vec![b"WHO=warm".to_vec()],
            stdin: self.stdin.clone(),
            block: self.block,
            trace: true,
            gas_limit: match backend {
                Backend::Emu => self.gas_limit,
                Backend::Kvm => None,
            },
            timeout: self.timeout,
            state: None,
        }
    }
}

const BLOCK_A: BlockContext = BlockContext {
    prev_hash: [0x11; 32],
    timestamp: 1_700_000_000,
};
const BLOCK_B: BlockContext = BlockContext {
    prev_hash: [0xe7; 32],
    timestamp: 1_234_567_890,
};

const MEMORY: u64 = 64 << 20;

/// A cold call: the contract loaded for it alone (what `qvm run` does).
/// On KVM the emulator must agree (everything but gas).
fn cold(backend: Backend, bin: &Path, step: &Step) -> Outcome {
    let spec = spec(bin, step.call(backend));
    let outcome = qvm::run(&spec, backend.choice()).unwrap();
    if backend == Backend::Kvm {
        let emu = qvm::run(
            &self::spec(bin, step.call(Backend::Emu)),
            BackendChoice::Emu,
        )
        .unwrap();
        assert_eq!(
            outcome_difference(&emu, &outcome),
            None,
            "emu and kvm disagree on a cold call {:?}",
            step.args
        );
    }
    outcome
}

fn spec(bin: &Path, call: Call) -> CallSpec {
    let program = std::fs::read(bin).unwrap();
    let name = bin.file_name().unwrap().to_string_lossy().into_owned();
    let mut spec = CallSpec::new(program, name);
    spec.memory_limit = MEMORY;
    spec.call = call;
    spec
}

/// Runs `steps` one after another on one runtime (one loaded contract)
/// and returns their outcomes; every step whose outcome is deterministic
/// (not ended by the host's timeout) must equal its cold call's.
fn warm_equals_cold(backend: Backend, bin: &Path, steps: &[Step]) -> Vec<Outcome> {
    let mut runtime = Runtime::new(RuntimeOptions {
        backend: backend.choice(),
        memory_limit: MEMORY,
        max_loaded: std::num::NonZeroUsize::MIN,
        snapshot: true,
    });
    let program = std::fs::read(bin).unwrap();
    let name = bin.file_name().unwrap().to_string_lossy().into_owned();
    let contract = runtime.load(&name, program).unwrap();
    let mut outcomes = Vec::new();
    for (i, step) in steps.iter().enumerate() {
        let warm = runtime.call(&contract, &step.call(backend)).unwrap();
        if !warm.timed_out() {
            let cold = cold(backend, bin, step);
            assert!(
                warm == cold,
                "{}: call {} {:?} warm differs from cold: {:?}\nwarm stdout: {}\ncold stdout: {}\nwarm: {:?}\ncold: {:?}",
                name,
                i + 1,
                step.args,
                outcome_difference(&cold, &warm),
                String::from_utf8_lossy(&warm.stdout),
                String::from_utf8_lossy(&cold.stdout),
                short(&warm),
                short(&cold),
            );
        }
        outcomes.push(warm);
    }
    outcomes
}

/// An outcome without its trace and output, for messages.
fn short(o: &Outcome) -> String {
    format!(
        "exit {:?} signal {:?} fault {:?} kill {:?} syscalls {} gas {:?}",
        o.exit_code, o.signal, o.fault, o.kill_reason, o.syscalls, o.gas
    )
}

fn text(o: &Outcome) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

/// `gcc -static` with extra flags, as a toolchain of its own.
fn build_c(source: &str, toolchain: Toolchain) -> Option<PathBuf> {
    build(toolchain, source)
}

const C_EXECSTACK: Toolchain = Toolchain {
    name: "c-glibc-execstack",
    probe: &["gcc", "--version"],
    build: &[
        "gcc",
        "-static",
        "-O2",
        "-z",
        "execstack",
        "-o",
        "{out}",
        "{src}",
    ],
    env: &[],
};

const C_NOLIBC: Toolchain = Toolchain {
    name: "c-nolibc",
    probe: &["gcc", "--version"],
    build: &[
        "gcc",
        "-static",
        "-nostdlib",
        "-nostartfiles",
        "-fno-builtin",
        "-fno-stack-protector",
        "-O2",
        "-o",
        "{out}",
        "{src}",
    ],
    env: &[],
};

on_every_backend! {
    fn a_warm_call_finds_nothing_an_earlier_call_left(backend) {
        let Some(bin) = build_c("warm/isolation.c", C_GLIBC) else { return };
        let write = Step::new(&["write", "left-by-call-1"]).block(BLOCK_B);
        let search = Step::new(&["search", "left-by-call-1"]);
        let o = warm_equals_cold(backend, &bin, &[write.clone(), search.clone(), write, search]);
        // The search works: the call that wrote the marker finds it
        // everywhere it put it.
        assert!(
            text(&o[0]).contains(
                "marker found in: heap-small heap-large brk brk-top mmap data+bss stack file\n"
            ),
            "{}",
            text(&o[0])
        );
        assert!(text(&o[0]).contains("open gave fd 3"), "{}", text(&o[0]));
        for warm in [&o[1], &o[3]] {
            let t = text(warm);
            assert!(t.contains("marker found in: nothing\n"), "{t}");
            assert!(t.contains("fd 3 at start: -1 (errno 9); file existed: 0; /tmp entries: 0"), "{t}");
        }
        // Other block, other randomness and clock: the writer's are not
        // the searcher's, and the searcher's are a cold call's (above).
        let random = |o: &Outcome| text(o).lines().find(|l| l.starts_with("getrandom")).map(String::from);
        assert_ne!(random(&o[0]), random(&o[1]));
    }
}

on_every_backend! {
    fn a_call_after_one_killed_or_faulting_is_a_cold_call(backend) {
        let Some(bin) = build_c("warm/killed.c", C_GLIBC) else { return };
        let ok = |n: &str| Step::new(&["ok", n]);
        let mut steps = vec![
            ok("first"),
            Step::new(&["divide"]),
            ok("after divide"),
            Step::new(&["divide"]),
            Step::new(&["divide"]),
            Step::new(&["null"]),
            ok("after null"),
            Step::new(&["ud2"]),
            Step::new(&["null"]),
            Step::new(&["ud2"]),
            ok("after ud2"),
            // The host's timeout: the call is cut short wherever it is.
            Step::new(&["spin"]).timeout(Duration::from_millis(300)),
            ok("after a timeout"),
        ];
        if backend == Backend::Emu {
            // Out of gas (the emulator meters; KVM does not).
            steps.push(Step::new(&["spin"]).gas(30_000_000));
            steps.push(ok("after out of gas"));
            steps.push(Step::new(&["spin"]).gas(2_000_000));
            steps.push(Step::new(&["divide"]));
            steps.push(ok("after out of gas and divide"));
        }
        let o = warm_equals_cold(backend, &bin, &steps);
        let signal = |i: usize| o[i].signal;
        assert_eq!((signal(1), signal(5), signal(7)), (Some(8), Some(11), Some(4)));
        assert!(o[11].timed_out(), "{}", short(&o[11]));
        if backend == Backend::Emu {
            assert_eq!(o[13].kill_reason.as_deref(), Some("out of gas"));
        }
        for (i, step) in steps.iter().enumerate() {
            if step.args[0] == "ok" {
                assert!(text(&o[i]).starts_with("ok "), "{}", text(&o[i]));
                assert_eq!(o[i].exit_code, Some(0));
            }
        }
    }
}

on_every_backend! {
    fn a_warm_call_starts_with_the_cpu_state_of_a_cold_one(backend) {
        let Some(bin) = build_c("warm/cpu_state.c", C_NOLIBC) else { return };
        let probe = Step::new(&["probe"]);
        let dirty = Step::new(&["dirty"]).block(BLOCK_B);
        let o = warm_equals_cold(
            backend,
            &bin,
            &[probe.clone(), dirty.clone(), probe.clone(), dirty.clone(), dirty, probe],
        );
        assert_eq!(o[1].exit_code, Some(0), "the dirty call ran to its end: {}", short(&o[1]));
        // What a fresh Linux process starts with (the probe printed it
        // before any other code ran).
        let t = text(&o[2]);
        for line in [
            "rflags=0000000000000202",
            "cs=0033", "ss=002b", "ds=0000", "es=0000", "fs=0000", "gs=0000",
            "mxcsr=00001f80", "fx.mxcsr=00001f80",
            "fs_base=0000000000000000", "gs_base=0000000000000000",
            "fcw=037f", "fsw=0000", "ftw=00",
            "rbx=0000000000000000", "r15=0000000000000000",
            "st0=00000000000000000000",
            "xmm0=00000000000000000000000000000000",
            "xmmf=00000000000000000000000000000000",
        ] {
            assert!(t.lines().any(|l| l == line), "{line} not in:\n{t}");
        }
    }

    fn code_written_at_run_time_is_each_calls_own(backend) {
        let Some(bin) = build_c("warm/jit.c", C_EXECSTACK) else { return };
        let write = |n: &str| Step::new(&["write", n]);
        // mov eax, imm32; ret
        let code = |v: u32| {
            let mut c = vec![0xb8];
            c.extend_from_slice(&v.to_le_bytes());
            c.push(0xc3);
            c
        };
        let stale = Step::new(&["stale", "0"]);
        let stdin = |v: u32| Step::new(&["stdin", "0"]).stdin(&code(v));
        let steps = [
            write("100"),
            write("200"),
            stale.clone(),
            write("300"),
            stdin(0x3344),
            stdin(0x5566),
            stale.clone(),
            write("400"),
            stdin(0x7788),
            stale,
        ];
        let o = warm_equals_cold(backend, &bin, &steps);
        let expect = |i: usize, lines: &[String]| {
            let t = text(&o[i]);
            for l in lines {
                assert!(t.lines().any(|x| x == l), "call {}: {l:?} not in:\n{t}", i + 1);
            }
        };
        for (i, n) in [(1, 200), (3, 300), (7, 400)] {
            expect(i, &[
                "image code as loaded: 0x1111".into(),
                format!("image code: {:#x} {:#x}", n + 1, n + 2),
                format!("image code rewritten: {:#x}", n + 3),
                format!("data page code: {:#x}", n + 4),
                format!("stack code: {:#x}", n + 5),
                format!("mmap code: {:#x}", n + 6),
            ]);
        }
        for i in [2, 6, 9] {
            expect(i, &["image code as loaded: 0x1111".into(), "data page code: 0x2222".into()]);
        }
        // Code the kernel wrote (read from stdin over code that ran).
        for (i, v) in [(4, 0x3344), (5, 0x5566), (8, 0x7788)] {
            expect(i, &["image code as loaded: 0x1111".into(), format!("image code from stdin: {v:#x}")]);
        }
    }

    fn a_second_divide_error_after_a_handled_one_is_sigfpe(backend) {
        let Some(bin) = build_c("warm/fpe_twice.c", C_GLIBC) else { return };
        // Within one call, as Linux does.
        let run = assert_same_as_native(backend, &bin, &[], &[], b"");
        assert_eq!(run.status, 136);
        // And in every later call on the same engine.
        let o = warm_equals_cold(backend, &bin, &[Step::new(&[]), Step::new(&[]), Step::new(&[])]);
        assert!(o.iter().all(|o| o.signal == Some(8)), "{}", short(&o[2]));
    }
}
