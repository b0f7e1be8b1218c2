//! The local chain's command line end to end (issue 14): `qvm deploy`,
//! `call`, `query`, `state`, `blocks`, `tx` and `replay` through the qvm
//! binary, with the chain contracts of tests/contracts/chain. Transactions
//! are recorded on the emulator (a receipt holds the call's gas, which only
//! the emulator counts); the recorded history replays on every backend.

mod support;

use std::ffi::OsString;
use std::path::{Path, PathBuf};

use serde_json::{json, Value};
use support::*;

/// A chain in a fresh data directory, which no command has created yet.
struct Chain {
    dir: PathBuf,
}

impl Chain {
    fn new(name: &str) -> Chain {
        let dir = Path::new(env!("CARGO_TARGET_TMPDIR"))
            .join("chains")
            .join(format!("{name}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        Chain { dir }
    }

    /// `qvm COMMAND --data-dir DIR WORDS...`.
    fn qvm(&self, command: &str, words: &[&str]) -> Run {
        let mut args: Vec<OsString> = vec![command.into(), "--data-dir".into(), (&self.dir).into()];
        args.extend(words.iter().map(OsString::from));
        qvm_output(&args)
    }

    /// `qvm COMMAND` that must succeed; its stdout as text.
    fn ok(&self, command: &str, words: &[&str]) -> String {
        let run = self.qvm(command, words);
        assert_eq!(
            run.status,
            0,
            "qvm {command} {words:?}: {}",
            run.stderr_text()
        );
        run.stdout_text()
    }

    /// `qvm COMMAND --json`'s document and its status.
    fn json(&self, command: &str, words: &[&str]) -> (i32, Value) {
        let mut with_json = vec!["--json"];
        with_json.extend(words);
        let run = self.qvm(command, &with_json);
        let doc = serde_json::from_slice(&run.stdout).unwrap_or_else(|e| {
            panic!(
                "qvm {command} --json {words:?} (status {}): {e}; stderr: {}",
                run.status,
                run.stderr_text()
            )
        });
        (run.status, doc)
    }

    /// Deploys `bin` (its `construct` must succeed): its address.
    fn deploy(&self, options: &[&str], bin: &Path, args: &[&str]) -> String {
        let words = [options, &[path(bin)], args].concat();
        let stdout = self.ok("deploy", &words);
        let address = stdout
            .strip_suffix('\n')
            .and_then(|text| text.rsplit('\n').next())
            .unwrap_or_default();
        assert!(is_address(address), "{stdout:?}");
        address.to_string()
    }

    /// Every block, as `qvm blocks --json` lists them.
    fn blocks(&self) -> Vec<Value> {
        let (status, doc) = self.json("blocks", &["--limit", "100000"]);
        assert_eq!(status, 0);
        doc["blocks"].as_array().cloned().unwrap_or_default()
    }

    /// `qvm state ADDRESS --json`.
    fn state(&self, address: &str) -> Value {
        let (status, doc) = self.json("state", &[address]);
        assert_eq!(status, 0, "{doc}");
        doc
    }

    /// The stored receipt of transaction `hash`.
    fn receipt(&self, hash: &Value) -> Value {
        let (status, doc) = self.json("tx", &[hash.as_str().unwrap_or_default()]);
        assert_eq!(status, 0, "{doc}");
        doc["receipt"].clone()
    }
}

impl Drop for Chain {
    /// Keeps the chain of a failed test, for a look.
    fn drop(&mut self) {
        if !std::thread::panicking() {
            let _ = std::fs::remove_dir_all(&self.dir);
        }
    }
}

fn path(bin: &Path) -> &str {
    bin.to_str().expect("test paths are UTF-8")
}

fn is_address(text: &str) -> bool {
    text.len() == 42
        && text.starts_with("0x")
        && text[2..]
            .bytes()
            .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
}

/// A chain contract (tests/contracts/chain) built with C and glibc.
fn c_contract(name: &str) -> PathBuf {
    build(C_GLIBC, &format!("chain/{name}.c")).expect("gcc is always installed")
}

/// Asserts that `run` is one of qvm's own errors: status 125, nothing on
/// stdout, one `qvm: error:` line on stderr that contains `text`.
fn assert_error(run: &Run, text: &str) {
    let stderr = run.stderr_text();
    assert!(
        run.status == 125
            && run.stdout.is_empty()
            && stderr.starts_with("qvm: error: ")
            && stderr.ends_with('\n')
            && stderr.lines().count() == 1
            && stderr.contains(text),
        "expected one error line about {text:?}; got status {}, stdout {:?}, stderr {stderr:?}",
        run.status,
        run.stdout_text()
    );
}

/// The summary line a transaction prints on stderr without `--json`.
fn summary(receipt: &Value) -> String {
    let failure = match receipt["failure"].as_str() {
        Some(why) => format!(" ({why})"),
        None => String::new(),
    };
    format!(
        "qvm: block {} tx {}: {}{failure}\n",
        receipt["block_number"],
        receipt["tx_hash"].as_str().unwrap_or_default(),
        receipt["verdict"].as_str().unwrap_or_default()
    )
}

#[test]
fn deploy_prints_the_address_on_the_last_line_and_json_gives_the_receipt() {
    let chain = Chain::new("deploy");
    let counter = c_contract("counter");
    let run = chain.qvm("deploy", &[path(&counter)]);
    assert_eq!(run.status, 0, "{}", run.stderr_text());
    let stdout = run.stdout_text();
    let (contract_output, address) = stdout.trim_end().rsplit_once('\n').unwrap();
    assert_eq!(contract_output, "DBW=COUNTER=0");
    assert!(is_address(address), "{stdout:?}");

    let (_, block_1) = chain.json("tx", &[chain.blocks()[1]["tx_hash"].as_str().unwrap()]);
    let receipt = &block_1["receipt"];
    assert_eq!(run.stderr_text(), summary(receipt));
    assert_eq!(receipt["address"], address);
    assert_eq!(chain.ok("state", &[address]), "COUNTER=0\n");

    // The same code deployed again gets another address.
    let (status, receipt) = chain.json("deploy", &["--sender", "alice", path(&counter)]);
    assert_eq!(status, 0);
    let code = std::fs::read(&counter).unwrap();
    let expected = json!({
        "block_number": 2,
        "kind": {"deploy": {"code_hash": blake3::hash(&code).to_hex().as_str()}},
        "sender": "alice",
        "verdict": "ok",
        "exit_code": 0,
        "signal": null,
        "failure": null,
        "stdout": "DBW=COUNTER=0\n",
        "stdout_truncated": false,
        "stderr": "",
        "stderr_truncated": false,
        "events": [],
        "writes": [{"key": "COUNTER", "value": "0"}],
        "deletes": [],
    });
    for (field, value) in expected.as_object().unwrap() {
        assert_eq!(&receipt[field], value, "{field} in {receipt:#}");
    }
    assert!(receipt["gas_used"].as_u64().unwrap() > 0);
    assert_ne!(receipt["address"], address);
    assert_eq!(chain.receipt(&receipt["tx_hash"]), receipt);
    let head = chain.blocks().pop().unwrap();
    assert_eq!(
        (&head["hash"], &head["state_root"]),
        (&receipt["block_hash"], &receipt["state_root"])
    );
}

#[test]
fn a_failing_construct_is_recorded_and_creates_no_contract() {
    let chain = Chain::new("failed-deploy");
    let token = c_contract("token");
    // argv: construct x
    let (status, receipt) = chain.json("deploy", &["--sender", "alice", path(&token), "x"]);
    assert_eq!(status, 2);
    assert_eq!(
        (
            &receipt["verdict"],
            &receipt["failure"],
            &receipt["stderr"],
            &receipt["writes"]
        ),
        (
            &json!("failed"),
            &json!("exit status 2"),
            &json!("bad amount\n"),
            &json!([])
        )
    );
    assert_eq!(chain.receipt(&receipt["tx_hash"]), receipt);
    let address = receipt["address"].as_str().unwrap();
    assert_error(&chain.qvm("state", &[address]), "no contract at");
    assert_error(
        &chain.qvm("call", &[address, "balance", "alice"]),
        "no contract at",
    );
    assert_eq!(chain.blocks().len(), 2, "the call made no block");

    // Without --json: the contract's output, the summary, no address.
    let run = chain.qvm("deploy", &["--sender", "alice", path(&token), "x"]);
    assert_eq!(run.status, 2);
    assert_eq!(run.stdout_text(), "");
    let head = chain.blocks().pop().unwrap();
    let receipt = chain.receipt(&head["tx_hash"]);
    assert_eq!(
        run.stderr_text(),
        format!("bad amount\n{}", summary(&receipt))
    );
}

#[test]
fn what_cannot_run_is_refused_and_nothing_is_recorded() {
    let chain = Chain::new("refused");
    chain.deploy(&[], &c_contract("counter"), &[]);
    let file = |data: &[u8]| path(&tempfile(data)).to_string();
    let cases = [
        (file(b"#!/bin/sh\necho hi\n"), "not an ELF file"),
        (file(b""), "not an ELF file"),
        ("/bin/true".to_string(), "dynamically linked"),
        (file(b"x") + ".missing", "cannot read contract"),
    ];
    let blocks = chain.blocks();
    for (contract, error) in cases {
        assert_error(&chain.qvm("deploy", &[&contract]), error);
        assert_eq!(chain.blocks(), blocks, "deploying {contract}");
    }
}

#[test]
fn call_passes_sender_stdin_and_block_and_stores_outputs() {
    let chain = Chain::new("call");
    let kv = c_contract("kv");
    // Its construct's output does not end its last line; the address
    // still has a line of its own.
    let address = chain.deploy(&["--sender", "alice"], &kv, &[]);
    let deployed = chain.receipt(&chain.blocks()[1]["tx_hash"]);
    assert_eq!(deployed["stdout"], "DBW=owner=alice\nready");
    assert_eq!(chain.ok("state", &[&address, "owner"]), "alice");
    // A deploy takes no stdin: the ledger records none for construct.
    let input = tempfile(b"x");
    assert_error(
        &chain.qvm("deploy", &["--stdin", path(&input), path(&kv)]),
        "--stdin",
    );

    let value = b"line 1\n\xff\x00=,\nend";
    let input = tempfile(value);
    let run = chain.qvm(
        "call",
        &[
            "--sender",
            "bob",
            "--stdin",
            path(&input),
            &address,
            "put",
            "6b31",
        ],
    );
    assert_eq!(run.status, 0, "{}", run.stderr_text());
    let hex_value = hex::encode(value);
    assert_eq!(
        run.stdout_text(),
        format!("DBWX=6b31={hex_value}\nOUTX=6b31\n")
    );
    let head = chain.blocks().pop().unwrap();
    let receipt = chain.receipt(&head["tx_hash"]);
    assert_eq!(run.stderr_text(), summary(&receipt));
    assert_eq!(receipt["sender"], "bob");
    assert_eq!(receipt["events"], json!(["k1"]));
    assert_eq!(
        receipt["writes"],
        json!([{"key": "k1", "value": {"hex": hex_value}}])
    );
    // The value's bytes, exactly, from the store and from the contract.
    let stored = chain.qvm("state", &[&address, "k1"]);
    assert_eq!((stored.status, stored.stdout.as_slice()), (0, &value[..]));
    let read = chain.qvm("query", &[&address, "get", "6b31"]);
    assert_eq!((read.status, read.stdout.as_slice()), (0, &value[..]));

    let whoami = chain.qvm("call", &["--sender", "carol", &address, "whoami"]);
    assert_eq!(
        whoami.stdout_text(),
        format!("sender=carol address={address} block=3\n")
    );
    let (_, receipt) = chain.json("call", &[&address, "whoami"]);
    assert_eq!(
        receipt["stdout"],
        format!("sender=dev address={address} block=4\n")
    );
    let (_, deleted) = chain.json("call", &[&address, "del", "6b31"]);
    assert_eq!(deleted["deletes"], json!(["k1"]));
    assert_error(&chain.qvm("state", &[&address, "k1"]), "no key");
}

/// A call that fails: its options and arguments, the status and failure
/// it gives, and the output the contract printed.
struct Failing {
    contract: &'static str,
    options: &'static [&'static str],
    args: &'static [&'static str],
    status: i32,
    failure: &'static str,
    stdout: &'static str,
    stderr: &'static str,
}

