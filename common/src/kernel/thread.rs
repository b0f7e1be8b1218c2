//! Threads: clone, exit, thread ids, and the switch between threads at
//! the scheduler's switch points ([`super::sched`]). A syscall that needs
//! the whole thread context (clone, a blocking wait, sched_yield, thread
//! exit) records what is pending and answers
//! [`crate::engine::SyscallAction::Reschedule`]; the engine then hands the
//! context to [`Kernel::reschedule`], which returns the context to run
//! next.

use crate::engine::ThreadContext;

use super::sched::{Blocked, Completion, Tid, SLICE_NS};
use super::wait::Wait;
use super::{Errno, Kernel, SysResult, TraceEntry};
use crate::linux_abi::sched::{
    CLONE_CHILD_CLEARTID, CLONE_CHILD_SETTID, CLONE_DETACHED, CLONE_FILES, CLONE_FS,
    CLONE_PARENT_SETTID, CLONE_SETTLS, CLONE_SIGHAND, CLONE_SYSVSEM, CLONE_THREAD, CLONE_VM,
    CSIGNAL,
};

/// The clone flags every thread library passes: one address space, one
/// file table, one set of handlers, one thread group.
const THREAD_REQUIRED: u64 = CLONE_VM | CLONE_FS | CLONE_FILES | CLONE_SIGHAND | CLONE_THREAD;
/// Flags a thread may add.
const THREAD_OPTIONAL: u64 = CLONE_SYSVSEM
    | CLONE_SETTLS
    | CLONE_PARENT_SETTID
    | CLONE_CHILD_CLEARTID
    | CLONE_CHILD_SETTID
    | CLONE_DETACHED;

/// Work a syscall left for [`Kernel::reschedule`], which has the context.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(super) enum Pending {
    /// clone: the child starts from the parent's context.
    Clone {
        tid: Tid,
        stack: u64,
        tls: Option<u64>,
    },
    /// The thread sleeps.
    Block(Blocked),
    /// sched_yield: to the tail of the run queue.
    Yield,
    /// The thread is gone.
    Exit,
    /// rt_sigreturn: the context comes from the signal frame.
    SigReturn,
    /// A signal is deliverable: the context takes its frame.
    Signals,
}

/// Why the deadlock verdict names each thread.
pub const KILL_DEADLOCK: &str = "deadlock: every thread waits and no timeout is left";

impl Kernel {
    /// Puts the current syscall to sleep on `wait` (see
    /// [`Pending::Block`]); at `deadline` it returns `on_timeout`.
    pub(super) fn block_on(&mut self, wait: Wait, deadline: Option<u64>, on_timeout: u64) {
        let (nr, args, instructions) = self.in_syscall;
        self.pending = Some(Pending::Block(Blocked {
            wait,
            nr,
            args,
            deadline,
            on_timeout,
            seq: 0,
            instructions,
        }));
    }

    /// The virtual time now, in nanoseconds since the call began (no
    /// tick: reading it is not a clock read by the contract).
    pub(super) fn now_ns(&self) -> u64 {
        self.clock.now()
    }

    pub(super) fn sys_clone(&mut self, a: &[u64; 6]) -> SysResult {
        let flags = a[0];
        let (stack, parent_tid, child_tid, tls) = (a[1], a[2], a[3], a[4]);
        if flags & THREAD_REQUIRED != THREAD_REQUIRED
            || flags & !(THREAD_REQUIRED | THREAD_OPTIONAL | CSIGNAL) != 0
            || flags & CSIGNAL != 0
        {
            // fork, vfork, namespaces: one process per call.
            return Err(Errno::ENOSYS);
        }
        // The child's id is known now; it starts at reschedule, from the
        // parent's context after this syscall.
        let tid = self
            .sched
            .spawn(ThreadContext::default())
            .ok_or(Errno::EAGAIN)?;
        if flags & CLONE_PARENT_SETTID != 0 {
            if let Err(e) = self.space.write(parent_tid, &tid.to_le_bytes()) {
                self.sched.discard(tid);
                return Err(e.into());
            }
        }
        if flags & CLONE_CHILD_SETTID != 0 {
            // One address space: the child's word is the parent's.
            if let Err(e) = self.space.write(child_tid, &tid.to_le_bytes()) {
                self.sched.discard(tid);
                return Err(e.into());
            }
        }
        if let Some(t) = self.sched.thread_mut(tid) {
            if flags & CLONE_CHILD_CLEARTID != 0 {
                t.clear_child_tid = child_tid;
            }
        }
        self.pending = Some(Pending::Clone {
            tid,
            stack,
            tls: (flags & CLONE_SETTLS != 0).then_some(tls),
        });
        Ok(u64::from(tid))
    }

