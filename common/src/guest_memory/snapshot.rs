//! A copy-on-write snapshot of the low part of guest memory: a contract's
//! initial image, built once and restored before every call.
//!
//! On Linux the image lives in a memfd. While the loader writes it, the
//! arena's first `len` bytes map the memfd shared; sealing maps them
//! private instead, so the contract's writes copy pages and the file keeps
//! the image. Restoring finds the copied pages in `/proc/self/pagemap`
//! (present and anonymous, or swapped out) and drops them with
//! `MADV_DONTNEED`, which for a private file mapping means "read the file
//! again": the cost is one host page fault per page a call touches, and
//! nothing for the pages it does not. The same pages are what an engine
//! with a translation cache must forget. Pagemap sees every write, the
//! guest's (through any engine, KVM included) and the kernel's own.
//!
//! Where that is not available (no memfd, no pagemap, host pages larger
//! than the guest's 4 KiB: `host_pages_are_guest_pages`) the snapshot keeps a
//! copy of the image's non-zero pages and restoring rewrites all of them:
//! correct, slower, and every page reported as changed. Off Linux that is
//! the only backing, and the file backing's helpers go unused.
#![cfg_attr(not(target_os = "linux"), allow(dead_code))]

#[cfg(target_os = "linux")]
use std::fs::File;
use std::sync::Mutex;

use super::{Extent, MemoryError};
use crate::layout::PAGE_SIZE;

/// How the image is kept.
enum Backing {
    /// A memfd mapped privately over the image range.
    #[cfg(target_os = "linux")]
    File {
        fd: std::os::fd::OwnedFd,
        pagemap: File,
    },
    /// Copies of the image's non-zero pages.
    Copy { pages: Vec<(u64, Box<[u8]>)> },
}

/// The image of `[0, len)` of an arena.
pub(super) struct Snapshot {
    len: u64,
    backing: Backing,
    /// Parts of the image range that were given back to the zero state
    /// during a call (anonymous memory mapped over the file): restoring maps
    /// the file there again.
    replaced: Mutex<Vec<Extent>>,
}

/// How an image may be kept.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum Keep {
    /// In a memfd where the host has one, else as a copy.
    Best,
    /// As a copy (the fallback, chosen by its tests).
    #[cfg_attr(not(test), allow(dead_code))]
    Copy,
}

/// A snapshot being built: what the loader writes goes to the image.
pub(super) enum Draft {
    #[cfg(target_os = "linux")]
    File(std::os::fd::OwnedFd),
    /// The image is written to the arena itself and copied at sealing.
    Copy,
}

fn io_error(what: &str, e: std::io::Error) -> MemoryError {
    MemoryError::Region(format!("{what}: {e}"))
}

// Pagemap entry bits (Documentation/admin-guide/mm/pagemap.rst).
const PM_PRESENT: u64 = 1 << 63;
const PM_SWAPPED: u64 = 1 << 62;
const PM_FILE: u64 = 1 << 61;

/// Whether a pagemap entry shows a page the contract changed: a private
/// copy in memory (present, not the file's page) or one swapped out.
fn changed(entry: u64) -> bool {
    entry & PM_SWAPPED != 0 || (entry & PM_PRESENT != 0 && entry & PM_FILE == 0)
}

/// Appends `[gpa, gpa + len)` to `out`, merging with the last extent.
fn push_extent(out: &mut Vec<Extent>, gpa: u64, len: u64) {
    match out.last_mut() {
        Some(last) if last.gpa + last.len == gpa => last.len += len,
        _ => out.push(Extent { gpa, len }),
    }
}

#[cfg(target_os = "linux")]
mod linux {
    use std::os::fd::{AsRawFd, FromRawFd, OwnedFd};

    use super::{io_error, MemoryError};