const FAILING: &[Failing] = &[
    Failing {
        contract: "counter",
        options: &[],
        args: &["increment", "x"],
        status: 2,
        failure: "exit status 2",
        stdout: "",
        stderr: "bad amount\n",
    },
    Failing {
        contract: "counter",
        options: &["--gas-limit", "1000"],
        args: &["increment"],
        status: 137,
        failure: "out of gas",
        stdout: "",
        stderr: "",
    },
    Failing {
        contract: "kv",
        options: &[],
        args: &["fail"],
        status: 3,
        failure: "exit status 3",
        stdout: "DBW=owner=nobody\nDBP=owner\nOUT=failing\nabout to fail\n",
        stderr: "",
    },
    Failing {
        contract: "kv",
        options: &[],
        args: &["warn"],
        status: 1,
        failure: "wrote to stderr",
        stdout: "DBW=owner=nobody\nOUT=warning\n",
        stderr: "a warning\n",
    },
    Failing {
        contract: "kv",
        options: &["--sender", "eve"],
        args: &["steal"],
        status: 2,
        failure: "exit status 2",
        stdout: "",
        stderr: "",
    },
];

#[test]
fn a_failed_call_is_recorded_and_changes_no_state() {
    let chain = Chain::new("failing");
    let counter = chain.deploy(&[], &c_contract("counter"), &[]);
    chain.ok("call", &[&counter, "increment"]);
    let kv = chain.deploy(&["--sender", "alice"], &c_contract("kv"), &[]);
    let state = |chain: &Chain| (chain.state(&counter), chain.state(&kv));
    let before = state(&chain);
    for (n, case) in FAILING.iter().enumerate() {
        let address = if case.contract == "kv" { &kv } else { &counter };
        let words = [case.options, &[address.as_str()], case.args].concat();
        let run = chain.qvm("call", &words);
        let blocks = chain.blocks();
        assert_eq!(blocks.len(), 5 + n, "{:?}: one block", case.args);
        let receipt = chain.receipt(&blocks[4 + n]["tx_hash"]);
        assert_eq!(
            (run.status, run.stdout_text(), run.stderr_text()),
            (
                case.status,
                case.stdout.to_string(),
                format!("{}{}", case.stderr, summary(&receipt))
            ),
            "{:?}",
            case.args
        );
        let recorded = json!({
            "verdict": "failed", "failure": case.failure, "stdout": case.stdout,
            "stderr": case.stderr, "writes": [], "deletes": [], "events": [],
        });
        for (field, value) in recorded.as_object().unwrap() {
            assert_eq!(&receipt[field], value, "{field} of {:?}", case.args);
        }
        if case.failure == "out of gas" {
            assert_eq!(receipt["gas_used"], 1000);
            assert_eq!(receipt["signal"], 9);
        }
        assert_eq!(state(&chain), before, "{:?} changed the state", case.args);
    }
}

