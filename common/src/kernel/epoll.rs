//! epoll: an interest list of (descriptor, object) pairs with their
//! events and data. Readiness is computed from the objects when the list
//! is waited on ([`Kernel::readiness`]), so nothing has to be queued when
//! an object changes; edge triggering compares the stamp of the object's
//! last change with the stamp last reported.
//!
//! The ready list is in a deterministic order: by the stamp at which each
//! entry became ready (its object's last change, or, for a level-triggered
//! entry reported before, the moment it was reported and re-queued, as
//! Linux moves it to the tail), then by descriptor number. So the fds that
//! became ready first come first, and a level-triggered entry that stays
//! ready does not starve the others when `maxevents` is small.

use std::collections::BTreeMap;

use super::files::FileKind;
use super::poll::{
    Readiness, POLLERR, POLLHUP, POLLIN, POLLOUT, POLLPRI, POLLRDBAND, POLLRDNORM, POLLWRBAND,
    POLLWRNORM,
};
use super::{Errno, Kernel, SysResult};
use crate::linux_abi::fcntl::O_CLOEXEC;

const EPOLL_CTL_ADD: u64 = 1;
const EPOLL_CTL_DEL: u64 = 2;
const EPOLL_CTL_MOD: u64 = 3;
const EPOLLEXCLUSIVE: u32 = 1 << 28;
const EPOLLWAKEUP: u32 = 1 << 29;
const EPOLLONESHOT: u32 = 1 << 30;
const EPOLLET: u32 = 1 << 31;
/// Nesting Linux allows (EP_MAX_NESTS).
const MAX_NESTS: u32 = 4;
/// Most events one wait may return (INT_MAX / sizeof(struct epoll_event)).
const MAX_EVENTS: u64 = (i32::MAX / 12) as u64;
/// `struct epoll_event` is packed on x86-64: u32 events, u64 data.
const EVENT_SIZE: usize = 12;

#[derive(Clone, Copy, Debug)]
struct Interest {
    events: u32,
    data: u64,
    /// Edge-triggered: the object's stamp when last reported.
    reported: Option<u64>,
    /// Level-triggered: the stamp at which it was re-queued after a report.
    requeued: u64,
    /// EPOLLONESHOT fired: no events until EPOLL_CTL_MOD re-arms it.
    disarmed: bool,
}

#[derive(Debug, Default)]
struct Epoll {
    interest: BTreeMap<(i32, FileKind), Interest>,
}

/// Every epoll instance of the call.
#[derive(Debug, Default)]
pub struct Epolls {
    instances: BTreeMap<u64, Epoll>,
}

/// One ready entry: (order stamp, fd, object) and what to report.
struct Ready {
    order: u64,
    key: (i32, FileKind),
    events: u32,
    changed: u64,
}

impl Kernel {
    /// epoll_create (size must be positive, otherwise unused) and
    /// epoll_create1.
    pub(super) fn sys_epoll_create1(&mut self, flags: u64) -> SysResult {
        if flags & !O_CLOEXEC != 0 {
            return Err(Errno::EINVAL);
        }
        let id = self.files.new_id();
        let fd = self.open_fd(FileKind::Epoll(id), 2, flags & O_CLOEXEC != 0)?;
        self.epolls.instances.insert(id, Epoll::default());
        Ok(fd)
    }

    pub(super) fn sys_epoll_create(&mut self, size: u64) -> SysResult {
        if size as i32 <= 0 {
            return Err(Errno::EINVAL);
        }
        self.sys_epoll_create1(0)
    }

    fn epoll_id(&self, epfd: u64) -> Result<u64, Errno> {
        match self.files.get(epfd)?.kind {
            FileKind::Epoll(id) => Ok(id),
            _ => Err(Errno::EINVAL),
        }
    }

    /// True when epoll `from` watches `to`, directly or through others,
    /// within `depth` levels.
    fn epoll_reaches(&self, from: u64, to: u64, depth: u32) -> bool {
        if from == to {
            return true;
        }
        if depth == 0 {
            return false;
        }
        self.epolls.instances.get(&from).is_some_and(|e| {
            e.interest.keys().any(|&(_, k)| match k {
                FileKind::Epoll(inner) => self.epoll_reaches(inner, to, depth - 1),
                _ => false,
            })
        })
    }

