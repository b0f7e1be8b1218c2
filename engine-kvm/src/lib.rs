//! qvm's hardware CPU: one KVM VM and vCPU per contract, 64-bit long mode,
//! the contract at CPL 3.
//!
//! Like the emulator, this engine only executes instructions: a tiny
//! ring-0 stub ([`stub`]) turns every `syscall` and every exception into a
//! port-I/O exit, and the loop here hands syscalls to the shared kernel.
//! The machine is the shared one: guest memory is the arena (slot 0), page
//! tables are built from the shared address-space changes, CPUID comes from
//! the shared profile, RDTSC traps (CR4.TSD) and returns the kernel's
//! virtual clock, and without CR4.OSXSAVE every AVX instruction is #UD.
//!
//! KVM is Linux's, and runs guests of the host's architecture: on hosts
//! other than x86-64 Linux this crate is empty, and qvm's facade stands in
//! an engine that is never available.
#![cfg(all(target_os = "linux", target_arch = "x86_64"))]

mod host_cpu;
mod kick;
mod layout;
mod page_tables;
mod stub;
mod sys_memory;

use std::sync::Arc;
use std::time::Instant;

use kvm_bindings::{
    kvm_fpu, kvm_msr_entry, kvm_regs, kvm_segment, kvm_sregs, kvm_userspace_memory_region,
    kvm_xcrs, CpuId, Msrs, KVM_CPUID_FLAG_SIGNIFCANT_INDEX, KVM_MAX_CPUID_ENTRIES,
};
use kvm_ioctls::{Cap, Kvm, SyncReg, VcpuExit, VcpuFd, VmFd};
use qvm_common::address_space::{MemoryChange, Prot};
use qvm_common::cpu_profile;
use qvm_common::engine::{
    fault_for_vector, vector, visible, Access, Engine, EngineError, EntryState, Exit, Fault,
    FxsaveArea, GeneralRegisters, Supervisor, SyscallAction, SyscallRequest, ThreadContext,
    INITIAL_MXCSR, INITIAL_RFLAGS, USER_RFLAGS,
};
use qvm_common::guest_memory::GuestMemory;
use qvm_common::watchdog::Watchdog;

use layout::*;
use page_tables::{PageTables, NO_EXECUTE, USER, WRITABLE};
use sys_memory::SysMemory;

const NAME: &str = "kvm";

const MSR_STAR: u32 = 0xc000_0081;
const MSR_LSTAR: u32 = 0xc000_0082;
const MSR_CSTAR: u32 = 0xc000_0083;
const MSR_SFMASK: u32 = 0xc000_0084;
const MSR_FS_BASE: u32 = 0xc000_0100;
const MSR_GS_BASE: u32 = 0xc000_0101;
const MSR_KERNEL_GS_BASE: u32 = 0xc000_0102;
const MSR_TSC_AUX: u32 = 0xc000_0103;

const CR4_TSD: u64 = 1 << 2;
const CR4_PAE: u64 = 1 << 5;
const CR4_OSFXSR: u64 = 1 << 9;
const CR4_OSXMMEXCPT: u64 = 1 << 10;
const EFER_SCE: u64 = 1;
const EFER_LME: u64 = 1 << 8;
const EFER_LMA: u64 = 1 << 10;
const EFER_NXE: u64 = 1 << 11;
/// RFLAGS bits cleared on syscall entry (TF, IF, DF, IOPL, NT, AC), as Linux.
const SFMASK: u64 = 0x47700;

fn err(what: impl std::fmt::Display) -> EngineError {
    EngineError::Backend {
        backend: NAME,
        what: what.to_string(),
    }
}

/// Checks that /dev/kvm opens, is not PVM, and runs a tiny guest through
/// the stub: a syscall round trip and an exit.
pub fn probe() -> Result<(), EngineError> {
    self_test::run()
}

/// Refuses hosts whose /dev/kvm cannot run qvm's stub.
fn check_host() -> Result<(), EngineError> {
    // kvm-pvm (Pagetable-based Virtual Machine) offers /dev/kvm without
    // hardware virtualization, but runs only PVM-aware guest kernels.
    if std::path::Path::new("/sys/module/kvm_pvm").exists() {
        return Err(EngineError::Unavailable(
            NAME,
            "this host's /dev/kvm is kvm-pvm, which runs only PVM-aware guests; use --backend emu"
                .into(),
        ));
    }
    Ok(())
}

mod self_test {
    use super::*;
    use qvm_common::address_space::MemoryChange;