    /// A memfd of `len` bytes (a sparse file: holes cost nothing).
    pub fn memfd(len: u64) -> Result<OwnedFd, MemoryError> {
        // SAFETY: a NUL-terminated name; the result is checked.
        let fd = unsafe { libc::memfd_create(c"qvm-image".as_ptr(), libc::MFD_CLOEXEC) };
        if fd < 0 {
            return Err(io_error("memfd_create", std::io::Error::last_os_error()));
        }
        // SAFETY: `fd` was just created and is owned by nobody else.
        let fd = unsafe { OwnedFd::from_raw_fd(fd) };
        let size = libc::off_t::try_from(len).map_err(|_| MemoryError::BadLimit(len))?;
        // SAFETY: a valid descriptor and a non-negative size.
        if unsafe { libc::ftruncate(fd.as_raw_fd(), size) } != 0 {
            return Err(io_error("ftruncate", std::io::Error::last_os_error()));
        }
        Ok(fd)
    }

    /// Maps `fd`'s first `len` bytes at `host`, replacing what is there.
    ///
    /// # Safety
    /// `[host, host + len)` must be part of a mapping the caller owns and
    /// that nothing accesses through references while this runs.
    pub unsafe fn map_file(
        host: *mut u8,
        len: u64,
        fd: &OwnedFd,
        shared: bool,
    ) -> Result<(), MemoryError> {
        let kind = if shared {
            libc::MAP_SHARED
        } else {
            libc::MAP_PRIVATE
        };
        // SAFETY: per the function contract; MAP_FIXED replaces pages of
        // the caller's own mapping only.
        let got = unsafe {
            libc::mmap(
                host.cast(),
                len as usize,
                libc::PROT_READ | libc::PROT_WRITE,
                kind | libc::MAP_FIXED,
                fd.as_raw_fd(),
                0,
            )
        };
        if got == libc::MAP_FAILED {
            return Err(io_error("mmap", std::io::Error::last_os_error()));
        }
        Ok(())
    }

    /// Maps `fd` privately at `host + offset` for `len` bytes (a part of
    /// the image range), replacing what is there.
    ///
    /// # Safety
    /// As [`map_file`].
    pub unsafe fn map_file_part(
        host: *mut u8,
        offset: u64,
        len: u64,
        fd: &OwnedFd,
    ) -> Result<(), MemoryError> {
        let off = libc::off_t::try_from(offset).map_err(|_| MemoryError::BadLimit(offset))?;
        // SAFETY: per the function contract.
        let got = unsafe {
            libc::mmap(
                host.add(offset as usize).cast(),
                len as usize,
                libc::PROT_READ | libc::PROT_WRITE,
                libc::MAP_PRIVATE | libc::MAP_FIXED,
                fd.as_raw_fd(),
                off,
            )
        };
        if got == libc::MAP_FAILED {
            return Err(io_error("mmap", std::io::Error::last_os_error()));
        }
        Ok(())
    }

    /// Maps fresh anonymous zero memory at `[host, host + len)`.
    ///
    /// # Safety
    /// As [`map_file`].
    pub unsafe fn map_zero(host: *mut u8, len: u64) -> Result<(), MemoryError> {
        // SAFETY: per the function contract.
        unsafe { super::super::map_fresh(host, len as usize) }.map_err(|e| io_error("mmap", e))
    }
}

impl Draft {
    /// Starts an image of the arena's first `len` bytes at `host`.
    ///
    /// # Safety
    /// `[host, host + len)` must lie in the arena, unused by any engine.
    pub(super) unsafe fn begin(host: *mut u8, len: u64, keep: Keep) -> Draft {
        #[cfg(target_os = "linux")]
        if keep == Keep::Best && super::host_pages_are_guest_pages() {
            let file = linux::memfd(len).and_then(|fd| {
                // SAFETY: per the function contract.
                unsafe { linux::map_file(host, len, &fd, true) }.map(|()| fd)
            });
            match file {
                Ok(fd) => return Draft::File(fd),
                Err(e) => log::debug!("image kept as a copy: {e}"),
            }
        }
        let _ = (host, len, keep);
        Draft::Copy
    }

    /// Whether writes to the image range go to a shared file now (so they
    /// cannot be undone with MADV_DONTNEED).
    pub(super) fn is_file(&self) -> bool {
        match self {
            #[cfg(target_os = "linux")]
            Draft::File(_) => true,
            Draft::Copy => false,
        }
    }

