//! qvm's software CPU: unicorn-engine, x86-64 only.
//!
//! The engine only executes instructions. Everything Linux-shaped comes
//! from `qvm-common`: the syscall hook hands the registers to the
//! [`Supervisor`] and writes back RAX, RCX and R11 as Linux's `sysret`
//! leaves them (unicorn's hook sets neither RCX nor R11); CPUID answers
//! from the shared CPU profile; RDTSC/RDTSCP return the kernel's virtual
//! clock. The CPU runs the contract at CPL 3 with Linux's CR0 (so privileged
//! and I/O instructions fault, and RFLAGS.AC checks alignment, as on KVM),
//! and its model (qvm's carried unicorn, `UC_CPU_X86_QVM`) has exactly the
//! profile's required features: QEMU checks the model when it translates,
//! so anything else (RDRAND, AVX, every VEX form but BMI) is #UD. There is
//! no per-instruction or per-block hook.

use std::ffi::{c_int, c_void};
use std::ptr::NonNull;
use std::sync::Arc;
use std::time::Instant;

use qvm_common::address_space::MemoryChange;
use qvm_common::cpu_profile;
use qvm_common::engine::{
    fault_for_vector, visible, Access, Engine, EngineError, EntryState, Exit, Fault, FxsaveArea,
    GeneralRegisters, Supervisor, SyscallAction, SyscallRequest, ThreadContext, INITIAL_RFLAGS,
    USER_RFLAGS,
};
use qvm_common::guest_memory::GuestMemory;
use qvm_common::watchdog::Watchdog;
use unicorn_engine::{
    uc_ctl, uc_emu_stop, uc_engine, uc_error, uc_hook, uc_hook_add, uc_reg_read, uc_reg_write,
    uc_x86_mmr, uc_x86_qvm_gdt, Arch, ControlType, HookType, MemType, Mode, Prot, RegisterX86,
    Unicorn, X86CpuModel, X86Insn,
};

const NAME: &str = "emu";
const CR4_OSFXSR: u64 = 1 << 9;
const CR4_OSXMMEXCPT: u64 = 1 << 10;
/// Size of unicorn's buffer of translated code (QEMU's default is 1 GiB).
/// When it is full QEMU flushes every translation and starts over, so a
/// contract that generates and runs fresh code without end costs at most
/// this much host memory for it (docs/performance.md). The largest corpus
/// programs translate a few MiB.
pub const CODE_BUFFER_SIZE: u32 = 32 << 20;

/// State the hooks share with [`EmuEngine::run`]. Boxed so its address is
/// stable: raw C hooks receive it as user data.
#[derive(Default)]
struct HookState {
    /// The kernel, set only while `run` executes guest code.
    supervisor: Option<NonNull<dyn Supervisor>>,
    fault: Option<Fault>,
    stopped: bool,
    /// The supervisor asked for the context after a syscall.
    reschedule: bool,
    error: Option<String>,
}

type Uc<'a> = Unicorn<'a, *mut HookState>;

/// The unicorn-backed engine.
pub struct EmuEngine {
    // Field order matters: the watchdog (whose thread may call
    // `uc_emu_stop` on `uc`) must stop before `uc` closes, and `uc` (and
    // its hooks) must drop before `state` and the memory they point into.
    /// The deadline's watchdog, started by the first run after
    /// `set_deadline` and kept for every run until the deadline changes: a
    /// thread per run cost a threaded contract, which returns to the
    /// kernel at every switch, 6x its time (and far more under qemu-user).
    watchdog: Option<Watchdog>,
    uc: Uc<'static>,
    state: Box<HookState>,
    memory: Arc<GuestMemory>,
    /// Whether translated code counts instructions (docs/gas.md).
    metering: bool,
    deadline: Option<Instant>,
}

/// The engine's handle, for the watchdog's thread to stop emulation with.
struct StopHandle(*mut uc_engine);

// SAFETY: the watchdog only calls `uc_emu_stop` through it, which unicorn
// itself calls from its timeout thread: it sets flags and, while emulation
// runs, exits the CPU loop at the next block; between runs it sets a flag
// that `uc_emu_start` clears. The watchdog is dropped (its thread joined)
// before `uc` closes (field order) and whenever the deadline changes. It
// kicks only once the deadline has passed, and every run from then on
// reports a timeout, so a kick that lands between runs changes nothing.
unsafe impl Send for StopHandle {}

fn backend_error(what: impl std::fmt::Display) -> EngineError {
    EngineError::Backend {
        backend: NAME,
        what: what.to_string(),
    }
}

