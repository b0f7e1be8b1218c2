//! Time. The wall clock is the previous block's timestamp; every clock is
//! derived from one virtual clock that starts at zero and advances by a
//! fixed step each time the guest reads a clock or the TSC, and by the
//! requested amount when it sleeps. Sleeping never waits.

use super::wait::Wait;
use super::{Errno, Kernel, SysResult};
use crate::linux_abi::time::*;

/// Nanoseconds the virtual clock advances per clock read, so that loops
/// waiting for time to pass terminate.
pub const READ_STEP_NS: u64 = 1_000;
/// The monotonic clock reads this much at the start of a call (1 s, so it
/// is never zero).
pub const MONOTONIC_START_NS: u64 = 1_000_000_000;
/// TSC frequency the guest sees: 1 GHz, so one tick per virtual ns.
pub const TSC_HZ: u64 = 1_000_000_000;
/// `sysconf(_SC_CLK_TCK)`.
pub const CLOCK_TICKS: u64 = 100;

const NS: u64 = 1_000_000_000;

/// The virtual clock: nanoseconds since the call started.
#[derive(Clone, Copy, Debug, Default)]
pub struct VirtualClock {
    elapsed_ns: u64,
}

impl VirtualClock {
    /// Reads the clock, then advances it by one step.
    pub fn tick(&mut self) -> u64 {
        let now = self.elapsed_ns;
        self.elapsed_ns = self.elapsed_ns.saturating_add(READ_STEP_NS);
        now
    }

    /// Nanoseconds since the call started, without advancing.
    pub fn elapsed(&self) -> u64 {
        self.elapsed_ns
    }

    pub fn advance(&mut self, ns: u64) {
        self.elapsed_ns = self.elapsed_ns.saturating_add(ns);
    }

    /// The time now, without a tick.
    pub fn now(&self) -> u64 {
        self.elapsed_ns
    }

    /// Moves the clock to `ns` if that is later (the earliest deadline,
    /// when no thread can run).
    pub fn advance_to(&mut self, ns: u64) {
        self.elapsed_ns = self.elapsed_ns.max(ns);
    }
}

fn timespec(ns: u64) -> [u8; 16] {
    let mut b = [0u8; 16];
    b[..8].copy_from_slice(&(ns / NS).to_le_bytes());
    b[8..].copy_from_slice(&(ns % NS).to_le_bytes());
    b
}

impl Kernel {
    /// Reads clock `id` in nanoseconds; EINVAL for unknown clocks.
    fn clock_ns(&mut self, id: u64) -> Result<u64, Errno> {
        let base = match id {
            CLOCK_REALTIME | CLOCK_REALTIME_COARSE | CLOCK_REALTIME_ALARM | CLOCK_TAI => {
                self.block.timestamp.saturating_mul(NS)
            }
            CLOCK_MONOTONIC
            | CLOCK_MONOTONIC_RAW
            | CLOCK_MONOTONIC_COARSE
            | CLOCK_BOOTTIME
            | CLOCK_BOOTTIME_ALARM => MONOTONIC_START_NS,
            CLOCK_PROCESS_CPUTIME_ID | CLOCK_THREAD_CPUTIME_ID => 0,
            _ => return Err(Errno::EINVAL),
        };
        Ok(base.saturating_add(self.clock.tick()))
    }

    /// The TSC value for RDTSC/RDTSCP.
    pub(super) fn tsc(&mut self) -> u64 {
        self.clock.tick()
    }

    pub(super) fn sys_clock_gettime(&mut self, a: &[u64; 6]) -> SysResult {
        let ns = self.clock_ns(a[0])?;
        self.space.write(a[1], &timespec(ns))?;
        Ok(0)
    }

    pub(super) fn sys_clock_getres(&mut self, a: &[u64; 6]) -> SysResult {
        if a[0] > CLOCK_TAI || a[0] == 10 {
            return Err(Errno::EINVAL);
        }
        if a[1] != 0 {
            self.space.write(a[1], &timespec(1))?;
        }
        Ok(0)
    }

