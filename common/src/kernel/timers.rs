//! Timers on the virtual clock: alarm, setitimer(ITIMER_REAL) and the
//! POSIX timers (timer_create and friends, which GHC's runtime uses for
//! its tick). A timer expires when the virtual clock reaches it: the clock
//! is checked at every syscall, switch and time slice, and when no thread
//! can run it jumps to the earliest deadline of a sleeping thread or a
//! timer. Expiry sends the timer's signal; a periodic timer is re-armed
//! (expiries missed in one jump count as overruns, as on Linux).

use std::collections::BTreeMap;

use super::sched::Tid;
use super::siginfo::SigInfo;
use super::sigset::is_valid;
use super::time::MONOTONIC_START_NS;
use super::{Errno, Kernel, SysResult};
use crate::linux_abi::fcntl::{O_CLOEXEC, O_NONBLOCK, O_RDWR};
use crate::linux_abi::signal::SIGALRM;
use crate::linux_abi::time::{
    CLOCK_BOOTTIME, CLOCK_BOOTTIME_ALARM, CLOCK_MONOTONIC, CLOCK_REALTIME, CLOCK_REALTIME_ALARM,
    TIMER_ABSTIME,
};

const NS: u64 = 1_000_000_000;
const ITIMER_REAL: u64 = 0;
const ITIMER_VIRTUAL: u64 = 1;
const ITIMER_PROF: u64 = 2;
const SIGEV_SIGNAL: u32 = 0;
const SIGEV_NONE: u32 = 1;
const SIGEV_THREAD: u32 = 2;
const SIGEV_THREAD_ID: u32 = 4;
/// Most POSIX timers a call may create (Linux's limit is the signal
/// queue's; this bounds the kernel's memory).
pub const MAX_TIMERS: usize = 1024;

/// Who a timer's signal goes to.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Notify {
    Process { signal: i32 },
    Thread { signal: i32, tid: Tid },
    None,
}

/// One armed or disarmed timer.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct Timer {
    /// Virtual ns of the next expiry; None: disarmed.
    next: Option<u64>,
    /// Period in ns; 0: one shot.
    interval: u64,
    notify: Notify,
    /// sigev_value.
    value: u64,
    /// Expiries not delivered (signal still pending) or missed.
    overrun: u32,
    /// Whether its clock is CLOCK_REALTIME (for absolute times).
    realtime: bool,
}

/// A timerfd: a timer whose expiries are counted for read(2) instead of
/// signalled.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct TimerFd {
    timer: Timer,
    /// Expiries since the last read.
    expirations: u64,
    /// Stamp of the last expiry (poll and epoll's edge triggering).
    stamp: u64,
}

/// The call's timers.
#[derive(Clone, Debug, Default)]
pub struct Timers {
    /// ITIMER_REAL (and alarm).
    real: Option<Timer>,
    posix: BTreeMap<i32, Timer>,
    next_id: i32,
    /// timerfds by kernel object id.
    fds: BTreeMap<u64, TimerFd>,
}

/// Names one timer.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum TimerKey {
    Real,
    Posix(i32),
    Fd(u64),
}

impl Timers {
    fn all(&self) -> impl Iterator<Item = (TimerKey, &Timer)> {
        self.real
            .iter()
            .map(|t| (TimerKey::Real, t))
            .chain(self.posix.iter().map(|(&id, t)| (TimerKey::Posix(id), t)))
            .chain(self.fds.iter().map(|(&id, f)| (TimerKey::Fd(id), &f.timer)))
    }

    /// The earliest expiry of any armed timer.
    pub fn earliest(&self) -> Option<u64> {
        self.earliest_except(&[])
    }

    /// The earliest expiry of any armed timer not in `except`.
    pub fn earliest_except(&self, except: &[TimerKey]) -> Option<u64> {
        self.all()
            .filter(|(k, _)| !except.contains(k))
            .filter_map(|(_, t)| t.next)
            .min()
    }

    /// The timers due at `now`.
    pub fn due(&self, now: u64) -> Vec<TimerKey> {
        self.all()
            .filter(|(_, t)| t.next.is_some_and(|n| n <= now))
            .map(|(k, _)| k)
            .collect()
    }
}