    /// Makes the image what the arena's first `len` bytes hold now.
    ///
    /// # Safety
    /// As [`Draft::begin`], with the same `host` and `len`.
    pub(super) unsafe fn seal(self, host: *mut u8, len: u64) -> Result<Snapshot, MemoryError> {
        let backing = match self {
            #[cfg(target_os = "linux")]
            Draft::File(fd) => {
                let pagemap = File::open("/proc/self/pagemap");
                match pagemap {
                    Ok(pagemap) => {
                        // SAFETY: per the function contract.
                        unsafe { linux::map_file(host, len, &fd, false) }?;
                        Backing::File { fd, pagemap }
                    }
                    // The image is in the shared file; copy it out and
                    // give the range back to anonymous memory.
                    Err(e) => {
                        log::debug!("image kept as a copy: /proc/self/pagemap: {e}");
                        // SAFETY: per the function contract.
                        let pages = unsafe { copy_pages(host, len) };
                        // SAFETY: per the function contract.
                        unsafe { linux::map_zero(host, len) }?;
                        // SAFETY: per the function contract.
                        unsafe { write_pages(host, &pages) };
                        Backing::Copy { pages }
                    }
                }
            }
            Draft::Copy => Backing::Copy {
                // SAFETY: per the function contract.
                pages: unsafe { copy_pages(host, len) },
            },
        };
        Ok(Snapshot {
            len,
            backing,
            replaced: Mutex::new(Vec::new()),
        })
    }
}

/// The non-zero pages of `[host, host + len)`.
///
/// # Safety
/// The range must be readable memory nothing writes meanwhile.
unsafe fn copy_pages(host: *mut u8, len: u64) -> Vec<(u64, Box<[u8]>)> {
    let mut pages = Vec::new();
    for gpa in (0..len).step_by(PAGE_SIZE as usize) {
        // SAFETY: per the function contract; the page lies in the range.
        let page =
            unsafe { std::slice::from_raw_parts(host.add(gpa as usize), PAGE_SIZE as usize) };
        if page.iter().any(|&b| b != 0) {
            pages.push((gpa, Box::from(page)));
        }
    }
    pages
}

/// Writes saved pages back.
///
/// # Safety
/// Every page must lie in writable memory at `host` nothing else accesses.
unsafe fn write_pages(host: *mut u8, pages: &[(u64, Box<[u8]>)]) {
    for (gpa, bytes) in pages {
        // SAFETY: per the function contract.
        unsafe {
            std::ptr::copy_nonoverlapping(bytes.as_ptr(), host.add(*gpa as usize), bytes.len())
        };
    }
}

impl Snapshot {
    /// Bytes of the arena the image covers.
    pub(super) fn len(&self) -> u64 {
        self.len
    }

    /// Gives `extent` (inside the image range) back to the zero state: in
    /// a private file mapping MADV_DONTNEED would show the image again, so
    /// zero memory is mapped over it until the next restore.
    ///
    /// # Safety
    /// `host` is the arena's base; the extent lies in the image range.
    #[cfg_attr(not(target_os = "linux"), allow(unused_variables))]
    pub(super) unsafe fn zero(&self, host: *mut u8, extent: Extent) -> Result<(), MemoryError> {
        match &self.backing {
            #[cfg(target_os = "linux")]
            Backing::File { .. } => {
                // SAFETY: per the function contract.
                unsafe { linux::map_zero(host.add(extent.gpa as usize), extent.len) }?;
                let mut replaced = self
                    .replaced
                    .lock()
                    .map_err(|_| MemoryError::Region("snapshot lock poisoned".into()))?;
                replaced.push(extent);
                Ok(())
            }
            Backing::Copy { .. } => Err(MemoryError::Region("zeroed by the caller".into())),
        }
    }

    /// Whether [`Snapshot::zero`] applies (else anonymous-memory advice
    /// zeroes the range).
    pub(super) fn zeroes_by_mapping(&self) -> bool {
        match &self.backing {
            #[cfg(target_os = "linux")]
            Backing::File { .. } => true,
            Backing::Copy { .. } => false,
        }
    }

