//! The guest's virtual address space: the list of mappings, the single
//! source of truth for both engines.
//!
//! Each mapping ("area") is either a *reservation* (PROT_NONE with no memory
//! behind it, so GHC's 1 TiB reservation costs nothing) or is backed by one
//! contiguous extent of guest physical memory. Every change is recorded as
//! [`MemoryChange`]s that the engine applies before the guest runs again:
//! only accessible, backed ranges are ever visible to an engine.

use std::cell::{Cell, RefCell};
use std::collections::BTreeMap;
use std::sync::Arc;

use thiserror::Error;

use crate::guest_memory::{Extent, FrameAllocator, GuestMemory};
use crate::layout::{page_align_up, PAGE_SIZE, USER_END, USER_MIN};
use crate::linux_abi::{mman, Errno};

/// Page protection, with Linux's `PROT_*` bit values.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Default)]
pub struct Prot(u32);

impl Prot {
    pub const NONE: Prot = Prot(mman::PROT_NONE as u32);
    pub const READ: Prot = Prot(mman::PROT_READ as u32);
    pub const WRITE: Prot = Prot(mman::PROT_WRITE as u32);
    pub const EXEC: Prot = Prot(mman::PROT_EXEC as u32);
    pub const RW: Prot = Prot(Prot::READ.0 | Prot::WRITE.0);
    const ALL: u64 = mman::PROT_READ | mman::PROT_WRITE | mman::PROT_EXEC;

    /// From Linux `PROT_*` bits; `None` if unknown bits are set.
    pub fn from_linux(bits: u64) -> Option<Prot> {
        (bits & !Self::ALL == 0).then_some(Prot(bits as u32))
    }

    /// Raw `PROT_*` bits.
    pub fn bits(self) -> u32 {
        self.0
    }

    pub fn contains(self, other: Prot) -> bool {
        self.0 & other.0 == other.0
    }

    pub fn union(self, other: Prot) -> Prot {
        Prot(self.0 | other.0)
    }

    /// What the MMU really enforces on x86-64: write and execute imply read.
    /// Both engines see this, so both fault identically.
    pub fn effective(self) -> Prot {
        if self.0 == 0 {
            self
        } else {
            Prot(self.0 | Prot::READ.0)
        }
    }
}

/// What is behind an area.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Backing {
    /// Address space only; any access faults. Costs no memory.
    Reserved,
    /// Guest physical memory starting at this address, contiguous.
    Phys(u64),
    /// Frames shared with an in-memory file (MAP_SHARED), contiguous from
    /// this address. Each page holds one reference to its frame (see
    /// [`AddressSpace::refs`]); removing it drops that reference, and the
    /// frame is released only by its last holder.
    Shared(u64),
    /// Pages of a file mapping past the end of the file: no memory, any
    /// access faults. Linux gives SIGBUS there (qvm's fault is the one any
    /// unmapped access gets).
    PastEnd,
}

impl Backing {
    /// The backing `offset` bytes into an area.
    fn offset(self, offset: u64) -> Backing {
        match self {
            Backing::Phys(gpa) => Backing::Phys(gpa + offset),
            Backing::Shared(gpa) => Backing::Shared(gpa + offset),
            other => other,
        }
    }

    /// The guest physical address of the first byte, if memory is behind.
    fn gpa(self) -> Option<u64> {
        match self {
            Backing::Phys(gpa) | Backing::Shared(gpa) => Some(gpa),
            Backing::Reserved | Backing::PastEnd => None,
        }
    }
}

#[derive(Clone, Copy, Debug)]
struct Area {
    end: u64,
    prot: Prot,
    backing: Backing,
}

/// A change an engine must apply to its view of guest memory.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum MemoryChange {
    /// Make `[start, start+len)` accessible with `prot`, backed by guest
    /// physical memory at `gpa`.
    Map {
        start: u64,
        len: u64,
        prot: Prot,
        gpa: u64,
    },
    /// Remove a range previously given by `Map`.
    Unmap { start: u64, len: u64 },
}

/// Address-space errors, each with the errno Linux would return.
#[derive(Debug, Error, Clone, Copy, PartialEq, Eq)]
pub enum MmError {
    #[error("out of memory")]
    NoMemory,
    #[error("bad address")]
    Fault,
    #[error("invalid argument")]
    Invalid,
    #[error("range already mapped")]
    Exists,
    #[error("guest memory error")]
    Host,
}

impl From<MmError> for Errno {
    /// The errno a syscall returns for this error.
    fn from(e: MmError) -> Self {
        match e {
            MmError::NoMemory => Errno::ENOMEM,
            MmError::Fault | MmError::Host => Errno::EFAULT,
            MmError::Invalid => Errno::EINVAL,
            MmError::Exists => Errno::EEXIST,
        }
    }
}

/// One contiguous piece of a guest-virtual range, as the kernel sees it when
/// copying to or from the guest.
#[derive(Clone, Copy, Debug)]
struct Piece {
    gpa: u64,
    len: u64,
}