    /// Answers getpid with 2 and stops at exit.
    #[derive(Default)]
    struct Probe {
        calls: Vec<u64>,
    }

    impl Supervisor for Probe {
        fn syscall(&mut self, request: SyscallRequest) -> SyscallAction {
            self.calls.push(request.nr);
            match request.nr {
                39 => SyscallAction::value(2),
                _ => SyscallAction::Stop,
            }
        }
        fn take_memory_changes(&mut self) -> Vec<MemoryChange> {
            Vec::new()
        }
        fn rdtsc(&mut self) -> u64 {
            0
        }
    }

    /// mov eax, 39; syscall; mov edi, eax; mov eax, 60; syscall
    const CODE: &[u8] = &[
        0xb8, 0x27, 0, 0, 0, 0x0f, 0x05, 0x89, 0xc7, 0xb8, 0x3c, 0, 0, 0, 0x0f, 0x05,
    ];

    pub fn run() -> Result<(), EngineError> {
        let fail =
            |what: String| EngineError::Unavailable(NAME, format!("KVM self-test failed: {what}"));
        let memory = Arc::new(GuestMemory::new(1 << 20).map_err(|e| fail(e.to_string()))?);
        memory.write(0, CODE).map_err(|e| fail(e.to_string()))?;
        let mut engine = KvmEngine::new(memory)?;
        let text = Prot::READ.union(Prot::EXEC);
        engine.apply(&[MemoryChange::Map {
            start: 0x40_0000,
            len: PAGE,
            prot: text,
            gpa: 0,
        }])?;
        engine.reset(EntryState {
            rip: 0x40_0000,
            rsp: 0,
        })?;
        let mut probe = Probe::default();
        let exit = engine.run(&mut probe).map_err(|e| fail(e.to_string()))?;
        let rdi = engine.regs()?.rdi;
        if exit != Exit::Stopped || probe.calls != [39, 60] || rdi != 2 {
            return Err(fail(format!(
                "exit {exit:?}, syscalls {:?}, exit status {rdi}",
                probe.calls
            )));
        }
        Ok(())
    }
}

/// The KVM-backed engine.
pub struct KvmEngine {
    // Drop order: the vCPU and VM before the memory they map.
    vcpu: VcpuFd,
    _vm: VmFd,
    tables: PageTables,
    sys: SysMemory,
    memory: Arc<GuestMemory>,
    /// KVM_CAP_SYNC_REGS: registers travel in kvm_run, saving two ioctls
    /// per exit.
    sync_regs: bool,
    deadline: Option<Instant>,
    /// Where the vCPU stopped, and so where the contract's registers are.
    position: Position,
    /// The context `set_context` loaded, until the vCPU runs (its
    /// registers point at the resume entry meanwhile).
    loaded: Option<ThreadContext>,
}

/// Where the vCPU is between runs.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Position {
    /// About to run user code: the registers are the contract's.
    User,
    /// At the syscall entry's exit: RIP and RFLAGS are in RCX and R11.
    SyscallExit,
    /// In an exception handler's exit: RIP, RFLAGS and RSP are in the
    /// IRETQ frame at this system-memory offset.
    Exception { frame: u64 },
}

impl KvmEngine {
    /// A VM over `memory` with the stub installed and nothing of the
    /// contract mapped yet.
    pub fn new(memory: Arc<GuestMemory>) -> Result<Self, EngineError> {
        check_host()?;
        if memory.size() > SYS_GPA {
            return Err(err(format!(
                "a {} byte arena overlaps system memory at {SYS_GPA:#x}",
                memory.size()
            )));
        }
        let kvm = Kvm::new()
            .map_err(|e| EngineError::Unavailable(NAME, format!("cannot open /dev/kvm: {e}")))?;
        host_cpu::check(&kvm)?;
        let vm = kvm
            .create_vm()
            .map_err(|e| EngineError::Unavailable(NAME, format!("cannot create a KVM VM: {e}")))?;
        let sys = SysMemory::new(sys_size(memory.size())).map_err(err)?;
        memory.advise_huge_pages();
        let slots = [
            (0, 0, memory.size(), memory.host_base()),
            (1, SYS_GPA, sys.size(), sys.host_base()),
        ];
        for (slot, gpa, size, host) in slots {
            let region = kvm_userspace_memory_region {
                slot,
                guest_phys_addr: gpa,
                memory_size: size,
                userspace_addr: host as u64,
                flags: 0,
            };
            // SAFETY: both host ranges are live mappings of exactly `size`
            // bytes owned by this engine (the arena through its Arc), and
            // outlive the VM (field order).
            unsafe { vm.set_user_memory_region(region) }
                .map_err(|e| err(format!("memory slot {slot}: {e}")))?;
        }
        let mut vcpu = vm
            .create_vcpu(0)
            .map_err(|e| err(format!("create vCPU: {e}")))?;
        let cpuid = cpuid_table().map_err(err)?;
        vcpu.set_cpuid2(&cpuid)
            .map_err(|e| err(format!("set CPUID: {e}")))?;
        let mut tables = PageTables::new(&sys).map_err(err)?;
        install_stub(&sys, &mut tables).map_err(err)?;
        let sync_regs = kvm.check_extension(Cap::SyncRegs);
        if sync_regs {
            vcpu.set_sync_valid_reg(SyncReg::Register);
        }
        Ok(KvmEngine {
            vcpu,
            _vm: vm,
            tables,
            sys,
            memory,
            sync_regs,
            deadline: None,
            position: Position::User,
            loaded: None,
        })
    }