#[test]
fn query_prints_the_contracts_output_and_stores_nothing() {
    let chain = Chain::new("query");
    let counter = chain.deploy(&[], &c_contract("counter"), &[]);
    chain.ok("call", &[&counter, "increment"]);
    let kv = chain.deploy(&[], &c_contract("kv"), &[]);
    let before = (chain.blocks(), chain.state(&counter), chain.state(&kv));

    let cases: &[(&str, &[&str], i32, &str, &str)] = &[
        (&counter, &["get"], 0, "1\n", ""),
        (
            &counter,
            &["increment", "5"],
            0,
            "DBW=COUNTER=6\nOUT=incremented 6\n6\n",
            "",
        ),
        (&counter, &["increment", "x"], 2, "", "bad amount\n"),
        (
            &kv,
            &["fail"],
            3,
            "DBW=owner=nobody\nDBP=owner\nOUT=failing\nabout to fail\n",
            "",
        ),
    ];
    for (address, args, status, stdout, stderr) in cases {
        let run = chain.qvm("query", &[&[*address], *args].concat());
        assert_eq!(
            (
                run.status,
                run.stdout_text().as_str(),
                run.stderr_text().as_str()
            ),
            (*status, *stdout, *stderr),
            "{args:?}"
        );
    }
    // A query runs as the next block would.
    let run = chain.qvm("query", &["--sender", "q", &kv, "whoami"]);
    assert_eq!(
        run.stdout_text(),
        format!("sender=q address={kv} block=4\n")
    );
    let (status, execution) = chain.json("query", &[&counter, "increment"]);
    assert_eq!(status, 0);
    assert_eq!(
        execution["writes"],
        json!([{"key": "COUNTER", "value": "2"}])
    );
    assert_eq!(execution["events"], json!(["incremented 2"]));

    assert_eq!(
        (chain.blocks(), chain.state(&counter), chain.state(&kv)),
        before
    );
}

