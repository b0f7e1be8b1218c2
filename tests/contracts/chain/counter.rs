//! The local chain's counter contract (issue 14); counter.c documents it.
//! Same behaviour and bytes as counter.c and counter.go.

use std::os::unix::ffi::OsStringExt;
use std::process::exit;

fn fail(code: i32, msg: &str) -> ! {
    eprint!("{msg}");
    exit(code)
}

/// A u64 in decimal: 1 to 20 digits, nothing else.
fn parse_u64(s: &[u8]) -> Option<u64> {
    let digits = s.len() <= 20 && s.iter().all(u8::is_ascii_digit);
    std::str::from_utf8(s).ok().filter(|_| digits)?.parse().ok()
}

fn stored_counter() -> u64 {
    match std::env::var_os("DB_COUNTER").map(|v| v.into_vec()) {
        Some(v) if !v.is_empty() => {
            parse_u64(&v).unwrap_or_else(|| fail(3, "bad stored counter\n"))
        }
        _ => 0,
    }
}

fn main() {
    let args: Vec<Vec<u8>> = std::env::args_os().skip(1).map(|a| a.into_vec()).collect();
    let out = match (args.first().map(Vec::as_slice), args.len()) {
        (Some(b"construct"), 1) => "DBW=COUNTER=0\n".to_string(),
        (Some(b"increment"), 1 | 2) => {
            let n = match args.get(1) {
                Some(a) => parse_u64(a).unwrap_or_else(|| fail(2, "bad amount\n")),
                None => 1,
            };
            let v = stored_counter()
                .checked_add(n)
                .unwrap_or_else(|| fail(1, "counter overflow\n"));
            format!("DBW=COUNTER={v}\nOUT=incremented {v}\n{v}\n")
        }
        (Some(b"get"), 1) => format!("{}\n", stored_counter()),
        _ => fail(2, "usage: counter construct | increment [N] | get\n"),
    };
    print!("{out}");
}
