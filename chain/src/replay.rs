//! Replay: re-execute a chain's history and check it gives the same
//! blocks, which proves the executor deterministic over that history (or
//! finds where it is not).

use qvm_common::kernel::gas::KILL_OUT_OF_GAS;
use serde::Serialize;

use crate::error::ChainError;
use crate::executor::{ExecError, ExecRequest, Execution, Executor};
use crate::ids::Hash;
use crate::ledger::Ledger;
use crate::receipt::Receipt;
use crate::snapshot::Snapshot;
use crate::tx::TxKind;

/// What a replay found.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct ReplayReport {
    /// Blocks checked, genesis included.
    pub blocks: u64,
    pub transactions: u64,
    /// Whether gas was checked: false when the executor does not count it
    /// ([`Executor::counts_gas`]); each transaction's recorded gas was
    /// then taken as its gas.
    pub gas_checked: bool,
    /// Blocks whose transaction was not run again: without counting gas a
    /// replay cannot tell where a transaction that ran out of gas stopped
    /// (it might not stop at all), so its recorded outcome, a failure that
    /// changed no state, was taken as it is. Empty when gas is checked.
    pub out_of_gas_taken: Vec<u64>,
    /// The first block that came out different; replay stops there.
    pub first_mismatch: Option<Mismatch>,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Mismatch {
    pub block: u64,
    /// "genesis block hash", "transaction hash", "receipt hash (stdout
    /// differs)", "state root" or "block hash".
    pub what: String,
    pub expected: Hash,
    pub got: Hash,
}

/// Re-executes every block of `source` from genesis into a fresh store in
/// memory with the same config, checking each block's transaction hash,
/// receipt hash, state root and block hash against the source's.
/// `progress(done, total)` is called after each block.
pub fn replay(
    source: &Snapshot,
    exec: &mut dyn Executor,
    progress: &mut dyn FnMut(u64, u64),
) -> Result<ReplayReport, ChainError> {
    let head = source.head()?;
    let mut target = Ledger::in_memory(*source.config())?;
    let mut report = ReplayReport {
        blocks: 1,
        transactions: 0,
        gas_checked: exec.counts_gas(),
        out_of_gas_taken: Vec::new(),
        first_mismatch: None,
    };
    let missing = |n: u64, what: &str| ChainError::Corrupt(format!("block {n} has no {what}"));
    let genesis = source.block(0)?.ok_or_else(|| missing(0, "genesis"))?;
    let replayed = target.head()?;
    if genesis.hash != replayed.hash {
        report.first_mismatch = Some(Mismatch {
            block: 0,
            what: "genesis block hash".into(),
            expected: genesis.hash,
            got: replayed.hash,
        });
        return Ok(report);
    }
    for n in 1..=head.number {
        let block = source.block(n)?.ok_or_else(|| missing(n, "block"))?;
        let (tx, expected) = source.tx_at(n)?.ok_or_else(|| missing(n, "transaction"))?;
        let code = match tx.kind {
            TxKind::Deploy { code_hash } => {
                Some(source.code(&code_hash)?.ok_or_else(|| missing(n, "code"))?)
            }
            TxKind::Call { .. } => None,
        };
        let got = if report.gas_checked {
            target.apply(exec, tx, code)?
        } else {
            let mut recorded = RecordedGas {
                inner: &mut *exec,
                recorded: &expected,
            };
            if recorded.out_of_gas() {
                report.out_of_gas_taken.push(n);
            }
            target.apply(&mut recorded, tx, code)?
        };
        report.blocks += 1;
        report.transactions += 1;
        progress(n, head.number);
        let receipt_hash = got.hash();
        let checks = [
            ("transaction hash".to_string(), block.tx_hash, got.tx_hash),
            (
                receipt_what(&expected, &got),
                block.receipt_hash,
                receipt_hash,
            ),
            ("state root".to_string(), block.state_root, got.state_root),
            ("block hash".to_string(), block.hash, got.block_hash),
        ];
        if let Some((what, expected, got)) = checks.into_iter().find(|(_, a, b)| a != b) {
            report.first_mismatch = Some(Mismatch {
                block: n,
                what,
                expected,
                got,
            });
            break;
        }
    }
    Ok(report)
}

/// An executor that does not count gas, given what the history recorded
/// for the transaction: its gas, and its whole outcome when it ran out of
/// gas.
struct RecordedGas<'a> {
    inner: &'a mut dyn Executor,
    recorded: &'a Receipt,
}

impl RecordedGas<'_> {
    fn out_of_gas(&self) -> bool {
        self.recorded.failure.as_deref() == Some(KILL_OUT_OF_GAS)
    }
}

