//! The syscall table: every syscall qvm knows, how it is handled, and why
//! its result is deterministic; syscalls not listed return ENOSYS.
//! `docs/syscalls.md` is generated from this table and the corpus's
//! syscall coverage by `qvm_conformance::coverage` (`cargo test -p
//! qvm-conformance syscall_doc` keeps it in sync).

use super::Errno;

/// How qvm handles a syscall.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Handling {
    /// Implemented over the synthetic kernel's own state.
    Emulated,
    /// Answered with a deterministic substitute for a host-dependent value.
    Substitute,
    /// Refused with a fixed error.
    Refused(Errno),
}

/// One row of the table.
#[derive(Clone, Copy, Debug)]
pub struct SyscallInfo {
    pub nr: u64,
    pub name: &'static str,
    pub handling: Handling,
    /// One line: why the result is the same on every node.
    pub why: &'static str,
}

use Handling::{Emulated as E, Refused as R, Substitute as S};

const fn row(nr: u64, name: &'static str, handling: Handling, why: &'static str) -> SyscallInfo {
    SyscallInfo {
        nr,
        name,
        handling,
        why,
    }
}

const STATE: &str = "pure function of the call's inputs and the kernel's own state";
const NOHOST: &str = "fixed error: qvm offers no host resource of this kind";

