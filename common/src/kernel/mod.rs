//! The synthetic Linux kernel: pure Rust over guest memory and its own
//! state. It never acts on the host for the guest: no host files, clock,
//! randomness or threads. [`table`] lists every syscall and why its result
//! is deterministic.

pub mod altstack;
pub mod epoll;
pub mod eventfd;
pub mod files;
mod futex;
pub mod gas;
pub mod identity;
mod mm;
pub mod output;
pub mod pipe;
pub mod poll;
pub mod sched;
pub mod sigaction;
pub mod siginfo;
pub mod signal_frame;
mod signals;
pub mod sigpending;
pub mod sigset;
pub mod statefs;
pub mod table;
pub mod thread;
pub mod time;
pub mod timers;
pub mod tmpfs;
pub mod trace;
pub mod wait;

use std::collections::BTreeMap;

use serde::Serialize;

use crate::address_space::{AddressSpace, MemoryChange};
use crate::contract::BlockContext;
use crate::engine::{Fault, Supervisor, SyscallAction, SyscallRequest};
pub use crate::linux_abi::Errno;
use crate::random::Entropy;
use files::Files;
use gas::{GasLimit, GasMeter, GasReport, KILL_OUT_OF_GAS};
use identity::{Limits, PID, PPID};
use mm::Brk;
use signals::SignalState;
pub use signals::{signal_for, signal_name};
use time::VirtualClock;
use trace::Trace;

/// `AT_FDCWD` as a syscall argument.
const AT_FDCWD: u64 = crate::linux_abi::fcntl::AT_FDCWD as u64;

/// A syscall's result: a value or an errno.
pub type SysResult = Result<u64, Errno>;

/// How the process ended.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Termination {
    Exited(i32),
    Signaled { signal: i32, fault: Option<Fault> },
}

/// One syscall in the trace.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct TraceEntry {
    pub nr: u64,
    pub name: &'static str,
    pub args: [u64; 6],
    /// The value returned to the guest as a signed number (-errno on error).
    pub result: i64,
    /// Instructions retired before the syscall returned, the `syscall`
    /// itself included; absent on engines that do not count them.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub instructions: Option<u64>,
}

/// What the kernel knows when a call starts.
pub struct KernelConfig {
    pub block: BlockContext,
    pub stdin: Vec<u8>,
    pub entropy: Entropy,
    pub brk_start: u64,
    /// Target of `/proc/self/exe`.
    pub exe_path: Vec<u8>,
    pub trace: bool,
    /// Gas limit (`docs/gas.md`); None for none.
    pub gas_limit: GasLimit,
    /// What `/state` serves; None: no `/state`.
    pub state: Option<std::sync::Arc<dyn crate::state::StateReader>>,
}

/// The kernel of one call.
pub struct Kernel {
    space: AddressSpace,
    files: Files,
    pipes: pipe::Pipes,
    eventfds: eventfd::EventFds,
    epolls: epoll::Epolls,
    tmpfs: tmpfs::Tmpfs,
    /// `/state`, when the call has a state.
    statefs: Option<statefs::StateFs>,
    block: BlockContext,
    entropy: Entropy,
    clock: VirtualClock,
    brk: Brk,
    signals: SignalState,
    limits: Limits,
    thread_name: [u8; 16],
    exe_path: Vec<u8>,
    fs_base: u64,
    gs_base: u64,
    pending_fs: Option<u64>,
    pending_gs: Option<u64>,
    termination: Option<Termination>,
    /// Why the kernel itself ended the call, when it did.
    kill_reason: Option<String>,
    /// The threads and the run queue.
    sched: sched::Scheduler,
    /// Work the current syscall left for [`Kernel::reschedule`].
    pending: Option<thread::Pending>,
    /// The syscall being handled: number, arguments, instruction count.
    in_syscall: (u64, [u64; 6], Option<u64>),
    /// Its stack pointer.
    in_syscall_sp: u64,
    /// alarm, setitimer and POSIX timers.
    timers: timers::Timers,
    /// The engine's instruction counts are not the call's (it moved to
    /// another engine mid-call): traces leave them out.
    counts_relative: bool,
    syscalls: u64,
    refused: BTreeMap<u64, u64>,
    trace: Option<Trace>,
    gas: GasMeter,
}