#[test]
fn state_lists_pairs_and_prints_one_values_bytes() {
    let chain = Chain::new("state");
    let kv = chain.deploy(&["--sender", "alice"], &c_contract("kv"), &[]);
    let put = |hex_key: &str, value: &[u8]| {
        let input = tempfile(value);
        chain.ok("call", &["--stdin", path(&input), &kv, "put", hex_key]);
    };
    put("6b", b"a\n\xff");
    put("00ff", b"\x00bin");

    assert_eq!(
        chain.ok("state", &[&kv]),
        "0x00ff=0x0062696e\nk=0x610aff\nowner=alice\n"
    );
    assert_eq!(
        chain.state(&kv),
        json!({"address": kv, "state": [
            {"key": {"hex": "00ff"}, "value": "\u{0}bin"},
            {"key": "k", "value": {"hex": "610aff"}},
            {"key": "owner", "value": "alice"},
        ]})
    );
    let cases: &[(&[&str], &[u8])] = &[
        (&["k"], b"a\n\xff"),
        (&["--hex", "6b"], b"a\n\xff"),
        (&["--hex", "00FF"], b"\x00bin"),
        (&["owner"], b"alice"),
    ];
    for (words, value) in cases {
        let mut words = words.to_vec();
        words.insert(words.len() - 1, &kv);
        let run = chain.qvm("state", &words);
        assert_eq!(
            (run.status, run.stdout.as_slice(), run.stderr_text()),
            (0, *value, String::new()),
            "{words:?}"
        );
    }
    let errors: &[(&[&str], &str)] = &[
        (&["missing"], "no key \"missing\""),
        (&["--hex", "ff"], "no key"),
        (&["--hex", "zz"], "not hex"),
        (&["--hex", "0"], "not hex"),
    ];
    for (words, error) in errors {
        let mut words = words.to_vec();
        words.insert(words.len() - 1, &kv);
        assert_error(&chain.qvm("state", &words), error);
    }
}

