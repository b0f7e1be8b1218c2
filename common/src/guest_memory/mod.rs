//! Guest "physical" memory: one host mapping, shared by the kernel and the
//! engine, with a deterministic frame allocator on top.
//!
//! The arena is reserved once per call with `MAP_NORESERVE`, 2 MiB aligned
//! (so an engine that profits from huge pages can ask for them:
//! [`GuestMemory::advise_huge_pages`]), and is only backed by host memory
//! where the guest touches it. Its size is the call's memory limit: the frame
//! allocator hands out page-aligned extents of it, so "memory committed"
//! is exactly "frames allocated", the same number on every backend.

mod snapshot;

use std::collections::BTreeMap;
use std::ptr::NonNull;
use std::sync::{Mutex, OnceLock};

use thiserror::Error;
use vm_memory::{Bytes, GuestAddress, GuestMemoryMmap, GuestRegionMmap, MmapRegion};

use crate::layout::{is_page_aligned, page_align_up, PAGE_SIZE};

const HUGE_PAGE: usize = 2 << 20;

/// Errors creating or accessing guest memory.
#[derive(Debug, Error)]
pub enum MemoryError {
    #[error("memory limit {0} bytes is not a positive multiple of 4 KiB")]
    BadLimit(u64),
    #[error("cannot reserve {size} bytes of host memory: {source}")]
    Reserve { size: u64, source: std::io::Error },
    #[error("cannot set up guest memory: {0}")]
    Region(String),
    #[error("guest physical range {gpa:#x}+{len:#x} is outside guest memory")]
    OutOfRange { gpa: u64, len: u64 },
}

/// A page-aligned run of guest physical memory.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Extent {
    pub gpa: u64,
    pub len: u64,
}

/// The guest's memory arena.
pub struct GuestMemory {
    host: NonNull<u8>,
    /// Length of the host mapping we own (the arena plus alignment slack
    /// already trimmed: exactly `size`).
    size: u64,
    mem: GuestMemoryMmap,
    /// The image being built ([`GuestMemory::begin_image`]).
    draft: Mutex<Option<(snapshot::Draft, u64)>>,
    /// The sealed image ([`GuestMemory::seal_image`]).
    image: OnceLock<snapshot::Snapshot>,
}

// SAFETY: the arena is a plain host mapping; all access goes through
// vm-memory's volatile accessors or through engines that own the vCPU.
unsafe impl Send for GuestMemory {}
// SAFETY: as above; shared references only perform volatile copies.
unsafe impl Sync for GuestMemory {}

