//! The VM's "system" memory: a second memory slot, invisible to the
//! contract, holding the GDT, IDT, TSS, the ring-0 stub, its stack and the
//! page tables. The host writes it directly.

use std::ptr::NonNull;

use crate::layout::PAGE;

/// Errors of system memory.
#[derive(Debug, thiserror::Error)]
pub enum SysMemoryError {
    #[error("cannot reserve {0} bytes of system memory: {1}")]
    Reserve(u64, std::io::Error),
    #[error("system memory access at {0:#x} is out of range")]
    OutOfRange(u64),
    #[error("page-table memory is exhausted")]
    Exhausted,
}

/// A host mapping with bounds-checked 64-bit accessors.
pub struct SysMemory {
    host: NonNull<u8>,
    size: u64,
}

// SAFETY: a plain anonymous mapping owned by this value; the vCPU that
// also accesses it is owned by the same engine.
unsafe impl Send for SysMemory {}

impl SysMemory {
    /// Reserves `size` bytes (page multiple), lazily backed.
    pub fn new(size: u64) -> Result<Self, SysMemoryError> {
        // SAFETY: a fresh anonymous mapping; checked for MAP_FAILED.
        let raw = unsafe {
            libc::mmap(
                std::ptr::null_mut(),
                size as usize,
                libc::PROT_READ | libc::PROT_WRITE,
                libc::MAP_PRIVATE | libc::MAP_ANONYMOUS | libc::MAP_NORESERVE,
                -1,
                0,
            )
        };
        if raw == libc::MAP_FAILED {
            return Err(SysMemoryError::Reserve(
                size,
                std::io::Error::last_os_error(),
            ));
        }
        let host = NonNull::new(raw.cast::<u8>()).ok_or(SysMemoryError::OutOfRange(0))?;
        Ok(SysMemory { host, size })
    }

    pub fn size(&self) -> u64 {
        self.size
    }

    pub fn host_base(&self) -> *mut u8 {
        self.host.as_ptr()
    }

    fn check(&self, offset: u64, len: u64) -> Result<usize, SysMemoryError> {
        match offset.checked_add(len) {
            Some(end) if end <= self.size => Ok(offset as usize),
            _ => Err(SysMemoryError::OutOfRange(offset)),
        }
    }

    pub fn read_u64(&self, offset: u64) -> Result<u64, SysMemoryError> {
        let at = self.check(offset, 8)?;
        // SAFETY: bounds checked above; unaligned read of plain bytes.
        Ok(unsafe { self.host.as_ptr().add(at).cast::<u64>().read_unaligned() })
    }

    pub fn write_u64(&self, offset: u64, value: u64) -> Result<(), SysMemoryError> {
        let at = self.check(offset, 8)?;
        // SAFETY: bounds checked above; unaligned write of plain bytes.
        unsafe {
            self.host
                .as_ptr()
                .add(at)
                .cast::<u64>()
                .write_unaligned(value)
        };
        Ok(())
    }

    pub fn write_bytes(&self, offset: u64, bytes: &[u8]) -> Result<(), SysMemoryError> {
        let at = self.check(offset, bytes.len() as u64)?;
        // SAFETY: bounds checked above; the source is a distinct slice.
        unsafe {
            std::ptr::copy_nonoverlapping(bytes.as_ptr(), self.host.as_ptr().add(at), bytes.len())
        };
        Ok(())
    }

    /// Zeroes one page.
    pub fn zero_page(&self, offset: u64) -> Result<(), SysMemoryError> {
        let at = self.check(offset, PAGE)?;
        // SAFETY: bounds checked above.
        unsafe { std::ptr::write_bytes(self.host.as_ptr().add(at), 0, PAGE as usize) };
        Ok(())
    }
}

impl Drop for SysMemory {
    fn drop(&mut self) {
        // SAFETY: unmapping exactly the mapping made in `new`; the VM that
        // referenced it is dropped before (field order in the engine).
        unsafe { libc::munmap(self.host.as_ptr().cast(), self.size as usize) };
    }
}
