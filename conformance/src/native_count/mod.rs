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

mod startup;
pub mod stretch;
#[cfg(test)]
mod tests;
mod tracee;

use std::ffi::CString;
use std::fs::File;
use std::io::{self, Read, Write};
use std::os::fd::OwnedFd;
use std::os::unix::ffi::OsStrExt;
use std::os::unix::fs::FileExt;
use std::path::Path;

use qvm_common::call::{CallError, CallSpec};
use qvm_common::layout::STACK_SIZE;
use thiserror::Error;

pub use startup::Startup;
pub use stretch::{compare, Verdict};
use tracee::{Exec, Stop, Tracee};

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
}

impl CountError {
    fn ptrace(request: &'static str) -> impl FnOnce(io::Error) -> CountError {
        move |source| CountError::Ptrace { request, source }
    }

    fn io(what: &'static str) -> impl FnOnce(io::Error) -> CountError {
        move |source| CountError::Io { what, source }
    }
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
/// and counts its instructions.
pub fn count(binary: &Path, spec: &CallSpec, limits: Limits) -> Result<NativeCount, CountError> {
    let file = std::fs::read(binary).map_err(CountError::io("reading the program"))?;
    if file != *spec.program {
        return Err(CountError::ProgramMismatch(binary.display().to_string()));
    }
    let stack = qvm_common::call::initial_stack(spec)?;

    let (stdin, stdin_kind) = stdin_for(&spec.call.stdin)?;
    let (out_r, out_w) = tracee::pipe().map_err(CountError::io("creating a pipe"))?;
    let (err_r, err_w) = tracee::pipe().map_err(CountError::io("creating a pipe"))?;
    let cstring = |b: &[u8]| {
        CString::new(b).map_err(|_| CountError::Startup("a string contains a NUL byte".into()))
    };
    let mut argv = vec![cstring(spec.name.as_bytes())?];
    for a in &spec.call.args {
        argv.push(cstring(a)?);
    }
    let exec = Exec {
        path: cstring(binary.as_os_str().as_bytes())?,
        argv,
        envp: spec
            .call
            .env
            .iter()
            .map(|e| cstring(e))
            .collect::<Result<_, _>>()?,
        stdin,
        stdout: out_w,
        stderr: err_w,
        // qvm's RLIMIT_STACK (Zig's start-up reads it); no core dumps.
        rlimits: vec![
            (
                libc::RLIMIT_STACK as libc::c_int,
                STACK_SIZE,
                libc::RLIM_INFINITY,
            ),
            (libc::RLIMIT_CORE as libc::c_int, 0, 0),
        ],
    };
    let mut child = Tracee::spawn(&exec).map_err(CountError::io("fork"))?;
    // The child holds its own copies now; the readers must see EOF when
    // it ends.
    drop(exec);
    let stdout = reader(out_r);
    let stderr = reader(err_r);

    match child.wait().map_err(CountError::io("waitpid"))? {
        Stop::Signal(libc::SIGTRAP) => {}
        Stop::Exited(c) => return Err(CountError::Exec(c)),
        Stop::Signaled(s) => return Err(CountError::Exec(128 + s)),
        other => {
            return Err(CountError::UnexpectedStop(format!(
                "{other:?} after execve"
            )))
        }
    }
    child
        .set_options(libc::PTRACE_O_EXITKILL | libc::PTRACE_O_TRACEEXIT)
        .map_err(CountError::ptrace("PTRACE_SETOPTIONS"))?;
    let memory = child
        .memory()
        .map_err(CountError::io("opening /proc/PID/mem"))?;
    let mut startup = startup::rewrite(&child, &memory, spec, &stack)?;
    startup.unmapped = startup::remove_vdso(&mut child, &memory)?;

    let run = step_to_end(&mut child, &memory, limits)?;
    let stdout = stdout
        .join()
        .map_err(|_| CountError::UnexpectedStop("the stdout reader panicked".into()))?
        .map_err(CountError::io("reading stdout"))?;
    let stderr = stderr
        .join()
        .map_err(|_| CountError::UnexpectedStop("the stderr reader panicked".into()))?
        .map_err(CountError::io("reading stderr"))?;
    Ok(NativeCount {
        instructions: run.instructions,
        syscalls: run.syscalls,
        signals: run.signals,
        end: run.end,
        stdout,
        stderr,
        steps: run.steps,
        stdin: stdin_kind,
        startup,
    })
}

struct Run {
    instructions: u64,
    syscalls: Vec<SyscallCount>,
    signals: Vec<SignalCount>,
    end: End,
    steps: u64,
}

/// `orig_rax` outside a syscall.
const NO_SYSCALL: u64 = u64::MAX;
/// `si_code` of the stop Linux reports after setting up a signal handler's
/// frame while single-stepping (`ptrace_notify(SIGTRAP)`).
const HANDLER_ENTRY: i32 = libc::SIGTRAP;

/// rt_sigreturn: a syscall that does not return to the instruction after it.
const SYS_RT_SIGRETURN: u64 = 15;

/// The syscall `regs` stopped after, checked to be a `syscall` instruction.
fn syscall_at(
    memory: &File,
    regs: &libc::user_regs_struct,
    instructions: u64,
    result: i64,
) -> Result<SyscallCount, CountError> {
    let nr = regs.orig_rax;
    if nr != SYS_RT_SIGRETURN {
        let mut bytes = [0u8; 2];
        let at = regs.rip.wrapping_sub(2);
        memory
            .read_exact_at(&mut bytes, at)
            .map_err(|e| CountError::Memory(format!("reading the instruction at {at:#x}: {e}")))?;
        if bytes != [0x0f, 0x05] {
            return Err(CountError::UnexpectedStop(format!(
                "syscall {nr} made by the instruction at {at:#x}, which is {bytes:02x?}, not `syscall` \
                 (int 0x80 is Linux's 32-bit syscall)"
            )));
        }
    }
    Ok(SyscallCount {
        nr,
        instructions,
        result,
    })
}

fn step_to_end(child: &mut Tracee, memory: &File, limits: Limits) -> Result<Run, CountError> {
    let mut instructions: u64 = 0;
    let mut syscalls = Vec::new();
    let mut signals = Vec::new();
    let mut steps: u64 = 0;
    // The signal to deliver with the next step.
    let mut pending: i32 = 0;
    loop {
        if steps >= limits.max_steps {
            return Err(CountError::StepLimit {
                limit: limits.max_steps,
                instructions,
            });
        }
        let delivering = pending;
        child
            .step(pending)
            .map_err(CountError::ptrace("PTRACE_SINGLESTEP"))?;
        pending = 0;
        steps += 1;
        match child.wait().map_err(CountError::io("waitpid"))? {
            Stop::Signal(libc::SIGTRAP) => {
                let code = child
                    .signal_code()
                    .map_err(CountError::ptrace("PTRACE_GETSIGINFO"))?;
                match code {
                    libc::TRAP_TRACE => instructions += 1,
                    libc::TRAP_BRKPT => {
                        instructions += 1;
                        let regs = child.regs().map_err(CountError::ptrace("PTRACE_GETREGS"))?;
                        if regs.orig_rax != NO_SYSCALL {
                            syscalls.push(syscall_at(
                                memory,
                                &regs,
                                instructions,
                                regs.rax as i64,
                            )?);
                        } else {
                            // Only rt_sigreturn leaves orig_rax at -1
                            // (restore_sigcontext disables syscall
                            // restart) and RIP where the frame said.
                            syscalls.push(SyscallCount {
                                nr: SYS_RT_SIGRETURN,
                                instructions,
                                result: regs.rax as i64,
                            });
                        }
                    }
                    libc::SI_KERNEL => {
                        // int3 (a trap: it retired); its SIGTRAP goes on.
                        instructions += 1;
                        pending = libc::SIGTRAP;
                        signals.push(SignalCount {
                            signal: pending,
                            instructions,
                        });
                    }
                    HANDLER_ENTRY if delivering != 0 => {}
                    other => {
                        return Err(CountError::UnexpectedStop(format!(
                            "SIGTRAP with si_code {other} after {instructions} instructions"
                        )))
                    }
                }
            }
            Stop::Signal(sig) => {
                pending = sig;
                signals.push(SignalCount {
                    signal: sig,
                    instructions,
                });
            }
            Stop::Event(libc::PTRACE_EVENT_EXIT) => {
                if delivering == 0 {
                    // Only exit and exit_group end a process in a step
                    // that delivered no signal.
                    let regs = child.regs().map_err(CountError::ptrace("PTRACE_GETREGS"))?;
                    if regs.orig_rax == NO_SYSCALL {
                        return Err(CountError::UnexpectedStop(format!(
                            "the process ended outside a syscall after {instructions} instructions"
                        )));
                    }
                    instructions += 1;
                    syscalls.push(syscall_at(memory, &regs, instructions, 0)?);
                }
                child.resume(0).map_err(CountError::ptrace("PTRACE_CONT"))?;
                let end = match child.wait().map_err(CountError::io("waitpid"))? {
                    Stop::Exited(c) => End::Exited(c),
                    Stop::Signaled(s) => End::Signaled(s),
                    other => {
                        return Err(CountError::UnexpectedStop(format!(
                            "{other:?} after the exit stop"
                        )))
                    }
                };
                return Ok(Run {
                    instructions,
                    syscalls,
                    signals,
                    end,
                    steps,
                });
            }
            other => {
                return Err(CountError::UnexpectedStop(format!(
                    "{other:?} after {instructions} instructions"
                )))
            }
        }
    }
}

/// The child's stdin: a pipe already holding every byte and closed for
/// writing, as qvm's stdin is (reads return what is asked for, up to what
/// is left; fstat says FIFO), or a file when the host's pipes cannot hold
/// it all.
fn stdin_for(bytes: &[u8]) -> Result<(OwnedFd, StdinKind), CountError> {
    let (r, w) = tracee::pipe().map_err(CountError::io("creating a pipe"))?;
    let fits =
        bytes.len() <= 65536 || tracee::set_pipe_size(&w, bytes.len().next_power_of_two()).is_ok();
    if fits {
        tracee::set_nonblocking(&w).map_err(CountError::io("fcntl"))?;
        let mut w = std::fs::File::from(w);
        match w.write_all(bytes) {
            Ok(()) => return Ok((r, StdinKind::Pipe)),
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => {}
            Err(e) => return Err(CountError::io("filling the stdin pipe")(e)),
        }
    }
    let mut f = tracee::memory_file().map_err(CountError::io("memfd_create"))?;
    f.write_all(bytes)
        .map_err(CountError::io("writing the stdin file"))?;
    std::io::Seek::rewind(&mut f).map_err(CountError::io("seeking the stdin file"))?;
    Ok((OwnedFd::from(f), StdinKind::File))
}

/// Reads a pipe to its end on a thread of its own.
fn reader(fd: OwnedFd) -> std::thread::JoinHandle<io::Result<Vec<u8>>> {
    std::thread::spawn(move || {
        let mut out = Vec::new();
        std::fs::File::from(fd).read_to_end(&mut out)?;
        Ok(out)
    })
}