    /// Returns the image range to the image, giving back every page that
    /// changed; returns those pages' extents, in address order.
    ///
    /// # Safety
    /// `host` is the arena's base; nothing runs guest code meanwhile.
    pub(super) unsafe fn restore(&self, host: *mut u8) -> Result<Vec<Extent>, MemoryError> {
        match &self.backing {
            #[cfg(target_os = "linux")]
            Backing::File { fd, pagemap } => {
                let mut out = Vec::new();
                let replaced = std::mem::take(
                    &mut *self
                        .replaced
                        .lock()
                        .map_err(|_| MemoryError::Region("snapshot lock poisoned".into()))?,
                );
                for e in replaced {
                    // SAFETY: per the function contract; `e` was recorded
                    // by `zero` inside the image range.
                    unsafe { linux::map_file_part(host, e.gpa, e.len, fd) }?;
                    out.push(e);
                }
                let mut dirty = Vec::new();
                // SAFETY: per the function contract.
                unsafe { self.scan(host, pagemap, &mut dirty) }?;
                for e in &dirty {
                    // SAFETY: the extent lies in the image range of the
                    // arena; MADV_DONTNEED on a private file mapping drops
                    // the private copies, so the pages read the file again.
                    let rc = unsafe {
                        libc::madvise(
                            host.add(e.gpa as usize).cast(),
                            e.len as usize,
                            libc::MADV_DONTNEED,
                        )
                    };
                    if rc != 0 {
                        return Err(io_error("madvise", std::io::Error::last_os_error()));
                    }
                }
                out.extend(dirty);
                out.sort_by_key(|e| e.gpa);
                Ok(out)
            }
            Backing::Copy { pages } => {
                // SAFETY: per the function contract: the image range of
                // the arena, anonymous memory here.
                let given_back = unsafe { super::release_zeroed(host, self.len as usize) };
                if given_back.is_err() {
                    // Zero by hand: correctness does not depend on advice.
                    // SAFETY: as above.
                    unsafe { std::ptr::write_bytes(host, 0, self.len as usize) };
                }
                // SAFETY: the pages were copied from this range.
                unsafe { write_pages(host, pages) };
                Ok(vec![Extent {
                    gpa: 0,
                    len: self.len,
                }])
            }
        }
    }

    /// The image range's changed pages, from pagemap.
    ///
    /// # Safety
    /// `host` is the arena's base.
    #[cfg(target_os = "linux")]
    unsafe fn scan(
        &self,
        host: *mut u8,
        pagemap: &File,
        out: &mut Vec<Extent>,
    ) -> Result<(), MemoryError> {
        use std::os::unix::fs::FileExt;
        const CHUNK: u64 = 4096;
        let first = host as u64 / PAGE_SIZE;
        let pages = self.len / PAGE_SIZE;
        let mut buf = vec![0u8; (CHUNK * 8) as usize];
        let mut done = 0;
        while done < pages {
            let n = (pages - done).min(CHUNK);
            let bytes = &mut buf[..(n * 8) as usize];
            pagemap
                .read_exact_at(bytes, (first + done) * 8)
                .map_err(|e| io_error("/proc/self/pagemap", e))?;
            for (i, entry) in bytes.chunks_exact(8).enumerate() {
                let mut word = [0u8; 8];
                word.copy_from_slice(entry);
                if changed(u64::from_le_bytes(word)) {
                    push_extent(out, (done + i as u64) * PAGE_SIZE, PAGE_SIZE);
                }
            }
            done += n;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pagemap_bits_say_which_pages_changed() {
        assert!(!changed(0));
        assert!(!changed(PM_PRESENT | PM_FILE));
        assert!(changed(PM_PRESENT));
        assert!(changed(PM_SWAPPED));
    }

    #[test]
    fn extents_merge_when_adjacent() {
        let mut v = Vec::new();
        push_extent(&mut v, 0, PAGE_SIZE);
        push_extent(&mut v, PAGE_SIZE, PAGE_SIZE);
        push_extent(&mut v, 3 * PAGE_SIZE, PAGE_SIZE);
        assert_eq!(
            v,
            vec![
                Extent {
                    gpa: 0,
                    len: 2 * PAGE_SIZE
                },
                Extent {
                    gpa: 3 * PAGE_SIZE,
                    len: PAGE_SIZE
                }
            ]
        );
    }
}
