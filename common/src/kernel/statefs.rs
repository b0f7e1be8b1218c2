//! `/state`: the contract's own state as read-only files, so a contract
//! reads any key without declaring it (QVM passes only declared keys, as
//! `DB_<KEY>` variables, and undeclared reads come back empty).
//!
//! - `/state/KEY` is the value of KEY, the path component's bytes (no
//!   `/`, not `.`, `..` or `.hex`); `/state/.hex/HEX` is the value of the
//!   key HEX spells, in hex digits of either case, for keys no file name
//!   can hold. A component here may be up to PATH_MAX long (Linux's
//!   NAME_MAX of 255 does not apply).
//! - A key is looked up in the call's [`StateReader`] as the path
//!   resolves (open, stat, access, ...): absent, or a `.hex` name that is
//!   not hex, is ENOENT; a failed store is EIO. A key found becomes a
//!   regular file of mode 0444 whose bytes are copied into pages of the
//!   call's memory, like a `/tmp` file's (so it counts against the memory
//!   limit: ENOMEM when it does not fit), and stay there while a
//!   descriptor or mapping holds them: reads, `pread`, `lseek`, `fstat`
//!   and `mmap` (shared read-only, or private) see one snapshot. A key
//!   looked up again once nothing holds it is read from the store again,
//!   with the same inode number.
//! - Nothing here can be written: opening a key for writing or with
//!   `O_TRUNC`, creating, removing or renaming anything under `/state`,
//!   `truncate` and `mkdir` are EROFS (removing or renaming a key that
//!   does not exist is ENOENT, where Linux checks the mount first). A path
//!   through a key (`/state/KEY/x`) is ENOENT, where Linux says ENOTDIR.
//! - `/state` and `/state/.hex` are directories (mode 0555); listing
//!   shows `.`, `..` and `.hex`, never the keys.
//! - A call without a state has no `/state` (ENOENT).
//!
//! Gas (docs/gas.md): each read from the store costs the value's length
//! in bytes copied, on top of the syscall and the bytes `read` copies out;
//! its pages count as committed memory. All of it follows from the call
//! and the state, so it is the same on every backend.

use std::collections::BTreeMap;
use std::sync::Arc;

use super::tmpfs::{Tmpfs, ROOT, STATE_DEV};
use super::{Errno, Kernel};
use crate::state::StateReader;

/// The directory of keys given in hex.
const HEX_DIR: &[u8] = b".hex";
const NS: u64 = 1_000_000_000;

/// The call's state and the directories that show it.
pub struct StateFs {
    reader: Arc<dyn StateReader>,
    /// Inodes of `/state` and `/state/.hex`.
    dir: u64,
    hex_dir: u64,
    /// The inode number of each key found, given when first found.
    inos: BTreeMap<Vec<u8>, u64>,
    /// Files the current syscall read from the store.
    fresh: Vec<u64>,
}

impl StateFs {
    /// Adds `/state` and `/state/.hex` to `tmpfs`, served by `reader`.
    pub(super) fn mount(tmpfs: &mut Tmpfs, reader: Arc<dyn StateReader>) -> Self {
        let root = ROOT;
        let dir = tmpfs.add_dir(root, STATE_DEV, 0o555, false, 0);
        tmpfs.link(root, b"state", dir);
        let hex_dir = tmpfs.add_dir(dir, STATE_DEV, 0o555, false, 0);
        tmpfs.link(dir, HEX_DIR, hex_dir);
        StateFs {
            reader,
            dir,
            hex_dir,
            inos: BTreeMap::new(),
            fresh: Vec::new(),
        }
    }

    /// The key that `name` in directory `dir` names, if `dir` is one of
    /// ours and the name is a key's.
    fn key(&self, dir: u64, name: &[u8]) -> Option<Vec<u8>> {
        if dir == self.dir {
            Some(name.to_vec())
        } else if dir == self.hex_dir {
            hex::decode(name).ok()
        } else {
            None
        }
    }
}

