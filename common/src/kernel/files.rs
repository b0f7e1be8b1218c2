//! File descriptors. A contract sees no host file: stdin is the call's
//! input, stdout and stderr are captured, the device files have
//! deterministic contents, and pipes, eventfds, epoll instances and the
//! in-memory file tree ([`super::tmpfs`]) are the kernel's own objects.
//! The standard streams look like pipes, as they do when a node captures a
//! program's output.
//!
//! Every descriptor names its object by a [`FileKind`]; the table counts
//! how many descriptors name each object, so an object is released (a
//! pipe's last writer gone, an open file's last descriptor closed) exactly
//! when Linux would release its open file description.

use std::collections::BTreeMap;

pub use super::output::MAX_OUTPUT;
use super::output::{Output, OutputSink, Stream};
use super::{Errno, Kernel, SysResult};
use crate::linux_abi::fcntl::*;
use crate::linux_abi::ioctl::{FIOCLEX, FIONBIO, FIONCLEX, FIONREAD};
/// Most file descriptors open at once (RLIMIT_NOFILE).
pub const MAX_FDS: i32 = 1024;
/// Most iovecs in one readv/writev (Linux's UIO_MAXIOV).
const MAX_IOV: u64 = 1024;
/// The path `/proc/self/exe` resolves to; argv[0] is its last component.
pub const EXE_DIR: &str = "/contract/";

/// Status flags F_SETFL may change.
const SETFL_MASK: u64 = O_APPEND | O_NONBLOCK | O_DIRECT;

/// What an open file descriptor refers to. Objects with state are named
/// by an id the kernel hands out in order ([`Files::new_id`]).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum FileKind {
    Stdin,
    Stdout,
    Stderr,
    Null,
    Zero,
    Random,
    /// The read end of a pipe ([`super::pipe`]).
    PipeRead(u64),
    /// The write end of a pipe.
    PipeWrite(u64),
    /// An eventfd ([`super::eventfd`]).
    EventFd(u64),
    /// An epoll instance ([`super::epoll`]).
    Epoll(u64),
    /// A timerfd ([`super::timers`]).
    TimerFd(u64),
    /// An open file description of the file tree ([`super::tmpfs`]): a
    /// file or directory with its offset, shared by duplicates.
    Node(u64),
}

impl FileKind {
    /// True for what Linux would refuse to seek (ESPIPE).
    pub(super) fn is_pipe(self) -> bool {
        matches!(
            self,
            FileKind::Stdin
                | FileKind::Stdout
                | FileKind::Stderr
                | FileKind::PipeRead(_)
                | FileKind::PipeWrite(_)
        )
    }
}

/// One descriptor: the object, its status flags and close-on-exec.
#[derive(Clone, Copy, Debug)]
pub(super) struct OpenFile {
    pub kind: FileKind,
    /// Status flags as given to open (access mode and O_APPEND etc.).
    pub status: u64,
    pub cloexec: bool,
}

impl OpenFile {
    pub fn nonblocking(&self) -> bool {
        self.status & O_NONBLOCK != 0
    }
}

/// What fstat reports.
#[derive(Clone, Copy, Debug, Default)]
pub(super) struct Stat {
    pub dev: u64,
    pub ino: u64,
    pub nlink: u64,
    pub mode: u32,
    pub rdev: u64,
    pub size: u64,
    pub blocks: u64,
    /// Access, modification and change times, nanoseconds since the epoch.
    pub times: [u64; 3],
}

impl Stat {
    /// `struct stat` as x86-64 Linux lays it out.
    pub fn bytes(&self) -> [u8; 144] {
        let mut st = [0u8; 144];
        let mut put = |off: usize, bytes: &[u8]| {
            if let Some(dst) = st.get_mut(off..off + bytes.len()) {
                dst.copy_from_slice(bytes);
            }
        };
        put(0, &self.dev.to_le_bytes());
        put(8, &self.ino.to_le_bytes());
        put(16, &self.nlink.to_le_bytes());
        put(24, &self.mode.to_le_bytes());
        put(28, &(super::identity::UID as u32).to_le_bytes());
        put(32, &(super::identity::GID as u32).to_le_bytes());
        put(40, &self.rdev.to_le_bytes());
        put(48, &self.size.to_le_bytes());
        put(56, &4096u64.to_le_bytes()); // st_blksize
        put(64, &self.blocks.to_le_bytes());
        for (i, t) in self.times.iter().enumerate() {
            put(72 + 16 * i, &(t / 1_000_000_000).to_le_bytes());
            put(80 + 16 * i, &(t % 1_000_000_000).to_le_bytes());
        }
        st
    }
}