const TFD_TIMER_ABSTIME: u64 = 1;
const TFD_TIMER_CANCEL_ON_SET: u64 = 2;

fn timeval(ns: u64) -> [u8; 16] {
    let mut b = [0u8; 16];
    b[..8].copy_from_slice(&(ns / NS).to_le_bytes());
    b[8..].copy_from_slice(&((ns % NS) / 1000).to_le_bytes());
    b
}

fn timespec(ns: u64) -> [u8; 16] {
    let mut b = [0u8; 16];
    b[..8].copy_from_slice(&(ns / NS).to_le_bytes());
    b[8..].copy_from_slice(&(ns % NS).to_le_bytes());
    b
}

fn le_i64(b: &[u8]) -> i64 {
    let mut w = [0u8; 8];
    if let Some(s) = b.get(..8) {
        w.copy_from_slice(s);
    }
    i64::from_le_bytes(w)
}

impl Kernel {
    /// Fires every timer due at the clock's present time: timerfds first
    /// (by id), then the signalling timers earliest first (ties:
    /// ITIMER_REAL, then POSIX timers by id).
    pub(super) fn fire_timers(&mut self) {
        let now = self.clock.now();
        if self.timers.earliest().is_none_or(|e| e > now) {
            return;
        }
        let due_fds: Vec<u64> = self
            .timers
            .fds
            .iter()
            .filter(|(_, f)| f.timer.next.is_some_and(|n| n <= now))
            .map(|(&id, _)| id)
            .collect();
        for id in due_fds {
            let stamp = self.files.next_stamp();
            if let Some(f) = self.timers.fds.get_mut(&id) {
                if let Some(next) = f.timer.next {
                    let periods = if f.timer.interval > 0 {
                        (now - next) / f.timer.interval + 1
                    } else {
                        1
                    };
                    f.expirations = f.expirations.saturating_add(periods);
                    f.timer.next = (f.timer.interval > 0)
                        .then(|| next.saturating_add(periods.saturating_mul(f.timer.interval)));
                    f.stamp = stamp;
                }
            }
            self.object_changed(id);
        }
        let mut due: Vec<(u64, Option<i32>)> = Vec::new();
        if let Some(next) = self.timers.real.and_then(|t| t.next).filter(|&n| n <= now) {
            due.push((next, None));
        }
        for (&id, t) in &self.timers.posix {
            if let Some(next) = t.next.filter(|&n| n <= now) {
                due.push((next, Some(id)));
            }
        }
        due.sort_by_key(|&(next, id)| (next, id.map_or(-1, i64::from)));
        for (_, id) in due {
            let slot = match id {
                None => self.timers.real.as_mut(),
                Some(id) => self.timers.posix.get_mut(&id),
            };
            let Some(t) = slot else { continue };
            let Some(next) = t.next else { continue };
            // Expiries passed in this jump beyond the first are overruns.
            let missed = if t.interval > 0 {
                (now - next) / t.interval
            } else {
                0
            };
            t.next = (t.interval > 0)
                .then(|| next.saturating_add((missed + 1).saturating_mul(t.interval)));
            t.overrun = u32::try_from(missed).unwrap_or(u32::MAX);
            let (notify, value, overrun) = (t.notify, t.value, t.overrun);
            let info = match id {
                // it_real_fn: kill_pid_info(SIGALRM, SEND_SIG_PRIV).
                None => SigInfo::kernel(SIGALRM),
                Some(id) => match notify {
                    Notify::Process { signal } | Notify::Thread { signal, .. } => {
                        SigInfo::timer(signal, id, overrun as i32, value)
                    }
                    Notify::None => continue,
                },
            };
            let _ = match notify {
                Notify::Thread { tid, .. } if self.sched.thread(tid).is_some() => {
                    self.send_to_thread(tid, info)
                }
                Notify::None => Ok(0),
                _ => self.send_to_process(info),
            };
        }
    }

    fn itimer_bytes(t: Option<Timer>, now: u64) -> [u8; 32] {
        let (interval, value) = match t {
            Some(t) => (
                t.interval,
                t.next.map_or(0, |n| n.saturating_sub(now).max(1000)),
            ),
            None => (0, 0),
        };
        let mut b = [0u8; 32];
        b[..16].copy_from_slice(&timeval(interval));
        b[16..].copy_from_slice(&timeval(value));
        b
    }