#[test]
fn blocks_are_listed_chained_and_paged() {
    let chain = Chain::new("blocks");
    let counter = chain.deploy(&[], &c_contract("counter"), &[]);
    for _ in 0..3 {
        chain.ok("call", &[&counter, "increment"]);
    }
    let blocks = chain.blocks();
    assert_eq!(blocks.len(), 5);
    for (n, block) in blocks.iter().enumerate() {
        assert_eq!(block["number"], n);
        assert_eq!(block["timestamp"], 1_767_225_600 + n as u64);
        if n > 0 {
            assert_eq!(block["prev_hash"], blocks[n - 1]["hash"]);
            assert_ne!(block["state_root"], blocks[n - 1]["state_root"]);
        }
    }
    let text = chain.ok("blocks", &[]);
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(lines.len(), 5);
    for (line, block) in lines.iter().zip(&blocks) {
        let tx = match block["number"].as_u64() {
            Some(0) => "-",
            _ => block["tx_hash"].as_str().unwrap(),
        };
        let words = [
            block["number"].to_string(),
            block["timestamp"].to_string(),
            block["hash"].as_str().unwrap().to_string(),
            "tx".to_string(),
            tx.to_string(),
        ];
        assert_eq!(line.split_whitespace().collect::<Vec<_>>(), words);
    }
    let pages: &[(&[&str], &[u64])] = &[
        (&["--from", "2", "--limit", "2"], &[2, 3]),
        (&["--from", "3"], &[3, 4]),
        (&["--limit", "1"], &[0]),
        (&["--limit", "0"], &[]),
        (&["--from", "9"], &[]),
    ];
    for (words, numbers) in pages {
        let (status, doc) = chain.json("blocks", words);
        assert_eq!(status, 0);
        let got: Vec<u64> = doc["blocks"]
            .as_array()
            .unwrap()
            .iter()
            .map(|b| b["number"].as_u64().unwrap())
            .collect();
        assert_eq!(&got, numbers, "{words:?}");
        assert_eq!(chain.ok("blocks", words).lines().count(), numbers.len());
    }
}

