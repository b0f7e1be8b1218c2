//! File descriptors. A contract sees no host file: stdin is the call's
//! input, stdout and stderr are captured, and the only paths that open are
//! the device files with deterministic contents (`/dev/null`, `/dev/zero`,
//! `/dev/urandom`, `/dev/random`). The standard streams look like pipes, as
//! they do when a node captures a program's output.

use std::collections::BTreeMap;

pub use super::output::MAX_OUTPUT;
use super::output::{Output, OutputSink, Stream};
use super::{Errno, Kernel, SysResult};
/// Most file descriptors open at once (RLIMIT_NOFILE).
pub const MAX_FDS: i32 = 1024;
/// Most iovecs in one readv/writev (Linux's UIO_MAXIOV).
const MAX_IOV: u64 = 1024;
/// The path `/proc/self/exe` resolves to; argv[0] is its last component.
pub const EXE_DIR: &str = "/contract/";

const AT_FDCWD: i64 = -100;
const AT_EMPTY_PATH: u64 = 0x1000;
const O_ACCMODE: u64 = 3;
const O_CREAT: u64 = 0o100;
const O_TRUNC: u64 = 0o1000;
const O_CLOEXEC: u64 = 0o2000000;
const O_DIRECTORY: u64 = 0o200000;
const FD_CLOEXEC: u64 = 1;
/// Status flags F_SETFL may change: O_APPEND, O_NONBLOCK, O_DIRECT.
const SETFL_MASK: u64 = 0o2000 | 0o4000 | 0o40000;

/// What an open file descriptor refers to.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum FileKind {
    Stdin,
    Stdout,
    Stderr,
    Null,
    Zero,
    Random,
}

impl FileKind {
    fn device(path: &[u8]) -> Option<FileKind> {
        match path {
            b"/dev/null" => Some(FileKind::Null),
            b"/dev/zero" => Some(FileKind::Zero),
            b"/dev/urandom" | b"/dev/random" => Some(FileKind::Random),
            _ => None,
        }
    }

    fn is_pipe(self) -> bool {
        matches!(self, FileKind::Stdin | FileKind::Stdout | FileKind::Stderr)
    }

    /// (st_mode, st_rdev) as Linux reports them.
    fn mode_rdev(self) -> (u32, u64) {
        const S_IFIFO: u32 = 0o010000;
        const S_IFCHR: u32 = 0o020000;
        let dev = |major: u64, minor: u64| (major << 8) | minor;
        match self {
            FileKind::Stdin | FileKind::Stdout | FileKind::Stderr => (S_IFIFO | 0o600, 0),
            FileKind::Null => (S_IFCHR | 0o666, dev(1, 3)),
            FileKind::Zero => (S_IFCHR | 0o666, dev(1, 5)),
            FileKind::Random => (S_IFCHR | 0o666, dev(1, 9)),
        }
    }
}

#[derive(Clone, Copy, Debug)]
struct OpenFile {
    kind: FileKind,
    /// Status flags as given to open (access mode and O_APPEND etc.).
    status: u64,
    cloexec: bool,
}

/// The descriptor table and the call's standard streams.
pub struct Files {
    fds: BTreeMap<i32, OpenFile>,
    stdin: Vec<u8>,
    stdin_pos: usize,
    pub stdout: Output,
    pub stderr: Output,
    /// Takes stdout and stderr as written, when set.
    pub sink: Option<Box<dyn OutputSink>>,
    umask: u64,
}

impl Files {
    pub fn new(stdin: Vec<u8>) -> Self {
        let mut fds = BTreeMap::new();
        fds.insert(
            0,
            OpenFile {
                kind: FileKind::Stdin,
                status: 0,
                cloexec: false,
            },
        );
        fds.insert(
            1,
            OpenFile {
                kind: FileKind::Stdout,
                status: 1,
                cloexec: false,
            },
        );
        fds.insert(
            2,
            OpenFile {
                kind: FileKind::Stderr,
                status: 1,
                cloexec: false,
            },
        );
        Files {
            fds,
            stdin,
            stdin_pos: 0,
            stdout: Output::default(),
            stderr: Output::default(),
            sink: None,
            umask: 0o022,
        }
    }

