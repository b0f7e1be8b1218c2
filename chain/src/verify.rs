//! Checking a store's history: every hash recomputes, the blocks chain,
//! nothing is half written, and the state gives the head's state root.

use redb::{ReadableTable, ReadableTableMetadata};

use crate::block::{self, Block};
use crate::error::ChainError;
use crate::ids::{Address, Hash};
use crate::snapshot::Snapshot;
use crate::state_root::StateRoot;
use crate::store;

/// What [`Snapshot::verify`] checked.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct VerifyReport {
    /// Blocks, genesis included.
    pub blocks: u64,
    pub transactions: u64,
    pub contracts: u64,
    pub state_pairs: u64,
}

fn check(ok: bool, block: u64, what: impl FnOnce() -> String) -> Result<(), ChainError> {
    if ok {
        Ok(())
    } else {
        Err(ChainError::Inconsistent {
            block,
            what: what(),
        })
    }
}

impl Snapshot {
    /// Checks the whole store ([`ChainError::Inconsistent`] names the first
    /// fault): the genesis block; each block's hash, link to the previous
    /// one, timestamp, transaction hash, receipt and index entry; no
    /// transaction or receipt without its block; each contract's stored
    /// root against its stored state; the head's state root against those.
    pub fn verify(&self) -> Result<VerifyReport, ChainError> {
        let txn = self.txn();
        let config = self.config();
        let head = self.head()?;
        let mut report = VerifyReport::default();
        let mut prev: Option<Block> = None;
        for entry in txn.open_table(store::BLOCKS)?.iter()? {
            let (key, value) = entry?;
            let n = key.value();
            let block: Block = store::decode(value.value(), "block")?;
            check(n == report.blocks && block.number == n, n, || {
                format!("block stored as {n} is numbered {}", block.number)
            })?;
            check(block.hash == block.compute_hash(), n, || {
                "block hash".into()
            })?;
            check(block.timestamp == block::timestamp(config, n)?, n, || {
                "timestamp".into()
            })?;
            match &prev {
                None => check(
                    block.prev_hash == Hash::ZERO
                        && block.tx_hash == Hash::ZERO
                        && block.receipt_hash == Hash::ZERO
                        && block.state_root == StateRoot::new().finish(),
                    n,
                    || "genesis block".into(),
                )?,
                Some(prev) => {
                    check(block.prev_hash == prev.hash, n, || "previous hash".into())?;
                    self.verify_tx(&block)?;
                    report.transactions += 1;
                }
            }
            report.blocks += 1;
            prev = Some(block);
        }
        let txs = txn.open_table(store::TXS)?.len()?;
        let receipts = txn.open_table(store::RECEIPTS)?.len()?;
        let index = txn.open_table(store::TX_INDEX)?.len()?;
        check(
            txs == report.transactions && receipts == txs && index == txs,
            head.number,
            || {
                format!("{txs} transactions, {receipts} receipts and {index} index entries for {} blocks", report.blocks)
            },
        )?;
        self.verify_state(&head, &mut report)?;
        Ok(report)
    }

    fn verify_tx(&self, block: &Block) -> Result<(), ChainError> {
        let n = block.number;
        let (tx, receipt) = self.tx_at(n)?.ok_or(ChainError::Inconsistent {
            block: n,
            what: "no transaction".into(),
        })?;
        check(tx.hash(n) == block.tx_hash, n, || "transaction hash".into())?;
        let indexed = txn_index(self, &block.tx_hash)?;
        check(indexed == Some(n), n, || {
            format!("index points at {indexed:?}")
        })?;
        check(receipt.hash() == block.receipt_hash, n, || {
            "receipt hash".into()
        })?;
        check(
            receipt.tx_hash == block.tx_hash
                && receipt.block_number == n
                && receipt.block_hash == block.hash
                && receipt.state_root == block.state_root,
            n,
            || "receipt does not match its block".into(),
        )
    }

    fn verify_state(&self, head: &Block, report: &mut VerifyReport) -> Result<(), ChainError> {
        let txn = self.txn();
        let n = head.number;
        let state = txn.open_table(store::STATE)?;
        let roots = txn.open_table(store::CONTRACT_ROOTS)?;
        let contracts = txn.open_table(store::CONTRACTS)?;
        let mut state_root = StateRoot::new();
        for entry in contracts.iter()? {
            let (key, _) = entry?;
            let address = Address(key.value());
            let stored = roots.get(address.0)?.map(|root| Hash(root.value()));
            let computed = store::contract_root(&state, &address)?;
            check(stored == Some(computed), n, || {
                format!("contract {address}'s state root")
            })?;
            state_root.contract(&address, &computed);
            store::for_each_pair(&state, &address, |_, _| {
                report.state_pairs += 1;
                true
            })?;
            report.contracts += 1;
        }
        check(roots.len()? == report.contracts, n, || {
            "state roots of contracts that do not exist".into()
        })?;
        check(state.len()? == report.state_pairs, n, || {
            "state of contracts that do not exist".into()
        })?;
        check(state_root.finish() == head.state_root, n, || {
            "the state does not give the head's state root".into()
        })
    }
}

fn txn_index(snapshot: &Snapshot, hash: &Hash) -> Result<Option<u64>, ChainError> {
    let index = snapshot.txn().open_table(store::TX_INDEX)?;
    let number = index.get(hash.0)?.map(|n| n.value());
    Ok(number)
}