impl Kernel {
    /// The file of the key that `name` in directory `dir` names: its inode,
    /// read from the store unless a descriptor still holds it; None when
    /// it is not under `/state` or the key is absent.
    pub(super) fn state_file(&mut self, dir: u64, name: &[u8]) -> Result<Option<u64>, Errno> {
        let Some(fs) = &self.statefs else {
            return Ok(None);
        };
        let Some(key) = fs.key(dir, name) else {
            return Ok(None);
        };
        if let Some(&ino) = fs.inos.get(&key) {
            if self.tmpfs.contains(ino) {
                return Ok(Some(ino));
            }
        }
        let value = match fs.reader.get(&key) {
            Ok(Some(value)) => value,
            Ok(None) => return Ok(None),
            Err(e) => {
                log::warn!("/state: {e}");
                return Err(Errno::EIO);
            }
        };
        self.space.count_copied(value.len());
        let ino = match self.statefs.as_ref().and_then(|fs| fs.inos.get(&key)) {
            Some(&ino) => ino,
            None => self.tmpfs.new_ino(),
        };
        let time = self.block.timestamp.saturating_mul(NS);
        self.add_read_only_file(ino, STATE_DEV, &value, time)?;
        if let Some(fs) = &mut self.statefs {
            fs.inos.insert(key, ino);
            fs.fresh.push(ino);
        }
        Ok(Some(ino))
    }

