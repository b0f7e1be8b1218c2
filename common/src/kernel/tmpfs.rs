//! The file tree: a read-only skeleton (`/`, `/dev` with its device files)
//! and two writable in-memory file systems, `/tmp` and `/dev/shm`, that
//! live and die with the call. Nothing here touches a host file.
//!
//! A file's bytes live in pages of guest physical memory taken from the
//! call's memory, so they count against its memory limit (and its gas for
//! committed pages) exactly as Linux's tmpfs counts pages. A write that
//! finds no page left fails with ENOSPC, what Linux gives for a tmpfs full
//! to its size limit. Holes cost nothing. Inode numbers come from a
//! counter and times from the block time plus the virtual clock, so both
//! are the same on every node.
//!
//! Paths resolve against the current directory (`/` at start) or a
//! directory descriptor, component by component, so `..` and `.` behave
//! as on Linux. There are no symbolic links; permission checks use the
//! owner bits only (the contract owns every file it creates); access
//! times are not updated (as with `noatime`). Creating or changing
//! anything outside `/tmp` and `/dev/shm` is EROFS.
//!
//! A call given a state also has `/state` ([`super::statefs`]): read-only
//! directories whose files are looked up in the state as paths resolve.

use std::collections::BTreeMap;

use super::files::{fixed_stat, FileKind, Stat};
use super::{Errno, Kernel, SysResult};
use crate::address_space::Prot;
use crate::layout::PAGE_SIZE;
use crate::linux_abi::fcntl::{
    AT_EMPTY_PATH, AT_FDCWD, AT_NO_AUTOMOUNT, AT_REMOVEDIR, AT_SYMLINK_FOLLOW, AT_SYMLINK_NOFOLLOW,
    O_ACCMODE, O_APPEND, O_CLOEXEC, O_CREAT, O_DIRECTORY, O_EXCL, O_LARGEFILE, O_NOCTTY, O_RDONLY,
    O_RDWR, O_TMPFILE, O_TRUNC, O_WRONLY, RENAME_NOREPLACE, S_IFDIR, S_IFREG,
};

const NAME_MAX: usize = 255;
const NS: u64 = 1_000_000_000;
/// tmpfs reports a directory's size as 20 bytes per entry.
const BOGO_DIRENT_SIZE: u64 = 20;
/// Largest file offset (MAX_LFS_FILESIZE).
const MAX_FILE_SIZE: u64 = i64::MAX as u64;

/// Inode number of `/`.
pub(super) const ROOT: u64 = 1;
/// Device numbers (st_dev) of the skeleton, `/dev`, `/dev/shm`, `/tmp`.
const ROOT_DEV: u64 = 0x0801;
const DEV_DEV: u64 = 0x05;
const SHM_DEV: u64 = 0x16;
const TMP_DEV: u64 = 0x17;
/// Device number of `/state` and its files.
pub(super) const STATE_DEV: u64 = 0x18;

#[derive(Debug)]
enum Body {
    Dir {
        /// Name to (inode, readdir cookie); listing is in cookie order,
        /// which is creation (or rename) order.
        entries: BTreeMap<Vec<u8>, (u64, u64)>,
        parent: u64,
        next_cookie: u64,
    },
    File {
        /// Page index to guest physical address; missing pages are holes.
        pages: BTreeMap<u64, u64>,
        size: u64,
    },
    Device(FileKind),
}

#[derive(Debug)]
pub(super) struct Node {
    body: Body,
    /// Permission bits (and the sticky bit).
    perm: u32,
    nlink: u64,
    /// Open descriptions naming it.
    opens: u32,
    dev: u64,
    writable: bool,
    /// Modification and change times, ns since the epoch.
    mtime: u64,
    ctime: u64,
}

impl Node {
    fn is_dir(&self) -> bool {
        matches!(self.body, Body::Dir { .. })
    }

    /// A `/state` file: it lives while a descriptor holds it.
    fn is_state_value(&self) -> bool {
        self.dev == STATE_DEV && !self.is_dir()
    }
}

/// An open file description: the node and the offset (for a directory,
/// the cookie of the last entry listed).
#[derive(Debug)]
struct Desc {
    ino: u64,
    offset: u64,
}

/// The file tree, the open descriptions and the current directory.
#[derive(Debug)]
pub struct Tmpfs {
    nodes: BTreeMap<u64, Node>,
    descs: BTreeMap<u64, Desc>,
    next_ino: u64,
    cwd: u64,
}

/// The last component of a resolved path.
#[derive(Clone, Debug, PartialEq, Eq)]
enum Last {
    Name(Vec<u8>),
    /// The path ended at `/`, `.` or `..`.
    Dot,
    DotDot,
}

/// A resolved path: the directory holding the last component, the last
/// component, and the node it names if it exists.
#[derive(Debug)]
pub(super) struct Resolved {
    parent: u64,
    last: Last,
    ino: Option<u64>,
    /// A trailing slash: the path must name a directory.
    dir_only: bool,
}

impl Default for Tmpfs {
    fn default() -> Self {
        let mut fs = Tmpfs {
            nodes: BTreeMap::new(),
            descs: BTreeMap::new(),
            next_ino: ROOT,
            cwd: ROOT,
        };
        let root = fs.add_dir(ROOT, ROOT_DEV, 0o755, false, 0);
        let dev = fs.add_dir(root, DEV_DEV, 0o755, false, 0);
        fs.link(root, b"dev", dev);
        for (name, kind) in [
            (&b"null"[..], FileKind::Null),
            (b"zero", FileKind::Zero),
            (b"random", FileKind::Random),
            (b"urandom", FileKind::Random),
        ] {
            let ino = fs.add(Node {
                body: Body::Device(kind),
                perm: 0o666,
                nlink: 1,
                opens: 0,
                dev: DEV_DEV,
                writable: false,
                mtime: 0,
                ctime: 0,
            });
            fs.link(dev, name, ino);
        }
        let shm = fs.add_dir(dev, SHM_DEV, 0o1777, true, 0);
        fs.link(dev, b"shm", shm);
        let tmp = fs.add_dir(root, TMP_DEV, 0o1777, true, 0);
        fs.link(root, b"tmp", tmp);
        fs
    }
}

impl Tmpfs {
    fn add(&mut self, node: Node) -> u64 {
        let ino = self.new_ino();
        self.nodes.insert(ino, node);
        ino
    }

    /// A fresh inode number.
    pub(super) fn new_ino(&mut self) -> u64 {
        let ino = self.next_ino;
        self.next_ino = self.next_ino.saturating_add(1);
        ino
    }

    /// True when node `ino` exists.
    pub(super) fn contains(&self, ino: u64) -> bool {
        self.nodes.contains_key(&ino)
    }

    pub(super) fn add_dir(
        &mut self,
        parent: u64,
        dev: u64,
        perm: u32,
        writable: bool,
        now: u64,
    ) -> u64 {
        self.add(Node {
            body: Body::Dir {
                entries: BTreeMap::new(),
                parent,
                next_cookie: 3,
            },
            perm,
            nlink: 2,
            opens: 0,
            dev,
            writable,
            mtime: now,
            ctime: now,
        })
    }

    /// Adds the entry `name` -> `ino` to directory `dir`.
    pub(super) fn link(&mut self, dir: u64, name: &[u8], ino: u64) {
        if let Some(Body::Dir {
            entries,
            next_cookie,
            ..
        }) = self.nodes.get_mut(&dir).map(|n| &mut n.body)
        {
            entries.insert(name.to_vec(), (ino, *next_cookie));
            *next_cookie = next_cookie.saturating_add(1);
        }
    }

    fn node(&self, ino: u64) -> Result<&Node, Errno> {
        self.nodes.get(&ino).ok_or(Errno::ENOENT)
    }

    fn node_mut(&mut self, ino: u64) -> Result<&mut Node, Errno> {
        self.nodes.get_mut(&ino).ok_or(Errno::ENOENT)
    }

    fn parent_of(&self, ino: u64) -> u64 {
        match self.nodes.get(&ino).map(|n| &n.body) {
            Some(Body::Dir { parent, .. }) => *parent,
            _ => ROOT,
        }
    }

    fn child(&self, dir: u64, name: &[u8]) -> Option<u64> {
        match self.nodes.get(&dir).map(|n| &n.body) {
            Some(Body::Dir { entries, .. }) => entries.get(name).map(|&(ino, _)| ino),
            _ => None,
        }
    }

