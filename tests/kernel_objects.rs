//! Kernel objects end to end (issue 12): one C program using pipes,
//! eventfd, poll, select, epoll (Go's netpoller pattern included) and
//! files in /tmp (tmpfile, mkstemp, mkdtemp, a current directory, relative
//! paths, rename, link, readdir) on non-blocking paths and zero timeouts
//! must print exactly what it prints natively, with glibc and with musl.

mod support;

use support::*;

fn same(backend: Backend, tc: Toolchain) {
    let Some(bin) = build(tc, "c/kobjects.c") else {
        return;
    };
    let r = assert_same_as_native(backend, &bin, &[], &[], b"");
    assert_eq!(r.status, 0, "{}", r.stdout_text());
    assert!(r.stdout_text().ends_with("done\n"), "{}", r.stdout_text());
}

on_every_backend! {
    fn glibc(backend) { same(backend, C_GLIBC) }
    fn musl(backend) { same(backend, C_MUSL) }
}
