//! Signal dispositions: the 32-byte `struct kernel_sigaction` of x86-64
//! (handler, flags, restorer, mask) and each signal's default action.

use super::sigset::*;
use crate::linux_abi::signal::*;

pub const SIG_DFL: u64 = 0;
pub const SIG_IGN: u64 = 1;

pub const SA_NOCLDSTOP: u64 = 0x0000_0001;
pub const SA_NOCLDWAIT: u64 = 0x0000_0002;
pub const SA_SIGINFO: u64 = 0x0000_0004;
/// Never supported: a program sets it to learn that unknown bits are
/// cleared (they are, since Linux 5.11).
pub const SA_UNSUPPORTED: u64 = 0x0000_0400;
pub const SA_EXPOSE_TAGBITS: u64 = 0x0000_0800;
pub const SA_RESTORER: u64 = 0x0400_0000;
pub const SA_ONSTACK: u64 = 0x0800_0000;
pub const SA_RESTART: u64 = 0x1000_0000;
pub const SA_NODEFER: u64 = 0x4000_0000;
pub const SA_RESETHAND: u64 = 0x8000_0000;
/// The flags Linux keeps (UAPI_SA_FLAGS on x86-64); rt_sigaction clears
/// every other bit before storing or reporting an action.
pub const SA_KNOWN: u64 = SA_NOCLDSTOP
    | SA_NOCLDWAIT
    | SA_SIGINFO
    | SA_ONSTACK
    | SA_RESTART
    | SA_NODEFER
    | SA_RESETHAND
    | SA_EXPOSE_TAGBITS
    | SA_RESTORER;

/// One signal's disposition, as rt_sigaction reads and writes it.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct SigAction {
    /// SIG_DFL, SIG_IGN or the handler's address.
    pub handler: u64,
    pub flags: u64,
    /// Where the handler returns: the frame's return address.
    pub restorer: u64,
    /// Signals blocked while the handler runs (besides the signal itself).
    pub mask: SigSet,
}

impl SigAction {
    /// `sizeof(struct kernel_sigaction)` on x86-64.
    pub const SIZE: usize = 32;

    /// The action as the guest wrote it, sanitized as Linux's do_sigaction
    /// stores it: unknown flags cleared, SIGKILL and SIGSTOP out of the mask.
    pub fn from_bytes(b: &[u8; Self::SIZE]) -> Self {
        let word = |i: usize| {
            let mut w = [0u8; 8];
            w.copy_from_slice(&b[i * 8..i * 8 + 8]);
            u64::from_le_bytes(w)
        };
        SigAction {
            handler: word(0),
            flags: word(1) & SA_KNOWN,
            restorer: word(2),
            mask: SigSet::from_bits(word(3)).blockable(),
        }
    }

    pub fn to_bytes(&self) -> [u8; Self::SIZE] {
        let mut b = [0u8; Self::SIZE];
        for (i, w) in [self.handler, self.flags, self.restorer, self.mask.bits()]
            .into_iter()
            .enumerate()
        {
            b[i * 8..i * 8 + 8].copy_from_slice(&w.to_le_bytes());
        }
        b
    }

    pub fn has(&self, flag: u64) -> bool {
        self.flags & flag != 0
    }

    /// Whether a signal `sig` sent now would be thrown away, as Linux's
    /// sig_handler_ignored: SIG_IGN, or SIG_DFL for a signal whose default
    /// is to ignore it (SIGCONT included: its effect happens when it is
    /// sent). Such a signal is discarded when sent unblocked, and
    /// installing such an action discards it from every pending set.
    pub fn discards(&self, sig: i32) -> bool {
        self.handler == SIG_IGN
            || (self.handler == SIG_DFL
                && matches!(
                    default_action(sig),
                    DefaultAction::Ignore | DefaultAction::Continue
                ))
    }

    /// Whether delivering runs a handler (neither SIG_DFL nor SIG_IGN).
    pub fn has_handler(&self) -> bool {
        self.handler != SIG_DFL && self.handler != SIG_IGN
    }

    /// The action left installed once a handler is chosen for delivery:
    /// SA_RESETHAND puts the handler back to SIG_DFL (flags, mask and
    /// restorer stay, as in Linux's get_signal).
    pub fn after_delivery(&self) -> SigAction {
        let mut next = *self;
        if self.has(SA_RESETHAND) {
            next.handler = SIG_DFL;
        }
        next
    }

    /// The mask the thread runs its handler for `sig` with, as Linux's
    /// signal_delivered: the old mask, the action's mask, and the signal
    /// itself unless SA_NODEFER.
    pub fn blocked_in_handler(&self, sig: i32, blocked: SigSet) -> SigSet {
        let mut set = blocked.union(self.mask);
        if !self.has(SA_NODEFER) {
            set.insert(sig);
        }
        set.blockable()
    }
}

/// What a signal does when its action is SIG_DFL.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum DefaultAction {
    /// End the process.
    Terminate,
    /// End the process with a core dump (status reports it; qvm writes no
    /// core file).
    CoreDump,
    /// Nothing happens.
    Ignore,
    /// Stop the process until SIGCONT.
    Stop,
    /// Resume a stopped process (else nothing).
    Continue,
}