/// Runs `f` with the supervisor of a running engine.
///
/// # Safety
/// `state` must be the engine's live `HookState`; the supervisor pointer
/// in it is valid while `run` is on the stack, which is the only time
/// unicorn calls hooks.
unsafe fn with_supervisor<R>(
    state: *mut HookState,
    f: impl FnOnce(&mut dyn Supervisor) -> R,
) -> Option<R> {
    // SAFETY: per the function contract.
    let state = unsafe { &mut *state };
    let mut sup = state.supervisor?;
    // SAFETY: set from a `&mut dyn Supervisor` that outlives the emulation.
    Some(f(unsafe { sup.as_mut() }))
}

fn apply_changes(
    uc: &mut Uc<'_>,
    memory: &GuestMemory,
    changes: &[MemoryChange],
) -> Result<(), uc_error> {
    for change in changes {
        match *change {
            MemoryChange::Map {
                start,
                len,
                prot,
                gpa,
            } => {
                let end = gpa.checked_add(len).ok_or(uc_error::ARG)?;
                if end > memory.size() {
                    return Err(uc_error::ARG);
                }
                // SAFETY: [gpa, gpa+len) lies inside the arena (checked
                // above), which the engine keeps alive through its Arc for
                // as long as unicorn exists.
                unsafe {
                    let host = memory.host_base().add(gpa as usize).cast::<c_void>();
                    uc.mem_map_ptr(start, len, Prot(prot.bits()), host)?;
                }
            }
            MemoryChange::Unmap { start, len } => uc.mem_unmap(start, len)?,
        }
    }
    Ok(())
}

/// Forgets code translated from guest `[start, start + len)`. Page by
/// page: unicorn turns the first address of a range into host memory and
/// assumes the rest is contiguous, which holds for a page but not for a
/// range that spans two of its regions.
fn forget_code(uc: &mut Uc<'_>, start: u64, len: u64) -> Result<(), uc_error> {
    let end = start.checked_add(len).ok_or(uc_error::ARG)?;
    let mut page = start & !0xfff;
    while page < end {
        uc.ctl_remove_cache(page, page + 0x1000)?;
        page += 0x1000;
    }
    Ok(())
}

/// Forgets the code the kernel changed behind the CPU (see
/// [`Supervisor::take_code_written`]): a CPU runs the new bytes, so the
/// emulator must not run what it translated from the old ones.
fn forget_written_code(uc: &mut Uc<'_>, written: &[(u64, u64)]) -> Result<(), uc_error> {
    for &(start, len) in written {
        forget_code(uc, start, len)?;
    }
    Ok(())
}

fn read(uc: &Uc<'_>, reg: RegisterX86) -> u64 {
    uc.reg_read(reg).unwrap_or(0)
}

fn on_syscall(uc: &mut Uc<'_>, memory: &GuestMemory) {
    let state = *uc.get_data();
    let request = SyscallRequest {
        nr: read(uc, RegisterX86::RAX),
        args: [
            read(uc, RegisterX86::RDI),
            read(uc, RegisterX86::RSI),
            read(uc, RegisterX86::RDX),
            read(uc, RegisterX86::R10),
            read(uc, RegisterX86::R8),
            read(uc, RegisterX86::R9),
        ],
        // The block that ends with `syscall` has counted it already.
        instructions: Some(read(uc, RegisterX86::QVM_INSNS)),
        sp: read(uc, RegisterX86::RSP),
    };
    // SAFETY: hooks only run inside `run`, with `state` live.
    let handled = unsafe {
        with_supervisor(state, |s| {
            (
                s.syscall(request),
                s.take_memory_changes(),
                s.take_code_written(),
                s.instruction_limit(),
            )
        })
    };
    // SAFETY: as above; no other reference to the state is live here.
    let st = unsafe { &mut *state };
    let Some((action, changes, written, limit)) = handled else {
        st.error = Some("syscall hook ran without a supervisor".into());
        let _ = uc.emu_stop();
        return;
    };
    if let Err(e) = apply_changes(uc, memory, &changes) {
        st.error = Some(format!("cannot apply memory change: {e:?}"));
        let _ = uc.emu_stop();
        return;
    }
    if let Err(e) = forget_written_code(uc, &written) {
        st.error = Some(format!("cannot forget code the kernel changed: {e:?}"));
        let _ = uc.emu_stop();
        return;
    }
    // The kernel's work takes gas too: the instruction limit shrinks.
    if uc
        .reg_write(RegisterX86::QVM_INSN_LIMIT, limit.unwrap_or(u64::MAX))
        .is_err()
    {
        st.error = Some("cannot set the instruction limit".into());
        let _ = uc.emu_stop();
        return;
    }
    match action {
        SyscallAction::Return {
            value,
            set_fs_base,
            set_gs_base,
        } => {
            let mut ok = write_syscall_result(uc, value);
            if let Some(fs) = set_fs_base {
                ok &= uc.reg_write(RegisterX86::FS_BASE, fs).is_ok();
            }
            if let Some(gs) = set_gs_base {
                ok &= uc.reg_write(RegisterX86::GS_BASE, gs).is_ok();
            }
            if !ok {
                st.error = Some("cannot write syscall result registers".into());
                let _ = uc.emu_stop();
            }
        }
        SyscallAction::Stop => {
            st.stopped = true;
            let _ = uc.emu_stop();
        }
        SyscallAction::Reschedule { value } => {
            // Unicorn advances RIP past the `syscall` after the hook, then
            // stops before the next instruction.
            if !write_syscall_result(uc, value) {
                st.error = Some("cannot write syscall result registers".into());
            }
            st.reschedule = true;
            let _ = uc.emu_stop();
        }
    }
}

