//! A contract's state as `/state` files and the binary-safe protocol
//! lines, end to end: the same contract in C (glibc and musl), Rust and Go
//! (`tests/contracts/state/`) reads `/state/counter` and
//! `/state/.hex/00ff`, gets ENOENT for a missing key and EROFS for a write,
//! and prints `DBWX`/`DBPX`/`OUTX` lines with binary data. Its parsed state
//! changes are checked byte for byte, cold and warm, on every backend (on
//! KVM the emulator's outcome must be the same).

mod support;

use std::collections::BTreeMap;
use std::path::Path;
use std::sync::Arc;

use qvm::runtime::{Runtime, RuntimeOptions};
use qvm::{BackendChoice, BlockContext, Call, CallSpec, Outcome};
use qvm_common::contract::{StateChanges, StateWrite};
use qvm_common::state::{StateReadError, StateReader};
use qvm_conformance::compare::outcome_difference;
use support::*;

/// The value of key 00 ff in the test state.
const BIN: &[u8] = &[0x01, b'\n', 0xfe];

fn state() -> Arc<dyn StateReader> {
    let mut map = BTreeMap::new();
    map.insert(b"counter".to_vec(), b"41".to_vec());
    map.insert(vec![0x00, 0xff], BIN.to_vec());
    map.insert(b"old\n".to_vec(), b"x".to_vec());
    Arc::new(map)
}

/// A store that fails every read.
struct Broken;

impl StateReader for Broken {
    fn get(&self, _: &[u8]) -> Result<Option<Vec<u8>>, StateReadError> {
        Err(StateReadError("the store is gone".into()))
    }
}

/// What the contract prints and asks for, given the value it read for
/// key 00 ff (`bin`) and its first line.
fn expected(first_line: &str, counter: &[u8], bin: &[u8]) -> (String, StateChanges) {
    let hex = |b: &[u8]| b.iter().map(|x| format!("{x:02x}")).collect::<String>();
    let value = [bin, &[0x00, b'\n', b'=', b',', 0xff]].concat();
    let event = [&[0xff, 0x00, b'\n'][..], bin].concat();
    let stdout = format!(
        "{first_line}\nDBW=counter={}\nDBWX=00ff={}\nDBPX=6f6c640a,00\nOUTX={}\n",
        String::from_utf8_lossy(counter),
        hex(&value),
        hex(&event)
    );
    let changes = StateChanges {
        writes: vec![
            StateWrite {
                key: b"counter".to_vec(),
                value: counter.to_vec(),
            },
            StateWrite {
                key: vec![0x00, 0xff],
                value,
            },
        ],
        deletes: vec![b"old\n".to_vec(), vec![0x00]],
        events: vec![event],
    };
    (stdout, changes)
}

fn choice(backend: Backend) -> BackendChoice {
    match backend {
        Backend::Emu => BackendChoice::Emu,
        Backend::Kvm => BackendChoice::Kvm,
    }
}

fn call(backend: Backend, state: Option<Arc<dyn StateReader>>) -> Call {
    Call {
        block: BlockContext {
            prev_hash: [7; 32],
            timestamp: 1_700_000_000,
        },
        // KVM cannot meter (docs/gas.md).
        gas_limit: match backend {
            Backend::Emu => Call::default().gas_limit,
            Backend::Kvm => None,
        },
        timeout: Some(qvm_conformance::runner::CALL_TIMEOUT),
        state,
        ..Call::default()
    }
}

fn spec(bin: &Path, call: Call) -> CallSpec {
    let name = bin.file_name().unwrap().to_string_lossy().into_owned();
    let mut spec = CallSpec::new(std::fs::read(bin).unwrap(), name);
    spec.call = call;
    spec
}

/// A cold call; on KVM the emulator's outcome must be the same.
fn cold(backend: Backend, bin: &Path, state: Option<Arc<dyn StateReader>>) -> Outcome {
    let outcome = qvm::run(&spec(bin, call(backend, state.clone())), choice(backend)).unwrap();
    if backend == Backend::Kvm {
        let emu = qvm::run(&spec(bin, call(Backend::Emu, state)), BackendChoice::Emu).unwrap();
        assert_eq!(
            outcome_difference(&emu, &outcome),
            None,
            "emu and kvm disagree"
        );
    }
    outcome
}

