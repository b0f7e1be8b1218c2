//! Signal delivery. Handlers are process-wide; masks, pending sets and
//! alternate stacks are per thread. A signal is delivered only at
//! deterministic points: when a syscall returns, when a thread is switched
//! in, and at once for a fault of the running thread. A pending signal
//! wakes a thread blocked in a syscall (EINTR, or the syscall runs again
//! with SA_RESTART where Linux restarts it). Frames are Linux's
//! ([`super::signal_frame`]).

use super::altstack::{AltStack, MINSIGSTKSZ};
use super::sched::{Completion, ThreadState, Tid};
use super::sigaction::{default_action, DefaultAction, SigAction, SA_RESTART, SIG_IGN};
use super::siginfo::{fault_signal, FaultDetails, FaultFacts, SigInfo};
use super::signal_frame;
use super::sigpending::{dequeue_for_thread, PendingSignals, QueueBudget};
pub use super::sigset::SigSet;
use super::thread::Pending;
use super::wait::Wait;
use super::{Errno, Kernel, SysResult, Termination};
use crate::engine::{Fault, ThreadContext};
use crate::linux_abi::signal::{NSIG, SIGBUS, SIGFPE, SIGILL, SIGKILL, SIGSEGV, SIGSTOP, SIGTRAP};

/// Real-time signals queued at once (RLIMIT_SIGPENDING, as identity.rs
/// reports it); standard signals coalesce and never need more.
pub const MAX_QUEUED_SIGNALS: u64 = 1024;

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

/// Process-wide signal state: the actions and the shared pending set.
#[derive(Clone, Debug)]
pub struct SignalState {
    actions: [SigAction; NSIG as usize],
    pending: PendingSignals,
    budget: QueueBudget,
}

impl Default for SignalState {
    fn default() -> Self {
        SignalState {
            actions: [SigAction::default(); NSIG as usize],
            pending: PendingSignals::default(),
            budget: QueueBudget::new(MAX_QUEUED_SIGNALS),
        }
    }
}

impl SignalState {
    fn action(&self, sig: i32) -> SigAction {
        usize::try_from(sig - 1)
            .ok()
            .and_then(|i| self.actions.get(i))
            .copied()
            .unwrap_or_default()
    }

    fn set_action(&mut self, sig: i32, action: SigAction) {
        if let Some(slot) = usize::try_from(sig - 1)
            .ok()
            .and_then(|i| self.actions.get_mut(i))
        {
            *slot = action;
        }
    }

    /// Whether `sig` sent now would be thrown away: ignored, explicitly
    /// or by default.
    fn ignored(&self, sig: i32) -> bool {
        let a = self.action(sig);
        a.handler == SIG_IGN
            || (a.handler == super::sigaction::SIG_DFL
                && matches!(
                    default_action(sig),
                    DefaultAction::Ignore | DefaultAction::Continue
                ))
    }
}

/// A thread's own signal state.
#[derive(Clone, Debug)]
pub struct ThreadSignals {
    pub mask: SigSet,
    pub pending: PendingSignals,
    pub altstack: AltStack,
    /// The last trap (Linux writes it into every later frame).
    pub fault: Option<FaultDetails>,
    /// sigsuspend's mask to restore once its handler returns.
    pub saved_mask: Option<SigSet>,
}

impl ThreadSignals {
    /// The first thread's: nothing blocked, no alternate stack.
    pub fn initial() -> Self {
        ThreadSignals {
            mask: SigSet::EMPTY,
            pending: PendingSignals::default(),
            altstack: AltStack::initial(),
            fault: None,
            saved_mask: None,
        }
    }

    /// A new thread's: the creator's mask, no alternate stack, nothing
    /// pending.
    pub fn for_new_thread(creator: &ThreadSignals) -> Self {
        ThreadSignals {
            mask: creator.mask,
            pending: PendingSignals::default(),
            altstack: AltStack::disabled(),
            fault: None,
            saved_mask: None,
        }
    }
}

/// Syscalls Linux restarts after a handler with SA_RESTART (the others
/// return EINTR): reads and writes that waited, and futex waits without a
/// timeout.
fn restartable(b: &super::sched::Blocked) -> bool {
    match b.wait {
        Wait::Readable(_) | Wait::Writable(_) => true,
        Wait::Futex { .. } | Wait::FutexPi { .. } => b.deadline.is_none(),
        _ => false,
    }
}

