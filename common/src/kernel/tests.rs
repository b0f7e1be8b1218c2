//! Kernel unit tests: syscalls driven directly, no engine.

use std::sync::Arc;

use super::*;
use crate::address_space::Prot;
use crate::guest_memory::GuestMemory;
use crate::layout::{MMAP_TOP, PAGE_SIZE};

pub(super) const BUF: u64 = 0x10_0000;

pub(super) fn kernel() -> Kernel {
    let mut space = AddressSpace::new(Arc::new(GuestMemory::new(64 << 20).unwrap()));
    space
        .map_fixed(BUF, 16 * PAGE_SIZE, Prot::RW, true)
        .unwrap();
    space
        .map_fixed(0x40_0000, PAGE_SIZE, Prot::READ, true)
        .unwrap();
    let config = KernelConfig {
        block: BlockContext {
            prev_hash: [3; 32],
            timestamp: 1_700_000_000,
        },
        stdin: b"input".to_vec(),
        entropy: Entropy::new(&[3; 32], &[0; 32]),
        brk_start: 0x50_0000,
        exe_path: b"/contract/prog".to_vec(),
        trace: true,
        gas_limit: None,
        state: None,
    };
    Kernel::new(space, config)
}

/// Makes the syscall on a kernel with a second thread, so a wait cannot
/// be a deadlock, and returns what the calling thread would wait for
/// (None when the syscall completed). The wait is dropped: the thread goes
/// on as if it had been woken.
pub(super) fn blocks(k: &mut Kernel, nr: u64, args: &[u64]) -> Option<wait::Wait> {
    if k.sched.count() < 2 {
        k.sched.spawn(crate::engine::ThreadContext::default());
    }
    call(k, nr, args);
    match k.pending.take() {
        Some(thread::Pending::Block(b)) => Some(b.wait),
        other => {
            k.pending = other;
            None
        }
    }
}

/// Finishes a syscall that answered Reschedule (signals, sigreturn...):
/// the kernel gets a blank context back, as the engine would hand it.
pub(super) fn reschedule(k: &mut Kernel) -> Option<crate::engine::ThreadContext> {
    k.reschedule(crate::engine::ThreadContext::default(), 0)
}

pub(super) fn call(k: &mut Kernel, nr: u64, args: &[u64]) -> i64 {
    let mut a = [0u64; 6];
    a[..args.len()].copy_from_slice(args);
    match k.syscall(SyscallRequest {
        nr,
        args: a,
        instructions: None,
        sp: 0,
    }) {
        SyscallAction::Return { value, .. } | SyscallAction::Reschedule { value } => value as i64,
        SyscallAction::Stop => i64::MIN,
    }
}

pub(super) fn put(k: &Kernel, addr: u64, bytes: &[u8]) {
    k.space().write(addr, bytes).unwrap();
}

/// `len` bytes of guest memory at `addr`.
pub(super) fn get(k: &Kernel, addr: u64, len: usize) -> Vec<u8> {
    k.space().read_vec(addr, len).unwrap()
}

/// Puts a NUL-terminated `path` at `addr` and returns `addr`.
/// The names one getdents64 of directory `fd` returns, in order.
pub(super) fn list_dir(k: &mut Kernel, fd: u64) -> Vec<String> {
    let n = call(k, 217, &[fd, BUF, 4096]) as usize;
    let raw = get(k, BUF, n);
    let mut names = Vec::new();
    let mut at = 0;
    while at < n {
        let reclen = u16::from_le_bytes([raw[at + 16], raw[at + 17]]) as usize;
        let name = &raw[at + 19..at + reclen];
        let end = name.iter().position(|&b| b == 0).unwrap();
        names.push(String::from_utf8_lossy(&name[..end]).into_owned());
        at += reclen;
    }
    names
}

pub(super) fn path(k: &Kernel, addr: u64, path: &str) -> u64 {
    put(k, addr, path.as_bytes());
    put(k, addr + path.len() as u64, &[0]);
    addr
}

#[test]
fn table_is_sorted_and_matches_dispatch() {
    assert!(table::SYSCALLS.windows(2).all(|w| w[0].nr < w[1].nr));
    for nr in 0..512u64 {
        let mut k = kernel();
        // Arguments that make every handler fail fast or act harmlessly.
        let handled = k.dispatch(nr, &[0, 0, 0, 0, 0, 0]).is_some();
        let row = table::lookup(nr);
        match row.map(|r| r.handling) {
            Some(table::Handling::Refused(_)) | None => {
                assert!(!handled, "{nr} is dispatched but not listed as handled")
            }
            Some(_) => assert!(
                handled,
                "{nr} ({}) is listed but not dispatched",
                row.map_or("", |r| r.name)
            ),
        }
    }
}

#[test]
fn write_read_and_fault_on_bad_buffers() {
    let mut k = kernel();
    put(&k, BUF, b"hello\n");
    assert_eq!(call(&mut k, 1, &[1, BUF, 6]), 6);
    assert_eq!(call(&mut k, 1, &[2, BUF, 1]), 1);
    assert_eq!(k.stdout(), b"hello\n");
    assert_eq!(k.stderr(), b"h");
    assert_eq!(call(&mut k, 1, &[1, 0xdead_0000, 6]), -14);
    assert_eq!(call(&mut k, 1, &[9, BUF, 6]), -9);
    assert_eq!(call(&mut k, 0, &[0, BUF, 100]), 5);
    assert_eq!(k.space().read_vec(BUF, 5).unwrap(), b"input");
    assert_eq!(call(&mut k, 0, &[0, BUF, 100]), 0);
    // Reading into read-only memory is EFAULT.
    assert_eq!(call(&mut k, 0, &[3, 0x40_0000, 4]), -9);
}