    fn regs(&self) -> Result<kvm_regs, EngineError> {
        if self.sync_regs {
            return Ok(self.vcpu.sync_regs().regs);
        }
        self.vcpu
            .get_regs()
            .map_err(|e| err(format!("get registers: {e}")))
    }

    fn set_regs(&mut self, regs: &kvm_regs) -> Result<(), EngineError> {
        if self.sync_regs {
            self.vcpu.sync_regs_mut().regs = *regs;
            self.vcpu.set_sync_dirty_reg(SyncReg::Register);
            return Ok(());
        }
        self.vcpu
            .set_regs(regs)
            .map_err(|e| err(format!("set registers: {e}")))
    }

    fn set_msrs(&self, entries: &[(u32, u64)]) -> Result<(), EngineError> {
        let list: Vec<kvm_msr_entry> = entries
            .iter()
            .map(|&(index, data)| kvm_msr_entry {
                index,
                data,
                ..Default::default()
            })
            .collect();
        let msrs = Msrs::from_entries(&list).map_err(|e| err(format!("MSR list: {e:?}")))?;
        let n = self
            .vcpu
            .set_msrs(&msrs)
            .map_err(|e| err(format!("set MSRs: {e}")))?;
        if n != entries.len() {
            return Err(err(format!("KVM accepted {n} of {} MSRs", entries.len())));
        }
        Ok(())
    }

    /// Handles a syscall exit; `Some(exit)` when the run is over.
    fn syscall(&mut self, supervisor: &mut dyn Supervisor) -> Result<Option<Exit>, EngineError> {
        let mut regs = self.regs()?;
        let request = SyscallRequest {
            nr: regs.rax,
            args: [regs.rdi, regs.rsi, regs.rdx, regs.r10, regs.r8, regs.r9],
            // KVM cannot count instructions exactly (docs/gas.md).
            instructions: None,
            sp: regs.rsp,
        };
        let action = supervisor.syscall(request);
        let changes = supervisor.take_memory_changes();
        if !changes.is_empty() {
            self.apply(&changes)?;
        }
        match action {
            SyscallAction::Stop => Ok(Some(Exit::Stopped)),
            SyscallAction::Reschedule { value } => {
                regs.rax = value;
                self.set_regs(&regs)?;
                self.position = Position::SyscallExit;
                Ok(Some(Exit::Reschedule))
            }
            SyscallAction::Return {
                value,
                set_fs_base,
                set_gs_base,
            } => {
                regs.rax = value;
                self.set_regs(&regs)?;
                let mut msrs = Vec::new();
                if let Some(fs) = set_fs_base {
                    msrs.push((MSR_FS_BASE, fs));
                }
                if let Some(gs) = set_gs_base {
                    msrs.push((MSR_GS_BASE, gs));
                }
                if !msrs.is_empty() {
                    self.set_msrs(&msrs)?;
                }
                Ok(None)
            }
        }
    }

