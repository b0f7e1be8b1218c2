// Deep recursion to the documented stack limit: qvm's stack is 8 MiB
// (README, "The contract protocol"), Linux's default `ulimit -s` is the
// same. This recursion uses over 7 MiB of it in ~1 KiB frames, safely
// under the limit, and must return normally with the same result
// everywhere.
use std::hint::black_box;

const DEPTH: u64 = 7168; // 1 KiB of pad each: 7 MiB

#[inline(never)]
fn down(n: u64, acc: u64, deepest: &mut usize) -> u64 {
    let mut pad = [0u8; 1000];
    pad[0] = n as u8;
    pad[999] = (acc >> 7) as u8;
    let pad = black_box(&mut pad);
    if n == 0 {
        *deepest = pad.as_ptr() as usize;
        return acc;
    }
    // Using pad after the call keeps this from becoming a loop.
    let r = down(n - 1, acc.wrapping_mul(31).wrapping_add(n), deepest);
    r.wrapping_add(u64::from(pad[0]) + u64::from(pad[999]))
}

fn main() {
    let top = black_box(0u8);
    let top_addr = &top as *const u8 as usize;
    let mut deepest = 0usize;
    let r = down(DEPTH, 1, &mut deepest);
    // Frame sizes are fixed by the binary, so the whole MiB count is the
    // same on every run; the exact start of the stack is not.
    let used = top_addr - deepest;
    println!("depth={DEPTH} result={r} stack_used_mib={}", used >> 20);
}
