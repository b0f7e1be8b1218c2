//! Readiness of every descriptor kind, and poll, ppoll, select and
//! pselect6 over it. Stdin is always readable (the call's whole input is
//! there from the start), stdout and stderr always writable, devices and
//! files of the tree both (Linux's default for files without a poll
//! method); pipes, eventfds and epoll instances answer from their state.
//!
//! Nothing ready with a zero timeout returns 0 at once; otherwise the call
//! waits ([`Wait::Poll`]) until an object changes or the deadline on the
//! virtual clock passes. ppoll's and pselect6's signal mask is read and
//! checked but not applied: no signal is delivered while a thread waits
//! until the signal work lands.

use super::files::{FileKind, MAX_FDS};
use super::wait::Wait;
use super::{Errno, Kernel, SysResult};

pub const POLLIN: u32 = 0x1;
pub const POLLPRI: u32 = 0x2;
pub const POLLOUT: u32 = 0x4;
pub const POLLERR: u32 = 0x8;
pub const POLLHUP: u32 = 0x10;
pub const POLLNVAL: u32 = 0x20;
pub const POLLRDNORM: u32 = 0x40;
pub const POLLRDBAND: u32 = 0x80;
pub const POLLWRNORM: u32 = 0x100;
pub const POLLWRBAND: u32 = 0x200;
const READABLE: u32 = POLLIN | POLLRDNORM;
const WRITABLE: u32 = POLLOUT | POLLWRNORM;
/// What select counts as readable, writable, exceptional (Linux's
/// POLLIN_SET, POLLOUT_SET, POLLEX_SET).
const SELECT_IN: u32 = POLLRDNORM | POLLRDBAND | POLLIN | POLLHUP | POLLERR;
const SELECT_OUT: u32 = POLLWRBAND | POLLWRNORM | POLLOUT | POLLERR;
const SELECT_EX: u32 = POLLPRI;
const NS: u64 = 1_000_000_000;

/// A descriptor's readiness: the poll bits, and the stamps of the
/// object's last change that readers and that writers would be woken
/// for (0 for objects that never change).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) struct Readiness {
    pub events: u32,
    pub changed_in: u64,
    pub changed_out: u64,
}

/// How long a poll-like call may wait.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum Timeout {
    Now,
    Never,
    After(u64),
}

impl Kernel {
    /// The readiness of `kind`; `depth` bounds nested epoll instances.
    pub(super) fn readiness(&self, kind: FileKind, depth: u32) -> Readiness {
        let fixed = |events| Readiness {
            events,
            changed_in: 0,
            changed_out: 0,
        };
        match kind {
            FileKind::Stdin => fixed(READABLE),
            FileKind::Stdout | FileKind::Stderr => fixed(WRITABLE),
            FileKind::Null | FileKind::Zero | FileKind::Random | FileKind::Node(_) => {
                fixed(READABLE | WRITABLE)
            }
            FileKind::PipeRead(id) | FileKind::PipeWrite(id) => {
                let Some(p) = self.pipe_state(id) else {
                    return fixed(0);
                };
                let mut events = 0;
                if let FileKind::PipeRead(_) = kind {
                    if p.buffered > 0 {
                        events |= READABLE;
                    }
                    if p.writers == 0 {
                        events |= POLLHUP;
                    }
                } else {
                    if p.room >= super::pipe::PIPE_BUF {
                        events |= WRITABLE;
                    }
                    if p.readers == 0 {
                        events |= POLLERR;
                    }
                }
                Readiness {
                    events,
                    changed_in: p.readers_changed,
                    changed_out: p.writers_changed,
                }
            }
            FileKind::TimerFd(id) => {
                let Some((expirations, stamp)) = self.timerfd_state(id) else {
                    return fixed(0);
                };
                Readiness {
                    events: if expirations > 0 { READABLE } else { 0 },
                    changed_in: stamp,
                    changed_out: 0,
                }
            }
            FileKind::EventFd(id) => {
                let Some((count, written, read)) = self.eventfd_state(id) else {
                    return fixed(0);
                };
                let mut events = 0;
                if count > 0 {
                    events |= READABLE;
                }
                if count < super::eventfd::MAX_COUNT {
                    events |= WRITABLE;
                }
                Readiness {
                    events,
                    changed_in: written,
                    changed_out: read,
                }
            }
            FileKind::Epoll(id) => self.epoll_readiness(id, depth),
        }
    }

