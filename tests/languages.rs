//! Hello worlds in every language qvm supports: arguments, one environment
//! variable and stdout must match native execution exactly.

mod support;

use support::*;

fn hello(backend: Backend, tc: Toolchain, source: &str) {
    let Some(bin) = build(tc, source) else { return };
    let run = assert_same_as_native(
        backend,
        &bin,
        &["world", "-x", "two words"],
        &[("GREETING", "hi there")],
        b"",
    );
    assert_eq!(run.status, 0);
    assert_eq!(
        run.stdout_text(),
        "hello world -x two words\nGREETING=hi there\n",
        "{}",
        tc.name
    );
}

macro_rules! hello_tests {
    ($($name:ident: $tc:expr, $src:expr;)*) => {
        on_every_backend! { $(fn $name(backend) { hello(backend, $tc, $src); })* }
    };
}

hello_tests! {
    c_glibc: C_GLIBC, "hello.c";
    c_glibc_static_pie: C_GLIBC_PIE, "hello.c";
    c_musl: C_MUSL, "hello.c";
    cpp: CPP, "hello.cpp";
    rust_static_pie: RUST, "hello.rs";
    rust_static: RUST_NOPIE, "hello.rs";
    zig: ZIG, "hello.zig";
    fortran: FORTRAN, "hello.f90";
    pascal: PASCAL, "hello.pas";
    ada: ADA, "hello.adb";
    d: D, "hello.d";
    nim: NIM, "hello.nim";
    ocaml: OCAML, "hello.ml";
    haskell: HASKELL, "hello.hs";
}