    /// Handles an exception exit: emulates RDTSC/RDTSCP (trapped through
    /// CR4.TSD), otherwise reports the fault.
    fn exception(
        &mut self,
        vector: u64,
        supervisor: &mut dyn Supervisor,
    ) -> Result<Option<Exit>, EngineError> {
        let mut regs = self.regs()?;
        let frame = regs.rsp.wrapping_sub(KERNEL_BASE);
        let (error_code, rip_at) = if stub::has_error_code(vector) {
            (self.sys.read_u64(frame).map_err(err)?, frame + 8)
        } else {
            (0, frame)
        };
        let rip = self.sys.read_u64(rip_at).map_err(err)?;
        let cs = self.sys.read_u64(rip_at + 8).map_err(err)?;
        if cs & 3 != 3 {
            return Err(err(format!(
                "exception {vector} in the ring-0 stub at {rip:#x}"
            )));
        }
        // For a fault the kernel may want the context (a signal handler).
        self.position = Position::Exception { frame: rip_at };
        let vector = vector as u32;
        if vector == vector::PAGE_FAULT {
            let sregs = self
                .vcpu
                .get_sregs()
                .map_err(|e| err(format!("get sregs: {e}")))?;
            let access = if error_code & (1 << 4) != 0 {
                Access::Execute
            } else if error_code & (1 << 1) != 0 {
                Access::Write
            } else {
                Access::Read
            };
            return Ok(Some(Exit::Fault(Fault::Memory {
                addr: sregs.cr2,
                access,
            })));
        }
        if vector == vector::GENERAL_PROTECTION {
            let bytes = self.user_bytes(rip, MAX_INSTRUCTION).unwrap_or_default();
            let opcode = opcode_after_prefixes(&bytes);
            let prefixes = (bytes.len() - opcode.len()) as u64;
            // RDTSC and RDTSCP, with any prefixes (the emulator runs `66 0F
            // 31` as RDTSC too), trap under CR4.TSD; so does SYSENTER on
            // Intel CPUs in 64-bit mode (#GP, no SYSENTER_CS), where AMD's,
            // the emulator's and Linux-on-AMD's answer is #UD.
            let len = match opcode {
                [0x0f, 0x34, ..] => {
                    return Ok(Some(Exit::Fault(Fault::InvalidOpcode { rip })));
                }
                [0x0f, 0x31, ..] => Some(prefixes + 2),
                [0x0f, 0x01, 0xf9, ..] => Some(prefixes + 3),
                _ => None,
            };
            if let Some(len) = len {
                let tsc = supervisor.rdtsc();
                regs.rax = tsc & 0xffff_ffff;
                regs.rdx = tsc >> 32;
                if opcode.starts_with(&[0x0f, 0x01]) {
                    regs.rcx = 0; // RDTSCP's TSC_AUX: CPU 0
                }
                self.set_regs(&regs)?;
                self.sys.write_u64(rip_at, rip + len).map_err(err)?;
                return Ok(None);
            }
        }
        Ok(Some(Exit::Fault(fault_for_vector(vector, rip))))
    }

    /// Reads up to `len` bytes of user memory at `va` through the page
    /// tables, a page at a time, stopping at the first unmapped page (an
    /// instruction may straddle a page).
    fn user_bytes(&self, va: u64, len: usize) -> Option<Vec<u8>> {
        let mut out = Vec::with_capacity(len);
        while out.len() < len {
            let at = va.wrapping_add(out.len() as u64);
            let Some((gpa, flags)) = self.tables.translate(&self.sys, at) else {
                break;
            };
            if flags & USER == 0 {
                break;
            }
            let in_page = (PAGE - (at & (PAGE - 1))) as usize;
            let start = out.len();
            out.resize(start + in_page.min(len - start), 0);
            self.memory.read(gpa, out.get_mut(start..)?).ok()?;
        }
        Some(out)
    }
}

/// The FXSAVE image of KVM's FPU state.
fn fxsave_of(fpu: &kvm_fpu) -> FxsaveArea {
    let mut a = [0u8; FxsaveArea::SIZE];
    a[0..2].copy_from_slice(&fpu.fcw.to_le_bytes());
    a[2..4].copy_from_slice(&fpu.fsw.to_le_bytes());
    a[4] = fpu.ftwx;
    a[6..8].copy_from_slice(&fpu.last_opcode.to_le_bytes());
    a[8..16].copy_from_slice(&fpu.last_ip.to_le_bytes());
    a[16..24].copy_from_slice(&fpu.last_dp.to_le_bytes());
    a[24..28].copy_from_slice(&fpu.mxcsr.to_le_bytes());
    a[28..32].copy_from_slice(&FxsaveArea::MXCSR_MASK_VALUE.to_le_bytes());
    for (i, st) in fpu.fpr.iter().enumerate() {
        a[32 + 16 * i..48 + 16 * i].copy_from_slice(st);
    }
    for (i, x) in fpu.xmm.iter().enumerate() {
        a[160 + 16 * i..176 + 16 * i].copy_from_slice(x);
    }
    FxsaveArea(a)
}

