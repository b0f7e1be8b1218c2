//! Why a syscall cannot complete now. A blocking operation that finds
//! nothing to do names what it waits for with [`Kernel::would_block`]; the
//! scheduler puts the thread to sleep on it and runs the syscall again
//! when it may succeed, or ends the wait at its deadline on the virtual
//! clock.

use super::{Kernel, SysResult};

/// What a blocked thread waits for.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Wait {
    /// Until the kernel object with this id (a pipe's buffer, an eventfd)
    /// has data to read or its writers are gone.
    Readable(u64),
    /// Until the kernel object with this id has room to write or its
    /// readers are gone.
    Writable(u64),
    /// poll, select or epoll with nothing ready: until any kernel object
    /// changes, or the deadline (virtual nanoseconds since the call
    /// started) passes. None: no deadline.
    Poll { deadline: Option<u64> },
    /// nanosleep and friends: only the deadline ends it.
    Sleep,
    /// FUTEX_WAIT(_BITSET) on the word at `addr`, for wakes whose bitset
    /// shares a bit with `bitset`.
    Futex { addr: u64, bitset: u32 },
    /// FUTEX_LOCK_PI on the word at `addr`: until its owner unlocks it
    /// and hands it over.
    FutexPi { addr: u64 },
    /// pause, sigsuspend: until a signal is delivered.
    Signal,
    /// rt_sigtimedwait: until a signal of `set` is pending.
    SigWait { set: super::sigset::SigSet },
}

impl Wait {
    /// For the deadlock report: what the thread waits on.
    pub fn describe(&self) -> String {
        match self {
            Wait::Readable(id) => format!("read of kernel object {id}"),
            Wait::Writable(id) => format!("write to kernel object {id}"),
            Wait::Poll { .. } => "poll with nothing ready".to_string(),
            Wait::Sleep => "sleep".to_string(),
            Wait::Futex { addr, .. } => format!("futex {addr:#x}"),
            Wait::FutexPi { addr } => format!("PI futex {addr:#x}"),
            Wait::Signal => "a signal".to_string(),
            Wait::SigWait { set } => format!("a signal of {:#x}", set.bits()),
        }
    }
}

impl Kernel {
    /// Reports that the current syscall must wait for `wait`: the thread
    /// sleeps (the returned value is not seen) and the syscall runs again
    /// when the object changes, or returns 0 at a poll's deadline. A path
    /// that calls this must have had no side effect yet.
    pub(super) fn would_block(&mut self, wait: Wait) -> SysResult {
        let deadline = match &wait {
            Wait::Poll { deadline } => *deadline,
            _ => None,
        };
        self.block_on(wait, deadline, 0);
        Ok(0)
    }
}

impl Kernel {
    /// Kernel object `id` (a pipe, an eventfd, an epoll instance, an open
    /// file) changed: threads waiting on it, and every poll, run their
    /// syscall again (in the order they began waiting), and sleep again if
    /// it still cannot complete.
    pub(super) fn object_changed(&mut self, id: u64) {
        let woken = self.sched.blocked_where(|b| match b.wait {
            Wait::Readable(o) | Wait::Writable(o) => o == id,
            Wait::Poll { .. } => true,
            _ => false,
        });
        for tid in woken {
            self.sched.wake(tid, super::sched::Completion::Rerun);
        }
    }

    /// Raises signal `sig` for the calling thread (SIGPIPE from a write to
    /// a pipe without readers), as Linux's send_sig: delivered when the
    /// syscall returns.
    pub(super) fn raise_signal_to_current(&mut self, sig: i32) {
        let info =
            super::siginfo::SigInfo::user(sig, super::PID as i32, super::identity::UID as u32);
        let tid = self.sched.current();
        let _ = self.send_to_thread(tid, info);
    }
}