/// All known syscalls, by number.
pub static SYSCALLS: &[SyscallInfo] = &[
    row(
        0,
        "read",
        E,
        "stdin is the call's input; devices give fixed or keyed-stream bytes",
    ),
    row(1, "write", E, "output is captured into the call's buffers"),
    row(2, "open", E, "the file tree: a fixed skeleton with the device files, and in-memory /tmp and /dev/shm that live and die with the call; /state, the call's pre-block state, read-only (statefs.rs); never a host file"),
    row(3, "close", E, STATE),
    row(4, "stat", E, "file tree metadata: counter inode numbers, times from the block time and the virtual clock"),
    row(5, "fstat", E, "standard streams and pipes are FIFOs, devices fixed, files from the file tree; times are the block time or the virtual clock"),
    row(6, "lstat", E, "as stat"),
    row(7, "poll", E, "readiness is a function of kernel objects; nothing ready waits for an object change or a deadline on the virtual clock"),
    row(8, "lseek", E, "pipes: ESPIPE; devices: 0; files: their offset"),
    row(
        9,
        "mmap",
        E,
        "fixed layout, deterministic first-fit placement",
    ),
    row(10, "mprotect", E, STATE),
    row(11, "munmap", E, STATE),
    row(12, "brk", E, "fixed heap start after the image"),
    row(
        13,
        "rt_sigaction",
        E,
        "process-wide actions; handlers run with Linux's frames at deterministic points",
    ),
    row(14, "rt_sigprocmask", E, "per-thread mask; unblocked pending signals are delivered on return"),
    row(
        15,
        "rt_sigreturn",
        E,
        "restores the context from the frame; a bad frame is SIGSEGV",
    ),
    row(16, "ioctl", S, "no descriptor is a terminal: ENOTTY; FIONREAD, FIONBIO, FIOCLEX from kernel state"),
    row(17, "pread64", E, "pipes: ESPIPE; devices ignore the offset; files read at it"),
    row(18, "pwrite64", E, "as pread64"),
    row(19, "readv", E, "as read"),
    row(20, "writev", E, "as write"),
    row(21, "access", E, "the file tree; owner permission bits"),
    row(22, "pipe", E, "a kernel buffer: 64 KiB, PIPE_BUF atomic writes, EOF and EPIPE from the descriptor counts"),
    row(23, "select", E, "as poll"),
    row(
        24,
        "sched_yield",
        E,
        "the next runnable thread runs (FIFO); alone, returns at once",
    ),
    row(25, "mremap", E, STATE),
    row(26, "msync", S, "no file mappings: nothing to write back"),
    row(
        27,
        "mincore",
        R(Errno::ENOSYS),
        "residency depends on the host",
    ),
    row(
        28,
        "madvise",
        E,
        "DONTNEED zeroes; MADV_FREE keeps contents (Linux frees it at a host-dependent time)",
    ),
    row(32, "dup", E, STATE),
    row(33, "dup2", E, STATE),
    row(34, "pause", E, "sleeps until a signal is delivered: EINTR"),
    row(
        35,
        "nanosleep",
        S,
        "sleeps on the virtual clock: others run; when none can, the clock jumps to the deadline",
    ),
    row(36, "getitimer", E, "ITIMER_REAL on the virtual clock; CPU-time timers read 0"),
    row(37, "alarm", E, "ITIMER_REAL on the virtual clock"),
    row(
        38,
        "setitimer",
        E,
        "ITIMER_REAL on the virtual clock; CPU-time timers: EINVAL",
    ),
    row(39, "getpid", S, "fixed pid"),
    row(41, "socket", R(Errno::EACCES), "no network"),
    row(
        56,
        "clone",
        E,
        "threads only (fork, vfork, namespaces: ENOSYS); tids count up from the pid; one virtual CPU, switches at kernel-defined points",
    ),
    row(57, "fork", R(Errno::ENOSYS), "one process per call"),
    row(58, "vfork", R(Errno::ENOSYS), "one process per call"),
    row(59, "execve", R(Errno::ENOSYS), "one program per call"),
    row(
        60,
        "exit",
        E,
        "ends the thread (CLEARTID, robust list); the last one ends the call",
    ),
    row(61, "wait4", R(Errno::ECHILD), "no children"),
    row(
        62,
        "kill",
        E,
        "only itself exists; queued for the process, delivered at syscall return or switch-in",
    ),
    row(63, "uname", S, "fixed strings"),
    row(72, "fcntl", E, STATE),
    row(74, "fsync", S, "nothing to write back: 0 for files, EINVAL for pipes and devices"),
    row(75, "fdatasync", S, "as fsync"),
    row(76, "truncate", E, "in-memory files of /tmp and /dev/shm"),
    row(77, "ftruncate", E, "as truncate"),
    row(79, "getcwd", E, "the current directory of the file tree, / at start"),
    row(80, "chdir", E, "the file tree"),
    row(81, "fchdir", E, "as chdir"),
    row(82, "rename", E, "within /tmp or /dev/shm; EXDEV across them"),
    row(83, "mkdir", E, "in /tmp and /dev/shm; EROFS elsewhere"),
    row(84, "rmdir", E, "as mkdir"),
    row(85, "creat", E, "as open"),
    row(86, "link", E, "as rename"),
    row(87, "unlink", E, "as mkdir"),
    row(
        89,
        "readlink",
        S,
        "/proc/self/exe is /contract/<argv0>; nothing else is a link",
    ),
    row(95, "umask", E, STATE),
    row(96, "gettimeofday", S, "block time plus the virtual clock"),
    row(97, "getrlimit", S, "fixed limits, settable within them"),
    row(
        98,
        "getrusage",
        S,
        "virtual clock and peak committed memory",
    ),
    row(
        99,
        "sysinfo",
        S,
        "memory limit and committed memory; fixed otherwise",
    ),
    row(100, "times", S, "virtual clock"),
    row(102, "getuid", S, "fixed uid"),
    row(104, "getgid", S, "fixed gid"),
    row(105, "setuid", R(Errno::EPERM), "unprivileged"),
    row(106, "setgid", R(Errno::EPERM), "unprivileged"),
    row(107, "geteuid", S, "fixed uid"),
    row(108, "getegid", S, "fixed gid"),
    row(109, "setpgid", R(Errno::EPERM), "one process"),
    row(110, "getppid", S, "fixed parent pid"),
    row(111, "getpgrp", S, "fixed: the pid"),
    row(112, "setsid", R(Errno::EPERM), "already a session leader"),
    row(115, "getgroups", S, "no supplementary groups: 0"),
    row(121, "getpgid", S, "fixed: the pid"),
    row(124, "getsid", S, "fixed: the pid"),
    row(127, "rt_sigpending", E, STATE),
    row(
        128,
        "rt_sigtimedwait",
        E,
        "takes a pending signal, or sleeps on the virtual clock",
    ),
    row(130, "rt_sigsuspend", E, "as pause, with the given mask"),
    row(131, "sigaltstack", E, "per thread, Linux's rules"),
    row(137, "statfs", R(Errno::ENOSYS), NOHOST),
    row(138, "fstatfs", R(Errno::ENOSYS), NOHOST),
    row(149, "mlock", S, "memory is never swapped: 0"),
    row(150, "munlock", S, "0"),
    row(151, "mlockall", S, "0"),
    row(152, "munlockall", S, "0"),
    row(
        157,
        "prctl",
        E,
        "thread name is recorded; other options EINVAL",
    ),
    row(158, "arch_prctl", E, "FS/GS base are per-call CPU state"),
    row(160, "setrlimit", E, "recorded within the fixed hard limits"),
    row(186, "gettid", E, "tids in creation order, from the pid"),
    row(200, "tkill", E, "queued for the thread"),
    row(201, "time", S, "the block timestamp"),
    row(
        202,
        "futex",
        E,
        "wait queues keyed by address in FIFO order; timeouts on the virtual clock",
    ),
    row(203, "sched_setaffinity", S, "one CPU: 0"),
    row(204, "sched_getaffinity", S, "one CPU"),
    row(213, "epoll_create", E, "an interest list over kernel objects"),
    row(217, "getdents64", E, "the file tree; entries in creation order"),
    row(218, "set_tid_address", E, STATE),
    row(
        222,
        "timer_create",
        E,
        "POSIX timers on the virtual clock; SIGEV_SIGNAL, SIGEV_THREAD_ID, SIGEV_NONE",
    ),
    row(223, "timer_settime", E, "expiry checked at syscalls, switches and slices"),
    row(224, "timer_gettime", E, STATE),
    row(225, "timer_getoverrun", E, STATE),
    row(226, "timer_delete", E, STATE),
    row(
        228,
        "clock_gettime",
        S,
        "block time or fixed origin, plus the virtual clock",
    ),
    row(229, "clock_getres", S, "1 ns"),
    row(
        230,
        "clock_nanosleep",
        S,
        "as nanosleep",
    ),
    row(231, "exit_group", E, "ends the call with the status"),
    row(232, "epoll_wait", E, "ready list ordered by the stamp of each object's change, then fd; waits as poll"),
    row(233, "epoll_ctl", E, "kernel state; EPERM for files without readiness"),
    row(234, "tgkill", E, "as tkill"),
    row(257, "openat", E, "as open"),
    row(258, "mkdirat", E, "as mkdir"),
    row(262, "newfstatat", E, "as stat/fstat"),
    row(263, "unlinkat", E, "as unlink and rmdir"),
    row(264, "renameat", E, "as rename"),
    row(265, "linkat", E, "as link; AT_EMPTY_PATH needs a capability the contract lacks"),
    row(267, "readlinkat", S, "as readlink"),
    row(269, "faccessat", E, "as access"),
    row(270, "pselect6", E, "as poll; the signal mask is checked, applied once signals are delivered"),
    row(271, "ppoll", E, "as pselect6"),
    row(
        273,
        "set_robust_list",
        E,
        "walked when the thread exits",
    ),
    row(274, "get_robust_list", E, STATE),
    row(281, "epoll_pwait", E, "as epoll_wait and pselect6"),
    row(
        283,
        "timerfd_create",
        E,
        "a timer on the virtual clock whose expiries read(2) counts",
    ),
    row(284, "eventfd", E, "a kernel counter"),
    row(286, "timerfd_settime", E, "as timer_settime"),
    row(287, "timerfd_gettime", E, STATE),
    row(290, "eventfd2", E, "as eventfd"),
    row(291, "epoll_create1", E, "as epoll_create"),
    row(292, "dup3", E, STATE),
    row(293, "pipe2", E, "as pipe; O_DIRECT (packet mode) is EINVAL"),
    row(295, "preadv", E, "as pread64"),
    row(296, "pwritev", E, "as pwrite64"),
    row(302, "prlimit64", E, "as getrlimit/setrlimit"),
    row(309, "getcpu", S, "CPU 0, node 0"),
    row(316, "renameat2", E, "as rename; RENAME_EXCHANGE and RENAME_WHITEOUT are EINVAL"),
    row(
        318,
        "getrandom",
        S,
        "next bytes of the stream keyed by the previous block hash and the call",
    ),
    row(319, "memfd_create", R(Errno::ENOSYS), NOHOST),
    row(324, "membarrier", R(Errno::ENOSYS), "one thread"),
    row(
        327,
        "preadv2",
        E,
        "as preadv; offset -1 is the current position",
    ),
    row(
        328,
        "pwritev2",
        E,
        "as pwritev; offset -1 is the current position",
    ),
    row(332, "statx", R(Errno::ENOSYS), "libcs fall back to fstat"),
    row(
        334,
        "rseq",
        R(Errno::ENOSYS),
        "CPU ids are host state; libcs run without it",
    ),
    row(
        435,
        "clone3",
        R(Errno::ENOSYS),
        "threads and processes are not offered yet",
    ),
    row(439, "faccessat2", E, "as access"),
    row(441, "epoll_pwait2", E, "as epoll_pwait"),
];

/// Looks up a syscall by number.
pub fn lookup(nr: u64) -> Option<&'static SyscallInfo> {
    SYSCALLS
        .binary_search_by_key(&nr, |s| s.nr)
        .ok()
        .and_then(|i| SYSCALLS.get(i))
}

/// The syscall's name, or "unknown".
pub fn name(nr: u64) -> &'static str {
    lookup(nr).map_or("unknown", |s| s.name)
}
