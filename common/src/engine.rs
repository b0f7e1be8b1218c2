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
    /// Instructions retired so far, this `syscall` included; None on an
    /// engine that does not count them.
    pub instructions: Option<u64>,
    /// The stack pointer at the `syscall` (sigaltstack needs it).
    pub sp: u64,
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
    /// Complete the syscall with RAX = `value` (RCX and R11 as Linux
    /// leaves them), then return [`Exit::Reschedule`] before the next
    /// instruction: the kernel needs the whole thread context, to switch
    /// threads, deliver a signal or restore one from a signal frame.
    Reschedule { value: u64 },
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
    /// #MF (vector 16, x87) or #XM (19, SSE): an unmasked floating point
    /// exception.
    FloatingPoint { rip: u64, vector: u32 },
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
        vector::X87_FLOATING_POINT | vector::SIMD_FLOATING_POINT => {
            Fault::FloatingPoint { rip, vector }
        }
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
    /// The guest retired as many instructions as the supervisor's
    /// [`Supervisor::instruction_limit`] allows and was stopped before the
    /// next one.
    InstructionLimit,
    /// The host's deadline ([`Engine::set_deadline`]) passed: not a
    /// deterministic verdict.
    TimedOut,
    /// The supervisor answered a syscall with
    /// [`SyscallAction::Reschedule`]: the syscall is complete and the
    /// kernel takes the context ([`Engine::context`]) before anything
    /// runs again.
    Reschedule,
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
    /// Executable ranges `(start, len)` the kernel wrote or zeroed since
    /// last asked (a `read` into code, a signal frame, MADV_DONTNEED): an
    /// engine that keeps translated code must forget theirs before the
    /// guest runs again, as a CPU sees the new bytes. Asked when `run`
    /// starts and after every syscall.
    fn take_code_written(&mut self) -> Vec<(u64, u64)> {
        Vec::new()
    }
    /// The deterministic time-stamp counter value for an RDTSC/RDTSCP.
    fn rdtsc(&mut self) -> u64;
    /// The instruction count the guest may reach but not pass (metering);
    /// None for no limit. Asked when `run` starts and after every syscall.
    fn instruction_limit(&self) -> Option<u64> {
        None
    }
}

/// The FXSAVE image of the x87, MMX and SSE state (512 bytes, the
/// layout of Intel's SDM table 10-2). qvm hides XSAVE, so this is the whole
/// FP state of a thread, and what Linux puts in a signal frame.
#[derive(Clone, Copy, PartialEq, Eq)]
pub struct FxsaveArea(pub [u8; FxsaveArea::SIZE]);

impl FxsaveArea {
    pub const SIZE: usize = 512;
    const FCW: usize = 0;
    const FTW: usize = 4;
    const MXCSR: usize = 24;
    const MXCSR_MASK: usize = 28;
    /// MXCSR_MASK as the profile's CPU reports it (DAZ supported).
    pub const MXCSR_MASK_VALUE: u32 = 0xffff;

    /// The state of a freshly exec'd process: Linux's default control
    /// words, every x87 register empty, all else zero.
    pub fn initial() -> Self {
        let mut a = [0u8; Self::SIZE];
        a[Self::FCW..Self::FCW + 2].copy_from_slice(&INITIAL_FCW.to_le_bytes());
        // FXSAVE's abridged tag word: 0 = every register empty.
        a[Self::FTW] = 0;
        a[Self::MXCSR..Self::MXCSR + 4].copy_from_slice(&INITIAL_MXCSR.to_le_bytes());
        a[Self::MXCSR_MASK..Self::MXCSR_MASK + 4]
            .copy_from_slice(&Self::MXCSR_MASK_VALUE.to_le_bytes());
        FxsaveArea(a)
    }

    /// The x87 control word.
    pub fn fcw(&self) -> u16 {
        u16::from_le_bytes([self.0[Self::FCW], self.0[Self::FCW + 1]])
    }

    /// MXCSR.
    pub fn mxcsr(&self) -> u32 {
        let b = &self.0[Self::MXCSR..Self::MXCSR + 4];
        u32::from_le_bytes([b[0], b[1], b[2], b[3]])
    }
}

impl Default for FxsaveArea {
    fn default() -> Self {
        FxsaveArea::initial()
    }
}

impl std::fmt::Debug for FxsaveArea {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "FxsaveArea {{ fcw: {:#x}, mxcsr: {:#x}, .. }}",
            self.fcw(),
            self.mxcsr()
        )
    }
}

