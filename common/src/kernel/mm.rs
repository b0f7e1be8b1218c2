//! Memory syscalls: brk, mmap, munmap, mprotect, mremap, madvise. All of
//! them act on the shared [`AddressSpace`](crate::address_space), which
//! records the changes the engine applies.

use super::{Errno, Kernel, SysResult};
use crate::address_space::{AddressSpace, Prot};
use crate::layout::{page_align_up, MMAP_TOP, PAGE_SIZE, USER_END, USER_MIN};
use crate::linux_abi::mman::*;

/// The program break.
#[derive(Clone, Copy, Debug)]
pub struct Brk {
    pub start: u64,
    pub current: u64,
}

impl Kernel {
    pub(super) fn sys_brk(&mut self, a: &[u64; 6]) -> SysResult {
        let want = a[0];
        let Brk { start, current } = self.brk;
        if want < start {
            return Ok(current);
        }
        let (Some(old_end), Some(new_end)) = (page_align_up(current), page_align_up(want)) else {
            return Ok(current);
        };
        if new_end > MMAP_TOP {
            return Ok(current);
        }
        if new_end > old_end {
            if !self.space.is_free(old_end, new_end)
                || self
                    .space
                    .map_fixed(old_end, new_end - old_end, Prot::RW, true)
                    .is_err()
            {
                return Ok(current);
            }
        } else if new_end < old_end && self.space.unmap(new_end, old_end - new_end).is_err() {
            return Ok(current);
        }
        self.brk.current = want;
        Ok(want)
    }

    pub(super) fn sys_mmap(&mut self, a: &[u64; 6]) -> SysResult {
        let (addr, len, prot, flags, fd, offset) = (a[0], a[1], a[2], a[3], a[4] as i32, a[5]);
        let prot =
            Prot::from_linux(prot & !(PROT_GROWSDOWN | PROT_GROWSUP)).ok_or(Errno::EINVAL)?;
        if len == 0 || offset % PAGE_SIZE != 0 {
            return Err(Errno::EINVAL);
        }
        match flags & MAP_SHARED_VALIDATE {
            MAP_SHARED | MAP_PRIVATE | MAP_SHARED_VALIDATE => {}
            _ => return Err(Errno::EINVAL),
        }
        // /dev/zero maps as anonymous memory; a file of the in-memory file
        // system maps its bytes; everything else has nothing behind it.
        let file = if flags & MAP_ANONYMOUS != 0 || self.fd_is_zero(fd)? {
            None
        } else {
            Some(self.node_mappable(fd, prot, flags & MAP_SHARED != 0)?)
        };
        let len = AddressSpace::page_len(len)?;
        if len > USER_END - USER_MIN {
            return Err(Errno::ENOMEM);
        }
        if offset
            .checked_add(len)
            .is_none_or(|end| end > i64::MAX as u64)
        {
            return Err(Errno::EOVERFLOW);
        }
        // Shared anonymous memory behaves like private memory in a process
        // that cannot fork.
        let backed = prot != Prot::NONE;
        let start = if flags & MAP_FIXED != 0 {
            if addr % PAGE_SIZE != 0 {
                return Err(Errno::EINVAL);
            }
            addr
        } else {
            let hint = addr & !(PAGE_SIZE - 1);
            let hint_ok = hint >= USER_MIN
                && hint
                    .checked_add(len)
                    .is_some_and(|end| end <= USER_END && self.space.is_free(hint, end));
            if flags & MAP_FIXED_NOREPLACE != 0 {
                if addr % PAGE_SIZE != 0 {
                    return Err(Errno::EINVAL);
                }
                if !hint_ok {
                    return Err(if hint < USER_MIN {
                        Errno::EPERM
                    } else {
                        Errno::EEXIST
                    });
                }
                hint
            } else if hint_ok {
                hint
            } else {
                self.space
                    .find_free_top_down(len, self.brk_floor(), MMAP_TOP)
                    .ok_or(Errno::ENOMEM)?
            }
        };
        match file {
            Some(ino) => self.node_map(ino, start, len, prot, flags & MAP_SHARED != 0, offset)?,
            None => self.space.map_fixed(start, len, prot, backed)?,
        }
        Ok(start)
    }