impl Kernel {
    /// A kernel over a loaded address space.
    pub fn new(space: AddressSpace, config: KernelConfig) -> Self {
        let mut name = [0u8; 16];
        let base = config.exe_path.rsplit(|&b| b == b'/').next().unwrap_or(&[]);
        let n = base.len().min(15);
        name[..n].copy_from_slice(&base[..n]);
        let mut tmpfs = tmpfs::Tmpfs::default();
        let statefs = config
            .state
            .map(|reader| statefs::StateFs::mount(&mut tmpfs, reader));
        Kernel {
            space,
            files: Files::new(config.stdin),
            pipes: pipe::Pipes::default(),
            eventfds: eventfd::EventFds::default(),
            epolls: epoll::Epolls::default(),
            tmpfs,
            statefs,
            block: config.block,
            entropy: config.entropy,
            clock: VirtualClock::default(),
            brk: Brk {
                start: config.brk_start,
                current: config.brk_start,
            },
            signals: SignalState::default(),
            limits: Limits::default(),
            thread_name: name,
            exe_path: config.exe_path,
            fs_base: 0,
            gs_base: 0,
            pending_fs: None,
            pending_gs: None,
            termination: None,
            kill_reason: None,
            sched: sched::Scheduler::new(PID as sched::Tid),
            pending: None,
            in_syscall: (0, [0; 6], None),
            in_syscall_sp: 0,
            timers: timers::Timers::default(),
            counts_relative: false,
            syscalls: 0,
            refused: BTreeMap::new(),
            trace: config.trace.then(Trace::default),
            gas: GasMeter::new(config.gas_limit),
        }
    }

    /// The address space.
    pub fn space(&self) -> &AddressSpace {
        &self.space
    }

    /// The address space, mutably (for the loader and tests).
    pub fn space_mut(&mut self) -> &mut AddressSpace {
        &mut self.space
    }

    /// How the process ended, once it has.
    pub fn termination(&self) -> Option<Termination> {
        self.termination
    }

    /// Why the kernel ended the call itself (e.g. a deadlock), if it did.
    pub fn kill_reason(&self) -> Option<&str> {
        self.kill_reason.as_deref()
    }

    /// Everything written to stdout (nothing when an output sink took it).
    pub fn stdout(&self) -> &[u8] {
        self.files.stdout.kept()
    }

    /// Everything written to stderr (nothing when an output sink took it).
    pub fn stderr(&self) -> &[u8] {
        self.files.stderr.kept()
    }

    /// Takes the kept stdout and stderr (moved, not copied: up to 64 MiB
    /// each).
    pub fn take_output(&mut self) -> (Vec<u8>, Vec<u8>) {
        (self.files.stdout.take_kept(), self.files.stderr.take_kept())
    }

    /// How many bytes the contract wrote to `stream`, kept or passed on.
    pub fn written(&self, stream: output::Stream) -> usize {
        match stream {
            output::Stream::Stdout => self.files.stdout.written(),
            output::Stream::Stderr => self.files.stderr.written(),
        }
    }

    /// Passes stdout and stderr to `sink` as they are written instead of
    /// keeping them.
    pub fn set_output_sink(&mut self, sink: Box<dyn output::OutputSink>) {
        self.files.sink = Some(sink);
    }

    /// Number of syscalls made.
    pub fn syscall_count(&self) -> u64 {
        self.syscalls
    }

    /// Refused or unknown syscalls and how often each was made.
    pub fn refused(&self) -> &BTreeMap<u64, u64> {
        &self.refused
    }

    /// The trace, if tracing was asked for.
    pub fn take_trace(&mut self) -> Option<Vec<TraceEntry>> {
        self.trace.take().map(Trace::into_entries)
    }

    /// Syscalls made after the trace was full (see [`trace::MAX_ENTRIES`]).
    pub fn trace_dropped(&self) -> u64 {
        self.trace.as_ref().map_or(0, Trace::dropped)
    }

    /// Charges the memory committed before the contract runs (its image
    /// and stack); the call is out of gas at once if that passes the limit.
    pub fn charge_initial_memory(&mut self) {
        let cost = self.gas.page_cost(self.space.peak_committed());
        if self.gas.charge(0, cost).is_err() {
            self.out_of_gas();
        }
    }

    /// The engine stopped at the instruction limit: no gas left for the
    /// next instruction.
    pub fn out_of_gas(&mut self) {
        self.gas.exhaust();
        self.kill(KILL_OUT_OF_GAS);
    }

    /// The call's gas, given the engine's instruction count.
    pub fn gas_report(&self, instructions: Option<u64>) -> GasReport {
        self.gas.report(instructions)
    }

    /// Records a fault the guest did not survive.
    pub fn fault(&mut self, fault: Fault) {
        self.terminate(Termination::Signaled {
            signal: signal_for(&fault),
            fault: Some(fault),
        });
    }

