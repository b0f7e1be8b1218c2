//! `siginfo_t` (128 bytes) as Linux fills it on x86-64, and the signal,
//! code and address Linux's trap handlers give each CPU fault.

use crate::address_space::Prot;
use crate::engine::{vector, Access, Fault, FxsaveArea};
use crate::layout::USER_END;
use crate::linux_abi::signal::*;

// si_code values: <= 0 sent by a process, > 0 by the kernel.
pub const SI_USER: i32 = 0;
pub const SI_KERNEL: i32 = 0x80;
pub const SI_QUEUE: i32 = -1;
pub const SI_TIMER: i32 = -2;
pub const SI_TKILL: i32 = -6;

pub const ILL_ILLOPC: i32 = 1;
pub const ILL_ILLOPN: i32 = 2;

pub const FPE_INTDIV: i32 = 1;
pub const FPE_INTOVF: i32 = 2;
pub const FPE_FLTDIV: i32 = 3;
pub const FPE_FLTOVF: i32 = 4;
pub const FPE_FLTUND: i32 = 5;
pub const FPE_FLTRES: i32 = 6;
pub const FPE_FLTINV: i32 = 7;
/// Never produced on x86 (kept for completeness of the uapi list).
pub const FPE_FLTSUB: i32 = 8;

pub const SEGV_MAPERR: i32 = 1;
pub const SEGV_ACCERR: i32 = 2;

pub const BUS_ADRALN: i32 = 1;

pub const TRAP_BRKPT: i32 = 1;
pub const TRAP_TRACE: i32 = 2;

/// Page-fault error code bits (the CPU's, as Linux reports them in
/// sigcontext.err).
pub mod pf_error {
    /// The page was present (a protection violation).
    pub const PROT: u64 = 1;
    pub const WRITE: u64 = 2;
    pub const USER: u64 = 4;
    pub const INSTR: u64 = 16;
}

/// The per-signal fields of siginfo (the `_sifields` union).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SigFields {
    /// kill, tkill, tgkill, and the kernel's own signals (pid 0, uid 0).
    Kill { pid: i32, uid: u32 },
    /// sigqueue and rt_sigqueueinfo.
    Rt { pid: i32, uid: u32, value: u64 },
    /// POSIX timers (timer_create).
    Timer { id: i32, overrun: i32, value: u64 },
    /// CPU faults: the address (x86-64 has no si_trapno, only alpha and
    /// sparc do; the trap number is in the frame's sigcontext).
    Fault { addr: u64 },
    /// Bytes 12..48 as a process gave them (rt_sigqueueinfo): Linux keeps
    /// a siginfo in 48 bytes (struct kernel_siginfo), so the rest reads
    /// back as zeros.
    Raw([u8; SigInfo::RAW_SIZE]),
}

/// One signal's siginfo.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct SigInfo {
    pub signo: i32,
    pub errno: i32,
    pub code: i32,
    pub fields: SigFields,
}

impl SigInfo {
    pub const SIZE: usize = 128;
    /// Offset of the union: three ints, then padding to 8.
    const FIELDS: usize = 16;
    /// Where Linux's kernel_siginfo ends.
    const KERNEL_SIZE: usize = 48;
    const RAW_START: usize = 12;
    const RAW_SIZE: usize = Self::KERNEL_SIZE - Self::RAW_START;

    /// kill(): SI_USER from `pid` as `uid`.
    pub fn user(sig: i32, pid: i32, uid: u32) -> Self {
        Self::kill_like(sig, SI_USER, pid, uid)
    }

    /// tkill/tgkill (and raise): SI_TKILL.
    pub fn tkill(sig: i32, pid: i32, uid: u32) -> Self {
        Self::kill_like(sig, SI_TKILL, pid, uid)
    }

    /// A signal the kernel sends on its own (Linux's SEND_SIG_PRIV and
    /// force_sig: alarm/setitimer's SIGALRM, #GP, int3, a bad sigreturn):
    /// SI_KERNEL, pid 0, uid 0.
    pub fn kernel(sig: i32) -> Self {
        Self::kill_like(sig, SI_KERNEL, 0, 0)
    }

    fn kill_like(sig: i32, code: i32, pid: i32, uid: u32) -> Self {
        SigInfo {
            signo: sig,
            errno: 0,
            code,
            fields: SigFields::Kill { pid, uid },
        }
    }

