//! Kicking a vCPU out of `KVM_RUN` from another thread, for `--timeout`.
//!
//! The pattern Firecracker and cloud-hypervisor use: a real-time signal
//! sent to the vCPU's thread, whose handler sets `immediate_exit` in that
//! thread's own `kvm_run`. No wakeup is lost: a signal that arrives while
//! the guest runs ends `KVM_RUN` with EINTR; one that arrives while the
//! thread is outside the guest (handling a syscall, or about to enter)
//! sets `immediate_exit`, so the next `KVM_RUN` returns EINTR at once.
//! The handler only touches the calling thread's registered `kvm_run`, so
//! a late signal after a run ended finds nothing registered (or another
//! run, which sees a spurious EINTR and carries on: its own watchdog has
//! not fired).
//!
//! The first KVM run with a deadline installs a process-wide handler for
//! SIGRTMIN: a program that embeds qvm must leave that signal to it.

use std::cell::Cell;
use std::ffi::{c_int, c_void};
use std::ptr;
use std::sync::OnceLock;

use kvm_bindings::kvm_run;

thread_local! {
    /// This thread's running vCPU's `kvm_run`, while a run can be kicked.
    static RUNNING: Cell<*mut kvm_run> = const { Cell::new(ptr::null_mut()) };
}

/// The signal: the first real-time signal libc leaves to applications.
pub fn signal() -> c_int {
    libc::SIGRTMIN()
}

extern "C" fn on_kick(_: c_int, _: *mut libc::siginfo_t, _: *mut c_void) {
    // A const-initialized thread-local without destructor is a plain TLS
    // read: async-signal-safe.
    let run = RUNNING.try_with(Cell::get).unwrap_or(ptr::null_mut());
    if !run.is_null() {
        // SAFETY: `Registered` keeps this pointer valid (the vCPU's mapped
        // kvm_run) for as long as it is set, on this very thread.
        unsafe { ptr::write_volatile(&raw mut (*run).immediate_exit, 1) };
    }
}

/// Installs the signal handler once per process.
pub fn install() -> std::io::Result<()> {
    static INSTALLED: OnceLock<Result<(), i32>> = OnceLock::new();
    let result = INSTALLED.get_or_init(|| {
        // SAFETY: a zeroed sigaction is valid; the handler has the
        // SA_SIGINFO signature, is async-signal-safe, and SA_RESTART is
        // off so KVM_RUN returns EINTR.
        unsafe {
            let mut action: libc::sigaction = std::mem::zeroed();
            action.sa_sigaction = on_kick as *const () as usize;
            action.sa_flags = libc::SA_SIGINFO;
            libc::sigemptyset(&mut action.sa_mask);
            if libc::sigaction(signal(), &action, ptr::null_mut()) != 0 {
                return Err(std::io::Error::last_os_error().raw_os_error().unwrap_or(0));
            }
        }
        Ok(())
    });
    result.map_err(std::io::Error::from_raw_os_error)
}

/// Registers a vCPU's `kvm_run` as this thread's kick target until dropped,
/// and unblocks the signal on this thread.
pub struct Registered(());

impl Registered {
    /// # Safety
    /// `run` must stay a valid mapping of the vCPU's `kvm_run` until the
    /// returned value drops, on this thread.
    pub unsafe fn new(run: *mut kvm_run) -> std::io::Result<Registered> {
        // SAFETY: plain signal-mask calls on locals.
        unsafe {
            let mut set: libc::sigset_t = std::mem::zeroed();
            libc::sigemptyset(&mut set);
            libc::sigaddset(&mut set, signal());
            let e = libc::pthread_sigmask(libc::SIG_UNBLOCK, &set, ptr::null_mut());
            if e != 0 {
                return Err(std::io::Error::from_raw_os_error(e));
            }
        }
        RUNNING.with(|c| c.set(run));
        Ok(Registered(()))
    }
}

impl Drop for Registered {
    fn drop(&mut self) {
        RUNNING.with(|c| c.set(ptr::null_mut()));
    }
}

/// This thread, to kick from the watchdog's.
pub fn this_thread() -> libc::pthread_t {
    // SAFETY: no preconditions.
    unsafe { libc::pthread_self() }
}

/// Sends the kick to `thread`.
pub fn kick(thread: libc::pthread_t) {
    // SAFETY: `thread` is the vCPU thread, alive while its watchdog runs
    // (the run stops the watchdog before returning).
    unsafe {
        libc::pthread_kill(thread, signal());
    }
}
