//! futex(2) on one virtual CPU. Private and shared futexes are the same
//! thing here (one address space): both are keyed by address. Waiters of
//! one word wake in the order they began waiting. The PI operations are
//! simple without preemption by priority: the lock word holds the owner's
//! tid, and unlocking hands it to the first waiter.

use super::sched::{Completion, Tid};
use super::wait::Wait;
use super::{Errno, Kernel, SysResult};
use crate::linux_abi::futex::*;

/// Most robust-list entries walked at thread exit (Linux's
/// ROBUST_LIST_LIMIT), so a cyclic list cannot hang the kernel.
const ROBUST_LIST_LIMIT: usize = 2048;

impl Kernel {
    fn futex_word(&self, addr: u64) -> Result<u32, Errno> {
        if addr % 4 != 0 {
            return Err(Errno::EINVAL);
        }
        let mut word = [0u8; 4];
        self.space.read(addr, &mut word)?;
        Ok(u32::from_le_bytes(word))
    }

    fn set_futex_word(&mut self, addr: u64, value: u32) -> Result<(), Errno> {
        self.space.write(addr, &value.to_le_bytes())?;
        Ok(())
    }

    /// Threads waiting on `addr` (FUTEX_WAIT kinds), in waiting order.
    fn futex_waiters(&self, addr: u64, bitset: u32) -> Vec<Tid> {
        self.sched.blocked_where(
            |b| matches!(b.wait, Wait::Futex { addr: a, bitset: s } if a == addr && s & bitset != 0),
        )
    }

    /// Wakes up to `n` waiters of `addr` whose bitset matches; returns how
    /// many woke. The waker keeps running.
    pub(super) fn futex_wake(&mut self, addr: u64, n: u64, bitset: u32) -> u64 {
        let mut woken = 0;
        for tid in self.futex_waiters(addr, bitset) {
            if woken >= n {
                break;
            }
            if self.sched.wake(tid, Completion::Value(0)) {
                woken += 1;
            }
        }
        woken
    }

    /// The deadline, in virtual ns since the call began, of a futex
    /// timeout at `addr`: relative for FUTEX_WAIT, absolute for the others
    /// (on CLOCK_REALTIME with FUTEX_CLOCK_REALTIME, else MONOTONIC).
    fn futex_deadline(
        &self,
        addr: u64,
        absolute: bool,
        realtime: bool,
    ) -> Result<Option<u64>, Errno> {
        if addr == 0 {
            return Ok(None);
        }
        let ns = self.read_timespec(addr)?;
        if !absolute {
            return Ok(Some(self.now_ns().saturating_add(ns)));
        }
        let base = if realtime {
            self.realtime_base_ns()
        } else {
            super::time::MONOTONIC_START_NS
        };
        Ok(Some(ns.saturating_sub(base)))
    }

