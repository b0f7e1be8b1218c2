//! qvm-common: everything the two backends share.
//!
//! The machine model (guest memory, address space, CPU profile), the ELF
//! loader and initial process image, the synthetic Linux kernel and the
//! contract call model live here. Engines only execute instructions: they
//! depend on this crate through the [`engine::Engine`] trait and know nothing
//! of syscalls beyond "the guest asked for one".

pub mod address_space;
pub mod call;
pub mod contract;
pub mod cpu_profile;
pub mod elf;
pub mod engine;
pub mod guest_memory;
pub mod image;
pub mod kernel;
pub mod layout;
pub mod linux_abi;
pub mod process_image;
pub mod random;
pub mod state;
pub mod test_elf;
pub mod warm;
pub mod watchdog;