#[test]
fn tx_shows_a_transaction_and_lookups_name_what_is_missing() {
    let chain = Chain::new("tx");
    let counter_bin = path(&c_contract("counter")).to_string();
    let counter = chain.deploy(&[], Path::new(&counter_bin), &[]);
    let (_, receipt) = chain.json("call", &["--sender", "bob", &counter, "increment", "7"]);
    let hash = receipt["tx_hash"].as_str().unwrap();
    let (status, doc) = chain.json("tx", &[hash]);
    assert_eq!(status, 0);
    assert_eq!(doc["receipt"], receipt);
    assert_eq!(doc["block"], chain.blocks()[2]);
    assert_eq!(
        doc["transaction"],
        json!({"kind": {"call": {"address": counter}}, "sender": "bob",
               "args": ["increment", "7"], "stdin": "", "gas_limit": 100_000_000_000u64})
    );
    let text = chain.ok("tx", &[hash]);
    assert_eq!(
        text,
        format!(
            "block 2 ({})\ntx {hash}\ncontract {counter}\nsender bob\nverdict ok\nexit code 0\n\
             gas {}\nwrite COUNTER=7\nevent incremented 7\n\
             stdout \"DBW=COUNTER=7\\nOUT=incremented 7\\n7\\n\"\nstderr \"\"\n",
            receipt["block_hash"].as_str().unwrap(),
            receipt["gas_used"]
        )
    );

    let unknown_tx = "ab".repeat(32);
    let unknown_address = format!("0x{}", "12".repeat(20));
    let errors: &[(&str, &[&str], &str)] = &[
        ("tx", &[&unknown_tx], "no transaction"),
        ("tx", &["zz"], "not a transaction hash"),
        ("tx", &[&hash[1..]], "not a transaction hash"),
        ("call", &[&unknown_address, "get"], "no contract at"),
        ("call", &["0x12", "get"], "not a contract address"),
        ("query", &[&unknown_address, "get"], "no contract at"),
        ("query", &[hash, "get"], "not a contract address"),
        ("state", &[&unknown_address], "no contract at"),
        ("state", &["counter"], "not a contract address"),
        // KVM cannot count the gas a receipt holds: it may only replay
        // and query.
        (
            "call",
            &["--backend", "kvm", &counter, "get"],
            "cannot count gas",
        ),
        (
            "deploy",
            &["--backend", "kvm", &counter_bin],
            "cannot count gas",
        ),
    ];
    let blocks = chain.blocks();
    for (command, words, error) in errors {
        assert_error(&chain.qvm(command, words), error);
    }
    assert_eq!(chain.blocks(), blocks);
}

#[test]
fn reads_of_a_missing_data_dir_fail_and_create_nothing() {
    let chain = Chain::new("missing");
    let address = format!("0x{}", "12".repeat(20));
    let hash = "ab".repeat(32);
    let reads: &[(&str, &[&str])] = &[
        ("state", &[&address]),
        ("state", &[&address, "key"]),
        ("blocks", &[]),
        ("tx", &[&hash]),
        ("query", &[&address, "get"]),
        ("replay", &[]),
    ];
    for (command, words) in reads {
        assert_error(&chain.qvm(command, words), "no chain in");
        assert!(
            !chain.dir.exists(),
            "qvm {command} created {}",
            chain.dir.display()
        );
    }
}

/// What a step of a history does.
#[derive(Clone, Copy)]
enum Kind {
    Deploy,
    Call,
}

/// One transaction of a history of the chain contracts and what it gives
/// in every language: kind, contract, qvm's options, the contract's
/// arguments, status, stdout.
type Step = (
    Kind,
    &'static str,
    &'static [&'static str],
    &'static [&'static str],
    i32,
    &'static str,
);

/// The counter and the token, through writes, deletes, events and failed
/// calls, one out of gas. The counter reads its state as `DB_COUNTER`, the token as
/// /state files.
#[rustfmt::skip]
const HISTORY: &[Step] = &[
    (Kind::Deploy, "counter", ALICE, &[], 0, "DBW=COUNTER=0\n"),
    (Kind::Call, "counter", ALICE, &["increment"], 0, "DBW=COUNTER=1\nOUT=incremented 1\n1\n"),
    (Kind::Call, "counter", BOB, &["increment", "41"], 0, "DBW=COUNTER=42\nOUT=incremented 42\n42\n"),
    (Kind::Call, "counter", BOB, &["increment", "x"], 2, ""),
    (Kind::Call, "counter", &["--gas-limit", "1000"], &["increment"], 137, ""),
    (Kind::Call, "counter", CAROL, &["get"], 0, "42\n"),
    (Kind::Deploy, "token", ALICE, &["1000"], 0, "DBW=bal_alice=1000\nDBW=supply=1000\n"),
    (Kind::Call, "token", ALICE, &["transfer", "bob", "300"], 0,
        "DBW=bal_alice=700\nDBW=bal_bob=300\nOUT=transfer alice bob 300\n"),
    (Kind::Call, "token", BOB, &["transfer", "carol", "301"], 1, ""),
    (Kind::Call, "token", BOB, &["transfer", "carol", "300"], 0,
        "DBP=bal_bob\nDBW=bal_carol=300\nOUT=transfer bob carol 300\n"),
    (Kind::Call, "token", CAROL, &["balance", "carol"], 0, "300\n"),
];

