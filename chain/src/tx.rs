//! Transactions: a deploy or a call, one per block.

use serde::{Deserialize, Serialize};

use crate::config::Limits;
use crate::digest::Digest;
use crate::error::ChainError;
use crate::ids::{Address, Hash};
use crate::repr;

/// What a transaction does.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum TxKind {
    /// Stores the code (content-addressed by its BLAKE3 hash), gives it an
    /// address and runs it with `construct` as its first argument.
    Deploy { code_hash: Hash },
    /// Runs the contract at `address` with its state.
    Call { address: Address },
}

/// A transaction as submitted.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Transaction {
    pub kind: TxKind,
    /// Who sent it: opaque bytes the contract is given.
    #[serde(with = "repr::bytes")]
    pub sender: Vec<u8>,
    /// The contract's arguments (for a deploy, those after `construct`).
    #[serde(with = "repr::list")]
    pub args: Vec<Vec<u8>>,
    #[serde(with = "repr::bytes")]
    pub stdin: Vec<u8>,
    /// `None`: unmetered.
    pub gas_limit: Option<u64>,
}

impl Transaction {
    pub fn call(
        address: &Address,
        sender: &[u8],
        args: Vec<Vec<u8>>,
        stdin: Vec<u8>,
        gas_limit: Option<u64>,
    ) -> Transaction {
        Transaction {
            kind: TxKind::Call { address: *address },
            sender: sender.to_vec(),
            args,
            stdin,
            gas_limit,
        }
    }

    /// The hash of this transaction in block `number`: the block number is
    /// part of it, so two identical calls have different hashes.
    pub fn hash(&self, number: u64) -> Hash {
        let mut digest = Digest::new("qvm-tx");
        digest.u64(number);
        match &self.kind {
            TxKind::Deploy { code_hash } => digest.flag(false).fixed(&code_hash.0),
            TxKind::Call { address } => digest.flag(true).fixed(&address.0),
        };
        digest
            .bytes(&self.sender)
            .list(&self.args)
            .bytes(&self.stdin)
            .opt_u64(self.gas_limit)
            .finish()
    }

    /// The contract's argv after `argv[0]`: `construct` then the arguments
    /// for a deploy, the arguments for a call.
    pub fn contract_args(&self) -> Vec<&[u8]> {
        let construct = match self.kind {
            TxKind::Deploy { .. } => Some(&b"construct"[..]),
            TxKind::Call { .. } => None,
        };
        construct
            .into_iter()
            .chain(self.args.iter().map(Vec::as_slice))
            .collect()
    }

    /// Refuses a transaction over the size limits, before it runs.
    pub(crate) fn check_size(&self, limits: &Limits) -> Result<(), ChainError> {
        let args = self
            .args
            .iter()
            .fold(0usize, |sum, arg| sum.saturating_add(arg.len()));
        check_size("the arguments", args, limits.max_args)?;
        check_size("stdin", self.stdin.len(), limits.max_stdin)?;
        check_size("the sender", self.sender.len(), limits.max_sender)
    }
}

pub(crate) fn check_size(what: &'static str, size: usize, limit: usize) -> Result<(), ChainError> {
    if size > limit {
        return Err(ChainError::TooLarge { what, size, limit });
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn call() -> Transaction {
        Transaction {
            kind: TxKind::Call {
                address: Address([3; 20]),
            },
            sender: b"alice".to_vec(),
            args: vec![b"inc".to_vec(), vec![0xff]],
            stdin: Vec::new(),
            gas_limit: Some(1000),
        }
    }

    #[test]
    fn hash_depends_on_block_and_every_field() {
        let tx = call();
        let base = tx.hash(1);
        assert_eq!(base, tx.hash(1));
        assert_ne!(base, tx.hash(2));
        let variants = [
            Transaction {
                sender: b"bob".to_vec(),
                ..call()
            },
            Transaction {
                args: vec![b"inc".to_vec()],
                ..call()
            },
            Transaction {
                args: vec![b"in".to_vec(), b"c".to_vec(), vec![0xff]],
                ..call()
            },
            Transaction {
                stdin: b"x".to_vec(),
                ..call()
            },
            Transaction {
                gas_limit: None,
                ..call()
            },
            Transaction {
                kind: TxKind::Deploy {
                    code_hash: Hash([3; 32]),
                },
                ..call()
            },
        ];
        for variant in variants {
            assert_ne!(variant.hash(1), base, "{variant:?}");
        }
    }

    #[test]
    fn deploy_runs_construct_first() {
        let deploy = Transaction {
            kind: TxKind::Deploy {
                code_hash: Hash::ZERO,
            },
            ..call()
        };
        assert_eq!(
            deploy.contract_args(),
            vec![&b"construct"[..], b"inc", &[0xff]]
        );
        assert_eq!(call().contract_args(), vec![&b"inc"[..], &[0xff]]);
    }

    #[test]
    fn json_names_the_kind() {
        let json = serde_json::to_value(call()).unwrap();
        assert_eq!(
            json["kind"],
            serde_json::json!({"call": {"address": Address([3; 20]).to_string()}})
        );
        assert_eq!(json["args"], serde_json::json!(["inc", {"hex": "ff"}]));
        assert_eq!(serde_json::from_value::<Transaction>(json).unwrap(), call());
    }

    #[test]
    fn oversized_parts_are_refused() {
        let limits = Limits {
            max_args: 3,
            max_stdin: 1,
            max_sender: 5,
            ..Limits::DEFAULT
        };
        assert!(matches!(
            call().check_size(&limits),
            Err(ChainError::TooLarge {
                what: "the arguments",
                size: 4,
                limit: 3
            })
        ));
        let limits = Limits {
            max_args: 4,
            ..limits
        };
        assert!(call().check_size(&limits).is_ok());
        let tx = Transaction {
            stdin: b"ab".to_vec(),
            ..call()
        };
        assert!(matches!(
            tx.check_size(&limits),
            Err(ChainError::TooLarge { what: "stdin", .. })
        ));
    }
}