    fn get(&self, fd: u64) -> Result<OpenFile, Errno> {
        i32::try_from(fd as i64)
            .ok()
            .and_then(|fd| self.fds.get(&fd).copied())
            .ok_or(Errno::EBADF)
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
}

fn stat_bytes(kind: FileKind, time: u64) -> [u8; 144] {
    let (mode, rdev) = kind.mode_rdev();
    let mut st = [0u8; 144];
    let mut put = |off: usize, bytes: &[u8]| {
        if let Some(dst) = st.get_mut(off..off + bytes.len()) {
            dst.copy_from_slice(bytes);
        }
    };
    put(
        0,
        &(if kind.is_pipe() { 0x0c } else { 0x05 } as u64).to_le_bytes(),
    ); // st_dev
    put(8, &(kind as u64 + 1).to_le_bytes()); // st_ino
    put(16, &1u64.to_le_bytes()); // st_nlink
    put(24, &mode.to_le_bytes());
    put(28, &(super::identity::UID as u32).to_le_bytes());
    put(32, &(super::identity::GID as u32).to_le_bytes());
    put(40, &rdev.to_le_bytes());
    put(56, &4096u64.to_le_bytes()); // st_blksize
    for off in [72, 88, 104] {
        put(off, &time.to_le_bytes()); // atime, mtime, ctime
    }
    st
}

impl Kernel {
    fn write_to(&mut self, kind: FileKind, data: &[u8]) -> SysResult {
        let files = &mut self.files;
        let (stream, output) = match kind {
            FileKind::Stdout => (Stream::Stdout, &mut files.stdout),
            FileKind::Stderr => (Stream::Stderr, &mut files.stderr),
            FileKind::Stdin => return Err(Errno::EBADF),
            FileKind::Null | FileKind::Zero | FileKind::Random => return Ok(data.len() as u64),
        };
        output.append(stream, data, files.sink.as_deref_mut())?;
        Ok(data.len() as u64)
    }

    /// Produces up to `len` bytes readable from `kind`.
    fn read_from(&mut self, kind: FileKind, len: usize) -> Result<Vec<u8>, Errno> {
        // Device reads are capped like Linux caps one read of a device.
        let len = len.min(1 << 25);
        match kind {
            FileKind::Stdin => {
                let files = &mut self.files;
                let rest = files.stdin.get(files.stdin_pos..).unwrap_or(&[]);
                let n = rest.len().min(len);
                let out = rest[..n].to_vec();
                files.stdin_pos += n;
                Ok(out)
            }
            FileKind::Stdout | FileKind::Stderr => Err(Errno::EBADF),
            FileKind::Null => Ok(Vec::new()),
            FileKind::Zero => Ok(vec![0; len]),
            FileKind::Random => {
                let mut buf = vec![0; len];
                self.entropy.fill(&mut buf);
                Ok(buf)
            }
        }
    }

    /// What descriptor `fd` refers to.
    pub(super) fn files_kind(&self, fd: i32) -> Result<FileKind, Errno> {
        self.files.get(fd as i64 as u64).map(|f| f.kind)
    }

    pub(super) fn sys_read(&mut self, a: &[u64; 6]) -> SysResult {
        let f = self.files.get(a[0])?;
        if f.status & O_ACCMODE == 1 {
            return Err(Errno::EBADF);
        }
        let data = self.read_from(f.kind, a[2] as usize)?;
        self.space.write(a[1], &data)?;
        Ok(data.len() as u64)
    }

