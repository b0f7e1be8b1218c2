//! The x86-64 rt_sigframe: what Linux writes on the stack to run a signal
//! handler (x64_setup_rt_frame, get_sigframe) and what rt_sigreturn takes
//! back (restore_sigcontext, fpu__restore_sig, restore_altstack).
//!
//! Layout, from the frame's address (the handler's RSP):
//!
//! | offset | what |
//! |---|---|
//! | 0 | pretcode: the action's sa_restorer, the handler's return address |
//! | 8 | struct ucontext (304 bytes): uc_flags, uc_link, uc_stack (24), uc_mcontext (struct sigcontext, 256, at uc+40), uc_sigmask (8, at uc+296) |
//! | 312 | siginfo (128), written only with SA_SIGINFO |
//! | 440 | end of the frame; then alignment padding up to the FP state |
//! | fpstate | the 512-byte FXSAVE image, 64-byte aligned, below the red zone |
//!
//! qvm hides XSAVE, so the FP state is the legacy FXSAVE image and
//! uc_flags has no UC_FP_XSTATE. Bytes Linux does not write (uc_stack's
//! padding, sigcontext.reserved1, siginfo without SA_SIGINFO, alignment
//! gaps) keep whatever the stack held, as on Linux.
//!
//! Where qvm differs from Linux: the FXSAVE image's software-reserved
//! bytes 464..511 are written as zeros, the meaning the uapi header gives
//! a legacy (non-XSAVE) frame. Linux up to 5.15 wrote exactly that
//! without XSAVE; later kernels write an xstate descriptor there even
//! without XSAVE (FP_XSTATE_MAGIC1, sizes 516/512, the FP/SSE feature
//! mask) but no FP_XSTATE_MAGIC2 after the image. rt_sigreturn into a CS
//! other than the 64-bit user CS (0x23 would switch Linux to 32-bit
//! mode) is refused with SIGSEGV: qvm does not run 32-bit code.

use thiserror::Error;

use super::altstack::{AltStack, MINSIGSTKSZ};
use super::sigaction::{SigAction, SA_ONSTACK, SA_RESTORER, SA_SIGINFO};
use super::siginfo::{FaultDetails, SigInfo};
use super::sigset::SigSet;
use crate::address_space::{AddressSpace, MmError};
use crate::engine::visible::selector;
use crate::engine::{FxsaveArea, GeneralRegisters, ThreadContext};
use crate::layout::USER_END;

/// `sizeof(struct rt_sigframe)` on x86-64.
pub const FRAME_SIZE: u64 = 440;
/// `sizeof(struct ucontext)` (the kernel's, not glibc's 936-byte
/// ucontext_t, which appends its own FP save area).
pub const UCONTEXT_SIZE: u64 = 304;
/// `sizeof(struct sigcontext)`.
pub const SIGCONTEXT_SIZE: u64 = 256;
/// The FP state's size in the frame: the FXSAVE image, no XSAVE.
pub const FPSTATE_SIZE: u64 = FxsaveArea::SIZE as u64;
/// The ABI's red zone below RSP that a handler must not clobber.
pub const RED_ZONE: u64 = 128;

pub const UC_FP_XSTATE: u64 = 1;
pub const UC_SIGCONTEXT_SS: u64 = 2;
pub const UC_STRICT_RESTORE_SS: u64 = 4;
/// uc_flags of every qvm frame: what Linux 4.14+ sets for 64-bit code on
/// a CPU without XSAVE.
pub const FRAME_UC_FLAGS: u64 = UC_SIGCONTEXT_SS | UC_STRICT_RESTORE_SS;

/// Offsets in the frame.
pub mod offset {
    pub const PRETCODE: usize = 0;
    pub const UC: usize = 8;
    pub const UC_FLAGS: usize = UC;
    pub const UC_LINK: usize = UC + 8;
    pub const UC_STACK: usize = UC + 16;
    pub const SS_SP: usize = UC_STACK;
    pub const SS_FLAGS: usize = UC_STACK + 8;
    pub const SS_SIZE: usize = UC_STACK + 16;
    pub const MCONTEXT: usize = UC + 40;
    pub const UC_SIGMASK: usize = UC + 296;
    pub const INFO: usize = UC + 304;
}

/// Offsets in struct sigcontext.
pub mod sc {
    pub const R8: usize = 0;
    pub const R9: usize = 8;
    pub const R10: usize = 16;
    pub const R11: usize = 24;
    pub const R12: usize = 32;
    pub const R13: usize = 40;
    pub const R14: usize = 48;
    pub const R15: usize = 56;
    pub const RDI: usize = 64;
    pub const RSI: usize = 72;
    pub const RBP: usize = 80;
    pub const RBX: usize = 88;
    pub const RDX: usize = 96;
    pub const RAX: usize = 104;
    pub const RCX: usize = 112;
    pub const RSP: usize = 120;
    pub const RIP: usize = 128;
    pub const EFLAGS: usize = 136;
    pub const CS: usize = 144;
    pub const GS: usize = 146;
    pub const FS: usize = 148;
    pub const SS: usize = 150;
    pub const ERR: usize = 152;
    pub const TRAPNO: usize = 160;
    pub const OLDMASK: usize = 168;
    pub const CR2: usize = 176;
    pub const FPSTATE: usize = 184;
    /// reserved1[8]: never written nor read.
    pub const RESERVED1: usize = 192;
    /// What rt_sigreturn reads: everything before reserved1.
    pub const READ_SIZE: usize = RESERVED1;
}

/// RFLAGS bits.
mod rflags {
    pub const CF: u64 = 1;
    pub const PF: u64 = 1 << 2;
    pub const AF: u64 = 1 << 4;
    pub const ZF: u64 = 1 << 6;
    pub const SF: u64 = 1 << 7;
    pub const TF: u64 = 1 << 8;
    pub const DF: u64 = 1 << 10;
    pub const OF: u64 = 1 << 11;
    pub const RF: u64 = 1 << 16;
    pub const AC: u64 = 1 << 18;
}

/// The RFLAGS bits rt_sigreturn takes from the frame (Linux's FIX_EFLAGS);
/// the others (IF, IOPL, NT, ID...) stay as they were.
pub const FIX_EFLAGS: u64 = rflags::AC
    | rflags::OF
    | rflags::DF
    | rflags::TF
    | rflags::SF
    | rflags::ZF
    | rflags::AF
    | rflags::PF
    | rflags::CF
    | rflags::RF;