    /// Lowest address the mmap search may use: above the heap, leaving it
    /// room to grow.
    fn brk_floor(&self) -> u64 {
        page_align_up(self.brk.current)
            .unwrap_or(USER_MIN)
            .max(USER_MIN)
    }

    fn fd_is_zero(&self, fd: i32) -> Result<bool, Errno> {
        self.files_kind(fd)
            .map(|k| k == super::files::FileKind::Zero)
    }

    pub(super) fn sys_munmap(&mut self, a: &[u64; 6]) -> SysResult {
        if a[0] % PAGE_SIZE != 0 || a[1] == 0 {
            return Err(Errno::EINVAL);
        }
        let len = AddressSpace::page_len(a[1])?;
        self.space.unmap(a[0], len).map_err(|e| match e {
            crate::address_space::MmError::NoMemory => Errno::EINVAL,
            other => Errno::from(other),
        })?;
        Ok(0)
    }

    pub(super) fn sys_mprotect(&mut self, a: &[u64; 6]) -> SysResult {
        if a[0] % PAGE_SIZE != 0 {
            return Err(Errno::EINVAL);
        }
        let prot =
            Prot::from_linux(a[2] & !(PROT_GROWSDOWN | PROT_GROWSUP)).ok_or(Errno::EINVAL)?;
        if a[1] == 0 {
            return Ok(0);
        }
        let len = AddressSpace::page_len(a[1])?;
        self.space.protect(a[0], len, prot)?;
        Ok(0)
    }

    pub(super) fn sys_mremap(&mut self, a: &[u64; 6]) -> SysResult {
        let (old, old_len, new_len, flags, new_addr) = (a[0], a[1], a[2], a[3], a[4]);
        if flags & !(MREMAP_MAYMOVE | MREMAP_FIXED | MREMAP_DONTUNMAP) != 0 || old % PAGE_SIZE != 0
        {
            return Err(Errno::EINVAL);
        }
        if flags & MREMAP_FIXED != 0 && flags & MREMAP_MAYMOVE == 0 {
            return Err(Errno::EINVAL);
        }
        if flags & MREMAP_DONTUNMAP != 0 {
            // Only meaningful with userfaultfd, which qvm does not offer.
            return Err(Errno::EINVAL);
        }
        let old_len = AddressSpace::page_len(old_len)?;
        let new_len = AddressSpace::page_len(new_len)?;
        if new_len == 0 || old_len == 0 {
            // old_len == 0 duplicates a shared mapping; qvm does not.
            return Err(Errno::EINVAL);
        }
        if flags & MREMAP_FIXED != 0 {
            if new_addr % PAGE_SIZE != 0 {
                return Err(Errno::EINVAL);
            }
            return Ok(self.space.remap(old, old_len, new_len, Some(new_addr))?);
        }
        match self.space.remap(old, old_len, new_len, None) {
            Err(crate::address_space::MmError::NoMemory)
                if flags & MREMAP_MAYMOVE != 0 && new_len > old_len =>
            {
                let dest = self
                    .space
                    .find_free_top_down(new_len, self.brk_floor(), MMAP_TOP)
                    .ok_or(Errno::ENOMEM)?;
                Ok(self.space.remap(old, old_len, new_len, Some(dest))?)
            }
            other => Ok(other?),
        }
    }

    pub(super) fn sys_madvise(&mut self, a: &[u64; 6]) -> SysResult {
        if a[0] % PAGE_SIZE != 0 {
            return Err(Errno::EINVAL);
        }
        let len = AddressSpace::page_len(a[1])?;
        if len == 0 {
            return Ok(0);
        }
        match a[2] {
            // Anonymous private memory reads back as zeros afterwards.
            // MADV_FREE is *not* here: Linux frees lazily, at a time that
            // depends on host memory pressure, so qvm keeps the contents.
            MADV_DONTNEED | MADV_REMOVE => {
                self.space.zero_range(a[0], len)?;
                Ok(0)
            }
            MADV_HWPOISON => Err(Errno::EPERM),
            advice if advice <= MADV_DONTFORK + 15 => Ok(0),
            _ => Err(Errno::EINVAL),
        }
    }
}
