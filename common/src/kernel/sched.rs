//! The scheduler: threads on one virtual CPU. Exactly one thread runs;
//! every switch is a function of kernel state, at these points and no
//! others: a blocking syscall, `sched_yield`, thread exit, and the end of a
//! time slice counted in retired instructions (the metering counter).
//! Round robin in FIFO order: new and woken threads join the tail, and a
//! thread that wakes another keeps running.
//!
//! Time: the virtual clock advances at kernel events and by
//! [`SLICE_NS`] per time slice. Timeouts are deadlines on it; when no
//! thread can run, the clock jumps to the earliest deadline (ties in the
//! order the waits began). With no deadline left, the call is deadlocked.

use std::collections::{BTreeMap, VecDeque};

use crate::engine::ThreadContext;

use super::signals::ThreadSignals;
use super::wait::Wait;

/// A thread id. The first thread's is the pid; new ones count up from
/// the pid + 1, in creation order.
pub type Tid = u32;

/// Instructions a thread runs before the next runnable one gets the CPU.
pub const SLICE_INSTRUCTIONS: u64 = 10_000_000;
/// Virtual time a full slice takes: one instruction per nanosecond, the
/// rate the virtual TSC runs at.
pub const SLICE_NS: u64 = SLICE_INSTRUCTIONS;
/// Most threads alive at once (Linux's default per-user limit is far
/// higher; each thread here costs host memory for its saved context).
pub const MAX_THREADS: usize = 4096;

/// How a blocked syscall ends when its thread runs again.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Completion {
    /// Returns this value (set by whoever woke the thread).
    Value(u64),
    /// Runs again from the start with the same arguments (the object it
    /// waited on changed).
    Rerun,
}

/// A thread asleep in a syscall.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Blocked {
    pub wait: Wait,
    /// The syscall, for a rerun and for the deadlock report.
    pub nr: u64,
    pub args: [u64; 6],
    /// Virtual nanoseconds since the call began; None: no timeout.
    pub deadline: Option<u64>,
    /// What the syscall returns at the deadline.
    pub on_timeout: u64,
    /// Order in which waits began, for ties between deadlines.
    pub seq: u64,
    /// Instructions retired at the syscall, for its trace entry.
    pub instructions: Option<u64>,
}

/// Where a thread is.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ThreadState {
    /// On the CPU (its context is in the engine).
    Running,
    /// In the run queue.
    Runnable,
    Blocked(Blocked),
}

/// One thread of the process.
#[derive(Clone, Debug)]
pub struct Thread {
    pub tid: Tid,
    pub state: ThreadState,
    /// Saved registers while not running.
    pub context: Option<ThreadContext>,
    /// What its blocked syscall returns, once woken.
    pub completion: Option<Completion>,
    /// The wait it was woken from, until it runs.
    pub woken_from: Option<Blocked>,
    /// set_tid_address / CLONE_CHILD_CLEARTID: zeroed and woken at exit.
    pub clear_child_tid: u64,
    /// set_robust_list: the list head (0 for none).
    pub robust_list: u64,
    /// Mask, pending signals, alternate stack.
    pub signals: ThreadSignals,
}

impl Thread {
    fn new(tid: Tid, signals: ThreadSignals) -> Self {
        Thread {
            signals,
            tid,
            state: ThreadState::Runnable,
            context: None,
            completion: None,
            woken_from: None,
            clear_child_tid: 0,
            robust_list: 0,
        }
    }
}

/// The threads of the process and the run queue.
#[derive(Debug)]
pub struct Scheduler {
    threads: BTreeMap<Tid, Thread>,
    run_queue: VecDeque<Tid>,
    current: Tid,
    next_tid: Tid,
    next_seq: u64,
    /// The instruction count at which the running thread's slice ends;
    /// None until the first thread is created (a single-threaded call is
    /// never preempted).
    slice_end: Option<u64>,
}

impl Scheduler {
    /// One running thread, `first`.
    pub fn new(first: Tid) -> Self {
        let mut threads = BTreeMap::new();
        let mut t = Thread::new(first, ThreadSignals::initial());
        t.state = ThreadState::Running;
        threads.insert(first, t);
        Scheduler {
            threads,
            run_queue: VecDeque::new(),
            current: first,
            next_tid: first.saturating_add(1),
            next_seq: 0,
            slice_end: None,
        }
    }

