// Exceeding the memory limit: allocations fail as on Linux (the allocator
// reports failure, mmap gives ENOMEM, brk leaves the break unchanged) and
// the program carries on once it frees memory.
//
// qvm runs the call with its default 256 MiB limit. Natively the program
// sets RLIMIT_AS to the same 256 MiB first (qvm records that setrlimit;
// its own limit is what binds). The two limits count slightly different
// things (qvm: committed mappings, the whole 8 MiB stack included;
// RLIMIT_AS: address space), so the exact point of failure differs by a
// few MiB and only facts true under both are printed.
use std::ffi::c_void;
use std::io::Error;
use std::ptr::null_mut;

const LIMIT_MIB: usize = 256;
const RLIMIT_AS: i32 = 9;
const SYS_BRK: i64 = 12;

extern "C" {
    fn setrlimit(resource: i32, limit: *const [u64; 2]) -> i32;
    fn mmap(addr: *mut c_void, len: usize, prot: i32, flags: i32, fd: i32, off: i64)
        -> *mut c_void;
    fn syscall(nr: i64, ...) -> i64;
}

fn yes(b: bool) -> &'static str {
    if b {
        "yes"
    } else {
        "no"
    }
}

/// 1 MiB blocks until the allocator refuses one (or the limit is passed).
fn fill() -> Vec<Vec<u8>> {
    let mut blocks = Vec::with_capacity(LIMIT_MIB);
    while blocks.len() < LIMIT_MIB {
        let mut b: Vec<u8> = Vec::new();
        if b.try_reserve_exact(1 << 20).is_err() {
            break;
        }
        b.resize(4096, blocks.len() as u8); // use it
        blocks.push(b);
    }
    blocks
}

fn main() {
    let limit = [(LIMIT_MIB as u64) << 20; 2];
    println!("setrlimit(RLIMIT_AS)={}", unsafe {
        setrlimit(RLIMIT_AS, &limit)
    });
    let blocks = fill();
    let n = blocks.len();
    println!(
        "allocation refused between 200 and 256 MiB: {}",
        yes((200..LIMIT_MIB).contains(&n))
    );
    // SAFETY: an anonymous mapping request and brk queries touch no memory.
    let (m, err) = unsafe {
        (
            mmap(null_mut(), 16 << 20, 3, 0x22, -1, 0),
            Error::last_os_error(),
        )
    };
    println!(
        "mmap 16 MiB: {}",
        if m as isize == -1 {
            err.to_string()
        } else {
            "mapped".into()
        }
    );
    let brk0 = unsafe { syscall(SYS_BRK, 0usize) };
    println!(
        "brk +16 MiB unchanged: {}",
        yes(unsafe { syscall(SYS_BRK, brk0 + (16 << 20)) } == brk0)
    );
    let intact = blocks
        .iter()
        .enumerate()
        .all(|(i, b)| b[0] == i as u8 && b[4095] == i as u8);
    println!("blocks intact: {}", yes(intact));
    drop(blocks);
    let again = vec![1u8; 64 << 20];
    println!(
        "64 MiB after freeing: {}",
        if again[(64 << 20) - 1] == 1 {
            "ok"
        } else {
            "failed"
        }
    );
}
