//! The alternate signal stack (sigaltstack), with Linux's rules: the
//! flags are stored as given, "on the stack" is decided from the stack
//! pointer, and SS_AUTODISARM makes a thread never count as on it.

use super::Errno;

pub const SS_ONSTACK: u32 = 1;
pub const SS_DISABLE: u32 = 2;
/// Disarm the alternate stack while a handler runs on it (Linux 4.7+).
pub const SS_AUTODISARM: u32 = 1 << 31;
/// The smallest alternate stack sigaltstack accepts (x86-64 uapi value).
pub const MINSIGSTKSZ: u64 = 2048;
/// The size programs are told to use.
pub const SIGSTKSZ: u64 = 8192;

/// One thread's alternate stack, as Linux keeps it in the task
/// (`sas_ss_sp`, `sas_ss_size`, `sas_ss_flags`).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct AltStack {
    pub sp: u64,
    pub size: u64,
    /// The flags as last given to sigaltstack (SS_AUTODISARM included),
    /// which is what a signal frame's uc_stack.ss_flags shows.
    pub flags: u32,
}

impl AltStack {
    /// `sizeof(stack_t)`: ss_sp at 0, ss_flags (int) at 8, ss_size at 16.
    pub const SIZE: usize = 24;

    /// A freshly exec'd process's main thread: everything zero (a task
    /// that never called sigaltstack; frames show ss_flags 0).
    pub fn initial() -> Self {
        AltStack::default()
    }

    /// The state after sas_ss_reset: a new thread (clone with CLONE_VM),
    /// and an SS_AUTODISARM stack once a handler is entered on it.
    pub fn disabled() -> Self {
        AltStack {
            sp: 0,
            size: 0,
            flags: SS_DISABLE,
        }
    }

    /// Whether `sp` lies on the alternate stack (Linux's __on_sig_stack:
    /// above the base, at most `size` above it).
    fn contains(&self, sp: u64) -> bool {
        sp > self.sp && sp - self.sp <= self.size
    }

    /// Linux's on_sig_stack: never true with SS_AUTODISARM.
    pub fn is_on(&self, sp: u64) -> bool {
        self.flags & SS_AUTODISARM == 0 && self.contains(sp)
    }

    /// Linux's sas_ss_flags: SS_DISABLE with no stack, SS_ONSTACK when on
    /// it, else 0.
    pub fn status(&self, sp: u64) -> u32 {
        if self.size == 0 {
            SS_DISABLE
        } else if self.is_on(sp) {
            SS_ONSTACK
        } else {
            0
        }
    }

    /// The stack_t sigaltstack reports as the old stack, for a thread at
    /// stack pointer `sp`.
    pub fn report(&self, sp: u64) -> [u8; Self::SIZE] {
        let flags = self.status(sp) | (self.flags & SS_AUTODISARM);
        encode(self.sp, flags, self.size)
    }

    /// Applies a new stack_t (`new`, as read from the guest) for a thread
    /// at `sp`, as Linux's do_sigaltstack with `min_size`: EPERM while on
    /// the stack, EINVAL for a mode other than 0, SS_ONSTACK or
    /// SS_DISABLE, ENOMEM below `min_size` (unless nothing changes).
    /// SS_DISABLE clears the base and size (the flags are kept as given).
    pub fn set(&mut self, new: &[u8; Self::SIZE], sp: u64, min_size: u64) -> Result<(), Errno> {
        let (ss_sp, flags, ss_size) = decode(new);
        if self.is_on(sp) {
            return Err(Errno::EPERM);
        }
        let mode = flags & !SS_AUTODISARM;
        if mode != 0 && mode != SS_ONSTACK && mode != SS_DISABLE {
            return Err(Errno::EINVAL);
        }
        // No change is success without further checks (Linux 5.14+).
        if (self.sp, self.size, self.flags) == (ss_sp, ss_size, flags) {
            return Ok(());
        }
        if mode == SS_DISABLE {
            *self = AltStack {
                sp: 0,
                size: 0,
                flags,
            };
            return Ok(());
        }
        if ss_size < min_size {
            return Err(Errno::ENOMEM);
        }
        *self = AltStack {
            sp: ss_sp,
            size: ss_size,
            flags,
        };
        Ok(())
    }

    /// The uc_stack a signal frame records: the stored fields as they are
    /// (Linux's unsafe_save_altstack), not the on-stack status.
    pub fn frame_fields(&self) -> (u64, u32, u64) {
        (self.sp, self.flags, self.size)
    }

    /// The stack after a handler was entered: SS_AUTODISARM resets it
    /// (Linux's signal_delivered).
    pub fn after_delivery(&self) -> AltStack {
        if self.flags & SS_AUTODISARM != 0 {
            AltStack::disabled()
        } else {
            *self
        }
    }
}

/// A stack_t's bytes; the 4 bytes after ss_flags are padding, zero here.
pub fn encode(sp: u64, flags: u32, size: u64) -> [u8; AltStack::SIZE] {
    let mut b = [0u8; AltStack::SIZE];
    b[0..8].copy_from_slice(&sp.to_le_bytes());
    b[8..12].copy_from_slice(&flags.to_le_bytes());
    b[16..24].copy_from_slice(&size.to_le_bytes());
    b
}