    /// The running thread's id.
    pub fn current(&self) -> Tid {
        self.current
    }

    /// The running thread.
    pub fn current_thread(&mut self) -> &mut Thread {
        self.threads
            .get_mut(&self.current)
            .expect("the current thread exists while it runs")
    }

    pub fn thread(&self, tid: Tid) -> Option<&Thread> {
        self.threads.get(&tid)
    }

    pub fn thread_mut(&mut self, tid: Tid) -> Option<&mut Thread> {
        self.threads.get_mut(&tid)
    }

    /// Every thread, by tid.
    pub fn threads(&self) -> impl Iterator<Item = &Thread> {
        self.threads.values()
    }

    pub fn count(&self) -> usize {
        self.threads.len()
    }

    /// Every thread's id, in order.
    pub fn tids(&self) -> Vec<Tid> {
        self.threads.keys().copied().collect()
    }

    /// Whether threads have been created (time slices are on).
    pub fn slicing(&self) -> bool {
        self.slice_end.is_some()
    }

    /// The instruction count the running thread may reach.
    pub fn slice_end(&self) -> Option<u64> {
        self.slice_end
    }

    /// Starts a slice for the running thread at instruction count `now`.
    pub fn start_slice(&mut self, now: u64) {
        self.slice_end = Some(now.saturating_add(SLICE_INSTRUCTIONS));
    }

    /// A new runnable thread at the tail of the run queue, with `context`;
    /// None when [`MAX_THREADS`] are alive.
    pub fn spawn(&mut self, context: ThreadContext) -> Option<Tid> {
        if self.threads.len() >= MAX_THREADS {
            return None;
        }
        let tid = self.next_tid;
        self.next_tid = tid.checked_add(1)?;
        let signals = ThreadSignals::for_new_thread(&self.threads.get(&self.current)?.signals);
        let mut t = Thread::new(tid, signals);
        t.context = Some(context);
        self.threads.insert(tid, t);
        self.run_queue.push_back(tid);
        Some(tid)
    }

    /// Puts the running thread to sleep; its context is saved.
    pub fn block_current(&mut self, context: ThreadContext, mut blocked: Blocked) {
        blocked.seq = self.next_seq;
        self.next_seq += 1;
        let t = self.current_thread();
        t.context = Some(context);
        t.state = ThreadState::Blocked(blocked);
    }

    /// Moves the running thread to the tail of the run queue.
    pub fn requeue_current(&mut self, context: ThreadContext) {
        let tid = self.current;
        let t = self.current_thread();
        t.context = Some(context);
        t.state = ThreadState::Runnable;
        self.run_queue.push_back(tid);
    }

    /// Removes the running thread (it exited); another must be picked.
    pub fn remove_current(&mut self) {
        self.threads.remove(&self.current);
    }

    /// Wakes a blocked thread: its syscall ends with `completion`; it joins
    /// the tail of the run queue. False if it was not blocked.
    pub fn wake(&mut self, tid: Tid, completion: Completion) -> bool {
        let Some(t) = self.threads.get_mut(&tid) else {
            return false;
        };
        if !matches!(t.state, ThreadState::Blocked(_)) {
            return false;
        }
        if let ThreadState::Blocked(b) = std::mem::replace(&mut t.state, ThreadState::Runnable) {
            t.woken_from = Some(b);
        }
        t.completion = Some(completion);
        self.run_queue.push_back(tid);
        true
    }

    /// Forgets a thread that never ran (its clone failed).
    pub fn discard(&mut self, tid: Tid) {
        self.threads.remove(&tid);
        self.run_queue.retain(|&t| t != tid);
    }

    /// Moves a futex waiter to the word at `addr` (FUTEX_REQUEUE).
    pub fn retarget_futex(&mut self, tid: Tid, addr: u64) {
        if let Some(Thread {
            state: ThreadState::Blocked(b),
            ..
        }) = self.threads.get_mut(&tid)
        {
            if let Wait::Futex { addr: a, .. } = &mut b.wait {
                *a = addr;
            }
        }
    }

    /// Blocked threads whose wait matches `f`, in the order they blocked.
    pub fn blocked_where(&self, f: impl Fn(&Blocked) -> bool) -> Vec<Tid> {
        let mut found: Vec<(u64, Tid)> = self
            .threads
            .values()
            .filter_map(|t| match &t.state {
                ThreadState::Blocked(b) if f(b) => Some((b.seq, t.tid)),
                _ => None,
            })
            .collect();
        found.sort_unstable();
        found.into_iter().map(|(_, tid)| tid).collect()
    }