    /// A fault signal with its code and address (force_sig_fault).
    pub fn fault(sig: i32, code: i32, addr: u64) -> Self {
        SigInfo {
            signo: sig,
            errno: 0,
            code,
            fields: SigFields::Fault { addr },
        }
    }

    /// A POSIX timer's expiry: SI_TIMER with the timer id, overrun count
    /// and the sigev_value (the kernel's private int is 0 by delivery).
    pub fn timer(sig: i32, id: i32, overrun: i32, value: u64) -> Self {
        SigInfo {
            signo: sig,
            errno: 0,
            code: SI_TIMER,
            fields: SigFields::Timer { id, overrun, value },
        }
    }

    /// The info Linux makes up for a signal whose queued info was lost
    /// (queue full, or SIGKILL): SI_USER, pid 0, uid 0.
    pub fn lost(sig: i32) -> Self {
        Self::user(sig, 0, 0)
    }

    /// A siginfo as a process wrote it (rt_sigqueueinfo): kept verbatim.
    pub fn from_bytes(b: &[u8; Self::SIZE]) -> Self {
        let int = |i: usize| i32::from_le_bytes([b[i], b[i + 1], b[i + 2], b[i + 3]]);
        let mut raw = [0u8; Self::RAW_SIZE];
        raw.copy_from_slice(&b[Self::RAW_START..Self::KERNEL_SIZE]);
        SigInfo {
            signo: int(0),
            errno: int(4),
            code: int(8),
            fields: SigFields::Raw(raw),
        }
    }

    /// The 128 bytes copy_siginfo_to_user writes: everything not a field
    /// of this kind of signal is zero (Linux clears the whole siginfo).
    pub fn to_bytes(&self) -> [u8; Self::SIZE] {
        let mut b = [0u8; Self::SIZE];
        b[0..4].copy_from_slice(&self.signo.to_le_bytes());
        b[4..8].copy_from_slice(&self.errno.to_le_bytes());
        b[8..12].copy_from_slice(&self.code.to_le_bytes());
        let f = &mut b[Self::FIELDS..];
        match self.fields {
            SigFields::Kill { pid, uid } => {
                f[0..4].copy_from_slice(&pid.to_le_bytes());
                f[4..8].copy_from_slice(&uid.to_le_bytes());
            }
            SigFields::Rt { pid, uid, value } => {
                f[0..4].copy_from_slice(&pid.to_le_bytes());
                f[4..8].copy_from_slice(&uid.to_le_bytes());
                f[8..16].copy_from_slice(&value.to_le_bytes());
            }
            SigFields::Timer { id, overrun, value } => {
                f[0..4].copy_from_slice(&id.to_le_bytes());
                f[4..8].copy_from_slice(&overrun.to_le_bytes());
                f[8..16].copy_from_slice(&value.to_le_bytes());
            }
            SigFields::Fault { addr } => f[0..8].copy_from_slice(&addr.to_le_bytes()),
            SigFields::Raw(_) => {}
        }
        if let SigFields::Raw(raw) = self.fields {
            b[Self::RAW_START..Self::KERNEL_SIZE].copy_from_slice(&raw);
        }
        b
    }
}

/// What Linux records in the thread when a trap raises a signal
/// (`thread.trap_nr`, `thread.error_code`, `thread.cr2`) and writes into
/// every later signal frame's sigcontext: the values stay until the next
/// trap, so a kill()-sent signal shows the last fault's. All zero for a
/// thread that never trapped.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct FaultDetails {
    pub trapno: u64,
    pub error_code: u64,
    pub cr2: u64,
}

/// What the kernel knows about a fault besides the engine's [`Fault`].
#[derive(Clone, Copy, Debug)]
pub struct FaultFacts<'a> {
    /// For a page fault: the protection of the mapping holding the address
    /// (None where nothing is mapped).
    pub mapping: Option<Prot>,
    /// For a floating-point fault: the vector, #MF (16, x87) or #XM (19,
    /// SSE); the engine's Fault does not carry it yet.
    pub fp_vector: u32,
    /// The FP state at the fault (for the x87 and SSE status words).
    pub fxsave: &'a FxsaveArea,
    /// For #GP: the CPU's error code (0 for the usual causes).
    pub gp_error_code: u64,
}