    pub(super) fn sys_set_tid_address(&mut self, a: &[u64; 6]) -> SysResult {
        self.sched.current_thread().clear_child_tid = a[0];
        Ok(u64::from(self.sched.current()))
    }

    pub(super) fn sys_set_robust_list(&mut self, a: &[u64; 6]) -> SysResult {
        // sizeof(struct robust_list_head)
        if a[1] != 24 {
            return Err(Errno::EINVAL);
        }
        self.sched.current_thread().robust_list = a[0];
        Ok(0)
    }

    pub(super) fn sys_get_robust_list(&mut self, a: &[u64; 6]) -> SysResult {
        let tid = if a[0] == 0 {
            self.sched.current()
        } else {
            u32::try_from(a[0]).map_err(|_| Errno::ESRCH)?
        };
        let head = self.sched.thread(tid).ok_or(Errno::ESRCH)?.robust_list;
        self.space.write(a[1], &head.to_le_bytes())?;
        self.space.write(a[2], &24u64.to_le_bytes())?;
        Ok(0)
    }

    /// exit(2): ends the calling thread; the last one ends the process.
    pub(super) fn sys_exit_thread(&mut self, status: u64) -> SysResult {
        self.exit_current_thread();
        if self.sched.count() <= 1 {
            self.terminate(super::Termination::Exited((status & 0xff) as i32));
        } else {
            self.pending = Some(Pending::Exit);
        }
        Ok(0)
    }

    /// What Linux does when a thread ends: the robust futexes it held are
    /// marked dead and a waiter woken, and the CLEARTID word is zeroed and
    /// woken (how pthread_join learns of it).
    fn exit_current_thread(&mut self) {
        let tid = self.sched.current();
        let (robust, clear) = {
            let t = self.sched.current_thread();
            (t.robust_list, t.clear_child_tid)
        };
        if robust != 0 {
            self.release_robust_list(tid, robust);
        }
        if clear != 0 && self.space.write(clear, &0u32.to_le_bytes()).is_ok() {
            self.futex_wake(clear, 1, u32::MAX);
        }
    }

    /// sched_yield: the next runnable thread runs; alone, this one goes on.
    pub(super) fn sys_sched_yield(&mut self) -> SysResult {
        if self.sched.count() > 1 {
            self.pending = Some(Pending::Yield);
        }
        Ok(0)
    }

    /// The engine stopped at the end of the running thread's time slice
    /// (at instruction count `now`): the clock moves on by a slice and the
    /// next runnable thread gets the CPU.
    pub fn preempt(&mut self, context: ThreadContext, now: u64) -> Option<ThreadContext> {
        self.clock.advance(SLICE_NS);
        self.sched.requeue_current(context);
        self.switch_in(now)
    }

    /// The call moved to an engine whose instruction counts start at the
    /// move: traces leave counts out from now on.
    pub fn counts_relative(&mut self) {
        self.counts_relative = true;
    }

    /// Whether time slices are on (a thread was created): the engine must
    /// count instructions from now on.
    pub fn time_slices(&self) -> bool {
        self.sched.slicing()
    }

    /// Whether the engine stopped at `now` because the time slice ended
    /// (not because gas ran out).
    pub fn slice_over(&self, now: u64) -> bool {
        self.sched.slice_end().is_some_and(|end| now >= end)
            && self.gas.instruction_limit().is_none_or(|gas| now < gas)
    }

    /// Finishes the work a syscall left pending, with the calling thread's
    /// `context` (the syscall complete, RAX its result), and returns the
    /// context to run next: None when the call is over.
    pub fn reschedule(&mut self, mut context: ThreadContext, now: u64) -> Option<ThreadContext> {
        if self.termination.is_some() {
            return None;
        }
        let next = match self.pending.take() {
            None | Some(Pending::Signals) => Some(context),
            Some(Pending::SigReturn) => self.sigreturn(&context),
            Some(Pending::Clone { tid, stack, tls }) => {
                let mut child = context;
                child.regs.rax = 0;
                if stack != 0 {
                    child.regs.rsp = stack;
                }
                if let Some(tls) = tls {
                    child.fs_base = tls;
                }
                if let Some(t) = self.sched.thread_mut(tid) {
                    t.context = Some(child);
                }
                // The first thread creation turns slices on (once).
                self.sched.start_slicing(now);
                // The parent keeps the CPU.
                context.regs.rax = u64::from(tid);
                Some(context)
            }
            Some(Pending::Yield) => {
                self.sched.requeue_current(context);
                return self.switch_in(now);
            }
            Some(Pending::Block(blocked)) => {
                self.sched.block_current(context, blocked);
                return self.switch_in(now);
            }
            Some(Pending::Exit) => {
                self.sched.remove_current();
                return self.switch_in(now);
            }
        }?;
        if self.termination.is_some() {
            return None;
        }
        // The syscall returns: signals are delivered here.
        self.deliver_signals(next)
    }