impl GuestMemory {
    /// Reserves an arena of `size` bytes (a multiple of the page size).
    pub fn new(size: u64) -> Result<Self, MemoryError> {
        if size == 0 || !is_page_aligned(size) {
            return Err(MemoryError::BadLimit(size));
        }
        let len = usize::try_from(size).map_err(|_| MemoryError::BadLimit(size))?;
        let reserve = len
            .checked_add(HUGE_PAGE)
            .ok_or(MemoryError::BadLimit(size))?;
        // SAFETY: a fresh anonymous private mapping; no existing memory is
        // touched. The result is checked for MAP_FAILED.
        let raw = unsafe {
            libc::mmap(
                std::ptr::null_mut(),
                reserve,
                libc::PROT_READ | libc::PROT_WRITE,
                libc::MAP_PRIVATE | libc::MAP_ANONYMOUS | libc::MAP_NORESERVE,
                -1,
                0,
            )
        };
        if raw == libc::MAP_FAILED {
            return Err(MemoryError::Reserve {
                size,
                source: std::io::Error::last_os_error(),
            });
        }
        let start = raw as usize;
        let aligned = start.next_multiple_of(HUGE_PAGE);
        let head = aligned - start;
        let tail = reserve - head - len;
        // SAFETY: both ranges lie inside the mapping made above and are not
        // used by anything else; trimming keeps [aligned, aligned+len).
        unsafe {
            if head > 0 {
                libc::munmap(raw, head);
            }
            if tail > 0 {
                libc::munmap((aligned + len) as *mut libc::c_void, tail);
            }
        }
        let host = NonNull::new(aligned as *mut u8).ok_or(MemoryError::BadLimit(size))?;
        // SAFETY: `host` points to `len` bytes mapped read/write above, owned
        // by this struct until drop; vm-memory does not unmap raw regions.
        let region = unsafe {
            MmapRegion::build_raw(
                host.as_ptr(),
                len,
                libc::PROT_READ | libc::PROT_WRITE,
                libc::MAP_PRIVATE | libc::MAP_ANONYMOUS | libc::MAP_NORESERVE,
            )
        };
        let mem = region
            .map_err(|e| MemoryError::Region(e.to_string()))
            .and_then(|r| {
                GuestRegionMmap::new(r, GuestAddress(0))
                    .map_err(|e| MemoryError::Region(e.to_string()))
            })
            .and_then(|r| {
                GuestMemoryMmap::from_regions(vec![r])
                    .map_err(|e| MemoryError::Region(e.to_string()))
            });
        match mem {
            Ok(mem) => Ok(GuestMemory {
                host,
                size,
                mem,
                draft: Mutex::new(None),
                image: OnceLock::new(),
            }),
            Err(e) => {
                // SAFETY: unmapping the arena we mapped; nothing refers to it.
                unsafe { libc::munmap(host.as_ptr().cast(), len) };
                Err(e)
            }
        }
    }

    /// Size of the arena in bytes.
    pub fn size(&self) -> u64 {
        self.size
    }

    /// Host address of guest physical address 0, for engines that map the
    /// arena into a CPU (unicorn's `mem_map_ptr`, KVM memory slots).
    pub fn host_base(&self) -> *mut u8 {
        self.host.as_ptr()
    }

    fn check(&self, gpa: u64, len: u64) -> Result<(), MemoryError> {
        match gpa.checked_add(len) {
            Some(end) if end <= self.size => Ok(()),
            _ => Err(MemoryError::OutOfRange { gpa, len }),
        }
    }

    /// Copies guest physical memory into `buf`.
    pub fn read(&self, gpa: u64, buf: &mut [u8]) -> Result<(), MemoryError> {
        self.check(gpa, buf.len() as u64)?;
        self.mem
            .read_slice(buf, GuestAddress(gpa))
            .map_err(|_| MemoryError::OutOfRange {
                gpa,
                len: buf.len() as u64,
            })
    }

    /// Copies `buf` into guest physical memory.
    pub fn write(&self, gpa: u64, buf: &[u8]) -> Result<(), MemoryError> {
        self.check(gpa, buf.len() as u64)?;
        self.mem
            .write_slice(buf, GuestAddress(gpa))
            .map_err(|_| MemoryError::OutOfRange {
                gpa,
                len: buf.len() as u64,
            })
    }

    /// Asks the host to back the arena with transparent huge pages. KVM
    /// profits (fewer second-level page-table entries); the emulator does
    /// not, and in a VM a fresh huge page costs far more to fault in than
    /// the 4 KiB pages a contract actually touches (touching 256 MiB took
    /// 5x longer), so it is not the default. Advice only: without THP
    /// support (or off Linux) nothing changes.
    pub fn advise_huge_pages(&self) {
        #[cfg(target_os = "linux")]
        // SAFETY: the range is exactly the arena this struct owns.
        unsafe {
            libc::madvise(
                self.host.as_ptr().cast(),
                self.size() as usize,
                libc::MADV_HUGEPAGE,
            );
        }
    }