/// The stat of a device or standard stream (no state of its own);
/// `time_ns` is the block time.
pub(super) fn fixed_stat(kind: FileKind, time_ns: u64) -> Stat {
    let dev = |major: u64, minor: u64| (major << 8) | minor;
    let (mode, rdev) = match kind {
        FileKind::Null => (S_IFCHR | 0o666, dev(1, 3)),
        FileKind::Zero => (S_IFCHR | 0o666, dev(1, 5)),
        FileKind::Random => (S_IFCHR | 0o666, dev(1, 9)),
        _ => (S_IFIFO | 0o600, 0),
    };
    let ino = match kind {
        FileKind::Stdin => 1,
        FileKind::Stdout => 2,
        FileKind::Stderr => 3,
        FileKind::Null => 4,
        FileKind::Zero => 5,
        _ => 6,
    };
    Stat {
        dev: if kind.is_pipe() { 0x0c } else { 0x05 },
        ino,
        nlink: 1,
        mode,
        rdev,
        times: [time_ns; 3],
        ..Stat::default()
    }
}

/// The descriptor table and the call's standard streams.
pub struct Files {
    fds: BTreeMap<i32, OpenFile>,
    /// How many descriptors name each object.
    refs: BTreeMap<FileKind, u32>,
    next_id: u64,
    stamp: u64,
    stdin: Vec<u8>,
    stdin_pos: usize,
    pub stdout: Output,
    pub stderr: Output,
    /// Takes stdout and stderr as written, when set.
    pub sink: Option<Box<dyn OutputSink>>,
    pub(super) umask: u64,
}

impl Files {
    pub fn new(stdin: Vec<u8>) -> Self {
        let mut files = Files {
            fds: BTreeMap::new(),
            refs: BTreeMap::new(),
            next_id: 1,
            stamp: 0,
            stdin,
            stdin_pos: 0,
            stdout: Output::default(),
            stderr: Output::default(),
            sink: None,
            umask: 0o022,
        };
        for (fd, kind, status) in [
            (0, FileKind::Stdin, O_RDONLY),
            (1, FileKind::Stdout, O_WRONLY),
            (2, FileKind::Stderr, O_WRONLY),
        ] {
            files.install(
                fd,
                OpenFile {
                    kind,
                    status,
                    cloexec: false,
                },
            );
        }
        files
    }

    pub(super) fn get(&self, fd: u64) -> Result<OpenFile, Errno> {
        i32::try_from(fd as i64)
            .ok()
            .and_then(|fd| self.fds.get(&fd).copied())
            .ok_or(Errno::EBADF)
    }

    /// The descriptor `fd` if it is open (for poll, which takes an int).
    pub(super) fn lookup(&self, fd: i32) -> Option<OpenFile> {
        self.fds.get(&fd).copied()
    }

    fn lowest_free(&self, from: i32) -> Result<i32, Errno> {
        let mut fd = from.max(0);
        while self.fds.contains_key(&fd) {
            fd += 1;
        }
        if fd >= MAX_FDS {
            return Err(Errno::EMFILE);
        }
        Ok(fd)
    }

    /// How many descriptors are free.
    pub(super) fn free_count(&self) -> usize {
        (MAX_FDS as usize).saturating_sub(self.fds.len())
    }

    /// Puts `file` at `fd`; returns what was there, which the caller must
    /// pass to [`Kernel::drop_file`].
    fn install(&mut self, fd: i32, file: OpenFile) -> Option<OpenFile> {
        *self.refs.entry(file.kind).or_insert(0) += 1;
        let old = self.fds.insert(fd, file);
        if let Some(o) = old {
            self.unref(o.kind);
        }
        old
    }

    fn take(&mut self, fd: i32) -> Option<OpenFile> {
        let old = self.fds.remove(&fd);
        if let Some(o) = old {
            self.unref(o.kind);
        }
        old
    }

    fn unref(&mut self, kind: FileKind) {
        if let Some(n) = self.refs.get_mut(&kind) {
            *n = n.saturating_sub(1);
            if *n == 0 {
                self.refs.remove(&kind);
            }
        }
    }