impl Kernel {
    fn signal_arg(sig: u64) -> Result<i32, Errno> {
        let sig = i32::try_from(sig).map_err(|_| Errno::EINVAL)?;
        if !(0..=NSIG).contains(&sig) {
            return Err(Errno::EINVAL);
        }
        Ok(sig)
    }

    pub(super) fn sys_rt_sigaction(&mut self, a: &[u64; 6]) -> SysResult {
        let sig = Self::signal_arg(a[0])?;
        if a[3] != 8 || sig == 0 {
            return Err(Errno::EINVAL);
        }
        if a[1] != 0 && (sig == SIGKILL || sig == SIGSTOP) {
            return Err(Errno::EINVAL);
        }
        let new = if a[1] != 0 {
            let mut b = [0u8; SigAction::SIZE];
            self.space.read(a[1], &mut b)?;
            Some(SigAction::from_bytes(&b))
        } else {
            None
        };
        if a[2] != 0 {
            self.space
                .write(a[2], &self.signals.action(sig).to_bytes())?;
        }
        if let Some(new) = new {
            self.signals.set_action(sig, new);
            // Linux flushes a signal that becomes ignored from every queue.
            if self.signals.ignored(sig) {
                let gone = SigSet::of(sig);
                let budget = &mut self.signals.budget;
                self.signals.pending.flush(gone, budget);
                for tid in self.sched.tids() {
                    if let Some(t) = self.sched.thread_mut(tid) {
                        t.signals.pending.flush(gone, budget);
                    }
                }
            }
        }
        Ok(0)
    }

    pub(super) fn sys_rt_sigprocmask(&mut self, a: &[u64; 6]) -> SysResult {
        if a[3] != 8 {
            return Err(Errno::EINVAL);
        }
        let set = if a[1] != 0 {
            Some(SigSet::from_bits(self.space.read_u64(a[1])?))
        } else {
            None
        };
        let old = self.sched.current_thread().signals.mask;
        if let Some(set) = set {
            let new = match a[0] {
                0 => old.union(set),
                1 => old.difference(set),
                2 => set,
                _ => return Err(Errno::EINVAL),
            };
            self.sched.current_thread().signals.mask = new.blockable();
        }
        if a[2] != 0 {
            self.space.write(a[2], &old.bits().to_le_bytes())?;
        }
        Ok(0)
    }

    pub(super) fn sys_rt_sigpending(&mut self, a: &[u64; 6]) -> SysResult {
        if a[1] > 8 {
            return Err(Errno::EINVAL);
        }
        let t = self.sched.current_thread();
        let pending = t.signals.pending.set().union(self.signals.pending.set());
        let shown = pending.intersection(self.sched.current_thread().signals.mask);
        let bytes = shown.bits().to_le_bytes();
        let len = usize::try_from(a[1]).unwrap_or(8).min(8);
        self.space.write(a[0], &bytes[..len])?;
        Ok(0)
    }

    pub(super) fn sys_sigaltstack(&mut self, a: &[u64; 6]) -> SysResult {
        let sp = self.in_syscall_sp;
        let new = if a[0] != 0 {
            let mut b = [0u8; AltStack::SIZE];
            self.space.read(a[0], &mut b)?;
            Some(b)
        } else {
            None
        };
        let t = self.sched.current_thread();
        let old = t.signals.altstack.report(sp);
        if let Some(new) = new {
            let mut altstack = t.signals.altstack;
            altstack.set(&new, sp, MINSIGSTKSZ)?;
            t.signals.altstack = altstack;
        }
        if a[1] != 0 {
            self.space.write(a[1], &old)?;
        }
        Ok(0)
    }

    /// kill(2): to this process (pid 2, 0 or -1); others do not exist.
    pub(super) fn sys_kill(&mut self, pid: u64, sig: u64) -> SysResult {
        let sig = Self::signal_arg(sig)?;
        let pid = pid as i64;
        if pid != super::PID as i64 && pid != 0 && pid != -1 {
            return Err(Errno::ESRCH);
        }
        if sig == 0 {
            return Ok(0);
        }
        let info = SigInfo::user(sig, super::PID as i32, super::identity::UID as u32);
        self.send_to_process(info)
    }