/// The general-purpose registers of x86-64.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct GeneralRegisters {
    pub rax: u64,
    pub rbx: u64,
    pub rcx: u64,
    pub rdx: u64,
    pub rsi: u64,
    pub rdi: u64,
    pub rbp: u64,
    pub rsp: u64,
    pub r8: u64,
    pub r9: u64,
    pub r10: u64,
    pub r11: u64,
    pub r12: u64,
    pub r13: u64,
    pub r14: u64,
    pub r15: u64,
}

/// Everything a user-mode thread has in the CPU: what the kernel saves
/// when it switches threads, and what a signal frame holds. Segment
/// selectors are not part of it: every thread runs with Linux's user CS
/// and SS and null data selectors.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct ThreadContext {
    pub regs: GeneralRegisters,
    pub rip: u64,
    pub rflags: u64,
    pub fs_base: u64,
    pub gs_base: u64,
    pub fxsave: FxsaveArea,
}

/// The RFLAGS bits a thread's context may set (CF, PF, AF, ZF, SF, TF,
/// DF, OF, NT, RF, AC, ID): what user code can change with POPF, plus RF.
/// Engines load `(rflags & USER_RFLAGS) | INITIAL_RFLAGS`, so IF stays set
/// and IOPL stays 0 whatever a context says.
pub const USER_RFLAGS: u64 = 0x1
    | 0x4
    | 0x10
    | 0x40
    | 0x80
    | 0x100
    | 0x400
    | 0x800
    | 0x4000
    | 0x1_0000
    | 0x4_0000
    | 0x20_0000;

/// Initial register state of a new process.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct EntryState {
    pub rip: u64,
    pub rsp: u64,
}

/// Machine state a contract can read at CPL 3 without asking the kernel,
/// the same on every engine: CR0 through SMSW, and the descriptor-table
/// registers through SGDT, SIDT, SLDT and STR. The KVM engine's system
/// structures are where these say; the emulator shows the same values.
pub mod visible {
    /// CR0 bits.
    pub mod cr0 {
        pub const PE: u64 = 1;
        pub const MP: u64 = 1 << 1;
        pub const ET: u64 = 1 << 4;
        pub const NE: u64 = 1 << 5;
        pub const WP: u64 = 1 << 16;
        /// Alignment mask: with RFLAGS.AC, misaligned data at CPL 3 is #AC.
        pub const AM: u64 = 1 << 18;
        pub const PG: u64 = 1 << 31;
    }
    /// CR0 as Linux sets it for a process (0x80050033): protected mode,
    /// paging, native FPU errors, write protection and alignment checking
    /// available to user code (so RFLAGS.AC gives SIGBUS, as on Linux).
    pub const CR0: u64 = cr0::PE | cr0::MP | cr0::ET | cr0::NE | cr0::WP | cr0::AM | cr0::PG;
    /// Where the GDT, IDT and TSS live: the KVM engine's system window, the
    /// last PML4 slot, never a user address.
    pub const SYSTEM_BASE: u64 = 0xffff_ff80_0000_0000;
    /// GDTR: ten descriptors (Linux's selector layout and a 16-byte TSS).
    pub const GDT_BASE: u64 = SYSTEM_BASE;
    pub const GDT_LIMIT: u16 = 10 * 8 - 1;
    /// IDTR: 32 16-byte gates.
    pub const IDT_BASE: u64 = SYSTEM_BASE + 0x1000;
    pub const IDT_LIMIT: u16 = 32 * 16 - 1;
    /// Linux's GDT selectors (so STAR and the user selectors are Linux's).
    pub mod selector {
        pub const KERNEL_CS: u16 = 0x10;
        pub const KERNEL_DS: u16 = 0x18;
        pub const USER32_CS: u16 = 0x23;
        pub const USER_DS: u16 = 0x2b;
        pub const USER_CS: u16 = 0x33;
        pub const TSS: u16 = 0x40;
    }
    /// TR: the TSS descriptor's selector, as STR reads it.
    pub const TR_SELECTOR: u16 = selector::TSS;
    /// TSS base and limit (104 bytes: no I/O bitmap, so user I/O faults).
    pub const TSS_BASE: u64 = SYSTEM_BASE + 0x80;
    pub const TSS_LIMIT: u32 = 0x67;

    /// A flat code or data descriptor: base 0, limit 0xfffff pages (ignored
    /// in 64-bit mode but set as Linux does), with the access byte and
    /// flags nibble given.
    fn descriptor(access: u8, flags: u8) -> u64 {
        0xffff | (0xf << 48) | (u64::from(access) << 40) | (u64::from(flags) << 52)
    }

