// stderr beside stdout: eprintln!, an io::Error's message, a large block,
// then a non-zero exit. Each stream is compared byte for byte (qvm keeps
// them apart, so their interleaving is not compared).
use std::io::Write;

fn main() {
    for i in 0..100 {
        println!("out {i}");
        eprintln!("err {i}: {}", if i % 2 == 1 { "odd" } else { "even" });
    }
    // ENOENT on qvm (no host files) and on any sane host.
    match std::fs::File::open("/nonexistent/qvm-conformance") {
        Ok(_) => eprintln!("open: unexpectedly opened"),
        Err(e) => eprintln!("open: {e}"),
    }
    let mut block = vec![b'e'; 100_000];
    block[99_999] = b'\n';
    if std::io::stderr().write_all(&block).is_err() {
        std::process::exit(1);
    }
    std::process::exit(3);
}
