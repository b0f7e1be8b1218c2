//! Linux's x86-64 user ABI: the numbers a contract sees, as the kernel's
//! UAPI headers define them for x86-64. They are written out here, never
//! taken from the host's C library: a macOS libc says EAGAIN is 35 and an
//! aarch64 Linux one says O_DIRECTORY is 0o40000, but the guest is always an
//! x86-64 Linux process, whatever the host. (Crates of UAPI constants such
//! as linux-raw-sys pick their values by the *host's* architecture, so they
//! would be wrong on an ARM host.) [`tests`] pins the values.
//!
//! Each submodule follows one header; the kernel's subsystems import what
//! they use. Struct layouts the kernel writes (stat, siginfo, the signal
//! frame, ...) are defined by the modules that write them, with Linux's
//! x86-64 offsets.

pub mod errno;
#[cfg(test)]
mod tests;

pub use errno::Errno;

/// Signal numbers (asm/signal.h, x86-64). The kernel's numbering: glibc
/// reserves 32 and 33 and calls 34 SIGRTMIN, the kernel does not.
pub mod signal {
    pub const SIGHUP: i32 = 1;
    pub const SIGINT: i32 = 2;
    pub const SIGQUIT: i32 = 3;
    pub const SIGILL: i32 = 4;
    pub const SIGTRAP: i32 = 5;
    pub const SIGABRT: i32 = 6;
    pub const SIGBUS: i32 = 7;
    pub const SIGFPE: i32 = 8;
    pub const SIGKILL: i32 = 9;
    pub const SIGUSR1: i32 = 10;
    pub const SIGSEGV: i32 = 11;
    pub const SIGUSR2: i32 = 12;
    pub const SIGPIPE: i32 = 13;
    pub const SIGALRM: i32 = 14;
    pub const SIGTERM: i32 = 15;
    pub const SIGSTKFLT: i32 = 16;
    pub const SIGCHLD: i32 = 17;
    pub const SIGCONT: i32 = 18;
    pub const SIGSTOP: i32 = 19;
    pub const SIGTSTP: i32 = 20;
    pub const SIGTTIN: i32 = 21;
    pub const SIGTTOU: i32 = 22;
    pub const SIGURG: i32 = 23;
    pub const SIGXCPU: i32 = 24;
    pub const SIGXFSZ: i32 = 25;
    pub const SIGVTALRM: i32 = 26;
    pub const SIGPROF: i32 = 27;
    pub const SIGWINCH: i32 = 28;
    pub const SIGIO: i32 = 29;
    pub const SIGPWR: i32 = 30;
    pub const SIGSYS: i32 = 31;
    /// The first real-time signal as the kernel numbers them.
    pub const SIGRTMIN: i32 = 32;
    /// The last signal (`_NSIG`).
    pub const SIGRTMAX: i32 = 64;
    /// Number of signals (`_NSIG`): valid signals are 1..=NSIG.
    pub const NSIG: i32 = 64;
}

/// open, fcntl and *at flags (asm-generic/fcntl.h, linux/fcntl.h), and
/// file types (linux/stat.h).
pub mod fcntl {
    pub const O_ACCMODE: u64 = 0o3;
    pub const O_RDONLY: u64 = 0o0;
    pub const O_WRONLY: u64 = 0o1;
    pub const O_RDWR: u64 = 0o2;
    pub const O_CREAT: u64 = 0o100;
    pub const O_EXCL: u64 = 0o200;
    pub const O_NOCTTY: u64 = 0o400;
    pub const O_TRUNC: u64 = 0o1000;
    pub const O_APPEND: u64 = 0o2000;
    pub const O_NONBLOCK: u64 = 0o4000;
    pub const O_DIRECT: u64 = 0o40000;
    pub const O_LARGEFILE: u64 = 0o100000;
    pub const O_DIRECTORY: u64 = 0o200000;
    pub const O_CLOEXEC: u64 = 0o2000000;
    /// `__O_TMPFILE | O_DIRECTORY`, as userspace passes it.
    pub const O_TMPFILE: u64 = 0o20000000 | O_DIRECTORY;
    /// pipe2: a packet-mode pipe for watch_queue (the bit of O_DIRECT).
    pub const O_NOTIFICATION_PIPE: u64 = O_DIRECT;

    pub const F_DUPFD: u64 = 0;
    pub const F_GETFD: u64 = 1;
    pub const F_SETFD: u64 = 2;
    pub const F_GETFL: u64 = 3;
    pub const F_SETFL: u64 = 4;
    pub const F_DUPFD_CLOEXEC: u64 = 1030;
    pub const F_SETPIPE_SZ: u64 = 1031;
    pub const F_GETPIPE_SZ: u64 = 1032;
    pub const FD_CLOEXEC: u64 = 1;

    /// The current directory as a `dirfd` (an `int`).
    pub const AT_FDCWD: i32 = -100;
    pub const AT_SYMLINK_NOFOLLOW: u64 = 0x100;
    pub const AT_REMOVEDIR: u64 = 0x200;
    pub const AT_SYMLINK_FOLLOW: u64 = 0x400;
    pub const AT_NO_AUTOMOUNT: u64 = 0x800;
    pub const AT_EMPTY_PATH: u64 = 0x1000;
    pub const RENAME_NOREPLACE: u64 = 1;

    pub const S_IFIFO: u32 = 0o010000;
    pub const S_IFCHR: u32 = 0o020000;
    pub const S_IFDIR: u32 = 0o040000;
    pub const S_IFREG: u32 = 0o100000;
}

