//! Receipts: what a transaction did, as stored and hashed.

use serde::{Deserialize, Serialize};

use crate::config::Limits;
use crate::digest::Digest;
use crate::executor::{Execution, Pairs};
use crate::ids::{Address, Hash};
use crate::repr;
use crate::tx::TxKind;

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Verdict {
    /// The call succeeded: its writes and deletes were applied.
    Ok,
    /// The call failed: the state is as before it.
    Failed,
}

/// The outcome of a transaction.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Receipt {
    pub tx_hash: Hash,
    pub block_number: u64,
    pub block_hash: Hash,
    pub kind: TxKind,
    /// The contract called, or created by a deploy (which exists only if
    /// the deploy succeeded).
    pub address: Address,
    #[serde(with = "repr::bytes")]
    pub sender: Vec<u8>,
    pub verdict: Verdict,
    pub exit_code: Option<i32>,
    pub signal: Option<i32>,
    /// Why the transaction failed.
    pub failure: Option<String>,
    /// Cut to the chain's `max_output`.
    #[serde(with = "repr::bytes")]
    pub stdout: Vec<u8>,
    pub stdout_truncated: bool,
    #[serde(with = "repr::bytes")]
    pub stderr: Vec<u8>,
    pub stderr_truncated: bool,
    /// Events, writes and deletes as applied: empty when the call failed.
    #[serde(with = "repr::list")]
    pub events: Vec<Vec<u8>>,
    #[serde(with = "repr::pairs")]
    pub writes: Pairs,
    #[serde(with = "repr::list")]
    pub deletes: Vec<Vec<u8>>,
    pub gas_used: u64,
    /// The state root after the block.
    pub state_root: Hash,
}

/// Who sent what, for [`Receipt::judge`].
pub(crate) struct Origin<'a> {
    pub tx_hash: Hash,
    pub block_number: u64,
    pub kind: TxKind,
    pub address: Address,
    pub sender: &'a [u8],
}

#[cfg(test)]
impl Origin<'static> {
    /// A call's origin, for tests.
    pub(crate) fn example() -> Origin<'static> {
        Origin {
            tx_hash: Hash([1; 32]),
            block_number: 1,
            kind: TxKind::Call {
                address: Address([2; 20]),
            },
            address: Address([2; 20]),
            sender: b"alice",
        }
    }
}

impl Receipt {
    pub fn succeeded(&self) -> bool {
        self.verdict == Verdict::Ok
    }

    /// The receipt of `execution` under `limits`: a successful call whose
    /// state changes or events pass the limits is failed. The block hash
    /// and state root are left zero for the ledger to fill in.
    pub(crate) fn judge(origin: Origin<'_>, execution: Execution, limits: &Limits) -> Receipt {
        let failure = if execution.failed {
            Some(
                execution
                    .failure
                    .unwrap_or_else(|| "the call failed".to_string()),
            )
        } else {
            over_limits(&execution, limits)
        };
        let (stdout, stdout_truncated) = cut(execution.stdout, limits.max_output);
        let (stderr, stderr_truncated) = cut(execution.stderr, limits.max_output);
        let (verdict, events, writes, deletes) = match failure {
            Some(_) => (Verdict::Failed, Vec::new(), Vec::new(), Vec::new()),
            None => (
                Verdict::Ok,
                execution.events,
                execution.writes,
                execution.deletes,
            ),
        };
        Receipt {
            tx_hash: origin.tx_hash,
            block_number: origin.block_number,
            block_hash: Hash::ZERO,
            kind: origin.kind,
            address: origin.address,
            sender: origin.sender.to_vec(),
            verdict,
            exit_code: execution.exit_code,
            signal: execution.signal,
            failure,
            stdout,
            stdout_truncated,
            stderr,
            stderr_truncated,
            events,
            writes,
            deletes,
            gas_used: execution.gas_used,
            state_root: Hash::ZERO,
        }
    }

    /// BLAKE3 over the outcome: "qvm-receipt" || tx_hash || address ||
    /// verdict (1 byte: 0 ok, 1 failed) || exit_code || signal || failure ||
    /// stdout || stdout_truncated || stderr || stderr_truncated || events ||
    /// writes || deletes || gas_used (encoding: docs/chain.md). The block
    /// hash and state root are not part of it: the block holds them.
    pub fn hash(&self) -> Hash {
        Digest::new("qvm-receipt")
            .fixed(&self.tx_hash.0)
            .fixed(&self.address.0)
            .flag(self.verdict == Verdict::Failed)
            .opt_i32(self.exit_code)
            .opt_i32(self.signal)
            .opt_bytes(self.failure.as_deref().map(str::as_bytes))
            .bytes(&self.stdout)
            .flag(self.stdout_truncated)
            .bytes(&self.stderr)
            .flag(self.stderr_truncated)
            .list(&self.events)
            .pairs(&self.writes)
            .list(&self.deletes)
            .u64(self.gas_used)
            .finish()
    }
}

