//! Pending signals: a set plus a queue of siginfo, one per thread and one
//! for the whole process, with Linux's queueing rules (a standard signal
//! is pending at most once; real-time signals queue in order, up to
//! RLIMIT_SIGPENDING entries) and its choice of the next signal.

use std::collections::VecDeque;

use super::siginfo::{SigInfo, SI_USER};
use super::sigset::*;
use super::Errno;
use crate::linux_abi::signal::*;

/// The process's budget of queued siginfo (Linux counts them per user
/// against RLIMIT_SIGPENDING; a call has one user).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct QueueBudget {
    pub queued: u64,
    pub limit: u64,
}

impl QueueBudget {
    pub fn new(limit: u64) -> Self {
        QueueBudget { queued: 0, limit }
    }

    /// Linux's sigqueue_alloc: the entry is counted first, and allowed
    /// when the count stays within the limit or the caller may override
    /// it.
    fn take(&mut self, override_limit: bool) -> bool {
        let after = self.queued.saturating_add(1);
        if override_limit || after <= self.limit {
            self.queued = after;
            true
        } else {
            false
        }
    }

    fn give_back(&mut self) {
        self.queued = self.queued.saturating_sub(1);
    }
}

/// What sending did.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Sent {
    /// Now pending with its siginfo.
    Queued,
    /// A standard signal already pending: this one is dropped.
    AlreadyPending,
    /// Pending, but the queue was full: delivery will show SI_USER with
    /// pid and uid 0 (Linux's silent loss of information).
    InfoLost,
}

/// One `struct sigpending`: a thread's private one or the process's
/// shared one.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct PendingSignals {
    set: SigSet,
    queue: VecDeque<SigInfo>,
}

impl PendingSignals {
    pub fn set(&self) -> SigSet {
        self.set
    }

    /// Makes `info.signo` pending, as Linux's __send_signal_locked (after
    /// the caller decided the signal is not ignored). EAGAIN when a
    /// real-time signal sent with a code other than SI_USER finds the
    /// queue full.
    pub fn send(&mut self, info: SigInfo, budget: &mut QueueBudget) -> Result<Sent, Errno> {
        let sig = info.signo;
        if !is_valid(sig) {
            return Err(Errno::EINVAL);
        }
        if sig < SIGRTMIN && self.set.contains(sig) {
            return Ok(Sent::AlreadyPending);
        }
        let mut sent = Sent::Queued;
        if sig == SIGKILL {
            // Linux keeps no siginfo for SIGKILL.
            sent = Sent::InfoLost;
        } else {
            // Standard signals from the kernel or kill() may pass the limit.
            let override_limit = sig < SIGRTMIN && info.code >= 0;
            if budget.take(override_limit) {
                self.queue.push_back(info);
            } else if sig >= SIGRTMIN && info.code != SI_USER {
                return Err(Errno::EAGAIN);
            } else {
                sent = Sent::InfoLost;
            }
        }
        self.set.insert(sig);
        Ok(sent)
    }

    /// Linux's next_signal: among the pending signals not `blocked`, a
    /// synchronous one (SIGSEGV, SIGBUS, SIGILL, SIGTRAP, SIGFPE, SIGSYS)
    /// first, else the lowest number.
    pub fn next_signal(&self, blocked: SigSet) -> Option<i32> {
        let ready = self.set.difference(blocked);
        let sync = ready.intersection(SigSet::SYNCHRONOUS);
        if sync.is_empty() {
            ready.lowest()
        } else {
            sync.lowest()
        }
    }

    /// Takes the next deliverable signal's info (Linux's __dequeue_signal
    /// and collect_signal): the first queued info of that signal; the
    /// signal stays pending while more of it are queued.
    pub fn dequeue(&mut self, blocked: SigSet, budget: &mut QueueBudget) -> Option<SigInfo> {
        let sig = self.next_signal(blocked)?;
        Some(self.collect(sig, budget))
    }

    /// Linux's dequeue_synchronous_signal: the first queued info, in queue
    /// order, of an unblocked synchronous signal the kernel sent (si_code
    /// > 0): a fault's signal goes before anything queued ahead of it.
    pub fn dequeue_synchronous(
        &mut self,
        blocked: SigSet,
        budget: &mut QueueBudget,
    ) -> Option<SigInfo> {
        let ready = self
            .set
            .difference(blocked)
            .intersection(SigSet::SYNCHRONOUS);
        if ready.is_empty() {
            return None;
        }
        let at = self
            .queue
            .iter()
            .position(|q| q.code > SI_USER && SigSet::SYNCHRONOUS.contains(q.signo))?;
        let info = self.queue.remove(at)?;
        budget.give_back();
        if !self.queue.iter().any(|q| q.signo == info.signo) {
            self.set.remove(info.signo);
        }
        Some(info)
    }