    /// How many descriptors name `kind`.
    pub(super) fn refs(&self, kind: FileKind) -> u32 {
        self.refs.get(&kind).copied().unwrap_or(0)
    }

    /// A fresh object id; ids are never reused within a call.
    pub(super) fn new_id(&mut self) -> u64 {
        let id = self.next_id;
        self.next_id = self.next_id.saturating_add(1);
        id
    }

    /// The next change stamp: objects record the stamp of their last
    /// change, which orders epoll's ready list.
    pub(super) fn next_stamp(&mut self) -> u64 {
        self.stamp = self.stamp.saturating_add(1);
        self.stamp
    }

    /// Bytes of stdin not read yet.
    pub(super) fn stdin_left(&self) -> usize {
        self.stdin.len().saturating_sub(self.stdin_pos)
    }
}

impl Kernel {
    /// Opens a new descriptor for `kind` at the lowest free number.
    pub(super) fn open_fd(&mut self, kind: FileKind, status: u64, cloexec: bool) -> SysResult {
        let fd = self.files.lowest_free(0)?;
        self.files.install(
            fd,
            OpenFile {
                kind,
                status: status & !O_CLOEXEC,
                cloexec,
            },
        );
        Ok(fd as u64)
    }

    /// Called after a descriptor left the table: when it was the last one
    /// naming its object, the object is released.
    fn drop_file(&mut self, file: Option<OpenFile>) {
        let Some(f) = file else { return };
        if self.files.refs(f.kind) != 0 {
            return;
        }
        self.epoll_forget(f.kind);
        match f.kind {
            FileKind::PipeRead(id) | FileKind::PipeWrite(id) => self.pipe_end_closed(id),
            FileKind::EventFd(id) => self.eventfd_closed(id),
            FileKind::Epoll(id) => self.epoll_closed(id),
            FileKind::TimerFd(id) => self.timerfd_closed(id),
            FileKind::Node(id) => self.node_closed(id),
            _ => {}
        }
    }

    fn write_to(&mut self, f: OpenFile, data: &[u8], at: Option<u64>) -> SysResult {
        let files = &mut self.files;
        let (stream, output) = match f.kind {
            FileKind::Stdout => (Stream::Stdout, &mut files.stdout),
            FileKind::Stderr => (Stream::Stderr, &mut files.stderr),
            FileKind::Null | FileKind::Zero | FileKind::Random => return Ok(data.len() as u64),
            FileKind::PipeWrite(id) => return self.pipe_write(id, data, f.nonblocking()),
            FileKind::EventFd(id) => return self.eventfd_write(id, data, f.nonblocking()),
            FileKind::Node(id) => return self.node_write(id, data, at, f.status),
            FileKind::Epoll(_) | FileKind::TimerFd(_) => return Err(Errno::EINVAL),
            FileKind::Stdin | FileKind::PipeRead(_) => return Err(Errno::EBADF),
        };
        output.append(stream, data, files.sink.as_deref_mut())?;
        Ok(data.len() as u64)
    }

    /// Produces up to `len` bytes readable from `f` (at offset `at` for
    /// pread on a file).
    fn read_from(&mut self, f: OpenFile, len: usize, at: Option<u64>) -> Result<Vec<u8>, Errno> {
        // Device reads are capped like Linux caps one read of a device.
        let len = len.min(1 << 25);
        match f.kind {
            FileKind::Stdin => {
                let files = &mut self.files;
                let rest = files.stdin.get(files.stdin_pos..).unwrap_or(&[]);
                let n = rest.len().min(len);
                let out = rest.get(..n).unwrap_or(&[]).to_vec();
                files.stdin_pos += n;
                Ok(out)
            }
            FileKind::Stdout | FileKind::Stderr | FileKind::PipeWrite(_) => Err(Errno::EBADF),
            FileKind::Null => Ok(Vec::new()),
            FileKind::Zero => Ok(vec![0; len]),
            FileKind::Random => {
                let mut buf = vec![0; len];
                self.entropy.fill(&mut buf);
                Ok(buf)
            }
            FileKind::PipeRead(id) => self.pipe_read(id, len, f.nonblocking()),
            FileKind::EventFd(id) => self.eventfd_read(id, len, f.nonblocking()),
            FileKind::Node(id) => self.node_read(id, len, at),
            FileKind::TimerFd(id) => self.timerfd_read(id, len, f.nonblocking()),
            FileKind::Epoll(_) => Err(Errno::EINVAL),
        }
    }