    /// Converts a timeout to a deadline on the virtual clock.
    pub(super) fn poll_wait(&mut self, timeout: Timeout) -> SysResult {
        let deadline = match timeout {
            Timeout::Now => return Ok(0),
            Timeout::Never => None,
            Timeout::After(ns) => Some(self.clock.elapsed().saturating_add(ns)),
        };
        self.would_block(Wait::Poll { deadline })
    }

    /// poll's timeout in milliseconds (negative: none).
    pub(super) fn timeout_ms(ms: u64) -> Timeout {
        match ms as i32 {
            0 => Timeout::Now,
            t if t < 0 => Timeout::Never,
            t => Timeout::After(t as u64 * 1_000_000),
        }
    }

    /// A timespec pointer (ppoll, pselect6, epoll_pwait2); NULL is none.
    pub(super) fn timeout_timespec(&self, addr: u64) -> Result<Timeout, Errno> {
        if addr == 0 {
            return Ok(Timeout::Never);
        }
        let raw = self.space.read_vec(addr, 16)?;
        let secs = i64::from_le_bytes(raw[..8].try_into().map_err(|_| Errno::EFAULT)?);
        let nsec = i64::from_le_bytes(raw[8..].try_into().map_err(|_| Errno::EFAULT)?);
        if secs < 0 || !(0..NS as i64).contains(&nsec) {
            return Err(Errno::EINVAL);
        }
        let ns = (secs as u64).saturating_mul(NS).saturating_add(nsec as u64);
        Ok(if ns == 0 {
            Timeout::Now
        } else {
            Timeout::After(ns)
        })
    }

    /// Checks a signal mask argument (not applied, see the module notes).
    pub(super) fn check_sigmask(&self, mask: u64, size: u64) -> Result<(), Errno> {
        if mask != 0 {
            if size != 8 {
                return Err(Errno::EINVAL);
            }
            self.space.read_vec(mask, 8)?;
        }
        Ok(())
    }

    /// poll (timeout in ms).
    pub(super) fn sys_poll(&mut self, fds: u64, nfds: u64, timeout_ms: u64) -> SysResult {
        self.poll_fds(fds, nfds, Self::timeout_ms(timeout_ms))
    }

    /// ppoll(fds, nfds, timespec, sigmask, sigsetsize).
    pub(super) fn sys_ppoll(&mut self, a: &[u64; 6]) -> SysResult {
        let timeout = self.timeout_timespec(a[2])?;
        self.check_sigmask(a[3], a[4])?;
        self.poll_fds(a[0], a[1], timeout)
    }

    fn poll_fds(&mut self, fds: u64, nfds: u64, timeout: Timeout) -> SysResult {
        if nfds > MAX_FDS as u64 {
            return Err(Errno::EINVAL);
        }
        let mut raw = self.space.read_vec(fds, (nfds * 8) as usize)?;
        let mut ready = 0;
        for entry in raw.chunks_exact_mut(8) {
            let fd = i32::from_le_bytes([entry[0], entry[1], entry[2], entry[3]]);
            let events = u16::from_le_bytes([entry[4], entry[5]]) as u32;
            let revents = if fd < 0 {
                0
            } else {
                match self.files.lookup(fd) {
                    None => POLLNVAL,
                    Some(f) => self.readiness(f.kind, 0).events & (events | POLLERR | POLLHUP),
                }
            };
            entry[6..8].copy_from_slice(&(revents as u16).to_le_bytes());
            if revents != 0 {
                ready += 1;
            }
        }
        if ready == 0 && timeout != Timeout::Now {
            // Check the array is writable so the wait has no side effect
            // and its end cannot fault.
            self.space.check_writable(fds, raw.len() as u64)?;
            return self.poll_wait(timeout);
        }
        self.space.write(fds, &raw)?;
        Ok(ready)
    }