/// KVM's FPU state from an FXSAVE image; refused when MXCSR has reserved
/// bits (FXRSTOR would fault).
fn fpu_of(area: &FxsaveArea) -> Result<kvm_fpu, EngineError> {
    let a = &area.0;
    let u16_at = |i: usize| u16::from_le_bytes([a[i], a[i + 1]]);
    let u64_at = |i: usize| {
        let mut b = [0u8; 8];
        b.copy_from_slice(&a[i..i + 8]);
        u64::from_le_bytes(b)
    };
    let mxcsr = area.mxcsr();
    if mxcsr & !FxsaveArea::MXCSR_MASK_VALUE != 0 {
        return Err(err(format!(
            "FXSAVE image with reserved MXCSR bits {mxcsr:#x}"
        )));
    }
    let mut fpu = kvm_fpu {
        fcw: u16_at(0),
        fsw: u16_at(2),
        ftwx: a[4],
        last_opcode: u16_at(6),
        last_ip: u64_at(8),
        last_dp: u64_at(16),
        mxcsr,
        ..Default::default()
    };
    for (i, st) in fpu.fpr.iter_mut().enumerate() {
        st.copy_from_slice(&a[32 + 16 * i..48 + 16 * i]);
    }
    for (i, x) in fpu.xmm.iter_mut().enumerate() {
        x.copy_from_slice(&a[160 + 16 * i..176 + 16 * i]);
    }
    Ok(fpu)
}

/// The longest x86 instruction.
const MAX_INSTRUCTION: usize = 15;

/// An instruction's bytes from its opcode on: legacy prefixes and REX
/// skipped.
fn opcode_after_prefixes(bytes: &[u8]) -> &[u8] {
    let prefixes = bytes
        .iter()
        .take_while(|b| {
            matches!(
                b,
                0x66 | 0x67 | 0xf0 | 0xf2 | 0xf3 | 0x2e | 0x36 | 0x3e | 0x26 | 0x64 | 0x65
            ) || (0x40..=0x4f).contains(*b)
        })
        .count();
    bytes.get(prefixes..).unwrap_or_default()
}

/// One leaf of the shared CPU profile as a KVM CPUID entry (subleaf 0;
/// leaf 7 is indexed by subleaf).
fn cpuid_entry(leaf: u32, r: cpu_profile::CpuidResult) -> kvm_bindings::kvm_cpuid_entry2 {
    kvm_bindings::kvm_cpuid_entry2 {
        function: leaf,
        index: 0,
        flags: if leaf == 7 {
            KVM_CPUID_FLAG_SIGNIFCANT_INDEX
        } else {
            0
        },
        eax: r.eax,
        ebx: r.ebx,
        ecx: r.ecx,
        edx: r.edx,
        ..Default::default()
    }
}

/// The shared CPU profile as a KVM CPUID table.
fn cpuid_table() -> Result<CpuId, String> {
    let mut cpuid = CpuId::new(0).map_err(|e| format!("CPUID table: {e:?}"))?;
    for (leaf, r) in cpu_profile::leaves() {
        cpuid
            .push(cpuid_entry(leaf, r))
            .map_err(|e| format!("CPUID table: {e:?}"))?;
    }
    if cpuid.as_slice().len() > KVM_MAX_CPUID_ENTRIES {
        return Err("CPUID table too large".into());
    }
    Ok(cpuid)
}

/// Writes the GDT, TSS, IDT and stub code and maps them supervisor-only.
fn install_stub(
    sys: &SysMemory,
    tables: &mut PageTables,
) -> Result<(), sys_memory::SysMemoryError> {
    sys.write_bytes(GDT, &stub::gdt())?;
    sys.write_bytes(TSS, &stub::tss())?;
    sys.write_bytes(IDT, &stub::idt())?;
    sys.write_bytes(CODE, &stub::code())?;
    let pages = [
        (GDT, WRITABLE | NO_EXECUTE),
        (IDT, WRITABLE | NO_EXECUTE),
        (CODE, 0),
        (DATA, WRITABLE | NO_EXECUTE),
    ];
    for (off, flags) in pages {
        tables.map(sys, KERNEL_BASE + off, SYS_GPA + off, flags)?;
    }
    let mut off = STACK_BOTTOM;
    while off < STACK_TOP {
        tables.map(sys, KERNEL_BASE + off, SYS_GPA + off, WRITABLE | NO_EXECUTE)?;
        off += PAGE;
    }
    Ok(())
}