/// The mapping list plus the memory it hands out.
pub struct AddressSpace {
    memory: Arc<GuestMemory>,
    frames: FrameAllocator,
    areas: BTreeMap<u64, Area>,
    changes: Vec<MemoryChange>,
    /// Holders of each frame that more than one holds (an in-memory file
    /// and the pages mapping it). A frame absent here has one holder.
    /// Committed memory counts a frame once, however many hold it.
    refs: BTreeMap<u64, u32>,
    /// Bytes copied between guest memory and the kernel by `read`,
    /// `write` and `read_cstr` (gas charges them).
    copied: Cell<u64>,
    /// Executable ranges the kernel wrote or zeroed, not yet taken by the
    /// engine ([`AddressSpace::take_code_written`]).
    code_written: RefCell<Vec<(u64, u64)>>,
}

impl AddressSpace {
    /// An empty address space over `memory`; all of it may be allocated.
    pub fn new(memory: Arc<GuestMemory>) -> Self {
        let frames = FrameAllocator::new(memory.size());
        AddressSpace {
            memory,
            frames,
            areas: BTreeMap::new(),
            changes: Vec::new(),
            refs: BTreeMap::new(),
            copied: Cell::new(0),
            code_written: RefCell::new(Vec::new()),
        }
    }

    /// A copy of this address space for a new process started from the
    /// same memory (a call from a contract's sealed image): the same
    /// mappings and allocations, no changes pending, nothing copied yet.
    pub fn fork(&self) -> Self {
        AddressSpace {
            memory: self.memory.clone(),
            frames: self.frames.clone(),
            areas: self.areas.clone(),
            changes: Vec::new(),
            refs: self.refs.clone(),
            copied: Cell::new(0),
            code_written: RefCell::new(Vec::new()),
        }
    }

    /// Bytes the kernel has copied from and to guest memory so far
    /// (successful `read`, `write` and `read_cstr` calls; a string counts
    /// its bytes and its NUL).
    pub fn copied(&self) -> u64 {
        self.copied.get()
    }

    /// Counts `n` bytes the kernel put into guest memory on the
    /// contract's behalf other than by [`write`](Self::write): a `/state`
    /// value copied from the store into its file's pages.
    pub fn count_copied(&self, n: usize) {
        self.count_copy(n);
    }

    fn count_copy(&self, n: usize) {
        self.copied.set(self.copied.get().saturating_add(n as u64));
    }

    /// Checks that `[addr, addr + len)` is mapped writable, copying nothing.
    pub fn check_writable(&self, addr: u64, len: u64) -> Result<(), MmError> {
        self.pieces(addr, len, Prot::WRITE).map(|_| ())
    }

    /// The guest memory arena.
    pub fn memory(&self) -> &Arc<GuestMemory> {
        &self.memory
    }

    /// Bytes of guest memory committed now.
    pub fn committed(&self) -> u64 {
        self.frames.allocated()
    }

    /// Most bytes committed at any time.
    pub fn peak_committed(&self) -> u64 {
        self.frames.peak()
    }

    /// The memory limit.
    pub fn limit(&self) -> u64 {
        self.frames.capacity()
    }

    /// Takes one page of guest physical memory for the kernel's own use
    /// (a page of an in-memory file): it counts as committed memory, like
    /// a mapped page, but no mapping shows it to the guest.
    pub fn alloc_frame(&mut self) -> Result<u64, MmError> {
        let extents = self.frames.allocate(PAGE_SIZE).ok_or(MmError::NoMemory)?;
        match extents.as_slice() {
            [e] => Ok(e.gpa),
            _ => {
                for e in extents {
                    self.frames.release(e);
                }
                Err(MmError::NoMemory)
            }
        }
    }

    /// Gives back a page from [`alloc_frame`](Self::alloc_frame): drops one
    /// holder, and the last holder releases it, zeroed for its next user.
    pub fn free_frame(&mut self, gpa: u64) {
        match self.refs.get_mut(&gpa) {
            Some(n) if *n > 2 => {
                *n -= 1;
                return;
            }
            Some(_) => {
                // One holder left: it is the frame's owner again.
                self.refs.remove(&gpa);
                return;
            }
            None => {}
        }
        let extent = Extent {
            gpa,
            len: PAGE_SIZE,
        };
        // A failed discard falls back to writing zeros (see remove_range).
        let _ = self.memory.discard(extent);
        self.frames.release(extent);
    }

    /// Adds a holder to a frame from [`alloc_frame`](Self::alloc_frame).
    fn hold_frame(&mut self, gpa: u64) {
        let n = self.refs.entry(gpa).or_insert(1);
        *n = n.saturating_add(1);
    }

    /// Holders of the frame at `gpa` (1 unless it is shared).
    pub fn frame_holders(&self, gpa: u64) -> u32 {
        self.refs.get(&gpa).copied().unwrap_or(1)
    }

    /// Takes the changes recorded since the last call.
    pub fn take_changes(&mut self) -> Vec<MemoryChange> {
        std::mem::take(&mut self.changes)
    }

    /// True when there are changes an engine has not seen.
    pub fn has_changes(&self) -> bool {
        !self.changes.is_empty()
    }

    /// All engine-visible ranges now, in address order: what an engine
    /// created after the image was loaded must map.
    pub fn visible(&self) -> Vec<MemoryChange> {
        self.visible_in(0, u64::MAX)
    }

