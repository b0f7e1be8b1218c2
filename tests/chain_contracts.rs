//! The local chain's example contracts (tests/contracts/chain, issue 14): a
//! counter and a token, each in C, Rust and Go, on every backend. Every
//! case asserts the call's status, stdout and stderr byte for byte, the
//! same in every language.

mod support;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use qvm::{Call, CallSpec, Outcome};
use qvm_common::state::{StateReadError, StateReader};
use qvm_conformance::compare::outcome_difference;
use serde_json::{json, Value};
use support::*;

/// Every chain contract is written in these: toolchain, source extension.
const LANGUAGES: &[(Toolchain, &str)] = &[(C_GLIBC, "c"), (RUST, "rs"), (GO, "go")];

/// `contract` (counter, token) built in every language installed here.
fn builds(contract: &str) -> Vec<PathBuf> {
    LANGUAGES
        .iter()
        .filter_map(|(tc, ext)| build(*tc, &format!("chain/{contract}.{ext}")))
        .collect()
}

/// One call and what it gives in every language.
struct Case {
    args: &'static [&'static str],
    env: &'static [(&'static str, &'static str)],
    status: i32,
    stdout: &'static str,
    stderr: &'static str,
}

/// A call that succeeds and prints `stdout`.
const fn ok(
    args: &'static [&'static str],
    env: &'static [(&'static str, &'static str)],
    stdout: &'static str,
) -> Case {
    Case {
        args,
        env,
        status: 0,
        stdout,
        stderr: "",
    }
}

/// A call that fails with `status`, saying `stderr` and printing nothing.
const fn fails(
    args: &'static [&'static str],
    env: &'static [(&'static str, &'static str)],
    status: i32,
    stderr: &'static str,
) -> Case {
    Case {
        args,
        env,
        status,
        stdout: "",
        stderr,
    }
}

impl Case {
    /// Asserts that `bin` gave what the case expects.
    fn assert_gives(&self, bin: &Path, status: i32, stdout: &[u8], stderr: &[u8]) {
        let text = |b: &[u8]| String::from_utf8_lossy(b).into_owned();
        assert_eq!(
            (status, text(stdout), text(stderr)),
            (self.status, self.stdout.into(), self.stderr.into()),
            "{} {:?} with {:?}",
            bin.display(),
            self.args,
            self.env
        );
    }
}

/// Cases of a table KVM runs: in the nested VM (ci/kvm-in-qemu.sh) a
/// `qvm run` costs seconds, and the whole tables took 5 minutes there.
const KVM_SLICE: usize = 5;

/// The cases `backend` runs: all on the emulator; on KVM the first
/// [`KVM_SLICE`] and the last, which cover success, failure and usage
/// (the rest test the contracts' argument parsing, not the backend).
fn slice_for(backend: Backend, contract: &str, cases: &[Case]) -> Vec<usize> {
    let all: Vec<usize> = (0..cases.len()).collect();
    if backend == Backend::Emu || cases.len() <= KVM_SLICE + 1 {
        return all;
    }
    eprintln!(
        "kvm: {contract}: cases 1-{KVM_SLICE} and {} of {}; skipped {}-{}: argument parsing, which the emulator checks",
        cases.len(),
        cases.len(),
        KVM_SLICE + 1,
        cases.len() - 1
    );
    all.into_iter()
        .filter(|&i| i < KVM_SLICE || i + 1 == cases.len())
        .collect()
}

/// Runs the cases of `backend`'s slice with `qvm run` on every build of
/// `contract`.
fn check(backend: Backend, contract: &str, cases: &[Case]) {
    let slice = slice_for(backend, contract, cases);
    for bin in builds(contract) {
        for case in slice.iter().filter_map(|&i| cases.get(i)) {
            let run = qvm(backend, &bin, &[], case.args, case.env, b"");
            case.assert_gives(&bin, run.status, &run.stdout, &run.stderr);
        }
    }
}

/// The `state` object of `qvm run --json` for each build of `contract`.
fn json_state(backend: Backend, contract: &str, args: &[&str], env: &[(&str, &str)]) -> Vec<Value> {
    builds(contract)
        .iter()
        .map(|bin| {
            let run = qvm(backend, bin, &["--json"], args, env, b"");
            let doc: Value = serde_json::from_str(&run.stdout_text()).unwrap();
            doc["state"].clone()
        })
        .collect()
}

const COUNTER_USAGE: &str = "usage: counter construct | increment [N] | get\n";
const TOKEN_USAGE: &str = "usage: token construct [SUPPLY] | transfer TO AMOUNT | balance NAME\n";
const ALICE: &[(&str, &str)] = &[("QVM_SENDER", "alice")];
const AT_41: &[(&str, &str)] = &[("DB_COUNTER", "41"), ("QVM_SENDER", "alice")];
const AT_MAX: &[(&str, &str)] = &[("DB_COUNTER", "18446744073709551615")];

