//! The values pinned against Linux's x86-64 headers (and what
//! `strace`/`errno -l` print on an x86-64 Linux host), so a change here, or
//! a host library creeping back in, fails loudly.

use super::*;
use crate::address_space::Prot;
use crate::kernel::siginfo::SigInfo;
use crate::kernel::signal_frame::{FRAME_SIZE, SIGCONTEXT_SIZE, UCONTEXT_SIZE};
use crate::kernel::sigset::SIGSET_SIZE;

#[test]
fn errno_values_are_linuxs() {
    let table = [
        (Errno::EPERM, 1),
        (Errno::ENOENT, 2),
        (Errno::ESRCH, 3),
        (Errno::EINTR, 4),
        (Errno::EIO, 5),
        (Errno::ENXIO, 6),
        (Errno::EBADF, 9),
        (Errno::ECHILD, 10),
        (Errno::EAGAIN, 11),
        (Errno::ENOMEM, 12),
        (Errno::EACCES, 13),
        (Errno::EFAULT, 14),
        (Errno::EBUSY, 16),
        (Errno::EEXIST, 17),
        (Errno::EXDEV, 18),
        (Errno::ENODEV, 19),
        (Errno::ENOTDIR, 20),
        (Errno::EISDIR, 21),
        (Errno::EINVAL, 22),
        (Errno::EMFILE, 24),
        (Errno::ENOTTY, 25),
        (Errno::EFBIG, 27),
        (Errno::ENOSPC, 28),
        (Errno::ESPIPE, 29),
        (Errno::EROFS, 30),
        (Errno::EPIPE, 32),
        (Errno::ERANGE, 34),
        (Errno::EDEADLK, 35),
        (Errno::ENAMETOOLONG, 36),
        (Errno::ENOSYS, 38),
        (Errno::ENOTEMPTY, 39),
        (Errno::ELOOP, 40),
        (Errno::EOVERFLOW, 75),
        (Errno::ETIMEDOUT, 110),
    ];
    for (errno, linux) in table {
        assert_eq!(errno.0, linux, "{}", errno.name());
    }
    assert_eq!(Errno::EAGAIN.name(), "EAGAIN");
    assert_eq!(Errno(200).name(), "errno 200");
    assert_eq!(Errno::ENOSYS.as_return() as i64, -38);
}

#[test]
fn signal_numbers_are_linuxs() {
    use signal::*;
    let table = [
        (SIGHUP, 1),
        (SIGINT, 2),
        (SIGQUIT, 3),
        (SIGILL, 4),
        (SIGTRAP, 5),
        (SIGABRT, 6),
        (SIGBUS, 7),
        (SIGFPE, 8),
        (SIGKILL, 9),
        (SIGUSR1, 10),
        (SIGSEGV, 11),
        (SIGUSR2, 12),
        (SIGPIPE, 13),
        (SIGALRM, 14),
        (SIGTERM, 15),
        (SIGSTKFLT, 16),
        (SIGCHLD, 17),
        (SIGCONT, 18),
        (SIGSTOP, 19),
        (SIGTSTP, 20),
        (SIGTTIN, 21),
        (SIGTTOU, 22),
        (SIGURG, 23),
        (SIGXCPU, 24),
        (SIGXFSZ, 25),
        (SIGVTALRM, 26),
        (SIGPROF, 27),
        (SIGWINCH, 28),
        (SIGIO, 29),
        (SIGPWR, 30),
        (SIGSYS, 31),
        (SIGRTMIN, 32),
        (SIGRTMAX, 64),
        (NSIG, 64),
    ];
    for (i, (ours, linux)) in table.into_iter().enumerate() {
        assert_eq!(ours, linux, "entry {i}");
    }
}

