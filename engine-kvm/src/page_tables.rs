//! 4-level x86-64 page tables, built by the host in system memory from
//! the shared address-space changes. Tables that become empty are freed,
//! so mapping churn cannot exhaust the table pool.

use crate::layout::{PAGE, SYS_GPA, TABLES};
use crate::sys_memory::{SysMemory, SysMemoryError};

pub const PRESENT: u64 = 1;
pub const WRITABLE: u64 = 1 << 1;
pub const USER: u64 = 1 << 2;
pub const NO_EXECUTE: u64 = 1 << 63;
const ADDR_MASK: u64 = 0x000f_ffff_ffff_f000;
/// Intermediate entries allow everything; the leaf decides.
const TABLE_FLAGS: u64 = PRESENT | WRITABLE | USER;

fn index(va: u64, level: u32) -> u64 {
    (va >> (12 + 9 * level)) & 511
}

/// The page-table tree and its pool of table frames.
pub struct PageTables {
    /// Offset of the PML4 in system memory.
    root: u64,
    /// Next never-used frame offset.
    next: u64,
    free: Vec<u64>,
    /// Present entries per table frame, by (offset - TABLES) / PAGE.
    counts: Vec<u16>,
}

impl PageTables {
    /// An empty tree; the PML4 is the pool's first frame.
    pub fn new(mem: &SysMemory) -> Result<Self, SysMemoryError> {
        let mut pt = PageTables {
            root: TABLES,
            next: TABLES,
            free: Vec::new(),
            counts: Vec::new(),
        };
        pt.root = pt.alloc(mem)?;
        Ok(pt)
    }

    /// Guest-physical address of the PML4 (for CR3).
    pub fn root_gpa(&self) -> u64 {
        SYS_GPA + self.root
    }

    fn slot(&self, table: u64) -> usize {
        ((table - TABLES) / PAGE) as usize
    }

    fn alloc(&mut self, mem: &SysMemory) -> Result<u64, SysMemoryError> {
        let frame = match self.free.pop() {
            Some(f) => f,
            None => {
                let f = self.next;
                if f + PAGE > mem.size() {
                    return Err(SysMemoryError::Exhausted);
                }
                self.next += PAGE;
                f
            }
        };
        mem.zero_page(frame)?;
        let slot = self.slot(frame);
        if self.counts.len() <= slot {
            self.counts.resize(slot + 1, 0);
        }
        self.counts[slot] = 0;
        Ok(frame)
    }

    fn count_mut(&mut self, table: u64) -> &mut u16 {
        let slot = self.slot(table);
        if self.counts.len() <= slot {
            self.counts.resize(slot + 1, 0);
        }
        &mut self.counts[slot]
    }

    /// Maps the 4 KiB page at `va` to `gpa` with leaf `flags`.
    pub fn map(
        &mut self,
        mem: &SysMemory,
        va: u64,
        gpa: u64,
        flags: u64,
    ) -> Result<(), SysMemoryError> {
        let mut table = self.root;
        for level in (1..=3).rev() {
            let entry_at = table + index(va, level) * 8;
            let entry = mem.read_u64(entry_at)?;
            table = if entry & PRESENT == 0 {
                let new = self.alloc(mem)?;
                mem.write_u64(entry_at, (SYS_GPA + new) | TABLE_FLAGS)?;
                *self.count_mut(table) += 1;
                new
            } else {
                (entry & ADDR_MASK) - SYS_GPA
            };
        }
        let entry_at = table + index(va, 0) * 8;
        if mem.read_u64(entry_at)? & PRESENT == 0 {
            *self.count_mut(table) += 1;
        }
        mem.write_u64(entry_at, (gpa & ADDR_MASK) | flags | PRESENT)
    }

    /// Unmaps the page at `va` (no-op when unmapped) and frees tables that
    /// become empty.
    pub fn unmap(&mut self, mem: &SysMemory, va: u64) -> Result<(), SysMemoryError> {
        // path[level] = (table offset, entry offset) from PML4 (3) to PT (0).
        let mut path = [(0u64, 0u64); 4];
        let mut table = self.root;
        for level in (0..=3).rev() {
            let entry_at = table + index(va, level) * 8;
            path[level as usize] = (table, entry_at);
            let entry = mem.read_u64(entry_at)?;
            if entry & PRESENT == 0 {
                return Ok(());
            }
            if level > 0 {
                table = (entry & ADDR_MASK) - SYS_GPA;
            }
        }
        for level in 0..=3 {
            let (table, entry_at) = path[level];
            mem.write_u64(entry_at, 0)?;
            let count = self.count_mut(table);
            *count = count.saturating_sub(1);
            if *count > 0 || table == self.root {
                break;
            }
            self.free.push(table);
        }
        Ok(())
    }

    /// Walks the tables: the guest-physical address and leaf flags of `va`.
    pub fn translate(&self, mem: &SysMemory, va: u64) -> Option<(u64, u64)> {
        let mut table = self.root;
        for level in (0..=3).rev() {
            let entry = mem.read_u64(table + index(va, level) * 8).ok()?;
            if entry & PRESENT == 0 {
                return None;
            }
            if level == 0 {
                return Some(((entry & ADDR_MASK) | (va & (PAGE - 1)), entry & !ADDR_MASK));
            }
            table = (entry & ADDR_MASK).checked_sub(SYS_GPA)?;
        }
        None
    }

    /// Table frames in use.
    #[cfg(test)]
    pub fn frames_in_use(&self) -> u64 {
        (self.next - TABLES) / PAGE - self.free.len() as u64
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn map_translate_unmap_prunes() {
        let mem = SysMemory::new(TABLES + 64 * PAGE).unwrap();
        let mut pt = PageTables::new(&mem).unwrap();
        assert_eq!(pt.frames_in_use(), 1);
        let va = 0x7fff_f000_0000;
        pt.map(&mem, va, 0x5000, USER | WRITABLE).unwrap();
        pt.map(&mem, va + PAGE, 0x6000, USER).unwrap();
        assert_eq!(pt.frames_in_use(), 4, "PML4 + PDPT + PD + PT");
        assert_eq!(
            pt.translate(&mem, va + 0x10),
            Some((0x5010, USER | WRITABLE | PRESENT))
        );
        assert_eq!(pt.translate(&mem, va + 2 * PAGE), None);
        pt.unmap(&mem, va).unwrap();
        assert_eq!(pt.translate(&mem, va), None);
        assert_eq!(pt.frames_in_use(), 4, "the PT still maps one page");
        pt.unmap(&mem, va + PAGE).unwrap();
        assert_eq!(pt.frames_in_use(), 1, "empty tables are freed");
        pt.unmap(&mem, va + PAGE).unwrap();
        // Freed frames are reused.
        pt.map(&mem, 0x40_0000, 0x1000, USER | NO_EXECUTE).unwrap();
        assert_eq!(pt.frames_in_use(), 4);
        assert_eq!(
            pt.translate(&mem, 0x40_0000),
            Some((0x1000, USER | NO_EXECUTE | PRESENT))
        );
    }

    #[test]
    fn pool_exhaustion_is_an_error() {
        let mem = SysMemory::new(TABLES + 2 * PAGE).unwrap();
        let mut pt = PageTables::new(&mem).unwrap();
        assert!(matches!(
            pt.map(&mem, 0x40_0000, 0, USER),
            Err(SysMemoryError::Exhausted)
        ));
    }
}