const COUNTER: &[Case] = &[
    ok(&["construct"], ALICE, "DBW=COUNTER=0\n"),
    ok(&["increment"], &[], "DBW=COUNTER=1\nOUT=incremented 1\n1\n"),
    ok(&["increment"], AT_41, "DBW=COUNTER=42\nOUT=incremented 42\n42\n"),
    ok(&["increment", "9"], AT_41, "DBW=COUNTER=50\nOUT=incremented 50\n50\n"),
    ok(&["increment", "0"], AT_MAX, "DBW=COUNTER=18446744073709551615\nOUT=incremented 18446744073709551615\n18446744073709551615\n"),
    ok(&["get"], &[], "0\n"),
    ok(&["get"], AT_41, "41\n"),
    ok(&["get"], &[("DB_COUNTER", "")], "0\n"),
    fails(&["increment"], AT_MAX, 1, "counter overflow\n"),
    fails(&["increment", "x"], AT_41, 2, "bad amount\n"),
    fails(&["increment", "+1"], AT_41, 2, "bad amount\n"),
    fails(&["increment", "-1"], AT_41, 2, "bad amount\n"),
    fails(&["increment", ""], AT_41, 2, "bad amount\n"),
    fails(&["increment", "18446744073709551616"], &[], 2, "bad amount\n"),
    fails(&["increment", "1", "2"], &[], 2, COUNTER_USAGE),
    fails(&["get"], &[("DB_COUNTER", "4x")], 3, "bad stored counter\n"),
    fails(&["get", "now"], &[], 2, COUNTER_USAGE),
    fails(&["decrement"], &[], 2, COUNTER_USAGE),
    fails(&[], &[], 2, COUNTER_USAGE),
];

/// Token calls that read no state, or only absent keys (which stay absent
/// once /state is served: `qvm run` gives a contract no state).
const TOKEN: &[Case] = &[
    ok(
        &["construct"],
        ALICE,
        "DBW=bal_alice=1000000\nDBW=supply=1000000\n",
    ),
    ok(
        &["construct", "5"],
        &[("QVM_SENDER", "Bob_2")],
        "DBW=bal_Bob_2=5\nDBW=supply=5\n",
    ),
    ok(&["construct", "0"], ALICE, "DBP=bal_alice\nDBW=supply=0\n"),
    ok(&["balance", "nobody"], &[], "0\n"),
    fails(
        &["transfer", "bob", "1"],
        ALICE,
        1,
        "insufficient balance\n",
    ),
    fails(&["construct"], &[], 2, "bad sender\n"),
    fails(
        &["construct"],
        &[("QVM_SENDER", "al ice")],
        2,
        "bad sender\n",
    ),
    fails(&["construct"], &[("QVM_SENDER", "")], 2, "bad sender\n"),
    fails(&["construct", "1e6"], ALICE, 2, "bad amount\n"),
    fails(
        &["construct", "99999999999999999999"],
        ALICE,
        2,
        "bad amount\n",
    ),
    fails(&["transfer", "bob", "1"], &[], 2, "bad sender\n"),
    fails(&["transfer", "bob!", "1"], ALICE, 2, "bad name\n"),
    fails(&["transfer", "", "1"], ALICE, 2, "bad name\n"),
    fails(&["transfer", "bob", "-1"], ALICE, 2, "bad amount\n"),
    fails(&["transfer", "bob"], ALICE, 2, TOKEN_USAGE),
    fails(&["balance", "../bal_x"], &[], 2, "bad name\n"),
    fails(&["balance"], &[], 2, TOKEN_USAGE),
    fails(&["mint", "1"], ALICE, 2, TOKEN_USAGE),
    fails(&[], ALICE, 2, TOKEN_USAGE),
];

on_every_backend! {
    fn counter(backend) {
        check(backend, "counter", COUNTER);
    }

    fn counter_state_changes(backend) {
        for state in json_state(backend, "counter", &["increment", "2"], AT_41) {
            assert_eq!(
                state,
                json!({"writes": [{"key": "COUNTER", "value": "43"}], "deletes": [], "events": ["incremented 43"]})
            );
        }
    }

    fn token_without_state(backend) {
        check(backend, "token", TOKEN);
    }

    fn token_construct_state_changes(backend) {
        for state in json_state(backend, "token", &["construct", "7"], ALICE) {
            assert_eq!(
                state,
                json!({"writes": [{"key": "bal_alice", "value": "7"}, {"key": "supply", "value": "7"}], "deletes": [], "events": []})
            );
        }
    }

    fn token_reads_state(backend) {
        for bin in builds("token") {
            ledger(backend, &bin);
            broken_state(backend, &bin);
        }
    }
}

/// A state as the chain keeps it.
type State = BTreeMap<Vec<u8>, Vec<u8>>;

const BOB: &[(&str, &str)] = &[("QVM_SENDER", "bob")];
const CAROL: &[(&str, &str)] = &[("QVM_SENDER", "carol")];