/// RFLAGS bits cleared for the handler (Linux's handle_signal: DF for the
/// ABI, RF and TF against spurious debug traps). AC stays as it was.
pub const HANDLER_CLEARED_RFLAGS: u64 = rflags::DF | rflags::RF | rflags::TF;

/// The software-reserved tail of the FXSAVE image (`sw_reserved`).
const FP_SW_RESERVED: usize = 464;
/// Bytes of the image FXRSTOR does not load (reserved and software).
const FP_NOT_LOADED: usize = 416;
/// FXRSTOR faults (#GP) unless its operand is 16-byte aligned.
const FXRSTOR_ALIGN: u64 = 16;

/// The guest memory a frame is written to and read from (copy_to_user
/// and copy_from_user).
pub trait UserMemory {
    fn read(&self, addr: u64, buf: &mut [u8]) -> Result<(), MmError>;
    fn write(&self, addr: u64, buf: &[u8]) -> Result<(), MmError>;
}

impl UserMemory for AddressSpace {
    fn read(&self, addr: u64, buf: &mut [u8]) -> Result<(), MmError> {
        AddressSpace::read(self, addr, buf)
    }
    fn write(&self, addr: u64, buf: &[u8]) -> Result<(), MmError> {
        AddressSpace::write(self, addr, buf)
    }
}

/// Why a signal frame could not be set up. Linux answers every case with
/// force_sigsegv(sig): SIGSEGV, with its handler reset to SIG_DFL first
/// when the signal being delivered was SIGSEGV itself.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Error)]
pub enum FrameError {
    #[error("the action has no SA_RESTORER (x86-64 requires one)")]
    NoRestorer,
    #[error("the frame would overflow the alternate signal stack")]
    AltStackOverflow,
    #[error("the frame is not in writable user memory at {0:#x}")]
    Fault(u64),
}

/// A signal frame ready to be written, and the handler's context.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Frame {
    /// The frame's address: the handler's RSP.
    pub sp: u64,
    /// Where the FXSAVE image goes.
    pub fpstate: u64,
    /// The bytes from `sp` to the end of the FP state; bytes Linux does
    /// not write are zero here and are not written.
    pub image: Vec<u8>,
    /// The (offset, length) pieces of `image` Linux writes, in its order;
    /// each piece is written whole or not at all.
    pub pieces: Vec<(usize, usize)>,
    /// The thread's context when the handler starts.
    pub handler: ThreadContext,
}

impl Frame {
    /// The address of the siginfo (the handler's RSI).
    pub fn info_addr(&self) -> u64 {
        self.sp.wrapping_add(offset::INFO as u64)
    }

    /// The address of the ucontext (the handler's RDX).
    pub fn ucontext_addr(&self) -> u64 {
        self.sp.wrapping_add(offset::UC as u64)
    }

    /// Writes the frame as Linux does: the FP state first, then the
    /// ucontext field by field, then the siginfo. A piece that does not
    /// fit stops the writing; the pieces before it stay written, as on
    /// Linux.
    pub fn write_to(&self, mem: &dyn UserMemory) -> Result<(), FrameError> {
        // Linux's access_ok on the FP state, then on the whole frame.
        let fp_at = self.fpstate.wrapping_sub(self.sp);
        for &(off, len) in &self.pieces {
            let addr = self.sp.wrapping_add(off as u64);
            if (off as u64) == fp_at && !access_ok(self.fpstate, FPSTATE_SIZE) {
                return Err(FrameError::Fault(self.fpstate));
            }
            if (off as u64) == offset::UC_FLAGS as u64 && !access_ok(self.sp, FRAME_SIZE) {
                return Err(FrameError::Fault(self.sp));
            }
            let bytes = self
                .image
                .get(off..off + len)
                .ok_or(FrameError::Fault(addr))?;
            mem.write(addr, bytes)
                .map_err(|_| FrameError::Fault(addr))?;
        }
        Ok(())
    }
}

/// Linux's access_ok: the range lies below the top of user space.
fn access_ok(addr: u64, len: u64) -> bool {
    len <= USER_END && addr <= USER_END - len
}

fn put(image: &mut [u8], pieces: &mut Vec<(usize, usize)>, at: usize, bytes: &[u8]) {
    if let Some(dst) = image.get_mut(at..at + bytes.len()) {
        dst.copy_from_slice(bytes);
        pieces.push((at, bytes.len()));
    }
}