const ALICE: &[&str] = &["--sender", "alice"];
const BOB: &[&str] = &["--sender", "bob"];
const CAROL: &[&str] = &["--sender", "carol"];

/// The chain contracts' languages: toolchain, source extension.
const LANGUAGES: &[(Toolchain, &str)] = &[(C_GLIBC, "c"), (RUST, "rs"), (GO, "go")];

/// The counter and token of one language, if its toolchain is installed.
fn contracts(language: &(Toolchain, &str)) -> Option<[(&'static str, PathBuf); 2]> {
    let (tc, ext) = *language;
    let one = |name: &'static str| build(tc, &format!("chain/{name}.{ext}")).map(|bin| (name, bin));
    Some([one("counter")?, one("token")?])
}

/// Records HISTORY with `contracts` on `chain` (on the emulator); returns
/// each step's receipt and the contracts' addresses.
fn record(chain: &Chain, contracts: &[(&str, PathBuf)]) -> (Vec<Value>, Vec<(String, String)>) {
    let mut addresses: Vec<(String, String)> = Vec::new();
    let mut receipts = Vec::new();
    for &(kind, contract, options, args, expected_status, expected_stdout) in HISTORY {
        let (status, receipt) = match kind {
            Kind::Deploy => {
                let (_, bin) = contracts
                    .iter()
                    .find(|(name, _)| *name == contract)
                    .unwrap();
                let words = [options, &[path(bin)], args].concat();
                let (status, receipt) = chain.json("deploy", &words);
                let address = receipt["address"].as_str().unwrap_or_default().to_string();
                addresses.push((contract.to_string(), address));
                (status, receipt)
            }
            Kind::Call => {
                let (_, address) = addresses.iter().find(|(name, _)| name == contract).unwrap();
                let words = [options, &[address.as_str()], args].concat();
                chain.json("call", &words)
            }
        };
        assert_eq!(
            (status, receipt["stdout"].as_str().unwrap_or_default()),
            (expected_status, expected_stdout),
            "{contract} {args:?}: {receipt:#}"
        );
        receipts.push(receipt);
    }
    (receipts, addresses)
}

/// A receipt without what depends on the contract's bytes: hashes, the
/// address and gas.
fn language_neutral(receipt: &Value) -> Value {
    let mut receipt = receipt.clone();
    if let Some(fields) = receipt.as_object_mut() {
        for field in [
            "tx_hash",
            "block_hash",
            "kind",
            "address",
            "gas_used",
            "state_root",
        ] {
            fields.remove(field);
        }
    }
    receipt
}

/// The same history in C, Rust and Go gives byte-identical receipts
/// (stdout, stderr, events, writes, deletes, verdicts, exit codes) and the
/// same stored state. State roots cover addresses, which hash the code, so
/// they differ between languages; recording the same history twice must
/// give the same blocks, roots included.
#[test]
fn every_language_gives_the_same_receipts_and_state() {
    let mut histories = Vec::new();
    for language in LANGUAGES {
        let Some(contracts) = contracts(language) else {
            continue;
        };
        let chain = Chain::new(&format!("history-{}", language.0.name));
        let (receipts, addresses) = record(&chain, &contracts);
        let states: Vec<Value> = addresses
            .iter()
            .map(|(_, address)| chain.state(address)["state"].clone())
            .collect();
        let neutral: Vec<Value> = receipts.iter().map(language_neutral).collect();
        histories.push((language.0.name, chain, neutral, states));
    }
    let (first, chain, receipts, states) = &histories[0];
    assert_eq!(
        states,
        &[
            json!([{"key": "COUNTER", "value": "42"}]),
            json!([{"key": "bal_alice", "value": "700"}, {"key": "bal_carol", "value": "300"},
                   {"key": "supply", "value": "1000"}]),
        ]
    );
    for (name, _, other_receipts, other_states) in &histories[1..] {
        assert_eq!(other_states, states, "state: {name} vs {first}");
        for (n, (a, b)) in receipts.iter().zip(other_receipts).enumerate() {
            assert_eq!(a, b, "receipt {n}: {first} vs {name}");
        }
    }
    // The same history again, in the first language: the same blocks.
    let again = Chain::new("history-again");
    let contracts = contracts(&LANGUAGES[0]).expect("built above");
    record(&again, &contracts);
    assert_eq!(again.blocks(), chain.blocks());
}

// HISTORY in every language on one chain, recorded on the emulator,
// replays on each backend with every state root matching. KVM counts no
// gas: its replay runs the calls unmetered, takes each recorded gas and
// checks everything else.
on_every_backend! {
    fn a_recorded_history_replays(backend) {
        let chain = Chain::new(&format!("replay-{}", backend.as_str()));
        let mut blocks = 1;
        let mut out_of_gas = Vec::new();
        for language in LANGUAGES {
            if let Some(contracts) = contracts(language) {
                let (receipts, _) = record(&chain, &contracts);
                for receipt in receipts {
                    if receipt["failure"] == "out of gas" {
                        out_of_gas.push(blocks);
                    }
                    blocks += 1;
                }
            }
        }
        let transactions = blocks - 1;
        let timeout = qvm_conformance::runner::CALL_TIMEOUT.as_secs().to_string();
        let options = ["--backend", backend.as_str(), "--timeout", &timeout];
        // KVM runs the calls unmetered; it cannot tell where one that ran
        // out of gas would stop, so it takes those as recorded.
        let (gas, out_of_gas) = match backend {
            Backend::Emu => ("gas checked too".to_string(), Vec::new()),
            Backend::Kvm => {
                let list: Vec<String> = out_of_gas.iter().map(u64::to_string).collect();
                let gas = format!(
                    "gas not checked: this backend does not count it; \
                     out of gas as recorded, not run again: block {}",
                    list.join(", ")
                );
                (gas, out_of_gas)
            }
        };
        assert_eq!(
            chain.ok("replay", &options),
            format!(
                "replayed {blocks} blocks ({transactions} transactions): every state root matches ({gas})\n"
            )
        );
        let (status, report) = chain.json("replay", &options);
        assert_eq!(
            (status, report),
            (
                0,
                json!({"blocks": blocks, "transactions": transactions,
                       "gas_checked": backend == Backend::Emu,
                       "out_of_gas_taken": out_of_gas, "first_mismatch": null})
            )
        );
    }
}

/// Rewrites block `number`'s state root in the store at `dir`, through
/// redb, as docs/chain.md lays the store out (table `blocks`: number ->
/// postcard `Block`), leaving the block's hash as it was.
fn forge_state_root(dir: &Path, number: u64, root: [u8; 32]) {
    use redb::ReadableTable;
    const BLOCKS: redb::TableDefinition<u64, &[u8]> = redb::TableDefinition::new("blocks");
    let db = redb::Database::open(dir.join(qvm_chain::STORE_FILE)).unwrap();
    let write = db.begin_write().unwrap();
    {
        let mut blocks = write.open_table(BLOCKS).unwrap();
        let stored = blocks.get(number).unwrap().unwrap().value().to_vec();
        let mut block: qvm_chain::Block = postcard::from_bytes(&stored).unwrap();
        block.state_root = qvm_chain::Hash(root);
        let forged = postcard::to_allocvec(&block).unwrap();
        blocks.insert(number, forged.as_slice()).unwrap();
    }
    write.commit().unwrap();
}

#[test]
fn replay_finds_an_altered_history() {
    let chain = Chain::new("altered");
    let counter = chain.deploy(&[], &c_contract("counter"), &[]);
    chain.ok("call", &[&counter, "increment"]);
    chain.ok("call", &[&counter, "increment"]);
    let honest = chain.blocks()[2]["state_root"].clone();
    forge_state_root(&chain.dir, 2, [0xee; 32]);
    let run = chain.qvm("replay", &[]);
    assert_eq!(
        (run.status, run.stdout_text()),
        (
            1,
            format!(
                "replay differs: block 2: state root: the history has {}, the replay gave {}\n",
                "ee".repeat(32),
                honest.as_str().unwrap()
            )
        ),
        "{}",
        run.stderr_text()
    );
    let (status, report) = chain.json("replay", &[]);
    assert_eq!(status, 1);
    assert_eq!(
        report["first_mismatch"],
        json!({"block": 2, "what": "state root", "expected": "ee".repeat(32), "got": honest})
    );
}