    /// tkill(2) and tgkill(2) (`tgid` None for tkill).
    pub(super) fn sys_tgkill(&mut self, tgid: Option<u64>, tid: u64, sig: u64) -> SysResult {
        let sig = Self::signal_arg(sig)?;
        if tgid.is_some_and(|g| g != super::PID) {
            return Err(Errno::ESRCH);
        }
        let tid = Tid::try_from(tid).map_err(|_| Errno::EINVAL)?;
        if tid == 0 || tid > i32::MAX as Tid {
            return Err(Errno::EINVAL);
        }
        if self.sched.thread(tid).is_none() {
            return Err(Errno::ESRCH);
        }
        if sig == 0 {
            return Ok(0);
        }
        let info = SigInfo::tkill(sig, super::PID as i32, super::identity::UID as u32);
        self.send_to_thread(tid, info)
    }

    /// Queues a signal for the process; a thread that does not block it
    /// and sleeps in a syscall is interrupted (the running one first).
    pub(super) fn send_to_process(&mut self, info: SigInfo) -> SysResult {
        let sig = info.signo;
        if self.signals.ignored(sig) && sig != SIGKILL {
            return Ok(0);
        }
        let budget = &mut self.signals.budget;
        self.signals.pending.send(info, budget)?;
        // Linux's complete_signal: a thread that does not block it, the
        // running one first; else one waiting for it in sigtimedwait.
        let current = self.sched.current();
        let candidates: Vec<Tid> = std::iter::once(current).chain(self.sched.tids()).collect();
        let target = candidates
            .iter()
            .copied()
            .find(|&tid| {
                self.sched
                    .thread(tid)
                    .is_some_and(|t| !t.signals.mask.contains(sig))
            })
            .or_else(|| {
                candidates
                    .iter()
                    .copied()
                    .find(|&tid| self.sigwaits_for(tid, sig))
            });
        // The running thread takes it at syscall return; a sleeping one is
        // interrupted (the target may be "current" while the scheduler
        // looks for a thread to run).
        if let Some(tid) = target {
            self.interrupt(tid, sig);
        }
        Ok(0)
    }

    /// Queues a signal for one thread, interrupting it if it sleeps.
    pub(super) fn send_to_thread(&mut self, tid: Tid, info: SigInfo) -> SysResult {
        let sig = info.signo;
        if self.signals.ignored(sig) && sig != SIGKILL {
            return Ok(0);
        }
        let budget = &mut self.signals.budget;
        let Some(t) = self.sched.thread_mut(tid) else {
            return Err(Errno::ESRCH);
        };
        t.signals.pending.send(info, budget)?;
        if !t.signals.mask.contains(sig) || self.sigwaits_for(tid, sig) {
            self.interrupt(tid, sig);
        }
        Ok(0)
    }

    /// Whether thread `tid` sleeps in rt_sigtimedwait for `sig`.
    fn sigwaits_for(&self, tid: Tid, sig: i32) -> bool {
        matches!(
            self.sched.thread(tid).map(|t| &t.state),
            Some(ThreadState::Blocked(b)) if matches!(b.wait, Wait::SigWait { set } if set.contains(sig))
        )
    }

    /// A deliverable signal reached a thread blocked in a syscall: the
    /// syscall ends with EINTR, or runs again after the handler where
    /// Linux restarts it (SA_RESTART).
    fn interrupt(&mut self, tid: Tid, sig: i32) {
        let Some(ThreadState::Blocked(b)) = self.sched.thread(tid).map(|t| t.state.clone()) else {
            return;
        };
        if let Wait::SigWait { set } = b.wait {
            // Its own signals end the wait (the syscall runs again and
            // takes one); others it does not block interrupt it.
            let completion = if set.contains(sig) {
                Completion::Rerun
            } else {
                Completion::Value(Errno::EINTR.as_return())
            };
            self.sched.wake(tid, completion);
            return;
        }
        let action = self.signals.action(sig);
        let completion = if action.has(SA_RESTART) && restartable(&b) {
            Completion::Rerun
        } else {
            Completion::Value(Errno::EINTR.as_return())
        };
        self.sched.wake(tid, completion);
    }

