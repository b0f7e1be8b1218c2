//! Determinism: the same call gives byte-identical outcomes; randomness
//! follows the block hash; clocks read the block time; the QVM protocol
//! is reported in `--json`.

mod support;

use serde_json::Value;
use support::*;

const HASH_A: &str = "00000000000000000000000000000000000000000000000000000000000000ab";
const HASH_B: &str = "00000000000000000000000000000000000000000000000000000000000000ac";

fn json(
    backend: Backend,
    bin: &std::path::Path,
    options: &[&str],
    env: &[(&str, &str)],
) -> (String, Value) {
    let mut opts = vec!["--json"];
    opts.extend_from_slice(options);
    let r = qvm(backend, bin, &opts, &["arg"], env, b"");
    assert!(r.stderr.is_empty(), "{}", r.stderr_text());
    let text = r.stdout_text();
    let v: Value = serde_json::from_str(&text).unwrap();
    (text, v)
}

fn line<'a>(v: &'a Value, key: &str) -> &'a str {
    let out = v["stdout"].as_str().unwrap();
    out.lines()
        .find(|l| l.starts_with(key))
        .unwrap_or_else(|| panic!("no {key} in {out}"))
}

on_every_backend! {
    fn same_call_same_bytes_on_glibc_and_musl(backend) {
    for tc in [C_GLIBC, C_MUSL] {
        let Some(bin) = build(tc, "c/entropy.c") else {
            continue;
        };
        let opts = [
            "--trace",
            "--block-hash",
            HASH_A,
            "--block-time",
            "1700000000",
        ];
        let (a, _) = json(backend, &bin, &opts, &[("K", "v")]);
        let (b, _) = json(backend, &bin, &opts, &[("K", "v")]);
        assert_eq!(a, b, "{}: two runs differ", tc.name);
    }
}

    fn randomness_follows_the_block_hash(backend) {
    let Some(bin) = build(C_GLIBC, "c/entropy.c") else {
        return;
    };
    let (_, a) = json(backend, &bin, &["--block-hash", HASH_A], &[]);
    let (_, b) = json(backend, &bin, &["--block-hash", HASH_B], &[]);
    for key in ["getrandom=", "urandom=", "at_random="] {
        assert_ne!(
            line(&a, key),
            line(&b, key),
            "{key} must depend on the block hash"
        );
        assert_ne!(line(&a, key), format!("{key}{}", "00".repeat(16)));
    }
    assert_ne!(
        line(&a, "getrandom="),
        line(&a, "urandom="),
        "one stream, consumed in order"
    );
    assert_eq!(line(&a, "time="), line(&b, "time="));
}

    fn clocks_read_the_block_time(backend) {
    let Some(bin) = build(C_GLIBC, "c/entropy.c") else {
        return;
    };
    let (_, v) = json(backend, &bin, &["--block-time", "1700000000"], &[]);
    assert_eq!(line(&v, "time="), "time=1700000000");
    assert_eq!(line(&v, "realtime="), "realtime=1700000000");
    assert_eq!(line(&v, "gettimeofday="), "gettimeofday=1700000000");
    assert_eq!(line(&v, "uname="), "uname=Linux x86_64");
}

    fn protocol_state_in_json(backend) {
    let Some(bin) = build(C_GLIBC, "c/protocol.c") else {
        return;
    };
    let (_, ok) = json(backend, &bin, &[], &[("DB_COUNTER", "41")]);
    assert_eq!(ok["failed"], Value::Bool(false));
    assert_eq!(ok["exit_code"], 0);
    assert_eq!(ok["state"]["writes"][0]["key"], "COUNTER");
    assert_eq!(ok["state"]["writes"][0]["value"], "42");
    assert_eq!(ok["state"]["deletes"], serde_json::json!(["OLD", "STALE"]));
    assert_eq!(ok["state"]["events"][0], "counted 42");
    assert_eq!(ok["backend"], backend.as_str());
    assert!(ok["syscalls"].as_u64().unwrap() > 3);
    // Writing to stderr fails the call and discards its writes.
    let r = qvm(backend, &bin, &["--json"], &["fail"], &[("DB_COUNTER", "1")], b"");
    let failed: Value = serde_json::from_str(&r.stdout_text()).unwrap();
    assert_eq!(failed["failed"], Value::Bool(true));
    assert_eq!(failed["stderr"], "refusing\n");
    assert_eq!(failed["state"]["writes"], serde_json::json!([]));
}
}