    fn read_timeval(&self, addr: u64) -> Result<u64, Errno> {
        let raw = self.space.read_vec(addr, 16)?;
        let (secs, usec) = (le_i64(&raw[..8]), le_i64(&raw[8..]));
        if secs < 0 || !(0..1_000_000).contains(&usec) {
            return Err(Errno::EINVAL);
        }
        Ok((secs as u64)
            .saturating_mul(NS)
            .saturating_add(usec as u64 * 1000))
    }

    pub(super) fn sys_getitimer(&mut self, a: &[u64; 6]) -> SysResult {
        let now = self.clock.now();
        let bytes = match a[0] {
            ITIMER_REAL => Self::itimer_bytes(self.timers.real, now),
            // No CPU-time timers: they never run (documented).
            ITIMER_VIRTUAL | ITIMER_PROF => [0u8; 32],
            _ => return Err(Errno::EINVAL),
        };
        self.space.write(a[1], &bytes)?;
        Ok(0)
    }

    pub(super) fn sys_setitimer(&mut self, a: &[u64; 6]) -> SysResult {
        // No CPU-time timers (ITIMER_VIRTUAL, ITIMER_PROF): they never
        // run, so setting one is refused, as an unknown timer is.
        if a[0] != ITIMER_REAL {
            return Err(Errno::EINVAL);
        }
        let new = if a[1] != 0 {
            Some((self.read_timeval(a[1])?, self.read_timeval(a[1] + 16)?))
        } else {
            None
        };
        let now = self.clock.now();
        if a[2] != 0 {
            self.space
                .write(a[2], &Self::itimer_bytes(self.timers.real, now))?;
        }
        if let Some((interval, value)) = new {
            self.arm_real(value, interval);
        }
        Ok(0)
    }

    fn arm_real(&mut self, value: u64, interval: u64) {
        let now = self.clock.now();
        self.timers.real = (value > 0).then_some(Timer {
            next: Some(now.saturating_add(value)),
            interval,
            notify: Notify::Process { signal: SIGALRM },
            value: 0,
            overrun: 0,
            realtime: false,
        });
    }

    /// alarm(2): seconds left of the previous alarm (rounded up), as Linux.
    pub(super) fn sys_alarm(&mut self, a: &[u64; 6]) -> SysResult {
        let now = self.clock.now();
        let left = self
            .timers
            .real
            .and_then(|t| t.next)
            .map_or(0, |n| n.saturating_sub(now));
        let secs = u64::from(u32::try_from(a[0]).unwrap_or(u32::MAX));
        self.arm_real(secs.saturating_mul(NS), 0);
        // Linux rounds to the nearest second, and never reports 0 for an
        // alarm still pending.
        Ok(if left == 0 {
            0
        } else {
            ((left + NS / 2) / NS).max(1)
        })
    }

    pub(super) fn sys_timer_create(&mut self, a: &[u64; 6]) -> SysResult {
        let clock = a[0];
        if clock > 11 || clock == 10 {
            return Err(Errno::EINVAL);
        }
        let (notify, value) = if a[1] == 0 {
            (Notify::Process { signal: SIGALRM }, 0)
        } else {
            // struct sigevent: value (8), signo (4), notify (4), tid (4).
            let ev = self.space.read_vec(a[1], 24)?;
            let value = le_i64(&ev[..8]) as u64;
            let signo = i32::from_le_bytes([ev[8], ev[9], ev[10], ev[11]]);
            let how = u32::from_le_bytes([ev[12], ev[13], ev[14], ev[15]]);
            let tid = u32::from_le_bytes([ev[16], ev[17], ev[18], ev[19]]);
            let valid = || {
                if is_valid(signo) {
                    Ok(())
                } else {
                    Err(Errno::EINVAL)
                }
            };
            let notify = match how {
                SIGEV_NONE => Notify::None,
                SIGEV_SIGNAL => {
                    valid()?;
                    Notify::Process { signal: signo }
                }
                SIGEV_THREAD_ID => {
                    valid()?;
                    if self.sched.thread(tid).is_none() {
                        return Err(Errno::EINVAL);
                    }
                    Notify::Thread { signal: signo, tid }
                }
                // SIGEV_THREAD is the C library's, never the kernel's.
                SIGEV_THREAD => return Err(Errno::EINVAL),
                _ => return Err(Errno::EINVAL),
            };
            (notify, value)
        };
        if self.timers.posix.len() >= MAX_TIMERS {
            return Err(Errno::EAGAIN);
        }
        let id = self.timers.next_id;
        self.space.check_writable(a[2], 4)?;
        self.space.write(a[2], &id.to_le_bytes())?;
        self.timers.next_id = id.checked_add(1).ok_or(Errno::EAGAIN)?;
        // Without a sigevent the value is the timer id.
        let value = if a[1] == 0 { id as u64 } else { value };
        self.timers.posix.insert(
            id,
            Timer {
                next: None,
                interval: 0,
                notify,
                value,
                overrun: 0,
                realtime: clock == CLOCK_REALTIME,
            },
        );
        Ok(0)
    }