    /// Returns a page-aligned range to the zero state and gives its host
    /// memory back.
    pub fn discard(&self, extent: Extent) -> Result<(), MemoryError> {
        self.check(extent.gpa, extent.len)?;
        if extent.len == 0 {
            return Ok(());
        }
        let end = extent.gpa + extent.len;
        // The image's range does not read zeros after MADV_DONTNEED: it
        // reads the image (sealed) or keeps the file's bytes (a draft).
        if let Some(image) = self.image.get().filter(|i| i.zeroes_by_mapping()) {
            let split = end.min(image.len());
            if extent.gpa < split {
                let inside = Extent {
                    gpa: extent.gpa,
                    len: split - extent.gpa,
                };
                // SAFETY: `inside` lies in the image range of this arena.
                unsafe { image.zero(self.host.as_ptr(), inside) }?;
            }
            return self.advise_away(split.max(extent.gpa), end);
        }
        if self.draft_is_file() {
            return self.write_zeros(extent.gpa, end);
        }
        self.advise_away(extent.gpa, end)
    }

    fn draft_is_file(&self) -> bool {
        self.draft
            .lock()
            .map(|d| d.as_ref().is_some_and(|(d, _)| d.is_file()))
            .unwrap_or(true)
    }

    /// `[start, end)` of anonymous memory back to zeros, and the host
    /// memory given back.
    fn advise_away(&self, start: u64, end: u64) -> Result<(), MemoryError> {
        if start >= end {
            return Ok(());
        }
        // SAFETY: the range lies inside the arena we own (checked by the
        // callers), private anonymous memory.
        let given_back = unsafe {
            release_zeroed(
                self.host.as_ptr().add(start as usize),
                (end - start) as usize,
            )
        };
        if given_back.is_err() {
            // Fall back to zeroing by hand: correctness does not depend on
            // the host giving memory back.
            return self.write_zeros(start, end);
        }
        Ok(())
    }

    fn write_zeros(&self, start: u64, end: u64) -> Result<(), MemoryError> {
        let zeros = vec![0u8; PAGE_SIZE as usize];
        let mut at = start;
        while at < end {
            let n = (end - at).min(PAGE_SIZE);
            self.write(at, &zeros[..n as usize])?;
            at += n;
        }
        Ok(())
    }

    /// Starts building an image of the arena's first `len` bytes: what is
    /// written there until [`seal_image`](Self::seal_image) becomes the
    /// state [`restore_image`](Self::restore_image) returns to. Call it on
    /// a fresh arena, before any engine maps it.
    pub fn begin_image(&self, len: u64) -> Result<(), MemoryError> {
        self.begin_image_as(len, snapshot::Keep::Best)
    }

    /// [`begin_image`](Self::begin_image), keeping the image as a plain
    /// copy whatever the host offers: the fallback where memfd or pagemap
    /// are missing, for its tests.
    #[cfg(test)]
    pub(crate) fn begin_image_as_copy(&self, len: u64) -> Result<(), MemoryError> {
        self.begin_image_as(len, snapshot::Keep::Copy)
    }

    fn begin_image_as(&self, len: u64, keep: snapshot::Keep) -> Result<(), MemoryError> {
        self.check(0, len)?;
        if !is_page_aligned(len) || self.image.get().is_some() {
            return Err(MemoryError::Region("an image is already built".into()));
        }
        let mut draft = self
            .draft
            .lock()
            .map_err(|_| MemoryError::Region("image lock poisoned".into()))?;
        if draft.is_some() {
            return Err(MemoryError::Region(
                "an image is already being built".into(),
            ));
        }
        // SAFETY: the range lies in the arena (checked), and no engine maps
        // the arena yet (this function's contract).
        *draft = Some((
            unsafe { snapshot::Draft::begin(self.host.as_ptr(), len, keep) },
            len,
        ));
        Ok(())
    }

    /// Makes what the image range holds now the image. Its pages are then
    /// shared with the image until written.
    pub fn seal_image(&self) -> Result<(), MemoryError> {
        let (draft, len) = self
            .draft
            .lock()
            .map_err(|_| MemoryError::Region("image lock poisoned".into()))?
            .take()
            .ok_or_else(|| MemoryError::Region("no image is being built".into()))?;
        // SAFETY: `begin_image` checked the range; no engine runs while an
        // image is sealed (its contract: the arena is still being built).
        let sealed = unsafe { draft.seal(self.host.as_ptr(), len) }?;
        self.image
            .set(sealed)
            .map_err(|_| MemoryError::Region("an image is already built".into()))
    }

