//! The count itself: the child under ptrace, one single step at a time
//! (the classification of stops is in the parent module's documentation).

use std::ffi::CString;
use std::fs::File;
use std::io::{self, Read, Write};
use std::os::fd::OwnedFd;
use std::os::unix::ffi::OsStrExt;
use std::os::unix::fs::FileExt;
use std::path::Path;

use qvm_common::call::CallSpec;
use qvm_common::layout::STACK_SIZE;

use super::startup;
use super::tracee::{self, Exec, Stop, Tracee};
use super::{CountError, End, Limits, NativeCount, SignalCount, StdinKind, SyscallCount};

impl CountError {
    pub(super) fn ptrace(request: &'static str) -> impl FnOnce(io::Error) -> CountError {
        move |source| CountError::Ptrace { request, source }
    }

    pub(super) fn io(what: &'static str) -> impl FnOnce(io::Error) -> CountError {
        move |source| CountError::Io { what, source }
    }
}

pub(super) fn count(
    binary: &Path,
    spec: &CallSpec,
    limits: Limits,
) -> Result<NativeCount, CountError> {
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
