//! Pipes: pipe and pipe2. A pipe is a byte buffer with a capacity (64 KiB,
//! Linux's 16 pages, changeable with F_SETPIPE_SZ); writes of at most
//! [`PIPE_BUF`] bytes are atomic; a read of an empty pipe with no writer
//! left is end of file; a write with no reader left is EPIPE and SIGPIPE.
//!
//! Linux keeps a pipe's data in page-sized slots and calls it full when
//! every slot is in use; qvm counts bytes, so a pipe holds exactly its
//! capacity whatever the write sizes. A blocking write that does not fit
//! writes what fits and returns the short count (libc write loops and Go's
//! runtime write the rest), where Linux would sleep part-way; a write of
//! at most PIPE_BUF bytes, or one that finds no room at all, waits for
//! room as on Linux. Both are deterministic.

use std::collections::{BTreeMap, VecDeque};

use super::files::{FileKind, Stat};
use super::wait::Wait;
use super::{Errno, Kernel, SysResult};
use crate::layout::PAGE_SIZE;
use crate::linux_abi::fcntl::{
    O_CLOEXEC, O_DIRECT, O_NONBLOCK, O_NOTIFICATION_PIPE, O_RDONLY, O_WRONLY, S_IFIFO,
};
use crate::linux_abi::signal::SIGPIPE;

/// Writes of at most this many bytes are atomic.
pub const PIPE_BUF: usize = 4096;
/// A new pipe's capacity: 16 pages.
pub const DEFAULT_CAPACITY: usize = 16 * PAGE_SIZE as usize;
/// The largest capacity F_SETPIPE_SZ grants an unprivileged process
/// (`/proc/sys/fs/pipe-max-size`).
pub const MAX_CAPACITY: usize = 1 << 20;
/// Pages of pipe buffers one user may hold before new pipes get the
/// minimum and F_SETPIPE_SZ may not grow (`pipe-user-pages-soft`); this
/// also bounds the host memory pipes take.
const USER_PAGES_SOFT: usize = 16384;
/// Pages a new pipe gets once the user is past the soft limit.
const MIN_DEF_PAGES: usize = 2;

/// One pipe's buffer. Who reads and writes it is counted by the
/// descriptor table (its ends are [`FileKind::PipeRead`] and
/// [`FileKind::PipeWrite`]).
#[derive(Debug)]
struct Pipe {
    data: VecDeque<u8>,
    capacity: usize,
    /// Stamp of the last change readers care about (data in, the last
    /// writer gone) and of the last one writers care about (room made,
    /// the last reader gone): Linux wakes the two sides separately.
    readers_changed: u64,
    writers_changed: u64,
}

/// Every pipe of the call.
#[derive(Debug, Default)]
pub struct Pipes {
    pipes: BTreeMap<u64, Pipe>,
    /// Pages of capacity held by all pipes (Linux's per-user account).
    pages: usize,
}

impl Pipes {
    fn get(&self, id: u64) -> Result<&Pipe, Errno> {
        self.pipes.get(&id).ok_or(Errno::EBADF)
    }

    fn get_mut(&mut self, id: u64) -> Result<&mut Pipe, Errno> {
        self.pipes.get_mut(&id).ok_or(Errno::EBADF)
    }
}

/// What a pipe end reports to poll: readiness bits and the stamp of the
/// last change.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) struct PipeState {
    pub buffered: usize,
    pub room: usize,
    pub readers: u32,
    pub writers: u32,
    pub readers_changed: u64,
    pub writers_changed: u64,
}

/// Linux's round_pipe_size: a power-of-two number of pages, at least one;
/// None for sizes it refuses.
fn round_capacity(size: u64) -> Option<usize> {
    if size > 1 << 31 {
        return None;
    }
    let pages = size.div_ceil(PAGE_SIZE).max(1).next_power_of_two();
    usize::try_from(pages * PAGE_SIZE).ok()
}