    /// Deepest chain of epoll instances under `id` (0: watches none).
    fn epoll_depth(&self, id: u64, limit: u32) -> u32 {
        if limit == 0 {
            return 0;
        }
        self.epolls.instances.get(&id).map_or(0, |e| {
            e.interest
                .keys()
                .filter_map(|&(_, k)| match k {
                    FileKind::Epoll(inner) => Some(1 + self.epoll_depth(inner, limit - 1)),
                    _ => None,
                })
                .max()
                .unwrap_or(0)
        })
    }

    pub(super) fn sys_epoll_ctl(&mut self, a: &[u64; 6]) -> SysResult {
        let (epfd, op, fd, event) = (a[0], a[1], a[2], a[3]);
        let ep = self.files.get(epfd)?;
        let target = self.files.get(fd)?;
        let fd = fd as i32;
        let mut wanted = None;
        if op == EPOLL_CTL_ADD || op == EPOLL_CTL_MOD {
            let raw = self.space.read_vec(event, EVENT_SIZE)?;
            let events = u32::from_le_bytes([raw[0], raw[1], raw[2], raw[3]]);
            let data = u64::from_le_bytes(raw[4..12].try_into().map_err(|_| Errno::EFAULT)?);
            wanted = Some((events, data));
        }
        // Files with no poll method cannot be watched.
        match target.kind {
            FileKind::Node(_) | FileKind::Null | FileKind::Zero => return Err(Errno::EPERM),
            _ => {}
        }
        let FileKind::Epoll(id) = ep.kind else {
            return Err(Errno::EINVAL);
        };
        if ep.kind == target.kind {
            return Err(Errno::EINVAL);
        }
        let key = (fd, target.kind);
        let exists = self
            .epolls
            .instances
            .get(&id)
            .is_some_and(|e| e.interest.contains_key(&key));
        match (op, wanted) {
            (EPOLL_CTL_ADD, Some((events, data))) => {
                if exists {
                    return Err(Errno::EEXIST);
                }
                if let FileKind::Epoll(inner) = target.kind {
                    if events & EPOLLEXCLUSIVE != 0 {
                        return Err(Errno::EINVAL);
                    }
                    if self.epoll_reaches(inner, id, MAX_NESTS + 1)
                        || self.epoll_depth(inner, MAX_NESTS + 1) >= MAX_NESTS
                    {
                        return Err(Errno::ELOOP);
                    }
                }
                let requeued = self.files.next_stamp();
                if let Some(e) = self.epolls.instances.get_mut(&id) {
                    e.interest.insert(
                        key,
                        Interest {
                            events: events & !EPOLLWAKEUP,
                            data,
                            reported: None,
                            requeued,
                            disarmed: false,
                        },
                    );
                }
            }
            (EPOLL_CTL_MOD, Some((events, data))) => {
                if !exists {
                    return Err(Errno::ENOENT);
                }
                if events & EPOLLEXCLUSIVE != 0 {
                    return Err(Errno::EINVAL);
                }
                let requeued = self.files.next_stamp();
                if let Some(i) = self
                    .epolls
                    .instances
                    .get_mut(&id)
                    .and_then(|e| e.interest.get_mut(&key))
                {
                    if i.events & EPOLLEXCLUSIVE != 0 {
                        return Err(Errno::EINVAL);
                    }
                    // Like Linux, a MOD re-checks readiness: an edge entry
                    // that is ready now is reported again.
                    *i = Interest {
                        events: events & !EPOLLWAKEUP,
                        data,
                        reported: None,
                        requeued,
                        disarmed: false,
                    };
                }
            }
            (EPOLL_CTL_DEL, _) => {
                if !exists {
                    return Err(Errno::ENOENT);
                }
                if let Some(e) = self.epolls.instances.get_mut(&id) {
                    e.interest.remove(&key);
                }
            }
            _ => return Err(Errno::EINVAL),
        }
        self.object_changed(id);
        Ok(0)
    }

