//! The native instruction-count oracle (issue 11): runs a contract on this
//! Linux host under ptrace, one instruction at a time, and counts what
//! retires, so the emulator's `gas.instructions` can be checked against the
//! CPU itself.
//!
//! Counting follows docs/gas.md: every instruction completed at CPL 3
//! counts 1, every iteration of a REP string instruction counts 1 (a REP
//! instruction with RCX = 0 counts 1), `syscall` counts 1, an instruction
//! that faults counts 0, a trap (int3) retires and counts 1. A
//! `PTRACE_SINGLESTEP` gives exactly that: the CPU's trap flag stops after
//! each instruction and after each REP iteration; a step onto a faulting
//! instruction stops with the fault's signal and RIP unchanged.
//!
//! How each stop is classified, by its signal and `si_code`:
//! - SIGTRAP, `TRAP_TRACE`: the single-step trap: 1 retired.
//! - SIGTRAP, `TRAP_BRKPT`: Linux's report after a syscall made while
//!   stepping: 1 retired, and `orig_rax` holds the syscall's number, or -1
//!   after rt_sigreturn, which restores RIP from the signal frame (the
//!   kernel's own record that a syscall ran; one request per syscall
//!   instead of reading the bytes at RIP before every step). The two bytes
//!   before the new RIP must be `syscall` (0F 05): anything else (`int
//!   0x80`, Linux's 32-bit syscall, which qvm does not offer) is an error.
//! - SIGTRAP, `SI_KERNEL`: int3 retired (1); its SIGTRAP is delivered.
//! - SIGTRAP with code SIGTRAP right after the counter delivered a signal:
//!   Linux stopped at the entry of the signal's handler: 0.
//! - any other signal: a fault (or a signal from outside): 0 retired, the
//!   signal is delivered with the next step.
//! - the exit stop (`PTRACE_O_TRACEEXIT`) of a step that delivered no
//!   signal: `exit` or `exit_group` ran: 1 retired, recorded as a syscall.
//!
//! The child starts as qvm would start it ([`startup`]): the same argv
//! (argv[0] is the contract's name), environment (the whole of it, in
//! order), stdin bytes and initial stack, no vDSO, ASLR off, qvm's
//! RLIMIT_STACK, one CPU (CPU 0).
//! Its output is captured. It runs the program for real: only for
//! programs you trust.

#[cfg(all(target_os = "linux", target_arch = "x86_64"))]
mod single_step;
#[cfg(all(target_os = "linux", target_arch = "x86_64"))]
mod startup;
pub mod stretch;
#[cfg(all(test, target_os = "linux", target_arch = "x86_64"))]
mod tests;
#[cfg(all(target_os = "linux", target_arch = "x86_64"))]
mod tracee;

use std::io;
use std::path::Path;

use qvm_common::call::{CallError, CallSpec};
use thiserror::Error;

pub use stretch::{compare, Verdict};

/// The default bound on single steps: at a few µs a step, about two hours.
pub const DEFAULT_MAX_STEPS: u64 = 2_000_000_000;

/// Why a count could not be made. The child is killed on every one.
#[derive(Debug, Error)]
pub enum CountError {
    #[error("the step limit of {limit} was reached after {instructions} instructions")]
    StepLimit { limit: u64, instructions: u64 },
    #[error("{0} does not hold the call's program")]
    ProgramMismatch(String),
    #[error("cannot build qvm's initial stack for the call: {0}")]
    Stack(#[from] CallError),
    #[error("{what}: {source}")]
    Io {
        what: &'static str,
        #[source]
        source: io::Error,
    },
    #[error("{request} failed: {source}")]
    Ptrace {
        request: &'static str,
        #[source]
        source: io::Error,
    },
    #[error("the program could not be executed (status {0} before its first instruction)")]
    Exec(i32),
    #[error("start-up differs from qvm's: {0}")]
    Startup(String),
    #[error("memory of the traced process: {0}")]
    Memory(String),
    #[error("unexpected stop: {0}")]
    UnexpectedStop(String),
    #[error("the native instruction counter needs an x86-64 Linux host (ptrace single-step); not on this host")]
    NotOnThisHost,
}

/// Bounds of a count.
#[derive(Clone, Copy, Debug)]
pub struct Limits {
    /// Single steps before giving up with [`CountError::StepLimit`].
    pub max_steps: u64,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            max_steps: DEFAULT_MAX_STEPS,
        }
    }
}

/// One syscall the program made.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct SyscallCount {
    /// Its number (RAX at the `syscall` instruction).
    pub nr: u64,
    /// Instructions retired before it returned, the `syscall` included.
    pub instructions: u64,
    /// What it returned (RAX after it; 0 for the exit that ended the run).
    pub result: i64,
}

/// A signal the program received (a fault, int3's SIGTRAP, or a signal
/// sent to it), with the instructions retired before it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct SignalCount {
    pub signal: i32,
    pub instructions: u64,
}

/// How the program ended.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum End {
    Exited(i32),
    Signaled(i32),
}

impl End {
    /// The status a shell would see.
    pub fn status(self) -> i32 {
        match self {
            End::Exited(c) => c,
            End::Signaled(s) => 128 + s,
        }
    }
}

/// What stdin was: a pipe holding all of it (as under qvm), or a file
/// when it is bigger than a pipe can hold here.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum StdinKind {
    Pipe,
    File,
}

/// What the counter changed of Linux's start-up to make it qvm's
/// (startup.rs).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Startup {
    /// The RSP Linux gave and the one qvm gives.
    pub linux_rsp: u64,
    pub qvm_rsp: u64,
    /// Entries of Linux's auxiliary vector (AT_NULL excluded).
    pub linux_auxv: Vec<(u64, u64)>,
    /// Differences kept from Linux (pointer entries that differ).
    pub notes: Vec<String>,
    /// The vDSO and vvar ranges unmapped: (start, length).
    pub unmapped: Vec<(u64, u64)>,
}

/// The result of a count.
#[derive(Clone, Debug)]
pub struct NativeCount {
    /// Instructions retired.
    pub instructions: u64,
    /// Every syscall, in order.
    pub syscalls: Vec<SyscallCount>,
    /// Every signal, in order.
    pub signals: Vec<SignalCount>,
    pub end: End,
    pub stdout: Vec<u8>,
    pub stderr: Vec<u8>,
    /// Single steps taken (steps onto faults and handler entries retire
    /// nothing).
    pub steps: u64,
    pub stdin: StdinKind,
    pub startup: Startup,
}

impl NativeCount {
    /// The run up to the first signal (its syscalls and the count there),
    /// or the whole run.
    pub fn until_first_signal(&self) -> (&[SyscallCount], u64) {
        match self.signals.first() {
            None => (&self.syscalls, self.instructions),
            Some(s) => {
                let n = self
                    .syscalls
                    .iter()
                    .take_while(|c| c.instructions <= s.instructions)
                    .count();
                (self.syscalls.get(..n).unwrap_or(&[]), s.instructions)
            }
        }
    }
}

/// Runs `binary`, which must hold `spec.program`, as qvm would run `spec`
/// and counts its instructions. Only on an x86-64 Linux host: elsewhere
/// [`CountError::NotOnThisHost`].
pub fn count(binary: &Path, spec: &CallSpec, limits: Limits) -> Result<NativeCount, CountError> {
    #[cfg(all(target_os = "linux", target_arch = "x86_64"))]
    return single_step::count(binary, spec, limits);
    #[cfg(not(all(target_os = "linux", target_arch = "x86_64")))]
    {
        let _ = (binary, spec, limits);
        Err(CountError::NotOnThisHost)
    }
}
