//! The traced child: fork, exec under `PTRACE_TRACEME`, and the few ptrace
//! requests the counter needs, as narrow safe wrappers over libc. The child
//! is killed and reaped when its [`Tracee`] is dropped, so every error path
//! of the counter ends it.

use std::ffi::CString;
use std::fs::File;
use std::io;
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd};
use std::ptr;

/// What `waitpid` reported.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Stop {
    /// The process exited with this status.
    Exited(i32),
    /// A signal killed it.
    Signaled(i32),
    /// A signal-delivery stop (or the single-step trap, SIGTRAP).
    Signal(i32),
    /// A `PTRACE_EVENT_*` stop.
    Event(i32),
}

/// Everything the child needs, prepared before `fork` (the child may only
/// make async-signal-safe calls: no allocation).
pub struct Exec {
    pub path: CString,
    pub argv: Vec<CString>,
    pub envp: Vec<CString>,
    /// The child's fds 0, 1 and 2.
    pub stdin: OwnedFd,
    pub stdout: OwnedFd,
    pub stderr: OwnedFd,
    /// (resource, soft, hard) limits set before exec.
    pub rlimits: Vec<(libc::c_int, u64, u64)>,
}

/// A child stopped under ptrace, or running between two requests.
pub struct Tracee {
    pid: libc::pid_t,
    /// Set once `waitpid` has reported its end.
    reaped: bool,
}

/// A NULL-terminated array of pointers into `strings` (which must outlive it).
fn pointers(strings: &[CString]) -> Vec<*const libc::c_char> {
    strings
        .iter()
        .map(|s| s.as_ptr())
        .chain(std::iter::once(ptr::null()))
        .collect()
}

fn check(ret: libc::c_long) -> io::Result<libc::c_long> {
    if ret == -1 {
        Err(io::Error::last_os_error())
    } else {
        Ok(ret)
    }
}

impl Tracee {
    /// Forks; the child asks to be traced, turns ASLR off, resets signal
    /// dispositions and mask, sets its limits and executes `exec.path`.
    /// The first [`Tracee::wait`] reports its stop after `execve`, or its
    /// exit with status 127 if `execve` failed.
    pub fn spawn(exec: &Exec) -> io::Result<Tracee> {
        let argv = pointers(&exec.argv);
        let envp = pointers(&exec.envp);
        let fds = [
            exec.stdin.as_raw_fd(),
            exec.stdout.as_raw_fd(),
            exec.stderr.as_raw_fd(),
        ];
        let limits: Vec<(libc::c_int, libc::rlimit)> = exec
            .rlimits
            .iter()
            .map(|&(r, soft, hard)| {
                (
                    r,
                    libc::rlimit {
                        rlim_cur: soft,
                        rlim_max: hard,
                    },
                )
            })
            .collect();
        // SAFETY: fork has no memory-safety preconditions. In the child only
        // async-signal-safe functions run (dup2, sigprocmask, signal,
        // setrlimit, sched_setaffinity, personality, ptrace, execve, _exit) on data prepared
        // above, which the child's copy of the address space holds.
        let pid = unsafe { libc::fork() };
        if pid == -1 {
            return Err(io::Error::last_os_error());
        }
        if pid == 0 {
            // SAFETY: see above; every pointer refers to memory prepared
            // before the fork and alive until execve or _exit.
            unsafe {
                for (i, &fd) in fds.iter().enumerate() {
                    if libc::dup2(fd, i as libc::c_int) == -1 {
                        libc::_exit(126);
                    }
                }
                let mut set: libc::sigset_t = std::mem::zeroed();
                libc::sigemptyset(&mut set);
                libc::sigprocmask(libc::SIG_SETMASK, &set, ptr::null_mut());
                // Ignored signals survive execve (Rust ignores SIGPIPE).
                for sig in 1..32 {
                    if sig != libc::SIGKILL && sig != libc::SIGSTOP {
                        libc::signal(sig, libc::SIG_DFL);
                    }
                }
                for (r, lim) in &limits {
                    libc::setrlimit(*r as _, lim);
                }
                // One CPU, CPU 0, as qvm's sched_getaffinity reports
                // (runtimes size thread pools by it). Best effort.
                let mut cpus: libc::cpu_set_t = std::mem::zeroed();
                libc::CPU_SET(0, &mut cpus);
                libc::sched_setaffinity(0, std::mem::size_of::<libc::cpu_set_t>(), &cpus);
                libc::personality(libc::ADDR_NO_RANDOMIZE as libc::c_ulong);
                libc::ptrace(libc::PTRACE_TRACEME, 0, 0, 0);
                libc::execve(exec.path.as_ptr(), argv.as_ptr(), envp.as_ptr());
                libc::_exit(127);
            }
        }
        Ok(Tracee { pid, reaped: false })
    }