    /// Bytes the image covers (0 without one).
    pub fn image_len(&self) -> u64 {
        self.image.get().map_or(0, snapshot::Snapshot::len)
    }

    /// Returns the arena to the sealed image: the image range to the
    /// image's bytes, everything above it to zeros, host memory of both
    /// given back. Returns the extents of the image range that had changed
    /// (an engine that keeps translated code must forget theirs). Call it
    /// only while no engine runs guest code over this arena.
    pub fn restore_image(&self) -> Result<Vec<Extent>, MemoryError> {
        let image = self
            .image
            .get()
            .ok_or_else(|| MemoryError::Region("no image was sealed".into()))?;
        // SAFETY: the arena's base; no guest code runs (this function's
        // contract), so nothing accesses the pages being replaced.
        let changed = unsafe { image.restore(self.host.as_ptr()) }?;
        self.advise_away(image.len(), self.size)?;
        Ok(changed)
    }
}

impl Drop for GuestMemory {
    fn drop(&mut self) {
        // SAFETY: the arena was mapped by `new` with exactly this length and
        // nothing uses it after the owner is dropped (engines hold an Arc).
        unsafe { libc::munmap(self.host.as_ptr().cast(), self.size as usize) };
    }
}

/// Whether the host's pages are the guest's 4 KiB pages. The tricks that
/// give memory back or remap it (MADV_DONTNEED, MAP_FIXED over a range, a
/// memfd image with /proc/self/pagemap) work on 4 KiB ranges and would act
/// on whole host pages where those are larger (16 KiB on Apple Silicon and
/// some ARM64 Linux kernels, 64 KiB on others): zeroing or remapping a
/// neighbouring guest page, or missing a changed one. There qvm zeroes and
/// copies by hand instead, which is correct whatever the page size.
pub(crate) fn host_pages_are_guest_pages() -> bool {
    static SAME: OnceLock<bool> = OnceLock::new();
    // SAFETY: sysconf has no preconditions.
    *SAME.get_or_init(|| page_size_fits(unsafe { libc::sysconf(libc::_SC_PAGESIZE) }))
}

/// Whether a host page size from sysconf (-1 when unknown) is the guest's.
fn page_size_fits(host: libc::c_long) -> bool {
    u64::try_from(host).is_ok_and(|h| h == PAGE_SIZE)
}

/// Gives `[ptr, ptr + len)` of private anonymous memory back to the host;
/// it reads as zeros afterwards. Linux's MADV_DONTNEED guarantees the
/// zeros. Elsewhere (macOS) the advice may leave the old bytes, which the
/// next call would see, so fresh anonymous pages are mapped over the range
/// at the same address. On an error nothing is guaranteed: zero by hand.
///
/// # Safety
/// The range must be private anonymous memory this process owns, page
/// aligned, that nothing else accesses meanwhile.
unsafe fn release_zeroed(ptr: *mut u8, len: usize) -> std::io::Result<()> {
    if !host_pages_are_guest_pages() {
        return Err(std::io::Error::from(std::io::ErrorKind::Unsupported));
    }
    #[cfg(target_os = "linux")]
    {
        // SAFETY: per the function contract.
        match unsafe { libc::madvise(ptr.cast(), len, libc::MADV_DONTNEED) } {
            0 => Ok(()),
            _ => Err(std::io::Error::last_os_error()),
        }
    }
    #[cfg(not(target_os = "linux"))]
    // SAFETY: per the function contract.
    unsafe {
        map_fresh(ptr, len)
    }
}