/// Completes a `syscall` as Linux's `sysret` leaves it: RAX = `value`,
/// RCX = the next RIP, R11 = RFLAGS. The hook runs before unicorn advances
/// RIP past the 2-byte `syscall`. False if a register write failed.
fn write_syscall_result(uc: &mut Uc<'_>, value: u64) -> bool {
    let rip = read(uc, RegisterX86::RIP);
    let rflags = read(uc, RegisterX86::RFLAGS);
    let mut ok = uc.reg_write(RegisterX86::RAX, value).is_ok();
    ok &= uc.reg_write(RegisterX86::RCX, rip.wrapping_add(2)).is_ok();
    ok &= uc.reg_write(RegisterX86::R11, rflags).is_ok();
    ok
}

fn on_memory_fault(uc: &mut Uc<'_>, kind: MemType, addr: u64) -> bool {
    let access = match kind {
        MemType::WRITE_UNMAPPED | MemType::WRITE_PROT | MemType::WRITE => Access::Write,
        MemType::FETCH_UNMAPPED | MemType::FETCH_PROT | MemType::FETCH => Access::Execute,
        _ => Access::Read,
    };
    let state = *uc.get_data();
    // SAFETY: hooks only run inside `run`, with `state` live.
    unsafe { (*state).fault = Some(Fault::Memory { addr, access }) };
    false
}

fn on_interrupt(uc: &mut Uc<'_>, intno: u32) {
    let rip = read(uc, RegisterX86::RIP);
    let fault = fault_for_vector(intno, rip);
    let state = *uc.get_data();
    // SAFETY: hooks only run inside `run`, with `state` live.
    unsafe { (*state).fault = Some(fault) };
    let _ = uc.emu_stop();
}

/// CPUID: answer from the shared profile and skip unicorn's own model.
unsafe extern "C" fn on_cpuid(uc: *mut uc_engine, _user: *mut c_void) -> c_int {
    let mut eax = 0u64;
    let mut ecx = 0u64;
    // SAFETY: `uc` is the live engine calling this hook; the pointers are
    // to locals of the right size.
    unsafe {
        let _ = uc_reg_read(uc, RegisterX86::RAX as c_int, (&raw mut eax).cast());
        let _ = uc_reg_read(uc, RegisterX86::RCX as c_int, (&raw mut ecx).cast());
    }
    let r = cpu_profile::cpuid(eax as u32, ecx as u32);
    for (reg, v) in [
        (RegisterX86::RAX, r.eax),
        (RegisterX86::RBX, r.ebx),
        (RegisterX86::RCX, r.ecx),
        (RegisterX86::RDX, r.edx),
    ] {
        let v = u64::from(v);
        // SAFETY: as above.
        unsafe {
            let _ = uc_reg_write(uc, reg as c_int, (&raw const v).cast());
        }
    }
    1
}

fn write_tsc(uc: *mut uc_engine, user: *mut c_void, with_aux: bool) -> c_int {
    // SAFETY: `user` is the engine's boxed HookState (see `install_raw_hooks`).
    let tsc = unsafe { with_supervisor(user.cast(), |s| s.rdtsc()) }.unwrap_or(0);
    let lo = tsc & 0xffff_ffff;
    let hi = tsc >> 32;
    let aux = 0u64; // TSC_AUX: CPU 0
                    // SAFETY: `uc` is the live engine calling this hook.
    unsafe {
        let _ = uc_reg_write(uc, RegisterX86::RAX as c_int, (&raw const lo).cast());
        let _ = uc_reg_write(uc, RegisterX86::RDX as c_int, (&raw const hi).cast());
        if with_aux {
            let _ = uc_reg_write(uc, RegisterX86::RCX as c_int, (&raw const aux).cast());
        }
    }
    1
}

unsafe extern "C" fn on_rdtsc(uc: *mut uc_engine, user: *mut c_void) -> c_int {
    write_tsc(uc, user, false)
}

unsafe extern "C" fn on_rdtscp(uc: *mut uc_engine, user: *mut c_void) -> c_int {
    write_tsc(uc, user, true)
}

type InsnHook = unsafe extern "C" fn(*mut uc_engine, *mut c_void) -> c_int;

