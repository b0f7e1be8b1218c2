// The conformance contract in Rust: arguments, environment, stdin, a growing
// heap vector, the QVM protocol and an exit status.
use std::io::{Read, Write};

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let status: i32 = args.get(1).and_then(|s| s.parse().ok()).unwrap_or(0);
    let words = if args.len() > 2 { &args[2..] } else { &[][..] };
    let stdout = std::io::stdout();
    let mut out = stdout.lock();
    writeln!(out, "args={}", words.len()).unwrap();
    for (i, w) in words.iter().enumerate() {
        writeln!(out, "arg{}={}", i + 1, w).unwrap();
    }

    let counter = std::env::var("DB_COUNTER").ok();
    writeln!(out, "counter={}", counter.as_deref().unwrap_or("(unset)")).unwrap();

    let mut input = Vec::new();
    std::io::stdin().read_to_end(&mut input).unwrap();
    let lines = input.iter().filter(|&&b| b == b'\n').count();
    writeln!(out, "stdin_bytes={}", input.len()).unwrap();
    writeln!(out, "stdin_lines={}", lines).unwrap();

    // The vector grows one element at a time (push reallocates).
    let mut xs: Vec<i64> = Vec::new();
    for i in 0..100000i64 {
        xs.push((i * i) % 1000003);
    }
    let sum: i64 = xs.iter().sum();
    writeln!(out, "heap_sum={}", sum).unwrap();

    let n: i64 = counter.and_then(|c| c.parse().ok()).unwrap_or(0);
    writeln!(out, "DBW=COUNTER={}", n + 1).unwrap();
    writeln!(out, "DBP=OLD").unwrap();
    writeln!(out, "OUT=rust done").unwrap();
    out.flush().unwrap();
    drop(out);
    std::process::exit(status);
}