    /// The first expiry, in virtual ns since the call began, of a timer
    /// set to `value` (timer_settime, timerfd_settime): None for 0
    /// (disarm); an absolute time on the timer's clock, never before now;
    /// or `value` from now.
    fn first_expiry(&self, value: u64, absolute: bool, realtime: bool) -> Option<u64> {
        let now = self.clock.now();
        if value == 0 {
            return None;
        }
        if !absolute {
            return Some(now.saturating_add(value));
        }
        let base = if realtime {
            self.realtime_base_ns()
        } else {
            MONOTONIC_START_NS
        };
        Some(value.saturating_sub(base).max(now))
    }

    fn timer_id(a0: u64) -> Result<i32, Errno> {
        i32::try_from(a0 as i64).map_err(|_| Errno::EINVAL)
    }

    fn itimerspec(t: &Timer, now: u64) -> [u8; 32] {
        let left = t.next.map_or(0, |n| n.saturating_sub(now));
        let mut b = [0u8; 32];
        b[..16].copy_from_slice(&timespec(t.interval));
        b[16..].copy_from_slice(&timespec(left));
        b
    }

    pub(super) fn sys_timer_settime(&mut self, a: &[u64; 6]) -> SysResult {
        let id = Self::timer_id(a[0])?;
        let interval = self.read_timespec(a[2])?;
        let value = self.read_timespec(a[2] + 16)?;
        let now = self.clock.now();
        let t = *self.timers.posix.get(&id).ok_or(Errno::EINVAL)?;
        if a[3] != 0 {
            self.space.write(a[3], &Self::itimerspec(&t, now))?;
        }
        let next = self.first_expiry(value, a[1] & TIMER_ABSTIME != 0, t.realtime);
        if let Some(t) = self.timers.posix.get_mut(&id) {
            t.next = next;
            t.interval = interval;
            t.overrun = 0;
        }
        self.fire_timers();
        Ok(0)
    }

    pub(super) fn sys_timer_gettime(&mut self, a: &[u64; 6]) -> SysResult {
        let id = Self::timer_id(a[0])?;
        let t = *self.timers.posix.get(&id).ok_or(Errno::EINVAL)?;
        self.space
            .write(a[1], &Self::itimerspec(&t, self.clock.now()))?;
        Ok(0)
    }

    pub(super) fn sys_timer_getoverrun(&mut self, a: &[u64; 6]) -> SysResult {
        let id = Self::timer_id(a[0])?;
        let t = self.timers.posix.get(&id).ok_or(Errno::EINVAL)?;
        Ok(u64::from(t.overrun.min(i32::MAX as u32)))
    }

    pub(super) fn sys_timer_delete(&mut self, a: &[u64; 6]) -> SysResult {
        let id = Self::timer_id(a[0])?;
        self.timers.posix.remove(&id).ok_or(Errno::EINVAL)?;
        Ok(0)
    }