    fn check_range(start: u64, len: u64) -> Result<u64, MmError> {
        let end = start.checked_add(len).ok_or(MmError::NoMemory)?;
        if start % PAGE_SIZE != 0 || len % PAGE_SIZE != 0 || len == 0 {
            return Err(MmError::Invalid);
        }
        if start < USER_MIN || end > USER_END {
            return Err(MmError::NoMemory);
        }
        Ok(end)
    }

    /// Splits the area containing `addr` (if any) so that an area starts at
    /// `addr`.
    fn split_at(&mut self, addr: u64) {
        let Some((&start, &area)) = self.areas.range(..addr).next_back() else {
            return;
        };
        if area.end <= addr {
            return;
        }
        self.areas.insert(start, Area { end: addr, ..area });
        self.areas.insert(
            addr,
            Area {
                end: area.end,
                prot: area.prot,
                backing: area.backing.offset(addr - start),
            },
        );
    }

    fn visible_in(&self, start: u64, end: u64) -> Vec<MemoryChange> {
        self.clipped(start, end)
            .filter_map(|(s, lo, hi, a)| match a.backing.gpa() {
                Some(gpa) if a.prot != Prot::NONE => Some(MemoryChange::Map {
                    start: lo,
                    len: hi - lo,
                    prot: a.prot.effective(),
                    gpa: gpa + (lo - s),
                }),
                _ => None,
            })
            .collect()
    }

    /// Records that `[start, end)` is about to change: the engine must drop
    /// what it has mapped there.
    fn begin_change(&mut self, start: u64, end: u64) {
        let old = self.visible_in(start, end);
        self.changes.extend(old.into_iter().map(|c| match c {
            MemoryChange::Map { start, len, .. } => MemoryChange::Unmap { start, len },
            other => other,
        }));
    }

    /// Records the new state of `[start, end)` for the engine.
    fn end_change(&mut self, start: u64, end: u64) {
        let new = self.visible_in(start, end);
        self.changes.extend(new);
    }

    /// True when no area intersects `[start, end)`.
    pub fn is_free(&self, start: u64, end: u64) -> bool {
        if let Some((_, a)) = self.areas.range(..start).next_back() {
            if a.end > start {
                return false;
            }
        }
        self.areas.range(start..end).next().is_none()
    }

    /// True when every byte of `[start, end)` belongs to some area.
    fn is_fully_mapped(&self, start: u64, end: u64) -> bool {
        let mut at = start;
        for (_, lo, hi, _) in self.clipped(start, end) {
            if lo > at {
                return false;
            }
            at = hi;
        }
        at >= end
    }

    /// Starts a change of `[start, end)`: tells the engine to drop what it
    /// has there, splits areas at both edges, and returns the areas inside.
    fn open_range(&mut self, start: u64, end: u64) -> Vec<(u64, Area)> {
        self.begin_change(start, end);
        self.split_at(start);
        self.split_at(end);
        self.areas
            .range(start..end)
            .map(|(&s, &a)| (s, a))
            .collect()
    }

    /// Removes areas in `[start, end)` (already split), releasing memory.
    fn remove_range(&mut self, start: u64, end: u64) {
        let keys: Vec<u64> = self.areas.range(start..end).map(|(&s, _)| s).collect();
        for s in keys {
            let Some(a) = self.areas.remove(&s) else {
                continue;
            };
            match a.backing {
                Backing::Phys(gpa) => {
                    let extent = Extent {
                        gpa,
                        len: a.end - s,
                    };
                    // Zero before reuse; a failure here cannot leak data to
                    // the guest because discard falls back to writing zeros.
                    let _ = self.memory.discard(extent);
                    self.frames.release(extent);
                }
                Backing::Shared(gpa) => {
                    for page in (0..a.end - s).step_by(PAGE_SIZE as usize) {
                        self.free_frame(gpa + page);
                    }
                }
                Backing::Reserved | Backing::PastEnd => {}
            }
        }
    }

    /// Inserts backed or reserved areas covering `[start, end)`, which must
    /// be free. Backed areas may be split where physical memory is.
    fn insert(&mut self, start: u64, end: u64, prot: Prot, backed: bool) -> Result<(), MmError> {
        if !backed {
            self.areas.insert(
                start,
                Area {
                    end,
                    prot,
                    backing: Backing::Reserved,
                },
            );
            return Ok(());
        }
        let extents = self.frames.allocate(end - start).ok_or(MmError::NoMemory)?;
        let mut at = start;
        for e in extents {
            self.areas.insert(
                at,
                Area {
                    end: at + e.len,
                    prot,
                    backing: Backing::Phys(e.gpa),
                },
            );
            at += e.len;
        }
        Ok(())
    }

    /// Maps `[start, start+len)`, replacing whatever was there (MAP_FIXED).
    /// `backed == false` makes a reservation that costs no memory.
    pub fn map_fixed(
        &mut self,
        start: u64,
        len: u64,
        prot: Prot,
        backed: bool,
    ) -> Result<(), MmError> {
        let end = Self::check_range(start, len)?;
        self.open_range(start, end);
        self.remove_range(start, end);
        let result = self.insert(start, end, prot, backed);
        self.end_change(start, end);
        result
    }