/// The signal a fault raises, and the thread's trap record after it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct FaultSignal {
    pub info: SigInfo,
    pub details: FaultDetails,
}

/// The signal Linux's trap handlers send for `fault`, given the thread's
/// previous trap record (cr2 changes only on page faults). None for an FP
/// exception whose status shows no unmasked exception: Linux treats it as
/// spurious and returns to the instruction without a signal.
pub fn fault_signal(
    fault: &Fault,
    facts: &FaultFacts<'_>,
    previous: FaultDetails,
) -> Option<FaultSignal> {
    let record = |trapno: u32, error_code: u64| FaultDetails {
        trapno: u64::from(trapno),
        error_code,
        cr2: previous.cr2,
    };
    let (info, details) = match *fault {
        Fault::Memory { addr, access } => {
            // Linux decides MAPERR/ACCERR from the VMA; a user access to the
            // kernel half has no VMA and is reported as a protection fault.
            let mut error = pf_error::USER;
            let code = match facts.mapping {
                Some(prot) if addr < USER_END => {
                    // qvm's model: pages of an accessible mapping are
                    // present (Linux's P bit also depends on whether the
                    // page was touched); PROT_NONE pages are not present.
                    if prot != Prot::NONE {
                        error |= pf_error::PROT;
                    }
                    SEGV_ACCERR
                }
                _ => SEGV_MAPERR,
            };
            if addr >= USER_END {
                error |= pf_error::PROT;
            }
            match access {
                Access::Read => {}
                Access::Write => error |= pf_error::WRITE,
                Access::Execute => error |= pf_error::INSTR,
            }
            (
                SigInfo::fault(SIGSEGV, code, addr),
                FaultDetails {
                    trapno: u64::from(vector::PAGE_FAULT),
                    error_code: error,
                    cr2: addr,
                },
            )
        }
        Fault::GeneralProtection { .. } => (
            SigInfo::kernel(SIGSEGV),
            record(vector::GENERAL_PROTECTION, facts.gp_error_code),
        ),
        Fault::InvalidOpcode { rip } => (
            SigInfo::fault(SIGILL, ILL_ILLOPN, rip),
            record(vector::INVALID_OPCODE, 0),
        ),
        Fault::DivideError { rip } => (
            SigInfo::fault(SIGFPE, FPE_INTDIV, rip),
            record(vector::DIVIDE_ERROR, 0),
        ),
        // int3: do_trap without a code, so force_sig: SI_KERNEL.
        Fault::Breakpoint { .. } => (SigInfo::kernel(SIGTRAP), record(vector::BREAKPOINT, 0)),
        // #AC: do_trap(..., BUS_ADRALN, NULL): the address is not reported.
        Fault::Alignment { .. } => (
            SigInfo::fault(SIGBUS, BUS_ADRALN, 0),
            record(vector::ALIGNMENT_CHECK, 0),
        ),
        Fault::FloatingPoint { rip, .. } => {
            let code = fp_exception_code(facts.fxsave, facts.fp_vector)?;
            (
                SigInfo::fault(SIGFPE, code, rip),
                record(facts.fp_vector, 0),
            )
        }
    };
    Some(FaultSignal { info, details })
}