    /// The ready entries of epoll `id`, in report order.
    fn epoll_ready(&self, id: u64, depth: u32) -> Vec<Ready> {
        let Some(ep) = self.epolls.instances.get(&id) else {
            return Vec::new();
        };
        let mut ready: Vec<Ready> = ep
            .interest
            .iter()
            .filter(|(_, i)| !i.disarmed)
            .filter_map(|(&key, i)| {
                let r: Readiness = self.readiness(key.1, depth + 1);
                let events = r.events & (i.events | POLLERR | POLLHUP);
                if events == 0 {
                    return None;
                }
                // Linux wakes an entry only for changes on the side it
                // watches (a read does not wake a reader's edge entry).
                let wants_in = i.events & (POLLIN | POLLRDNORM | POLLRDBAND | POLLPRI) != 0;
                let wants_out = i.events & (POLLOUT | POLLWRNORM | POLLWRBAND) != 0;
                let changed = match (wants_in, wants_out) {
                    (true, false) => r.changed_in,
                    (false, true) => r.changed_out,
                    _ => r.changed_in.max(r.changed_out),
                };
                let order = if i.events & EPOLLET != 0 {
                    if i.reported == Some(changed) {
                        return None;
                    }
                    changed
                } else {
                    changed.max(i.requeued)
                };
                Some(Ready {
                    order,
                    key,
                    events,
                    changed,
                })
            })
            .collect();
        ready.sort_by_key(|r| (r.order, r.key.0));
        ready
    }

    /// An epoll descriptor is readable when a wait would report something.
    pub(super) fn epoll_readiness(&self, id: u64, depth: u32) -> Readiness {
        if depth > MAX_NESTS {
            return Readiness {
                events: 0,
                changed_in: 0,
                changed_out: 0,
            };
        }
        let ready = self.epoll_ready(id, depth);
        Readiness {
            events: if ready.is_empty() {
                0
            } else {
                POLLIN | POLLRDNORM
            },
            changed_in: ready.iter().map(|r| r.order).max().unwrap_or(0),
            changed_out: 0,
        }
    }

    /// epoll_wait (timeout in ms), epoll_pwait (and a signal mask),
    /// epoll_pwait2 (a timespec).
    pub(super) fn sys_epoll_wait(
        &mut self,
        a: &[u64; 6],
        pwait: bool,
        timespec: bool,
    ) -> SysResult {
        let (epfd, events, maxevents) = (a[0], a[1], a[2]);
        if maxevents as i32 <= 0 || maxevents as i32 as u64 > MAX_EVENTS {
            return Err(Errno::EINVAL);
        }
        let id = self.epoll_id(epfd)?;
        let timeout = if timespec {
            self.timeout_timespec(a[3])?
        } else {
            Self::timeout_ms(a[3])
        };
        if pwait {
            self.check_sigmask(a[4], a[5])?;
        }
        let max = maxevents as i32 as usize;
        let ready = self.epoll_ready(id, 0);
        if ready.is_empty() {
            return self.poll_wait(timeout);
        }
        let n = ready.len().min(max);
        self.space.check_writable(events, (n * EVENT_SIZE) as u64)?;
        let mut out = Vec::with_capacity(n * EVENT_SIZE);
        for r in ready.iter().take(n) {
            let requeued = self.files.next_stamp();
            let Some(i) = self
                .epolls
                .instances
                .get_mut(&id)
                .and_then(|e| e.interest.get_mut(&r.key))
            else {
                continue;
            };
            out.extend_from_slice(&r.events.to_le_bytes());
            out.extend_from_slice(&i.data.to_le_bytes());
            if i.events & EPOLLONESHOT != 0 {
                i.disarmed = true;
            }
            if i.events & EPOLLET != 0 {
                i.reported = Some(r.changed);
            } else {
                i.requeued = requeued;
            }
        }
        self.space.write(events, &out)?;
        Ok((out.len() / EVENT_SIZE) as u64)
    }

    /// An object lost its last descriptor: every epoll forgets it.
    pub(super) fn epoll_forget(&mut self, kind: FileKind) {
        for e in self.epolls.instances.values_mut() {
            e.interest.retain(|&(_, k), _| k != kind);
        }
    }