    /// Resolves `path` from directory `start` (absolute paths from `/`).
    fn resolve(&self, start: u64, path: &[u8]) -> Result<Resolved, Errno> {
        let mut cur = if path.first() == Some(&b'/') {
            ROOT
        } else {
            start
        };
        let comps: Vec<&[u8]> = path
            .split(|&b| b == b'/')
            .filter(|c| !c.is_empty())
            .collect();
        let dir_only = path.last() == Some(&b'/');
        let mut last = Last::Dot;
        let mut parent = cur;
        for (i, comp) in comps.iter().enumerate() {
            // A key's name under /state is limited by PATH_MAX only.
            if comp.len() > NAME_MAX && self.node(cur)?.dev != STATE_DEV {
                return Err(Errno::ENAMETOOLONG);
            }
            if !self.node(cur)?.is_dir() {
                return Err(Errno::ENOTDIR);
            }
            let is_last = i + 1 == comps.len();
            match *comp {
                b"." => {
                    parent = cur;
                    last = Last::Dot;
                }
                b".." => {
                    cur = self.parent_of(cur);
                    parent = cur;
                    last = Last::DotDot;
                }
                name => {
                    let child = self.child(cur, name);
                    if is_last {
                        return Ok(Resolved {
                            parent: cur,
                            last: Last::Name(name.to_vec()),
                            ino: child,
                            dir_only,
                        });
                    }
                    cur = child.ok_or(Errno::ENOENT)?;
                    parent = cur;
                    last = Last::Dot;
                }
            }
        }
        Ok(Resolved {
            parent,
            last,
            ino: Some(cur),
            dir_only,
        })
    }

    /// Frees a node nobody can reach any more; returns its pages.
    fn reap(&mut self, ino: u64) -> Vec<u64> {
        let dead = self.nodes.get(&ino).is_some_and(|n| {
            (n.nlink == 0 || n.is_state_value()) && n.opens == 0 && self.cwd != ino
        });
        if !dead {
            return Vec::new();
        }
        match self.nodes.remove(&ino).map(|n| n.body) {
            Some(Body::File { pages, .. }) => pages.into_values().collect(),
            _ => Vec::new(),
        }
    }
}

impl Kernel {
    /// Now, for file times: the block time plus the virtual clock.
    fn fs_now(&self) -> u64 {
        self.block
            .timestamp
            .saturating_mul(NS)
            .saturating_add(self.clock.elapsed())
    }

    pub(super) fn path_arg(&self, addr: u64) -> Result<Vec<u8>, Errno> {
        let p = self.space.read_cstr(addr, 4096).map_err(|e| match e {
            crate::address_space::MmError::Invalid => Errno::ENAMETOOLONG,
            other => Errno::from(other),
        })?;
        if p.is_empty() {
            return Err(Errno::ENOENT);
        }
        Ok(p)
    }

    /// The directory a relative path starts from: the current directory
    /// for AT_FDCWD, else the directory `dirfd` has open.
    fn start_dir(&self, dirfd: u64, path: &[u8]) -> Result<u64, Errno> {
        if path.first() == Some(&b'/') || dirfd as i32 == AT_FDCWD {
            return Ok(self.tmpfs.cwd);
        }
        match self.files.get(dirfd)?.kind {
            FileKind::Node(id) => {
                let ino = self.desc(id)?.ino;
                if self.tmpfs.node(ino)?.is_dir() {
                    Ok(ino)
                } else {
                    Err(Errno::ENOTDIR)
                }
            }
            _ => Err(Errno::ENOTDIR),
        }
    }

    /// Resolves `path` from `dirfd`; a name under `/state` is looked up in
    /// the call's state (which may take memory for the file's pages).
    fn resolve_at(&mut self, dirfd: u64, path: &[u8]) -> Result<Resolved, Errno> {
        let start = self.start_dir(dirfd, path)?;
        let mut r = self.tmpfs.resolve(start, path)?;
        if let (None, Last::Name(name)) = (r.ino, &r.last) {
            r.ino = self.state_file(r.parent, name)?;
        }
        Ok(r)
    }

    fn desc(&self, id: u64) -> Result<&Desc, Errno> {
        self.tmpfs.descs.get(&id).ok_or(Errno::EBADF)
    }

    /// Opens an open description of node `ino`.
    fn open_node(&mut self, ino: u64, flags: u64) -> SysResult {
        let id = self.files.new_id();
        let status = (flags & !(O_CREAT | O_EXCL | O_NOCTTY | O_TRUNC | O_CLOEXEC)) | O_LARGEFILE;
        let fd = self.open_fd(FileKind::Node(id), status, flags & O_CLOEXEC != 0)?;
        self.tmpfs.descs.insert(id, Desc { ino, offset: 0 });
        if let Some(n) = self.tmpfs.nodes.get_mut(&ino) {
            n.opens = n.opens.saturating_add(1);
        }
        Ok(fd)
    }

    pub(super) fn node_closed(&mut self, id: u64) {
        if let Some(d) = self.tmpfs.descs.remove(&id) {
            if let Some(n) = self.tmpfs.nodes.get_mut(&d.ino) {
                n.opens = n.opens.saturating_sub(1);
            }
            self.reap(d.ino);
        }
    }

    pub(super) fn reap(&mut self, ino: u64) {
        for gpa in self.tmpfs.reap(ino) {
            self.space.free_frame(gpa);
        }
    }

    /// Owner permission check: `want` is a mask of 4 (read), 2 (write),
    /// 1 (execute/search).
    fn permit(&self, ino: u64, want: u32) -> Result<(), Errno> {
        let n = self.tmpfs.node(ino)?;
        if (n.perm >> 6) & want != want {
            return Err(Errno::EACCES);
        }
        Ok(())
    }

    fn new_file(
        &mut self,
        parent: u64,
        name: &[u8],
        mode: u64,
        linked: bool,
    ) -> Result<u64, Errno> {
        let now = self.fs_now();
        let dev = self.tmpfs.node(parent)?.dev;
        let perm = (mode & 0o7777 & !self.files.umask) as u32;
        let ino = self.tmpfs.add(Node {
            body: Body::File {
                pages: BTreeMap::new(),
                size: 0,
            },
            perm,
            nlink: u64::from(linked),
            opens: 0,
            dev,
            writable: true,
            mtime: now,
            ctime: now,
        });
        if linked {
            self.tmpfs.link(parent, name, ino);
            self.dir_changed(parent, now);
        }
        Ok(ino)
    }

    /// Adds node `ino`: a read-only regular file on device `dev` holding
    /// `data` in pages of the call's memory, modified at `time` (ns).
    /// ENOMEM when the pages do not fit in the memory limit.
    pub(super) fn add_read_only_file(
        &mut self,
        ino: u64,
        dev: u64,
        data: &[u8],
        time: u64,
    ) -> Result<(), Errno> {
        let mut pages = BTreeMap::new();
        for (index, chunk) in (0u64..).zip(data.chunks(PAGE_SIZE as usize)) {
            let filled = self
                .space
                .alloc_frame()
                .map_err(Errno::from)
                .and_then(|gpa| {
                    pages.insert(index, gpa);
                    self.space
                        .memory()
                        .write(gpa, chunk)
                        .map_err(|_| Errno::EFAULT)
                });
            if let Err(e) = filled {
                for gpa in pages.into_values() {
                    self.space.free_frame(gpa);
                }
                return Err(e);
            }
        }
        self.tmpfs.nodes.insert(
            ino,
            Node {
                body: Body::File {
                    pages,
                    size: data.len() as u64,
                },
                perm: 0o444,
                nlink: 1,
                opens: 0,
                dev,
                writable: false,
                mtime: time,
                ctime: time,
            },
        );
        Ok(())
    }

    fn dir_changed(&mut self, dir: u64, now: u64) {
        if let Some(n) = self.tmpfs.nodes.get_mut(&dir) {
            n.mtime = now;
            n.ctime = now;
        }
    }

    /// A directory new entries may go into: writable and not removed.
    fn check_creatable(&self, dir: u64) -> Result<(), Errno> {
        let n = self.tmpfs.node(dir)?;
        if !n.writable {
            return Err(Errno::EROFS);
        }
        if n.nlink == 0 {
            return Err(Errno::ENOENT);
        }
        Ok(())
    }

    pub(super) fn sys_open(&mut self, a: &[u64; 6]) -> SysResult {
        self.sys_openat(&[AT_FDCWD as u64, a[0], a[1], a[2], 0, 0])
    }

    /// creat(path, mode) is open(path, O_CREAT|O_WRONLY|O_TRUNC, mode).
    pub(super) fn sys_creat(&mut self, a: &[u64; 6]) -> SysResult {
        self.sys_openat(&[
            AT_FDCWD as u64,
            a[0],
            O_CREAT | O_WRONLY | O_TRUNC,
            a[1],
            0,
            0,
        ])
    }