fn leaf_flags(prot: Prot) -> u64 {
    let mut flags = USER;
    if prot.contains(Prot::WRITE) {
        flags |= WRITABLE;
    }
    if !prot.contains(Prot::EXEC) {
        flags |= NO_EXECUTE;
    }
    flags
}

fn segment(selector: u16, code: bool, dpl: u8) -> kvm_segment {
    kvm_segment {
        base: 0,
        limit: 0xffff_ffff,
        selector,
        type_: if code { 11 } else { 3 },
        present: 1,
        dpl,
        db: u8::from(!code),
        s: 1,
        l: u8::from(code),
        g: 1,
        avl: 0,
        unusable: 0,
        padding: 0,
    }
}

fn null_segment() -> kvm_segment {
    kvm_segment {
        type_: 3,
        unusable: 1,
        ..Default::default()
    }
}

impl Engine for KvmEngine {
    fn name(&self) -> &'static str {
        NAME
    }

    fn apply(&mut self, changes: &[MemoryChange]) -> Result<(), EngineError> {
        for change in changes {
            match *change {
                MemoryChange::Map {
                    start,
                    len,
                    prot,
                    gpa,
                } => {
                    let flags = leaf_flags(prot);
                    let mut off = 0;
                    while off < len {
                        self.tables
                            .map(&self.sys, start + off, gpa + off, flags)
                            .map_err(err)?;
                        off += PAGE;
                    }
                }
                MemoryChange::Unmap { start, len } => {
                    let mut off = 0;
                    while off < len {
                        self.tables.unmap(&self.sys, start + off).map_err(err)?;
                        off += PAGE;
                    }
                }
            }
        }
        // The stub reloads CR3 before returning to the contract.
        self.sys.write_bytes(TLB_FLAG, &[1]).map_err(err)
    }

    fn reset(&mut self, entry: EntryState) -> Result<(), EngineError> {
        self.position = Position::User;
        self.loaded = None;
        self.sys
            .write_u64(MXCSR_SAVED, u64::from(INITIAL_MXCSR))
            .map_err(err)?;
        let mut sregs: kvm_sregs = self
            .vcpu
            .get_sregs()
            .map_err(|e| err(format!("get sregs: {e}")))?;
        // Linux's CR0, AM included: RFLAGS.AC turns on alignment checks.
        sregs.cr0 = visible::CR0;
        sregs.cr3 = self.tables.root_gpa();
        sregs.cr4 = CR4_PAE | CR4_OSFXSR | CR4_OSXMMEXCPT | CR4_TSD;
        sregs.efer = EFER_SCE | EFER_LME | EFER_LMA | EFER_NXE;
        sregs.cs = segment(USER_CS, true, 3);
        sregs.ss = segment(USER_DS, false, 3);
        sregs.ds = null_segment();
        sregs.es = null_segment();
        sregs.fs = null_segment();
        sregs.gs = null_segment();
        sregs.ldt = kvm_segment {
            type_: 2,
            unusable: 1,
            ..Default::default()
        };
        sregs.tr = kvm_segment {
            base: KERNEL_BASE + TSS,
            limit: TSS_LIMIT as u32,
            selector: TSS_SEL,
            type_: 11,
            present: 1,
            ..Default::default()
        };
        sregs.gdt.base = visible::GDT_BASE;
        sregs.gdt.limit = visible::GDT_LIMIT;
        sregs.idt.base = visible::IDT_BASE;
        sregs.idt.limit = visible::IDT_LIMIT;
        self.vcpu
            .set_sregs(&sregs)
            .map_err(|e| err(format!("set sregs: {e}")))?;
        let star = (u64::from(USER32_CS) << 48) | (u64::from(KERNEL_CS) << 32);
        self.set_msrs(&[
            (MSR_STAR, star),
            (MSR_LSTAR, KERNEL_BASE + SYSCALL_ENTRY),
            (MSR_CSTAR, 0),
            (MSR_SFMASK, SFMASK),
            (MSR_FS_BASE, 0),
            (MSR_GS_BASE, 0),
            (MSR_KERNEL_GS_BASE, 0),
            (MSR_TSC_AUX, 0),
        ])?;
        // XCR0 = x87|SSE; with CR4.OSXSAVE clear, AVX is #UD regardless.
        let mut xcrs = kvm_xcrs {
            nr_xcrs: 1,
            ..Default::default()
        };
        xcrs.xcrs[0].xcr = 0;
        xcrs.xcrs[0].value = 3;
        let _ = self.vcpu.set_xcrs(&xcrs); // absent without XSAVE support: harmless
                                           // Enter through the resume path, which loads MXCSR itself
                                           // (KVM_SET_FPU's is not reliable): a vCPU kept between calls must
                                           // not keep the last call's.
        self.set_context(&ThreadContext {
            regs: GeneralRegisters {
                rsp: entry.rsp,
                ..GeneralRegisters::default()
            },
            rip: entry.rip,
            rflags: INITIAL_RFLAGS,
            fs_base: 0,
            gs_base: 0,
            fxsave: FxsaveArea::initial(),
        })
    }

    fn set_deadline(&mut self, deadline: Option<Instant>) {
        self.deadline = deadline;
    }

    fn context(&self) -> Result<ThreadContext, EngineError> {
        if let Some(c) = self.loaded {
            return Ok(c);
        }
        let r = self.regs()?;
        let (rip, rflags, rsp) = match self.position {
            Position::User => (r.rip, r.rflags, r.rsp),
            // `syscall` saved them there; SFMASK cleared bits in RFLAGS.
            Position::SyscallExit => (r.rcx, r.r11, r.rsp),
            Position::Exception { frame } => {
                let at = |i: u64| self.sys.read_u64(frame + 8 * i).map_err(err);
                (at(0)?, at(2)?, at(3)?)
            }
        };
        let sregs = self
            .vcpu
            .get_sregs()
            .map_err(|e| err(format!("get sregs: {e}")))?;
        let fpu = self
            .vcpu
            .get_fpu()
            .map_err(|e| err(format!("get FPU: {e}")))?;
        Ok(ThreadContext {
            regs: GeneralRegisters {
                rax: r.rax,
                rbx: r.rbx,
                rcx: r.rcx,
                rdx: r.rdx,
                rsi: r.rsi,
                rdi: r.rdi,
                rbp: r.rbp,
                rsp,
                r8: r.r8,
                r9: r.r9,
                r10: r.r10,
                r11: r.r11,
                r12: r.r12,
                r13: r.r13,
                r14: r.r14,
                r15: r.r15,
            },
            rip,
            rflags,
            fs_base: sregs.fs.base,
            gs_base: sregs.gs.base,
            fxsave: {
                let mut fx = fxsave_of(&fpu);
                // MXCSR as the stub stored it at the exit (see layout).
                let mxcsr = self.sys.read_u64(MXCSR_SAVED).map_err(err)? as u32;
                fx.0[24..28].copy_from_slice(&mxcsr.to_le_bytes());
                fx
            },
        })
    }

    fn set_context(&mut self, c: &ThreadContext) -> Result<(), EngineError> {
        let fpu = fpu_of(&c.fxsave)?;
        self.vcpu
            .set_fpu(&fpu)
            .map_err(|e| err(format!("set FPU: {e}")))?;
        // The resume entry loads MXCSR from here (KVM_SET_FPU's is not
        // reliable), then IRETQs to the contract with this frame, after
        // the TLB flush a page-table change may need.
        self.sys
            .write_u64(MXCSR_LOAD, u64::from(c.fxsave.mxcsr()))
            .map_err(err)?;
        let frame = [
            c.rip,
            u64::from(USER_CS),
            (c.rflags & USER_RFLAGS) | INITIAL_RFLAGS,
            c.regs.rsp,
            u64::from(USER_DS),
        ];
        for (i, v) in frame.iter().enumerate() {
            self.sys
                .write_u64(RESUME_FRAME + 8 * i as u64, *v)
                .map_err(err)?;
        }
        let mut sregs = self
            .vcpu
            .get_sregs()
            .map_err(|e| err(format!("get sregs: {e}")))?;
        sregs.cs = segment(KERNEL_CS, true, 0);
        sregs.ss = segment(visible::selector::KERNEL_DS, false, 0);
        sregs.fs.base = c.fs_base;
        sregs.gs.base = c.gs_base;
        self.vcpu
            .set_sregs(&sregs)
            .map_err(|e| err(format!("set sregs: {e}")))?;
        let g = &c.regs;
        let regs = kvm_regs {
            rax: g.rax,
            rbx: g.rbx,
            rcx: g.rcx,
            rdx: g.rdx,
            rsi: g.rsi,
            rdi: g.rdi,
            rbp: g.rbp,
            rsp: KERNEL_BASE + RESUME_FRAME,
            r8: g.r8,
            r9: g.r9,
            r10: g.r10,
            r11: g.r11,
            r12: g.r12,
            r13: g.r13,
            r14: g.r14,
            r15: g.r15,
            rip: KERNEL_BASE + RESUME_ENTRY,
            // Ring 0, interrupts off until IRETQ loads the contract's.
            rflags: INITIAL_RFLAGS & !0x200,
        };
        // Written by ioctl, as the sregs above; the copy in kvm_run that
        // `regs()` reads is kept in step.
        self.vcpu
            .set_regs(&regs)
            .map_err(|e| err(format!("set registers: {e}")))?;
        if self.sync_regs {
            self.vcpu.sync_regs_mut().regs = regs;
        }
        self.position = Position::User;
        self.loaded = Some(ThreadContext {
            rflags: (c.rflags & USER_RFLAGS) | INITIAL_RFLAGS,
            ..*c
        });
        Ok(())
    }

    fn run(&mut self, supervisor: &mut dyn Supervisor) -> Result<Exit, EngineError> {
        self.position = Position::User;
        self.loaded = None;
        let Some(deadline) = self.deadline else {
            return self.run_until_exit(supervisor, None);
        };
        if Instant::now() >= deadline {
            return Ok(Exit::TimedOut);
        }
        kick::install().map_err(|e| err(format!("cannot install the kick signal: {e}")))?;
        let run = std::ptr::from_mut(self.vcpu.get_kvm_run());
        // SAFETY: the vCPU's kvm_run mapping lives as long as `self.vcpu`,
        // which outlives this registration (dropped at the end of `run`).
        let registered = unsafe { kick::Registered::new(run) }
            .map_err(|e| err(format!("cannot unblock the kick signal: {e}")))?;
        let thread = kick::this_thread();
        let watchdog = Watchdog::start(deadline, move || kick::kick(thread))
            .map_err(|e| err(format!("cannot start the timeout watchdog: {e}")))?;
        let result = self.run_until_exit(supervisor, Some(&watchdog));
        watchdog.stop();
        drop(registered);
        // A kick that landed after the last KVM_RUN must not end the next.
        self.vcpu.set_kvm_immediate_exit(0);
        result
    }
}