/// Linux's default action for `sig` (include/linux/signal.h's tables;
/// real-time signals terminate).
pub fn default_action(sig: i32) -> DefaultAction {
    match sig {
        SIGQUIT | SIGILL | SIGTRAP | SIGABRT | SIGBUS | SIGFPE | SIGSEGV | SIGXCPU | SIGXFSZ
        | SIGSYS => DefaultAction::CoreDump,
        SIGCHLD | SIGURG | SIGWINCH => DefaultAction::Ignore,
        SIGSTOP | SIGTSTP | SIGTTIN | SIGTTOU => DefaultAction::Stop,
        SIGCONT => DefaultAction::Continue,
        _ => DefaultAction::Terminate,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kernel_sigaction_layout_round_trips() {
        let a = SigAction {
            handler: 0x40_1000,
            flags: SA_SIGINFO | SA_RESTORER | SA_ONSTACK,
            restorer: 0x40_2000,
            mask: SigSet::of(SIGUSR2),
        };
        let b = a.to_bytes();
        assert_eq!(&b[0..8], &0x40_1000u64.to_le_bytes());
        assert_eq!(&b[8..16], &0x0c00_0004u64.to_le_bytes());
        assert_eq!(&b[16..24], &0x40_2000u64.to_le_bytes());
        assert_eq!(&b[24..32], &0x800u64.to_le_bytes());
        assert_eq!(SigAction::from_bytes(&b), a);
    }

    #[test]
    fn stored_action_is_sanitized_as_linux() {
        let mut b = [0u8; 32];
        b[8..16].copy_from_slice(
            &(SA_SIGINFO | SA_UNSUPPORTED | 0x0200_0000 | (1 << 40)).to_le_bytes(),
        );
        b[24..32].copy_from_slice(&u64::MAX.to_le_bytes());
        let a = SigAction::from_bytes(&b);
        assert_eq!(a.flags, SA_SIGINFO);
        assert_eq!(a.mask, SigSet::FULL.blockable());
    }

    #[test]
    fn default_actions() {
        let cases: &[(i32, DefaultAction)] = &[
            (SIGHUP, DefaultAction::Terminate),
            (SIGINT, DefaultAction::Terminate),
            (SIGQUIT, DefaultAction::CoreDump),
            (SIGILL, DefaultAction::CoreDump),
            (SIGTRAP, DefaultAction::CoreDump),
            (SIGABRT, DefaultAction::CoreDump),
            (SIGBUS, DefaultAction::CoreDump),
            (SIGFPE, DefaultAction::CoreDump),
            (SIGKILL, DefaultAction::Terminate),
            (SIGUSR1, DefaultAction::Terminate),
            (SIGSEGV, DefaultAction::CoreDump),
            (SIGPIPE, DefaultAction::Terminate),
            (SIGALRM, DefaultAction::Terminate),
            (SIGTERM, DefaultAction::Terminate),
            (SIGSTKFLT, DefaultAction::Terminate),
            (SIGCHLD, DefaultAction::Ignore),
            (SIGCONT, DefaultAction::Continue),
            (SIGSTOP, DefaultAction::Stop),
            (SIGTSTP, DefaultAction::Stop),
            (SIGTTIN, DefaultAction::Stop),
            (SIGTTOU, DefaultAction::Stop),
            (SIGURG, DefaultAction::Ignore),
            (SIGXCPU, DefaultAction::CoreDump),
            (SIGXFSZ, DefaultAction::CoreDump),
            (SIGVTALRM, DefaultAction::Terminate),
            (SIGPROF, DefaultAction::Terminate),
            (SIGWINCH, DefaultAction::Ignore),
            (SIGIO, DefaultAction::Terminate),
            (SIGPWR, DefaultAction::Terminate),
            (SIGSYS, DefaultAction::CoreDump),
            (SIGRTMIN, DefaultAction::Terminate),
            (SIGRTMAX, DefaultAction::Terminate),
        ];
        for &(sig, action) in cases {
            assert_eq!(default_action(sig), action, "signal {sig}");
        }
    }

    #[test]
    fn delivery_mask_and_resethand() {
        let a = SigAction {
            handler: 0x1000,
            flags: SA_RESETHAND,
            restorer: 0,
            mask: SigSet::of(SIGUSR2),
        };
        let blocked = SigSet::of(SIGINT);
        assert_eq!(
            a.blocked_in_handler(SIGUSR1, blocked),
            SigSet::of(SIGINT)
                .union(SigSet::of(SIGUSR2))
                .union(SigSet::of(SIGUSR1))
        );
        let nodefer = SigAction {
            flags: SA_NODEFER,
            ..a
        };
        assert!(!nodefer
            .blocked_in_handler(SIGUSR1, blocked)
            .contains(SIGUSR1));
        assert_eq!(a.after_delivery().handler, SIG_DFL);
        assert_eq!(a.after_delivery().flags, SA_RESETHAND);
        assert_eq!(nodefer.after_delivery().handler, 0x1000);
    }

    #[test]
    fn discarded_signals() {
        let dfl = SigAction::default();
        assert!(dfl.discards(SIGCHLD));
        assert!(dfl.discards(SIGWINCH));
        assert!(dfl.discards(SIGCONT));
        assert!(!dfl.discards(SIGUSR1));
        let ign = SigAction {
            handler: SIG_IGN,
            ..dfl
        };
        assert!(ign.discards(SIGUSR1));
        let handled = SigAction {
            handler: 0x1000,
            ..dfl
        };
        assert!(!handled.discards(SIGCHLD));
    }
}
