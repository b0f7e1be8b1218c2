//! C programs that exercise the kernel (sorting, libm and x87, malloc
//! churn with mmap-served blocks, stdin, megabytes of output, the memory
//! syscalls) and crashes: each must behave exactly as natively, with glibc
//! and with musl.

mod support;

use support::*;

fn same(backend: Backend, tc: Toolchain, source: &str, stdin: &[u8]) -> Option<Run> {
    let bin = build(tc, &format!("c/{source}"))?;
    Some(assert_same_as_native(backend, &bin, &[], &[], stdin))
}

macro_rules! c_tests {
    ($($name:ident: $src:expr, $stdin:expr, $status:expr;)*) => {
        mod glibc { use super::*; on_every_backend! { $(fn $name(backend) { if let Some(r) = same(backend, C_GLIBC, $src, $stdin) { assert_eq!(r.status, $status); } })* } }
        mod musl { use super::*; on_every_backend! { $(fn $name(backend) { if let Some(r) = same(backend, C_MUSL, $src, $stdin) { assert_eq!(r.status, $status); } })* } }
    };
}

const TEXT: &[u8] = b"first line of input\nsecond\n\nfourth line, then no newline";

c_tests! {
    sort: "sort.c", b"", 0;
    math: "math.c", b"", 0;
    malloc_churn: "malloc.c", b"", 0;
    stdin: "stdin.c", TEXT, 0;
    big_output: "bigout.c", b"", 0;
    memory_syscalls: "mmap.c", b"", 0;
    self_modifying_code: "jit.c", b"", 0;
    crash_null_pointer: "crash_null.c", b"", 128 + 11;
    crash_divide_by_zero: "crash_div.c", b"", 128 + 8;
    crash_write_to_text: "crash_text.c", b"", 128 + 11;
    crash_abort: "crash_abort.c", b"", 128 + 6;
    exit_code: "exit_code.c", b"", 42;
}

on_every_backend! {
    fn big_output_is_megabytes(backend) {
        let Some(bin) = build(C_GLIBC, "c/bigout.c") else { return };
        let r = qvm(backend, &bin, &[], &[], &[], b"");
        assert!(r.stdout.len() > 6 << 20, "{} bytes", r.stdout.len());
    }

    fn large_stdin(backend) {
        let Some(bin) = build(C_GLIBC, "c/stdin.c") else { return };
        let input: Vec<u8> = (0..3_000_000u32).map(|i| if i % 97 == 0 { b'\n' } else { b'a' + (i % 26) as u8 }).collect();
        assert_same_as_native(backend, &bin, &[], &[], &input);
    }
}