    pub(super) fn sys_futex(&mut self, a: &[u64; 6]) -> SysResult {
        let (addr, cmd_word, val) = (a[0], a[1], a[2]);
        let cmd = cmd_word & FUTEX_CMD_MASK;
        let realtime = cmd_word & FUTEX_CLOCK_REALTIME != 0;
        if realtime
            && !matches!(
                cmd,
                FUTEX_WAIT | FUTEX_WAIT_BITSET | FUTEX_WAIT_REQUEUE_PI | FUTEX_LOCK_PI2
            )
        {
            return Err(Errno::ENOSYS);
        }
        match cmd {
            FUTEX_WAIT | FUTEX_WAIT_BITSET => {
                let bitset = if cmd == FUTEX_WAIT {
                    FUTEX_BITSET_MATCH_ANY
                } else {
                    a[5] as u32
                };
                if bitset == 0 {
                    return Err(Errno::EINVAL);
                }
                let deadline = self.futex_deadline(a[3], cmd == FUTEX_WAIT_BITSET, realtime)?;
                if self.futex_word(addr)? != val as u32 {
                    return Err(Errno::EAGAIN);
                }
                self.block_on(
                    Wait::Futex { addr, bitset },
                    deadline,
                    Errno::ETIMEDOUT.as_return(),
                );
                Ok(0)
            }
            FUTEX_WAKE | FUTEX_WAKE_BITSET => {
                let bitset = if cmd == FUTEX_WAKE {
                    FUTEX_BITSET_MATCH_ANY
                } else {
                    a[5] as u32
                };
                if bitset == 0 {
                    return Err(Errno::EINVAL);
                }
                if addr % 4 != 0 {
                    return Err(Errno::EINVAL);
                }
                Ok(self.futex_wake(addr, u64::from(val as u32), bitset))
            }
            FUTEX_REQUEUE | FUTEX_CMP_REQUEUE => {
                let (n_wake, n_move, addr2) = (u64::from(val as u32), a[3] & 0xffff_ffff, a[4]);
                if addr % 4 != 0 || addr2 % 4 != 0 || (val as i32) < 0 || (a[3] as i32) < 0 {
                    return Err(Errno::EINVAL);
                }
                if cmd == FUTEX_CMP_REQUEUE && self.futex_word(addr)? != a[5] as u32 {
                    return Err(Errno::EAGAIN);
                }
                let woken = self.futex_wake(addr, n_wake, FUTEX_BITSET_MATCH_ANY);
                let mut moved = 0;
                for tid in self.futex_waiters(addr, FUTEX_BITSET_MATCH_ANY) {
                    if moved >= n_move {
                        break;
                    }
                    self.sched.retarget_futex(tid, addr2);
                    moved += 1;
                }
                // CMP_REQUEUE returns woken + requeued; REQUEUE only woken.
                Ok(if cmd == FUTEX_CMP_REQUEUE {
                    woken + moved
                } else {
                    woken
                })
            }
            FUTEX_WAKE_OP => self.futex_wake_op(addr, val, a[3], a[4], a[5] as u32),
            FUTEX_LOCK_PI | FUTEX_LOCK_PI2 => {
                let deadline =
                    self.futex_deadline(a[3], true, realtime && cmd == FUTEX_LOCK_PI2)?;
                self.futex_lock_pi(addr, deadline)
            }
            FUTEX_TRYLOCK_PI => {
                let tid = self.sched.current();
                let word = self.futex_word(addr)?;
                if word & FUTEX_TID_MASK == tid {
                    return Err(Errno::EDEADLK);
                }
                if word & FUTEX_TID_MASK == 0 {
                    self.set_futex_word(addr, tid | (word & FUTEX_WAITERS))?;
                    return Ok(0);
                }
                Err(Errno::EAGAIN)
            }
            FUTEX_UNLOCK_PI => self.futex_unlock_pi(addr),
            // FUTEX_FD is gone from Linux; the requeue-to-PI pair is not
            // used by glibc's or musl's condition variables.
            FUTEX_FD | FUTEX_WAIT_REQUEUE_PI | FUTEX_CMP_REQUEUE_PI => Err(Errno::ENOSYS),
            _ => Err(Errno::ENOSYS),
        }
    }

    /// FUTEX_WAKE_OP: *addr2 = op(*addr2, oparg); wake n on addr; if the
    /// old *addr2 passes the comparison, wake n2 on addr2.
    fn futex_wake_op(&mut self, addr: u64, n: u64, n2: u64, addr2: u64, encoded: u32) -> SysResult {
        if addr % 4 != 0 || addr2 % 4 != 0 {
            return Err(Errno::EINVAL);
        }
        let op = (encoded >> 28) & 7;
        let shift = encoded & (8 << 28) != 0;
        let cmp = (encoded >> 24) & 15;
        let mut oparg = (encoded >> 12) & 0xfff;
        let cmparg = encoded & 0xfff;
        // Sign-extend the 12-bit fields as Linux does.
        let sext = |v: u32| ((v << 20) as i32 >> 20) as u32;
        oparg = sext(oparg);
        let cmparg = sext(cmparg);
        if shift {
            if oparg > 31 {
                return Err(Errno::EINVAL);
            }
            oparg = 1u32 << oparg;
        }
        let old = self.futex_word(addr2)?;
        let new = match op {
            0 => oparg,
            1 => old.wrapping_add(oparg),
            2 => old | oparg,
            3 => old & !oparg,
            4 => old ^ oparg,
            _ => return Err(Errno::ENOSYS),
        };
        let (o, c) = (old as i32, cmparg as i32);
        let pass = match cmp {
            0 => o == c,
            1 => o != c,
            2 => o < c,
            3 => o <= c,
            4 => o > c,
            5 => o >= c,
            _ => return Err(Errno::ENOSYS),
        };
        self.set_futex_word(addr2, new)?;
        let mut woken = self.futex_wake(addr, u64::from(n as u32), FUTEX_BITSET_MATCH_ANY);
        if pass {
            woken += self.futex_wake(addr2, n2 & 0xffff_ffff, FUTEX_BITSET_MATCH_ANY);
        }
        Ok(woken)
    }