    pub(super) fn sys_timerfd_create(&mut self, a: &[u64; 6]) -> SysResult {
        if !matches!(
            a[0],
            CLOCK_REALTIME
                | CLOCK_MONOTONIC
                | CLOCK_BOOTTIME
                | CLOCK_REALTIME_ALARM
                | CLOCK_BOOTTIME_ALARM
        ) {
            return Err(Errno::EINVAL);
        }
        if a[1] & !(O_CLOEXEC | O_NONBLOCK) != 0 {
            return Err(Errno::EINVAL);
        }
        let id = self.files.new_id();
        let fd = self.open_fd(
            super::files::FileKind::TimerFd(id),
            O_RDWR | (a[1] & O_NONBLOCK),
            a[1] & O_CLOEXEC != 0,
        )?;
        self.timers.fds.insert(
            id,
            TimerFd {
                timer: Timer {
                    next: None,
                    interval: 0,
                    notify: Notify::None,
                    value: 0,
                    overrun: 0,
                    realtime: matches!(a[0], 0 | 8),
                },
                expirations: 0,
                stamp: 0,
            },
        );
        Ok(fd)
    }

    fn timerfd_id(&self, fd: u64) -> Result<u64, Errno> {
        match self.files.get(fd)?.kind {
            super::files::FileKind::TimerFd(id) => Ok(id),
            _ => Err(Errno::EINVAL),
        }
    }

    pub(super) fn sys_timerfd_settime(&mut self, a: &[u64; 6]) -> SysResult {
        let id = self.timerfd_id(a[0])?;
        if a[1] & !(TFD_TIMER_ABSTIME | TFD_TIMER_CANCEL_ON_SET) != 0 {
            return Err(Errno::EINVAL);
        }
        let interval = self.read_timespec(a[2])?;
        let value = self.read_timespec(a[2] + 16)?;
        let now = self.clock.now();
        let f = *self.timers.fds.get(&id).ok_or(Errno::EBADF)?;
        if a[3] != 0 {
            self.space.write(a[3], &Self::itimerspec(&f.timer, now))?;
        }
        let next = self.first_expiry(value, a[1] & TFD_TIMER_ABSTIME != 0, f.timer.realtime);
        if let Some(f) = self.timers.fds.get_mut(&id) {
            f.timer.next = next;
            f.timer.interval = interval;
            f.expirations = 0;
        }
        self.fire_timers();
        Ok(0)
    }

    pub(super) fn sys_timerfd_gettime(&mut self, a: &[u64; 6]) -> SysResult {
        let id = self.timerfd_id(a[0])?;
        let f = *self.timers.fds.get(&id).ok_or(Errno::EBADF)?;
        self.space
            .write(a[1], &Self::itimerspec(&f.timer, self.clock.now()))?;
        Ok(0)
    }

    /// read(2) of a timerfd: the expiries since the last read, as 8 bytes;
    /// with none, it waits for the next.
    pub(super) fn timerfd_read(
        &mut self,
        id: u64,
        len: usize,
        nonblock: bool,
    ) -> Result<Vec<u8>, Errno> {
        if len < 8 {
            return Err(Errno::EINVAL);
        }
        let f = self.timers.fds.get_mut(&id).ok_or(Errno::EBADF)?;
        if f.expirations == 0 {
            if nonblock {
                return Err(Errno::EAGAIN);
            }
            // A disarmed timer never expires: Linux waits for ever too.
            return self
                .would_block(super::wait::Wait::Readable(id))
                .map(|_| Vec::new());
        }
        let n = std::mem::take(&mut f.expirations);
        Ok(n.to_le_bytes().to_vec())
    }

    /// (expirations, stamp of the last expiry), for poll.
    pub(super) fn timerfd_state(&self, id: u64) -> Option<(u64, u64)> {
        self.timers.fds.get(&id).map(|f| (f.expirations, f.stamp))
    }

    pub(super) fn timerfd_closed(&mut self, id: u64) {
        self.timers.fds.remove(&id);
        self.object_changed(id);
    }
}

#[cfg(test)]
mod tests {
    use super::super::tests::{blocks, call, get, kernel, put, BUF};
    use super::super::wait::Wait;
    use super::*;

    fn ts(k: &Kernel, at: u64, interval_ns: u64, value_ns: u64) {
        put(k, at, &timespec(interval_ns));
        put(k, at + 16, &timespec(value_ns));
    }

    #[test]
    fn alarm_reports_what_was_left_and_fires_on_the_clock() {
        let mut k = kernel();
        assert_eq!(call(&mut k, 37, &[5]), 0);
        k.clock.advance(1_400_000_000);
        // 3.6 s left: rounded to 4, as Linux.
        assert_eq!(call(&mut k, 37, &[0]), 4);
        assert_eq!(k.timers.earliest(), None, "alarm(0) cancels");
        assert_eq!(call(&mut k, 37, &[1]), 0);
        k.clock.advance(NS);
        k.fire_timers();
        assert!(k.signals_pending_for_test().contains(SIGALRM));
    }