    /// What descriptor `fd` refers to.
    pub(super) fn files_kind(&self, fd: i32) -> Result<FileKind, Errno> {
        self.files.get(fd as i64 as u64).map(|f| f.kind)
    }

    fn read_at(&mut self, a: &[u64; 6], at: Option<u64>) -> SysResult {
        let f = self.files.get(a[0])?;
        if f.status & O_ACCMODE == O_WRONLY {
            return Err(Errno::EBADF);
        }
        // Check the buffer first: a read must not consume what it cannot
        // deliver (and a blocking read has no side effect before it waits).
        let len = usize::try_from(a[2])
            .map_err(|_| Errno::EINVAL)?
            .min(1 << 25);
        self.space.check_writable(a[1], len as u64)?;
        let data = self.read_from(f, len, at)?;
        self.space.write(a[1], &data)?;
        Ok(data.len() as u64)
    }

    pub(super) fn sys_read(&mut self, a: &[u64; 6]) -> SysResult {
        self.read_at(a, None)
    }

    fn write_at(&mut self, a: &[u64; 6], at: Option<u64>) -> SysResult {
        let f = self.files.get(a[0])?;
        if f.status & O_ACCMODE == O_RDONLY {
            return Err(Errno::EBADF);
        }
        let mut len = usize::try_from(a[2])
            .map_err(|_| Errno::EINVAL)?
            .min(MAX_OUTPUT + 1);
        if matches!(f.kind, FileKind::EventFd(_)) {
            // eventfd copies exactly its 8-byte counter increment.
            len = len.min(8);
        }
        let data = self.space.read_vec(a[1], len)?;
        self.write_to(f, &data, at)
    }

    pub(super) fn sys_write(&mut self, a: &[u64; 6]) -> SysResult {
        self.write_at(a, None)
    }

    fn iovecs(&self, addr: u64, count: u64) -> Result<Vec<(u64, u64)>, Errno> {
        if count > MAX_IOV {
            return Err(Errno::EINVAL);
        }
        let raw = self.space.read_vec(addr, (count * 16) as usize)?;
        let mut out = Vec::with_capacity(count as usize);
        let mut total: u64 = 0;
        for chunk in raw.chunks_exact(16) {
            let base = u64::from_le_bytes(chunk[..8].try_into().map_err(|_| Errno::EFAULT)?);
            let len = u64::from_le_bytes(chunk[8..].try_into().map_err(|_| Errno::EFAULT)?);
            total = total
                .checked_add(len)
                .filter(|&t| t <= i64::MAX as u64)
                .ok_or(Errno::EINVAL)?;
            out.push((base, len));
        }
        Ok(out)
    }

    fn writev_at(&mut self, a: &[u64; 6], at: Option<u64>) -> SysResult {
        let f = self.files.get(a[0])?;
        if f.status & O_ACCMODE == O_RDONLY {
            return Err(Errno::EBADF);
        }
        let mut data = Vec::new();
        for (base, len) in self.iovecs(a[1], a[2])? {
            let len = usize::try_from(len)
                .map_err(|_| Errno::EINVAL)?
                .min(MAX_OUTPUT + 1);
            data.extend_from_slice(&self.space.read_vec(base, len)?);
            if data.len() > MAX_OUTPUT {
                break;
            }
        }
        if matches!(f.kind, FileKind::EventFd(_)) {
            data.truncate(8);
        }
        self.write_to(f, &data, at)
    }

    pub(super) fn sys_writev(&mut self, a: &[u64; 6]) -> SysResult {
        self.writev_at(a, None)
    }

    /// readv: one read of the iovecs' total length (a pipe is read once,
    /// as Linux does), scattered over them.
    fn readv_at(&mut self, a: &[u64; 6], at: Option<u64>) -> SysResult {
        let f = self.files.get(a[0])?;
        if f.status & O_ACCMODE == O_WRONLY {
            return Err(Errno::EBADF);
        }
        let iov = self.iovecs(a[1], a[2])?;
        let mut total = 0usize;
        for &(base, len) in &iov {
            let len = len.min(1 << 25);
            self.space.check_writable(base, len)?;
            total = total.saturating_add(len as usize).min(1 << 25);
        }
        let data = self.read_from(f, total, at)?;
        let mut rest = &data[..];
        for (base, len) in iov {
            if rest.is_empty() {
                break;
            }
            let n = rest.len().min(usize::try_from(len).unwrap_or(usize::MAX));
            let (now, later) = rest.split_at(n);
            self.space.write(base, now)?;
            rest = later;
        }
        Ok(data.len() as u64)
    }

