//! The fixed guest address-space layout. qvm has no ASLR: every run of a
//! contract sees the same addresses, on every backend.

/// Guest page size.
pub const PAGE_SIZE: u64 = 4096;

/// Lowest address a mapping may use (Linux's default `vm.mmap_min_addr`).
pub const USER_MIN: u64 = 0x1_0000;

/// One past the highest user address (Linux's `TASK_SIZE` on x86-64 with
/// 4-level paging).
pub const USER_END: u64 = 0x7fff_ffff_f000;

/// Where a static-pie (ET_DYN) image is placed: Linux's `ELF_ET_DYN_BASE`
/// with randomization off.
pub const PIE_BASE: u64 = 0x5555_5555_4000;

/// Top of the main thread's stack (exclusive).
pub const STACK_TOP: u64 = USER_END;

/// Size of the main thread's stack mapping; also the `RLIMIT_STACK` the
/// kernel reports. Overflowing it faults with SIGSEGV.
pub const STACK_SIZE: u64 = 8 << 20;

/// Unmapped gap kept below the stack (Linux's `stack_guard_gap`).
pub const STACK_GUARD_GAP: u64 = 1 << 20;

/// Top (exclusive) of the area searched top-down for `mmap` without a
/// usable hint: 128 MiB below the stack top, as Linux does without ASLR.
pub const MMAP_TOP: u64 = STACK_TOP - (128 << 20);

/// Default per-call memory limit when `--memory` is not given.
pub const DEFAULT_MEMORY_LIMIT: u64 = 256 << 20;

/// Rounds `value` up to a page boundary; `None` on overflow.
pub fn page_align_up(value: u64) -> Option<u64> {
    value
        .checked_add(PAGE_SIZE - 1)
        .map(|v| v & !(PAGE_SIZE - 1))
}

/// Rounds `value` down to a page boundary.
pub fn page_align_down(value: u64) -> u64 {
    value & !(PAGE_SIZE - 1)
}

/// True when `value` is page aligned.
pub fn is_page_aligned(value: u64) -> bool {
    value % PAGE_SIZE == 0
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn alignment() {
        assert_eq!(page_align_up(0), Some(0));
        assert_eq!(page_align_up(1), Some(PAGE_SIZE));
        assert_eq!(page_align_up(u64::MAX), None);
        assert_eq!(page_align_down(PAGE_SIZE + 5), PAGE_SIZE);
        assert!(
            is_page_aligned(STACK_TOP) && is_page_aligned(MMAP_TOP) && is_page_aligned(PIE_BASE)
        );
    }
}
