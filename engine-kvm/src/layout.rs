//! Where things are in the VM: guest-physical slots, the kernel's virtual
//! window, and the system structures inside it.
//!
//! ```text
//! GPA 0 ..                   the contract's memory (the shared arena)
//! GPA SYS_GPA ..             system memory (this crate's)
//!   +0x0000 GDT   +0x0080 TSS   +0x1000 IDT   +0x2000 stub code
//!   +0x3000 stub data (TLB-flush flag, scratch)   +0x4000..0x8000 stack
//!   +0x10000 ..              page-table frames
//! VA KERNEL_BASE + off  ->   SYS_GPA + off, supervisor-only
//! ```

pub const PAGE: u64 = 4096;

/// Guest-physical base of system memory: above any arena (the memory limit
/// is at most 64 GiB) and below the 40-bit physical address width that the
/// CPU profile reports.
pub const SYS_GPA: u64 = 64 << 30;

use qvm_common::engine::visible;

/// Kernel virtual window: the last PML4 slot, never a user address. The
/// contract can read where the GDT, IDT and TSS are (SGDT, SIDT, STR): the
/// shared machine definition fixes it, and the emulator shows the same.
pub const KERNEL_BASE: u64 = visible::SYSTEM_BASE;

pub const GDT: u64 = visible::GDT_BASE - KERNEL_BASE;
pub const TSS: u64 = visible::TSS_BASE - KERNEL_BASE;
pub const TSS_LIMIT: u64 = visible::TSS_LIMIT as u64;
pub const IDT: u64 = visible::IDT_BASE - KERNEL_BASE;
pub const CODE: u64 = 0x2000;
pub const DATA: u64 = 0x3000;
/// Byte the host sets when page tables changed; the stub reloads CR3.
pub const TLB_FLAG: u64 = DATA;
/// Where the stub saves RAX while it reloads CR3.
pub const SCRATCH: u64 = DATA + 8;
/// Where the syscall entry and every exception handler store the
/// contract's MXCSR (STMXCSR) before exiting: KVM_GET_FPU's MXCSR is not
/// reliable (in the nested VM it reads 0).
pub const MXCSR_SAVED: u64 = DATA + 16;
/// The MXCSR the resume entry loads (LDMXCSR) before IRETQ, for the same
/// reason.
pub const MXCSR_LOAD: u64 = DATA + 24;
pub const STACK_BOTTOM: u64 = 0x4000;
pub const STACK_TOP: u64 = 0x8000;
pub const TABLES: u64 = 0x10000;

/// Number of exception vectors with a handler.
pub const VECTORS: u64 = 32;
/// Offset of vector N's handler in the code page: CODE + N * 16.
pub const HANDLER_SIZE: u64 = 16;
/// Offset of the syscall entry (LSTAR) in the code page.
pub const SYSCALL_ENTRY: u64 = CODE + 0x400;
/// Offset of the resume entry: loads a whole thread context through an
/// IRETQ frame at the top of the stack (after flushing the TLB if asked).
pub const RESUME_ENTRY: u64 = CODE + 0x500;
/// Where the host writes the IRETQ frame for the resume entry.
pub const RESUME_FRAME: u64 = STACK_TOP - 5 * 8;

/// I/O port the syscall entry writes to.
pub const PORT_SYSCALL: u16 = 0x60;
/// I/O port base for exceptions: vector N writes to PORT_EXCEPTION + N.
pub const PORT_EXCEPTION: u16 = 0x20;

// GDT selectors (Linux's layout, so STAR is Linux's too).
pub use visible::selector::{KERNEL_CS, USER32_CS, USER_CS, USER_DS};
pub const TSS_SEL: u16 = visible::TR_SELECTOR;

/// Size of system memory for an arena of `arena` bytes: the fixed part
/// plus room for the worst case of page tables (three table pages per
/// mapped page), reserved lazily.
pub fn sys_size(arena: u64) -> u64 {
    TABLES + 3 * arena + 4 * PAGE
}