    pub(super) fn sys_readv(&mut self, a: &[u64; 6]) -> SysResult {
        self.readv_at(a, None)
    }

    /// pread/pwrite family: pipes and other streams are ESPIPE; devices
    /// ignore the offset; files of the tree use it without moving their
    /// offset. pwritev2/preadv2 with offset -1 act on the current
    /// position, as plain readv/writev.
    pub(super) fn sys_positional(
        &mut self,
        a: &[u64; 6],
        write: bool,
        vectored: bool,
        offset: i64,
    ) -> SysResult {
        let f = self.files.get(a[0])?;
        let mut at = None;
        if offset != -1 {
            if f.kind.is_pipe()
                || matches!(
                    f.kind,
                    FileKind::EventFd(_) | FileKind::Epoll(_) | FileKind::TimerFd(_)
                )
            {
                return Err(Errno::ESPIPE);
            }
            if offset < 0 {
                return Err(Errno::EINVAL);
            }
            at = Some(offset as u64);
        }
        match (write, vectored) {
            (true, true) => self.writev_at(a, at),
            (true, false) => self.write_at(a, at),
            (false, true) => self.readv_at(a, at),
            (false, false) => self.read_at(a, at),
        }
    }

    pub(super) fn sys_close(&mut self, a: &[u64; 6]) -> SysResult {
        let fd = i32::try_from(a[0] as i64).map_err(|_| Errno::EBADF)?;
        let old = self.files.take(fd).ok_or(Errno::EBADF)?;
        self.drop_file(Some(old));
        Ok(0)
    }

    /// The stat of whatever `f` refers to.
    pub(super) fn stat_of(&self, kind: FileKind) -> Result<Stat, Errno> {
        let block_ns = self.block.timestamp.saturating_mul(1_000_000_000);
        Ok(match kind {
            FileKind::PipeRead(id) | FileKind::PipeWrite(id) => self.pipe_stat(id, block_ns),
            FileKind::EventFd(_) | FileKind::Epoll(_) | FileKind::TimerFd(_) => Stat {
                // Anonymous inodes: one inode, no file type bits.
                dev: 0x0e,
                ino: 1,
                nlink: 1,
                mode: 0o600,
                times: [block_ns; 3],
                ..Stat::default()
            },
            FileKind::Node(id) => self.node_stat(id)?,
            other => fixed_stat(other, block_ns),
        })
    }

    pub(super) fn write_stat(&mut self, st: Stat, addr: u64) -> SysResult {
        self.space.write(addr, &st.bytes())?;
        Ok(0)
    }

    pub(super) fn sys_fstat(&mut self, a: &[u64; 6]) -> SysResult {
        let f = self.files.get(a[0])?;
        let st = self.stat_of(f.kind)?;
        self.write_stat(st, a[1])
    }

    pub(super) fn sys_lseek(&mut self, a: &[u64; 6]) -> SysResult {
        let f = self.files.get(a[0])?;
        if f.kind.is_pipe() {
            return Err(Errno::ESPIPE);
        }
        if let FileKind::Node(id) = f.kind {
            return self.node_lseek(id, a[1] as i64, a[2]);
        }
        if a[2] > 2 {
            return Err(Errno::EINVAL);
        }
        Ok(0)
    }

    /// fsync and fdatasync: nothing is ever written back, but Linux refuses
    /// objects that cannot be synced (pipes, eventfds, devices).
    pub(super) fn sys_fsync(&mut self, a: &[u64; 6]) -> SysResult {
        match self.files.get(a[0])?.kind {
            FileKind::Node(_) => Ok(0),
            _ => Err(Errno::EINVAL),
        }
    }

