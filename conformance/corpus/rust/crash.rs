// Dies the way its argument says: null (SIGSEGV), write-text (SIGSEGV),
// divide (SIGFPE: a hardware division, since Rust checks `/` and would
// panic), ud2 (SIGILL), abort (SIGABRT), stack-overflow (SIGSEGV), panic
// (unwinds, exit 101 with the message on stderr).
//
// Stack overflow: natively std's SIGSEGV handler prints "thread 'main' has
// overflowed its stack" and aborts (SIGABRT). qvm delivers no signals, so
// no handler runs and the call ends with SIGSEGV. The program restores the
// default action first, which is exactly what the contract gets on qvm,
// so native and qvm agree.
//
// Panic: std's default message names the thread's id, which differs
// between native runs, so a hook prints the message without it.
use std::arch::asm;
use std::hint::black_box;

const SIGSEGV: i32 = 11;

extern "C" {
    fn signal(sig: i32, handler: usize) -> usize;
}

// The recursion is meant to run off the stack.
#[allow(unconditional_recursion)]
#[inline(never)]
fn down(n: u64) -> u64 {
    let pad = black_box([n as u8; 4096]);
    down(n + 1).wrapping_add(u64::from(pad[100]))
}

fn crash(how: &str) {
    // SAFETY: none; each arm faults on purpose.
    unsafe {
        match how {
            "null" => std::ptr::write_volatile(black_box(0usize) as *mut u32, 1),
            "write-text" => std::ptr::write_volatile(main as *const () as *mut u8, 0xcc),
            "divide" => {
                asm!("div {0}", in(reg) black_box(0u64), inout("rax") 10u64 => _, inout("rdx") 0u64 => _)
            }
            "ud2" => asm!("ud2"),
            "abort" => {
                eprintln!("about to abort");
                std::process::abort();
            }
            "stack-overflow" => {
                signal(SIGSEGV, 0); // SIG_DFL
                println!("{}", down(0));
            }
            "panic" => {
                std::panic::set_hook(Box::new(|info| eprintln!("{info}")));
                println!("{}", black_box(10u32) / black_box(0u32));
            }
            _ => println!("unknown crash {how:?}"),
        }
    }
}

fn main() {
    let how = std::env::args().nth(1).unwrap_or_default();
    println!("crashing: {how}");
    crash(&how);
    println!("still alive");
}