    fn terminate(&mut self, t: Termination) {
        if self.termination.is_none() {
            self.termination = Some(t);
        }
    }

    fn kill(&mut self, reason: impl Into<String>) {
        self.kill_reason = Some(reason.into());
        self.terminate(Termination::Signaled {
            signal: crate::linux_abi::signal::SIGKILL,
            fault: None,
        });
    }

    /// Runs one syscall; `None` when this kernel does not implement it.
    fn dispatch(&mut self, nr: u64, a: &[u64; 6]) -> Option<SysResult> {
        let r = match nr {
            0 => self.sys_read(a),
            1 => self.sys_write(a),
            2 => self.sys_open(a),
            3 => self.sys_close(a),
            4 | 6 => self.sys_stat_path(None, a[0], a[1], 0),
            5 => self.sys_fstat(a),
            8 => self.sys_lseek(a),
            9 => self.sys_mmap(a),
            10 => self.sys_mprotect(a),
            11 => self.sys_munmap(a),
            12 => self.sys_brk(a),
            13 => self.sys_rt_sigaction(a),
            14 => self.sys_rt_sigprocmask(a),
            15 => self.sys_rt_sigreturn(),
            34 => self.sys_pause(),
            36 => self.sys_getitimer(a),
            37 => self.sys_alarm(a),
            38 => self.sys_setitimer(a),
            222 => self.sys_timer_create(a),
            223 => self.sys_timer_settime(a),
            224 => self.sys_timer_gettime(a),
            225 => self.sys_timer_getoverrun(a),
            226 => self.sys_timer_delete(a),
            283 => self.sys_timerfd_create(a),
            286 => self.sys_timerfd_settime(a),
            287 => self.sys_timerfd_gettime(a),
            127 => self.sys_rt_sigpending(a),
            128 => self.sys_rt_sigtimedwait(a),
            130 => self.sys_rt_sigsuspend(a),
            16 => self.sys_ioctl(a),
            17 => self.sys_positional(a, false, false, a[3] as i64),
            18 => self.sys_positional(a, true, false, a[3] as i64),
            19 => self.sys_readv(a),
            20 => self.sys_writev(a),
            24 => self.sys_sched_yield(),
            149..=152 | 203 => Ok(0),
            25 => self.sys_mremap(a),
            26 => self.sys_msync(a),
            28 => self.sys_madvise(a),
            32 => self.sys_dup(a),
            33 => self.sys_dup2(a, None),
            35 => self.sys_nanosleep(a),
            39 | 111 => Ok(PID),
            186 => Ok(u64::from(self.sched.current())),
            56 => self.sys_clone(a),
            60 => self.sys_exit_thread(a[0]),
            218 => self.sys_set_tid_address(a),
            273 => self.sys_set_robust_list(a),
            274 => self.sys_get_robust_list(a),
            121 | 124 => self.same_process(a[0]).map(|_| PID),
            231 => {
                self.terminate(Termination::Exited((a[0] & 0xff) as i32));
                Ok(0)
            }
            62 => self.sys_kill(a[0], a[1]),
            200 => self.sys_tgkill(None, a[0], a[1]),
            234 => self.sys_tgkill(Some(a[0]), a[1], a[2]),
            63 => self.sys_uname(a),
            72 => self.sys_fcntl(a),
            95 => self.sys_umask(a),
            96 => self.sys_gettimeofday(a),
            97 => self.sys_prlimit(0, a[0], 0, a[1]),
            160 => self.sys_prlimit(0, a[0], a[1], 0),
            302 => self.sys_prlimit(a[0], a[1], a[2], a[3]),
            98 => self.sys_getrusage(a),
            99 => self.sys_sysinfo(a),
            100 => self.sys_times(a),
            102 | 107 => Ok(identity::UID),
            104 | 108 => Ok(identity::GID),
            110 => Ok(PPID),
            115 => Ok(0),
            131 => self.sys_sigaltstack(a),
            157 => self.sys_prctl(a),
            158 => self.sys_arch_prctl(a),
            201 => self.sys_time(a),
            202 => self.sys_futex(a),
            204 => self.sys_sched_getaffinity(a),
            228 => self.sys_clock_gettime(a),
            229 => self.sys_clock_getres(a),
            230 => self.sys_clock_nanosleep(a),
            257 => self.sys_openat(a),
            262 => self.sys_stat_path(Some(a[0]), a[1], a[2], a[3]),
            292 => self.sys_dup2(a, Some(a[2])),
            295 => self.sys_positional(a, false, true, a[3] as i64),
            296 => self.sys_positional(a, true, true, a[3] as i64),
            327 => self.sys_positional(a, false, true, a[3] as i64),
            328 => self.sys_positional(a, true, true, a[3] as i64),
            309 => self.sys_getcpu(a),
            318 => self.sys_getrandom(a),
            // Kernel objects and the file tree (issue 12): pipes, eventfd,
            // poll/select, epoll, the /tmp and /dev/shm file systems, the
            // current directory.
            22 => self.sys_pipe2(a[0], 0),
            293 => self.sys_pipe2(a[0], a[1]),
            284 => self.sys_eventfd2(a[0], 0),
            290 => self.sys_eventfd2(a[0], a[1]),
            7 => self.sys_poll(a[0], a[1], a[2]),
            271 => self.sys_ppoll(a),
            23 => self.sys_select(a),
            270 => self.sys_pselect6(a),
            213 => self.sys_epoll_create(a[0]),
            291 => self.sys_epoll_create1(a[0]),
            233 => self.sys_epoll_ctl(a),
            232 => self.sys_epoll_wait(a, false, false),
            281 => self.sys_epoll_wait(a, true, false),
            441 => self.sys_epoll_wait(a, true, true),
            21 => self.sys_faccessat(AT_FDCWD, a[0], a[1]),
            269 | 439 => self.sys_faccessat(a[0], a[1], a[2]),
            74 | 75 => self.sys_fsync(a),
            76 => self.sys_truncate(a[0], a[1]),
            77 => self.sys_ftruncate(a[0], a[1]),
            79 => self.sys_getcwd(a[0], a[1]),
            80 => self.sys_chdir(a[0]),
            81 => self.sys_fchdir(a[0]),
            82 => self.sys_renameat2([AT_FDCWD, a[0], AT_FDCWD, a[1], 0]),
            264 => self.sys_renameat2([a[0], a[1], a[2], a[3], 0]),
            316 => self.sys_renameat2([a[0], a[1], a[2], a[3], a[4]]),
            83 => self.sys_mkdirat(AT_FDCWD, a[0], a[1]),
            258 => self.sys_mkdirat(a[0], a[1], a[2]),
            84 => self.sys_unlinkat(AT_FDCWD, a[0], crate::linux_abi::fcntl::AT_REMOVEDIR),
            85 => self.sys_creat(a),
            86 => self.sys_linkat([AT_FDCWD, a[0], AT_FDCWD, a[1], 0]),
            265 => self.sys_linkat([a[0], a[1], a[2], a[3], a[4]]),
            87 => self.sys_unlinkat(AT_FDCWD, a[0], 0),
            263 => self.sys_unlinkat(a[0], a[1], a[2]),
            89 => self.sys_readlink(AT_FDCWD, a[0], a[1], a[2]),
            267 => self.sys_readlink(a[0], a[1], a[2], a[3]),
            217 => self.sys_getdents64(a[0], a[1], a[2]),
            _ => return None,
        };
        Some(r)
    }