    pub fn pid(&self) -> libc::pid_t {
        self.pid
    }

    /// Waits for the next stop or the end.
    pub fn wait(&mut self) -> io::Result<Stop> {
        let mut status: libc::c_int = 0;
        loop {
            // SAFETY: status is a valid out-pointer.
            let r = unsafe { libc::waitpid(self.pid, &mut status, libc::__WALL) };
            if r == -1 {
                let e = io::Error::last_os_error();
                if e.kind() == io::ErrorKind::Interrupted {
                    continue;
                }
                return Err(e);
            }
            break;
        }
        let stop = if libc::WIFEXITED(status) {
            Stop::Exited(libc::WEXITSTATUS(status))
        } else if libc::WIFSIGNALED(status) {
            Stop::Signaled(libc::WTERMSIG(status))
        } else if libc::WIFSTOPPED(status) {
            match status >> 16 {
                0 => Stop::Signal(libc::WSTOPSIG(status)),
                event => Stop::Event(event),
            }
        } else {
            return Err(io::Error::other(format!("unknown wait status {status:#x}")));
        };
        if matches!(stop, Stop::Exited(_) | Stop::Signaled(_)) {
            self.reaped = true;
        }
        Ok(stop)
    }

    fn request(&self, req: libc::c_uint, addr: usize, data: usize) -> io::Result<libc::c_long> {
        // SAFETY: the requests used here take an integer or a pointer to a
        // live, correctly sized buffer of ours in `data` (see callers).
        check(unsafe { libc::ptrace(req, self.pid, addr, data) })
    }

    /// Resumes for one instruction (or REP iteration), delivering `signal`
    /// (0 for none).
    pub fn step(&self, signal: i32) -> io::Result<()> {
        self.request(libc::PTRACE_SINGLESTEP, 0, signal as usize)
            .map(drop)
    }

    /// Resumes until the next stop, delivering `signal`.
    pub fn resume(&self, signal: i32) -> io::Result<()> {
        self.request(libc::PTRACE_CONT, 0, signal as usize)
            .map(drop)
    }

    pub fn set_options(&self, options: libc::c_int) -> io::Result<()> {
        self.request(libc::PTRACE_SETOPTIONS, 0, options as usize)
            .map(drop)
    }

    pub fn regs(&self) -> io::Result<libc::user_regs_struct> {
        // SAFETY: user_regs_struct is plain integers; all-zero is valid.
        let mut regs: libc::user_regs_struct = unsafe { std::mem::zeroed() };
        // PTRACE_GETREGS writes one user_regs_struct to `data`.
        self.request(
            libc::PTRACE_GETREGS,
            0,
            &mut regs as *mut libc::user_regs_struct as usize,
        )?;
        Ok(regs)
    }

    pub fn set_regs(&self, regs: &libc::user_regs_struct) -> io::Result<()> {
        // PTRACE_SETREGS reads one user_regs_struct from `data`.
        self.request(
            libc::PTRACE_SETREGS,
            0,
            regs as *const libc::user_regs_struct as usize,
        )
        .map(drop)
    }