/// mmap, mprotect, mremap and madvise (asm-generic/mman-common.h,
/// asm/mman.h on x86-64).
pub mod mman {
    pub const PROT_NONE: u64 = 0;
    pub const PROT_READ: u64 = 0x1;
    pub const PROT_WRITE: u64 = 0x2;
    pub const PROT_EXEC: u64 = 0x4;
    pub const PROT_GROWSDOWN: u64 = 0x0100_0000;
    pub const PROT_GROWSUP: u64 = 0x0200_0000;

    pub const MAP_SHARED: u64 = 0x01;
    pub const MAP_PRIVATE: u64 = 0x02;
    pub const MAP_SHARED_VALIDATE: u64 = 0x03;
    pub const MAP_FIXED: u64 = 0x10;
    pub const MAP_ANONYMOUS: u64 = 0x20;
    pub const MAP_FIXED_NOREPLACE: u64 = 0x10_0000;

    pub const MREMAP_MAYMOVE: u64 = 1;
    pub const MREMAP_FIXED: u64 = 2;
    pub const MREMAP_DONTUNMAP: u64 = 4;

    pub const MADV_DONTNEED: u64 = 4;
    pub const MADV_REMOVE: u64 = 9;
    pub const MADV_DONTFORK: u64 = 10;
    pub const MADV_HWPOISON: u64 = 100;
}

/// clone flags (linux/sched.h).
pub mod sched {
    /// The low byte: the signal sent to the parent when the child exits.
    pub const CSIGNAL: u64 = 0xff;
    pub const CLONE_VM: u64 = 0x100;
    pub const CLONE_FS: u64 = 0x200;
    pub const CLONE_FILES: u64 = 0x400;
    pub const CLONE_SIGHAND: u64 = 0x800;
    pub const CLONE_PIDFD: u64 = 0x1000;
    pub const CLONE_PTRACE: u64 = 0x2000;
    pub const CLONE_VFORK: u64 = 0x4000;
    pub const CLONE_PARENT: u64 = 0x8000;
    pub const CLONE_THREAD: u64 = 0x10000;
    pub const CLONE_NEWNS: u64 = 0x20000;
    pub const CLONE_SYSVSEM: u64 = 0x40000;
    pub const CLONE_SETTLS: u64 = 0x80000;
    pub const CLONE_PARENT_SETTID: u64 = 0x10_0000;
    pub const CLONE_CHILD_CLEARTID: u64 = 0x20_0000;
    pub const CLONE_DETACHED: u64 = 0x40_0000;
    pub const CLONE_UNTRACED: u64 = 0x80_0000;
    pub const CLONE_CHILD_SETTID: u64 = 0x100_0000;
}

/// futex operations and lock-word bits (linux/futex.h).
pub mod futex {
    pub const FUTEX_WAIT: u64 = 0;
    pub const FUTEX_WAKE: u64 = 1;
    pub const FUTEX_FD: u64 = 2;
    pub const FUTEX_REQUEUE: u64 = 3;
    pub const FUTEX_CMP_REQUEUE: u64 = 4;
    pub const FUTEX_WAKE_OP: u64 = 5;
    pub const FUTEX_LOCK_PI: u64 = 6;
    pub const FUTEX_UNLOCK_PI: u64 = 7;
    pub const FUTEX_TRYLOCK_PI: u64 = 8;
    pub const FUTEX_WAIT_BITSET: u64 = 9;
    pub const FUTEX_WAKE_BITSET: u64 = 10;
    pub const FUTEX_WAIT_REQUEUE_PI: u64 = 11;
    pub const FUTEX_CMP_REQUEUE_PI: u64 = 12;
    pub const FUTEX_LOCK_PI2: u64 = 13;
    pub const FUTEX_PRIVATE_FLAG: u64 = 128;
    pub const FUTEX_CLOCK_REALTIME: u64 = 256;
    pub const FUTEX_CMD_MASK: u64 = !(FUTEX_PRIVATE_FLAG | FUTEX_CLOCK_REALTIME);

    pub const FUTEX_WAITERS: u32 = 0x8000_0000;
    pub const FUTEX_OWNER_DIED: u32 = 0x4000_0000;
    pub const FUTEX_TID_MASK: u32 = 0x3fff_ffff;
    /// The bitset that matches every waiter.
    pub const FUTEX_BITSET_MATCH_ANY: u32 = u32::MAX;
}

/// Clock ids and timer flags (linux/time.h).
pub mod time {
    pub const CLOCK_REALTIME: u64 = 0;
    pub const CLOCK_MONOTONIC: u64 = 1;
    pub const CLOCK_PROCESS_CPUTIME_ID: u64 = 2;
    pub const CLOCK_THREAD_CPUTIME_ID: u64 = 3;
    pub const CLOCK_MONOTONIC_RAW: u64 = 4;
    pub const CLOCK_REALTIME_COARSE: u64 = 5;
    pub const CLOCK_MONOTONIC_COARSE: u64 = 6;
    pub const CLOCK_BOOTTIME: u64 = 7;
    pub const CLOCK_REALTIME_ALARM: u64 = 8;
    pub const CLOCK_BOOTTIME_ALARM: u64 = 9;
    pub const CLOCK_TAI: u64 = 11;
    pub const TIMER_ABSTIME: u64 = 1;
}

/// ioctl requests the kernel answers (asm-generic/ioctls.h).
pub mod ioctl {
    pub const TCGETS: u64 = 0x5401;
    pub const TIOCGWINSZ: u64 = 0x5413;
    pub const FIONREAD: u64 = 0x541b;
    pub const FIONBIO: u64 = 0x5421;
    pub const FIONCLEX: u64 = 0x5450;
    pub const FIOCLEX: u64 = 0x5451;
}