    pub(super) fn sys_ioctl(&mut self, a: &[u64; 6]) -> SysResult {
        let f = self.files.get(a[0])?;
        let fd = a[0] as i32;
        match a[1] & 0xffff_ffff {
            FIONBIO => {
                let mut on = [0u8; 4];
                self.space.read(a[2], &mut on)?;
                if let Some(e) = self.files.fds.get_mut(&fd) {
                    if on != [0; 4] {
                        e.status |= O_NONBLOCK;
                    } else {
                        e.status &= !O_NONBLOCK;
                    }
                }
                Ok(0)
            }
            FIOCLEX | FIONCLEX => {
                if let Some(e) = self.files.fds.get_mut(&fd) {
                    e.cloexec = a[1] & 0xffff_ffff == FIOCLEX;
                }
                Ok(0)
            }
            FIONREAD => {
                let n = match f.kind {
                    FileKind::Stdin => self.files.stdin_left() as u64,
                    FileKind::PipeRead(id) => self.pipe_buffered(id) as u64,
                    FileKind::Node(id) => self.node_unread(id)?,
                    _ => return Err(Errno::ENOTTY),
                };
                let n = u32::try_from(n)
                    .unwrap_or(i32::MAX as u32)
                    .min(i32::MAX as u32);
                self.space.write(a[2], &n.to_le_bytes())?;
                Ok(0)
            }
            // No descriptor is a terminal; every other ioctl (TCGETS,
            // TIOCGWINSZ, ...) fails as it does on a pipe.
            _ => Err(Errno::ENOTTY),
        }
    }

    pub(super) fn sys_fcntl(&mut self, a: &[u64; 6]) -> SysResult {
        let f = self.files.get(a[0])?;
        let fd = a[0] as i32;
        match a[1] {
            F_DUPFD | F_DUPFD_CLOEXEC => {
                let from = i32::try_from(a[2]).map_err(|_| Errno::EINVAL)?;
                if from >= MAX_FDS {
                    return Err(Errno::EINVAL);
                }
                let new = self.files.lowest_free(from)?;
                self.files.install(
                    new,
                    OpenFile {
                        cloexec: a[1] == F_DUPFD_CLOEXEC,
                        ..f
                    },
                );
                Ok(new as u64)
            }
            F_GETFD => Ok(if f.cloexec { FD_CLOEXEC } else { 0 }),
            F_SETFD => {
                if let Some(e) = self.files.fds.get_mut(&fd) {
                    e.cloexec = a[2] & FD_CLOEXEC != 0;
                }
                Ok(0)
            }
            F_GETFL => Ok(f.status & !O_CLOEXEC),
            F_SETFL => {
                // Only O_APPEND, O_NONBLOCK and O_DIRECT change; the access
                // mode stays.
                if let Some(e) = self.files.fds.get_mut(&fd) {
                    e.status = (e.status & !SETFL_MASK) | (a[2] & SETFL_MASK);
                }
                Ok(0)
            }
            F_GETPIPE_SZ | F_SETPIPE_SZ => match f.kind {
                FileKind::PipeRead(id) | FileKind::PipeWrite(id) => {
                    if a[1] == F_GETPIPE_SZ {
                        Ok(self.pipe_capacity(id) as u64)
                    } else {
                        self.pipe_set_capacity(id, a[2] & 0xffff_ffff)
                    }
                }
                _ => Err(Errno::EBADF),
            },
            _ => Err(Errno::EINVAL),
        }
    }

    pub(super) fn sys_dup(&mut self, a: &[u64; 6]) -> SysResult {
        let f = self.files.get(a[0])?;
        let new = self.files.lowest_free(0)?;
        self.files.install(
            new,
            OpenFile {
                cloexec: false,
                ..f
            },
        );
        Ok(new as u64)
    }

    /// dup2 (flags None) and dup3.
    pub(super) fn sys_dup2(&mut self, a: &[u64; 6], flags: Option<u64>) -> SysResult {
        let f = self.files.get(a[0])?;
        let new = i32::try_from(a[1] as i64)
            .ok()
            .filter(|&n| (0..MAX_FDS).contains(&n))
            .ok_or(Errno::EBADF)?;
        if a[0] == a[1] {
            return if flags.is_some() {
                Err(Errno::EINVAL)
            } else {
                Ok(a[1])
            };
        }
        let cloexec = match flags {
            Some(fl) if fl & !O_CLOEXEC != 0 => return Err(Errno::EINVAL),
            Some(fl) => fl & O_CLOEXEC != 0,
            None => false,
        };
        let old = self.files.install(new, OpenFile { cloexec, ..f });
        self.drop_file(old);
        Ok(new as u64)
    }

    pub(super) fn sys_umask(&mut self, a: &[u64; 6]) -> SysResult {
        let old = self.files.umask;
        self.files.umask = a[0] & 0o777;
        Ok(old)
    }
}
