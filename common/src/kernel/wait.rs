//! Why a syscall cannot complete now. A blocking operation that finds
//! nothing to do names what it waits for with [`Kernel::would_block`]; the
//! scheduler (issue 12, in progress) puts the thread to sleep on it and
//! runs the syscall again when it may succeed, or ends the wait at its
//! deadline on the virtual clock.

use super::{Errno, Kernel, SysResult};

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
}

impl Kernel {
    /// Reports that the current syscall must wait for `wait`. Until the
    /// scheduler lands every such wait fails with EAGAIN (one thread:
    /// nothing could end it but a deadline).
    pub(super) fn would_block(&mut self, wait: Wait) -> SysResult {
        let _ = wait;
        Err(Errno::EAGAIN)
    }
}

impl Kernel {
    /// Kernel object `id` (a pipe, an eventfd, an epoll instance, an open
    /// file) changed: threads waiting on it, or polling, may now proceed.
    /// A no-op until the scheduler lands; it will wake them here.
    pub(super) fn object_changed(&mut self, id: u64) {
        let _ = id;
    }

    /// Raises signal `sig` for the calling thread (SIGPIPE from a write to
    /// a pipe without readers). A no-op placeholder until signal delivery
    /// lands (issue 12, signals): then it marks `sig` pending for the
    /// current thread, to be delivered on the syscall's return.
    pub(super) fn raise_signal_to_current(&mut self, sig: i32) {
        let _ = sig;
    }
}