    fn collect(&mut self, sig: i32, budget: &mut QueueBudget) -> SigInfo {
        let info = match self.queue.iter().position(|q| q.signo == sig) {
            Some(at) => {
                budget.give_back();
                self.queue.remove(at)
            }
            None => None,
        };
        if !self.queue.iter().any(|q| q.signo == sig) {
            self.set.remove(sig);
        }
        info.unwrap_or_else(|| SigInfo::lost(sig))
    }

    /// Discards every pending instance of the signals in `mask` (Linux's
    /// flush_sigqueue_mask: SIG_IGN installed, SIGCONT against stop
    /// signals and back).
    pub fn flush(&mut self, mask: SigSet, budget: &mut QueueBudget) {
        let before = self.queue.len();
        self.queue.retain(|q| !mask.contains(q.signo));
        for _ in self.queue.len()..before {
            budget.give_back();
        }
        self.set = self.set.difference(mask);
    }
}

/// Where a dequeued signal came from.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Scope {
    Thread,
    Process,
}

/// The signal a thread takes next, as Linux's get_signal dequeues it: a
/// synchronous kernel-sent signal of the thread first, then the thread's
/// own pending signals, then the process's shared ones.
pub fn dequeue_for_thread(
    thread: &mut PendingSignals,
    process: &mut PendingSignals,
    blocked: SigSet,
    budget: &mut QueueBudget,
) -> Option<(SigInfo, Scope)> {
    if let Some(info) = thread.dequeue_synchronous(blocked, budget) {
        return Some((info, Scope::Thread));
    }
    if let Some(info) = thread.dequeue(blocked, budget) {
        return Some((info, Scope::Thread));
    }
    process
        .dequeue(blocked, budget)
        .map(|info| (info, Scope::Process))
}

#[cfg(test)]
mod tests {
    use super::super::siginfo::{SEGV_MAPERR, SI_QUEUE, SI_TKILL};
    use super::*;

    fn rt(sig: i32, n: u64) -> SigInfo {
        SigInfo {
            fields: super::super::siginfo::SigFields::Rt {
                pid: 1,
                uid: 0,
                value: n,
            },
            ..SigInfo::user(sig, 1, 0)
        }
        .with_code(SI_QUEUE)
    }

    impl SigInfo {
        fn with_code(mut self, code: i32) -> Self {
            self.code = code;
            self
        }
    }

    #[test]
    fn standard_signals_coalesce_real_time_ones_queue() {
        let mut budget = QueueBudget::new(100);
        let mut p = PendingSignals::default();
        assert_eq!(
            p.send(SigInfo::tkill(SIGUSR1, 1, 0), &mut budget),
            Ok(Sent::Queued)
        );
        assert_eq!(
            p.send(SigInfo::user(SIGUSR1, 2, 0), &mut budget),
            Ok(Sent::AlreadyPending)
        );
        for n in 0..3 {
            assert_eq!(p.send(rt(SIGRTMIN + 1, n), &mut budget), Ok(Sent::Queued));
        }
        assert_eq!(budget.queued, 4);
        // The first SIGUSR1's info is kept.
        assert_eq!(
            p.dequeue(SigSet::EMPTY, &mut budget),
            Some(SigInfo::tkill(SIGUSR1, 1, 0))
        );
        for n in 0..3 {
            assert!(p.set().contains(SIGRTMIN + 1));
            assert_eq!(
                p.dequeue(SigSet::EMPTY, &mut budget),
                Some(rt(SIGRTMIN + 1, n))
            );
        }
        assert_eq!(p.set(), SigSet::EMPTY);
        assert_eq!(p.dequeue(SigSet::EMPTY, &mut budget), None);
        assert_eq!(budget.queued, 0);
    }

    #[test]
    fn full_queue_rules() {
        // RLIMIT_SIGPENDING 1: the second entry does not fit.
        // (signal, code, result)
        let cases: &[(i32, i32, Result<Sent, Errno>)] = &[
            // Standard signals with code >= 0 override the limit.
            (SIGUSR2, SI_USER, Ok(Sent::Queued)),
            (SIGSEGV, 0x80, Ok(Sent::Queued)),
            // A standard signal with a negative code loses its info.
            (SIGUSR2, SI_TKILL, Ok(Sent::InfoLost)),
            // Real-time: kill() loses the info, anything else fails.
            (SIGRTMIN, SI_USER, Ok(Sent::InfoLost)),
            (SIGRTMIN, SI_TKILL, Err(Errno::EAGAIN)),
            (SIGRTMIN, SI_QUEUE, Err(Errno::EAGAIN)),
            (SIGKILL, SI_USER, Ok(Sent::InfoLost)),
        ];
        for &(sig, code, want) in cases {
            let mut budget = QueueBudget::new(1);
            let mut p = PendingSignals::default();
            p.send(SigInfo::user(SIGRTMAX, 0, 0), &mut budget).unwrap();
            let info = SigInfo::tkill(sig, 5, 6).with_code(code);
            assert_eq!(p.send(info, &mut budget), want, "signal {sig} code {code}");
            assert_eq!(p.set().contains(sig), want.is_ok());
            if want == Ok(Sent::InfoLost) {
                assert_eq!(
                    p.dequeue(SigSet::EMPTY, &mut budget),
                    Some(SigInfo::lost(sig))
                );
            }
        }
    }