/// Maps fresh anonymous read/write pages over `[ptr, ptr + len)`, at the
/// same address: [`release_zeroed`] off Linux, and the snapshot's way of
/// zeroing its file-backed image range on Linux.
///
/// # Safety
/// As [`release_zeroed`].
unsafe fn map_fresh(ptr: *mut u8, len: usize) -> std::io::Result<()> {
    // SAFETY: per the function contract; MAP_FIXED replaces exactly the
    // range, which stays mapped read/write at the same address.
    let got = unsafe {
        libc::mmap(
            ptr.cast(),
            len,
            libc::PROT_READ | libc::PROT_WRITE,
            libc::MAP_PRIVATE | libc::MAP_ANON | libc::MAP_NORESERVE | libc::MAP_FIXED,
            -1,
            0,
        )
    };
    if got == ptr.cast() {
        Ok(())
    } else {
        Err(std::io::Error::last_os_error())
    }
}

/// Deterministic first-fit allocator of page-aligned guest physical
/// extents. The same sequence of requests gives the same addresses.
#[derive(Clone, Debug)]
pub struct FrameAllocator {
    /// Free extents keyed by start address; never adjacent (coalesced).
    free: BTreeMap<u64, u64>,
    capacity: u64,
    allocated: u64,
    peak: u64,
}

impl FrameAllocator {
    /// An allocator over `[0, capacity)`.
    pub fn new(capacity: u64) -> Self {
        let mut free = BTreeMap::new();
        if capacity > 0 {
            free.insert(0, capacity);
        }
        FrameAllocator {
            free,
            capacity,
            allocated: 0,
            peak: 0,
        }
    }

    /// Bytes currently allocated.
    pub fn allocated(&self) -> u64 {
        self.allocated
    }

    /// Highest number of bytes ever allocated at once.
    pub fn peak(&self) -> u64 {
        self.peak
    }

    /// Total capacity.
    pub fn capacity(&self) -> u64 {
        self.capacity
    }

    /// Allocates `len` bytes (page aligned), possibly as several extents,
    /// lowest addresses first. `None` when not enough memory is free.
    pub fn allocate(&mut self, len: u64) -> Option<Vec<Extent>> {
        let len = page_align_up(len)?;
        if len == 0 {
            return Some(Vec::new());
        }
        if self.capacity - self.allocated < len {
            return None;
        }
        // Prefer one contiguous extent (first fit); fall back to pieces.
        let whole = self.free.iter().find(|(_, &l)| l >= len).map(|(&s, _)| s);
        let mut out = Vec::new();
        if let Some(start) = whole {
            self.take(start, len);
            out.push(Extent { gpa: start, len });
        } else {
            let mut need = len;
            while need > 0 {
                let (&start, &avail) = self.free.iter().next()?;
                let take = avail.min(need);
                self.take(start, take);
                out.push(Extent {
                    gpa: start,
                    len: take,
                });
                need -= take;
            }
        }
        self.allocated += len;
        self.peak = self.peak.max(self.allocated);
        Some(out)
    }

    fn take(&mut self, start: u64, len: u64) {
        if let Some(avail) = self.free.remove(&start) {
            if avail > len {
                self.free.insert(start + len, avail - len);
            }
        }
    }