    /// `si_code` of the signal that caused the current stop.
    pub fn signal_code(&self) -> io::Result<i32> {
        // SAFETY: siginfo_t is plain data; all-zero is valid.
        let mut info: libc::siginfo_t = unsafe { std::mem::zeroed() };
        // PTRACE_GETSIGINFO writes one siginfo_t to `data`.
        self.request(
            libc::PTRACE_GETSIGINFO,
            0,
            &mut info as *mut libc::siginfo_t as usize,
        )?;
        Ok(info.si_code)
    }

    /// The child's memory (read and write), through `/proc/PID/mem`.
    pub fn memory(&self) -> io::Result<File> {
        File::options()
            .read(true)
            .write(true)
            .open(format!("/proc/{}/mem", self.pid))
    }
}

impl Drop for Tracee {
    fn drop(&mut self) {
        if self.reaped {
            return;
        }
        // SAFETY: kill has no memory-safety preconditions; the pid is our
        // child, not yet reaped, so it cannot have been reused.
        unsafe { libc::kill(self.pid, libc::SIGKILL) };
        // A tracee in a ptrace stop (the exit stop among them) does not
        // wake for SIGKILL: resume it (this fails if it is not stopped).
        let _ = self.resume(0);
        // It may still report an exit stop; resume it until it is gone.
        while let Ok(stop) = self.wait() {
            match stop {
                Stop::Exited(_) | Stop::Signaled(_) => break,
                _ => {
                    let _ = self.resume(0);
                }
            }
        }
    }
}

/// A pipe: (read end, write end), both close-on-exec.
pub fn pipe() -> io::Result<(OwnedFd, OwnedFd)> {
    let mut fds = [0 as libc::c_int; 2];
    // SAFETY: fds is a valid array of two ints for pipe2 to fill.
    if unsafe { libc::pipe2(fds.as_mut_ptr(), libc::O_CLOEXEC) } == -1 {
        return Err(io::Error::last_os_error());
    }
    // SAFETY: pipe2 succeeded: both fds are open and owned by nobody else.
    Ok(unsafe { (OwnedFd::from_raw_fd(fds[0]), OwnedFd::from_raw_fd(fds[1])) })
}

/// Makes a pipe hold at least `bytes` (the kernel rounds up); fails past
/// the host's limit.
pub fn set_pipe_size(fd: &OwnedFd, bytes: usize) -> io::Result<()> {
    let size = libc::c_int::try_from(bytes).map_err(io::Error::other)?;
    // SAFETY: F_SETPIPE_SZ takes an integer argument.
    check(unsafe { libc::fcntl(fd.as_raw_fd(), libc::F_SETPIPE_SZ, size) }.into()).map(drop)
}

/// Makes writes to `fd` fail with EAGAIN instead of blocking.
pub fn set_nonblocking(fd: &OwnedFd) -> io::Result<()> {
    // SAFETY: F_GETFL takes no argument and returns an integer.
    let flags = check(unsafe { libc::fcntl(fd.as_raw_fd(), libc::F_GETFL) }.into())?;
    let flags = flags as libc::c_int | libc::O_NONBLOCK;
    // SAFETY: F_SETFL takes an integer argument.
    check(unsafe { libc::fcntl(fd.as_raw_fd(), libc::F_SETFL, flags) }.into()).map(drop)
}

/// An anonymous in-memory file (close-on-exec).
pub fn memory_file() -> io::Result<File> {
    // SAFETY: the name is a valid NUL-terminated string.
    let fd = unsafe { libc::memfd_create(c"qvm-native-stdin".as_ptr(), libc::MFD_CLOEXEC) };
    if fd == -1 {
        return Err(io::Error::last_os_error());
    }
    // SAFETY: memfd_create succeeded: fd is open and ours alone.
    Ok(unsafe { File::from_raw_fd(fd) })
}