    pub(super) fn sys_write(&mut self, a: &[u64; 6]) -> SysResult {
        let f = self.files.get(a[0])?;
        if f.status & O_ACCMODE == 0 {
            return Err(Errno::EBADF);
        }
        let len = usize::try_from(a[2])
            .map_err(|_| Errno::EINVAL)?
            .min(MAX_OUTPUT + 1);
        let data = self.space.read_vec(a[1], len)?;
        self.write_to(f.kind, &data)
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

    pub(super) fn sys_writev(&mut self, a: &[u64; 6]) -> SysResult {
        let f = self.files.get(a[0])?;
        if f.status & O_ACCMODE == 0 {
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
        self.write_to(f.kind, &data)
    }

    pub(super) fn sys_readv(&mut self, a: &[u64; 6]) -> SysResult {
        let f = self.files.get(a[0])?;
        let iov = self.iovecs(a[1], a[2])?;
        let mut total = 0u64;
        for (base, len) in iov {
            let data = self.read_from(f.kind, len as usize)?;
            self.space.write(base, &data)?;
            total += data.len() as u64;
            if (data.len() as u64) < len {
                break;
            }
        }
        Ok(total)
    }

    /// pread/pwrite family: the standard streams are pipes (ESPIPE);
    /// devices ignore the offset. pwritev2/preadv2 with offset -1 act on
    /// the current position, as plain readv/writev.
    pub(super) fn sys_positional(
        &mut self,
        a: &[u64; 6],
        write: bool,
        vectored: bool,
        offset: i64,
    ) -> SysResult {
        let f = self.files.get(a[0])?;
        if offset != -1 {
            if f.kind.is_pipe() {
                return Err(Errno::ESPIPE);
            }
            if offset < 0 {
                return Err(Errno::EINVAL);
            }
        }
        match (write, vectored) {
            (true, true) => self.sys_writev(a),
            (true, false) => self.sys_write(a),
            (false, true) => self.sys_readv(a),
            (false, false) => self.sys_read(a),
        }
    }

    pub(super) fn sys_close(&mut self, a: &[u64; 6]) -> SysResult {
        let fd = i32::try_from(a[0] as i64).map_err(|_| Errno::EBADF)?;
        self.files.fds.remove(&fd).map(|_| 0).ok_or(Errno::EBADF)
    }

    fn open_path(&mut self, path: &[u8], flags: u64) -> SysResult {
        let kind = match FileKind::device(path) {
            Some(k) => k,
            None if flags & O_CREAT != 0 => return Err(Errno::EROFS),
            None => return Err(Errno::ENOENT),
        };
        if flags & O_DIRECTORY != 0 {
            return Err(Errno::ENOTDIR);
        }
        let _ = flags & O_TRUNC; // truncating a device is a no-op
        let fd = self.files.lowest_free(0)?;
        self.files.fds.insert(
            fd,
            OpenFile {
                kind,
                status: flags & !O_CLOEXEC,
                cloexec: flags & O_CLOEXEC != 0,
            },
        );
        Ok(fd as u64)
    }

    fn path_arg(&self, addr: u64) -> Result<Vec<u8>, Errno> {
        let p = self.space.read_cstr(addr, 4096).map_err(|e| match e {
            crate::address_space::MmError::Invalid => Errno::ENAMETOOLONG,
            other => Errno::from(other),
        })?;
        if p.is_empty() {
            return Err(Errno::ENOENT);
        }
        Ok(p)
    }

    pub(super) fn sys_open(&mut self, a: &[u64; 6]) -> SysResult {
        let path = self.path_arg(a[0])?;
        self.open_path(&path, a[1])
    }

    pub(super) fn sys_openat(&mut self, a: &[u64; 6]) -> SysResult {
        let path = self.path_arg(a[1])?;
        if !path.starts_with(b"/") && a[0] as i64 != AT_FDCWD {
            self.files.get(a[0])?;
            return Err(Errno::ENOTDIR);
        }
        self.open_path(&path, a[2])
    }

    fn write_stat(&mut self, kind: FileKind, addr: u64) -> SysResult {
        let st = stat_bytes(kind, self.block.timestamp);
        self.space.write(addr, &st)?;
        Ok(0)
    }

    pub(super) fn sys_fstat(&mut self, a: &[u64; 6]) -> SysResult {
        let f = self.files.get(a[0])?;
        self.write_stat(f.kind, a[1])
    }

    /// stat/lstat (path in a[0]) and newfstatat (dirfd, path, buf, flags).
    pub(super) fn sys_stat_path(
        &mut self,
        dirfd: Option<u64>,
        path: u64,
        buf: u64,
        flags: u64,
    ) -> SysResult {
        if let Some(dirfd) = dirfd {
            if flags & AT_EMPTY_PATH != 0 {
                let empty = self
                    .space
                    .read_cstr(path, 1)
                    .map(|p| p.is_empty())
                    .unwrap_or(false);
                if empty {
                    let f = self.files.get(dirfd)?;
                    return self.write_stat(f.kind, buf);
                }
            }
        }
        let p = self.path_arg(path)?;
        match FileKind::device(&p) {
            Some(kind) => self.write_stat(kind, buf),
            None => Err(Errno::ENOENT),
        }
    }

    pub(super) fn sys_access(&mut self, path: u64) -> SysResult {
        let p = self.path_arg(path)?;
        FileKind::device(&p).map(|_| 0).ok_or(Errno::ENOENT)
    }

    pub(super) fn sys_lseek(&mut self, a: &[u64; 6]) -> SysResult {
        let f = self.files.get(a[0])?;
        if f.kind.is_pipe() {
            return Err(Errno::ESPIPE);
        }
        if a[2] > 2 {
            return Err(Errno::EINVAL);
        }
        Ok(0)
    }

    pub(super) fn sys_ioctl(&mut self, a: &[u64; 6]) -> SysResult {
        self.files.get(a[0])?;
        // No descriptor is a terminal; every ioctl (TCGETS, TIOCGWINSZ, ...)
        // fails as it does on a pipe.
        Err(Errno::ENOTTY)
    }

    pub(super) fn sys_fcntl(&mut self, a: &[u64; 6]) -> SysResult {
        const F_DUPFD: u64 = 0;
        const F_GETFD: u64 = 1;
        const F_SETFD: u64 = 2;
        const F_GETFL: u64 = 3;
        const F_SETFL: u64 = 4;
        const F_DUPFD_CLOEXEC: u64 = 1030;
        let f = self.files.get(a[0])?;
        let fd = a[0] as i32;
        match a[1] {
            F_DUPFD | F_DUPFD_CLOEXEC => {
                let from = i32::try_from(a[2]).map_err(|_| Errno::EINVAL)?;
                if from >= MAX_FDS {
                    return Err(Errno::EINVAL);
                }
                let new = self.files.lowest_free(from)?;
                self.files.fds.insert(
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
                    e.status = (e.status & O_ACCMODE) | (a[2] & SETFL_MASK);
                }
                Ok(0)
            }
            _ => Err(Errno::EINVAL),
        }
    }

    pub(super) fn sys_dup(&mut self, a: &[u64; 6]) -> SysResult {
        let f = self.files.get(a[0])?;
        let new = self.files.lowest_free(0)?;
        self.files.fds.insert(
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
        self.files.fds.insert(new, OpenFile { cloexec, ..f });
        Ok(new as u64)
    }

    /// poll/ppoll: nothing ever blocks. Stdin and devices are readable, the
    /// output streams writable; unknown descriptors get POLLNVAL.
    pub(super) fn sys_poll(&mut self, fds: u64, nfds: u64) -> SysResult {
        const POLLIN: u16 = 1;
        const POLLOUT: u16 = 4;
        const POLLNVAL: u16 = 0x20;
        if nfds > MAX_FDS as u64 {
            return Err(Errno::EINVAL);
        }
        let mut raw = self.space.read_vec(fds, (nfds * 8) as usize)?;
        let mut ready = 0;
        for entry in raw.chunks_exact_mut(8) {
            let fd = i32::from_le_bytes([entry[0], entry[1], entry[2], entry[3]]);
            let events = u16::from_le_bytes([entry[4], entry[5]]);
            let revents = if fd < 0 {
                0
            } else {
                match self.files.fds.get(&fd) {
                    None => POLLNVAL,
                    Some(f) => {
                        let can = match f.kind {
                            FileKind::Stdin => POLLIN,
                            FileKind::Stdout | FileKind::Stderr => POLLOUT,
                            _ => POLLIN | POLLOUT,
                        };
                        events & can
                    }
                }
            };
            entry[6..8].copy_from_slice(&revents.to_le_bytes());
            if revents != 0 {
                ready += 1;
            }
        }
        self.space.write(fds, &raw)?;
        Ok(ready)
    }

    pub(super) fn sys_getcwd(&mut self, a: &[u64; 6]) -> SysResult {
        if a[1] < 2 {
            return Err(Errno::ERANGE);
        }
        self.space.write(a[0], b"/\0")?;
        Ok(2)
    }

    /// readlink and readlinkat: only `/proc/self/exe` is a link.
    pub(super) fn sys_readlink(&mut self, path: u64, buf: u64, size: u64) -> SysResult {
        let p = self.path_arg(path)?;
        if size == 0 || size > i32::MAX as u64 {
            return Err(Errno::EINVAL);
        }
        if p != b"/proc/self/exe" {
            return Err(Errno::ENOENT);
        }
        let target = self.exe_path.clone();
        let n = target.len().min(size as usize);
        self.space.write(buf, &target[..n])?;
        Ok(n as u64)
    }

    pub(super) fn sys_umask(&mut self, a: &[u64; 6]) -> SysResult {
        let old = self.files.umask;
        self.files.umask = a[0] & 0o777;
        Ok(old)
    }
}
