// Prints what would be nondeterministic on a real host: randomness from
// getrandom (a raw system call), /dev/urandom and AT_RANDOM, std's
// randomly keyed HashMap order, the wall clock and the monotonic clock.
// Checked against a golden file for the corpus's fixed block context.
use std::arch::asm;
use std::collections::HashMap;
use std::io::Read;
use std::time::{Instant, SystemTime, UNIX_EPOCH};

const SYS_GETRANDOM: u64 = 318;
const AT_RANDOM: u64 = 25;

extern "C" {
    fn getauxval(kind: u64) -> u64;
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// getrandom(2) without libc: the result, negative for an error.
fn getrandom(buf: &mut [u8]) -> i64 {
    let ret: i64;
    // SAFETY: the kernel writes at most buf.len() bytes into buf.
    unsafe {
        asm!(
            "syscall",
            inlateout("rax") SYS_GETRANDOM as i64 => ret,
            in("rdi") buf.as_mut_ptr(),
            in("rsi") buf.len(),
            in("rdx") 0,
            lateout("rcx") _,
            lateout("r11") _,
            options(nostack),
        );
    }
    ret
}

fn main() -> std::io::Result<()> {
    let mut buf = [0u8; 16];
    let n = getrandom(&mut buf);
    println!("getrandom={} ({n})", hex(&buf));
    std::fs::File::open("/dev/urandom")?.read_exact(&mut buf)?;
    println!("urandom={}", hex(&buf));
    // SAFETY: AT_RANDOM points at 16 bytes the kernel placed on the stack.
    let at_random = unsafe { std::slice::from_raw_parts(getauxval(AT_RANDOM) as *const u8, 16) };
    println!("at_random={}", hex(at_random));
    let map: HashMap<u32, ()> = (0..8).map(|k| (k, ())).collect();
    println!("hashmap_order={:?}", map.keys().collect::<Vec<_>>());
    let now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap_or_default();
    println!("realtime={}", now.as_secs());
    let t0 = Instant::now();
    println!("monotonic_step_ns={}", t0.elapsed().as_nanos());
    println!("pid={}", std::process::id());
    Ok(())
}
