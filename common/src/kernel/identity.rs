//! Fixed facts about the process and the machine: ids, uname, sysinfo,
//! CPU affinity (one CPU) and resource limits.

use super::{Errno, Kernel, SysResult};
use crate::layout::STACK_SIZE;

pub use super::time::CLOCK_TICKS;

pub const PID: u64 = 2;
pub const PPID: u64 = 1;
pub const UID: u64 = 1000;
pub const GID: u64 = 1000;

const UNAME: [&[u8]; 6] = [
    b"Linux",
    b"qvm",
    b"6.1.0-qvm",
    b"#1 SMP qvm",
    b"x86_64",
    b"(none)",
];
const RLIM_INFINITY: u64 = u64::MAX;
const RLIMIT_NLIMITS: usize = 16;
const RLIMIT_STACK: usize = 3;

/// Resource limits, settable within their hard limits.
#[derive(Clone, Debug)]
pub struct Limits {
    limits: [(u64, u64); RLIMIT_NLIMITS],
}

impl Default for Limits {
    fn default() -> Self {
        let inf = (RLIM_INFINITY, RLIM_INFINITY);
        let mut limits = [inf; RLIMIT_NLIMITS];
        limits[RLIMIT_STACK] = (STACK_SIZE, RLIM_INFINITY);
        limits[4] = (0, RLIM_INFINITY); // RLIMIT_CORE
        limits[6] = (1, 1); // RLIMIT_NPROC: this process only
        limits[7] = (super::files::MAX_FDS as u64, super::files::MAX_FDS as u64); // RLIMIT_NOFILE
        limits[8] = (8 << 20, 8 << 20); // RLIMIT_MEMLOCK
        limits[11] = (0, 0); // RLIMIT_SIGPENDING
        limits[12] = (819_200, 819_200); // RLIMIT_MSGQUEUE
        limits[13] = (0, 0); // RLIMIT_NICE
        limits[14] = (0, 0); // RLIMIT_RTPRIO
        Limits { limits }
    }
}

impl Kernel {
    pub(super) fn sys_uname(&mut self, a: &[u64; 6]) -> SysResult {
        let mut buf = [0u8; 65 * 6];
        for (i, field) in UNAME.iter().enumerate() {
            if let Some(dst) = buf.get_mut(i * 65..i * 65 + field.len()) {
                dst.copy_from_slice(field);
            }
        }
        self.space.write(a[0], &buf)?;
        Ok(0)
    }

    pub(super) fn sys_sysinfo(&mut self, a: &[u64; 6]) -> SysResult {
        let mut si = [0u8; 112];
        let limit = self.space.limit();
        let free = limit.saturating_sub(self.space.committed());
        let mut put = |off: usize, v: u64| {
            if let Some(d) = si.get_mut(off..off + 8) {
                d.copy_from_slice(&v.to_le_bytes());
            }
        };
        put(0, 1); // uptime
        put(32, limit); // totalram
        put(40, free); // freeram
        si[80..82].copy_from_slice(&1u16.to_le_bytes()); // procs
        si[104..108].copy_from_slice(&1u32.to_le_bytes()); // mem_unit
        self.space.write(a[0], &si)?;
        Ok(0)
    }

    pub(super) fn sys_sched_getaffinity(&mut self, a: &[u64; 6]) -> SysResult {
        if a[0] != 0 && a[0] != PID {
            return Err(Errno::ESRCH);
        }
        if a[1] < 8 || a[1] % 8 != 0 {
            return Err(Errno::EINVAL);
        }
        self.space.write(a[2], &1u64.to_le_bytes())?;
        Ok(8)
    }

    /// prlimit64(pid, resource, new, old); getrlimit/setrlimit map here.
    pub(super) fn sys_prlimit(&mut self, pid: u64, resource: u64, new: u64, old: u64) -> SysResult {
        if pid != 0 && pid != PID {
            return Err(Errno::ESRCH);
        }
        let r = usize::try_from(resource)
            .ok()
            .filter(|&r| r < RLIMIT_NLIMITS)
            .ok_or(Errno::EINVAL)?;
        let current = self.limits.limits[r];
        let wanted = if new != 0 {
            let raw = self.space.read_vec(new, 16)?;
            let soft = u64::from_le_bytes(raw[..8].try_into().map_err(|_| Errno::EFAULT)?);
            let hard = u64::from_le_bytes(raw[8..].try_into().map_err(|_| Errno::EFAULT)?);
            if soft > hard {
                return Err(Errno::EINVAL);
            }
            if hard > current.1 {
                return Err(Errno::EPERM);
            }
            Some((soft, hard))
        } else {
            None
        };
        if old != 0 {
            let mut b = [0u8; 16];
            b[..8].copy_from_slice(&current.0.to_le_bytes());
            b[8..].copy_from_slice(&current.1.to_le_bytes());
            self.space.write(old, &b)?;
        }
        if let Some(w) = wanted {
            self.limits.limits[r] = w;
        }
        Ok(0)
    }

    pub(super) fn sys_prctl(&mut self, a: &[u64; 6]) -> SysResult {
        const PR_SET_NAME: u64 = 15;
        const PR_GET_NAME: u64 = 16;
        match a[0] {
            PR_SET_NAME => {
                let name = self
                    .space
                    .read_vec(a[1], 16)
                    .or_else(|_| self.space.read_cstr(a[1], 16))?;
                let mut n = [0u8; 16];
                let len = name
                    .iter()
                    .position(|&b| b == 0)
                    .unwrap_or(name.len())
                    .min(15);
                n[..len].copy_from_slice(&name[..len]);
                self.thread_name = n;
                Ok(0)
            }
            PR_GET_NAME => {
                self.space.write(a[1], &self.thread_name)?;
                Ok(0)
            }
            _ => Err(Errno::EINVAL),
        }
    }
}