    /// Wakes, at their timeout value, every thread whose deadline is at
    /// or before `now`, earliest deadline first (ties in blocking order).
    /// Returns the tids woken, for the kernel to clean up their waits.
    pub fn expire(&mut self, now: u64) -> Vec<Tid> {
        let mut due: Vec<(u64, u64, Tid, u64)> = self
            .threads
            .values()
            .filter_map(|t| match &t.state {
                ThreadState::Blocked(b) => b
                    .deadline
                    .filter(|&d| d <= now)
                    .map(|d| (d, b.seq, t.tid, b.on_timeout)),
                _ => None,
            })
            .collect();
        due.sort_unstable();
        for &(_, _, tid, value) in &due {
            self.wake(tid, Completion::Value(value));
        }
        due.into_iter().map(|(_, _, tid, _)| tid).collect()
    }

    /// The earliest deadline of any blocked thread.
    pub fn earliest_deadline(&self) -> Option<u64> {
        self.threads
            .values()
            .filter_map(|t| match &t.state {
                ThreadState::Blocked(b) => b.deadline,
                _ => None,
            })
            .min()
    }

    /// Takes the head of the run queue and makes it the running thread.
    pub fn switch_to_next(&mut self) -> Option<Tid> {
        while let Some(tid) = self.run_queue.pop_front() {
            if let Some(t) = self.threads.get_mut(&tid) {
                t.state = ThreadState::Running;
                self.current = tid;
                return Some(tid);
            }
        }
        None
    }

    /// Turns time slices on (the first thread was created at `now`).
    pub fn start_slicing(&mut self, now: u64) {
        if self.slice_end.is_none() {
            self.start_slice(now);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn blocked(deadline: Option<u64>) -> Blocked {
        Blocked {
            wait: Wait::Sleep,
            nr: 35,
            args: [0; 6],
            deadline,
            on_timeout: 0,
            seq: 0,
            instructions: None,
        }
    }

    #[test]
    fn new_threads_get_increasing_tids_and_join_the_tail() {
        let mut s = Scheduler::new(2);
        let a = s.spawn(ThreadContext::default()).unwrap();
        let b = s.spawn(ThreadContext::default()).unwrap();
        assert_eq!((a, b), (3, 4));
        s.requeue_current(ThreadContext::default());
        assert_eq!(s.switch_to_next(), Some(3));
        s.requeue_current(ThreadContext::default());
        assert_eq!(s.switch_to_next(), Some(4));
        assert_eq!(s.switch_to_next(), Some(2));
    }

    #[test]
    fn deadlines_expire_earliest_first_and_ties_in_blocking_order() {
        let mut s = Scheduler::new(2);
        for _ in 0..3 {
            s.spawn(ThreadContext::default());
        }
        // 2 blocks with deadline 50, 3 with 20, 4 with 50, 5 with none.
        s.block_current(ThreadContext::default(), blocked(Some(50)));
        for (tid, d) in [(3, Some(20)), (4, Some(50)), (5, None)] {
            assert_eq!(s.switch_to_next(), Some(tid));
            s.block_current(ThreadContext::default(), blocked(d));
        }
        assert_eq!(s.switch_to_next(), None);
        assert_eq!(s.earliest_deadline(), Some(20));
        assert_eq!(s.expire(20), vec![3]);
        assert_eq!(s.expire(100), vec![2, 4]);
        assert_eq!(s.earliest_deadline(), None);
        let order: Vec<_> = std::iter::from_fn(|| s.switch_to_next()).collect();
        assert_eq!(order, vec![3, 2, 4]);
    }

    #[test]
    fn a_woken_thread_completes_with_the_given_value() {
        let mut s = Scheduler::new(2);
        s.spawn(ThreadContext::default());
        s.block_current(ThreadContext::default(), blocked(None));
        assert_eq!(s.switch_to_next(), Some(3));
        assert!(s.wake(2, Completion::Value(7)));
        assert!(!s.wake(2, Completion::Value(8)), "already woken");
        s.requeue_current(ThreadContext::default());
        assert_eq!(s.switch_to_next(), Some(2));
        assert_eq!(s.current_thread().completion, Some(Completion::Value(7)));
    }
}