impl Kernel {
    /// pipe (flags 0) and pipe2. O_DIRECT ("packet mode") and
    /// O_NOTIFICATION_PIPE are refused with EINVAL, as on a kernel built
    /// without them.
    pub(super) fn sys_pipe2(&mut self, fds: u64, flags: u64) -> SysResult {
        if flags & !(O_CLOEXEC | O_NONBLOCK) != 0 || flags & (O_DIRECT | O_NOTIFICATION_PIPE) != 0 {
            return Err(Errno::EINVAL);
        }
        if self.files.free_count() < 2 {
            return Err(Errno::EMFILE);
        }
        // Nothing is created when the result cannot be stored.
        self.space.check_writable(fds, 8)?;
        let pages = if self.pipes.pages + DEFAULT_CAPACITY / PAGE_SIZE as usize > USER_PAGES_SOFT {
            MIN_DEF_PAGES
        } else {
            DEFAULT_CAPACITY / PAGE_SIZE as usize
        };
        let id = self.files.new_id();
        let changed = self.files.next_stamp();
        self.pipes.pages += pages;
        self.pipes.pipes.insert(
            id,
            Pipe {
                data: VecDeque::new(),
                capacity: pages * PAGE_SIZE as usize,
                readers_changed: changed,
                writers_changed: changed,
            },
        );
        let cloexec = flags & O_CLOEXEC != 0;
        let nonblock = flags & O_NONBLOCK;
        let r = self.open_fd(FileKind::PipeRead(id), O_RDONLY | nonblock, cloexec)?;
        let w = self.open_fd(FileKind::PipeWrite(id), O_WRONLY | nonblock, cloexec)?;
        let mut out = [0u8; 8];
        out[..4].copy_from_slice(&(r as u32).to_le_bytes());
        out[4..].copy_from_slice(&(w as u32).to_le_bytes());
        self.space.write(fds, &out)?;
        Ok(0)
    }

    pub(super) fn pipe_state(&self, id: u64) -> Option<PipeState> {
        let p = self.pipes.pipes.get(&id)?;
        Some(PipeState {
            buffered: p.data.len(),
            room: p.capacity.saturating_sub(p.data.len()),
            readers: self.files.refs(FileKind::PipeRead(id)),
            writers: self.files.refs(FileKind::PipeWrite(id)),
            readers_changed: p.readers_changed,
            writers_changed: p.writers_changed,
        })
    }

    /// Records a change that readers (`for_readers`) or writers see.
    fn pipe_touch(&mut self, id: u64, for_readers: bool) {
        let stamp = self.files.next_stamp();
        if let Some(p) = self.pipes.pipes.get_mut(&id) {
            if for_readers {
                p.readers_changed = stamp;
            } else {
                p.writers_changed = stamp;
            }
        }
        self.object_changed(id);
    }

    /// Reads up to `len` bytes; end of file (no bytes) when the buffer is
    /// empty and no writer is left.
    pub(super) fn pipe_read(
        &mut self,
        id: u64,
        len: usize,
        nonblock: bool,
    ) -> Result<Vec<u8>, Errno> {
        if len == 0 {
            return Ok(Vec::new());
        }
        let writers = self.files.refs(FileKind::PipeWrite(id));
        let p = self.pipes.get_mut(id)?;
        if p.data.is_empty() {
            if writers == 0 {
                return Ok(Vec::new());
            }
            if nonblock {
                return Err(Errno::EAGAIN);
            }
            return self.would_block(Wait::Readable(id)).map(|_| Vec::new());
        }
        let n = len.min(p.data.len());
        let out: Vec<u8> = p.data.drain(..n).collect();
        self.pipe_touch(id, false);
        Ok(out)
    }

    /// Writes `data`; see the module notes for atomicity and short writes.
    pub(super) fn pipe_write(&mut self, id: u64, data: &[u8], nonblock: bool) -> SysResult {
        // Linux returns 0 for an empty write before it looks at readers.
        if data.is_empty() {
            return Ok(0);
        }
        if self.files.refs(FileKind::PipeRead(id)) == 0 {
            self.raise_signal_to_current(SIGPIPE);
            return Err(Errno::EPIPE);
        }
        let p = self.pipes.get_mut(id)?;
        let room = p.capacity.saturating_sub(p.data.len());
        let n = if data.len() <= PIPE_BUF {
            if room >= data.len() {
                data.len()
            } else {
                0
            }
        } else {
            room.min(data.len())
        };
        if n == 0 {
            if nonblock {
                return Err(Errno::EAGAIN);
            }
            return self.would_block(Wait::Writable(id));
        }
        p.data.extend(data.get(..n).unwrap_or(&[]));
        self.pipe_touch(id, true);
        Ok(n as u64)
    }

    /// Bytes waiting in the pipe (FIONREAD).
    pub(super) fn pipe_buffered(&self, id: u64) -> usize {
        self.pipes.get(id).map_or(0, |p| p.data.len())
    }

    pub(super) fn pipe_capacity(&self, id: u64) -> usize {
        self.pipes.get(id).map_or(0, |p| p.capacity)
    }