    /// Whether the running thread has a signal it does not block.
    pub(super) fn signal_deliverable(&self) -> bool {
        let Some(t) = self.sched.thread(self.sched.current()) else {
            return false;
        };
        !t.signals
            .pending
            .set()
            .union(self.signals.pending.set())
            .difference(t.signals.mask)
            .is_empty()
    }

    /// Delivers every signal the running thread does not block, on top of
    /// `context`: handlers get frames; default actions end the call or do
    /// nothing. None when the call ended.
    pub(super) fn deliver_signals(&mut self, mut context: ThreadContext) -> Option<ThreadContext> {
        // Each handler's frame goes below the last one's, as Linux nests
        // them; bounded by the number of signals.
        for _ in 0..=NSIG {
            let tid = self.sched.current();
            let (info, mask) = {
                let budget = &mut self.signals.budget;
                let t = self.sched.thread_mut(tid)?;
                let mask = t.signals.mask;
                let Some((info, _)) = dequeue_for_thread(
                    &mut t.signals.pending,
                    &mut self.signals.pending,
                    mask,
                    budget,
                ) else {
                    return Some(context);
                };
                (info, mask)
            };
            context = self.deliver(context, info, mask)?;
        }
        Some(context)
    }

    /// Delivers one signal; None when the call ended.
    fn deliver(
        &mut self,
        context: ThreadContext,
        info: SigInfo,
        mask: SigSet,
    ) -> Option<ThreadContext> {
        let sig = info.signo;
        let action = self.signals.action(sig);
        if action.handler == SIG_IGN {
            return Some(context);
        }
        if !action.has_handler() {
            match default_action(sig) {
                DefaultAction::Ignore | DefaultAction::Continue => return Some(context),
                DefaultAction::Stop => {
                    // Nothing outside the call could continue it: on Linux
                    // the process would wait for ever.
                    self.kill(format!(
                        "stopped by {}: nothing outside the call can continue it",
                        signal_name(sig)
                    ));
                    return None;
                }
                DefaultAction::Terminate | DefaultAction::CoreDump => {
                    self.terminate(Termination::Signaled {
                        signal: sig,
                        fault: None,
                    });
                    return None;
                }
            }
        }
        let tid = self.sched.current();
        let t = self.sched.thread_mut(tid)?;
        // sigsuspend: the frame restores the mask from before it.
        let restore_mask = t.signals.saved_mask.take().unwrap_or(mask);
        let altstack = t.signals.altstack;
        let fault = t.signals.fault;
        match signal_frame::build(&context, &info, &action, restore_mask, &altstack, fault) {
            Ok(frame) if frame.write_to(&self.space).is_ok() => {
                let t = self.sched.thread_mut(tid)?;
                t.signals.mask = action.blocked_in_handler(sig, restore_mask);
                t.signals.altstack = altstack.after_delivery();
                self.signals.set_action(sig, action.after_delivery());
                Some(frame.handler)
            }
            _ => {
                // Linux's force_sigsegv: no frame, no handler.
                self.terminate(Termination::Signaled {
                    signal: SIGSEGV,
                    fault: None,
                });
                None
            }
        }
    }

    /// A fault of the running thread in `context`: its handler runs (the
    /// context to continue with), or the call ends with the signal (None).
    pub fn fault_signal(&mut self, fault: Fault, context: ThreadContext) -> Option<ThreadContext> {
        let facts = FaultFacts {
            mapping: match fault {
                Fault::Memory { addr, .. } => self.space.prot_at(addr),
                _ => None,
            },
            fp_vector: match fault {
                Fault::FloatingPoint { vector, .. } => vector,
                _ => 0,
            },
            fxsave: &context.fxsave,
            gp_error_code: 0,
        };
        let tid = self.sched.current();
        let previous = self
            .sched
            .thread(tid)
            .and_then(|t| t.signals.fault)
            .unwrap_or_default();
        let Some(raised) = fault_signal(&fault, &facts, previous) else {
            // A spurious FP exception: Linux returns to the instruction.
            return Some(context);
        };
        let sig = raised.info.signo;
        let action = self.signals.action(sig);
        let blocked = self
            .sched
            .thread(tid)
            .is_some_and(|t| t.signals.mask.contains(sig));
        log::trace!(
            "fault {fault:?}: signal {sig}, handler {:#x}, blocked {blocked}",
            action.handler
        );
        if !action.has_handler() || blocked {
            // force_sig_fault: an ignored or blocked fault signal kills.
            self.fault(fault);
            return None;
        }
        let mask = {
            let t = self.sched.thread_mut(tid)?;
            t.signals.fault = Some(raised.details);
            t.signals.mask
        };
        let context = self.deliver(context, raised.info, mask)?;
        // Anything else pending goes too, as on the way back to user mode.
        self.deliver_signals(context)
    }