    pub(super) fn epoll_closed(&mut self, id: u64) {
        self.epolls.instances.remove(&id);
        self.object_changed(id);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::kernel::tests::{blocks, call, get, kernel, path, put, BUF};
    use crate::kernel::wait::Wait;

    const EV: u64 = BUF + 0x4000;
    const FDS: u64 = BUF + 0x8000;
    const IN: u32 = POLLIN;

    fn ctl(k: &mut Kernel, ep: u64, op: u64, fd: u64, events: u32, data: u64) -> i64 {
        let mut ev = events.to_le_bytes().to_vec();
        ev.extend_from_slice(&data.to_le_bytes());
        put(k, BUF, &ev);
        call(k, 233, &[ep, op, fd, BUF])
    }

    /// epoll_wait with a zero timeout: the (events, data) reported.
    fn wait(k: &mut Kernel, ep: u64, max: u64) -> Vec<(u32, u64)> {
        let n = call(k, 232, &[ep, EV, max, 0]);
        assert!(n >= 0, "epoll_wait: {n}");
        get(k, EV, n as usize * EVENT_SIZE)
            .chunks(EVENT_SIZE)
            .map(|c| {
                (
                    u32::from_le_bytes(c[..4].try_into().unwrap()),
                    u64::from_le_bytes(c[4..].try_into().unwrap()),
                )
            })
            .collect()
    }

    fn pipe(k: &mut Kernel) -> (u64, u64) {
        assert_eq!(call(k, 293, &[FDS, 0o4000]), 0);
        let b = get(k, FDS, 8);
        (b[0] as u64, b[4] as u64)
    }

    fn write1(k: &mut Kernel, fd: u64) {
        put(k, FDS, &1u64.to_le_bytes());
        assert_eq!(call(k, 1, &[fd, FDS, 8]), 8);
    }

    #[test]
    fn level_triggered_order_and_fairness() {
        let mut k = kernel();
        let ep = call(&mut k, 291, &[0]) as u64;
        let (ra, wa) = pipe(&mut k);
        let (rb, wb) = pipe(&mut k);
        assert_eq!(ctl(&mut k, ep, EPOLL_CTL_ADD, ra, IN, 0xa), 0);
        assert_eq!(ctl(&mut k, ep, EPOLL_CTL_ADD, rb, IN, 0xb), 0);
        assert_eq!(wait(&mut k, ep, 8), []);
        // B became ready first, then A.
        write1(&mut k, wb);
        write1(&mut k, wa);
        assert_eq!(wait(&mut k, ep, 8), [(IN, 0xb), (IN, 0xa)]);
        // Level-triggered entries stay ready and take turns.
        assert_eq!(wait(&mut k, ep, 1), [(IN, 0xb)]);
        assert_eq!(wait(&mut k, ep, 1), [(IN, 0xa)]);
        assert_eq!(wait(&mut k, ep, 1), [(IN, 0xb)]);
        // A writer closed: the reader sees EPOLLHUP as well.
        assert_eq!(call(&mut k, 3, &[wa]), 0);
        assert_eq!(wait(&mut k, ep, 8), [(IN, 0xb), (IN | POLLHUP, 0xa)]);
        // Closing the last descriptor drops the entry.
        assert_eq!(call(&mut k, 3, &[ra]), 0);
        assert_eq!(wait(&mut k, ep, 8), [(IN, 0xb)]);
        // The epoll descriptor itself polls readable.
        put(&k, FDS, &(ep as i32).to_le_bytes());
        put(&k, FDS + 4, &1u16.to_le_bytes());
        assert_eq!(call(&mut k, 7, &[FDS, 1, 0]), 1);
        let _ = wb;
    }

    #[test]
    fn edge_triggered_and_oneshot() {
        let mut k = kernel();
        let ep = call(&mut k, 291, &[O_CLOEXEC]) as u64;
        let efd = call(&mut k, 290, &[0, 0o4000]) as u64;
        assert_eq!(ctl(&mut k, ep, EPOLL_CTL_ADD, efd, IN | EPOLLET, 7), 0);
        assert_eq!(wait(&mut k, ep, 8), []);
        write1(&mut k, efd);
        assert_eq!(wait(&mut k, ep, 8), [(IN, 7)]);
        assert_eq!(wait(&mut k, ep, 8), [], "reported once per edge");
        write1(&mut k, efd);
        assert_eq!(wait(&mut k, ep, 8), [(IN, 7)], "a new write is a new edge");
        // Reading is no edge for a reader.
        let (r, w) = pipe(&mut k);
        assert_eq!(ctl(&mut k, ep, EPOLL_CTL_ADD, r, IN | EPOLLET, 8), 0);
        put(&k, FDS, b"ab");
        assert_eq!(call(&mut k, 1, &[w, FDS, 2]), 2);
        assert_eq!(wait(&mut k, ep, 8), [(IN, 8)]);
        assert_eq!(call(&mut k, 0, &[r, FDS, 1]), 1);
        assert_eq!(wait(&mut k, ep, 8), []);
        // One-shot: once, until EPOLL_CTL_MOD re-arms it.
        assert_eq!(ctl(&mut k, ep, EPOLL_CTL_MOD, r, IN | EPOLLONESHOT, 9), 0);
        assert_eq!(wait(&mut k, ep, 8), [(IN, 9)]);
        assert_eq!(wait(&mut k, ep, 8), []);
        assert_eq!(ctl(&mut k, ep, EPOLL_CTL_MOD, r, IN, 10), 0);
        assert_eq!(wait(&mut k, ep, 8), [(IN, 10)]);
    }

    /// Go's netpoller: epoll_create1(CLOEXEC), a non-blocking eventfd
    /// registered edge-triggered for reading; netpollBreak writes it, the
    /// poller reads it back; epoll_pwait with a zero timeout polls.
    #[test]
    fn go_netpoller_pattern() {
        let mut k = kernel();
        let ep = call(&mut k, 291, &[O_CLOEXEC]) as u64;
        let efd = call(&mut k, 290, &[0, O_CLOEXEC | 0o4000]) as u64;
        let events = IN | 0x2000 | EPOLLET; // EPOLLRDHUP
        assert_eq!(ctl(&mut k, ep, EPOLL_CTL_ADD, efd, events, 0xfeed), 0);
        for _ in 0..3 {
            assert_eq!(call(&mut k, 281, &[ep, EV, 128, 0, 0, 8]), 0);
            write1(&mut k, efd);
            assert_eq!(call(&mut k, 281, &[ep, EV, 128, 0, 0, 8]), 1);
            assert_eq!(get(&k, EV + 4, 8), 0xfeedu64.to_le_bytes());
            assert_eq!(call(&mut k, 0, &[efd, FDS, 8]), 8);
        }
        // Blocking with nothing ready waits.
        assert_eq!(
            blocks(&mut k, 232, &[ep, EV, 128, -1i64 as u64]),
            Some(Wait::Poll { deadline: None })
        );
        put(&k, FDS, &[0u8; 16]);
        assert_eq!(call(&mut k, 441, &[ep, EV, 128, FDS, 0, 8]), 0);
    }

    #[test]
    fn ctl_errors() {
        let mut k = kernel();
        let ep = call(&mut k, 213, &[1]) as u64;
        let (r, _w) = pipe(&mut k);
        let p = path(&k, FDS, "/tmp/f");
        let file = call(&mut k, 2, &[p, 0o102, 0o600]) as u64;
        let ep2 = call(&mut k, 291, &[0]) as u64;
        let table: &[(u64, u64, u64, i64)] = &[
            (ep, EPOLL_CTL_ADD, r, 0),
            (ep, EPOLL_CTL_ADD, r, -17),
            (ep, EPOLL_CTL_MOD, 1, -2),
            (ep, EPOLL_CTL_DEL, 1, -2),
            (ep, EPOLL_CTL_ADD, file, -1),
            (ep, EPOLL_CTL_ADD, ep, -22),
            (r, EPOLL_CTL_ADD, 1, -22),
            (ep, 9, 1, -22),
            (99, EPOLL_CTL_ADD, 1, -9),
            (ep, EPOLL_CTL_ADD, 99, -9),
            (ep, EPOLL_CTL_ADD, ep2, 0),
            (ep2, EPOLL_CTL_ADD, ep, -40),
            (ep, EPOLL_CTL_DEL, r, 0),
        ];
        for &(epfd, op, fd, want) in table {
            assert_eq!(ctl(&mut k, epfd, op, fd, IN, 0), want, "{epfd} {op} {fd}");
        }
        assert_eq!(call(&mut k, 213, &[0]), -22);
        assert_eq!(call(&mut k, 291, &[1]), -22);
        assert_eq!(call(&mut k, 232, &[ep, EV, 0, 0]), -22);
        assert_eq!(call(&mut k, 232, &[r, EV, 1, 0]), -22);
        assert_eq!(call(&mut k, 0, &[ep, FDS, 8]), -22);
    }
}