    /// Maps `[start, start+len)` over frames from
    /// [`alloc_frame`](Self::alloc_frame), replacing whatever was there:
    /// MAP_SHARED of an in-memory file, whose pages are these frames, so a
    /// write through the mapping is a write to the file and the other way
    /// round. Page `i` shows `frames[i]` and takes a reference to it; the
    /// pages after the last frame are past the end of the file.
    pub fn map_shared(
        &mut self,
        start: u64,
        len: u64,
        prot: Prot,
        frames: &[u64],
    ) -> Result<(), MmError> {
        let end = Self::check_range(start, len)?;
        if frames.len() as u64 > len / PAGE_SIZE {
            return Err(MmError::Invalid);
        }
        self.open_range(start, end);
        self.remove_range(start, end);
        let mut last: Option<(u64, Area)> = None;
        for (at, &gpa) in (start..end).step_by(PAGE_SIZE as usize).zip(frames) {
            self.hold_frame(gpa);
            let backing = Backing::Shared(gpa);
            // Runs of consecutive frames make one area, so one engine map.
            let extends =
                last.is_some_and(|(s, a)| a.end == at && a.backing.offset(at - s) == backing);
            let area = match last {
                Some((s, a)) if extends => (
                    s,
                    Area {
                        end: at + PAGE_SIZE,
                        ..a
                    },
                ),
                _ => (
                    at,
                    Area {
                        end: at + PAGE_SIZE,
                        prot,
                        backing,
                    },
                ),
            };
            self.areas.insert(area.0, area.1);
            last = Some(area);
        }
        let past_end = start + frames.len() as u64 * PAGE_SIZE;
        if past_end < end {
            self.areas.insert(
                past_end,
                Area {
                    end,
                    prot,
                    backing: Backing::PastEnd,
                },
            );
        }
        self.end_change(start, end);
        Ok(())
    }

    /// Maps `[start, end)` as past the end of a file (mremap growing a
    /// shared file mapping): no memory, any access faults.
    fn map_past_end(&mut self, start: u64, end: u64, prot: Prot) {
        self.open_range(start, end);
        self.remove_range(start, end);
        self.areas.insert(
            start,
            Area {
                end,
                prot,
                backing: Backing::PastEnd,
            },
        );
        self.end_change(start, end);
    }

    /// Unmaps `[start, start+len)`; unmapped parts are fine.
    pub fn unmap(&mut self, start: u64, len: u64) -> Result<(), MmError> {
        let end = Self::check_range(start, len)?;
        self.open_range(start, end);
        self.remove_range(start, end);
        Ok(())
    }

    /// Changes the protection of `[start, start+len)`, which must be fully
    /// mapped. Reservations made accessible get memory now.
    pub fn protect(&mut self, start: u64, len: u64, prot: Prot) -> Result<(), MmError> {
        let end = Self::check_range(start, len)?;
        if !self.is_fully_mapped(start, end) {
            return Err(MmError::NoMemory);
        }
        // Memory needed for reservations that become accessible.
        let needed: u64 = if prot == Prot::NONE {
            0
        } else {
            self.clipped(start, end)
                .filter(|(_, _, _, a)| a.backing == Backing::Reserved)
                .map(|(_, lo, hi, _)| hi - lo)
                .sum()
        };
        if needed > self.frames.capacity() - self.frames.allocated() {
            return Err(MmError::NoMemory);
        }
        let keys = self.open_range(start, end);
        let mut result = Ok(());
        for (s, a) in keys {
            if a.backing == Backing::Reserved && prot != Prot::NONE {
                self.areas.remove(&s);
                if let Err(e) = self.insert(s, a.end, prot, true) {
                    self.areas.insert(s, a);
                    result = Err(e);
                }
            } else if let Some(area) = self.areas.get_mut(&s) {
                area.prot = prot;
            }
        }
        self.end_change(start, end);
        result
    }