/// Builds the frame for delivering `info` with `action` to a thread in
/// `ctx`, whose mask to restore afterwards is `blocked`, with its
/// alternate stack `altstack` and trap record `fault` (None: a thread
/// that never trapped). Linux's get_sigframe places it: below the red
/// zone, or at the top of the alternate stack with SA_ONSTACK when not
/// already on it; the FP state 64-byte aligned, the frame under it
/// aligned so that RSP + 8 is a multiple of 16, as at a function's entry.
///
/// The caller then writes the frame ([`Frame::write_to`]), switches the
/// thread to `handler`, and updates the mask
/// ([`SigAction::blocked_in_handler`]), the action
/// ([`SigAction::after_delivery`]) and the alternate stack
/// ([`AltStack::after_delivery`]).
pub fn build(
    ctx: &ThreadContext,
    info: &SigInfo,
    action: &SigAction,
    blocked: SigSet,
    altstack: &AltStack,
    fault: Option<FaultDetails>,
) -> Result<Frame, FrameError> {
    if !action.has(SA_RESTORER) {
        return Err(FrameError::NoRestorer);
    }
    let rsp = ctx.regs.rsp;
    let nested = altstack.is_on(rsp);
    let mut sp = rsp.wrapping_sub(RED_ZONE);
    let mut entering = false;
    if action.has(SA_ONSTACK) && altstack.status(sp) == 0 {
        sp = altstack.sp.wrapping_add(altstack.size);
        entering = true;
    }
    let fpstate = sp.wrapping_sub(FPSTATE_SIZE) & !63;
    let frame = (fpstate.wrapping_sub(FRAME_SIZE) & !15).wrapping_sub(8);
    if (nested || entering) && !(frame > altstack.sp && frame - altstack.sp <= altstack.size) {
        return Err(FrameError::AltStackOverflow);
    }

    let fp_at =
        usize::try_from(fpstate.wrapping_sub(frame)).map_err(|_| FrameError::Fault(frame))?;
    let mut image = vec![0u8; fp_at + FxsaveArea::SIZE];
    let mut pieces = Vec::with_capacity(40);
    let img = &mut image;
    let p = &mut pieces;

    // The FP state (copy_fpstate_to_sigframe): the image, then the zeroed
    // software-reserved bytes.
    let mut fx = ctx.fxsave.0;
    fx[FP_SW_RESERVED..].fill(0);
    put(img, p, fp_at, &fx);

    let q = |v: u64| v.to_le_bytes();
    let (ss_sp, ss_flags, ss_size) = altstack.frame_fields();
    put(img, p, offset::UC_FLAGS, &q(FRAME_UC_FLAGS));
    put(img, p, offset::UC_LINK, &q(0));
    put(img, p, offset::SS_SP, &q(ss_sp));
    put(img, p, offset::SS_FLAGS, &ss_flags.to_le_bytes());
    put(img, p, offset::SS_SIZE, &q(ss_size));
    put(img, p, offset::PRETCODE, &q(action.restorer));

    // The sigcontext, in __unsafe_setup_sigcontext's order.
    let m = offset::MCONTEXT;
    let r = &ctx.regs;
    let details = fault.unwrap_or_default();
    let words = [
        (sc::RDI, r.rdi),
        (sc::RSI, r.rsi),
        (sc::RBP, r.rbp),
        (sc::RSP, r.rsp),
        (sc::RBX, r.rbx),
        (sc::RDX, r.rdx),
        (sc::RCX, r.rcx),
        (sc::RAX, r.rax),
        (sc::R8, r.r8),
        (sc::R9, r.r9),
        (sc::R10, r.r10),
        (sc::R11, r.r11),
        (sc::R12, r.r12),
        (sc::R13, r.r13),
        (sc::R14, r.r14),
        (sc::R15, r.r15),
        (sc::TRAPNO, details.trapno),
        (sc::ERR, details.error_code),
        (sc::RIP, ctx.rip),
        (sc::EFLAGS, ctx.rflags),
    ];
    for (at, v) in words {
        put(img, p, m + at, &q(v));
    }
    put(img, p, m + sc::CS, &selector::USER_CS.to_le_bytes());
    put(img, p, m + sc::GS, &0u16.to_le_bytes());
    put(img, p, m + sc::FS, &0u16.to_le_bytes());
    put(img, p, m + sc::SS, &selector::USER_DS.to_le_bytes());
    put(img, p, m + sc::FPSTATE, &q(fpstate));
    put(img, p, m + sc::OLDMASK, &q(blocked.bits()));
    put(img, p, m + sc::CR2, &q(details.cr2));
    put(img, p, offset::UC_SIGMASK, &q(blocked.bits()));
    if action.has(SA_SIGINFO) {
        put(img, p, offset::INFO, &info.to_bytes());
    }

    let mut handler = *ctx;
    handler.regs.rdi = info.signo as u64;
    handler.regs.rsi = frame.wrapping_add(offset::INFO as u64);
    handler.regs.rdx = frame.wrapping_add(offset::UC as u64);
    handler.regs.rax = 0;
    handler.regs.rsp = frame;
    handler.rip = action.handler;
    handler.rflags &= !HANDLER_CLEARED_RFLAGS;
    handler.fxsave = FxsaveArea::initial();

    Ok(Frame {
        sp: frame,
        fpstate,
        image,
        pieces,
        handler,
    })
}

/// The thread's state after rt_sigreturn.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct SigReturn {
    /// Every register as the frame says (RFLAGS only in FIX_EFLAGS; FS and
    /// GS base as they were); RAX is the syscall's "return value".
    pub context: ThreadContext,
    pub blocked: SigSet,
    pub altstack: AltStack,
}

/// A bad frame: Linux forces SIGSEGV (force_sig) on a thread left in
/// `state`, which holds whatever rt_sigreturn had already restored when
/// it failed (the mask is restored before the registers, the registers
/// before the FP state and the alternate stack).
#[derive(Clone, Debug, PartialEq, Eq, Error)]
#[error("bad signal frame at {frame:#x}")]
pub struct BadFrame {
    pub frame: u64,
    pub state: Box<SigReturn>,
}

fn le64(b: &[u8], at: usize) -> u64 {
    let mut w = [0u8; 8];
    if let Some(s) = b.get(at..at + 8) {
        w.copy_from_slice(s);
    }
    u64::from_le_bytes(w)
}

fn le16(b: &[u8], at: usize) -> u16 {
    let mut w = [0u8; 2];
    if let Some(s) = b.get(at..at + 2) {
        w.copy_from_slice(s);
    }
    u16::from_le_bytes(w)
}

/// rt_sigreturn for a thread in `current` (its RSP points 8 bytes into
/// the frame, past pretcode, which the handler's `ret` popped), with mask
/// `blocked` and alternate stack `altstack`.
pub fn restore(
    mem: &dyn UserMemory,
    current: &ThreadContext,
    blocked: SigSet,
    altstack: AltStack,
) -> Result<SigReturn, BadFrame> {
    let frame = current.regs.rsp.wrapping_sub(8);
    let mut state = SigReturn {
        context: *current,
        blocked,
        altstack,
    };
    let bad = |state: SigReturn| BadFrame {
        frame,
        state: Box::new(state),
    };
    if !access_ok(frame, FRAME_SIZE) {
        return Err(bad(state));
    }
    let at = |off: usize| frame.wrapping_add(off as u64);
    let mut word = [0u8; 8];
    mem.read(at(offset::UC_SIGMASK), &mut word)
        .map_err(|_| bad(state))?;
    let mask = SigSet::from_bits(u64::from_le_bytes(word));
    mem.read(at(offset::UC_FLAGS), &mut word)
        .map_err(|_| bad(state))?;
    let uc_flags = u64::from_le_bytes(word);
    state.blocked = mask.blockable();

    let mut s = [0u8; sc::READ_SIZE];
    mem.read(at(offset::MCONTEXT), &mut s)
        .map_err(|_| bad(state))?;
    let c = &mut state.context;
    c.regs = GeneralRegisters {
        rax: le64(&s, sc::RAX),
        rbx: le64(&s, sc::RBX),
        rcx: le64(&s, sc::RCX),
        rdx: le64(&s, sc::RDX),
        rsi: le64(&s, sc::RSI),
        rdi: le64(&s, sc::RDI),
        rbp: le64(&s, sc::RBP),
        rsp: le64(&s, sc::RSP),
        r8: le64(&s, sc::R8),
        r9: le64(&s, sc::R9),
        r10: le64(&s, sc::R10),
        r11: le64(&s, sc::R11),
        r12: le64(&s, sc::R12),
        r13: le64(&s, sc::R13),
        r14: le64(&s, sc::R14),
        r15: le64(&s, sc::R15),
    };
    c.rip = le64(&s, sc::RIP);
    c.rflags = (current.rflags & !FIX_EFLAGS) | (le64(&s, sc::EFLAGS) & FIX_EFLAGS);
    // CS and SS get RPL 3; with UC_STRICT_RESTORE_SS an invalid SS makes
    // the return to user mode fault, without it Linux replaces it.
    let cs = le16(&s, sc::CS) | 3;
    let ss = le16(&s, sc::SS) | 3;
    let segments_ok = cs == selector::USER_CS
        && (ss == selector::USER_DS || uc_flags & UC_STRICT_RESTORE_SS == 0);

    let fp_ok = match restore_fp(mem, le64(&s, sc::FPSTATE)) {
        Some(fx) => {
            c.fxsave = fx;
            true
        }
        None => {
            // fpu__restore_sig clears the FP state when it fails.
            c.fxsave = FxsaveArea::initial();
            false
        }
    };
    if !fp_ok {
        return Err(bad(state));
    }

    let mut stack = [0u8; AltStack::SIZE];
    mem.read(at(offset::UC_STACK), &mut stack)
        .map_err(|_| bad(state))?;
    // restore_altstack ignores every error but the fault reading it.
    let _ = state
        .altstack
        .set(&stack, state.context.regs.rsp, MINSIGSTKSZ);

    if !segments_ok {
        return Err(bad(state));
    }
    Ok(state)
}