/// Hooks whose callbacks must return "skip the instruction", which the
/// safe binding does not offer: installed through the C API.
fn install_raw_hooks(uc: &mut Uc<'_>, state: *mut HookState) -> Result<(), uc_error> {
    let hooks: [(X86Insn, InsnHook); 3] = [
        (X86Insn::CPUID, on_cpuid),
        (X86Insn::RDTSC, on_rdtsc),
        (X86Insn::RDTSCP, on_rdtscp),
    ];
    for (insn, callback) in hooks {
        let mut handle: uc_hook = 0;
        // SAFETY: the callback has the signature unicorn expects for these
        // instruction hooks (uc_cb_insn_cpuid_t); `state` outlives `uc`
        // (field order in EmuEngine); begin > end means all addresses.
        let err = unsafe {
            uc_hook_add(
                uc.get_handle(),
                &mut handle,
                HookType::INSN.0 as c_int,
                callback as *mut c_void,
                state.cast(),
                1,
                0,
                insn as c_int,
            )
        };
        Result::<(), uc_error>::from(err)?;
    }
    Ok(())
}

impl EmuEngine {
    /// A new x86-64 CPU over `memory`, with nothing mapped yet.
    pub fn new(memory: Arc<GuestMemory>) -> Result<Self, EngineError> {
        let mut state = Box::<HookState>::default();
        let state_ptr: *mut HookState = &mut *state;
        let mut uc =
            Unicorn::new_with_data(Arch::X86, Mode::MODE_64, state_ptr).map_err(backend_error)?;
        // SAFETY: the handle is live; this control takes one uint32_t.
        let err = unsafe {
            uc_ctl(
                uc.get_handle(),
                ControlType(ControlType::TCG_BUFFER_SIZE.0 | ControlType::IO_WRITE.0),
                CODE_BUFFER_SIZE,
            )
        };
        Result::<(), uc_error>::from(err).map_err(backend_error)?;
        uc.ctl_set_cpu_model(X86CpuModel::QVM as i32)
            .map_err(backend_error)?;
        let mem = memory.clone();
        uc.add_insn_sys_hook(X86Insn::SYSCALL, 1, 0, move |uc| on_syscall(uc, &mem))
            .map_err(backend_error)?;
        uc.add_mem_hook(
            HookType::MEM_INVALID,
            1,
            0,
            |uc, kind, addr, _size, _value| on_memory_fault(uc, kind, addr),
        )
        .map_err(backend_error)?;
        uc.add_intr_hook(on_interrupt).map_err(backend_error)?;
        uc.add_insn_invalid_hook(|uc| {
            let rip = read(uc, RegisterX86::RIP);
            let state = *uc.get_data();
            // SAFETY: hooks only run inside `run`, with `state` live.
            unsafe { (*state).fault = Some(Fault::InvalidOpcode { rip }) };
            false
        })
        .map_err(backend_error)?;
        install_raw_hooks(&mut uc, state_ptr).map_err(backend_error)?;
        Ok(EmuEngine {
            uc,
            state,
            memory,
            metering: true,
            deadline: None,
            watchdog: None,
        })
    }

    /// Translates code without the instruction counter: such an engine
    /// cannot meter a call. Only for measuring what counting costs
    /// (benches); call it before anything runs.
    pub fn without_metering(mut self) -> Result<Self, EngineError> {
        self.uc
            .reg_write(RegisterX86::QVM_METERING, 0)
            .map_err(backend_error)?;
        self.metering = false;
        Ok(self)
    }
}

impl EmuEngine {
    /// SGDT, SIDT, SLDT and STR read what they read on KVM, and descriptor
    /// loads see KVM's GDT. The TR has no valid descriptor, so
    /// I/O permission checks fail (#GP) before reading a TSS, as on KVM,
    /// whose TSS has no I/O bitmap.
    fn write_descriptor_tables(&mut self) -> Result<(), uc_error> {
        let tables = [
            (
                RegisterX86::GDTR,
                0,
                visible::GDT_BASE,
                u32::from(visible::GDT_LIMIT),
            ),
            (
                RegisterX86::IDTR,
                0,
                visible::IDT_BASE,
                u32::from(visible::IDT_LIMIT),
            ),
            (RegisterX86::LDTR, 0, 0, 0),
            (
                RegisterX86::TR,
                visible::TR_SELECTOR,
                visible::TSS_BASE,
                visible::TSS_LIMIT,
            ),
        ];
        // Descriptor loads (segment registers, far transfers, IRETQ) read
        // the shared GDT from this copy: the table itself is where GDTR
        // says, in memory unicorn does not map, as user code cannot reach
        // it on KVM either.
        let gdt = visible::gdt();
        let mut copy = uc_x86_qvm_gdt {
            size: gdt.len() as u32,
            bytes: [0; 128],
        };
        copy.bytes
            .get_mut(..gdt.len())
            .ok_or(uc_error::ARG)?
            .copy_from_slice(&gdt);
        // SAFETY: the handle is live; for this register qvm's unicorn reads
        // one uc_x86_qvm_gdt from the pointer, a local of that type.
        let err = unsafe {
            uc_reg_write(
                self.uc.get_handle(),
                RegisterX86::QVM_GDT as c_int,
                (&raw const copy).cast(),
            )
        };
        Result::<(), uc_error>::from(err)?;
        for (reg, selector, base, limit) in tables {
            let value = uc_x86_mmr {
                selector,
                base,
                limit,
                flags: 0,
            };
            // SAFETY: the handle is live; for these registers unicorn reads
            // one uc_x86_mmr from the pointer, a local of that type.
            let err = unsafe {
                uc_reg_write(
                    self.uc.get_handle(),
                    reg as c_int,
                    (&raw const value).cast(),
                )
            };
            Result::<(), uc_error>::from(err)?;
        }
        Ok(())
    }
}