    /// Areas intersecting `[start, end)`, clipped to it.
    /// Yields (area start, clipped start, clipped end, area).
    fn clipped(&self, start: u64, end: u64) -> impl Iterator<Item = (u64, u64, u64, Area)> + '_ {
        let end = end.max(start);
        let first = self
            .areas
            .range(..=start)
            .next_back()
            .map(|(&s, _)| s)
            .unwrap_or(start);
        self.areas.range(first..end).filter_map(move |(&s, &a)| {
            let lo = s.max(start);
            let hi = a.end.min(end);
            (lo < hi).then_some((s, lo, hi, a))
        })
    }

    /// Finds the highest free range of `len` bytes ending at or below `top`
    /// and starting at or above `bottom`.
    pub fn find_free_top_down(&self, len: u64, bottom: u64, top: u64) -> Option<u64> {
        let mut ceiling = top;
        for (&s, a) in self.areas.range(..top).rev() {
            if a.end < ceiling && ceiling - a.end >= len {
                return Some(ceiling - len).filter(|&c| c >= bottom);
            }
            ceiling = ceiling.min(s);
            if ceiling < bottom.saturating_add(len) {
                return None;
            }
        }
        ceiling.checked_sub(len).filter(|&c| c >= bottom)
    }

    /// The protection at `addr`, if mapped.
    pub fn prot_at(&self, addr: u64) -> Option<Prot> {
        self.area_at(addr).map(|(_, a)| a.prot)
    }

    fn area_at(&self, addr: u64) -> Option<(u64, Area)> {
        self.areas
            .range(..=addr)
            .next_back()
            .filter(|(_, a)| a.end > addr)
            .map(|(&s, &a)| (s, a))
    }

    /// Moves or resizes a mapping (mremap). `old` must be fully mapped.
    /// Growth happens in place when the space after it is free, else at
    /// `dest` (found by the caller) when moving is allowed.
    pub fn remap(
        &mut self,
        old: u64,
        old_len: u64,
        new_len: u64,
        dest: Option<u64>,
    ) -> Result<u64, MmError> {
        let old_end = Self::check_range(old, old_len)?;
        if !self.is_fully_mapped(old, old_end) {
            return Err(MmError::Fault);
        }
        if new_len <= old_len {
            if new_len < old_len {
                self.unmap(old + new_len, old_len - new_len)?;
            }
            return match dest {
                Some(d) if d != old => self.move_range(old, old + new_len, d),
                _ => Ok(old),
            };
        }
        let prot = self.prot_at(old_end - PAGE_SIZE).ok_or(MmError::Fault)?;
        let tail = self
            .area_at(old_end - PAGE_SIZE)
            .map(|(_, a)| a.backing)
            .unwrap_or(Backing::Reserved);
        let grow = new_len - old_len;
        let grow_end = old_end.checked_add(grow).ok_or(MmError::NoMemory)?;
        // A file mapping grows with more of the file: its pages past the
        // end of the file, as the file was when it was mapped. Anything
        // else grows like it is: memory or reservation.
        let grow_at = |space: &mut Self, at: u64| match tail {
            Backing::Shared(_) | Backing::PastEnd => {
                Self::check_range(at, grow)?;
                space.map_past_end(at, at + grow, prot);
                Ok(())
            }
            Backing::Phys(_) => space.map_fixed(at, grow, prot, true),
            Backing::Reserved => space.map_fixed(at, grow, prot, false),
        };
        if dest.is_none() {
            if grow_end > USER_END || !self.is_free(old_end, grow_end) {
                return Err(MmError::NoMemory);
            }
            grow_at(self, old_end)?;
            return Ok(old);
        }
        let d = dest.ok_or(MmError::NoMemory)?;
        let new_at = self.move_range(old, old_end, d)?;
        if let Err(e) = grow_at(self, new_at + old_len) {
            // Put it back where it was; the move itself cannot fail now.
            let _ = self.move_range(new_at, new_at + old_len, old);
            return Err(e);
        }
        Ok(new_at)
    }

    /// Relabels `[start, end)` to begin at `dest`, keeping its memory: no
    /// copy. Whatever was mapped at the destination is unmapped first.
    fn move_range(&mut self, start: u64, end: u64, dest: u64) -> Result<u64, MmError> {
        let len = end - start;
        let dest_end = Self::check_range(dest, len)?;
        if dest < end && start < dest_end {
            return Err(MmError::Invalid);
        }
        self.unmap(dest, len)?;
        let moved = self.open_range(start, end);
        for (s, _) in &moved {
            self.areas.remove(s);
        }
        for (s, a) in moved {
            let ns = s - start + dest;
            self.areas.insert(
                ns,
                Area {
                    end: a.end - start + dest,
                    ..a
                },
            );
        }
        self.end_change(dest, dest_end);
        Ok(dest)
    }

    /// Executable ranges `(start, len)` the kernel wrote or zeroed since
    /// the last call: code an engine may have translated from the old bytes.
    pub fn take_code_written(&mut self) -> Vec<(u64, u64)> {
        std::mem::take(self.code_written.get_mut())
    }

    /// Notes the executable parts of `[start, end)`, which the kernel just
    /// changed behind the CPU.
    fn note_written(&self, start: u64, end: u64) {
        let mut written = self.code_written.borrow_mut();
        for (_, lo, hi, a) in self.clipped(start, end) {
            if a.prot.contains(Prot::EXEC) {
                written.push((lo, hi - lo));
            }
        }
    }

    /// Zeroes the private memory in `[start, start+len)` (MADV_DONTNEED).
    /// Pages shared with a file keep their bytes: Linux drops such a page
    /// and the next access reads the file again, which holds the same.
    pub fn zero_range(&mut self, start: u64, len: u64) -> Result<(), MmError> {
        let end = Self::check_range(start, len)?;
        let pieces: Vec<Extent> = self
            .clipped(start, end)
            .filter_map(|(s, lo, hi, a)| match a.backing {
                Backing::Phys(gpa) => Some(Extent {
                    gpa: gpa + (lo - s),
                    len: hi - lo,
                }),
                Backing::Shared(_) | Backing::Reserved | Backing::PastEnd => None,
            })
            .collect();
        for e in pieces {
            self.memory.discard(e).map_err(|_| MmError::Host)?;
        }
        self.note_written(start, end);
        Ok(())
    }

    /// The physical pieces behind `[addr, addr+len)`, requiring `need` on
    /// every page. Fails with EFAULT like Linux's user copies.
    fn pieces(&self, addr: u64, len: u64, need: Prot) -> Result<Vec<Piece>, MmError> {
        let end = addr.checked_add(len).ok_or(MmError::Fault)?;
        let mut out = Vec::new();
        let mut at = addr;
        while at < end {
            let (s, a) = self.area_at(at).ok_or(MmError::Fault)?;
            let gpa = match a.backing.gpa() {
                Some(gpa) if a.prot.effective().contains(need) && a.prot != Prot::NONE => gpa,
                _ => return Err(MmError::Fault),
            };
            let hi = a.end.min(end);
            out.push(Piece {
                gpa: gpa + (at - s),
                len: hi - at,
            });
            at = hi;
        }
        Ok(out)
    }

    /// Copies guest memory at `addr` into `buf` (copy_from_user).
    pub fn read(&self, addr: u64, buf: &mut [u8]) -> Result<(), MmError> {
        self.read_uncounted(addr, buf)?;
        self.count_copy(buf.len());
        Ok(())
    }

    fn read_uncounted(&self, addr: u64, buf: &mut [u8]) -> Result<(), MmError> {
        let mut off = 0usize;
        for p in self.pieces(addr, buf.len() as u64, Prot::READ)? {
            let n = p.len as usize;
            let chunk = buf.get_mut(off..off + n).ok_or(MmError::Fault)?;
            self.memory.read(p.gpa, chunk).map_err(|_| MmError::Host)?;
            off += n;
        }
        Ok(())
    }

    /// Reads `len` bytes of guest memory.
    pub fn read_vec(&self, addr: u64, len: usize) -> Result<Vec<u8>, MmError> {
        let mut buf = vec![0u8; len];
        self.read(addr, &mut buf)?;
        Ok(buf)
    }

    /// Reads a little-endian u64.
    pub fn read_u64(&self, addr: u64) -> Result<u64, MmError> {
        let mut b = [0u8; 8];
        self.read(addr, &mut b)?;
        Ok(u64::from_le_bytes(b))
    }

    /// Copies `buf` into guest memory at `addr` (copy_to_user). Requires
    /// write permission, as Linux does.
    pub fn write(&self, addr: u64, buf: &[u8]) -> Result<(), MmError> {
        let mut off = 0usize;
        for p in self.pieces(addr, buf.len() as u64, Prot::WRITE)? {
            let n = p.len as usize;
            let chunk = buf.get(off..off + n).ok_or(MmError::Fault)?;
            self.memory.write(p.gpa, chunk).map_err(|_| MmError::Host)?;
            off += n;
        }
        self.count_copy(buf.len());
        self.note_written(addr, addr + buf.len() as u64);
        Ok(())
    }

    /// Writes ignoring page protection: the loader filling read-only
    /// segments, like the kernel does before the program runs.
    pub fn write_initial(&self, addr: u64, buf: &[u8]) -> Result<(), MmError> {
        let end = addr.checked_add(buf.len() as u64).ok_or(MmError::Fault)?;
        let mut at = addr;
        while at < end {
            let (s, a) = self.area_at(at).ok_or(MmError::Fault)?;
            let Some(gpa) = a.backing.gpa() else {
                return Err(MmError::Fault);
            };
            let hi = a.end.min(end);
            let chunk = buf
                .get((at - addr) as usize..(hi - addr) as usize)
                .ok_or(MmError::Fault)?;
            self.memory
                .write(gpa + (at - s), chunk)
                .map_err(|_| MmError::Host)?;
            at = hi;
        }
        Ok(())
    }

    /// Reads a NUL-terminated string of at most `max` bytes (without the
    /// NUL). EFAULT on a bad pointer, ENAMETOOLONG-like `Invalid` when no
    /// NUL is found within `max`.
    pub fn read_cstr(&self, addr: u64, max: usize) -> Result<Vec<u8>, MmError> {
        let mut out = Vec::new();
        let mut at = addr;
        while out.len() < max {
            // Read up to the end of the page so we never cross into an
            // unmapped page past the terminator.
            let page_left = (PAGE_SIZE - at % PAGE_SIZE) as usize;
            let n = page_left.min(max - out.len());
            let mut chunk = vec![0u8; n];
            self.read_uncounted(at, &mut chunk)?;
            if let Some(pos) = chunk.iter().position(|&b| b == 0) {
                out.extend_from_slice(&chunk[..pos]);
                self.count_copy(out.len() + 1);
                return Ok(out);
            }
            out.extend_from_slice(&chunk);
            at = at.checked_add(n as u64).ok_or(MmError::Fault)?;
        }
        self.count_copy(out.len());
        Err(MmError::Invalid)
    }

    /// Page-aligns a length, mapping overflow to ENOMEM.
    pub fn page_len(len: u64) -> Result<u64, MmError> {
        page_align_up(len).ok_or(MmError::NoMemory)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const MIB: u64 = 1 << 20;

    fn space(limit: u64) -> AddressSpace {
        AddressSpace::new(Arc::new(GuestMemory::new(limit).unwrap()))
    }

    #[test]
    fn map_write_read_unmap() {
        let mut s = space(4 * MIB);
        s.map_fixed(0x40_0000, 2 * PAGE_SIZE, Prot::RW, true)
            .unwrap();
        s.write(0x40_0ffe, b"abcd").unwrap();
        assert_eq!(s.read_vec(0x40_0ffe, 4).unwrap(), b"abcd");
        assert_eq!(s.committed(), 2 * PAGE_SIZE);
        let ch = s.take_changes();
        assert_eq!(
            ch,
            vec![MemoryChange::Map {
                start: 0x40_0000,
                len: 2 * PAGE_SIZE,
                prot: Prot::RW,
                gpa: 0
            }]
        );
        s.unmap(0x40_1000, PAGE_SIZE).unwrap();
        assert_eq!(s.read_vec(0x40_0ffe, 4), Err(MmError::Fault));
        assert_eq!(s.committed(), PAGE_SIZE);
        assert_eq!(
            s.take_changes(),
            vec![MemoryChange::Unmap {
                start: 0x40_1000,
                len: PAGE_SIZE
            }]
        );
    }

    #[test]
    fn reservations_cost_nothing_and_commit_on_protect() {
        let mut s = space(4 * MIB);
        // A terabyte reservation, as GHC makes.
        s.map_fixed(0x100_0000_0000, 1 << 40, Prot::NONE, false)
            .unwrap();
        assert_eq!(s.committed(), 0);
        assert!(s.take_changes().is_empty());
        assert_eq!(s.read_vec(0x100_0000_0000, 1), Err(MmError::Fault));
        s.protect(0x100_0000_0000, MIB, Prot::RW).unwrap();
        assert_eq!(s.committed(), MIB);
        s.write(0x100_0000_0000, b"x").unwrap();
        // Committing more than the limit fails cleanly.
        assert_eq!(
            s.protect(0x100_0010_0000, 8 * MIB, Prot::RW),
            Err(MmError::NoMemory)
        );
        assert_eq!(s.committed(), MIB);
    }

    #[test]
    fn protect_requires_mapping_and_enforces_write() {
        let mut s = space(4 * MIB);
        s.map_fixed(0x40_0000, PAGE_SIZE, Prot::READ, true).unwrap();
        assert_eq!(s.write(0x40_0000, b"x"), Err(MmError::Fault));
        s.write_initial(0x40_0000, b"x").unwrap();
        assert_eq!(s.read_vec(0x40_0000, 1).unwrap(), b"x");
        assert_eq!(
            s.protect(0x40_0000, 2 * PAGE_SIZE, Prot::RW),
            Err(MmError::NoMemory)
        );
        s.protect(0x40_0000, PAGE_SIZE, Prot::RW).unwrap();
        s.write(0x40_0000, b"y").unwrap();
    }

    #[test]
    fn remap_grows_in_place_and_moves_without_copy() {
        let mut s = space(4 * MIB);
        s.map_fixed(0x40_0000, PAGE_SIZE, Prot::RW, true).unwrap();
        s.write(0x40_0000, b"keep").unwrap();
        assert_eq!(
            s.remap(0x40_0000, PAGE_SIZE, 2 * PAGE_SIZE, None).unwrap(),
            0x40_0000
        );
        s.map_fixed(0x40_2000, PAGE_SIZE, Prot::RW, true).unwrap();
        assert_eq!(
            s.remap(0x40_0000, 2 * PAGE_SIZE, 3 * PAGE_SIZE, None),
            Err(MmError::NoMemory)
        );
        let moved = s
            .remap(0x40_0000, 2 * PAGE_SIZE, 3 * PAGE_SIZE, Some(0x50_0000))
            .unwrap();
        assert_eq!(moved, 0x50_0000);
        assert_eq!(s.read_vec(0x50_0000, 4).unwrap(), b"keep");
        assert_eq!(s.read_vec(0x40_0000, 1), Err(MmError::Fault));
        assert_eq!(s.committed(), 4 * PAGE_SIZE);
    }

    #[test]
    fn unmapped_memory_reads_zero_when_reused() {
        let mut s = space(MIB);
        s.map_fixed(0x40_0000, PAGE_SIZE, Prot::RW, true).unwrap();
        s.write(0x40_0000, b"secret").unwrap();
        s.unmap(0x40_0000, PAGE_SIZE).unwrap();
        s.map_fixed(0x60_0000, PAGE_SIZE, Prot::RW, true).unwrap();
        assert_eq!(s.read_vec(0x60_0000, 6).unwrap(), vec![0; 6]);
    }

    #[test]
    fn find_free_is_top_down() {
        let mut s = space(MIB);
        let top = 0x7000_0000;
        assert_eq!(
            s.find_free_top_down(PAGE_SIZE, USER_MIN, top),
            Some(top - PAGE_SIZE)
        );
        s.map_fixed(top - PAGE_SIZE, PAGE_SIZE, Prot::NONE, false)
            .unwrap();
        assert_eq!(
            s.find_free_top_down(PAGE_SIZE, USER_MIN, top),
            Some(top - 2 * PAGE_SIZE)
        );
        assert_eq!(s.find_free_top_down(top, USER_MIN, top), None);
    }

    #[test]
    fn cstr_reads_stop_at_nul_and_fail_cleanly() {
        let mut s = space(MIB);
        s.map_fixed(0x40_0000, PAGE_SIZE, Prot::RW, true).unwrap();
        s.write(0x40_0ffc, b"abc\0").unwrap();
        assert_eq!(s.read_cstr(0x40_0ffc, 100).unwrap(), b"abc");
        s.write(0x40_0ffc, b"abcd").unwrap();
        assert_eq!(s.read_cstr(0x40_0ffc, 100), Err(MmError::Fault));
        assert_eq!(s.read_cstr(0x40_0ffc, 2), Err(MmError::Invalid));
    }
    #[test]
    fn shared_frames_are_held_by_file_and_mappings() {
        let mut s = space(MIB);
        // Two pages of a file, as the in-memory file system takes them.
        let f0 = s.alloc_frame().unwrap();
        let f1 = s.alloc_frame().unwrap();
        s.memory().write(f0, b"file").unwrap();
        // Three pages: the file's two, then one past its end.
        s.map_shared(0x40_0000, 3 * PAGE_SIZE, Prot::RW, &[f0, f1])
            .unwrap();
        assert_eq!(s.committed(), 2 * PAGE_SIZE, "a shared frame counts once");
        assert_eq!(s.frame_holders(f0), 2);
        assert_eq!(s.read_vec(0x40_0000, 4).unwrap(), b"file");
        s.write(0x40_1000, b"map").unwrap();
        let mut buf = [0u8; 3];
        s.memory().read(f1, &mut buf).unwrap();
        assert_eq!(&buf, b"map", "a write through the mapping is in the file");
        assert_eq!(s.read_vec(0x40_2000, 1), Err(MmError::Fault));
        let maps: Vec<MemoryChange> = s.take_changes();
        assert!(maps.iter().any(|c| matches!(c,
            MemoryChange::Map { start: 0x40_0000, prot: Prot::RW, gpa, .. } if *gpa == f0)));
        assert!(maps.iter().all(|c| !matches!(c,
            MemoryChange::Map { start, .. } if *start >= 0x40_2000)));

        // MADV_DONTNEED keeps a shared page's bytes (Linux re-reads the file).
        s.zero_range(0x40_0000, 2 * PAGE_SIZE).unwrap();
        assert_eq!(s.read_vec(0x40_0000, 4).unwrap(), b"file");
        // Protection changes and splits keep the sharing.
        s.protect(0x40_1000, PAGE_SIZE, Prot::READ).unwrap();
        assert_eq!(s.write(0x40_1000, b"x"), Err(MmError::Fault));
        assert_eq!(s.read_vec(0x40_1000, 3).unwrap(), b"map");
        s.protect(0x40_1000, PAGE_SIZE, Prot::RW).unwrap();
        // A second mapping of the same frame sees the same bytes.
        s.map_shared(0x50_0000, PAGE_SIZE, Prot::READ, &[f0])
            .unwrap();
        assert_eq!(s.frame_holders(f0), 3);
        s.write(0x40_0000, b"FILE").unwrap();
        assert_eq!(s.read_vec(0x50_0000, 4).unwrap(), b"FILE");
        // Moving keeps the frames; growing adds pages past the end.
        let moved = s
            .remap(0x50_0000, PAGE_SIZE, 2 * PAGE_SIZE, Some(0x60_0000))
            .unwrap();
        assert_eq!(moved, 0x60_0000);
        assert_eq!(s.read_vec(0x60_0000, 4).unwrap(), b"FILE");
        assert_eq!(s.read_vec(0x60_1000, 1), Err(MmError::Fault));
        assert_eq!(s.committed(), 2 * PAGE_SIZE);

        // The file goes away (unlinked and closed): the mappings keep the
        // frames, and the last unmap releases them, zeroed.
        s.free_frame(f0);
        s.free_frame(f1);
        assert_eq!(s.committed(), 2 * PAGE_SIZE);
        assert_eq!(s.read_vec(0x40_0000, 4).unwrap(), b"FILE");
        s.unmap(0x40_0000, 3 * PAGE_SIZE).unwrap();
        assert_eq!(s.committed(), PAGE_SIZE);
        assert_eq!(s.frame_holders(f0), 1);
        s.unmap(0x60_0000, 2 * PAGE_SIZE).unwrap();
        assert_eq!(s.committed(), 0);
        s.map_fixed(0x40_0000, 2 * PAGE_SIZE, Prot::RW, true)
            .unwrap();
        assert_eq!(s.read_vec(0x40_0000, 4).unwrap(), vec![0; 4]);
        assert_eq!(s.read_vec(0x40_1000, 3).unwrap(), vec![0; 3]);
    }

    #[test]
    fn shared_runs_of_consecutive_frames_map_once() {
        let mut s = space(MIB);
        let frames: Vec<u64> = (0..3).map(|_| s.alloc_frame().unwrap()).collect();
        s.map_shared(0x40_0000, 3 * PAGE_SIZE, Prot::RW, &frames)
            .unwrap();
        let maps = s.take_changes();
        let pages: u64 = maps
            .iter()
            .map(|c| match c {
                MemoryChange::Map { len, .. } => len / PAGE_SIZE,
                MemoryChange::Unmap { .. } => 0,
            })
            .sum();
        assert_eq!(pages, 3);
        if frames.windows(2).all(|w| w[1] == w[0] + PAGE_SIZE) {
            assert_eq!(maps.len(), 1);
        }
        // Unmapping the middle page splits the run and drops one hold.
        s.unmap(0x40_1000, PAGE_SIZE).unwrap();
        assert_eq!(s.frame_holders(frames[1]), 1);
        assert_eq!(s.frame_holders(frames[0]), 2);
        assert_eq!(s.committed(), 3 * PAGE_SIZE);
        assert_eq!(
            s.map_shared(0x40_0000, PAGE_SIZE, Prot::RW, &frames),
            Err(MmError::Invalid)
        );
    }
}