    /// rt_sigreturn: the context comes back from the frame at reschedule.
    pub(super) fn sys_rt_sigreturn(&mut self) -> SysResult {
        self.pending = Some(Pending::SigReturn);
        Ok(0)
    }

    /// Restores the running thread from its signal frame (rt_sigreturn).
    pub(super) fn sigreturn(&mut self, context: &ThreadContext) -> Option<ThreadContext> {
        let tid = self.sched.current();
        let (mask, altstack) = {
            let t = self.sched.thread(tid)?;
            (t.signals.mask, t.signals.altstack)
        };
        match signal_frame::restore(&self.space, context, mask, altstack) {
            Ok(back) => {
                let t = self.sched.thread_mut(tid)?;
                t.signals.mask = back.blocked.blockable();
                t.signals.altstack = back.altstack;
                Some(back.context)
            }
            Err(_) => {
                self.terminate(Termination::Signaled {
                    signal: SIGSEGV,
                    fault: None,
                });
                None
            }
        }
    }

    /// pause(2): sleeps until a signal is delivered; always EINTR.
    pub(super) fn sys_pause(&mut self) -> SysResult {
        if self.signal_deliverable() {
            return Err(Errno::EINTR);
        }
        self.block_on(Wait::Signal, None, 0);
        Ok(0)
    }

    /// rt_sigsuspend(2): the mask for the wait, then as pause.
    pub(super) fn sys_rt_sigsuspend(&mut self, a: &[u64; 6]) -> SysResult {
        if a[1] != 8 {
            return Err(Errno::EINVAL);
        }
        let set = SigSet::from_bits(self.space.read_u64(a[0])?).blockable();
        let t = self.sched.current_thread();
        t.signals.saved_mask = Some(t.signals.mask);
        t.signals.mask = set;
        if self.signal_deliverable() {
            return Err(Errno::EINTR);
        }
        self.block_on(Wait::Signal, None, 0);
        Ok(0)
    }

    /// rt_sigtimedwait(2): takes a pending signal of `set` without running
    /// its handler, or waits for one until the timeout (EAGAIN).
    pub(super) fn sys_rt_sigtimedwait(&mut self, a: &[u64; 6]) -> SysResult {
        if a[3] != 8 {
            return Err(Errno::EINVAL);
        }
        let set = SigSet::from_bits(self.space.read_u64(a[0])?).blockable();
        let tid = self.sched.current();
        let taken = {
            let budget = &mut self.signals.budget;
            let t = self.sched.thread_mut(tid).ok_or(Errno::ESRCH)?;
            // Dequeue as if everything outside `set` were blocked.
            dequeue_for_thread(
                &mut t.signals.pending,
                &mut self.signals.pending,
                SigSet::FULL.difference(set),
                budget,
            )
        };
        if let Some((info, _)) = taken {
            if a[1] != 0 {
                self.space.write(a[1], &info.to_bytes())?;
            }
            return Ok(info.signo as u64);
        }
        let deadline = if a[2] != 0 {
            Some(self.now_ns().saturating_add(self.read_timespec(a[2])?))
        } else {
            None
        };
        if deadline == Some(self.now_ns()) {
            return Err(Errno::EAGAIN);
        }
        self.block_on(Wait::SigWait { set }, deadline, Errno::EAGAIN.as_return());
        Ok(0)
    }

    /// Pending signals of the running thread and the process (tests).
    #[cfg(test)]
    pub(super) fn signals_pending_for_test(&self) -> SigSet {
        let t = self.sched.thread(self.sched.current());
        t.map_or(SigSet::EMPTY, |t| t.signals.pending.set())
            .union(self.signals.pending.set())
    }
}