    pub(super) fn sys_openat(&mut self, a: &[u64; 6]) -> SysResult {
        let (flags, mode) = (a[2] & 0xffff_ffff, a[3]);
        let path = self.path_arg(a[1])?;
        let r = self.resolve_at(a[0], &path)?;
        let acc = flags & O_ACCMODE;
        if flags & O_TMPFILE == O_TMPFILE {
            // An unnamed file in the directory the path names.
            let dir = r.ino.ok_or(Errno::ENOENT)?;
            if !self.tmpfs.node(dir)?.is_dir() {
                return Err(Errno::ENOTDIR);
            }
            if acc == O_RDONLY {
                return Err(Errno::EINVAL);
            }
            self.check_creatable(dir)?;
            let ino = self.new_file(dir, b"", mode, false)?;
            return self.open_node(ino, flags & !O_TMPFILE);
        }
        let ino = match r.ino {
            Some(ino) => {
                if flags & (O_CREAT | O_EXCL) == O_CREAT | O_EXCL {
                    return Err(Errno::EEXIST);
                }
                let n = self.tmpfs.node(ino)?;
                if n.is_dir() {
                    if acc != O_RDONLY || flags & O_CREAT != 0 {
                        return Err(Errno::EISDIR);
                    }
                } else if flags & O_DIRECTORY != 0 || r.dir_only {
                    return Err(Errno::ENOTDIR);
                }
                if let Body::Device(kind) = n.body {
                    let status = (flags & !(O_CREAT | O_EXCL | O_NOCTTY | O_TRUNC)) | O_LARGEFILE;
                    return self.open_fd(kind, status, flags & O_CLOEXEC != 0);
                }
                if !n.is_dir() {
                    if !n.writable && (acc != O_RDONLY || flags & O_TRUNC != 0) {
                        return Err(Errno::EROFS);
                    }
                    let want = match acc {
                        O_RDONLY => 4,
                        O_WRONLY => 2,
                        _ => 6,
                    } | if flags & O_TRUNC != 0 { 2 } else { 0 };
                    self.permit(ino, want)?;
                    if flags & O_TRUNC != 0 {
                        self.truncate_node(ino, 0)?;
                    }
                }
                ino
            }
            None => {
                let Last::Name(name) = &r.last else {
                    return Err(Errno::ENOENT);
                };
                if flags & O_CREAT == 0 {
                    return Err(Errno::ENOENT);
                }
                if r.dir_only {
                    return Err(Errno::EISDIR);
                }
                self.check_creatable(r.parent)?;
                self.new_file(r.parent, &name.clone(), mode, true)?
            }
        };
        self.open_node(ino, flags)
    }

    fn node_stat_ino(&self, ino: u64) -> Result<Stat, Errno> {
        let n = self.tmpfs.node(ino)?;
        let block_ns = self.block.timestamp.saturating_mul(NS);
        Ok(match &n.body {
            Body::Device(kind) => fixed_stat(*kind, block_ns),
            Body::Dir { entries, .. } => Stat {
                dev: n.dev,
                ino,
                nlink: n.nlink,
                mode: S_IFDIR | n.perm,
                size: (entries.len() as u64 + 2) * BOGO_DIRENT_SIZE,
                times: [n.mtime.max(block_ns), n.mtime, n.ctime],
                ..Stat::default()
            },
            Body::File { pages, size } => Stat {
                dev: n.dev,
                ino,
                nlink: n.nlink,
                mode: S_IFREG | n.perm,
                size: *size,
                blocks: pages.len() as u64 * (PAGE_SIZE / 512),
                times: [n.mtime, n.mtime, n.ctime],
                ..Stat::default()
            },
        })
    }

    pub(super) fn node_stat(&self, id: u64) -> Result<Stat, Errno> {
        self.node_stat_ino(self.desc(id)?.ino)
    }

    /// stat/lstat (dirfd None) and newfstatat (dirfd, path, buf, flags).
    pub(super) fn sys_stat_path(
        &mut self,
        dirfd: Option<u64>,
        path: u64,
        buf: u64,
        flags: u64,
    ) -> SysResult {
        if flags & !(AT_SYMLINK_NOFOLLOW | AT_NO_AUTOMOUNT | AT_EMPTY_PATH) != 0 {
            return Err(Errno::EINVAL);
        }
        let dirfd = dirfd.unwrap_or(AT_FDCWD as u64);
        if flags & AT_EMPTY_PATH != 0 {
            let empty = self
                .space
                .read_cstr(path, 1)
                .map(|p| p.is_empty())
                .unwrap_or(false);
            if empty {
                let st = if dirfd as i32 == AT_FDCWD {
                    self.node_stat_ino(self.tmpfs.cwd)?
                } else {
                    let f = self.files.get(dirfd)?;
                    self.stat_of(f.kind)?
                };
                return self.write_stat(st, buf);
            }
        }
        let p = self.path_arg(path)?;
        let r = self.resolve_at(dirfd, &p)?;
        let ino = r.ino.ok_or(Errno::ENOENT)?;
        if r.dir_only && !self.tmpfs.node(ino)?.is_dir() {
            return Err(Errno::ENOTDIR);
        }
        let st = self.node_stat_ino(ino)?;
        self.write_stat(st, buf)
    }

    /// access, faccessat, faccessat2: existence and the owner bits; writing
    /// outside the writable file systems is EROFS.
    pub(super) fn sys_faccessat(&mut self, dirfd: u64, path: u64, mode: u64) -> SysResult {
        if mode & !7 != 0 {
            return Err(Errno::EINVAL);
        }
        let p = self.path_arg(path)?;
        let r = self.resolve_at(dirfd, &p)?;
        let ino = r.ino.ok_or(Errno::ENOENT)?;
        let n = self.tmpfs.node(ino)?;
        if r.dir_only && !n.is_dir() {
            return Err(Errno::ENOTDIR);
        }
        if mode & 2 != 0 && !n.writable && !matches!(n.body, Body::Device(_)) {
            return Err(Errno::EROFS);
        }
        self.permit(ino, mode as u32)?;
        Ok(0)
    }

    /// readlink and readlinkat: only `/proc/self/exe` is a link.
    pub(super) fn sys_readlink(&mut self, dirfd: u64, path: u64, buf: u64, size: u64) -> SysResult {
        let p = self.path_arg(path)?;
        if size == 0 || size > i32::MAX as u64 {
            return Err(Errno::EINVAL);
        }
        if p != b"/proc/self/exe" {
            let r = self.resolve_at(dirfd, &p)?;
            return Err(if r.ino.is_some() {
                Errno::EINVAL
            } else {
                Errno::ENOENT
            });
        }
        let target = self.exe_path.clone();
        let n = target.len().min(size as usize);
        self.space.write(buf, target.get(..n).unwrap_or(&[]))?;
        Ok(n as u64)
    }

    pub(super) fn sys_mkdirat(&mut self, dirfd: u64, path: u64, mode: u64) -> SysResult {
        let p = self.path_arg(path)?;
        let r = self.resolve_at(dirfd, &p)?;
        if r.ino.is_some() {
            return Err(Errno::EEXIST);
        }
        let Last::Name(name) = r.last else {
            return Err(Errno::EEXIST);
        };
        self.check_creatable(r.parent)?;
        let now = self.fs_now();
        let dev = self.tmpfs.node(r.parent)?.dev;
        let perm = (mode & 0o1777 & !self.files.umask) as u32;
        let ino = self.tmpfs.add_dir(r.parent, dev, perm, true, now);
        self.tmpfs.link(r.parent, &name, ino);
        if let Ok(n) = self.tmpfs.node_mut(r.parent) {
            n.nlink = n.nlink.saturating_add(1);
        }
        self.dir_changed(r.parent, now);
        Ok(0)
    }

    /// Removes the entry `name` from `dir` and drops a link of `ino`.
    fn remove_entry(&mut self, dir: u64, name: &[u8], ino: u64) {
        let now = self.fs_now();
        if let Some(Body::Dir { entries, .. }) = self.tmpfs.nodes.get_mut(&dir).map(|n| &mut n.body)
        {
            entries.remove(name);
        }
        let is_dir = self.tmpfs.node(ino).is_ok_and(Node::is_dir);
        if let Ok(n) = self.tmpfs.node_mut(ino) {
            n.nlink = if is_dir { 0 } else { n.nlink.saturating_sub(1) };
            n.ctime = now;
        }
        if is_dir {
            if let Ok(p) = self.tmpfs.node_mut(dir) {
                p.nlink = p.nlink.saturating_sub(1);
            }
        }
        self.dir_changed(dir, now);
        self.reap(ino);
    }