    #[test]
    fn a_timerfd_counts_expiries_and_a_read_waits_for_one() {
        let mut k = kernel();
        let fd = call(&mut k, 283, &[1, 0]) as u64;
        assert!(fd >= 3);
        // 10 ms period, first expiry after 10 ms.
        ts(&k, BUF, 10_000_000, 10_000_000);
        assert_eq!(call(&mut k, 286, &[fd, 0, BUF, 0]), 0);
        assert!(matches!(
            blocks(&mut k, 0, &[fd, BUF + 64, 8]),
            Some(Wait::Readable(_))
        ));
        // 35 ms later: three expiries (10, 20, 30 ms).
        k.clock.advance(35_000_000);
        k.fire_timers();
        assert_eq!(call(&mut k, 0, &[fd, BUF + 64, 8]), 8);
        assert_eq!(get(&k, BUF + 64, 8), 3u64.to_le_bytes());
        // gettime: 5 ms to the next, the period kept.
        assert_eq!(call(&mut k, 287, &[fd, BUF + 128]), 0);
        assert_eq!(get(&k, BUF + 128, 16), timespec(10_000_000));
        assert_eq!(get(&k, BUF + 144, 16), timespec(5_000_000));
        assert_eq!(call(&mut k, 0, &[fd, BUF + 64, 4]), -22, "short read");
        assert_eq!(call(&mut k, 1, &[fd, BUF + 64, 8]), -22, "not writable");
        assert_eq!(call(&mut k, 3, &[fd]), 0);
        assert_eq!(k.timers.earliest(), None);
    }

    /// A periodic timer whose expiry wakes nobody cannot keep the kernel
    /// jumping the clock for ever: with every thread asleep and nothing
    /// else due, the call is deadlocked.
    #[test]
    fn a_timer_that_wakes_nobody_does_not_hang_the_kernel() {
        let mut k = kernel();
        // SIGEV_NONE, every nanosecond.
        let mut ev = [0u8; 24];
        ev[12..16].copy_from_slice(&SIGEV_NONE.to_le_bytes());
        put(&k, BUF, &ev);
        assert_eq!(call(&mut k, 222, &[1, BUF, BUF + 32]), 0);
        ts(&k, BUF + 64, 1, 1);
        assert_eq!(call(&mut k, 223, &[0, 0, BUF + 64, 0]), 0);
        // pause(): nothing will ever deliver a signal.
        assert_eq!(call(&mut k, 34, &[]), 0);
        assert_eq!(super::super::tests::reschedule(&mut k), None);
        assert!(
            k.kill_reason().is_some_and(|r| r.contains("deadlock")),
            "{:?}",
            k.kill_reason()
        );
    }

    #[test]
    fn posix_timers_are_created_armed_and_deleted() {
        let mut k = kernel();
        // sigevent: SIGEV_SIGNAL with SIGUSR1 and a value.
        let mut ev = [0u8; 24];
        ev[..8].copy_from_slice(&77u64.to_le_bytes());
        ev[8..12].copy_from_slice(&10i32.to_le_bytes());
        put(&k, BUF, &ev);
        assert_eq!(call(&mut k, 222, &[1, BUF, BUF + 32]), 0);
        let id = u64::from(u32::from_le_bytes(get(&k, BUF + 32, 4).try_into().unwrap()));
        ts(&k, BUF + 64, 0, 2_000_000);
        assert_eq!(call(&mut k, 223, &[id, 0, BUF + 64, 0]), 0);
        k.clock.advance(2_000_000);
        k.fire_timers();
        assert!(k.signals_pending_for_test().contains(10));
        assert_eq!(call(&mut k, 225, &[id]), 0);
        assert_eq!(call(&mut k, 226, &[id]), 0);
        assert_eq!(call(&mut k, 226, &[id]), -22);
        assert_eq!(call(&mut k, 38, &[1, BUF, 0]), -22, "ITIMER_VIRTUAL");
    }
}