    fn same_process(&self, pid: u64) -> SysResult {
        if pid == 0 || pid == PID {
            Ok(0)
        } else {
            Err(Errno::ESRCH)
        }
    }

    fn sys_msync(&mut self, a: &[u64; 6]) -> SysResult {
        if a[0] % crate::layout::PAGE_SIZE != 0 {
            return Err(Errno::EINVAL);
        }
        Ok(0)
    }

    fn sys_getcpu(&mut self, a: &[u64; 6]) -> SysResult {
        for addr in [a[0], a[1]] {
            if addr != 0 {
                self.space.write(addr, &0u32.to_le_bytes())?;
            }
        }
        Ok(0)
    }

    fn sys_arch_prctl(&mut self, a: &[u64; 6]) -> SysResult {
        const ARCH_SET_GS: u64 = 0x1001;
        const ARCH_SET_FS: u64 = 0x1002;
        const ARCH_GET_FS: u64 = 0x1003;
        const ARCH_GET_GS: u64 = 0x1004;
        match a[0] {
            ARCH_SET_FS | ARCH_SET_GS => {
                if a[1] >= crate::layout::USER_END {
                    return Err(Errno::EPERM);
                }
                if a[0] == ARCH_SET_FS {
                    self.fs_base = a[1];
                    self.pending_fs = Some(a[1]);
                } else {
                    self.gs_base = a[1];
                    self.pending_gs = Some(a[1]);
                }
                Ok(0)
            }
            ARCH_GET_FS => self
                .space
                .write(a[1], &self.fs_base.to_le_bytes())
                .map(|_| 0)
                .map_err(Errno::from),
            ARCH_GET_GS => self
                .space
                .write(a[1], &self.gs_base.to_le_bytes())
                .map(|_| 0)
                .map_err(Errno::from),
            _ => Err(Errno::EINVAL),
        }
    }