/// Linux's fpu__exception_code: the si_code of an FP exception from the
/// unmasked exception flags, for #MF from the x87 status and control
/// words, for #XM from MXCSR (read as 16 bits, as Linux does). The first
/// of invalid, zero-divide, overflow, denormal/underflow, precision wins.
pub fn fp_exception_code(fx: &FxsaveArea, fp_vector: u32) -> Option<i32> {
    let err: u32 = if fp_vector == vector::X87_FLOATING_POINT {
        let fsw = u32::from(u16::from_le_bytes([fx.0[2], fx.0[3]]));
        fsw & !u32::from(fx.fcw())
    } else {
        let mxcsr = fx.mxcsr() & 0xffff;
        !(mxcsr >> 7) & mxcsr
    };
    if err & 0x001 != 0 {
        Some(FPE_FLTINV)
    } else if err & 0x004 != 0 {
        Some(FPE_FLTDIV)
    } else if err & 0x008 != 0 {
        Some(FPE_FLTOVF)
    } else if err & 0x012 != 0 {
        Some(FPE_FLTUND)
    } else if err & 0x020 != 0 {
        Some(FPE_FLTRES)
    } else {
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn word(b: &[u8], at: usize) -> u64 {
        let mut w = [0u8; 8];
        w.copy_from_slice(&b[at..at + 8]);
        u64::from_le_bytes(w)
    }

    #[test]
    fn layouts() {
        let b = SigInfo::tkill(SIGUSR1, 1, 1000).to_bytes();
        assert_eq!(
            &b[0..16],
            &[10, 0, 0, 0, 0, 0, 0, 0, 0xfa, 0xff, 0xff, 0xff, 0, 0, 0, 0]
        );
        assert_eq!(&b[16..24], &[1, 0, 0, 0, 0xe8, 3, 0, 0]);
        assert!(b[24..].iter().all(|&x| x == 0));

        let b = SigInfo::fault(SIGSEGV, SEGV_MAPERR, 0xdead_beef).to_bytes();
        assert_eq!(word(&b, 0), 11);
        assert_eq!(word(&b, 8), 1);
        assert_eq!(word(&b, 16), 0xdead_beef);
        assert!(b[24..].iter().all(|&x| x == 0));

        let b = SigInfo::timer(SIGALRM, 7, 2, 0x1234_5678_9abc).to_bytes();
        assert_eq!(word(&b, 8), (-2i32) as u32 as u64);
        assert_eq!(word(&b, 16), 7 | (2 << 32));
        assert_eq!(word(&b, 24), 0x1234_5678_9abc);
        assert!(b[32..].iter().all(|&x| x == 0));

        let b = SigInfo::kernel(SIGSEGV).to_bytes();
        assert_eq!(word(&b, 8), 0x80);
        assert!(b[16..].iter().all(|&x| x == 0));

        let mut raw = [0x5au8; 128];
        raw[0..4].copy_from_slice(&SIGRTMIN.to_le_bytes());
        let mut kept = raw;
        kept[48..].fill(0);
        assert_eq!(SigInfo::from_bytes(&raw).to_bytes(), kept);
    }

    fn facts(mapping: Option<Prot>, fx: &FxsaveArea, fp_vector: u32) -> FaultFacts<'_> {
        FaultFacts {
            mapping,
            fp_vector,
            fxsave: fx,
            gp_error_code: 0,
        }
    }

    #[test]
    fn memory_faults() {
        let fx = FxsaveArea::initial();
        let prev = FaultDetails {
            trapno: 3,
            error_code: 0,
            cr2: 0x99,
        };
        // (addr, access, mapping, si_code, error code)
        let cases: &[(u64, Access, Option<Prot>, i32, u64)] = &[
            (0, Access::Read, None, SEGV_MAPERR, 4),
            (0x1000, Access::Write, None, SEGV_MAPERR, 6),
            (0x1000, Access::Execute, None, SEGV_MAPERR, 0x14),
            (0x40_0000, Access::Write, Some(Prot::READ), SEGV_ACCERR, 7),
            (
                0x40_0000,
                Access::Execute,
                Some(Prot::RW),
                SEGV_ACCERR,
                0x15,
            ),
            (0x40_0000, Access::Read, Some(Prot::NONE), SEGV_ACCERR, 4),
            (0x40_0000, Access::Write, Some(Prot::NONE), SEGV_ACCERR, 6),
            (0xffff_ffff_ff60_0000, Access::Read, None, SEGV_MAPERR, 5),
        ];
        for &(addr, access, mapping, code, err) in cases {
            let s = fault_signal(
                &Fault::Memory { addr, access },
                &facts(mapping, &fx, 0),
                prev,
            )
            .unwrap();
            assert_eq!(
                s.info,
                SigInfo::fault(SIGSEGV, code, addr),
                "{addr:#x} {access:?}"
            );
            assert_eq!(
                s.details,
                FaultDetails {
                    trapno: 14,
                    error_code: err,
                    cr2: addr
                },
                "{addr:#x} {access:?} {mapping:?}"
            );
        }
    }

    #[test]
    fn cpu_exceptions() {
        let fx = FxsaveArea::initial();
        let prev = FaultDetails {
            trapno: 14,
            error_code: 6,
            cr2: 0x1234,
        };
        let rip = 0x40_1000;
        // (fault, signal info, trapno): cr2 is kept from the previous fault.
        let cases = [
            (
                Fault::GeneralProtection { rip },
                SigInfo::kernel(SIGSEGV),
                13,
            ),
            (
                Fault::InvalidOpcode { rip },
                SigInfo::fault(SIGILL, ILL_ILLOPN, rip),
                6,
            ),
            (
                Fault::DivideError { rip },
                SigInfo::fault(SIGFPE, FPE_INTDIV, rip),
                0,
            ),
            (Fault::Breakpoint { rip }, SigInfo::kernel(SIGTRAP), 3),
            (
                Fault::Alignment { rip },
                SigInfo::fault(SIGBUS, BUS_ADRALN, 0),
                17,
            ),
        ];
        for (fault, info, trapno) in cases {
            let s = fault_signal(&fault, &facts(None, &fx, 0), prev).unwrap();
            assert_eq!(s.info, info, "{fault:?}");
            assert_eq!(
                s.details,
                FaultDetails {
                    trapno,
                    error_code: 0,
                    cr2: 0x1234
                }
            );
        }
    }

    fn with_x87(fcw: u16, fsw: u16) -> FxsaveArea {
        let mut fx = FxsaveArea::initial();
        fx.0[0..2].copy_from_slice(&fcw.to_le_bytes());
        fx.0[2..4].copy_from_slice(&fsw.to_le_bytes());
        fx
    }

    fn with_mxcsr(mxcsr: u32) -> FxsaveArea {
        let mut fx = FxsaveArea::initial();
        fx.0[24..28].copy_from_slice(&mxcsr.to_le_bytes());
        fx
    }

    #[test]
    fn fp_exception_codes() {
        let x87 = vector::X87_FLOATING_POINT;
        let sse = vector::SIMD_FLOATING_POINT;
        let cases: &[(FxsaveArea, u32, Option<i32>)] = &[
            // x87: flags in FSW, masks in FCW.
            (with_x87(0x37e, 0x0081), x87, Some(FPE_FLTINV)),
            (with_x87(0x37b, 0x0084), x87, Some(FPE_FLTDIV)),
            (with_x87(0x377, 0x0088), x87, Some(FPE_FLTOVF)),
            (with_x87(0x36f, 0x0090), x87, Some(FPE_FLTUND)),
            (with_x87(0x37d, 0x0082), x87, Some(FPE_FLTUND)),
            (with_x87(0x35f, 0x00a0), x87, Some(FPE_FLTRES)),
            // Invalid wins over the others; a masked flag does not count.
            (with_x87(0x372, 0x00a5), x87, Some(FPE_FLTINV)),
            (with_x87(0x37f, 0x00bf), x87, None),
            // The stack fault bit alone is not an exception.
            (with_x87(0x37e, 0x0040), x87, None),
            // SSE: flags in MXCSR bits 0-5, masks in bits 7-12.
            (with_mxcsr(0x1f01), sse, Some(FPE_FLTINV)),
            (with_mxcsr(0x1d84), sse, Some(FPE_FLTDIV)),
            (with_mxcsr(0x1b88), sse, Some(FPE_FLTOVF)),
            (with_mxcsr(0x1790), sse, Some(FPE_FLTUND)),
            (with_mxcsr(0x1e82), sse, Some(FPE_FLTUND)),
            (with_mxcsr(0x0fa0), sse, Some(FPE_FLTRES)),
            (with_mxcsr(0x1fbf), sse, None),
            // FTZ/DAZ/rounding bits play no part.
            (with_mxcsr(0xff84 & !0x200), sse, Some(FPE_FLTDIV)),
        ];
        for (fx, v, want) in cases {
            assert_eq!(fp_exception_code(fx, *v), *want, "{fx:?} vector {v}");
            let fault = Fault::FloatingPoint {
                rip: 0x40_2000,
                vector: 19,
            };
            let s = fault_signal(&fault, &facts(None, fx, *v), FaultDetails::default());
            assert_eq!(
                s.map(|s| s.info),
                want.map(|c| SigInfo::fault(SIGFPE, c, 0x40_2000))
            );
            assert_eq!(s.map(|s| s.details.trapno), want.map(|_| u64::from(*v)));
        }
    }
}