    /// After a syscall: frees the files it read from the store that no
    /// descriptor holds (a stat, an access, a failed open).
    pub(super) fn release_unopened_state_files(&mut self) {
        let Some(fs) = &mut self.statefs else { return };
        for ino in std::mem::take(&mut fs.fresh) {
            self.reap(ino);
        }
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Mutex;

    use super::*;
    use crate::kernel::tests::{call, get, kernel, list_dir, put, BUF};
    use crate::layout::PAGE_SIZE;
    use crate::state::StateReadError;

    const P: u64 = BUF + 0x8000;
    const AT: u64 = crate::linux_abi::fcntl::AT_FDCWD as u64;

    /// A state that counts its reads and fails on the key "broken".
    #[derive(Default)]
    struct Store {
        map: BTreeMap<Vec<u8>, Vec<u8>>,
        reads: Mutex<u64>,
    }

    impl StateReader for Store {
        fn get(&self, key: &[u8]) -> Result<Option<Vec<u8>>, StateReadError> {
            *self.reads.lock().unwrap() += 1;
            if key == b"broken" {
                return Err(StateReadError("disk on fire".into()));
            }
            Ok(self.map.get(key).cloned())
        }
    }

    fn store() -> Arc<Store> {
        let mut map = BTreeMap::new();
        map.insert(b"counter".to_vec(), b"41".to_vec());
        map.insert(vec![0x00, 0xff], b"binary key".to_vec());
        map.insert(b"a/b".to_vec(), b"slash".to_vec());
        map.insert(b"empty".to_vec(), Vec::new());
        map.insert(
            b"big".to_vec(),
            (0..3 * PAGE_SIZE + 5).map(|i| i as u8).collect(),
        );
        map.insert(vec![b'k'; 300], b"long key".to_vec());
        Arc::new(Store {
            map,
            reads: Mutex::new(0),
        })
    }

    fn with_state(store: &Arc<Store>) -> Kernel {
        let mut k = kernel();
        let reader: Arc<dyn StateReader> = store.clone();
        k.statefs = Some(StateFs::mount(&mut k.tmpfs, reader));
        k
    }

    /// Puts the path `p` and its NUL at `addr`.
    fn at(k: &Kernel, addr: u64, p: &[u8]) -> u64 {
        put(k, addr, &[p, b"\0"].concat());
        addr
    }

    fn open(k: &mut Kernel, p: &[u8], flags: u64) -> i64 {
        let a = at(k, P, p);
        call(k, 257, &[AT, a, flags, 0o666])
    }

    fn read_all(k: &mut Kernel, fd: u64) -> Vec<u8> {
        let mut out = Vec::new();
        loop {
            let n = call(k, 0, &[fd, BUF, 4096]);
            assert!(n >= 0, "read: {n}");
            if n == 0 {
                return out;
            }
            out.extend(get(k, BUF, n as usize));
        }
    }

    /// stat(p): (errno or 0, mode, size, ino).
    fn stat(k: &mut Kernel, p: &[u8]) -> (i64, u32, u64, u64) {
        let a = at(k, P, p);
        let r = call(k, 4, &[a, BUF]);
        let b = get(k, BUF, 144);
        let u = |o: usize| u64::from_le_bytes(b[o..o + 8].try_into().unwrap());
        if r != 0 {
            return (r, 0, 0, 0);
        }
        (r, u(24) as u32, u(48), u(8))
    }

    #[test]
    fn keys_read_as_files() {
        let s = store();
        let mut k = with_state(&s);
        let long = [&b"/state/"[..], &[b'k'; 300]].concat();
        let big: Vec<u8> = s.map[&b"big"[..]].clone();
        // (path, contents)
        let cases: [(&[u8], &[u8]); 7] = [
            (b"/state/counter", b"41"),
            (b"/state/.hex/00ff", b"binary key"),
            (b"/state/.hex/00FF", b"binary key"),
            (b"/state/.hex/612f62", b"slash"),
            (b"/state/empty", b""),
            (b"/state/big", &big),
            (&long, b"long key"),
        ];
        for (p, want) in cases {
            let fd = open(&mut k, p, 0);
            assert!(fd >= 3, "{}: {fd}", String::from_utf8_lossy(p));
            assert_eq!(read_all(&mut k, fd as u64), want);
            assert_eq!(call(&mut k, 3, &[fd as u64]), 0);
        }
        // Relative to /state, by chdir or a directory descriptor.
        let dir = open(&mut k, b"/state", 0o200000) as u64;
        let a = at(&k, P, b"counter");
        let fd = call(&mut k, 257, &[dir, a, 0, 0]);
        assert_eq!(read_all(&mut k, fd as u64), b"41");
        let a = at(&k, P, b"/state/.hex");
        assert_eq!(call(&mut k, 80, &[a]), 0);
        let fd = open(&mut k, b"../counter", 0);
        assert_eq!(read_all(&mut k, fd as u64), b"41");
    }

    #[test]
    fn missing_broken_and_read_only() {
        let s = store();
        let mut k = with_state(&s);
        // (path, flags, errno)
        let cases: [(&[u8], u64, i64); 15] = [
            (b"/state/missing", 0, -2),
            (b"/state/.hex/0", 0, -2),
            (b"/state/.hex/zz", 0, -2),
            (b"/state/.hex/6d697373696e67", 0, -2),
            (b"/state/broken", 0, -5),
            (b"/state/counter", 1, -30),
            (b"/state/counter", 2, -30),
            (b"/state/counter", 0o1000, -30),
            (b"/state/counter", 0o100 | 0o200, -17),
            (b"/state/counter", 0o200000, -20),
            (b"/state/counter/", 0, -20),
            (b"/state/counter/x", 0, -2),
            (b"/state/new", 0o100 | 1, -30),
            (b"/state/.hex", 1, -21),
            (b"/state", 0o20000000 | 0o200000 | 2, -30),
        ];
        for (p, flags, errno) in cases {
            assert_eq!(
                open(&mut k, p, flags),
                errno,
                "{} {flags:o}",
                String::from_utf8_lossy(p)
            );
        }
        // creat, mkdir, unlink, rmdir, rename, link, truncate, access(W).
        let p1 = at(&k, P, b"/state/counter");
        let p2 = at(&k, P + 0x100, b"/tmp/x");
        let p3 = at(&k, P + 0x200, b"/state/d");
        let p4 = at(&k, P + 0x300, b"/state/.hex");
        for (nr, args, errno) in [
            (85, vec![p1, 0o644], -30),
            (83, vec![p3, 0o755], -30),
            (83, vec![p1, 0o755], -17),
            (87, vec![p1], -30),
            (84, vec![p4], -30),
            (82, vec![p1, p2], -30),
            (82, vec![p2, p1], -2),
            (86, vec![p1, p2], -30),
            (76, vec![p1, 0], -30),
            (21, vec![p1, 2], -30),
            (21, vec![p1, 1], -13),
            (21, vec![p1, 4], 0),
        ] {
            assert_eq!(call(&mut k, nr, &args), errno, "syscall {nr}");
        }
        assert_eq!(open(&mut k, b"/state/counter", 0), 3, "still there");
    }

    #[test]
    fn stat_listing_and_no_state() {
        let s = store();
        let mut k = with_state(&s);
        let (r, mode, size, ino) = stat(&mut k, b"/state/big");
        assert_eq!((r, mode, size), (0, 0o100444, 3 * PAGE_SIZE + 5));
        // fstat of an open file says the same, with the same inode.
        let fd = open(&mut k, b"/state/big", 0) as u64;
        assert_eq!(call(&mut k, 5, &[fd, BUF]), 0);
        let b = get(&k, BUF, 144);
        assert_eq!(u64::from_le_bytes(b[8..16].try_into().unwrap()), ino);
        assert_eq!(u64::from_le_bytes(b[48..56].try_into().unwrap()), size);
        assert_eq!(stat(&mut k, b"/state").1, 0o40555);
        assert_eq!(stat(&mut k, b"/state/.hex").1, 0o40555);
        assert_eq!(stat(&mut k, b"/state/nope").0, -2);
        // Listing: ., .., .hex; keys looked up are not listed.
        let dir = open(&mut k, b"/state", 0o200000) as u64;
        assert_eq!(list_dir(&mut k, dir), [".", "..", ".hex"]);
        // Without a state there is no /state.
        let mut plain = kernel();
        assert_eq!(stat(&mut plain, b"/state").0, -2);
        assert_eq!(open(&mut plain, b"/state/counter", 0), -2);
    }

    #[test]
    fn values_are_snapshots_read_once_per_open_and_released() {
        let s = store();
        let mut k = with_state(&s);
        let committed = k.space().committed();
        let reads = || *s.reads.lock().unwrap();
        // A stat reads the store and keeps nothing.
        assert_eq!(stat(&mut k, b"/state/big").0, 0);
        assert_eq!((reads(), k.space().committed()), (1, committed));
        // An open holds the pages; a second open shares them, unread.
        let a = open(&mut k, b"/state/big", 0) as u64;
        let b = open(&mut k, b"/state/big", 0) as u64;
        assert_eq!(reads(), 2);
        assert_eq!(k.space().committed(), committed + 4 * PAGE_SIZE);
        // pread, lseek and a read-only shared mapping.
        assert_eq!(call(&mut k, 17, &[a, BUF, 4, PAGE_SIZE]), 4);
        assert_eq!(get(&k, BUF, 4), [0, 1, 2, 3]);
        assert_eq!(call(&mut k, 8, &[b, 0, 2]), (3 * PAGE_SIZE + 5) as i64);
        let map = call(&mut k, 9, &[0, PAGE_SIZE, 1, 1, a, PAGE_SIZE]);
        assert!(map > 0, "{map}");
        assert_eq!(get(&k, map as u64 + 1, 2), [1, 2]);
        assert_eq!(call(&mut k, 9, &[0, PAGE_SIZE, 3, 1, a, 0]), -13);
        assert_eq!(call(&mut k, 1, &[a, BUF, 1]), -9);
        // Closed and unmapped: the pages go back.
        assert_eq!(call(&mut k, 3, &[a]), 0);
        assert_eq!(call(&mut k, 3, &[b]), 0);
        assert_eq!(call(&mut k, 11, &[map as u64, PAGE_SIZE]), 0);
        assert_eq!(k.space().committed(), committed);
        assert_eq!(open(&mut k, b"/state/big", 0), 3);
        assert_eq!(reads(), 3);
    }

    #[test]
    fn store_reads_are_charged_per_byte() {
        let s = store();
        let mut k = with_state(&s);
        let p = at(&k, P, b"/state/counter");
        let before = k.space().copied();
        assert_eq!(call(&mut k, 4, &[p, BUF]), 0);
        // The path and its NUL, the stat buffer, the value.
        assert_eq!(k.space().copied() - before, 15 + 144 + 2);
    }
}
