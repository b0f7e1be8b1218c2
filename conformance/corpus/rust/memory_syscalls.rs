// mmap, munmap, mprotect, mremap, MAP_FIXED(_NOREPLACE), a PROT_NONE
// reservation and brk growth, through glibc's wrappers (std links glibc;
// std has no API for these). Prints results and errors, never addresses.
use std::ffi::c_void;
use std::io::Error;
use std::ptr::null_mut;

const PAGE: usize = 4096;
const PROT_NONE: i32 = 0;
const PROT_READ: i32 = 1;
const PROT_RW: i32 = 3;
const MAP_PRIVATE_ANON: i32 = 0x02 | 0x20;
const MAP_FIXED: i32 = 0x10;
const MAP_NORESERVE: i32 = 0x4000;
const MAP_FIXED_NOREPLACE: i32 = 0x10_0000;
const MREMAP_MAYMOVE: i32 = 1;
const MAP_FAILED: *mut u8 = !0usize as *mut u8;
const SYS_BRK: i64 = 12;

extern "C" {
    fn mmap(addr: *mut c_void, len: usize, prot: i32, flags: i32, fd: i32, off: i64)
        -> *mut c_void;
    fn munmap(addr: *mut c_void, len: usize) -> i32;
    fn mprotect(addr: *mut c_void, len: usize, prot: i32) -> i32;
    fn mremap(old: *mut c_void, old_len: usize, new_len: usize, flags: i32, ...) -> *mut c_void;
    fn syscall(nr: i64, ...) -> i64;
}

fn check(what: &str, ok: bool) {
    // Read errno before printing can change it.
    let err = Error::last_os_error();
    if ok {
        println!("{what:<28} ok");
    } else {
        println!("{what:<28} {err}");
    }
}

fn errno() -> Option<i32> {
    Error::last_os_error().raw_os_error()
}

fn map(addr: *mut u8, len: usize, prot: i32, flags: i32) -> *mut u8 {
    unsafe { mmap(addr.cast(), len, prot, MAP_PRIVATE_ANON | flags, -1, 0).cast() }
}

fn anonymous() {
    let a = map(null_mut(), 4 * PAGE, PROT_RW, 0);
    check("mmap rw", a != MAP_FAILED);
    // SAFETY (this block): every access is inside a mapping made above with
    // the protection it needs.
    unsafe {
        check("fresh memory is zero", *a == 0 && *a.add(4 * PAGE - 1) == 0);
        a.write_bytes(b'x', 4 * PAGE);
        check("mprotect ro", mprotect(a.cast(), PAGE, PROT_READ) == 0);
        check("mprotect rw", mprotect(a.cast(), PAGE, PROT_RW) == 0);
        *a = b'y';
        let b: *mut u8 = mremap(a.cast(), 4 * PAGE, 64 * PAGE, MREMAP_MAYMOVE).cast();
        check("mremap grow", b != MAP_FAILED);
        check(
            "mremap kept contents",
            *b == b'y' && *b.add(4 * PAGE - 1) == b'x' && *b.add(64 * PAGE - 1) == 0,
        );
        let c: *mut u8 = mremap(b.cast(), 64 * PAGE, 2 * PAGE, 0).cast();
        check("mremap shrink in place", c == b);
        check("munmap tail", munmap(c.add(PAGE).cast(), PAGE) == 0);
        check(
            "map fixed",
            map(c.add(PAGE), PAGE, PROT_RW, MAP_FIXED) == c.add(PAGE),
        );
        let e = map(c, PAGE, PROT_READ, MAP_FIXED_NOREPLACE);
        check(
            "fixed_noreplace refused",
            e == MAP_FAILED && errno() == Some(17),
        );
        check(
            "munmap unaligned fails",
            munmap(c.add(1).cast(), PAGE) != 0 && errno() == Some(22),
        );
        check(
            "mprotect unmapped fails",
            mprotect(c.add(2 * PAGE).cast(), PAGE, PROT_READ) != 0 && errno() == Some(12),
        );
        check("munmap all", munmap(c.cast(), 2 * PAGE) == 0);
    }
}

fn reservation() {
    let huge = 1usize << 36;
    let r = map(null_mut(), huge, PROT_NONE, MAP_NORESERVE);
    check("64 GiB PROT_NONE reserve", r != MAP_FAILED);
    // SAFETY: the 1 MiB in the middle is made writable before it is used.
    unsafe {
        let mid = r.add(huge / 2);
        check(
            "commit 1 MiB of it",
            mprotect(mid.cast(), 1 << 20, PROT_RW) == 0,
        );
        *mid.add(12345) = 7;
        check("committed memory works", *mid.add(12345) == 7);
        check("munmap reservation", munmap(r.cast(), huge) == 0);
    }
}

/// Grows the break by 8 MiB, uses it, shrinks it back; the results are
/// printed afterwards, since printing may use the heap, which glibc's
/// malloc keeps at the break.
fn brk() {
    let grown = 8i64 << 20;
    // SAFETY: the memory above the old break is used only while mapped.
    let (grew, zero, shrunk) = unsafe {
        let base = syscall(SYS_BRK, 0usize);
        let grew = syscall(SYS_BRK, base + grown) == base + grown;
        let p = base as *mut u8;
        let zero = grew && *p == 0 && *p.add(grown as usize - 1) == 0;
        if grew {
            p.write_bytes(1, grown as usize);
        }
        (grew, zero, syscall(SYS_BRK, base) == base)
    };
    check("brk grow 8 MiB", grew);
    check("brk memory is zero", zero);
    check("brk shrink", shrunk);
}

fn main() {
    anonymous();
    reservation();
    brk();
}