    fn sys_getrandom(&mut self, a: &[u64; 6]) -> SysResult {
        const GRND_FLAGS: u64 = 0x1 | 0x2 | 0x4; // NONBLOCK, RANDOM, INSECURE
        if a[2] & !GRND_FLAGS != 0 {
            return Err(Errno::EINVAL);
        }
        // Linux returns at most 32 MiB - 1 per call.
        let len = a[1].min((1 << 25) - 1) as usize;
        let mut buf = vec![0u8; len];
        // Check the buffer first so a bad pointer does not consume entropy.
        self.space.check_writable(a[0], len as u64)?;
        self.entropy.fill(&mut buf);
        self.space.write(a[0], &buf)?;
        Ok(len as u64)
    }
}

impl Supervisor for Kernel {
    fn syscall(&mut self, req: SyscallRequest) -> SyscallAction {
        self.syscalls += 1;
        let req = SyscallRequest {
            instructions: req.instructions.filter(|_| !self.counts_relative),
            ..req
        };
        self.in_syscall = (req.nr, req.args, req.instructions);
        self.in_syscall_sp = req.sp;
        let copied_before = self.space.copied();
        let result = match self.dispatch(req.nr, &req.args) {
            Some(r) => r,
            None => {
                *self.refused.entry(req.nr).or_insert(0) += 1;
                match table::lookup(req.nr).map(|s| s.handling) {
                    Some(table::Handling::Refused(e)) => Err(e),
                    _ => Err(Errno::ENOSYS),
                }
            }
        };
        self.release_unopened_state_files();
        let mut value = match result {
            Ok(v) => v,
            Err(e) => e.as_return(),
        };
        self.fire_timers();
        if let Some(thread::Pending::Block(b)) = &self.pending {
            // With a timer armed the scheduler's path decides (the timer's
            // signal may end the wait).
            if self.sched.count() == 1 && self.timers.earliest().is_none() {
                // Alone, nothing but the deadline can end the wait: the
                // clock jumps to it now, as the scheduler would.
                match b.deadline {
                    Some(d) => {
                        value = b.on_timeout;
                        self.clock.advance_to(d);
                        self.pending = None;
                    }
                    None => {
                        let b = b.clone();
                        self.pending = None;
                        self.deadlock_alone(&b);
                    }
                }
            }
        }
        let blocked = matches!(self.pending, Some(thread::Pending::Block(_)));
        log::trace!("{}({:x?}) = {:#x}", table::name(req.nr), req.args, value);
        if let Some(trace) = self.trace.as_mut().filter(|_| !blocked) {
            trace.push(TraceEntry {
                nr: req.nr,
                name: table::name(req.nr),
                args: req.args,
                result: value as i64,
                instructions: req.instructions,
            });
        }
        // The syscall's cost, after it ran: what it copied and committed
        // is known only then (docs/gas.md).
        let copied = self.space.copied().saturating_sub(copied_before);
        let cost = self.gas.syscall_cost(copied, self.space.peak_committed());
        if self
            .gas
            .charge(req.instructions.unwrap_or(0), cost)
            .is_err()
        {
            // Out of gas overrides an exit the syscall made: the call
            // did not pay for it.
            self.termination = None;
            self.out_of_gas();
        }
        if self.termination.is_some() {
            return SyscallAction::Stop;
        }
        if self.pending.is_none() && self.signal_deliverable() {
            self.pending = Some(thread::Pending::Signals);
        }
        if self.pending.is_some() {
            return SyscallAction::Reschedule { value };
        }
        SyscallAction::Return {
            value,
            set_fs_base: self.pending_fs.take(),
            set_gs_base: self.pending_gs.take(),
        }
    }

    fn take_memory_changes(&mut self) -> Vec<MemoryChange> {
        self.space.take_changes()
    }

    fn take_code_written(&mut self) -> Vec<(u64, u64)> {
        self.space.take_code_written()
    }

    fn rdtsc(&mut self) -> u64 {
        self.tsc()
    }

    fn instruction_limit(&self) -> Option<u64> {
        match (self.gas.instruction_limit(), self.sched.slice_end()) {
            (Some(gas), Some(slice)) => Some(gas.min(slice)),
            (gas, slice) => gas.or(slice),
        }
    }
}

#[cfg(test)]
mod tests;