    /// unlink (flags 0), unlinkat, rmdir (AT_REMOVEDIR).
    pub(super) fn sys_unlinkat(&mut self, dirfd: u64, path: u64, flags: u64) -> SysResult {
        if flags & !AT_REMOVEDIR != 0 {
            return Err(Errno::EINVAL);
        }
        let rmdir = flags & AT_REMOVEDIR != 0;
        let p = self.path_arg(path)?;
        let r = self.resolve_at(dirfd, &p)?;
        let name = match r.last {
            Last::Name(n) => n,
            Last::Dot if rmdir => return Err(Errno::EINVAL),
            Last::DotDot if rmdir => return Err(Errno::ENOTEMPTY),
            _ => return Err(Errno::EISDIR),
        };
        let ino = r.ino.ok_or(Errno::ENOENT)?;
        let n = self.tmpfs.node(ino)?;
        if !self.tmpfs.node(r.parent)?.writable {
            return Err(Errno::EROFS);
        }
        if rmdir {
            match &n.body {
                Body::Dir { entries, .. } if !entries.is_empty() => return Err(Errno::ENOTEMPTY),
                Body::Dir { .. } if n.dev != self.tmpfs.node(r.parent)?.dev => {
                    return Err(Errno::EBUSY)
                }
                Body::Dir { .. } => {}
                _ => return Err(Errno::ENOTDIR),
            }
        } else if n.is_dir() {
            return Err(Errno::EISDIR);
        } else if r.dir_only {
            return Err(Errno::ENOTDIR);
        }
        self.remove_entry(r.parent, &name, ino);
        Ok(0)
    }

    /// True when directory `dir` is `ancestor` or below it.
    fn is_below(&self, mut dir: u64, ancestor: u64) -> bool {
        loop {
            if dir == ancestor {
                return true;
            }
            if dir == ROOT {
                return false;
            }
            dir = self.tmpfs.parent_of(dir);
        }
    }

    /// rename, renameat, renameat2 (RENAME_NOREPLACE; RENAME_EXCHANGE and
    /// RENAME_WHITEOUT are refused with EINVAL).
    pub(super) fn sys_renameat2(&mut self, a: [u64; 5]) -> SysResult {
        let [olddir, oldpath, newdir, newpath, flags] = a;
        if flags & !RENAME_NOREPLACE != 0 {
            return Err(Errno::EINVAL);
        }
        let (op, np) = (self.path_arg(oldpath)?, self.path_arg(newpath)?);
        let from = self.resolve_at(olddir, &op)?;
        let to = self.resolve_at(newdir, &np)?;
        let ino = from.ino.ok_or(Errno::ENOENT)?;
        let (Last::Name(old_name), Last::Name(new_name)) = (&from.last, &to.last) else {
            return Err(Errno::EBUSY);
        };
        let (old_name, new_name) = (old_name.clone(), new_name.clone());
        let src = self.tmpfs.node(ino)?;
        let src_dir = src.is_dir();
        if !src_dir && (from.dir_only || to.dir_only) {
            return Err(Errno::ENOTDIR);
        }
        let (pf, pt) = (self.tmpfs.node(from.parent)?, self.tmpfs.node(to.parent)?);
        if !pf.writable || !pt.writable {
            return Err(Errno::EROFS);
        }
        if pf.dev != pt.dev || (src_dir && src.dev != pt.dev) {
            return Err(Errno::EXDEV);
        }
        if let Some(dst) = to.ino {
            if flags & RENAME_NOREPLACE != 0 {
                return Err(Errno::EEXIST);
            }
            if dst == ino {
                return Ok(0);
            }
            let d = self.tmpfs.node(dst)?;
            match (src_dir, &d.body) {
                (true, Body::Dir { entries, .. }) if !entries.is_empty() => {
                    return Err(Errno::ENOTEMPTY)
                }
                (true, Body::Dir { .. }) => {}
                (true, _) => return Err(Errno::ENOTDIR),
                (false, Body::Dir { .. }) => return Err(Errno::EISDIR),
                (false, _) => {}
            }
        }
        if src_dir && self.is_below(to.parent, ino) {
            return Err(Errno::EINVAL);
        }
        if !self.check_creatable(to.parent).is_ok() {
            return Err(Errno::ENOENT);
        }
        if let Some(dst) = to.ino {
            self.remove_entry(to.parent, &new_name, dst);
        }
        let now = self.fs_now();
        if let Some(Body::Dir { entries, .. }) =
            self.tmpfs.nodes.get_mut(&from.parent).map(|n| &mut n.body)
        {
            entries.remove(&old_name);
        }
        self.tmpfs.link(to.parent, &new_name, ino);
        if src_dir && from.parent != to.parent {
            if let Ok(n) = self.tmpfs.node_mut(ino) {
                if let Body::Dir { parent, .. } = &mut n.body {
                    *parent = to.parent;
                }
            }
            if let Ok(n) = self.tmpfs.node_mut(from.parent) {
                n.nlink = n.nlink.saturating_sub(1);
            }
            if let Ok(n) = self.tmpfs.node_mut(to.parent) {
                n.nlink = n.nlink.saturating_add(1);
            }
        }
        if let Ok(n) = self.tmpfs.node_mut(ino) {
            n.ctime = now;
        }
        self.dir_changed(from.parent, now);
        self.dir_changed(to.parent, now);
        Ok(0)
    }

    /// link and linkat (a new name for a file in the same file system).
    pub(super) fn sys_linkat(&mut self, a: [u64; 5]) -> SysResult {
        let [olddir, oldpath, newdir, newpath, flags] = a;
        if flags & !(AT_SYMLINK_FOLLOW | AT_EMPTY_PATH) != 0 {
            return Err(Errno::EINVAL);
        }
        // AT_EMPTY_PATH needs CAP_DAC_READ_SEARCH, which the contract lacks:
        // an empty path is ENOENT as for any path.
        let (op, np) = (self.path_arg(oldpath)?, self.path_arg(newpath)?);
        let from = self.resolve_at(olddir, &op)?;
        let to = self.resolve_at(newdir, &np)?;
        let ino = from.ino.ok_or(Errno::ENOENT)?;
        let src = self.tmpfs.node(ino)?;
        if src.is_dir() {
            return Err(Errno::EPERM);
        }
        if to.ino.is_some() {
            return Err(Errno::EEXIST);
        }
        let Last::Name(name) = to.last else {
            return Err(Errno::EEXIST);
        };
        let pt = self.tmpfs.node(to.parent)?;
        if !pt.writable || !src.writable {
            return Err(Errno::EROFS);
        }
        if pt.dev != src.dev {
            return Err(Errno::EXDEV);
        }
        self.check_creatable(to.parent)?;
        let now = self.fs_now();
        self.tmpfs.link(to.parent, &name, ino);
        if let Ok(n) = self.tmpfs.node_mut(ino) {
            n.nlink = n.nlink.saturating_add(1);
            n.ctime = now;
        }
        self.dir_changed(to.parent, now);
        Ok(0)
    }

    /// Sets a file's size: pages past the end are freed, the tail of the
    /// last page zeroed, growth is a hole.
    fn truncate_node(&mut self, ino: u64, len: u64) -> Result<(), Errno> {
        if len > MAX_FILE_SIZE {
            return Err(Errno::EFBIG);
        }
        let now = self.fs_now();
        let n = self.tmpfs.node_mut(ino)?;
        let Body::File { pages, size } = &mut n.body else {
            return Err(Errno::EISDIR);
        };
        let keep = len.div_ceil(PAGE_SIZE);
        let freed: Vec<u64> = pages.split_off(&keep).into_values().collect();
        let tail = if len < *size && len % PAGE_SIZE != 0 {
            pages.get(&(len / PAGE_SIZE)).copied()
        } else {
            None
        };
        *size = len;
        n.mtime = now;
        n.ctime = now;
        if let Some(gpa) = tail {
            let off = len % PAGE_SIZE;
            let zeros = vec![0u8; (PAGE_SIZE - off) as usize];
            self.space
                .memory()
                .write(gpa + off, &zeros)
                .map_err(|_| Errno::EFAULT)?;
        }
        for gpa in freed {
            self.space.free_frame(gpa);
        }
        Ok(())
    }

    pub(super) fn sys_ftruncate(&mut self, fd: u64, len: u64) -> SysResult {
        let f = self.files.get(fd)?;
        if (len as i64) < 0 {
            return Err(Errno::EINVAL);
        }
        let FileKind::Node(id) = f.kind else {
            return Err(Errno::EINVAL);
        };
        let ino = self.desc(id)?.ino;
        if f.status & O_ACCMODE == O_RDONLY || self.tmpfs.node(ino)?.is_dir() {
            return Err(Errno::EINVAL);
        }
        self.truncate_node(ino, len)?;
        Ok(0)
    }