/// A stack_t's fields: ss_sp, ss_flags, ss_size.
pub fn decode(b: &[u8; AltStack::SIZE]) -> (u64, u32, u64) {
    let mut sp = [0u8; 8];
    let mut flags = [0u8; 4];
    let mut size = [0u8; 8];
    sp.copy_from_slice(&b[0..8]);
    flags.copy_from_slice(&b[8..12]);
    size.copy_from_slice(&b[16..24]);
    (
        u64::from_le_bytes(sp),
        u32::from_le_bytes(flags),
        u64::from_le_bytes(size),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    const BASE: u64 = 0x10_0000;

    fn stack(flags: u32) -> AltStack {
        AltStack {
            sp: BASE,
            size: 0x4000,
            flags,
        }
    }

    #[test]
    fn on_stack_bounds_are_linux_s() {
        let s = stack(0);
        // (sp, on): the base itself is not on it, the top is.
        let cases = [
            (BASE, false),
            (BASE + 1, true),
            (BASE + 0x4000, true),
            (BASE + 0x4001, false),
            (0, false),
        ];
        for (sp, on) in cases {
            assert_eq!(s.is_on(sp), on, "sp {sp:#x}");
            assert_eq!(s.status(sp), if on { SS_ONSTACK } else { 0 });
            assert!(!stack(SS_AUTODISARM).is_on(sp));
        }
        assert_eq!(AltStack::initial().status(BASE), SS_DISABLE);
        assert_eq!(AltStack::disabled().status(BASE), SS_DISABLE);
    }

    #[test]
    fn sigaltstack_rules() {
        // (current flags, sp, new flags, new size, result)
        let on = BASE + 0x100;
        let off = BASE + 0x10_0000;
        type Case = (u32, u64, u32, u64, Result<(), Errno>);
        let cases: &[Case] = &[
            (0, off, 0, 0x4000, Ok(())),
            (0, off, SS_ONSTACK, 0x4000, Ok(())),
            (0, off, SS_AUTODISARM, 0x4000, Ok(())),
            (0, off, 0, MINSIGSTKSZ, Ok(())),
            (0, off, 0, MINSIGSTKSZ - 1, Err(Errno::ENOMEM)),
            (0, off, SS_DISABLE, 0, Ok(())),
            (0, off, 4, 0x4000, Err(Errno::EINVAL)),
            (0, off, SS_ONSTACK | SS_DISABLE, 0x4000, Err(Errno::EINVAL)),
            (0, on, 0, 0x4000, Err(Errno::EPERM)),
            // EPERM is checked before the flags.
            (0, on, 4, 0x4000, Err(Errno::EPERM)),
            // With SS_AUTODISARM a thread is never "on" the stack.
            (SS_AUTODISARM, on, 0, 0x4000, Ok(())),
        ];
        // Setting the very same stack succeeds, even a too small one.
        let mut tiny = AltStack {
            sp: 0x20_0000,
            size: 16,
            flags: 0,
        };
        assert_eq!(tiny.set(&encode(0x20_0000, 0, 16), 0, MINSIGSTKSZ), Ok(()));
        assert_eq!(
            tiny.set(&encode(0x20_0000, 0, 17), 0, MINSIGSTKSZ),
            Err(Errno::ENOMEM)
        );
        for &(cur, sp, flags, size, want) in cases {
            let mut s = stack(cur);
            let got = s.set(&encode(0x20_0000, flags, size), sp, MINSIGSTKSZ);
            assert_eq!(
                got, want,
                "cur {cur:#x} sp {sp:#x} flags {flags:#x} size {size}"
            );
            match want {
                Ok(()) if flags & !SS_AUTODISARM == SS_DISABLE => {
                    assert_eq!((s.sp, s.size, s.flags), (0, 0, flags))
                }
                Ok(()) => assert_eq!((s.sp, s.size, s.flags), (0x20_0000, size, flags)),
                Err(_) => assert_eq!(s, stack(cur)),
            }
        }
    }

    #[test]
    fn report_and_autodisarm() {
        let s = stack(SS_AUTODISARM);
        let (sp, flags, size) = decode(&s.report(BASE + 0x100));
        assert_eq!((sp, flags, size), (BASE, SS_AUTODISARM, 0x4000));
        let (_, flags, _) = decode(&stack(0).report(BASE + 0x100));
        assert_eq!(flags, SS_ONSTACK);
        let (_, flags, _) = decode(&AltStack::initial().report(BASE));
        assert_eq!(flags, SS_DISABLE);
        assert_eq!(s.after_delivery(), AltStack::disabled());
        assert_eq!(stack(0).after_delivery(), stack(0));
        assert_eq!(
            stack(SS_AUTODISARM).frame_fields(),
            (BASE, SS_AUTODISARM, 0x4000)
        );
    }
}
