//! The backend interface. Shaped like gVisor's platform: the kernel owns the
//! semantics, an engine only runs guest code until something needs the
//! kernel. An engine calls back into the [`Supervisor`] for every syscall
//! and every RDTSC, applies the memory changes it is given, and returns
//! when the guest stops or faults.

use thiserror::Error;

use crate::address_space::MemoryChange;

/// A syscall as the guest made it: RAX and the six argument registers.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct SyscallRequest {
    pub nr: u64,
    pub args: [u64; 6],
}

/// What the engine does after the kernel handled a syscall.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SyscallAction {
    /// Resume the guest with RAX = `value` (RCX and R11 as Linux leaves
    /// them), after setting the FS base if asked.
    Return {
        value: u64,
        set_fs_base: Option<u64>,
        set_gs_base: Option<u64>,
    },
    /// The process is gone: stop running.
    Stop,
}

impl SyscallAction {
    /// A plain return value.
    pub fn value(value: u64) -> Self {
        SyscallAction::Return {
            value,
            set_fs_base: None,
            set_gs_base: None,
        }
    }
}

/// How a guest access failed.
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Access {
    Read,
    Write,
    Execute,
}

/// A CPU exception the guest did not survive.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Fault {
    /// Page fault: unmapped or protection violation at `addr`.
    Memory { addr: u64, access: Access },
    /// #UD at `rip`.
    InvalidOpcode { rip: u64 },
    /// #DE at `rip`.
    DivideError { rip: u64 },
    /// #BP (int3); `rip` is after the int3, as Linux reports.
    Breakpoint { rip: u64 },
    /// #GP (privileged or non-canonical access, `int N`).
    GeneralProtection { rip: u64 },
    /// #MF/#XM: an unmasked floating point exception.
    FloatingPoint { rip: u64 },
    /// #AC: alignment check.
    Alignment { rip: u64 },
}

/// x86 exception vectors.
pub mod vector {
    pub const DIVIDE_ERROR: u32 = 0;
    pub const DEBUG: u32 = 1;
    pub const BREAKPOINT: u32 = 3;
    pub const INVALID_OPCODE: u32 = 6;
    pub const GENERAL_PROTECTION: u32 = 13;
    pub const PAGE_FAULT: u32 = 14;
    pub const X87_FLOATING_POINT: u32 = 16;
    pub const ALIGNMENT_CHECK: u32 = 17;
    pub const SIMD_FLOATING_POINT: u32 = 19;
}

/// The fault for exception `vector` (anything but a page fault, which
/// carries an address), with `rip` as the CPU reports it: the faulting
/// instruction, or the next one for traps such as int3. Both engines use
/// this one table, so a vector means the same signal everywhere.
pub fn fault_for_vector(vector: u32, rip: u64) -> Fault {
    match vector {
        vector::DIVIDE_ERROR => Fault::DivideError { rip },
        vector::DEBUG | vector::BREAKPOINT => Fault::Breakpoint { rip },
        vector::INVALID_OPCODE => Fault::InvalidOpcode { rip },
        vector::X87_FLOATING_POINT | vector::SIMD_FLOATING_POINT => Fault::FloatingPoint { rip },
        vector::ALIGNMENT_CHECK => Fault::Alignment { rip },
        // #GP, #SS, #NP, `int N` from user mode, INTO/BOUND: all SIGSEGV.
        _ => Fault::GeneralProtection { rip },
    }
}

/// Why [`Engine::run`] returned.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Exit {
    /// The supervisor asked to stop (the process exited or was killed).
    Stopped,
    /// The guest faulted.
    Fault(Fault),
}

/// Engine failures: never the guest's fault, always qvm's or the host's.
#[derive(Debug, Error)]
pub enum EngineError {
    #[error("{backend}: {what}")]
    Backend { backend: &'static str, what: String },
    #[error("backend {0} is not available: {1}")]
    Unavailable(&'static str, String),
}

/// The kernel side of the engine interface.
pub trait Supervisor {
    /// Handles one syscall.
    fn syscall(&mut self, request: SyscallRequest) -> SyscallAction;
    /// Memory changes the engine must apply before the guest runs again.
    fn take_memory_changes(&mut self) -> Vec<MemoryChange>;
    /// The deterministic time-stamp counter value for an RDTSC/RDTSCP.
    fn rdtsc(&mut self) -> u64;
}

/// Initial register state of a new process.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct EntryState {
    pub rip: u64,
    pub rsp: u64,
}

/// Initial RFLAGS: IF set, as Linux starts a process (bit 1 is reserved-1).
pub const INITIAL_RFLAGS: u64 = 0x202;
/// Initial x87 control word (Linux's default).
pub const INITIAL_FCW: u16 = 0x37f;
/// Initial MXCSR (Linux's default).
pub const INITIAL_MXCSR: u32 = 0x1f80;

/// A CPU that runs guest code. One per running contract.
pub trait Engine {
    /// Short name of the backend ("emu", "kvm").
    fn name(&self) -> &'static str;
    /// Applies address-space changes.
    fn apply(&mut self, changes: &[MemoryChange]) -> Result<(), EngineError>;
    /// Sets the registers of a freshly exec'd process.
    fn reset(&mut self, entry: EntryState) -> Result<(), EngineError>;
    /// Runs the guest until the supervisor stops it or it faults.
    fn run(&mut self, supervisor: &mut dyn Supervisor) -> Result<Exit, EngineError>;
}