    pub(super) fn sys_truncate(&mut self, path: u64, len: u64) -> SysResult {
        if (len as i64) < 0 {
            return Err(Errno::EINVAL);
        }
        let p = self.path_arg(path)?;
        let r = self.resolve_at(AT_FDCWD as u64, &p)?;
        let ino = r.ino.ok_or(Errno::ENOENT)?;
        let n = self.tmpfs.node(ino)?;
        match n.body {
            Body::Dir { .. } => return Err(Errno::EISDIR),
            Body::Device(_) => return Err(Errno::EINVAL),
            Body::File { .. } => {}
        }
        if !n.writable {
            return Err(Errno::EROFS);
        }
        self.permit(ino, 2)?;
        self.truncate_node(ino, len)?;
        Ok(0)
    }

    /// Reads from an open file at `at` (pread) or its offset.
    pub(super) fn node_read(
        &mut self,
        id: u64,
        len: usize,
        at: Option<u64>,
    ) -> Result<Vec<u8>, Errno> {
        let d = self.desc(id)?;
        let (ino, pos) = (d.ino, at.unwrap_or(d.offset));
        let n = self.tmpfs.node(ino)?;
        let Body::File { pages, size } = &n.body else {
            return Err(Errno::EISDIR);
        };
        let count = size.saturating_sub(pos).min(len as u64) as usize;
        let mut out = vec![0u8; count];
        let mut done = 0usize;
        while done < count {
            let off = pos + done as u64;
            let in_page = (off % PAGE_SIZE) as usize;
            let chunk = (PAGE_SIZE as usize - in_page).min(count - done);
            if let Some(&gpa) = pages.get(&(off / PAGE_SIZE)) {
                let dst = out.get_mut(done..done + chunk).ok_or(Errno::EFAULT)?;
                self.space
                    .memory()
                    .read(gpa + in_page as u64, dst)
                    .map_err(|_| Errno::EFAULT)?;
            }
            done += chunk;
        }
        if at.is_none() {
            if let Some(d) = self.tmpfs.descs.get_mut(&id) {
                d.offset = pos + count as u64;
            }
        }
        Ok(out)
    }

    /// Writes to an open file at `at` (pwrite), its offset, or its end
    /// (O_APPEND, which Linux honours even for pwrite). Pages are taken
    /// from the call's memory; with none left the write stops (ENOSPC if
    /// nothing was written).
    pub(super) fn node_write(
        &mut self,
        id: u64,
        data: &[u8],
        at: Option<u64>,
        status: u64,
    ) -> SysResult {
        let d = self.desc(id)?;
        let (ino, offset) = (d.ino, d.offset);
        let now = self.fs_now();
        let size = match &self.tmpfs.node(ino)?.body {
            Body::File { size, .. } => *size,
            _ => return Err(Errno::EISDIR),
        };
        let pos = if status & O_APPEND != 0 {
            size
        } else {
            at.unwrap_or(offset)
        };
        if pos >= MAX_FILE_SIZE && !data.is_empty() {
            return Err(Errno::EFBIG);
        }
        let len = (data.len() as u64).min(MAX_FILE_SIZE - pos) as usize;
        let mut done = 0usize;
        while done < len {
            let off = pos + done as u64;
            let index = off / PAGE_SIZE;
            let in_page = (off % PAGE_SIZE) as usize;
            let chunk = (PAGE_SIZE as usize - in_page).min(len - done);
            let existing = match &self.tmpfs.node(ino)?.body {
                Body::File { pages, .. } => pages.get(&index).copied(),
                _ => None,
            };
            let gpa = match existing {
                Some(g) => g,
                None => match self.space.alloc_frame() {
                    Ok(g) => {
                        if let Ok(Node {
                            body: Body::File { pages, .. },
                            ..
                        }) = self.tmpfs.node_mut(ino)
                        {
                            pages.insert(index, g);
                        }
                        g
                    }
                    Err(_) if done > 0 => break,
                    Err(_) => return Err(Errno::ENOSPC),
                },
            };
            let src = data.get(done..done + chunk).ok_or(Errno::EFAULT)?;
            self.space
                .memory()
                .write(gpa + in_page as u64, src)
                .map_err(|_| Errno::EFAULT)?;
            done += chunk;
        }
        let end = pos + done as u64;
        if let Ok(n) = self.tmpfs.node_mut(ino) {
            if let Body::File { size, .. } = &mut n.body {
                *size = (*size).max(end);
            }
            if done > 0 {
                n.mtime = now;
                n.ctime = now;
            }
        }
        if at.is_none() || status & O_APPEND != 0 && at.is_none() {
            if let Some(d) = self.tmpfs.descs.get_mut(&id) {
                d.offset = end;
            }
        }
        Ok(done as u64)
    }

    pub(super) fn node_lseek(&mut self, id: u64, off: i64, whence: u64) -> SysResult {
        const SEEK_SET: u64 = 0;
        const SEEK_CUR: u64 = 1;
        const SEEK_END: u64 = 2;
        const SEEK_DATA: u64 = 3;
        const SEEK_HOLE: u64 = 4;
        let d = self.desc(id)?;
        let n = self.tmpfs.node(d.ino)?;
        let (size, is_dir) = match &n.body {
            Body::File { size, .. } => (*size, false),
            _ => (0, true),
        };
        let cur = d.offset as i64;
        let new = match (whence, is_dir) {
            (SEEK_SET, _) => Some(off),
            (SEEK_CUR, _) => cur.checked_add(off),
            (SEEK_END, false) => (size as i64).checked_add(off),
            (SEEK_DATA | SEEK_HOLE, false) => {
                if off < 0 {
                    return Err(Errno::EINVAL);
                }
                if off as u64 >= size {
                    return Err(Errno::ENXIO);
                }
                // Holes are reported as data, as Linux may.
                Some(if whence == SEEK_DATA {
                    off
                } else {
                    size as i64
                })
            }
            _ => return Err(Errno::EINVAL),
        };
        let new = new.filter(|&n| n >= 0).ok_or(Errno::EINVAL)?;
        if let Some(d) = self.tmpfs.descs.get_mut(&id) {
            d.offset = new as u64;
        }
        Ok(new as u64)
    }

    /// Bytes between the offset and the end (FIONREAD).
    pub(super) fn node_unread(&self, id: u64) -> Result<u64, Errno> {
        let d = self.desc(id)?;
        match &self.tmpfs.node(d.ino)?.body {
            Body::File { size, .. } => Ok(size.saturating_sub(d.offset)),
            _ => Err(Errno::ENOTTY),
        }
    }

    /// getdents64: `.`, `..`, then the entries in creation order; the
    /// offset is the cookie of the last entry returned.
    pub(super) fn sys_getdents64(&mut self, fd: u64, buf: u64, count: u64) -> SysResult {
        const DT_CHR: u8 = 2;
        const DT_DIR: u8 = 4;
        const DT_REG: u8 = 8;
        let f = self.files.get(fd)?;
        let FileKind::Node(id) = f.kind else {
            return Err(Errno::ENOTDIR);
        };
        let d = self.desc(id)?;
        let (ino, offset) = (d.ino, d.offset);
        let n = self.tmpfs.node(ino)?;
        let Body::Dir {
            entries, parent, ..
        } = &n.body
        else {
            return Err(Errno::ENOTDIR);
        };
        let mut list: Vec<(u64, u64, u8, Vec<u8>)> = vec![
            (1, ino, DT_DIR, b".".to_vec()),
            (2, *parent, DT_DIR, b"..".to_vec()),
        ];
        if n.nlink > 0 {
            let mut rest: Vec<(u64, u64, u8, Vec<u8>)> = entries
                .iter()
                .map(|(name, &(child, cookie))| {
                    let (ty, shown) = match self.tmpfs.nodes.get(&child).map(|c| &c.body) {
                        Some(Body::Dir { .. }) => (DT_DIR, child),
                        Some(Body::Device(k)) => (DT_CHR, fixed_stat(*k, 0).ino),
                        _ => (DT_REG, child),
                    };
                    (cookie, shown, ty, name.clone())
                })
                .collect();
            rest.sort_by_key(|e| e.0);
            list.extend(rest);
        }
        let count = usize::try_from(count).unwrap_or(usize::MAX).min(1 << 20);
        let mut out = Vec::new();
        let mut last = offset;
        for (cookie, child, ty, name) in list.into_iter().filter(|e| e.0 > offset) {
            let reclen = (19 + name.len() + 1).div_ceil(8) * 8;
            if out.len() + reclen > count {
                break;
            }
            let mut rec = vec![0u8; reclen];
            rec[..8].copy_from_slice(&child.to_le_bytes());
            rec[8..16].copy_from_slice(&cookie.to_le_bytes());
            rec[16..18].copy_from_slice(&(reclen as u16).to_le_bytes());
            rec[18] = ty;
            rec[19..19 + name.len()].copy_from_slice(&name);
            out.extend_from_slice(&rec);
            last = cookie;
        }
        if out.is_empty() && last != offset {
            return Ok(0);
        }
        if out.is_empty() {
            // Nothing left, or the buffer cannot hold the next entry.
            let more = self.tmpfs.node(ino).is_ok_and(|n| match &n.body {
                Body::Dir { entries, .. } => {
                    offset < 2 || (n.nlink > 0 && entries.values().any(|&(_, c)| c > offset))
                }
                _ => false,
            });
            return if more { Err(Errno::EINVAL) } else { Ok(0) };
        }
        self.space.write(buf, &out)?;
        if let Some(d) = self.tmpfs.descs.get_mut(&id) {
            d.offset = last;
        }
        Ok(out.len() as u64)
    }