    /// The GDT's bytes: Linux's selector layout, then the 16-byte TSS
    /// descriptor. The KVM engine's CPU reads it from system memory; the
    /// emulator gets a copy for its descriptor loads (segment registers,
    /// far transfers, IRETQ), so both accept and refuse the same selectors.
    pub fn gdt() -> [u8; GDT_LIMIT as usize + 1] {
        let mut entries = [0u64; (GDT_LIMIT as usize + 1) / 8];
        let mut set = |selector: u16, value: u64| {
            if let Some(e) = entries.get_mut(usize::from(selector / 8)) {
                *e = value;
            }
        };
        // Accessed bits set, as in Linux's GDT (LAR shows them).
        set(selector::KERNEL_CS, descriptor(0x9b, 0xa)); // P, DPL0, code; G, L
        set(selector::KERNEL_DS, descriptor(0x93, 0xc)); // P, DPL0, data; G, D
        set(selector::USER32_CS, descriptor(0xfb, 0xc)); // P, DPL3, code; G, D
        set(selector::USER_DS, descriptor(0xf3, 0xc)); // P, DPL3, data; G, D
        set(selector::USER_CS, descriptor(0xfb, 0xa)); // P, DPL3, code; G, L
        set(
            selector::TSS,
            u64::from(TSS_LIMIT)
                | ((TSS_BASE & 0xff_ffff) << 16)
                | (0x89 << 40) // P, DPL0, available 64-bit TSS
                | (((TSS_BASE >> 24) & 0xff) << 56),
        );
        set(selector::TSS + 8, TSS_BASE >> 32);
        let mut bytes = [0u8; GDT_LIMIT as usize + 1];
        for (chunk, e) in bytes.chunks_exact_mut(8).zip(entries) {
            chunk.copy_from_slice(&e.to_le_bytes());
        }
        bytes
    }
}

/// Initial RFLAGS: IF set, as Linux starts a process (bit 1 is reserved-1).
pub const INITIAL_RFLAGS: u64 = 0x202;
/// Initial x87 control word (Linux's default).
pub const INITIAL_FCW: u16 = 0x37f;
/// Initial x87 tag word: every register empty, as FNINIT leaves it and
/// Linux starts a process (FNSTENV stores 0xffff; FXSAVE's abridged form
/// is 0).
pub const INITIAL_FTW: u16 = 0xffff;
/// Initial MXCSR (Linux's default).
pub const INITIAL_MXCSR: u32 = 0x1f80;

/// A CPU that runs guest code. One per running contract.
pub trait Engine {
    /// Short name of the backend ("emu", "kvm").
    fn name(&self) -> &'static str;
    /// Applies address-space changes.
    fn apply(&mut self, changes: &[MemoryChange]) -> Result<(), EngineError>;
    /// Forgets code translated from guest virtual `[start, start + len)`,
    /// a mapped range whose memory changed behind the engine's back (a
    /// contract's image restored between calls). An engine that keeps no
    /// translations has nothing to do.
    fn forget_code(&mut self, start: u64, len: u64) -> Result<(), EngineError> {
        let _ = (start, len);
        Ok(())
    }
    /// Sets the whole user-visible CPU state of a freshly exec'd process:
    /// every register, segment selector and the FP state, whatever ran
    /// before (an engine is reused between calls).
    fn reset(&mut self, entry: EntryState) -> Result<(), EngineError>;
    /// A wall-clock deadline for the following runs (`None`: none). Past
    /// it, `run` returns [`Exit::TimedOut`] promptly, whatever the guest
    /// does (see [`crate::watchdog`]).
    fn set_deadline(&mut self, deadline: Option<std::time::Instant>);
    /// Runs the guest until the supervisor stops it, it faults, it
    /// reaches the supervisor's instruction limit or the deadline passes.
    fn run(&mut self, supervisor: &mut dyn Supervisor) -> Result<Exit, EngineError>;
    /// Whether this engine counts retired instructions exactly
    /// (`docs/gas.md`), and so can meter a call.
    fn counts_instructions(&self) -> bool {
        false
    }
    /// Instructions retired since `reset`; None when the engine does not
    /// count them.
    fn instructions(&self) -> Option<u64> {
        None
    }
    /// The running thread's registers, between runs.
    fn context(&self) -> Result<ThreadContext, EngineError>;
    /// Loads a thread's registers (at CPL 3 with Linux's user segments);
    /// the next run continues that thread. An FXSAVE image with reserved
    /// MXCSR bits is refused.
    fn set_context(&mut self, context: &ThreadContext) -> Result<(), EngineError>;
}