    /// F_SETPIPE_SZ: Linux's rounding, limits and errors (EBUSY when the
    /// data would not fit, EPERM past pipe-max-size or the user's pages).
    pub(super) fn pipe_set_capacity(&mut self, id: u64, size: u64) -> SysResult {
        let capacity = round_capacity(size).ok_or(Errno::EINVAL)?;
        let total = self.pipes.pages;
        let p = self.pipes.get_mut(id)?;
        let (old_pages, new_pages) = (
            p.capacity / PAGE_SIZE as usize,
            capacity / PAGE_SIZE as usize,
        );
        if capacity > p.capacity && capacity > MAX_CAPACITY {
            return Err(Errno::EPERM);
        }
        let after = total.saturating_sub(old_pages).saturating_add(new_pages);
        if new_pages > old_pages && after > USER_PAGES_SOFT {
            return Err(Errno::EPERM);
        }
        if p.data.len() > capacity {
            return Err(Errno::EBUSY);
        }
        p.capacity = capacity;
        self.pipes.pages = after;
        self.pipe_touch(id, false);
        Ok(capacity as u64)
    }

    /// One end lost its last descriptor: the other end sees end of file or
    /// EPIPE; with both gone the pipe is freed.
    pub(super) fn pipe_end_closed(&mut self, id: u64) {
        let open =
            self.files.refs(FileKind::PipeRead(id)) + self.files.refs(FileKind::PipeWrite(id));
        if open == 0 {
            if let Some(p) = self.pipes.pipes.remove(&id) {
                self.pipes.pages = self
                    .pipes
                    .pages
                    .saturating_sub(p.capacity / PAGE_SIZE as usize);
            }
            self.object_changed(id);
        } else {
            // The side still open is the one that sees the change.
            let readers_left = self.files.refs(FileKind::PipeRead(id)) > 0;
            self.pipe_touch(id, readers_left);
        }
    }