#[test]
fn flags_and_numbers_are_linuxs() {
    use fcntl::*;
    use futex::*;
    use ioctl::*;
    use mman::*;
    use sched::*;
    use time::*;
    let table: &[(&str, u64, u64)] = &[
        ("O_WRONLY", O_WRONLY, 0o1),
        ("O_RDWR", O_RDWR, 0o2),
        ("O_CREAT", O_CREAT, 0o100),
        ("O_EXCL", O_EXCL, 0o200),
        ("O_TRUNC", O_TRUNC, 0o1000),
        ("O_APPEND", O_APPEND, 0o2000),
        ("O_NONBLOCK", O_NONBLOCK, 0o4000),
        ("O_DIRECT", O_DIRECT, 0o40000),
        ("O_LARGEFILE", O_LARGEFILE, 0o100000),
        ("O_DIRECTORY", O_DIRECTORY, 0o200000),
        ("O_CLOEXEC", O_CLOEXEC, 0o2000000),
        ("O_TMPFILE", O_TMPFILE, 0o20200000),
        ("F_SETFL", F_SETFL, 4),
        ("F_DUPFD_CLOEXEC", F_DUPFD_CLOEXEC, 1030),
        ("F_GETPIPE_SZ", F_GETPIPE_SZ, 1032),
        ("FD_CLOEXEC", FD_CLOEXEC, 1),
        ("AT_FDCWD", AT_FDCWD as u64, (-100i64) as u64),
        ("AT_SYMLINK_NOFOLLOW", AT_SYMLINK_NOFOLLOW, 0x100),
        ("AT_REMOVEDIR", AT_REMOVEDIR, 0x200),
        ("AT_EMPTY_PATH", AT_EMPTY_PATH, 0x1000),
        ("S_IFIFO", u64::from(S_IFIFO), 0o10000),
        ("S_IFDIR", u64::from(S_IFDIR), 0o40000),
        ("S_IFREG", u64::from(S_IFREG), 0o100000),
        ("PROT_READ", PROT_READ, 1),
        ("PROT_WRITE", PROT_WRITE, 2),
        ("PROT_EXEC", PROT_EXEC, 4),
        ("PROT_GROWSDOWN", PROT_GROWSDOWN, 0x0100_0000),
        ("MAP_SHARED", MAP_SHARED, 0x01),
        ("MAP_PRIVATE", MAP_PRIVATE, 0x02),
        ("MAP_FIXED", MAP_FIXED, 0x10),
        ("MAP_ANONYMOUS", MAP_ANONYMOUS, 0x20),
        ("MAP_FIXED_NOREPLACE", MAP_FIXED_NOREPLACE, 0x10_0000),
        ("MREMAP_MAYMOVE", MREMAP_MAYMOVE, 1),
        ("MADV_DONTNEED", MADV_DONTNEED, 4),
        ("CLONE_VM", CLONE_VM, 0x100),
        ("CLONE_FILES", CLONE_FILES, 0x400),
        ("CLONE_SIGHAND", CLONE_SIGHAND, 0x800),
        ("CLONE_THREAD", CLONE_THREAD, 0x10000),
        ("CLONE_SETTLS", CLONE_SETTLS, 0x80000),
        ("CLONE_CHILD_CLEARTID", CLONE_CHILD_CLEARTID, 0x20_0000),
        ("CLONE_CHILD_SETTID", CLONE_CHILD_SETTID, 0x100_0000),
        ("FUTEX_WAIT", FUTEX_WAIT, 0),
        ("FUTEX_WAKE", FUTEX_WAKE, 1),
        ("FUTEX_CMP_REQUEUE", FUTEX_CMP_REQUEUE, 4),
        ("FUTEX_LOCK_PI", FUTEX_LOCK_PI, 6),
        ("FUTEX_WAIT_BITSET", FUTEX_WAIT_BITSET, 9),
        ("FUTEX_PRIVATE_FLAG", FUTEX_PRIVATE_FLAG, 128),
        ("FUTEX_CLOCK_REALTIME", FUTEX_CLOCK_REALTIME, 256),
        ("FUTEX_WAITERS", u64::from(FUTEX_WAITERS), 0x8000_0000),
        ("FUTEX_TID_MASK", u64::from(FUTEX_TID_MASK), 0x3fff_ffff),
        ("CLOCK_REALTIME", CLOCK_REALTIME, 0),
        ("CLOCK_MONOTONIC", CLOCK_MONOTONIC, 1),
        ("CLOCK_PROCESS_CPUTIME_ID", CLOCK_PROCESS_CPUTIME_ID, 2),
        ("CLOCK_THREAD_CPUTIME_ID", CLOCK_THREAD_CPUTIME_ID, 3),
        ("CLOCK_MONOTONIC_RAW", CLOCK_MONOTONIC_RAW, 4),
        ("CLOCK_BOOTTIME", CLOCK_BOOTTIME, 7),
        ("CLOCK_TAI", CLOCK_TAI, 11),
        ("TIMER_ABSTIME", TIMER_ABSTIME, 1),
        ("TCGETS", TCGETS, 0x5401),
        ("TIOCGWINSZ", TIOCGWINSZ, 0x5413),
        ("FIONREAD", FIONREAD, 0x541b),
        ("FIONBIO", FIONBIO, 0x5421),
        ("FIOCLEX", FIOCLEX, 0x5451),
    ];
    for &(name, ours, linux) in table {
        assert_eq!(ours, linux, "{name}");
    }
}

#[test]
fn struct_layouts_are_linuxs() {
    // Sizes of what the kernel writes to guest memory (x86-64):
    // sizeof(struct rt_sigframe) without the FP state, ucontext,
    // sigcontext, siginfo_t, the kernel's sigset_t.
    assert_eq!(FRAME_SIZE, 440);
    assert_eq!(UCONTEXT_SIZE, 304);
    assert_eq!(SIGCONTEXT_SIZE, 256);
    assert_eq!(SigInfo::SIZE, 128);
    assert_eq!(SIGSET_SIZE, 8);
    assert_eq!(Prot::RW.bits(), 3);
}