/// A token's history, one call per block, from an empty state.
const LEDGER: &[Case] = &[
    ok(
        &["construct", "1000"],
        ALICE,
        "DBW=bal_alice=1000\nDBW=supply=1000\n",
    ),
    ok(&["balance", "alice"], BOB, "1000\n"),
    ok(
        &["transfer", "bob", "300"],
        ALICE,
        "DBW=bal_alice=700\nDBW=bal_bob=300\nOUT=transfer alice bob 300\n",
    ),
    ok(
        &["transfer", "carol", "300"],
        BOB,
        "DBP=bal_bob\nDBW=bal_carol=300\nOUT=transfer bob carol 300\n",
    ),
    ok(&["balance", "bob"], BOB, "0\n"),
    fails(
        &["transfer", "alice", "1"],
        BOB,
        1,
        "insufficient balance\n",
    ),
    ok(
        &["transfer", "carol", "300"],
        CAROL,
        "OUT=transfer carol carol 300\n",
    ),
    ok(
        &["transfer", "dave", "0"],
        CAROL,
        "DBW=bal_carol=300\nDBP=bal_dave\nOUT=transfer carol dave 0\n",
    ),
    ok(&["balance", "carol"], ALICE, "300\n"),
];

/// Runs LEDGER, applying each successful call's writes and deletes to
/// the state the next call reads.
fn ledger(backend: Backend, bin: &Path) {
    let mut state = State::new();
    for case in LEDGER {
        let outcome = call_with_state(backend, bin, case, Arc::new(state.clone()));
        case.assert_gives(bin, outcome.status(), &outcome.stdout, &outcome.stderr);
        if !outcome.failed {
            for w in &outcome.state.writes {
                state.insert(bytes(&w.key), bytes(&w.value));
            }
            for key in &outcome.state.deletes {
                state.remove(&bytes(key));
            }
        }
    }
    let entry = |k: &str, v: &str| (k.as_bytes().to_vec(), v.as_bytes().to_vec());
    let expected = State::from([
        entry("bal_alice", "700"),
        entry("bal_carol", "300"),
        entry("supply", "1000"),
    ]);
    assert_eq!(state, expected, "{}", bin.display());
}

/// A key or value of a call's state changes, as bytes.
fn bytes(key_or_value: &impl AsRef<[u8]>) -> Vec<u8> {
    key_or_value.as_ref().to_vec()
}

/// A store that fails every read: the contract sees EIO.
struct BrokenStore;

impl StateReader for BrokenStore {
    fn get(&self, _key: &[u8]) -> Result<Option<Vec<u8>>, StateReadError> {
        Err(StateReadError("the store is gone".into()))
    }
}

/// A read that fails and a stored balance that is not a number: exit 3.
fn broken_state(backend: Backend, bin: &Path) {
    let bad = State::from([(b"bal_alice".to_vec(), b"12x".to_vec())]);
    let cases: [(Arc<dyn StateReader>, Case); 2] = [
        (
            Arc::new(BrokenStore),
            fails(&["balance", "alice"], &[], 3, "cannot read state\n"),
        ),
        (
            Arc::new(bad),
            fails(&["transfer", "bob", "1"], ALICE, 3, "bad stored balance\n"),
        ),
    ];
    for (store, case) in cases {
        let outcome = call_with_state(backend, bin, &case, store);
        case.assert_gives(bin, outcome.status(), &outcome.stdout, &outcome.stderr);
    }
}

/// `case` on `bin` through the library API, reading `state` as /state
/// files; on KVM the emulator must agree.
fn call_with_state(
    backend: Backend,
    bin: &Path,
    case: &Case,
    state: Arc<dyn StateReader>,
) -> Outcome {
    let run = |backend| {
        let mut spec = CallSpec::new(std::fs::read(bin).unwrap(), "token");
        spec.call = state_call(backend, case, state.clone());
        qvm::run(&spec, backend.choice()).unwrap()
    };
    let outcome = run(backend);
    if backend == Backend::Kvm {
        assert_eq!(outcome_difference(&run(Backend::Emu), &outcome), None);
    }
    outcome
}

/// The call of `case`, with the state it reads as /state files.
fn state_call(backend: Backend, case: &Case, state: Arc<dyn StateReader>) -> Call {
    let call = Call {
        args: case.args.iter().map(|a| a.as_bytes().to_vec()).collect(),
        env: case
            .env
            .iter()
            .map(|(k, v)| format!("{k}={v}").into_bytes())
            .collect(),
        // KVM cannot meter (docs/gas.md).
        gas_limit: Call::default()
            .gas_limit
            .filter(|_| backend == Backend::Emu),
        timeout: Some(qvm_conformance::runner::CALL_TIMEOUT),
        ..Call::default()
    };
    Call {
        state: Some(state),
        ..call
    }
}