    pub(super) fn sys_chdir(&mut self, path: u64) -> SysResult {
        let p = self.path_arg(path)?;
        let r = self.resolve_at(AT_FDCWD as u64, &p)?;
        let ino = r.ino.ok_or(Errno::ENOENT)?;
        self.set_cwd(ino)
    }

    pub(super) fn sys_fchdir(&mut self, fd: u64) -> SysResult {
        match self.files.get(fd)?.kind {
            FileKind::Node(id) => {
                let ino = self.desc(id)?.ino;
                self.set_cwd(ino)
            }
            _ => Err(Errno::ENOTDIR),
        }
    }

    fn set_cwd(&mut self, ino: u64) -> SysResult {
        if !self.tmpfs.node(ino)?.is_dir() {
            return Err(Errno::ENOTDIR);
        }
        let old = std::mem::replace(&mut self.tmpfs.cwd, ino);
        self.reap(old);
        Ok(0)
    }

    /// getcwd: the path of the current directory, ENOENT once it was
    /// removed, ERANGE when it does not fit.
    pub(super) fn sys_getcwd(&mut self, buf: u64, size: u64) -> SysResult {
        let mut ino = self.tmpfs.cwd;
        if self.tmpfs.node(ino)?.nlink == 0 {
            return Err(Errno::ENOENT);
        }
        let mut parts: Vec<Vec<u8>> = Vec::new();
        while ino != ROOT {
            let parent = self.tmpfs.parent_of(ino);
            let name = match self.tmpfs.nodes.get(&parent).map(|n| &n.body) {
                Some(Body::Dir { entries, .. }) => entries
                    .iter()
                    .find(|(_, &(i, _))| i == ino)
                    .map(|(n, _)| n.clone()),
                _ => None,
            };
            parts.push(name.ok_or(Errno::ENOENT)?);
            ino = parent;
        }
        let mut path = Vec::new();
        for p in parts.iter().rev() {
            path.push(b'/');
            path.extend_from_slice(p);
        }
        if path.is_empty() {
            path.push(b'/');
        }
        path.push(0);
        if (path.len() as u64) > size {
            return Err(Errno::ERANGE);
        }
        self.space.write(buf, &path)?;
        Ok(path.len() as u64)
    }
}

impl Kernel {
    /// The file `fd` names, if mmap can map it with `prot`: a file of the
    /// in-memory file system, open for reading, and for writing too when a
    /// shared mapping may write (Linux's checks and errnos).
    pub(super) fn node_mappable(&self, fd: i32, prot: Prot, shared: bool) -> Result<u64, Errno> {
        let f = self.files.get(fd as i64 as u64)?;
        let FileKind::Node(id) = f.kind else {
            return Err(Errno::ENODEV);
        };
        let ino = self.desc(id)?.ino;
        if !matches!(self.tmpfs.node(ino)?.body, Body::File { .. }) {
            return Err(Errno::ENODEV);
        }
        let mode = f.status & O_ACCMODE;
        if mode == O_WRONLY || (shared && prot.contains(Prot::WRITE) && mode != O_RDWR) {
            return Err(Errno::EACCES);
        }
        Ok(ino)
    }

    /// Maps `len` bytes of file `ino` from `offset` at `start`, replacing
    /// what was there. Shared: the mapping shows the file's own pages
    /// (holes get a page now; pages past the end of the file fault).
    /// Private: anonymous memory holding a copy of the file's bytes, which
    /// is the same thing on one address space without fork.
    pub(super) fn node_map(
        &mut self,
        ino: u64,
        start: u64,
        len: u64,
        prot: Prot,
        shared: bool,
        offset: u64,
    ) -> Result<(), Errno> {
        let first = offset / PAGE_SIZE;
        let size = match &self.tmpfs.node(ino)?.body {
            Body::File { size, .. } => *size,
            _ => return Err(Errno::ENODEV),
        };
        // Pages of the range that lie inside the file.
        let in_file = size
            .div_ceil(PAGE_SIZE)
            .saturating_sub(first)
            .min(len / PAGE_SIZE);
        if !shared {
            self.space.map_fixed(start, len, prot, true)?;
            return self.copy_file_pages(ino, start, first, in_file);
        }
        let holes = match &self.tmpfs.node(ino)?.body {
            Body::File { pages, .. } => {
                in_file - pages.range(first..first + in_file).count() as u64
            }
            _ => 0,
        };
        if holes.saturating_mul(PAGE_SIZE)
            > self.space.limit().saturating_sub(self.space.committed())
        {
            return Err(Errno::ENOMEM);
        }
        let mut frames = Vec::new();
        for index in first..first + in_file {
            let existing = match &self.tmpfs.node(ino)?.body {
                Body::File { pages, .. } => pages.get(&index).copied(),
                _ => None,
            };
            let gpa = match existing {
                Some(g) => g,
                None => {
                    let g = self.space.alloc_frame()?;
                    if let Body::File { pages, .. } = &mut self.tmpfs.node_mut(ino)?.body {
                        pages.insert(index, g);
                    }
                    g
                }
            };
            frames.push(gpa);
        }
        self.space.map_shared(start, len, prot, &frames)?;
        Ok(())
    }