impl KvmEngine {
    /// Runs the vCPU until the guest stops or faults, or `watchdog` fires.
    fn run_until_exit(
        &mut self,
        supervisor: &mut dyn Supervisor,
        watchdog: Option<&Watchdog>,
    ) -> Result<Exit, EngineError> {
        let fired = || watchdog.is_some_and(Watchdog::fired);
        loop {
            if fired() {
                return Ok(Exit::TimedOut);
            }
            let exit = match self.vcpu.run() {
                Ok(exit) => exit,
                // Kicked (see `kick`): by our watchdog, checked above, or
                // a late kick meant for an earlier run.
                Err(e) if e.errno() == libc::EINTR => {
                    self.vcpu.set_kvm_immediate_exit(0);
                    continue;
                }
                Err(e) => return Err(err(format!("KVM_RUN: {e}"))),
            };
            let outcome = match exit {
                VcpuExit::Intr => {
                    self.vcpu.set_kvm_immediate_exit(0);
                    continue;
                }
                VcpuExit::IoOut(PORT_SYSCALL, _) => self.syscall(supervisor)?,
                VcpuExit::IoOut(port, _)
                    if (PORT_EXCEPTION..PORT_EXCEPTION + VECTORS as u16).contains(&port) =>
                {
                    self.exception(u64::from(port - PORT_EXCEPTION), supervisor)?
                }
                VcpuExit::Shutdown => return Err(err("the VM shut down (triple fault)")),
                VcpuExit::Hlt => return Err(err("the VM halted")),
                other => return Err(err(format!("unexpected exit {other:?}"))),
            };
            if let Some(exit) = outcome {
                return Ok(exit);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::opcode_after_prefixes;

    #[test]
    fn prefixes_are_skipped_to_the_opcode() {
        let cases: &[(&[u8], &[u8])] = &[
            (&[0x0f, 0x34], &[0x0f, 0x34]),
            (&[0x66, 0x48, 0x0f, 0x34, 0x90], &[0x0f, 0x34, 0x90]),
            (&[0xf3, 0x2e, 0x41, 0x0f, 0x31], &[0x0f, 0x31]),
            (&[0x66, 0x66], &[]),
            (&[], &[]),
        ];
        for (bytes, opcode) in cases {
            assert_eq!(opcode_after_prefixes(bytes), *opcode, "{bytes:x?}");
        }
    }
}