    #[test]
    fn next_signal_prefers_synchronous_then_lowest() {
        // (pending, blocked, next)
        let s = |sigs: &[i32]| {
            sigs.iter()
                .fold(SigSet::EMPTY, |a, &x| a.union(SigSet::of(x)))
        };
        let cases = [
            (s(&[SIGHUP, SIGSEGV]), s(&[]), Some(SIGSEGV)),
            (s(&[SIGHUP, SIGSEGV]), s(&[SIGSEGV]), Some(SIGHUP)),
            (s(&[SIGINT, SIGSYS, SIGRTMIN]), s(&[]), Some(SIGSYS)),
            (s(&[SIGTRAP, SIGFPE, SIGBUS]), s(&[]), Some(SIGTRAP)),
            (s(&[SIGRTMIN + 3, SIGRTMIN]), s(&[]), Some(SIGRTMIN)),
            (s(&[SIGUSR1]), s(&[SIGUSR1]), None),
        ];
        for (pending, blocked, next) in cases {
            let mut budget = QueueBudget::new(100);
            let mut p = PendingSignals::default();
            for sig in pending.iter() {
                p.send(SigInfo::user(sig, 0, 0), &mut budget).unwrap();
            }
            assert_eq!(p.next_signal(blocked), next, "{pending:?} {blocked:?}");
        }
    }

    #[test]
    fn thread_then_process_with_faults_first() {
        let mut budget = QueueBudget::new(100);
        let mut thread = PendingSignals::default();
        let mut process = PendingSignals::default();
        // A kill()-sent SIGSEGV is queued before the fault's own.
        let segv_user = SigInfo::user(SIGSEGV, 9, 0);
        let segv_fault = SigInfo::fault(SIGSEGV, SEGV_MAPERR, 0x10);
        process
            .send(SigInfo::user(SIGHUP, 1, 0), &mut budget)
            .unwrap();
        thread
            .send(SigInfo::user(SIGUSR1, 1, 0), &mut budget)
            .unwrap();
        // Standard signals coalesce per set, so the user one is on the
        // thread and the fault arrives on a fresh set for this test.
        let mut faulting = PendingSignals::default();
        faulting.send(segv_user, &mut budget).unwrap();
        assert_eq!(
            faulting.send(segv_fault, &mut budget),
            Ok(Sent::AlreadyPending)
        );
        // dequeue_synchronous only takes kernel-sent ones.
        assert_eq!(
            faulting.dequeue_synchronous(SigSet::EMPTY, &mut budget),
            None
        );

        let mut t = PendingSignals::default();
        t.send(SigInfo::tkill(SIGRTMIN, 1, 0), &mut budget).unwrap();
        t.send(segv_fault, &mut budget).unwrap();
        let order: Vec<_> = std::iter::from_fn(|| {
            dequeue_for_thread(&mut t, &mut process, SigSet::EMPTY, &mut budget)
        })
        .collect();
        assert_eq!(
            order,
            vec![
                (segv_fault, Scope::Thread),
                (SigInfo::tkill(SIGRTMIN, 1, 0), Scope::Thread),
                (SigInfo::user(SIGHUP, 1, 0), Scope::Process),
            ]
        );
        // Blocked signals stay.
        assert_eq!(
            dequeue_for_thread(&mut thread, &mut process, SigSet::of(SIGUSR1), &mut budget),
            None
        );
        assert!(thread.set().contains(SIGUSR1));
    }

    #[test]
    fn flush_discards_and_frees() {
        let mut budget = QueueBudget::new(100);
        let mut p = PendingSignals::default();
        p.send(SigInfo::user(SIGTSTP, 0, 0), &mut budget).unwrap();
        p.send(rt(SIGRTMIN, 1), &mut budget).unwrap();
        p.send(rt(SIGRTMIN, 2), &mut budget).unwrap();
        p.flush(SigSet::of(SIGRTMIN), &mut budget);
        assert_eq!(p.set(), SigSet::of(SIGTSTP));
        assert_eq!(budget.queued, 1);
    }
}