    /// Picks the next thread and returns its context, its blocked syscall
    /// completed. When nothing can run the clock jumps to the earliest
    /// deadline; with none, the call is deadlocked.
    fn switch_in(&mut self, now: u64) -> Option<ThreadContext> {
        // Timers that fired while no thread could run and woke none: they
        // cannot wake one later either (nothing runs to change that), so
        // the clock does not jump to them again; else a periodic timer
        // whose signal nobody takes would keep the kernel jumping for ever.
        let mut idle_fired: Vec<super::timers::TimerKey> = Vec::new();
        loop {
            let due = self.timers.due(self.clock.now());
            self.fire_timers();
            self.expire_waits();
            let Some(tid) = self.sched.switch_to_next() else {
                idle_fired.extend(due);
                let earliest = match (
                    self.sched.earliest_deadline(),
                    self.timers.earliest_except(&idle_fired),
                ) {
                    (Some(a), Some(b)) => Some(a.min(b)),
                    (a, b) => a.or(b),
                };
                match earliest {
                    Some(d) => {
                        self.clock.advance_to(d);
                        continue;
                    }
                    None => {
                        self.deadlock();
                        return None;
                    }
                }
            };
            let t = self.sched.current_thread();
            let mut context = t.context.take().unwrap_or_default();
            let completion = t.completion.take();
            let woken_from = t.woken_from.take();
            match (completion, woken_from) {
                (Some(Completion::Value(v)), Some(b)) => {
                    context.regs.rax = v;
                    self.trace_completed(&b, v);
                }
                (Some(Completion::Rerun), Some(b)) => {
                    let value = self.rerun(&b);
                    if self.termination.is_some() {
                        return None;
                    }
                    if let Some(Pending::Block(mut again)) = self.pending.take() {
                        // Still nothing to do: back to sleep, same deadline.
                        again.deadline = b.deadline;
                        self.sched.block_current(context, again);
                        continue;
                    }
                    context.regs.rax = value;
                    self.trace_completed(&b, value);
                }
                _ => {}
            }
            if self.sched.slicing() {
                self.sched.start_slice(now);
            }
            log::trace!("switch to thread {tid}");
            // Switch-in is a delivery point.
            return self.deliver_signals(context);
        }
    }

    /// Wakes every thread whose deadline has passed, at its timeout value,
    /// and takes it off any futex queue.
    fn expire_waits(&mut self) {
        self.sched.expire(self.clock.now());
    }

    /// Runs a blocked syscall again after its object changed.
    fn rerun(&mut self, b: &Blocked) -> u64 {
        self.in_syscall = (b.nr, b.args, b.instructions);
        let copied_before = self.space.copied();
        let result = self.dispatch(b.nr, &b.args).unwrap_or(Err(Errno::ENOSYS));
        let copied = self.space.copied().saturating_sub(copied_before);
        // A rerun is a syscall's work done again: it costs a syscall, so
        // that waking many waiters costs the waker's call gas in
        // proportion.
        let cost = self.gas.syscall_cost(copied, self.space.peak_committed());
        if self.gas.charge(b.instructions.unwrap_or(0), cost).is_err() {
            self.termination = None;
            self.out_of_gas();
        }
        match result {
            Ok(v) => v,
            Err(e) => (-i64::from(e.0)) as u64,
        }
    }

    /// Records a syscall that blocked, now that its result is known.
    fn trace_completed(&mut self, b: &Blocked, value: u64) {
        if let Some(trace) = self.trace.as_mut() {
            trace.push(TraceEntry {
                nr: b.nr,
                name: super::table::name(b.nr),
                args: b.args,
                result: value as i64,
                instructions: b.instructions,
            });
        }
    }

    /// No thread can run and no deadline is left: the call ends, killed,
    /// with a report of what each thread waits on.
    fn deadlock(&mut self) {
        let mut report = String::from(KILL_DEADLOCK);
        for t in self.sched.threads() {
            if let super::sched::ThreadState::Blocked(b) = &t.state {
                report.push_str(&waits(t.tid, b));
            }
        }
        self.kill(report);
    }

    /// The only thread blocks with no deadline: nothing can wake it.
    pub(super) fn deadlock_alone(&mut self, b: &Blocked) {
        let report = format!("{KILL_DEADLOCK}{}", waits(self.sched.current(), b));
        self.kill(report);
    }
}

/// One thread's part of the deadlock report.
fn waits(tid: Tid, b: &Blocked) -> String {
    format!(
        "; thread {tid} in {} ({})",
        super::table::name(b.nr),
        b.wait.describe()
    )
}
