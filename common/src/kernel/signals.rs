//! Signals. Dispositions, the mask and the alternate stack are recorded so
//! the calls behave as on Linux, but qvm does not deliver signals to
//! handlers: a fault or a signal sent to itself that is not ignored ends
//! the call with that signal, as if its handler re-raised it with the
//! default action (what most runtimes' handlers do in the end).

use super::{Errno, Kernel, SysResult, Termination};
use crate::engine::Fault;

pub const SIGTRAP: i32 = 5;
pub const SIGILL: i32 = 4;
pub const SIGBUS: i32 = 7;
pub const SIGFPE: i32 = 8;
pub const SIGKILL: i32 = 9;
pub const SIGSEGV: i32 = 11;
const SIGSTOP: u64 = 19;
const NSIG: u64 = 64;
const SIG_IGN: u64 = 1;
const SS_DISABLE: u32 = 2;

/// The signal Linux delivers for a CPU fault.
pub fn signal_for(fault: &Fault) -> i32 {
    match fault {
        Fault::Memory { .. } | Fault::GeneralProtection { .. } => SIGSEGV,
        Fault::InvalidOpcode { .. } => SIGILL,
        Fault::DivideError { .. } | Fault::FloatingPoint { .. } => SIGFPE,
        Fault::Breakpoint { .. } => SIGTRAP,
        Fault::Alignment { .. } => SIGBUS,
    }
}

/// Conventional signal names, for reports.
pub fn signal_name(sig: i32) -> &'static str {
    const NAMES: [&str; 32] = [
        "",
        "SIGHUP",
        "SIGINT",
        "SIGQUIT",
        "SIGILL",
        "SIGTRAP",
        "SIGABRT",
        "SIGBUS",
        "SIGFPE",
        "SIGKILL",
        "SIGUSR1",
        "SIGSEGV",
        "SIGUSR2",
        "SIGPIPE",
        "SIGALRM",
        "SIGTERM",
        "SIGSTKFLT",
        "SIGCHLD",
        "SIGCONT",
        "SIGSTOP",
        "SIGTSTP",
        "SIGTTIN",
        "SIGTTOU",
        "SIGURG",
        "SIGXCPU",
        "SIGXFSZ",
        "SIGVTALRM",
        "SIGPROF",
        "SIGWINCH",
        "SIGIO",
        "SIGPWR",
        "SIGSYS",
    ];
    usize::try_from(sig)
        .ok()
        .and_then(|i| NAMES.get(i))
        .copied()
        .filter(|n| !n.is_empty())
        .unwrap_or("SIGRT")
}

/// Signals whose default action is to do nothing.
fn ignored_by_default(sig: u64) -> bool {
    matches!(sig, 17 | 18 | 23 | 28) // SIGCHLD, SIGCONT, SIGURG, SIGWINCH
}

/// Recorded signal state.
#[derive(Clone, Debug)]
pub struct SignalState {
    /// struct kernel_sigaction per signal (handler, flags, restorer, mask).
    actions: [[u8; 32]; NSIG as usize],
    mask: u64,
    altstack: [u8; 24],
}

impl Default for SignalState {
    fn default() -> Self {
        let mut altstack = [0u8; 24];
        altstack[8..12].copy_from_slice(&SS_DISABLE.to_le_bytes());
        SignalState {
            actions: [[0; 32]; NSIG as usize],
            mask: 0,
            altstack,
        }
    }
}

impl SignalState {
    fn handler(&self, sig: u64) -> u64 {
        let a = sig
            .checked_sub(1)
            .and_then(|i| self.actions.get(i as usize));
        a.map_or(0, |a| {
            u64::from_le_bytes([a[0], a[1], a[2], a[3], a[4], a[5], a[6], a[7]])
        })
    }
}

impl Kernel {
    pub(super) fn sys_rt_sigaction(&mut self, a: &[u64; 6]) -> SysResult {
        let sig = a[0];
        if a[3] != 8 || sig == 0 || sig > NSIG {
            return Err(Errno::EINVAL);
        }
        if a[1] != 0 && (sig == SIGKILL as u64 || sig == SIGSTOP) {
            return Err(Errno::EINVAL);
        }
        let new = if a[1] != 0 {
            Some(self.space.read_vec(a[1], 32)?)
        } else {
            None
        };
        let idx = (sig - 1) as usize;
        if a[2] != 0 {
            let old = self.signals.actions.get(idx).copied().unwrap_or([0; 32]);
            self.space.write(a[2], &old)?;
        }
        if let (Some(new), Some(slot)) = (new, self.signals.actions.get_mut(idx)) {
            slot.copy_from_slice(&new);
        }
        Ok(0)
    }

    pub(super) fn sys_rt_sigprocmask(&mut self, a: &[u64; 6]) -> SysResult {
        if a[3] != 8 {
            return Err(Errno::EINVAL);
        }
        let set = if a[1] != 0 {
            Some(self.space.read_u64(a[1])?)
        } else {
            None
        };
        let old = self.signals.mask;
        if let Some(set) = set {
            // SIGKILL and SIGSTOP cannot be blocked.
            let set = set & !((1 << (SIGKILL - 1)) | (1 << (SIGSTOP - 1)));
            self.signals.mask = match a[0] {
                0 => old | set,
                1 => old & !set,
                2 => set,
                _ => return Err(Errno::EINVAL),
            };
        }
        if a[2] != 0 {
            self.space.write(a[2], &old.to_le_bytes())?;
        }
        Ok(0)
    }

    pub(super) fn sys_sigaltstack(&mut self, a: &[u64; 6]) -> SysResult {
        let new = if a[0] != 0 {
            Some(self.space.read_vec(a[0], 24)?)
        } else {
            None
        };
        if a[1] != 0 {
            self.space.write(a[1], &self.signals.altstack)?;
        }
        if let Some(new) = new {
            let flags = u32::from_le_bytes([new[8], new[9], new[10], new[11]]);
            if flags & !(SS_DISABLE | (1 << 31)) != 0 {
                return Err(Errno::EINVAL);
            }
            self.signals.altstack.copy_from_slice(&new);
        }
        Ok(0)
    }

    /// kill, tkill and tgkill: only this process exists.
    pub(super) fn sys_kill(&mut self, target_ok: bool, sig: u64) -> SysResult {
        if sig > NSIG {
            return Err(Errno::EINVAL);
        }
        if !target_ok {
            return Err(Errno::ESRCH);
        }
        if sig == 0 || self.signals.handler(sig) == SIG_IGN || ignored_by_default(sig) {
            return Ok(0);
        }
        self.terminate(Termination::Signaled {
            signal: sig as i32,
            fault: None,
        });
        Ok(0)
    }

    /// rt_sigreturn without a delivered signal: the frame is garbage, as
    /// it would be on Linux, which kills the process with SIGSEGV.
    pub(super) fn sys_rt_sigreturn(&mut self) -> SysResult {
        self.terminate(Termination::Signaled {
            signal: SIGSEGV,
            fault: None,
        });
        Ok(0)
    }
}
