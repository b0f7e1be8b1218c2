//! eventfd and eventfd2: a 64-bit counter. A write adds its 8-byte value
//! and waits while the sum would pass [`MAX_COUNT`]; a read takes the
//! whole count (or 1 with EFD_SEMAPHORE) and waits while it is zero.

use std::collections::BTreeMap;

use super::files::FileKind;
use super::wait::Wait;
use super::{Errno, Kernel, SysResult};
use crate::linux_abi::fcntl::{O_CLOEXEC, O_NONBLOCK, O_RDWR};

/// The largest count: ULLONG_MAX - 1.
pub const MAX_COUNT: u64 = u64::MAX - 1;
const EFD_SEMAPHORE: u64 = 1;

#[derive(Debug)]
struct EventFd {
    count: u64,
    semaphore: bool,
    /// Stamps of the last write (readers care) and read (writers care).
    written: u64,
    read: u64,
}

/// Every eventfd of the call.
#[derive(Debug, Default)]
pub struct EventFds {
    fds: BTreeMap<u64, EventFd>,
}

impl Kernel {
    /// eventfd (flags 0) and eventfd2.
    pub(super) fn sys_eventfd2(&mut self, initval: u64, flags: u64) -> SysResult {
        if flags & !(EFD_SEMAPHORE | O_CLOEXEC | O_NONBLOCK) != 0 {
            return Err(Errno::EINVAL);
        }
        let id = self.files.new_id();
        let fd = self.open_fd(
            FileKind::EventFd(id),
            O_RDWR | (flags & O_NONBLOCK),
            flags & O_CLOEXEC != 0,
        )?;
        let changed = self.files.next_stamp();
        self.eventfds.fds.insert(
            id,
            EventFd {
                // The syscall takes an unsigned int.
                count: initval & 0xffff_ffff,
                semaphore: flags & EFD_SEMAPHORE != 0,
                written: changed,
                read: changed,
            },
        );
        Ok(fd)
    }

    /// (count, stamp of the last write, of the last read), for poll.
    pub(super) fn eventfd_state(&self, id: u64) -> Option<(u64, u64, u64)> {
        self.eventfds
            .fds
            .get(&id)
            .map(|e| (e.count, e.written, e.read))
    }

    fn eventfd_touch(&mut self, id: u64, written: bool) {
        let stamp = self.files.next_stamp();
        if let Some(e) = self.eventfds.fds.get_mut(&id) {
            if written {
                e.written = stamp;
            } else {
                e.read = stamp;
            }
        }
        self.object_changed(id);
    }

    pub(super) fn eventfd_read(
        &mut self,
        id: u64,
        len: usize,
        nonblock: bool,
    ) -> Result<Vec<u8>, Errno> {
        if len < 8 {
            return Err(Errno::EINVAL);
        }
        let e = self.eventfds.fds.get_mut(&id).ok_or(Errno::EBADF)?;
        if e.count == 0 {
            if nonblock {
                return Err(Errno::EAGAIN);
            }
            return self.would_block(Wait::Readable(id)).map(|_| Vec::new());
        }
        let value = if e.semaphore { 1 } else { e.count };
        e.count -= value;
        self.eventfd_touch(id, false);
        Ok(value.to_le_bytes().to_vec())
    }

    /// `data` is what the guest wrote, cut to 8 bytes by the caller.
    pub(super) fn eventfd_write(&mut self, id: u64, data: &[u8], nonblock: bool) -> SysResult {
        let value: [u8; 8] = data.try_into().map_err(|_| Errno::EINVAL)?;
        let value = u64::from_le_bytes(value);
        if value == u64::MAX {
            return Err(Errno::EINVAL);
        }
        let e = self.eventfds.fds.get_mut(&id).ok_or(Errno::EBADF)?;
        match e.count.checked_add(value).filter(|&c| c <= MAX_COUNT) {
            Some(c) => {
                e.count = c;
                self.eventfd_touch(id, true);
                Ok(8)
            }
            None if nonblock => Err(Errno::EAGAIN),
            None => self.would_block(Wait::Writable(id)),
        }
    }

    pub(super) fn eventfd_closed(&mut self, id: u64) {
        self.eventfds.fds.remove(&id);
        self.object_changed(id);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::kernel::tests::{blocks, call, get, kernel, put, BUF};

    fn value(k: &Kernel) -> u64 {
        u64::from_le_bytes(get(k, BUF, 8).try_into().unwrap())
    }

    #[test]
    fn counter_semaphore_and_overflow() {
        let mut k = kernel();
        let fd = call(&mut k, 290, &[3, O_NONBLOCK]) as u64;
        assert_eq!(fd, 3);
        assert_eq!(call(&mut k, 0, &[fd, BUF, 8]), 8);
        assert_eq!(value(&k), 3);
        assert_eq!(call(&mut k, 0, &[fd, BUF, 8]), -11);
        for (v, r) in [(1u64, 8i64), (2, 8), (u64::MAX, -22)] {
            put(&k, BUF, &v.to_le_bytes());
            assert_eq!(call(&mut k, 1, &[fd, BUF, 8]), r, "{v}");
        }
        assert_eq!(call(&mut k, 0, &[fd, BUF, 4]), -22, "short read");
        assert_eq!(call(&mut k, 1, &[fd, BUF, 7]), -22, "short write");
        assert_eq!(call(&mut k, 0, &[fd, BUF, 16]), 8);
        assert_eq!(value(&k), 3);
        // Up to ULLONG_MAX - 1, then a writer waits.
        put(&k, BUF, &MAX_COUNT.to_le_bytes());
        assert_eq!(call(&mut k, 1, &[fd, BUF, 8]), 8);
        put(&k, BUF, &1u64.to_le_bytes());
        assert_eq!(call(&mut k, 1, &[fd, BUF, 8]), -11);
        // Blocking descriptors wait.
        let sem = call(&mut k, 290, &[2, EFD_SEMAPHORE]) as u64;
        for want in [8, 8] {
            assert_eq!(call(&mut k, 0, &[sem, BUF, 8]), want);
            if want == 8 {
                assert_eq!(value(&k), 1);
            }
        }
        assert!(matches!(
            blocks(&mut k, 0, &[sem, BUF, 8]),
            Some(Wait::Readable(_))
        ));
        assert_eq!(call(&mut k, 290, &[0, 0o100]), -22);
        assert_eq!(call(&mut k, 284, &[5]), 5, "eventfd");
        assert_eq!(call(&mut k, 17, &[fd, BUF, 8, 0]), -29, "pread");
        assert_eq!(call(&mut k, 3, &[fd]), 0);
        assert_eq!(k.eventfds.fds.len(), 2);
    }
}