    /// select(n, in, out, ex, timeval).
    pub(super) fn sys_select(&mut self, a: &[u64; 6]) -> SysResult {
        let timeout = if a[4] == 0 {
            Timeout::Never
        } else {
            let raw = self.space.read_vec(a[4], 16)?;
            let secs = i64::from_le_bytes(raw[..8].try_into().map_err(|_| Errno::EFAULT)?);
            let usec = i64::from_le_bytes(raw[8..].try_into().map_err(|_| Errno::EFAULT)?);
            if secs < 0 || !(0..1_000_000).contains(&usec) {
                return Err(Errno::EINVAL);
            }
            match (secs as u64)
                .saturating_mul(NS)
                .saturating_add(usec as u64 * 1000)
            {
                0 => Timeout::Now,
                ns => Timeout::After(ns),
            }
        };
        self.select_fds(a[0], [a[1], a[2], a[3]], timeout)
    }

    /// pselect6(n, in, out, ex, timespec, {sigmask, size}).
    pub(super) fn sys_pselect6(&mut self, a: &[u64; 6]) -> SysResult {
        let timeout = self.timeout_timespec(a[4])?;
        if a[5] != 0 {
            let raw = self.space.read_vec(a[5], 16)?;
            let mask = u64::from_le_bytes(raw[..8].try_into().map_err(|_| Errno::EFAULT)?);
            let size = u64::from_le_bytes(raw[8..].try_into().map_err(|_| Errno::EFAULT)?);
            self.check_sigmask(mask, size)?;
        }
        self.select_fds(a[0], [a[1], a[2], a[3]], timeout)
    }