#[test]
fn devices_open_and_host_files_do_not() {
    let mut k = kernel();
    put(&k, BUF, b"/dev/urandom\0");
    put(&k, BUF + 64, b"/etc/passwd\0");
    let fd = call(&mut k, 2, &[BUF, 0]);
    assert_eq!(fd, 3);
    assert_eq!(call(&mut k, 0, &[fd as u64, BUF + 128, 16]), 16);
    assert_eq!(call(&mut k, 2, &[BUF + 64, 0]), -2);
    // No /etc: creating in it is ENOENT; the skeleton itself is read-only.
    assert_eq!(call(&mut k, 257, &[-100i64 as u64, BUF + 64, 0o100]), -2);
    put(&k, BUF + 64, b"/passwd\0");
    assert_eq!(call(&mut k, 257, &[-100i64 as u64, BUF + 64, 0o100]), -30);
    assert_eq!(call(&mut k, 3, &[fd as u64]), 0);
    assert_eq!(call(&mut k, 3, &[fd as u64]), -9);
}

#[test]
fn randomness_is_keyed_and_sequential() {
    let mut a = kernel();
    let mut b = kernel();
    assert_eq!(call(&mut a, 318, &[BUF, 32, 0]), 32);
    assert_eq!(call(&mut b, 318, &[BUF, 16, 0]), 16);
    assert_eq!(call(&mut b, 318, &[BUF + 16, 16, 0]), 16);
    assert_eq!(
        a.space().read_vec(BUF, 32).unwrap(),
        b.space().read_vec(BUF, 32).unwrap()
    );
    assert_ne!(a.space().read_vec(BUF, 32).unwrap(), vec![0; 32]);
    assert_eq!(call(&mut a, 318, &[BUF, 8, 0x80]), -22);
}

#[test]
fn clocks_read_the_block_time() {
    let mut k = kernel();
    assert_eq!(call(&mut k, 201, &[0]), 1_700_000_000);
    assert_eq!(call(&mut k, 228, &[0, BUF]), 0);
    assert_eq!(k.space().read_u64(BUF).unwrap(), 1_700_000_000);
    assert_eq!(call(&mut k, 228, &[1, BUF]), 0);
    let m1 = k.space().read_u64(BUF + 8).unwrap();
    assert_eq!(call(&mut k, 228, &[1, BUF]), 0);
    assert!(
        k.space().read_u64(BUF + 8).unwrap() > m1,
        "monotonic advances"
    );
    assert_eq!(call(&mut k, 228, &[99, BUF]), -22);
}

#[test]
fn mmap_munmap_brk() {
    let mut k = kernel();
    let a = call(&mut k, 9, &[0, 3 * PAGE_SIZE, 3, 0x22, u64::MAX, 0]);
    assert_eq!(a as u64, MMAP_TOP - 3 * PAGE_SIZE);
    let b = call(&mut k, 9, &[0, PAGE_SIZE, 3, 0x22, u64::MAX, 0]);
    assert_eq!(b as u64, MMAP_TOP - 4 * PAGE_SIZE);
    assert_eq!(call(&mut k, 11, &[a as u64, 3 * PAGE_SIZE]), 0);
    // MAP_FIXED_NOREPLACE over an existing mapping.
    assert_eq!(
        call(&mut k, 9, &[b as u64, PAGE_SIZE, 3, 0x100022, u64::MAX, 0]),
        -17
    );
    // File mappings other than /dev/zero have nothing behind them.
    assert_eq!(call(&mut k, 9, &[0, PAGE_SIZE, 3, 0x02, 1, 0]), -19);
    assert_eq!(call(&mut k, 9, &[0, 0, 3, 0x22, u64::MAX, 0]), -22);
    // A reservation far larger than the memory limit is free.
    let r = call(&mut k, 9, &[0, 1 << 40, 0, 0x4022, u64::MAX, 0]);
    assert!(r > 0);
    assert_eq!(call(&mut k, 12, &[0]), 0x50_0000);
    assert_eq!(call(&mut k, 12, &[0x50_2000]), 0x50_2000);
    put(&k, 0x50_1000, b"heap");
    assert_eq!(call(&mut k, 12, &[0x50_0000]), 0x50_0000);
    assert!(k.space().read_vec(0x50_1000, 1).is_err());
    // Beyond the memory limit: brk stays put.
    assert_eq!(call(&mut k, 12, &[0x50_0000 + (1 << 30)]), 0x50_0000);
}

#[test]
fn exit_and_signals_end_the_call() {
    let mut k = kernel();
    assert_eq!(call(&mut k, 231, &[0x1_07]), i64::MIN);
    assert_eq!(k.termination(), Some(Termination::Exited(7)));
    let mut k = kernel();
    assert_eq!(call(&mut k, 62, &[PID, 0]), 0);
    assert_eq!(
        call(&mut k, 62, &[PID, 17]),
        0,
        "SIGCHLD is ignored by default"
    );
    assert_eq!(call(&mut k, 62, &[99, 6]), -3);
    // Delivered when the syscall returns: the default action ends the call.
    assert_eq!(call(&mut k, 234, &[PID, PID, 6]), 0);
    assert_eq!(reschedule(&mut k), None);
    assert_eq!(
        k.termination(),
        Some(Termination::Signaled {
            signal: 6,
            fault: None
        })
    );
}

#[test]
fn unknown_syscalls_are_enosys_and_traced() {
    let mut k = kernel();
    assert_eq!(call(&mut k, 9999, &[]), -38);
    assert_eq!(call(&mut k, 56, &[]), -38);
    assert_eq!(k.refused().get(&9999), Some(&1));
    let trace = k.take_trace().unwrap();
    assert_eq!(trace[0].name, "unknown");
    assert_eq!(trace[1].name, "clone");
    assert_eq!(trace[1].result, -38);
}
