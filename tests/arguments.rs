//! Everything after CONTRACT belongs to the contract: words that look like
//! qvm's own options reach the contract's argv unparsed, for `qvm run` and
//! `qvm diff`. A node forwarding a user's arguments must not let them pick
//! qvm's stdin file, environment, block context, output format or backend.

mod support;

use support::*;

/// Every option `run` or `diff` knows, as a contract argument, each with a
/// value that would change the outcome if qvm parsed it.
const SMUGGLED: &[&[&str]] = &[
    &["--stdin", "/etc/hostname"],
    &["--env", "DB_KEY=stolen"],
    &[
        "--block-hash",
        "0x1111111111111111111111111111111111111111111111111111111111111111",
    ],
    &["--block-time", "99"],
    &["--memory", "1M"],
    &["--backend", "kvm"],
    &["--json"],
    &["--trace"],
    &["--native"],
    &["--help"],
    &["--version"],
    &["-h"],
    &["-V"],
    &["--"],
    &["--no-such-option"],
];

fn expected(words: &[&str]) -> String {
    words.iter().map(|w| format!("[{w}]\n")).collect()
}

on_every_backend! {
    fn run_passes_options_after_the_contract_to_it(backend) {
    let Some(bin) = build(C_GLIBC, "c/args.c") else { return };
    for words in SMUGGLED {
        let run = qvm(backend, &bin, &[], words, &[], b"");
        assert_eq!(run.status, 0, "{words:?}: {}", run.stderr_text());
        assert_eq!(run.stdout_text(), expected(words), "{words:?}");
        assert_eq!(run.stderr_text(), "", "{words:?}");
    }
}

    fn the_first_argument_ends_qvms_options_even_after_plain_words(backend) {
    let Some(bin) = build(C_GLIBC, "c/args.c") else { return };
    let words = ["plain", "--stdin", "/etc/hostname", "--json"];
    let run = qvm(backend, &bin, &[], &words, &[], b"");
    assert_eq!(run.stdout_text(), expected(&words));
}
}

#[test]
fn diff_passes_options_after_the_contract_to_it() {
    let Some(bin) = build(C_GLIBC, "c/args.c") else {
        return;
    };
    let bin = bin.to_str().unwrap();
    for words in SMUGGLED {
        let mut args = vec!["diff", bin];
        args.extend_from_slice(words);
        let (status, stdout, stderr) = qvm_command(&args);
        assert_eq!(status, 0, "{words:?}: {stdout}{stderr}");
        // With --native parsed, diff would run the contract natively.
        assert!(!stdout.contains("native:"), "{words:?}: {stdout}");
        let summary = format!("emu: exit 0, {} bytes stdout", expected(words).len());
        assert!(stdout.starts_with(&summary), "{words:?}: {stdout}");
    }
}

#[test]
fn options_before_the_contract_still_apply() {
    let Some(bin) = build(C_GLIBC, "c/args.c") else {
        return;
    };
    let (status, stdout, _) = qvm_command(&[
        "run",
        "--backend",
        "emu",
        "--json",
        bin.to_str().unwrap(),
        "--json",
    ]);
    assert_eq!(status, 0);
    let doc: serde_json::Value = serde_json::from_str(&stdout).unwrap();
    assert_eq!(doc["stdout"], "[--json]\n", "{stdout}");
}

#[test]
fn a_missing_contract_is_one_error_line() {
    let (status, _, stderr) = qvm_command(&["run", "--backend", "emu"]);
    assert_eq!(status, 125);
    assert_eq!(stderr.lines().count(), 1, "{stderr}");
    assert!(stderr.starts_with("qvm: error:"), "{stderr}");
}