/// A state a call may have, and what the contract then does.
struct Case {
    what: &'static str,
    state: Option<Arc<dyn StateReader>>,
    stdout: String,
    changes: StateChanges,
}

fn cases() -> Vec<Case> {
    let case = |what, state, first_line, counter: &[u8], bin: &[u8]| {
        let (stdout, changes) = expected(first_line, counter, bin);
        Case {
            what,
            state,
            stdout,
            changes,
        }
    };
    vec![
        case(
            "with a state",
            Some(state()),
            "counter=41 bin=010afe missing=2 write=30",
            b"42",
            BIN,
        ),
        case(
            "without a state",
            None,
            "counter=ERR2 bin=ERR2 missing=2 write=2",
            b"1",
            b"",
        ),
        case(
            "with a failing store",
            Some(Arc::new(Broken)),
            "counter=ERR5 bin=ERR5 missing=5 write=5",
            b"1",
            b"",
        ),
    ]
}

/// Runs every case cold, then all of them again warm on one loaded
/// contract: each outcome as expected, each warm one equal to its cold one.
fn reads_state_files(backend: Backend, tc: Toolchain, source: &str) {
    let Some(bin) = build(tc, source) else { return };
    let mut runtime = Runtime::new(RuntimeOptions {
        backend: choice(backend),
        ..RuntimeOptions::default()
    });
    let name = bin.file_name().unwrap().to_string_lossy().into_owned();
    let contract = runtime.load(&name, std::fs::read(&bin).unwrap()).unwrap();
    for Case {
        what,
        state,
        stdout,
        changes,
    } in cases()
    {
        let o = cold(backend, &bin, state.clone());
        assert_eq!(
            (
                o.exit_code,
                o.failed,
                String::from_utf8_lossy(&o.stdout).as_ref()
            ),
            (Some(0), false, stdout.as_str()),
            "{} {what}: stderr {}",
            tc.name,
            String::from_utf8_lossy(&o.stderr)
        );
        assert_eq!(o.state, changes, "{} {what}", tc.name);
        let warm = runtime.call(&contract, &call(backend, state)).unwrap();
        assert_eq!(
            outcome_difference(&o, &warm),
            None,
            "{} {what}: warm",
            tc.name
        );
    }
}

macro_rules! state_tests {
    ($($name:ident: $tc:expr, $src:expr;)*) => {
        on_every_backend! { $(fn $name(backend) { reads_state_files(backend, $tc, $src); })* }
    };
}

state_tests! {
    c_glibc: C_GLIBC, "state/state.c";
    c_musl: C_MUSL, "state/state.c";
    rust: RUST, "state/state.rs";
    go: GO, "state/state.go";
}

on_every_backend! {
    fn outcome_json_shows_bytes_as_text_or_hex(backend) {
        let Some(bin) = build(C_GLIBC, "state/state.c") else { return };
        let run = qvm(backend, &bin, &["--json"], &[], &[], b"");
        let doc: serde_json::Value = serde_json::from_str(&run.stdout_text()).unwrap();
        assert_eq!(doc["schema"], 3);
        assert_eq!(
            doc["state"],
            serde_json::json!({
                "writes": [
                    {"key": "counter", "value": "1"},
                    {"key": {"hex": "00ff"}, "value": {"hex": "000a3d2cff"}},
                ],
                "deletes": ["old\n", "\u{0}"],
                "events": [{"hex": "ff000a"}],
            })
        );
        // It reads back as the outcome's own state changes.
        let back: StateChanges = serde_json::from_value(doc["state"].clone()).unwrap();
        assert_eq!(back, StateChanges::from_stdout(doc["stdout"].as_str().unwrap().as_bytes()));
        assert_eq!(back, expected("", b"1", b"").1);
    }
}