    fn futex_lock_pi(&mut self, addr: u64, deadline: Option<u64>) -> SysResult {
        let tid = self.sched.current();
        let word = self.futex_word(addr)?;
        let owner = word & FUTEX_TID_MASK;
        if owner == tid {
            return Err(Errno::EDEADLK);
        }
        if owner == 0 || self.sched.thread(owner).is_none() {
            // Free, or its owner is gone: take it (OWNER_DIED tells a
            // robust mutex's next owner).
            let died = if owner != 0 {
                FUTEX_OWNER_DIED
            } else {
                word & FUTEX_OWNER_DIED
            };
            let waiters = if self.futex_pi_waiters(addr).is_empty() {
                0
            } else {
                FUTEX_WAITERS
            };
            self.set_futex_word(addr, tid | died | waiters)?;
            return Ok(0);
        }
        self.set_futex_word(addr, word | FUTEX_WAITERS)?;
        self.block_on(
            Wait::FutexPi { addr },
            deadline,
            Errno::ETIMEDOUT.as_return(),
        );
        Ok(0)
    }

    fn futex_pi_waiters(&self, addr: u64) -> Vec<Tid> {
        self.sched
            .blocked_where(|b| matches!(b.wait, Wait::FutexPi { addr: a } if a == addr))
    }

    fn futex_unlock_pi(&mut self, addr: u64) -> SysResult {
        let tid = self.sched.current();
        let word = self.futex_word(addr)?;
        if word & FUTEX_TID_MASK != tid {
            return Err(Errno::EPERM);
        }
        self.hand_over_pi(addr, word & FUTEX_OWNER_DIED);
        Ok(0)
    }

    /// Gives the PI lock at `addr` to its first waiter (or frees it).
    fn hand_over_pi(&mut self, addr: u64, died: u32) {
        let waiters = self.futex_pi_waiters(addr);
        let value = match waiters.first() {
            Some(&next) => {
                self.sched.wake(next, Completion::Value(0));
                next | died | if waiters.len() > 1 { FUTEX_WAITERS } else { 0 }
            }
            None => 0,
        };
        let _ = self.set_futex_word(addr, value);
    }

    /// Linux's exit_robust_list: every robust mutex the exiting thread
    /// holds is marked OWNER_DIED and one waiter woken.
    pub(super) fn release_robust_list(&mut self, tid: Tid, head: u64) {
        let read_u64 = |k: &Kernel, addr: u64| -> Option<u64> {
            let mut b = [0u8; 8];
            k.space.read(addr, &mut b).ok()?;
            Some(u64::from_le_bytes(b))
        };
        let Some(first) = read_u64(self, head) else {
            return;
        };
        let Some(offset) = read_u64(self, head.wrapping_add(8)) else {
            return;
        };
        let pending = read_u64(self, head.wrapping_add(16)).unwrap_or(0);
        let mut entry = first;
        let mut seen = 0;
        while entry != head && seen < ROBUST_LIST_LIMIT {
            let next = read_u64(self, entry & !1);
            if entry & !1 != pending & !1 {
                self.release_robust_futex(tid, (entry & !1).wrapping_add(offset), entry & 1 != 0);
            }
            let Some(next) = next else { break };
            entry = next;
            seen += 1;
        }
        if pending != 0 {
            self.release_robust_futex(tid, (pending & !1).wrapping_add(offset), pending & 1 != 0);
        }
    }

    fn release_robust_futex(&mut self, tid: Tid, addr: u64, pi: bool) {
        let Ok(word) = self.futex_word(addr) else {
            return;
        };
        if word & FUTEX_TID_MASK != tid {
            return;
        }
        if pi {
            self.hand_over_pi(addr, FUTEX_OWNER_DIED);
            return;
        }
        let _ = self.set_futex_word(addr, (word & FUTEX_WAITERS) | FUTEX_OWNER_DIED);
        if word & FUTEX_WAITERS != 0 {
            self.futex_wake(addr, 1, FUTEX_BITSET_MATCH_ANY);
        }
    }
}
