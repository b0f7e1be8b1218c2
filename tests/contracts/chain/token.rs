//! The local chain's token contract (issue 14); token.c documents it.
//! Same behaviour and bytes as token.c and token.go.

use std::io::ErrorKind;
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

fn amount_arg(s: &[u8]) -> u64 {
    parse_u64(s).unwrap_or_else(|| fail(2, "bad amount\n"))
}

fn valid_name(s: &[u8]) -> bool {
    !s.is_empty() && s.iter().all(|c| c.is_ascii_alphanumeric() || *c == b'_')
}

/// A name argument, as text (a valid name is ASCII).
fn name_arg(s: &[u8]) -> String {
    if !valid_name(s) {
        fail(2, "bad name\n");
    }
    String::from_utf8_lossy(s).into_owned()
}

fn sender() -> String {
    match std::env::var_os("QVM_SENDER").map(|v| v.into_vec()) {
        Some(s) if valid_name(&s) => String::from_utf8_lossy(&s).into_owned(),
        _ => fail(2, "bad sender\n"),
    }
}

fn balance_of(name: &str) -> u64 {
    match std::fs::read(format!("/state/bal_{name}")) {
        Ok(v) if v.is_empty() => 0,
        Ok(v) => parse_u64(&v).unwrap_or_else(|| fail(3, "bad stored balance\n")),
        Err(e) if e.kind() == ErrorKind::NotFound => 0,
        Err(_) => fail(3, "cannot read state\n"),
    }
}

/// The state change that stores `balance` for `name`.
fn put_balance(out: &mut String, name: &str, balance: u64) {
    out.push_str(&match balance {
        0 => format!("DBP=bal_{name}\n"),
        b => format!("DBW=bal_{name}={b}\n"),
    });
}

fn main() {
    let args: Vec<Vec<u8>> = std::env::args_os().skip(1).map(|a| a.into_vec()).collect();
    let mut out = String::new();
    match (args.first().map(Vec::as_slice), args.len()) {
        (Some(b"construct"), 1 | 2) => {
            let owner = sender();
            let supply = args.get(1).map_or(1_000_000, |a| amount_arg(a));
            put_balance(&mut out, &owner, supply);
            out.push_str(&format!("DBW=supply={supply}\n"));
        }
        (Some(b"transfer"), 3) => {
            let from = sender();
            let to = name_arg(&args[1]);
            let amount = amount_arg(&args[2]);
            let from_balance = balance_of(&from);
            let Some(left) = from_balance.checked_sub(amount) else {
                fail(1, "insufficient balance\n")
            };
            // To oneself: no balance changes.
            if from != to {
                let Some(to_balance) = balance_of(&to).checked_add(amount) else {
                    fail(1, "balance overflow\n")
                };
                put_balance(&mut out, &from, left);
                put_balance(&mut out, &to, to_balance);
            }
            out.push_str(&format!("OUT=transfer {from} {to} {amount}\n"));
        }
        (Some(b"balance"), 2) => out = format!("{}\n", balance_of(&name_arg(&args[1]))),
        _ => fail(
            2,
            "usage: token construct [SUPPLY] | transfer TO AMOUNT | balance NAME\n",
        ),
    }
    print!("{out}");
}