impl Engine for EmuEngine {
    fn name(&self) -> &'static str {
        NAME
    }

    fn counts_instructions(&self) -> bool {
        self.metering
    }

    fn instructions(&self) -> Option<u64> {
        self.metering
            .then(|| read(&self.uc, RegisterX86::QVM_INSNS))
    }

    fn context(&self) -> Result<ThreadContext, EngineError> {
        use RegisterX86::*;
        let r = |reg| self.uc.reg_read(reg).map_err(backend_error);
        let mut fxsave = FxsaveArea([0; FxsaveArea::SIZE]);
        // SAFETY: the handle is live; for this register qvm's unicorn
        // writes exactly 512 bytes to the pointer, a local of that size.
        let err = unsafe {
            uc_reg_read(
                self.uc.get_handle(),
                QVM_FXSAVE as c_int,
                fxsave.0.as_mut_ptr().cast(),
            )
        };
        Result::<(), uc_error>::from(err).map_err(backend_error)?;
        Ok(ThreadContext {
            regs: GeneralRegisters {
                rax: r(RAX)?,
                rbx: r(RBX)?,
                rcx: r(RCX)?,
                rdx: r(RDX)?,
                rsi: r(RSI)?,
                rdi: r(RDI)?,
                rbp: r(RBP)?,
                rsp: r(RSP)?,
                r8: r(R8)?,
                r9: r(R9)?,
                r10: r(R10)?,
                r11: r(R11)?,
                r12: r(R12)?,
                r13: r(R13)?,
                r14: r(R14)?,
                r15: r(R15)?,
            },
            rip: r(RIP)?,
            rflags: r(RFLAGS)?,
            fs_base: r(FS_BASE)?,
            gs_base: r(GS_BASE)?,
            fxsave,
        })
    }

    fn set_context(&mut self, c: &ThreadContext) -> Result<(), EngineError> {
        use RegisterX86::*;
        self.uc
            .reg_write_long(QVM_FXSAVE, &c.fxsave.0)
            .map_err(|e| backend_error(format!("FXSAVE image refused: {e:?}")))?;
        let g = &c.regs;
        for (reg, value) in [
            (RAX, g.rax),
            (RBX, g.rbx),
            (RCX, g.rcx),
            (RDX, g.rdx),
            (RSI, g.rsi),
            (RDI, g.rdi),
            (RBP, g.rbp),
            (RSP, g.rsp),
            (R8, g.r8),
            (R9, g.r9),
            (R10, g.r10),
            (R11, g.r11),
            (R12, g.r12),
            (R13, g.r13),
            (R14, g.r14),
            (R15, g.r15),
            (RIP, c.rip),
            (RFLAGS, (c.rflags & USER_RFLAGS) | INITIAL_RFLAGS),
            (FS_BASE, c.fs_base),
            (GS_BASE, c.gs_base),
        ] {
            self.uc.reg_write(reg, value).map_err(backend_error)?;
        }
        Ok(())
    }

    fn apply(&mut self, changes: &[MemoryChange]) -> Result<(), EngineError> {
        apply_changes(&mut self.uc, &self.memory, changes)
            .map_err(|e| backend_error(format!("memory change: {e:?}")))
    }

    fn forget_code(&mut self, start: u64, len: u64) -> Result<(), EngineError> {
        forget_code(&mut self.uc, start, len)
            .map_err(|e| backend_error(format!("forget code at {start:#x}+{len:#x}: {e:?}")))
    }

    fn reset(&mut self, entry: EntryState) -> Result<(), EngineError> {
        use RegisterX86::*;
        let zero = [
            RAX, RBX, RCX, RDX, RSI, RDI, RBP, R8, R9, R10, R11, R12, R13, R14, R15,
        ];
        for reg in zero {
            self.uc.reg_write(reg, 0).map_err(backend_error)?;
        }
        // Linux's user code and stack selectors (`__USER_CS`, `__USER_DS`),
        // from the shared GDT; DS and ES are null, as on Linux. In 64-bit
        // mode qvm's unicorn loads a flat CS or SS descriptor whose DPL is
        // the selector's RPL, and the CPL follows SS: writing these puts the
        // CPU at CPL 3.
        let user_cs = u64::from(visible::selector::USER_CS);
        let user_ss = u64::from(visible::selector::USER_DS);
        for (reg, selector) in [
            (CS, user_cs),
            (SS, user_ss),
            (DS, 0),
            (ES, 0),
            (FS, 0),
            (GS, 0),
        ] {
            self.uc.reg_write(reg, selector).map_err(backend_error)?;
        }
        // After the selectors: loading one may set its segment's base.
        self.uc.reg_write(FS_BASE, 0).map_err(backend_error)?;
        self.uc.reg_write(GS_BASE, 0).map_err(backend_error)?;
        self.uc.reg_write(RIP, entry.rip).map_err(backend_error)?;
        self.uc.reg_write(RSP, entry.rsp).map_err(backend_error)?;
        self.uc
            .reg_write(RFLAGS, INITIAL_RFLAGS)
            .map_err(backend_error)?;
        // The whole x87/MMX/SSE state of a fresh process (control words,
        // every register empty or zero): an engine kept between calls must
        // not show the last call's XMM registers or flags.
        self.uc
            .reg_write_long(QVM_FXSAVE, &FxsaveArea::initial().0)
            .map_err(backend_error)?;
        // Unicorn enables SSE (CR4.OSFXSR) only for CPU models with XSAVE,
        // which this one lacks; Linux always enables it.
        let cr4 = read(&self.uc, CR4) | CR4_OSFXSR | CR4_OSXMMEXCPT;
        self.uc.reg_write(CR4, cr4).map_err(backend_error)?;
        // Linux's CR0 (AM included, so RFLAGS.AC checks alignment) but for
        // PG: unicorn translates addresses without page tables. SMSW shows
        // PG set anyway (qvm's unicorn), so the contract reads visible::CR0.
        self.uc
            .reg_write(CR0, visible::CR0 & !visible::cr0::PG)
            .map_err(backend_error)?;
        self.write_descriptor_tables().map_err(backend_error)?;
        self.uc.reg_write(QVM_INSNS, 0).map_err(backend_error)?;
        Ok(())
    }

    fn set_deadline(&mut self, deadline: Option<Instant>) {
        if deadline != self.deadline {
            // Joins its thread: no kick for the old deadline from here on.
            self.watchdog = None;
        }
        self.deadline = deadline;
    }

    fn run(&mut self, supervisor: &mut dyn Supervisor) -> Result<Exit, EngineError> {
        if let Some(d) = self.deadline {
            if Instant::now() >= d {
                return Ok(Exit::TimedOut);
            }
            if self.watchdog.is_none() {
                let handle = StopHandle(self.uc.get_handle());
                let dog = Watchdog::start(d, move || {
                    let h = &handle;
                    // SAFETY: see StopHandle.
                    let _ = unsafe { uc_emu_stop(h.0) };
                })
                .map_err(|e| backend_error(format!("cannot start the timeout watchdog: {e}")))?;
                self.watchdog = Some(dog);
            }
        }
        let raw: *mut (dyn Supervisor + '_) = supervisor;
        // SAFETY: only the lifetime is erased; the pointer is cleared below
        // before `supervisor`'s borrow ends, and hooks run only inside
        // emu_start.
        let raw: *mut (dyn Supervisor + 'static) = unsafe { std::mem::transmute(raw) };
        *self.state = HookState {
            supervisor: NonNull::new(raw),
            ..HookState::default()
        };
        let limit = supervisor.instruction_limit().unwrap_or(u64::MAX);
        self.uc
            .reg_write(RegisterX86::QVM_INSN_LIMIT, limit)
            .map_err(backend_error)?;
        // What the kernel wrote outside a syscall: a signal frame.
        forget_written_code(&mut self.uc, &supervisor.take_code_written())
            .map_err(|e| backend_error(format!("cannot forget code the kernel changed: {e:?}")))?;
        let rip = read(&self.uc, RegisterX86::RIP);
        // until = 0: never next to hot code, so no translated block is
        // invalidated when emulation stops.
        let result = self.uc.emu_start(rip, 0, 0, 0);
        let timed_out = self.watchdog.as_ref().is_some_and(Watchdog::fired);
        self.state.supervisor = None;
        if let Some(e) = self.state.error.take() {
            return Err(backend_error(e));
        }
        if let Some(f) = self.state.fault.take() {
            return Ok(Exit::Fault(f));
        }
        if self.state.stopped {
            return Ok(Exit::Stopped);
        }
        if self.state.reschedule {
            return Ok(Exit::Reschedule);
        }
        if read(&self.uc, RegisterX86::QVM_INSNS_EXHAUSTED) != 0 {
            return Ok(Exit::InstructionLimit);
        }
        if timed_out {
            return Ok(Exit::TimedOut);
        }
        let rip = read(&self.uc, RegisterX86::RIP);
        match result {
            // Reaching `until` (address 0) means the guest jumped to 0,
            // which is never mapped.
            Ok(()) => Ok(Exit::Fault(Fault::Memory {
                addr: rip,
                access: Access::Execute,
            })),
            Err(uc_error::INSN_INVALID) => Ok(Exit::Fault(Fault::InvalidOpcode { rip })),
            Err(uc_error::EXCEPTION) => Ok(Exit::Fault(Fault::GeneralProtection { rip })),
            Err(e @ (uc_error::READ_UNMAPPED | uc_error::READ_PROT)) => {
                let _ = e;
                Ok(Exit::Fault(Fault::Memory {
                    addr: rip,
                    access: Access::Read,
                }))
            }
            Err(uc_error::WRITE_UNMAPPED | uc_error::WRITE_PROT) => {
                Ok(Exit::Fault(Fault::Memory {
                    addr: rip,
                    access: Access::Write,
                }))
            }
            Err(uc_error::FETCH_UNMAPPED | uc_error::FETCH_PROT) => {
                Ok(Exit::Fault(Fault::Memory {
                    addr: rip,
                    access: Access::Execute,
                }))
            }
            Err(e) => Err(backend_error(format!(
                "emulation stopped: {e:?} at {rip:#x}"
            ))),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use qvm_common::address_space::Prot;

    /// Records syscalls; answers getpid with 2, stops at anything else.
    #[derive(Default)]
    struct Recorder {
        calls: Vec<SyscallRequest>,
        tsc: u64,
    }

    impl Supervisor for Recorder {
        fn syscall(&mut self, request: SyscallRequest) -> SyscallAction {
            self.calls.push(request);
            match request.nr {
                39 => SyscallAction::value(2),
                _ => SyscallAction::Stop,
            }
        }
        fn take_memory_changes(&mut self) -> Vec<MemoryChange> {
            Vec::new()
        }
        fn rdtsc(&mut self) -> u64 {
            self.tsc += 1000;
            self.tsc
        }
    }

    fn run(code: &[u8]) -> (Exit, Recorder) {
        run_until(code, None)
    }

    /// An engine with `code` mapped at 0x40_0000 and reset to run it.
    fn engine_with(code: &[u8]) -> EmuEngine {
        let memory = Arc::new(GuestMemory::new(1 << 20).unwrap());
        memory.write(0, code).unwrap();
        let mut engine = EmuEngine::new(memory).unwrap();
        let text = Prot::READ.union(Prot::EXEC);
        engine
            .apply(&[MemoryChange::Map {
                start: 0x40_0000,
                len: 0x1000,
                prot: text,
                gpa: 0,
            }])
            .unwrap();
        engine
            .reset(EntryState {
                rip: 0x40_0000,
                rsp: 0,
            })
            .unwrap();
        engine
    }

    fn run_until(code: &[u8], deadline: Option<Instant>) -> (Exit, Recorder) {
        let mut engine = engine_with(code);
        engine.set_deadline(deadline);
        let mut rec = Recorder::default();
        let exit = engine.run(&mut rec).unwrap();
        (exit, rec)
    }

    #[test]
    fn a_deadline_stops_a_spinning_guest_and_only_that() {
        let cases: &[(&str, &[u8], bool)] = &[
            ("jmp .", &[0xeb, 0xfe], true),
            // mov eax, 39; syscall; jmp back
            (
                "getpid loop",
                &[0xb8, 0x27, 0, 0, 0, 0x0f, 0x05, 0xeb, 0xf7],
                true,
            ),
            // mov eax, 60; syscall
            ("exit", &[0xb8, 0x3c, 0, 0, 0, 0x0f, 0x05], false),
        ];
        for &(what, code, times_out) in cases {
            let start = Instant::now();
            let deadline = start + std::time::Duration::from_millis(200);
            let (exit, _) = run_until(code, Some(deadline));
            let expected = if times_out {
                Exit::TimedOut
            } else {
                Exit::Stopped
            };
            assert_eq!(exit, expected, "{what}");
            assert!(
                start.elapsed().as_secs() < 5,
                "{what}: {:?}",
                start.elapsed()
            );
        }
        // A deadline already past ends the run before the guest starts.
        let (exit, rec) = run_until(&[0xb8, 0x3c, 0, 0, 0, 0x0f, 0x05], Some(Instant::now()));
        assert_eq!((exit, rec.calls.len()), (Exit::TimedOut, 0));
    }

    #[test]
    fn one_watchdog_serves_every_run_until_the_deadline_changes() {
        // mov eax, 39; syscall; mov eax, 60; syscall
        let code = [
            0xb8, 0x27, 0, 0, 0, 0x0f, 0x05, 0xb8, 0x3c, 0, 0, 0, 0x0f, 0x05,
        ];
        let mut engine = engine_with(&code);
        let deadline = Instant::now() + std::time::Duration::from_secs(600);
        engine.set_deadline(Some(deadline));
        assert!(engine.watchdog.is_none(), "started by the first run only");
        for _ in 0..3 {
            engine
                .reset(EntryState {
                    rip: 0x40_0000,
                    rsp: 0,
                })
                .unwrap();
            engine.set_deadline(Some(deadline));
            assert_eq!(engine.run(&mut Recorder::default()).unwrap(), Exit::Stopped);
            assert!(engine.watchdog.is_some(), "kept between runs");
        }
        engine.set_deadline(None);
        assert!(engine.watchdog.is_none(), "stopped with its deadline");
        engine
            .reset(EntryState {
                rip: 0x40_0000,
                rsp: 0,
            })
            .unwrap();
        assert_eq!(engine.run(&mut Recorder::default()).unwrap(), Exit::Stopped);
        assert!(engine.watchdog.is_none());
    }

    #[test]
    fn syscalls_reach_the_supervisor_with_their_arguments() {
        // mov eax, 39; syscall; mov edi, eax; mov eax, 60; syscall
        let (exit, rec) = run(&[
            0xb8, 0x27, 0, 0, 0, 0x0f, 0x05, 0x89, 0xc7, 0xb8, 0x3c, 0, 0, 0, 0x0f, 0x05,
        ]);
        assert_eq!(exit, Exit::Stopped);
        assert_eq!(rec.calls.len(), 2);
        assert_eq!((rec.calls[1].nr, rec.calls[1].args[0]), (60, 2));
    }

    #[test]
    fn a_thread_context_round_trips_and_runs() {
        // addsd xmm0, xmm1; mov eax, 60; syscall
        let mut engine = engine_with(&[0xf2, 0x0f, 0x58, 0xc1, 0xb8, 0x3c, 0, 0, 0, 0x0f, 0x05]);
        let mut c = engine.context().unwrap();
        assert_eq!(c.fxsave, FxsaveArea::initial(), "a fresh CPU's FP state");
        c.regs.rbx = 0x1111;
        c.regs.r15 = 0xffff_0000_ffff_0000;
        c.regs.rsp = 0x8000;
        // DF and AC set; IOPL asked for but never granted.
        c.rflags = 0x0004_0602 | 0x3000;
        c.fs_base = 0x7000;
        // XMM0 = 1.5, XMM1 = 2.25 (FXSAVE offsets 160 and 176), an x87
        // register's bytes, and MXCSR with RC = down.
        c.fxsave.0[160..168].copy_from_slice(&1.5f64.to_le_bytes());
        c.fxsave.0[176..184].copy_from_slice(&2.25f64.to_le_bytes());
        c.fxsave.0[32..42].copy_from_slice(&[1, 2, 3, 4, 5, 6, 7, 0x80, 0xff, 0x3f]);
        c.fxsave.0[24..28].copy_from_slice(&0x3f80u32.to_le_bytes());
        engine.set_context(&c).unwrap();
        let mut expected = c;
        expected.rflags = 0x0004_0602;
        assert_eq!(engine.context().unwrap(), expected);
        let mut rec = Recorder::default();
        assert_eq!(engine.run(&mut rec).unwrap(), Exit::Stopped);
        let after = engine.context().unwrap();
        assert_eq!(
            f64::from_le_bytes(after.fxsave.0[160..168].try_into().unwrap()),
            3.75
        );
        assert_eq!((after.regs.rbx, after.fs_base), (0x1111, 0x7000));
        // A reserved MXCSR bit is refused, as FXRSTOR would fault.
        c.fxsave.0[24..28].copy_from_slice(&0x1_0000u32.to_le_bytes());
        assert!(engine.set_context(&c).is_err());
    }

    #[test]
    fn rdtsc_asks_the_supervisor() {
        // rdtsc; mov edi, eax; mov eax, 60; syscall
        let (_, rec) = run(&[0x0f, 0x31, 0x89, 0xc7, 0xb8, 0x3c, 0, 0, 0, 0x0f, 0x05]);
        assert_eq!(rec.calls[0].args[0], 1000);
    }

    #[test]
    fn sse_is_enabled_and_rdrand_is_not() {
        // pxor xmm0, xmm0; mov eax, 60; syscall
        let (exit, _) = run(&[0x66, 0x0f, 0xef, 0xc0, 0xb8, 0x3c, 0, 0, 0, 0x0f, 0x05]);
        assert_eq!(exit, Exit::Stopped);
        // rdrand eax
        let (exit, _) = run(&[0x0f, 0xc7, 0xf0]);
        assert_eq!(exit, Exit::Fault(Fault::InvalidOpcode { rip: 0x40_0000 }));
    }
}