    pub(super) fn sys_gettimeofday(&mut self, a: &[u64; 6]) -> SysResult {
        let ns = self.clock_ns(CLOCK_REALTIME)?;
        if a[0] != 0 {
            let mut tv = [0u8; 16];
            tv[..8].copy_from_slice(&(ns / NS).to_le_bytes());
            tv[8..].copy_from_slice(&((ns % NS) / 1000).to_le_bytes());
            self.space.write(a[0], &tv)?;
        }
        if a[1] != 0 {
            // struct timezone: UTC, no DST.
            self.space.write(a[1], &[0u8; 8])?;
        }
        Ok(0)
    }

    pub(super) fn sys_time(&mut self, a: &[u64; 6]) -> SysResult {
        let secs = self.clock_ns(CLOCK_REALTIME)? / NS;
        if a[0] != 0 {
            self.space.write(a[0], &secs.to_le_bytes())?;
        }
        Ok(secs)
    }

    pub(super) fn read_timespec(&self, addr: u64) -> Result<u64, Errno> {
        let raw = self.space.read_vec(addr, 16)?;
        let secs = i64::from_le_bytes(raw[..8].try_into().map_err(|_| Errno::EFAULT)?);
        let nsec = i64::from_le_bytes(raw[8..].try_into().map_err(|_| Errno::EFAULT)?);
        if secs < 0 || !(0..NS as i64).contains(&nsec) {
            return Err(Errno::EINVAL);
        }
        Ok((secs as u64).saturating_mul(NS).saturating_add(nsec as u64))
    }

    /// CLOCK_REALTIME at the start of the call, in ns.
    pub(super) fn realtime_base_ns(&self) -> u64 {
        self.block.timestamp.saturating_mul(NS)
    }

    /// Sleeps until `deadline` (virtual ns since the call began): other
    /// threads run meanwhile; alone, the clock jumps there.
    fn sleep_until(&mut self, deadline: u64) -> SysResult {
        self.block_on(Wait::Sleep, Some(deadline), 0);
        Ok(0)
    }

    pub(super) fn sys_nanosleep(&mut self, a: &[u64; 6]) -> SysResult {
        let ns = self.read_timespec(a[0])?;
        self.sleep_until(self.clock.now().saturating_add(ns))
    }

    pub(super) fn sys_clock_nanosleep(&mut self, a: &[u64; 6]) -> SysResult {
        let req = self.read_timespec(a[2])?;
        let now = self.clock_ns(a[0])?;
        let deadline = if a[1] & TIMER_ABSTIME != 0 {
            self.clock.now().saturating_add(req.saturating_sub(now))
        } else {
            self.clock.now().saturating_add(req)
        };
        self.sleep_until(deadline)
    }

    /// times(2): the return value is clock ticks since an arbitrary point;
    /// CPU times are the virtual elapsed time.
    pub(super) fn sys_times(&mut self, a: &[u64; 6]) -> SysResult {
        let ticks = self.clock.tick() / (NS / CLOCK_TICKS);
        if a[0] != 0 {
            let mut tms = [0u8; 32];
            tms[..8].copy_from_slice(&ticks.to_le_bytes());
            self.space.write(a[0], &tms)?;
        }
        Ok(ticks + 1)
    }

    pub(super) fn sys_getrusage(&mut self, a: &[u64; 6]) -> SysResult {
        if a[0] as i64 != 0 && a[0] as i64 != -1 && a[0] as i64 != 1 {
            return Err(Errno::EINVAL);
        }
        let ns = self.clock.tick();
        let mut ru = [0u8; 144];
        ru[..8].copy_from_slice(&(ns / NS).to_le_bytes());
        ru[8..16].copy_from_slice(&((ns % NS) / 1000).to_le_bytes());
        // ru_maxrss in KiB: the peak committed memory.
        ru[32..40].copy_from_slice(&(self.space.peak_committed() / 1024).to_le_bytes());
        self.space.write(a[1], &ru)?;
        Ok(0)
    }
}