impl Executor for RecordedGas<'_> {
    fn execute(&mut self, req: &ExecRequest<'_>) -> Result<Execution, ExecError> {
        if self.out_of_gas() {
            return Ok(recorded_execution(self.recorded));
        }
        let mut execution = self.inner.execute(req)?;
        execution.gas_used = self.recorded.gas_used;
        Ok(execution)
    }
}

/// The execution that gives the failed `receipt` again.
fn recorded_execution(receipt: &Receipt) -> Execution {
    // A stored output cut at the limit is one byte longer when run again.
    let uncut = |bytes: &[u8], truncated: bool| {
        let mut bytes = bytes.to_vec();
        if truncated {
            bytes.push(0);
        }
        bytes
    };
    Execution {
        exit_code: receipt.exit_code,
        signal: receipt.signal,
        failed: true,
        failure: receipt.failure.clone(),
        stdout: uncut(&receipt.stdout, receipt.stdout_truncated),
        stderr: uncut(&receipt.stderr, receipt.stderr_truncated),
        gas_used: receipt.gas_used,
        ..Execution::default()
    }
}

impl std::fmt::Display for Mismatch {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "block {}: {}: the history has {}, the replay gave {}",
            self.block, self.what, self.expected, self.got
        )
    }
}

/// "receipt hash", naming the first field that differs when one does.
fn receipt_what(expected: &Receipt, got: &Receipt) -> String {
    let fields = [
        ("verdict", expected.verdict == got.verdict),
        ("exit code", expected.exit_code == got.exit_code),
        ("signal", expected.signal == got.signal),
        ("failure", expected.failure == got.failure),
        ("stdout", expected.stdout == got.stdout),
        ("stderr", expected.stderr == got.stderr),
        ("events", expected.events == got.events),
        ("writes", expected.writes == got.writes),
        ("deletes", expected.deletes == got.deletes),
        ("gas used", expected.gas_used == got.gas_used),
    ];
    match fields.iter().find(|(_, same)| !same) {
        Some((field, _)) => format!("receipt hash ({field} differs)"),
        None => "receipt hash".to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::block::Block;
    use crate::config::{ChainConfig, Limits};
    use crate::fake::FakeExecutor;
    use crate::receipt::Origin;
    use crate::store;
    use redb::ReadableTable;

    /// Rewrites block `number` with another state root (its hash left as
    /// it was, as a careless forger would).
    fn tamper_state_root(ledger: &Ledger, number: u64) {
        let write = ledger.database().begin_write().unwrap();
        {
            let mut blocks = write.open_table(store::BLOCKS).unwrap();
            let mut block: Block =
                store::decode(blocks.get(number).unwrap().unwrap().value(), "block").unwrap();
            block.state_root = Hash([0xee; 32]);
            blocks
                .insert(number, store::encode(&block).unwrap().as_slice())
                .unwrap();
        }
        write.commit().unwrap();
    }

    #[test]
    fn a_recorded_out_of_gas_outcome_gives_its_receipt_again() {
        let limits = Limits::QVM;
        for output in [&b"short"[..], &[b'x'; 40]] {
            let execution = Execution {
                signal: Some(9),
                failed: true,
                failure: Some(KILL_OUT_OF_GAS.into()),
                stdout: output.to_vec(),
                stderr: output.to_vec(),
                gas_used: 1000,
                ..Execution::default()
            };
            let receipt = Receipt::judge(Origin::example(), execution, &limits);
            let again = Receipt::judge(Origin::example(), recorded_execution(&receipt), &limits);
            assert_eq!(again, receipt);
        }
    }

    #[test]
    fn replay_and_verify_find_a_tampered_state_root() {
        let mut ledger = Ledger::in_memory(ChainConfig::default()).unwrap();
        let mut exec = FakeExecutor::new();
        let address = ledger
            .deploy(&mut exec, b"code", b"a", Vec::new(), None)
            .unwrap()
            .address;
        for _ in 0..3 {
            ledger
                .call(
                    &mut exec,
                    &address,
                    b"a",
                    vec![b"inc".to_vec()],
                    Vec::new(),
                    None,
                )
                .unwrap();
        }
        let honest = ledger.snapshot().unwrap().block(2).unwrap().unwrap();
        tamper_state_root(&ledger, 2);
        let snapshot = ledger.snapshot().unwrap();
        let report = replay(&snapshot, &mut FakeExecutor::new(), &mut |_, _| {}).unwrap();
        assert_eq!(
            report.first_mismatch,
            Some(Mismatch {
                block: 2,
                what: "state root".into(),
                expected: Hash([0xee; 32]),
                got: honest.state_root,
            })
        );
        assert_eq!(report.blocks, 3);
        assert!(matches!(
            snapshot.verify(),
            Err(ChainError::Inconsistent { block: 2, what }) if what == "block hash"
        ));
    }
}