/// Why a successful execution's changes or events are refused, if they are.
fn over_limits(execution: &Execution, limits: &Limits) -> Option<String> {
    let over = |what: &str, size: usize, limit: usize| {
        (size > limit).then(|| format!("{what} of {size} bytes is over the limit of {limit}"))
    };
    let keys = execution
        .writes
        .iter()
        .map(|(key, _)| key)
        .chain(&execution.deletes);
    let values = execution.writes.iter().map(|(_, value)| value);
    let events = execution
        .events
        .iter()
        .fold(0usize, |sum, event| sum.saturating_add(event.len()));
    keys.filter_map(|key| over("a state key", key.len(), limits.max_key))
        .chain(values.filter_map(|value| over("a state value", value.len(), limits.max_value)))
        .chain(over("the events", events, limits.max_output))
        .next()
}

fn cut(mut bytes: Vec<u8>, limit: usize) -> (Vec<u8>, bool) {
    let truncated = bytes.len() > limit;
    bytes.truncate(limit);
    (bytes, truncated)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn origin() -> Origin<'static> {
        Origin::example()
    }

    fn success() -> Execution {
        Execution {
            exit_code: Some(0),
            stdout: b"0123456789".to_vec(),
            writes: vec![(b"key".to_vec(), b"value".to_vec())],
            deletes: vec![b"old".to_vec()],
            events: vec![b"ev".to_vec(), b"ent".to_vec()],
            gas_used: 42,
            ..Execution::default()
        }
    }

    #[test]
    fn limits_fail_a_successful_call_and_drop_its_changes() {
        let cases: [(Limits, Option<&str>); 5] = [
            (Limits::DEFAULT, None),
            (
                Limits {
                    max_key: 2,
                    ..Limits::DEFAULT
                },
                Some("a state key of 3 bytes is over the limit of 2"),
            ),
            (
                Limits {
                    max_value: 4,
                    ..Limits::DEFAULT
                },
                Some("a state value of 5 bytes is over the limit of 4"),
            ),
            (
                Limits {
                    max_output: 4,
                    ..Limits::DEFAULT
                },
                Some("the events of 5 bytes is over the limit of 4"),
            ),
            (
                Limits {
                    max_output: 5,
                    ..Limits::DEFAULT
                },
                None,
            ),
        ];
        for (limits, failure) in cases {
            let receipt = Receipt::judge(origin(), success(), &limits);
            assert_eq!(receipt.failure.as_deref(), failure, "{limits:?}");
            assert_eq!(receipt.succeeded(), failure.is_none());
            assert_eq!(receipt.writes.is_empty(), failure.is_some());
            assert_eq!(receipt.events.is_empty(), failure.is_some());
            assert_eq!(receipt.gas_used, 42);
        }
    }

    #[test]
    fn output_is_stored_cut_to_the_limit() {
        let limits = Limits {
            max_output: 5,
            ..Limits::DEFAULT
        };
        let receipt = Receipt::judge(origin(), success(), &limits);
        assert_eq!(receipt.stdout, b"01234");
        assert!(receipt.stdout_truncated);
        assert!(!receipt.stderr_truncated);
    }

    #[test]
    fn a_failed_execution_keeps_its_reason_and_output_only() {
        let execution = Execution {
            failed: true,
            exit_code: Some(3),
            failure: Some("exit status 3".into()),
            ..success()
        };
        let receipt = Receipt::judge(origin(), execution, &Limits::DEFAULT);
        assert_eq!(receipt.verdict, Verdict::Failed);
        assert_eq!(receipt.failure.as_deref(), Some("exit status 3"));
        assert_eq!(receipt.stdout, b"0123456789");
        assert!(receipt.writes.is_empty() && receipt.deletes.is_empty());
    }

    #[test]
    fn hash_covers_the_outcome_but_not_the_block() {
        let receipt = Receipt::judge(origin(), success(), &Limits::DEFAULT);
        let base = receipt.hash();
        let placed = Receipt {
            block_hash: Hash([9; 32]),
            state_root: Hash([9; 32]),
            ..receipt.clone()
        };
        assert_eq!(placed.hash(), base);
        let changed = [
            Receipt {
                gas_used: 43,
                ..receipt.clone()
            },
            Receipt {
                exit_code: None,
                ..receipt.clone()
            },
            Receipt {
                stdout_truncated: true,
                ..receipt.clone()
            },
            Receipt {
                writes: vec![(b"ke".to_vec(), b"yvalue".to_vec())],
                ..receipt.clone()
            },
        ];
        for other in changed {
            assert_ne!(other.hash(), base);
        }
    }
}