    /// Copies `count` pages of file `ino` from page `first` to `start`
    /// (freshly mapped, zeroed memory: holes stay zero).
    fn copy_file_pages(
        &mut self,
        ino: u64,
        start: u64,
        first: u64,
        count: u64,
    ) -> Result<(), Errno> {
        let mut page = vec![0u8; PAGE_SIZE as usize];
        for i in 0..count {
            let gpa = match &self.tmpfs.node(ino)?.body {
                Body::File { pages, .. } => pages.get(&(first + i)).copied(),
                _ => None,
            };
            let Some(gpa) = gpa else { continue };
            self.space
                .memory()
                .read(gpa, &mut page)
                .map_err(|_| Errno::EFAULT)?;
            self.space.write_initial(start + i * PAGE_SIZE, &page)?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::kernel::tests::{call, get, kernel, list_dir, path, put, BUF};

    const P1: u64 = BUF + 0x8000;
    const P2: u64 = BUF + 0x9000;
    const AT: u64 = AT_FDCWD as u64;

    fn open(k: &mut Kernel, p: &str, flags: u64) -> i64 {
        let a = path(k, P1, p);
        call(k, 257, &[AT, a, flags, 0o666])
    }

    fn stat(k: &mut Kernel, p: &str) -> Result<Stat, i64> {
        let a = path(k, P1, p);
        match call(k, 4, &[a, BUF]) {
            0 => {
                let b = get(k, BUF, 144);
                let u = |o: usize| u64::from_le_bytes(b[o..o + 8].try_into().unwrap());
                Ok(Stat {
                    dev: u(0),
                    ino: u(8),
                    nlink: u(16),
                    mode: u32::from_le_bytes(b[24..28].try_into().unwrap()),
                    size: u(48),
                    blocks: u(64),
                    ..Stat::default()
                })
            }
            e => Err(e),
        }
    }

    /// Syscall `nr` with a path, then `rest`.
    fn pcall(k: &mut Kernel, nr: u64, p: &str, rest: &[u64]) -> i64 {
        let mut args = vec![path(k, P1, p)];
        args.extend_from_slice(rest);
        call(k, nr, &args)
    }

    fn two(k: &mut Kernel, nr: u64, a: &str, b: &str) -> i64 {
        let (x, y) = (path(k, P1, a), path(k, P2, b));
        call(k, nr, &[x, y])
    }

    #[test]
    fn files_read_write_seek_and_vanish() {
        let mut k = kernel();
        let committed = k.space().committed();
        let fd = open(&mut k, "/tmp/a", O_CREAT | 2) as u64;
        assert_eq!(fd, 3);
        put(&k, BUF, b"hello world");
        assert_eq!(call(&mut k, 1, &[fd, BUF, 11]), 11);
        assert_eq!(call(&mut k, 8, &[fd, 0, 0]), 0);
        assert_eq!(call(&mut k, 0, &[fd, BUF + 64, 100]), 11);
        assert_eq!(get(&k, BUF + 64, 11), b"hello world");
        assert_eq!(call(&mut k, 17, &[fd, BUF + 64, 5, 6]), 5);
        assert_eq!(get(&k, BUF + 64, 5), b"world");
        assert_eq!(call(&mut k, 8, &[fd, -3i64 as u64, 2]), 8, "SEEK_END");
        assert_eq!(call(&mut k, 8, &[fd, -9i64 as u64, 1]), -22);
        assert_eq!(k.space().committed(), committed + PAGE_SIZE);
        let st = stat(&mut k, "/tmp/a").unwrap();
        assert_eq!(
            (st.mode, st.size, st.nlink, st.dev),
            (S_IFREG | 0o644, 11, 1, TMP_DEV)
        );
        // A hole costs nothing; the file reads zeros there.
        put(&k, BUF, b"x");
        assert_eq!(call(&mut k, 18, &[fd, BUF, 1, 1 << 30]), 1);
        let st = stat(&mut k, "/tmp/a").unwrap();
        assert_eq!((st.size, st.blocks), ((1 << 30) + 1, 16));
        assert_eq!(call(&mut k, 17, &[fd, BUF, 4, 4096]), 4);
        assert_eq!(get(&k, BUF, 4), [0; 4]);
        // O_EXCL, O_TRUNC, O_APPEND, ftruncate.
        assert_eq!(open(&mut k, "/tmp/a", O_CREAT | O_EXCL | 2), -17);
        let fd2 = open(&mut k, "/tmp/a", O_TRUNC | O_APPEND | 1) as u64;
        assert_eq!(stat(&mut k, "/tmp/a").unwrap().size, 0);
        assert_eq!(call(&mut k, 1, &[fd2, BUF + 64, 5]), 5);
        assert_eq!(call(&mut k, 1, &[fd, BUF + 64, 11]), 11, "at fd's offset 8");
        assert_eq!(stat(&mut k, "/tmp/a").unwrap().size, 19);
        assert_eq!(call(&mut k, 1, &[fd2, BUF + 64, 5]), 5, "appends");
        assert_eq!(stat(&mut k, "/tmp/a").unwrap().size, 24);
        assert_eq!(call(&mut k, 77, &[fd, 3]), 0);
        assert_eq!(call(&mut k, 17, &[fd, BUF, 10, 0]), 3);
        assert_eq!(call(&mut k, 77, &[0, 3]), -22);
        // Unlinked while open: still readable, gone when closed.
        assert_eq!(pcall(&mut k, 87, "/tmp/a", &[]), 0);
        assert_eq!(stat(&mut k, "/tmp/a").unwrap_err(), -2);
        assert_eq!(call(&mut k, 17, &[fd, BUF, 10, 0]), 3);
        assert_eq!(call(&mut k, 3, &[fd]), 0);
        assert_eq!(k.space().committed(), committed + PAGE_SIZE);
        assert_eq!(call(&mut k, 3, &[fd2]), 0);
        assert_eq!(k.space().committed(), committed);
        assert_eq!(k.tmpfs.nodes.len(), Tmpfs::default().nodes.len());
    }

    #[test]
    fn directories_cwd_and_renames() {
        let mut k = kernel();
        assert_eq!(stat(&mut k, ".").unwrap().mode, S_IFDIR | 0o755);
        assert_eq!(call(&mut k, 79, &[BUF, 64]), 2);
        assert_eq!(get(&k, BUF, 2), b"/\0");
        assert_eq!(pcall(&mut k, 83, "/tmp/d", &[0o777]), 0);
        assert_eq!(pcall(&mut k, 83, "/tmp/d", &[0o777]), -17);
        assert_eq!(pcall(&mut k, 80, "tmp/d", &[]), 0);
        assert_eq!(call(&mut k, 79, &[BUF, 64]), 7);
        assert_eq!(get(&k, BUF, 7), b"/tmp/d\0");
        assert_eq!(call(&mut k, 79, &[BUF, 6]), -34);
        let fd = open(&mut k, "x", O_CREAT | 1);
        assert!(fd >= 3);
        assert_eq!(stat(&mut k, "../d/./x").unwrap().size, 0);
        assert_eq!(stat(&mut k, "/tmp/d").unwrap().nlink, 2);
        assert_eq!(stat(&mut k, "/tmp/d/x/").unwrap_err(), -20);
        for (nr, a, b, want) in [
            (82, "x", "/tmp/y", 0),
            (82, "/tmp/y", "/dev/shm/y", -18),
            (86, "/tmp/y", "/tmp/z", 0),
            (86, "/tmp/y", "/tmp/z", -17),
            (82, "/tmp/d", "/tmp/d/e", -22),
            (82, "/tmp/y", "/tmp/d", -21),
            (82, "/tmp", "/tmp2", -30),
            (86, "/tmp/d", "/tmp/dd", -1),
            (82, "/tmp/z", "/y", -30),
        ] {
            assert_eq!(two(&mut k, nr, a, b), want, "{nr} {a} {b}");
        }
        assert_eq!(stat(&mut k, "/tmp/y").unwrap().nlink, 2);
        assert_eq!(stat(&mut k, "x").unwrap_err(), -2);
        // Listing: ., .., then creation order.
        assert_eq!(open(&mut k, "/tmp/d/q", O_CREAT | 1), 4);
        let dir = open(&mut k, "/tmp", O_DIRECTORY) as u64;
        assert_eq!(list_dir(&mut k, dir), [".", "..", "d", "y", "z"]);
        assert_eq!(call(&mut k, 217, &[dir, BUF, 4096]), 0);
        assert_eq!(call(&mut k, 217, &[1, BUF, 4096]), -20);
        // rmdir: not empty, not a directory, the mount itself; then the
        // current directory removed: getcwd is ENOENT.
        assert_eq!(pcall(&mut k, 84, "/tmp/d", &[]), -39);
        assert_eq!(pcall(&mut k, 84, "/tmp/y", &[]), -20);
        assert_eq!(pcall(&mut k, 84, "/tmp", &[]), -30);
        assert_eq!(pcall(&mut k, 87, "/tmp/d", &[]), -21);
        assert_eq!(pcall(&mut k, 87, "q", &[]), 0);
        assert_eq!(pcall(&mut k, 84, "/tmp/d", &[]), 0);
        assert_eq!(call(&mut k, 79, &[BUF, 64]), -2);
        assert_eq!(open(&mut k, "new", O_CREAT | 1), -2);
        assert_eq!(pcall(&mut k, 80, "/dev/shm", &[]), 0);
        assert_eq!(call(&mut k, 81, &[dir]), 0);
        assert_eq!(call(&mut k, 79, &[BUF, 64]), 5);
    }

    #[test]
    fn skeleton_is_read_only_and_tmpfile_works() {
        let mut k = kernel();
        for (p, flags, want) in [
            ("/x", O_CREAT | 1, -30),
            ("/dev/x", O_CREAT | 1, -30),
            ("/dev", 1, -21),
            ("/dev/null", O_DIRECTORY, -20),
            ("/nope/x", O_CREAT | 1, -2),
            ("/tmp/", O_CREAT | 1, -21),
            ("/dev/null", O_CREAT | 2, 3),
        ] {
            assert_eq!(open(&mut k, p, flags), want, "{p}");
        }
        assert_eq!(pcall(&mut k, 83, "/dev/d", &[0o777]), -30);
        assert_eq!(pcall(&mut k, 87, "/dev/null", &[]), -30);
        assert_eq!(pcall(&mut k, 21, "/dev", &[2]), -30);
        assert_eq!(pcall(&mut k, 21, "/tmp", &[2]), 0);
        // O_TMPFILE: a file without a name.
        let fd = open(&mut k, "/tmp", O_TMPFILE | 2) as u64;
        assert_eq!(fd, 4);
        assert_eq!(call(&mut k, 1, &[fd, BUF, 100]), 100);
        assert_eq!(call(&mut k, 5, &[fd, BUF]), 0);
        assert_eq!(get(&k, BUF + 16, 1), [0], "nlink 0");
        assert_eq!(open(&mut k, "/tmp", O_TMPFILE), -22);
        // Owner permission bits.
        let p = path(&k, P1, "/tmp/ro");
        assert_eq!(call(&mut k, 2, &[p, O_CREAT | 1, 0o400]), 5);
        assert_eq!(open(&mut k, "/tmp/ro", 1), -13);
        assert_eq!(open(&mut k, "/tmp/ro", 0), 6);
    }

    #[test]
    fn full_memory_is_enospc() {
        let mut k = kernel();
        let fd = open(&mut k, "/dev/shm/big", O_CREAT | 1) as u64;
        let chunk = 16 * PAGE_SIZE;
        let mut total = 0u64;
        loop {
            match call(&mut k, 1, &[fd, BUF, chunk]) {
                n if n > 0 => total += n as u64,
                e => {
                    assert_eq!(e, -28);
                    break;
                }
            }
        }
        assert!(total > 32 << 20, "{total}");
        assert_eq!(k.space().committed(), k.space().limit());
        // Removing it gives the memory back.
        assert_eq!(pcall(&mut k, 87, "/dev/shm/big", &[]), 0);
        assert_eq!(call(&mut k, 3, &[fd]), 0);
        assert!(k.space().committed() < 1 << 20);
    }

    fn names(fs: &Tmpfs, dir: u64) -> Vec<String> {
        match &fs.nodes[&dir].body {
            Body::Dir { entries, .. } => entries
                .keys()
                .map(|k| String::from_utf8_lossy(k).into_owned())
                .collect(),
            _ => Vec::new(),
        }
    }

    #[test]
    fn skeleton_and_resolution() {
        let fs = Tmpfs::default();
        assert_eq!(names(&fs, ROOT), ["dev", "tmp"]);
        let dev = fs.child(ROOT, b"dev").unwrap();
        assert_eq!(
            names(&fs, dev),
            ["null", "random", "shm", "urandom", "zero"]
        );
        let tmp = fs.child(ROOT, b"tmp").unwrap();
        for (path, ino, last) in [
            (&b"/"[..], Some(ROOT), Last::Dot),
            (b"/tmp", Some(tmp), Last::Name(b"tmp".to_vec())),
            (b"/tmp/", Some(tmp), Last::Name(b"tmp".to_vec())),
            (b"//tmp/./", Some(tmp), Last::Dot),
            (b"/dev/../tmp", Some(tmp), Last::Name(b"tmp".to_vec())),
            (b"/..", Some(ROOT), Last::DotDot),
            (b"/tmp/..", Some(ROOT), Last::DotDot),
            (b"tmp", Some(tmp), Last::Name(b"tmp".to_vec())),
            (b"/tmp/x", None, Last::Name(b"x".to_vec())),
        ] {
            let r = fs.resolve(ROOT, path).unwrap();
            assert_eq!(
                (r.ino, r.last),
                (ino, last),
                "{}",
                String::from_utf8_lossy(path)
            );
        }
        for (path, e) in [
            (&b"/nope/x"[..], Errno::ENOENT),
            (b"/dev/null/x", Errno::ENOTDIR),
            (b"/dev/null/..", Errno::ENOTDIR),
        ] {
            assert_eq!(fs.resolve(ROOT, path).unwrap_err(), e);
        }
        let long = [b'a'; 256];
        assert_eq!(fs.resolve(ROOT, &long).unwrap_err(), Errno::ENAMETOOLONG);
    }
    /// mmap(0, len, prot, flags, fd, off).
    fn mmap(k: &mut Kernel, len: u64, prot: u64, flags: u64, fd: u64, off: u64) -> i64 {
        call(k, 9, &[0, len, prot, flags, fd, off])
    }

    #[test]
    fn shared_file_mapping_outlives_name_and_descriptor() {
        // What sem_open does: write a semaphore to a /dev/shm file, map
        // it shared, link it to its name, unlink the temporary, close.
        let mut k = kernel();
        let committed = k.space().committed();
        let fd = open(&mut k, "/dev/shm/tmp.1", O_CREAT | O_EXCL | 2) as u64;
        put(&k, BUF, &[7u8; 32]);
        assert_eq!(call(&mut k, 1, &[fd, BUF, 32]), 32);
        let map = mmap(&mut k, 32, 3, 1, fd, 0);
        assert!(map > 0, "{map}");
        let map = map as u64;
        assert_eq!(two(&mut k, 86, "/dev/shm/tmp.1", "/dev/shm/sem.x"), 0);
        assert_eq!(pcall(&mut k, 87, "/dev/shm/tmp.1", &[]), 0);
        assert_eq!(call(&mut k, 3, &[fd]), 0);
        assert_eq!(get(&k, map, 32), [7u8; 32]);
        // Writes go both ways between the mapping and the file.
        put(&k, map, b"through the map");
        let fd = open(&mut k, "/dev/shm/sem.x", 2) as u64;
        assert_eq!(call(&mut k, 17, &[fd, BUF, 15, 0]), 15);
        assert_eq!(get(&k, BUF, 15), b"through the map");
        put(&k, BUF, b"by pwrite");
        assert_eq!(call(&mut k, 18, &[fd, BUF, 9, 16]), 9);
        assert_eq!(get(&k, map + 16, 9), b"by pwrite");
        // MADV_DONTNEED drops the page; the file still holds the bytes.
        assert_eq!(call(&mut k, 28, &[map, PAGE_SIZE, 4]), 0);
        assert_eq!(get(&k, map, 15), b"through the map");
        // One page, counted once although file and mapping both hold it.
        assert_eq!(k.space().committed(), committed + PAGE_SIZE);
        // A second, private mapping is a copy: read-only is allowed.
        let private = mmap(&mut k, PAGE_SIZE, 1, 2, fd, 0) as u64;
        assert_eq!(get(&k, private, 15), b"through the map");
        put(&k, map, b"T");
        assert_eq!(get(&k, private, 1), b"t");
        assert_eq!(k.space().committed(), committed + 2 * PAGE_SIZE);
        assert_eq!(call(&mut k, 11, &[private, PAGE_SIZE]), 0);
        // The file and the mapping both gone: the page is released.
        assert_eq!(call(&mut k, 3, &[fd]), 0);
        assert_eq!(pcall(&mut k, 87, "/dev/shm/sem.x", &[]), 0);
        assert_eq!(k.space().committed(), committed + PAGE_SIZE);
        assert_eq!(get(&k, map, 1), b"T");
        assert_eq!(call(&mut k, 11, &[map, PAGE_SIZE]), 0);
        assert_eq!(k.space().committed(), committed);
    }

    #[test]
    fn file_mapping_holes_end_and_errors() {
        let mut k = kernel();
        let committed = k.space().committed();
        let rw = open(&mut k, "/tmp/f", O_CREAT | 2) as u64;
        // Two pages of hole, then one byte on the third page.
        put(&k, BUF, b"z");
        assert_eq!(call(&mut k, 18, &[rw, BUF, 1, 2 * PAGE_SIZE]), 1);
        assert_eq!(k.space().committed(), committed + PAGE_SIZE);
        // Four pages from page 1: page 1 is a hole (gets a page now),
        // page 2 holds the byte, pages 3 and 4 are past the end.
        let map = mmap(&mut k, 4 * PAGE_SIZE, 3, 1, rw, PAGE_SIZE) as u64;
        assert_eq!(k.space().committed(), committed + 2 * PAGE_SIZE);
        assert_eq!(get(&k, map + PAGE_SIZE, 1), b"z");
        put(&k, map, b"hole");
        assert_eq!(call(&mut k, 17, &[rw, BUF, 4, PAGE_SIZE]), 4);
        assert_eq!(get(&k, BUF, 4), b"hole");
        assert_eq!(
            k.space().read_vec(map + 2 * PAGE_SIZE, 1),
            Err(crate::address_space::MmError::Fault)
        );
        let ro = open(&mut k, "/tmp/f", O_RDONLY) as u64;
        let wo = open(&mut k, "/tmp/f", O_WRONLY) as u64;
        let dir = open(&mut k, "/tmp", O_RDONLY) as u64;
        let null = open(&mut k, "/dev/null", 2) as u64;
        // (prot, flags, fd, offset, errno)
        let cases: [(u64, u64, u64, u64, i64); 7] = [
            (3, 1, ro, 0, -13),                // shared writable needs O_RDWR
            (1, 1, wo, 0, -13),                // any mapping needs read access
            (1, 2, dir, 0, -19),               // directories have no pages
            (1, 2, null, 0, -19),              // nor does /dev/null
            (1, 2, 99, 0, -9),                 // no such descriptor
            (1, 1, ro, 1, -22),                // unaligned offset
            (1, 1, ro, !(PAGE_SIZE - 1), -75), // offset + length overflows
        ];
        for (prot, flags, fd, off, errno) in cases {
            assert_eq!(
                mmap(&mut k, PAGE_SIZE, prot, flags, fd, off),
                errno,
                "{prot} {flags} {fd} {off}"
            );
        }
        // Read-only descriptors map read-only, shared or private.
        assert!(mmap(&mut k, PAGE_SIZE, 1, 1, ro, 0) > 0);
        assert!(mmap(&mut k, PAGE_SIZE, 3, 2, ro, 0) > 0);
    }
}
