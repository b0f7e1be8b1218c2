//! Signal sets: Linux's x86-64 `sigset_t`, over the signal numbers of
//! [`crate::linux_abi::signal`].

use crate::linux_abi::signal::*;

/// `sizeof(sigset_t)` in the kernel ABI: the only size rt_sig* accept.
pub const SIGSET_SIZE: u64 = 8;

/// Whether `sig` names a signal (1..=64; 0 is "check only" for kill).
pub fn is_valid(sig: i32) -> bool {
    (1..=NSIG).contains(&sig)
}

/// A set of signals: bit `sig - 1` of a u64, Linux's `sigset_t` on x86-64.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub struct SigSet(u64);

impl SigSet {
    pub const EMPTY: SigSet = SigSet(0);
    pub const FULL: SigSet = SigSet(u64::MAX);
    /// SIGKILL and SIGSTOP: never blocked, caught or ignored.
    pub const UNBLOCKABLE: SigSet = SigSet((1 << (SIGKILL - 1)) | (1 << (SIGSTOP - 1)));
    /// Linux's SYNCHRONOUS_MASK: signals a fault raises, dequeued first.
    pub const SYNCHRONOUS: SigSet = SigSet(
        (1 << (SIGSEGV - 1))
            | (1 << (SIGBUS - 1))
            | (1 << (SIGILL - 1))
            | (1 << (SIGTRAP - 1))
            | (1 << (SIGFPE - 1))
            | (1 << (SIGSYS - 1)),
    );

    pub const fn from_bits(bits: u64) -> Self {
        SigSet(bits)
    }

    pub const fn bits(self) -> u64 {
        self.0
    }

    /// The set holding only `sig` (empty for an invalid number).
    pub fn of(sig: i32) -> Self {
        if is_valid(sig) {
            SigSet(1 << (sig - 1))
        } else {
            SigSet::EMPTY
        }
    }

    pub fn contains(self, sig: i32) -> bool {
        is_valid(sig) && self.0 & SigSet::of(sig).0 != 0
    }

    pub fn insert(&mut self, sig: i32) {
        self.0 |= SigSet::of(sig).0;
    }

    pub fn remove(&mut self, sig: i32) {
        self.0 &= !SigSet::of(sig).0;
    }

    pub const fn union(self, other: SigSet) -> Self {
        SigSet(self.0 | other.0)
    }

    pub const fn intersection(self, other: SigSet) -> Self {
        SigSet(self.0 & other.0)
    }

    /// The signals of `self` not in `other`.
    pub const fn difference(self, other: SigSet) -> Self {
        SigSet(self.0 & !other.0)
    }

    pub const fn is_empty(self) -> bool {
        self.0 == 0
    }

    /// The set without SIGKILL and SIGSTOP, as Linux stores every mask
    /// it is given (sigprocmask, sigaction's sa_mask, sigreturn).
    pub const fn blockable(self) -> Self {
        self.difference(SigSet::UNBLOCKABLE)
    }

    /// The lowest-numbered signal in the set.
    pub fn lowest(self) -> Option<i32> {
        if self.0 == 0 {
            None
        } else {
            // trailing_zeros < 64 here, so the cast and the +1 are exact.
            Some(self.0.trailing_zeros() as i32 + 1)
        }
    }

    /// The signals in increasing order.
    pub fn iter(self) -> impl Iterator<Item = i32> {
        (1..=NSIG).filter(move |&s| self.contains(s))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bits_follow_linux_numbering() {
        let cases: &[(i32, u64)] = &[
            (SIGHUP, 1),
            (SIGKILL, 0x100),
            (SIGSEGV, 0x400),
            (64, 1 << 63),
        ];
        for &(sig, bits) in cases {
            assert_eq!(SigSet::of(sig).bits(), bits, "signal {sig}");
            assert!(SigSet::of(sig).contains(sig));
        }
        assert_eq!(SigSet::of(0), SigSet::EMPTY);
        assert_eq!(SigSet::of(65), SigSet::EMPTY);
        assert!(!SigSet::FULL.contains(0));
        assert!(!SigSet::FULL.contains(65));
    }

    #[test]
    fn set_operations() {
        let mut s = SigSet::EMPTY;
        s.insert(SIGUSR1);
        s.insert(SIGRTMIN);
        assert_eq!(s.bits(), (1 << 9) | (1 << 31));
        assert_eq!(s.lowest(), Some(SIGUSR1));
        assert_eq!(s.iter().collect::<Vec<_>>(), vec![SIGUSR1, SIGRTMIN]);
        s.remove(SIGUSR1);
        assert_eq!(s.lowest(), Some(SIGRTMIN));
        assert_eq!(SigSet::EMPTY.lowest(), None);
        assert_eq!(SigSet::FULL.blockable().bits(), !0x40100u64);
        assert_eq!(SigSet::SYNCHRONOUS.bits(), 0x4000_04d8);
        let a = SigSet::from_bits(0b1100);
        let b = SigSet::from_bits(0b1010);
        assert_eq!(a.union(b).bits(), 0b1110);
        assert_eq!(a.intersection(b).bits(), 0b1000);
        assert_eq!(a.difference(b).bits(), 0b0100);
    }
}