    /// The three fd sets of select: bits for fds below `n` (at most
    /// [`MAX_FDS`]; Linux clamps to its table's size), EBADF for a set bit
    /// naming a closed descriptor.
    fn select_fds(&mut self, n: u64, sets: [u64; 3], timeout: Timeout) -> SysResult {
        let n = i32::try_from(n as i64).map_err(|_| Errno::EINVAL)?;
        if n < 0 {
            return Err(Errno::EINVAL);
        }
        let n = n.min(MAX_FDS) as usize;
        let bytes = n.div_ceil(64) * 8;
        let mut input = [Vec::new(), Vec::new(), Vec::new()];
        for (set, addr) in input.iter_mut().zip(sets) {
            *set = if addr == 0 {
                vec![0u8; bytes]
            } else {
                self.space.read_vec(addr, bytes)?
            };
        }
        let bit = |set: &[u8], fd: usize| set.get(fd / 8).is_some_and(|b| b & (1 << (fd % 8)) != 0);
        let mut output = [vec![0u8; bytes], vec![0u8; bytes], vec![0u8; bytes]];
        let mut ready = 0u64;
        for fd in 0..n {
            let wanted = [bit(&input[0], fd), bit(&input[1], fd), bit(&input[2], fd)];
            if !wanted.iter().any(|&w| w) {
                continue;
            }
            let f = self.files.lookup(fd as i32).ok_or(Errno::EBADF)?;
            let events = self.readiness(f.kind, 0).events;
            for (i, mask) in [SELECT_IN, SELECT_OUT, SELECT_EX].into_iter().enumerate() {
                if wanted[i] && events & mask != 0 {
                    if let Some(b) = output[i].get_mut(fd / 8) {
                        *b |= 1 << (fd % 8);
                    }
                    ready += 1;
                }
            }
        }
        if ready == 0 && timeout != Timeout::Now {
            for addr in sets.into_iter().filter(|&a| a != 0) {
                self.space.check_writable(addr, bytes as u64)?;
            }
            return self.poll_wait(timeout);
        }
        for (set, addr) in output.iter().zip(sets) {
            if addr != 0 {
                self.space.write(addr, set)?;
            }
        }
        Ok(ready)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::kernel::tests::{blocks, call, get, kernel, path, put, BUF};

    const FDS: u64 = BUF + 0x8000;

    fn pollfds(entries: &[(i32, u16)]) -> Vec<u8> {
        let mut out = Vec::new();
        for &(fd, events) in entries {
            out.extend_from_slice(&fd.to_le_bytes());
            out.extend_from_slice(&events.to_le_bytes());
            out.extend_from_slice(&0xffffu16.to_le_bytes());
        }
        out
    }

    fn revents(k: &Kernel, n: usize) -> Vec<u16> {
        get(k, BUF, n * 8)
            .chunks(8)
            .map(|c| u16::from_le_bytes([c[6], c[7]]))
            .collect()
    }

    #[test]
    fn poll_every_kind() {
        let mut k = kernel();
        assert_eq!(call(&mut k, 293, &[FDS, 0]), 0); // pipe: 3, 4
        let efd = call(&mut k, 290, &[0, 0]); // 5
        let p = path(&k, FDS, "/tmp/f");
        let file = call(&mut k, 2, &[p, 0o102, 0o600]); // 6
        let p = path(&k, FDS, "/dev/null");
        let null = call(&mut k, 2, &[p, 0]); // 7
        assert_eq!((efd, file, null), (5, 6, 7));
        let io = (POLLIN | POLLOUT) as u16;
        let table: &[(i32, u16, u16)] = &[
            (0, io, (POLLIN) as u16),
            (1, io, POLLOUT as u16),
            (2, POLLIN as u16, 0),
            (3, io, 0),
            (4, io, POLLOUT as u16),
            (5, io, POLLOUT as u16),
            (6, io, io),
            (
                7,
                (POLLIN | POLLRDNORM) as u16,
                (POLLIN | POLLRDNORM) as u16,
            ),
            (99, io, POLLNVAL as u16),
            (-1, io, 0),
        ];
        let entries: Vec<(i32, u16)> = table.iter().map(|&(fd, ev, _)| (fd, ev)).collect();
        put(&k, BUF, &pollfds(&entries));
        assert_eq!(call(&mut k, 7, &[BUF, table.len() as u64, 0]), 7);
        let want: Vec<u16> = table.iter().map(|e| e.2).collect();
        assert_eq!(revents(&k, table.len()), want);
        // Data, and the writer gone: readable and hung up.
        put(&k, FDS, b"x");
        assert_eq!(call(&mut k, 1, &[4, FDS, 1]), 1);
        assert_eq!(call(&mut k, 3, &[4]), 0);
        put(&k, BUF, &pollfds(&[(3, POLLIN as u16)]));
        assert_eq!(call(&mut k, 7, &[BUF, 1, 0]), 1);
        assert_eq!(revents(&k, 1), [(POLLIN | POLLHUP) as u16]);
    }

    #[test]
    fn timeouts_and_limits() {
        let mut k = kernel();
        assert_eq!(call(&mut k, 293, &[FDS, 0]), 0);
        put(&k, BUF, &pollfds(&[(3, POLLIN as u16)]));
        // Nothing ready: zero timeout returns 0 (and writes revents), any
        // other waits, never 0.
        assert_eq!(call(&mut k, 7, &[BUF, 1, 0]), 0);
        assert_eq!(revents(&k, 1), [0]);
        assert_eq!(call(&mut k, 7, &[BUF, 0, 0]), 0);
        assert_eq!(
            blocks(&mut k, 7, &[BUF, 1, -1i64 as u64]),
            Some(Wait::Poll { deadline: None })
        );
        assert!(matches!(
            blocks(&mut k, 7, &[BUF, 1, 100]),
            Some(Wait::Poll { deadline: Some(_) })
        ));
        assert_eq!(call(&mut k, 7, &[BUF, 1025, 0]), -22);
        assert_eq!(call(&mut k, 7, &[0xdead_0000, 1, 0]), -14);
        // ppoll: a zero timespec, a bad one, a signal mask of the wrong size.
        put(&k, FDS, &[0u8; 16]);
        assert_eq!(call(&mut k, 271, &[BUF, 1, FDS, 0, 0]), 0);
        assert_eq!(call(&mut k, 271, &[BUF, 1, FDS, FDS + 64, 8]), 0);
        assert_eq!(call(&mut k, 271, &[BUF, 1, FDS, FDS + 64, 4]), -22);
        put(&k, FDS + 8, &(NS as i64).to_le_bytes());
        assert_eq!(call(&mut k, 271, &[BUF, 1, FDS, 0, 0]), -22);
        assert_eq!(
            blocks(&mut k, 271, &[BUF, 1, 0, 0, 0]),
            Some(Wait::Poll { deadline: None })
        );
    }

    #[test]
    fn select_sets() {
        let mut k = kernel();
        assert_eq!(call(&mut k, 293, &[FDS, 0]), 0); // 3, 4
        let (rd, wr, ex, tv) = (BUF, BUF + 128, BUF + 256, BUF + 384);
        put(&k, tv, &[0u8; 16]);
        put(&k, rd, &[0b1001, 0, 0, 0, 0, 0, 0, 0]); // 0 and 3
        put(&k, wr, &[0b10010, 0, 0, 0, 0, 0, 0, 0]); // 1 and 4
        put(&k, ex, &[0b1, 0, 0, 0, 0, 0, 0, 0]);
        assert_eq!(call(&mut k, 23, &[5, rd, wr, ex, tv]), 3);
        assert_eq!(get(&k, rd, 1), [0b1]);
        assert_eq!(get(&k, wr, 1), [0b10010]);
        assert_eq!(get(&k, ex, 1), [0]);
        // A closed descriptor in a set is EBADF; fds at or past n are not
        // looked at.
        put(&k, rd, &[0b10_0000, 0, 0, 0, 0, 0, 0, 0]);
        assert_eq!(call(&mut k, 23, &[6, rd, 0, 0, tv]), -9);
        assert_eq!(call(&mut k, 23, &[5, rd, 0, 0, tv]), 0);
        put(&k, tv + 8, &1_000_000i64.to_le_bytes());
        assert_eq!(call(&mut k, 23, &[5, rd, 0, 0, tv]), -22);
        assert_eq!(call(&mut k, 23, &[-1i64 as u64, 0, 0, 0, 0]), -22);
        // Nothing ready and no timeout: the call waits.
        put(&k, rd, &[0b1000, 0, 0, 0, 0, 0, 0, 0]);
        assert_eq!(
            blocks(&mut k, 23, &[5, rd, 0, 0, 0]),
            Some(Wait::Poll { deadline: None })
        );
        // pselect6 with a zero timespec and a {mask, size} pair.
        put(&k, tv, &[0u8; 16]);
        put(&k, BUF + 512, &(BUF + 600).to_le_bytes());
        put(&k, BUF + 520, &8u64.to_le_bytes());
        assert_eq!(call(&mut k, 270, &[5, rd, 0, 0, tv, BUF + 512]), 0);
        put(&k, BUF + 520, &16u64.to_le_bytes());
        assert_eq!(call(&mut k, 270, &[5, rd, 0, 0, tv, BUF + 512]), -22);
    }

    #[test]
    fn poll_timeouts_in_milliseconds() {
        for (ms, want) in [
            (0u64, Timeout::Now),
            (u64::MAX, Timeout::Never),
            ((-5i64) as u64, Timeout::Never),
            (0xffff_ffff, Timeout::Never),
            (250, Timeout::After(250_000_000)),
            // poll takes an int: the high half is ignored.
            (0x1_0000_0001, Timeout::After(1_000_000)),
        ] {
            assert_eq!(Kernel::timeout_ms(ms), want, "{ms:#x}");
        }
    }
}