/// fpu__restore_sig without XSAVE: NULL gives the initial state; else an
/// FXRSTOR of the image, which faults (None) on unreadable memory, an
/// unaligned image, or MXCSR bits the CPU does not support.
fn restore_fp(mem: &dyn UserMemory, addr: u64) -> Option<FxsaveArea> {
    if addr == 0 {
        return Some(FxsaveArea::initial());
    }
    if !access_ok(addr, FPSTATE_SIZE) || !addr.is_multiple_of(FXRSTOR_ALIGN) {
        return None;
    }
    let mut fx = FxsaveArea([0u8; FxsaveArea::SIZE]);
    mem.read(addr, &mut fx.0).ok()?;
    if fx.mxcsr() & !FxsaveArea::MXCSR_MASK_VALUE != 0 {
        return None;
    }
    // What a later FXSAVE shows: the CPU's MXCSR_MASK, and nothing of the
    // bytes FXRSTOR does not load.
    fx.0[28..32].copy_from_slice(&FxsaveArea::MXCSR_MASK_VALUE.to_le_bytes());
    fx.0[FP_NOT_LOADED..].fill(0);
    Some(fx)
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use super::super::altstack::{self, SS_AUTODISARM, SS_DISABLE};
    use super::super::siginfo::SEGV_MAPERR;
    use super::super::sigset::*;
    use super::*;
    use crate::address_space::Prot;
    use crate::guest_memory::GuestMemory;
    use crate::linux_abi::signal::*;

    const STACK: u64 = 0x7ff0_0000;
    const STACK_LEN: u64 = 0x10000;
    const ALT: u64 = 0x10_0000;
    const ALT_LEN: u64 = 0x4000;

    fn memory() -> AddressSpace {
        let mut space = AddressSpace::new(Arc::new(GuestMemory::new(16 << 20).unwrap()));
        space.map_fixed(STACK, STACK_LEN, Prot::RW, true).unwrap();
        space.map_fixed(ALT, ALT_LEN, Prot::RW, true).unwrap();
        space
    }

    fn action(flags: u64) -> SigAction {
        SigAction {
            handler: 0x40_1000,
            flags: flags | SA_RESTORER,
            restorer: 0x40_2000,
            mask: SigSet::EMPTY,
        }
    }

    /// A context with a distinct value in every register and FP byte.
    fn context(rsp: u64) -> ThreadContext {
        let mut fx = FxsaveArea::initial();
        for (i, b) in fx.0.iter_mut().enumerate().take(FP_NOT_LOADED) {
            *b = (i as u8).wrapping_mul(7) | 1;
        }
        fx.0[24..28].copy_from_slice(&0x1f80u32.to_le_bytes());
        fx.0[28..32].copy_from_slice(&FxsaveArea::MXCSR_MASK_VALUE.to_le_bytes());
        let n = |i: u64| 0x1111_0000_0000_0000 * i + i;
        ThreadContext {
            regs: GeneralRegisters {
                rax: n(1),
                rbx: n(2),
                rcx: n(3),
                rdx: n(4),
                rsi: n(5),
                rdi: n(6),
                rbp: n(7),
                rsp,
                r8: n(8),
                r9: n(9),
                r10: n(10),
                r11: n(11),
                r12: n(12),
                r13: n(13),
                r14: n(14),
                r15: 0xf,
            },
            rip: 0x40_3456,
            // IF, bit 1, CF, ZF, DF, TF, AC, RF, ID.
            rflags: 0x202 | 0x41 | 0x400 | 0x100 | 0x4_0000 | 0x1_0000 | 0x20_0000,
            fs_base: 0x7000_0000,
            gs_base: 0x7100_0000,
            fxsave: fx,
        }
    }

    fn word(b: &[u8], at: usize) -> u64 {
        le64(b, at)
    }

    #[test]
    fn layout_matches_linux_headers() {
        // offsetof(struct ucontext, uc_mcontext) = 40, uc_sigmask = 296,
        // sizeof(struct ucontext) = 304; rt_sigframe = 8 + 304 + 128.
        assert_eq!(offset::MCONTEXT - offset::UC, 40);
        assert_eq!(offset::UC_SIGMASK - offset::UC, 296);
        assert_eq!(offset::INFO - offset::UC, UCONTEXT_SIZE as usize);
        assert_eq!(offset::INFO + SigInfo::SIZE, FRAME_SIZE as usize);
        assert_eq!(sc::RESERVED1 + 64, SIGCONTEXT_SIZE as usize);
        assert_eq!(40 + SIGCONTEXT_SIZE as usize, 296);
        assert_eq!(FIX_EFLAGS, 0x50dd5);
    }

    #[test]
    fn frame_placement() {
        let alt = |flags: u32, size: u64| AltStack {
            sp: ALT,
            size,
            flags,
        };
        // (rsp, SA_ONSTACK?, altstack, frame or error, fpstate)
        type Case = (u64, bool, AltStack, Result<u64, FrameError>, u64);
        let cases: &[Case] = &[
            (
                0x7fff_1000,
                false,
                alt(0, ALT_LEN),
                Ok(0x7fff_0bb8),
                0x7fff_0d80,
            ),
            (
                0x7fff_1008,
                false,
                alt(0, ALT_LEN),
                Ok(0x7fff_0bb8),
                0x7fff_0d80,
            ),
            (
                0x7fff_1040,
                false,
                alt(0, ALT_LEN),
                Ok(0x7fff_0bf8),
                0x7fff_0dc0,
            ),
            (
                0x7fff_107f,
                false,
                alt(0, ALT_LEN),
                Ok(0x7fff_0bf8),
                0x7fff_0dc0,
            ),
            // Onto the top of the alternate stack.
            (0x7fff_1000, true, alt(0, ALT_LEN), Ok(0x10_3c38), 0x10_3e00),
            // Already on it: below the current RSP.
            (0x10_2000, true, alt(0, ALT_LEN), Ok(0x10_1bb8), 0x10_1d80),
            // Without SA_ONSTACK the alternate stack is not used.
            (0x10_2000, false, alt(0, ALT_LEN), Ok(0x10_1bb8), 0x10_1d80),
            // SS_AUTODISARM: never "on" it, so back to its top.
            (
                0x10_2000,
                true,
                alt(SS_AUTODISARM, ALT_LEN),
                Ok(0x10_3c38),
                0x10_3e00,
            ),
            // A disabled stack is not used.
            (
                0x7fff_1000,
                true,
                AltStack::disabled(),
                Ok(0x7fff_0bb8),
                0x7fff_0d80,
            ),
            (
                0x7fff_1000,
                true,
                AltStack::initial(),
                Ok(0x7fff_0bb8),
                0x7fff_0d80,
            ),
            // Nested frame that would leave the alternate stack.
            (
                0x10_0300,
                true,
                alt(0, ALT_LEN),
                Err(FrameError::AltStackOverflow),
                0,
            ),
            // Entering a stack too small for the frame.
            (
                0x7fff_1000,
                true,
                alt(0, 0x300),
                Err(FrameError::AltStackOverflow),
                0,
            ),
        ];
        for &(rsp, onstack, stack, want, fp) in cases {
            let flags = if onstack { SA_ONSTACK } else { 0 };
            let got = build(
                &context(rsp),
                &SigInfo::kernel(SIGUSR1),
                &action(flags),
                SigSet::EMPTY,
                &stack,
                None,
            );
            match want {
                Ok(sp) => {
                    let f = got.unwrap();
                    assert_eq!((f.sp, f.fpstate), (sp, fp), "rsp {rsp:#x} {stack:?}");
                    assert_eq!((f.sp + 8) % 16, 0);
                    assert_eq!(f.fpstate % 64, 0);
                    assert!(f.sp + FRAME_SIZE <= f.fpstate);
                }
                Err(e) => assert_eq!(got, Err(e), "rsp {rsp:#x} {stack:?}"),
            }
        }
        let no_restorer = SigAction {
            flags: SA_SIGINFO,
            ..action(0)
        };
        assert_eq!(
            build(
                &context(0x7fff_1000),
                &SigInfo::kernel(SIGUSR1),
                &no_restorer,
                SigSet::EMPTY,
                &AltStack::initial(),
                None
            ),
            Err(FrameError::NoRestorer)
        );
    }

    #[test]
    fn frame_bytes() {
        let ctx = context(STACK + 0x8000);
        let info = SigInfo::fault(SIGSEGV, SEGV_MAPERR, 0x1234);
        let blocked = SigSet::of(SIGUSR2).union(SigSet::of(SIGRTMIN));
        let stack = AltStack {
            sp: ALT,
            size: ALT_LEN,
            flags: SS_AUTODISARM,
        };
        let details = FaultDetails {
            trapno: 14,
            error_code: 6,
            cr2: 0x1234,
        };
        let f = build(
            &ctx,
            &info,
            &action(SA_SIGINFO),
            blocked,
            &stack,
            Some(details),
        )
        .unwrap();
        let b = &f.image;
        let m = offset::MCONTEXT;
        // (offset, value) of every 8-byte field.
        let fields = [
            (0, 0x40_2000),
            (8, 6),
            (16, 0),
            (24, ALT),
            (40, ALT_LEN),
            (m, ctx.regs.r8),
            (m + 8, ctx.regs.r9),
            (m + 16, ctx.regs.r10),
            (m + 24, ctx.regs.r11),
            (m + 32, ctx.regs.r12),
            (m + 40, ctx.regs.r13),
            (m + 48, ctx.regs.r14),
            (m + 56, ctx.regs.r15),
            (m + 64, ctx.regs.rdi),
            (m + 72, ctx.regs.rsi),
            (m + 80, ctx.regs.rbp),
            (m + 88, ctx.regs.rbx),
            (m + 96, ctx.regs.rdx),
            (m + 104, ctx.regs.rax),
            (m + 112, ctx.regs.rcx),
            (m + 120, ctx.regs.rsp),
            (m + 128, ctx.rip),
            (m + 136, ctx.rflags),
            // cs 0x33, gs 0, fs 0, ss 0x2b
            (m + 144, 0x002b_0000_0000_0033),
            (m + 152, 6),
            (m + 160, 14),
            (m + 168, blocked.bits()),
            (m + 176, 0x1234),
            (m + 184, f.fpstate),
            (304, blocked.bits()),
        ];
        for (at, v) in fields {
            assert_eq!(word(b, at), v, "offset {at}");
        }
        assert_eq!(
            u32::from_le_bytes([b[32], b[33], b[34], b[35]]),
            SS_AUTODISARM
        );
        assert_eq!(&b[312..440], &info.to_bytes());
        let fp = (f.fpstate - f.sp) as usize;
        assert_eq!(&b[fp..fp + 464], &ctx.fxsave.0[..464]);
        assert!(b[fp + 464..fp + 512].iter().all(|&x| x == 0));

        // Linux leaves uc_stack's padding and sigcontext.reserved1 alone.
        let written = |at: usize| f.pieces.iter().any(|&(o, l)| (o..o + l).contains(&at));
        for at in (36..40).chain(m + 192..m + 256).chain(440..fp) {
            assert!(!written(at), "offset {at} written");
        }
        for at in (0..36)
            .chain(40..m + 192)
            .chain(m + 256..440)
            .chain(fp..fp + 512)
        {
            assert!(written(at), "offset {at} not written");
        }
        // Without SA_SIGINFO the siginfo is not written either.
        let f = build(&ctx, &info, &action(0), blocked, &stack, None).unwrap();
        assert!(f.pieces.iter().all(|&(o, _)| o != offset::INFO));
        assert_eq!(word(&f.image, m + 160), 0);
        assert_eq!(word(&f.image, m + 176), 0);
    }

    #[test]
    fn handler_context() {
        let ctx = context(STACK + 0x8000);
        let f = build(
            &ctx,
            &SigInfo::tkill(SIGUSR1, 1, 0),
            &action(SA_SIGINFO),
            SigSet::EMPTY,
            &AltStack::initial(),
            None,
        )
        .unwrap();
        let h = f.handler;
        assert_eq!(h.rip, 0x40_1000);
        assert_eq!(h.regs.rsp, f.sp);
        assert_eq!(h.regs.rdi, SIGUSR1 as u64);
        assert_eq!(h.regs.rsi, f.sp + 312);
        assert_eq!(h.regs.rdx, f.sp + 8);
        assert_eq!((f.info_addr(), f.ucontext_addr()), (f.sp + 312, f.sp + 8));
        assert_eq!(h.regs.rax, 0);
        // TF, DF and RF cleared; AC, ID and the arithmetic flags kept.
        assert_eq!(h.rflags, ctx.rflags & !0x1_0500);
        assert_eq!(h.fxsave, FxsaveArea::initial());
        let mut rest = h;
        rest.regs.rdi = ctx.regs.rdi;
        rest.regs.rsi = ctx.regs.rsi;
        rest.regs.rdx = ctx.regs.rdx;
        rest.regs.rax = ctx.regs.rax;
        rest.regs.rsp = ctx.regs.rsp;
        rest.rip = ctx.rip;
        rest.rflags = ctx.rflags;
        rest.fxsave = ctx.fxsave;
        assert_eq!(rest, ctx);
    }

    /// Delivers a frame and returns the handler's context at its `ret`
    /// into the restorer (pretcode popped).
    fn deliver(
        mem: &AddressSpace,
        ctx: &ThreadContext,
        blocked: SigSet,
        stack: &AltStack,
    ) -> (Frame, ThreadContext) {
        let f = build(
            ctx,
            &SigInfo::kernel(SIGUSR1),
            &action(SA_SIGINFO),
            blocked,
            stack,
            None,
        )
        .unwrap();
        f.write_to(mem).unwrap();
        let mut at_sigreturn = f.handler;
        at_sigreturn.regs.rsp = f.sp + 8;
        at_sigreturn.regs.rax = 15; // __NR_rt_sigreturn
        (f, at_sigreturn)
    }

    #[test]
    fn round_trip_gives_back_the_context() {
        let mem = memory();
        let stacks = [
            AltStack::initial(),
            AltStack {
                sp: ALT,
                size: ALT_LEN,
                flags: 0,
            },
            AltStack {
                sp: ALT,
                size: ALT_LEN,
                flags: SS_AUTODISARM,
            },
        ];
        for stack in stacks {
            for rsp in [STACK + 0x8000, STACK + 0x8008, STACK + 0x7ff3] {
                let ctx = context(rsp);
                let blocked = SigSet::of(SIGUSR2).union(SigSet::of(SIGRTMAX));
                let (_, at_sigreturn) = deliver(&mem, &ctx, blocked, &stack);
                let back =
                    restore(&mem, &at_sigreturn, SigSet::FULL, stack.after_delivery()).unwrap();
                assert_eq!(back.context, ctx, "rsp {rsp:#x} {stack:?}");
                assert_eq!(back.blocked, blocked);
                assert_eq!(back.altstack, stack);
            }
        }
    }

    #[test]
    fn sigreturn_takes_what_the_handler_changed() {
        let mem = memory();
        let ctx = context(STACK + 0x8000);
        let (f, mut at_sigreturn) = deliver(&mem, &ctx, SigSet::EMPTY, &AltStack::initial());
        let m = f.sp + offset::MCONTEXT as u64;
        let put = |at: u64, v: u64| mem.write(at, &v.to_le_bytes()).unwrap();
        put(m + sc::RIP as u64, 0x40_9999);
        put(m + sc::RSP as u64, STACK + 0x100);
        put(m + sc::RAX as u64, 77);
        // Every flag set, IF clear: only FIX_EFLAGS bits are taken.
        put(m + sc::EFLAGS as u64, !0x200);
        // SIGKILL and SIGSTOP cannot be blocked.
        put(f.sp + offset::UC_SIGMASK as u64, u64::MAX);
        // The handler's own state must not leak back: IOPL/NT/ID come from
        // the thread as it calls rt_sigreturn.
        at_sigreturn.rflags = 0x202;
        let back = restore(&mem, &at_sigreturn, SigSet::EMPTY, AltStack::initial()).unwrap();
        assert_eq!(back.context.rip, 0x40_9999);
        assert_eq!(back.context.regs.rsp, STACK + 0x100);
        assert_eq!(back.context.regs.rax, 77);
        assert_eq!(back.context.rflags, 0x202 | FIX_EFLAGS);
        assert_eq!(back.blocked, SigSet::FULL.blockable());
        assert_eq!(
            (back.context.fs_base, back.context.gs_base),
            (ctx.fs_base, ctx.gs_base)
        );
    }

    #[test]
    fn sigreturn_fp_state_and_segments() {
        let mem = memory();
        let ctx = context(STACK + 0x8000);
        let blocked = SigSet::of(SIGUSR2);
        // (what the handler does to the frame, ok?, FP state after)
        type Edit = fn(&AddressSpace, &Frame);
        let cases: Vec<(&str, Edit, bool, Option<FxsaveArea>)> = vec![
            (
                "fpstate NULL",
                |m, f| fp_ptr(m, f, 0),
                true,
                Some(FxsaveArea::initial()),
            ),
            (
                "reserved MXCSR bit",
                |m, f| m.write(f.fpstate + 24, &0x1_1f80u32.to_le_bytes()).unwrap(),
                false,
                Some(FxsaveArea::initial()),
            ),
            (
                "unaligned fpstate",
                |m, f| fp_ptr(m, f, f.fpstate + 8),
                false,
                Some(FxsaveArea::initial()),
            ),
            (
                "unmapped fpstate",
                |m, f| fp_ptr(m, f, 0x1000),
                false,
                Some(FxsaveArea::initial()),
            ),
            ("32-bit CS", |m, f| seg(m, f, sc::CS, 0x23), false, None),
            (
                "CS RPL forced to 3",
                |m, f| seg(m, f, sc::CS, 0x30),
                true,
                None,
            ),
            ("null SS, strict", |m, f| seg(m, f, sc::SS, 0), false, None),
            (
                "null SS, not strict",
                |m, f| {
                    seg(m, f, sc::SS, 0);
                    m.write(
                        f.sp + offset::UC_FLAGS as u64,
                        &UC_SIGCONTEXT_SS.to_le_bytes(),
                    )
                    .unwrap();
                },
                true,
                None,
            ),
        ];
        for (name, edit, ok, fx) in cases {
            let (f, at_sigreturn) = deliver(&mem, &ctx, blocked, &AltStack::initial());
            edit(&mem, &f);
            let got = restore(&mem, &at_sigreturn, SigSet::EMPTY, AltStack::initial());
            let state = match got {
                Ok(s) => {
                    assert!(ok, "{name}");
                    s
                }
                Err(e) => {
                    assert!(!ok, "{name}");
                    *e.state
                }
            };
            // The registers and the mask are restored before the failure.
            assert_eq!(state.context.regs, ctx.regs, "{name}");
            assert_eq!(state.blocked, blocked, "{name}");
            assert_eq!(state.context.fxsave, fx.unwrap_or(ctx.fxsave), "{name}");
        }
    }

    fn fp_ptr(mem: &AddressSpace, f: &Frame, v: u64) {
        mem.write(
            f.sp + (offset::MCONTEXT + sc::FPSTATE) as u64,
            &v.to_le_bytes(),
        )
        .unwrap();
    }

    fn seg(mem: &AddressSpace, f: &Frame, at: usize, v: u16) {
        mem.write(f.sp + (offset::MCONTEXT + at) as u64, &v.to_le_bytes())
            .unwrap();
    }

    #[test]
    fn sigreturn_bad_frames() {
        let mem = memory();
        let ctx = context(STACK + 0x8000);
        let blocked = SigSet::of(SIGINT);
        // RSP nowhere near a frame: nothing changes.
        for rsp in [0, 8, 0x1000, USER_END, u64::MAX] {
            let mut at = ctx;
            at.regs.rsp = rsp;
            let e = restore(&mem, &at, blocked, AltStack::initial()).unwrap_err();
            assert_eq!(e.frame, rsp.wrapping_sub(8));
            assert_eq!(
                *e.state,
                SigReturn {
                    context: at,
                    blocked,
                    altstack: AltStack::initial()
                }
            );
        }
    }

    #[test]
    fn sigreturn_restores_the_alternate_stack() {
        let mem = memory();
        let ctx = context(STACK + 0x8000);
        let stack = AltStack {
            sp: ALT,
            size: ALT_LEN,
            flags: 0,
        };
        let (f, at_sigreturn) = deliver(&mem, &ctx, SigSet::EMPTY, &stack);
        // The handler changes uc_stack: sigreturn installs it.
        let new = altstack::encode(ALT + 0x1000, 0, 0x2000);
        mem.write(f.sp + offset::UC_STACK as u64, &new).unwrap();
        let back = restore(&mem, &at_sigreturn, SigSet::EMPTY, stack).unwrap();
        assert_eq!(
            back.altstack,
            AltStack {
                sp: ALT + 0x1000,
                size: 0x2000,
                flags: 0
            }
        );
        // Invalid settings are ignored, as Linux's restore_altstack does.
        for bad in [
            altstack::encode(ALT, 0, 16),
            altstack::encode(ALT, 5, ALT_LEN),
        ] {
            mem.write(f.sp + offset::UC_STACK as u64, &bad).unwrap();
            let back = restore(&mem, &at_sigreturn, SigSet::EMPTY, stack).unwrap();
            assert_eq!(back.altstack, stack);
        }
        mem.write(
            f.sp + offset::UC_STACK as u64,
            &altstack::encode(0, SS_DISABLE, 0),
        )
        .unwrap();
        let back = restore(&mem, &at_sigreturn, SigSet::EMPTY, stack).unwrap();
        assert_eq!(back.altstack, AltStack::disabled());
    }

    #[test]
    fn partial_writes_stop_where_linux_stops() {
        let mem = memory();
        // The frame straddles the bottom of the stack mapping: the FP state
        // and the fields above the boundary are written, the rest not.
        let ctx = context(STACK + 0x300);
        let f = build(
            &ctx,
            &SigInfo::kernel(SIGUSR1),
            &action(SA_SIGINFO),
            SigSet::EMPTY,
            &AltStack::initial(),
            None,
        )
        .unwrap();
        assert!(f.sp < STACK && f.fpstate >= STACK);
        assert_eq!(
            f.write_to(&mem),
            Err(FrameError::Fault(f.sp + offset::UC_FLAGS as u64))
        );
        let mut fp = [0u8; 512];
        mem.read(f.fpstate, &mut fp).unwrap();
        assert_eq!(&fp[..464], &ctx.fxsave.0[..464]);
    }

    /// Each case of testdata/sigframe_probe.c, run natively on Linux 6.18
    /// into testdata/sigframe_native.txt, derived from qvm's fault table
    /// and frame builder: the signal, code and address, the trap record
    /// (stale values included), and the frame's shape.
    #[test]
    fn native_probe_matches() {
        use super::super::siginfo::{fault_signal, FaultFacts, SigFields};
        use crate::engine::{vector, Access, Fault};
        let native = include_str!("testdata/sigframe_native.txt");
        let fx = |fcw: u16, fsw: u16, mxcsr: u32| {
            let mut fx = FxsaveArea::initial();
            fx.0[0..2].copy_from_slice(&fcw.to_le_bytes());
            fx.0[2..4].copy_from_slice(&fsw.to_le_bytes());
            fx.0[24..28].copy_from_slice(&mxcsr.to_le_bytes());
            fx
        };
        let mem = |addr, access| Fault::Memory { addr, access };
        let rip = 0x40_1000;
        let plain = FxsaveArea::initial();
        // (case, fault or None for tgkill, mapping, FP vector, FP state, AC set)
        type Case = (
            &'static str,
            Option<Fault>,
            Option<Prot>,
            u32,
            FxsaveArea,
            bool,
        );
        let cases: Vec<Case> = vec![
            (
                "read_unmapped",
                Some(mem(0x2000_0000, Access::Read)),
                None,
                0,
                plain,
                false,
            ),
            (
                "write_unmapped",
                Some(mem(0x2000_0000, Access::Write)),
                None,
                0,
                plain,
                false,
            ),
            (
                "write_readonly",
                Some(mem(0x1000_1000, Access::Write)),
                Some(Prot::READ),
                0,
                plain,
                false,
            ),
            (
                "read_none",
                Some(mem(0x1000_2000, Access::Read)),
                Some(Prot::NONE),
                0,
                plain,
                false,
            ),
            (
                "exec_unmapped",
                Some(mem(0x2000_0000, Access::Execute)),
                None,
                0,
                plain,
                false,
            ),
            (
                "exec_nx",
                Some(mem(0x1000_0000, Access::Execute)),
                Some(Prot::RW),
                0,
                plain,
                false,
            ),
            (
                "noncanonical",
                Some(Fault::GeneralProtection { rip }),
                None,
                0,
                plain,
                false,
            ),
            (
                "ud2_regs",
                Some(Fault::InvalidOpcode { rip }),
                None,
                0,
                plain,
                false,
            ),
            (
                "divide",
                Some(Fault::DivideError { rip }),
                None,
                0,
                plain,
                false,
            ),
            (
                "int3",
                Some(Fault::Breakpoint { rip: rip + 1 }),
                None,
                0,
                plain,
                false,
            ),
            (
                "sse_divide",
                Some(Fault::FloatingPoint {
                    rip,
                    vector: vector::SIMD_FLOATING_POINT,
                }),
                None,
                vector::SIMD_FLOATING_POINT,
                fx(0x37f, 0, 0x1d84),
                false,
            ),
            (
                "x87_invalid",
                Some(Fault::FloatingPoint {
                    rip,
                    vector: vector::X87_FLOATING_POINT,
                }),
                None,
                vector::X87_FLOATING_POINT,
                fx(0x37e, 0x81, 0x1f80),
                false,
            ),
            (
                "alignment",
                Some(Fault::Alignment { rip }),
                None,
                0,
                plain,
                true,
            ),
            ("tgkill_after_faults", None, None, 0, plain, false),
        ];
        let mut record = FaultDetails::default();
        let mut ours = String::new();
        let rsp = STACK + 0x8000;
        for (name, fault, mapping, fp_vector, fxsave, ac) in cases {
            let mut ctx = context(rsp);
            ctx.rflags = 0x202 | if ac { 0x4_0000 } else { 0 };
            ctx.fxsave = fxsave;
            let info = match fault {
                Some(fault) => {
                    if let Fault::Memory {
                        addr,
                        access: Access::Execute,
                    } = fault
                    {
                        ctx.rip = addr;
                    } else {
                        ctx.rip = rip;
                    }
                    let facts = FaultFacts {
                        mapping,
                        fp_vector,
                        fxsave: &fxsave,
                        gp_error_code: 0,
                    };
                    let s = fault_signal(&fault, &facts, record).unwrap();
                    record = s.details;
                    s.info
                }
                None => SigInfo::tkill(SIGUSR1, 1, 0),
            };
            let f = build(
                &ctx,
                &info,
                &action(SA_SIGINFO),
                SigSet::EMPTY,
                &AltStack::initial(),
                Some(record),
            )
            .unwrap();
            let b = &f.image;
            let m = offset::MCONTEXT;
            let hex = |v: u64| {
                if v == 0 {
                    "0".to_string()
                } else {
                    format!("{v:#x}")
                }
            };
            let addr = match info.fields {
                SigFields::Fault { addr } if addr != 0 && addr == ctx.rip => "rip".to_string(),
                SigFields::Fault { addr } => hex(addr),
                SigFields::Kill { .. } if info.code == super::super::siginfo::SI_TKILL => {
                    "pid".to_string()
                }
                _ => "0".to_string(),
            };
            let written = |at: usize| f.pieces.iter().any(|&(o, l)| (o..o + l).contains(&at));
            let untouched = |r: std::ops::Range<usize>| u8::from(r.clone().all(|at| !written(at)));
            let hex = |v: u64| {
                if v == 0 {
                    "0".to_string()
                } else {
                    format!("{v:#x}")
                }
            };
            let lines = [
                ("signo", info.signo.to_string()),
                ("code", info.code.to_string()),
                ("addr", addr),
                ("trapno", word(b, m + sc::TRAPNO).to_string()),
                ("err", hex(word(b, m + sc::ERR))),
                ("cr2", hex(word(b, m + sc::CR2))),
                ("uc_flags", hex(word(b, offset::UC_FLAGS))),
                (
                    "ss_flags",
                    hex(u64::from(u32::from_le_bytes([b[32], b[33], b[34], b[35]]))),
                ),
                ("segs", hex(word(b, m + sc::CS))),
                ("info_minus_uc", (offset::INFO - offset::UC).to_string()),
                ("frame_plus_8_mod_16", ((f.sp + 8) % 16).to_string()),
                (
                    "fpstate_placed",
                    u8::from(f.fpstate == (rsp - 128 - 512) & !63).to_string(),
                ),
                (
                    "frame_placed",
                    u8::from(f.sp == ((f.fpstate - 440) & !15) - 8).to_string(),
                ),
                ("uc_stack_pad_untouched", untouched(36..40).to_string()),
                (
                    "reserved1_untouched",
                    untouched(m + 192..m + 256).to_string(),
                ),
                ("handler_flags", hex(f.handler.rflags & 0x50500)),
                ("handler_mxcsr", format!("{:#x}", f.handler.fxsave.mxcsr())),
            ];
            for (key, value) in lines {
                ours.push_str(&format!("{name} {key} {value}\n"));
            }
        }
        // The ud2 case records the registers the probe set, each a repeated
        // byte: where Linux put each one is where sc:: says (R11 held the
        // jump target and RSP is the host's).
        let places = [
            (0x08, sc::R8),
            (0x09, sc::R9),
            (0x0a, sc::R10),
            (0x0c, sc::R12),
            (0x0d, sc::R13),
            (0x0e, sc::R14),
            (0x0f, sc::R15),
            (0x1d, sc::RDI),
            (0x1e, sc::RSI),
            (0x1b, sc::RBP),
            (0x1a, sc::RBX),
            (0x1c, sc::RDX),
            (0x10, sc::RAX),
            (0x1f, sc::RCX),
        ];
        for (byte, at) in places {
            let line = format!(
                "ud2_regs sc_word{} {:#x}",
                at / 8,
                u64::from_le_bytes([byte; 8])
            );
            assert!(native.lines().any(|l| l == line), "{line}");
        }
        let theirs: String = native
            .lines()
            .filter(|l| !l.contains(" sc_word"))
            .map(|l| format!("{l}\n"))
            .collect();
        assert_eq!(ours, theirs);
    }
}