    /// Returns an extent to the free pool, coalescing neighbours.
    pub fn release(&mut self, extent: Extent) {
        if extent.len == 0 {
            return;
        }
        let mut start = extent.gpa;
        let mut len = extent.len;
        if let Some((&prev, &plen)) = self.free.range(..start).next_back() {
            if prev + plen == start {
                self.free.remove(&prev);
                start = prev;
                len += plen;
            }
        }
        if let Some(&nlen) = self.free.get(&(start + len)) {
            self.free.remove(&(start + len));
            len += nlen;
        }
        self.free.insert(start, len);
        self.allocated = self.allocated.saturating_sub(extent.len);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn arena_reads_back_and_discards() {
        let mem = GuestMemory::new(4 << 20).unwrap();
        assert_eq!(mem.host_base() as usize % HUGE_PAGE, 0);
        mem.write(0x1000, b"hello").unwrap();
        let mut buf = [0u8; 5];
        mem.read(0x1000, &mut buf).unwrap();
        assert_eq!(&buf, b"hello");
        mem.discard(Extent {
            gpa: 0x1000,
            len: 0x1000,
        })
        .unwrap();
        mem.read(0x1000, &mut buf).unwrap();
        assert_eq!(buf, [0; 5]);
        assert!(mem.read((4 << 20) - 2, &mut buf).is_err());
        assert!(mem.write(u64::MAX, b"x").is_err());
    }

    #[test]
    fn only_4_kib_host_pages_are_given_back_page_by_page() {
        assert!(page_size_fits(4096));
        for other in [-1, 0, 8192, 16384, 65536] {
            assert!(!page_size_fits(other), "{other}");
        }
        // Where the host's pages are larger, giving a guest page back must
        // fail (the caller then zeroes by hand) rather than touch its
        // neighbours.
        if !host_pages_are_guest_pages() {
            let mem = GuestMemory::new(4 << 20).unwrap();
            // SAFETY: one page of the arena, which nothing else uses.
            assert!(unsafe { release_zeroed(mem.host_base().add(0x1000), 0x1000) }.is_err());
        }
    }

    #[test]
    fn both_ways_of_giving_pages_back_leave_zeros_at_the_same_address() {
        if !host_pages_are_guest_pages() {
            return; // neither is used there (the test above)
        }
        let mem = GuestMemory::new(4 << 20).unwrap();
        for (i, give_back) in [release_zeroed, map_fresh].into_iter().enumerate() {
            let gpa = 0x1000 * (i as u64 + 1);
            mem.write(gpa - 1, &[7; 0x1002]).unwrap();
            // SAFETY: one page of the arena, which nothing else uses.
            unsafe { give_back(mem.host_base().add(gpa as usize), 0x1000) }.unwrap();
            let mut page = [1u8; 0x1002];
            mem.read(gpa - 1, &mut page).unwrap();
            assert_eq!((page[0], page[0x1001]), (7, 7), "way {i}: neighbours kept");
            assert!(page[1..0x1001].iter().all(|&b| b == 0), "way {i}: zeros");
            mem.write(gpa, b"again").unwrap();
        }
    }

    #[test]
    fn bad_limits_are_refused() {
        assert!(GuestMemory::new(0).is_err());
        assert!(GuestMemory::new(4097).is_err());
    }

    #[test]
    fn allocator_is_first_fit_and_coalesces() {
        let mut a = FrameAllocator::new(16 * PAGE_SIZE);
        let x = a.allocate(4 * PAGE_SIZE).unwrap();
        let y = a.allocate(4 * PAGE_SIZE).unwrap();
        assert_eq!(
            x,
            vec![Extent {
                gpa: 0,
                len: 4 * PAGE_SIZE
            }]
        );
        assert_eq!(y[0].gpa, 4 * PAGE_SIZE);
        a.release(x[0]);
        // 4 free at 0, 8 free at 8: a 6-page request takes the second hole.
        let z = a.allocate(6 * PAGE_SIZE).unwrap();
        assert_eq!(
            z,
            vec![Extent {
                gpa: 8 * PAGE_SIZE,
                len: 6 * PAGE_SIZE
            }]
        );
        // Fragmented: 4 at 0 and 2 at 14 serve a 5-page request in pieces.
        let w = a.allocate(5 * PAGE_SIZE).unwrap();
        assert_eq!(w.len(), 2);
        assert_eq!(a.allocated(), 15 * PAGE_SIZE);
        assert!(a.allocate(2 * PAGE_SIZE).is_none());
        for e in w.into_iter().chain(y).chain(z) {
            a.release(e);
        }
        assert_eq!(a.allocated(), 0);
        assert_eq!(a.free.len(), 1);
        assert_eq!(a.peak(), 15 * PAGE_SIZE);
    }
}