    pub(super) fn pipe_stat(&self, id: u64, time_ns: u64) -> Stat {
        Stat {
            // pipefs: one inode per pipe.
            dev: 0x0c,
            ino: 0x1000 + id,
            nlink: 1,
            mode: S_IFIFO | 0o600,
            times: [time_ns; 3],
            ..Stat::default()
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::kernel::tests::{blocks, call, get, kernel, put, BUF};
    use crate::linux_abi::fcntl::{F_GETPIPE_SZ, F_SETFL, F_SETPIPE_SZ};

    const FDS: u64 = BUF + 0x8000;
    const EAGAIN: i64 = -(Errno::EAGAIN.0 as i64);

    /// A pipe made by pipe2(flags): (read fd, write fd).
    fn pipe(k: &mut Kernel, flags: u64) -> (u64, u64) {
        assert_eq!(call(k, 293, &[FDS, flags]), 0);
        let b = get(k, FDS, 8);
        (
            u32::from_le_bytes(b[..4].try_into().unwrap()) as u64,
            u32::from_le_bytes(b[4..].try_into().unwrap()) as u64,
        )
    }

    #[test]
    fn bytes_flow_then_eof_and_epipe() {
        let mut k = kernel();
        let (r, w) = pipe(&mut k, 0);
        assert_eq!((r, w), (3, 4));
        put(&k, BUF, b"hello");
        assert_eq!(call(&mut k, 1, &[w, BUF, 5]), 5);
        assert_eq!(call(&mut k, 16, &[r, 0x541b, BUF + 64]), 0, "FIONREAD");
        assert_eq!(get(&k, BUF + 64, 4), 5u32.to_le_bytes());
        assert_eq!(call(&mut k, 0, &[r, BUF + 128, 3]), 3);
        assert_eq!(call(&mut k, 0, &[r, BUF + 131, 100]), 2);
        assert_eq!(get(&k, BUF + 128, 5), b"hello");
        // Empty with a writer: a blocking read waits, a non-blocking one
        // is EAGAIN.
        assert!(matches!(
            blocks(&mut k, 0, &[r, BUF, 1]),
            Some(Wait::Readable(_))
        ));
        assert_eq!(call(&mut k, 72, &[r, F_SETFL, O_NONBLOCK]), 0);
        assert_eq!(call(&mut k, 0, &[r, BUF, 1]), EAGAIN);
        // Wrong ends, seeking.
        assert_eq!(call(&mut k, 1, &[r, BUF, 1]), -9);
        assert_eq!(call(&mut k, 0, &[w, BUF, 1]), -9);
        assert_eq!(call(&mut k, 8, &[r, 0, 0]), -29);
        assert_eq!(call(&mut k, 17, &[r, BUF, 1, 0]), -29);
        // A duplicate keeps the write end open.
        let w2 = call(&mut k, 32, &[w]) as u64;
        assert_eq!(call(&mut k, 3, &[w]), 0);
        assert_eq!(call(&mut k, 0, &[r, BUF, 1]), EAGAIN);
        assert_eq!(call(&mut k, 3, &[w2]), 0);
        assert_eq!(call(&mut k, 0, &[r, BUF, 1]), 0, "end of file");
        // No reader: EPIPE (and SIGPIPE through raise_signal_to_current).
        let (r, w) = pipe(&mut k, 0);
        assert_eq!(call(&mut k, 3, &[r]), 0);
        assert_eq!(
            call(&mut k, 1, &[w, BUF, 0]),
            0,
            "an empty write comes first"
        );
        assert_eq!(call(&mut k, 1, &[w, BUF, 1]), -32);
        assert_eq!(k.termination(), None);
    }

    #[test]
    fn capacity_atomicity_and_short_writes() {
        let mut k = kernel();
        let (r, w) = pipe(&mut k, O_NONBLOCK);
        assert_eq!(call(&mut k, 72, &[w, F_GETPIPE_SZ]), 65536);
        // 16 writes of PIPE_BUF fill it; the 17th finds no room.
        for _ in 0..16 {
            assert_eq!(call(&mut k, 1, &[w, BUF, 4096]), 4096);
        }
        assert_eq!(call(&mut k, 1, &[w, BUF, 1]), EAGAIN);
        assert_eq!(call(&mut k, 72, &[w, F_SETPIPE_SZ, 4096]), -16, "EBUSY");
        assert_eq!(call(&mut k, 0, &[r, BUF, 600]), 600);
        // 600 bytes of room: an atomic write of 1000 does not fit at all,
        // a larger write takes what fits.
        assert_eq!(call(&mut k, 1, &[w, BUF, 1000]), EAGAIN);
        assert_eq!(call(&mut k, 1, &[w, BUF, 5000]), 600);
        for (asked, got) in [
            (100_000u64, 131_072i64),
            ((1 << 20) + 1, -1),
            (1 << 20, 1 << 20),
            (4096, -16),
            (0, -16),
        ] {
            assert_eq!(call(&mut k, 72, &[r, F_SETPIPE_SZ, asked]), got, "{asked}");
        }
        assert_eq!(call(&mut k, 72, &[3, F_GETPIPE_SZ]), 1 << 20);
        assert_eq!(call(&mut k, 72, &[0, F_GETPIPE_SZ]), -9, "not a pipe");
    }

    #[test]
    fn flags_faults_and_stat() {
        let mut k = kernel();
        for flags in [O_DIRECT, 1, 0o100] {
            assert_eq!(call(&mut k, 293, &[FDS, flags]), -22, "{flags:#o}");
        }
        // A bad array creates nothing.
        assert_eq!(call(&mut k, 22, &[0xdead_0000]), -14);
        let (r, w) = pipe(&mut k, O_CLOEXEC | O_NONBLOCK);
        assert_eq!((r, w), (3, 4));
        assert_eq!(call(&mut k, 72, &[r, 1]), 1, "FD_CLOEXEC");
        assert_eq!(call(&mut k, 72, &[w, 3]), (O_WRONLY | O_NONBLOCK) as i64);
        assert_eq!(call(&mut k, 5, &[r, BUF]), 0);
        let mode = u32::from_le_bytes(get(&k, BUF + 24, 4).try_into().unwrap());
        assert_eq!(mode, S_IFIFO | 0o600);
        // Closing both ends frees the pipe.
        assert_eq!(call(&mut k, 3, &[r]), 0);
        assert_eq!(call(&mut k, 3, &[w]), 0);
        assert!(k.pipes.pipes.is_empty());
        assert_eq!(k.pipes.pages, 0);
    }

    #[test]
    fn capacity_rounds_like_linux() {
        for (asked, got) in [
            (0, Some(4096)),
            (1, Some(4096)),
            (4096, Some(4096)),
            (4097, Some(8192)),
            (65536, Some(65536)),
            (100_000, Some(131072)),
            (1 << 31, Some(1 << 31)),
            ((1 << 31) + 1, None),
        ] {
            assert_eq!(round_capacity(asked), got, "{asked}");
        }
    }
}
