//! Read views of the chain at one block.
//!
//! A snapshot is a redb read transaction: it sees the chain as it was when
//! taken, whatever is committed later, and any number of them read
//! concurrently with the one writer.

use std::sync::Arc;

use qvm_common::state::{StateReadError, StateReader};
use redb::{Database, ReadOnlyTable, ReadTransaction, ReadableDatabase};

use crate::block::Block;
use crate::code_cache::CodeCache;
use crate::config::ChainConfig;
use crate::error::ChainError;
use crate::executor::{ContractState, ExecRequest, Execution, Executor, Pairs};
use crate::ids::{Address, Hash};
use crate::receipt::Receipt;
use crate::store::{self, ContractInfo};
use crate::tx::Transaction;

/// Takes snapshots of a store; cheap to clone and to share between threads
/// (a server's readers need not wait for the ledger).
#[derive(Clone)]
pub struct Snapshots {
    db: Arc<Database>,
    config: ChainConfig,
    code: Arc<CodeCache>,
}

impl Snapshots {
    pub(crate) fn new(db: Arc<Database>, config: ChainConfig, code: Arc<CodeCache>) -> Snapshots {
        Snapshots { db, config, code }
    }

    /// A view at the latest committed block.
    pub fn latest(&self) -> Result<Snapshot, ChainError> {
        Ok(Snapshot(Arc::new(View {
            txn: self.db.begin_read()?,
            _db: self.db.clone(),
            config: self.config,
            code: self.code.clone(),
        })))
    }
}

/// A read view at one block.
#[derive(Clone)]
pub struct Snapshot(Arc<View>);

struct View {
    txn: ReadTransaction,
    /// Keeps the database open as long as the view lives (it may outlive
    /// the ledger).
    _db: Arc<Database>,
    config: ChainConfig,
    code: Arc<CodeCache>,
}

impl Snapshot {
    pub(crate) fn txn(&self) -> &ReadTransaction {
        &self.0.txn
    }

    pub fn config(&self) -> &ChainConfig {
        &self.0.config
    }

    pub fn head(&self) -> Result<Block, ChainError> {
        store::head(&self.0.txn.open_table(store::BLOCKS)?)
    }

    pub fn block(&self, number: u64) -> Result<Option<Block>, ChainError> {
        let blocks = self.0.txn.open_table(store::BLOCKS)?;
        let block = blocks.get(number)?;
        block.map(|b| store::decode(b.value(), "block")).transpose()
    }

    /// Up to `limit` blocks from number `from` on, in order.
    pub fn blocks(&self, from: u64, limit: usize) -> Result<Vec<Block>, ChainError> {
        let blocks = self.0.txn.open_table(store::BLOCKS)?;
        let mut out = Vec::new();
        for entry in blocks.range(from..)?.take(limit) {
            let (_, block) = entry?;
            out.push(store::decode(block.value(), "block")?);
        }
        Ok(out)
    }

    /// Block `number`'s transaction and receipt (none for genesis).
    pub fn tx_at(&self, number: u64) -> Result<Option<(Transaction, Receipt)>, ChainError> {
        let txs = self.0.txn.open_table(store::TXS)?;
        let Some(tx) = txs.get(number)? else {
            return Ok(None);
        };
        let tx = store::decode(tx.value(), "transaction")?;
        let receipts = self.0.txn.open_table(store::RECEIPTS)?;
        let receipt = receipts
            .get(number)?
            .ok_or_else(|| ChainError::Corrupt(format!("block {number} has no receipt")))?;
        Ok(Some((tx, store::decode(receipt.value(), "receipt")?)))
    }

    /// A transaction by hash, with its block and receipt.
    pub fn tx(&self, hash: &Hash) -> Result<Option<(Block, Transaction, Receipt)>, ChainError> {
        let index = self.0.txn.open_table(store::TX_INDEX)?;
        let Some(number) = index.get(hash.0)?.map(|n| n.value()) else {
            return Ok(None);
        };
        let block = self
            .block(number)?
            .ok_or_else(|| ChainError::Corrupt(format!("tx {hash} points at no block")))?;
        let (tx, receipt) = self
            .tx_at(number)?
            .ok_or_else(|| ChainError::Corrupt(format!("block {number} has no transaction")))?;
        Ok(Some((block, tx, receipt)))
    }

    pub fn contract(&self, address: &Address) -> Result<Option<ContractInfo>, ChainError> {
        let contracts = self.0.txn.open_table(store::CONTRACTS)?;
        let info = contracts.get(address.0)?;
        info.map(|i| store::decode(i.value(), "contract"))
            .transpose()
    }

    pub fn code(&self, code_hash: &Hash) -> Result<Option<Arc<[u8]>>, ChainError> {
        if let Some(code) = self.0.code.get(code_hash) {
            return Ok(Some(code));
        }
        let table = self.0.txn.open_table(store::CODE)?;
        let Some(code) = table.get(code_hash.0)? else {
            return Ok(None);
        };
        let code: Arc<[u8]> = code.value().into();
        self.0.code.insert(*code_hash, code.clone());
        Ok(Some(code))
    }

    /// The contract's state, sorted by key.
    pub fn state(&self, address: &Address) -> Result<Pairs, ChainError> {
        let state = self.0.txn.open_table(store::STATE)?;
        let mut out = Vec::new();
        store::for_each_pair(&state, address, |key, value| {
            out.push((key.to_vec(), value.to_vec()));
            true
        })?;
        Ok(out)
    }

    pub fn get(&self, address: &Address, key: &[u8]) -> Result<Option<Vec<u8>>, ChainError> {
        let state = self.0.txn.open_table(store::STATE)?;
        let value = state.get(store::state_key(address, key).as_slice())?;
        Ok(value.map(|v| v.value().to_vec()))
    }

    /// The contract's state as an executor reads it.
    pub fn contract_state(&self, address: &Address) -> Result<Arc<dyn ContractState>, ChainError> {
        Ok(Arc::new(StoredState {
            table: self.0.txn.open_table(store::STATE)?,
            address: *address,
        }))
    }

    /// The contract's code and its hash; an error when there is no contract.
    pub(crate) fn contract_code(&self, address: &Address) -> Result<(Hash, Arc<[u8]>), ChainError> {
        let info = self
            .contract(address)?
            .ok_or(ChainError::NoSuchContract(*address))?;
        let code = self
            .code(&info.code_hash)?
            .ok_or_else(|| ChainError::Corrupt(format!("no code for contract {address}")))?;
        Ok((info.code_hash, code))
    }

    /// Runs a call as the next block would, storing nothing.
    pub fn query(
        &self,
        exec: &mut dyn Executor,
        address: &Address,
        sender: &[u8],
        args: Vec<Vec<u8>>,
        stdin: Vec<u8>,
        gas_limit: Option<u64>,
    ) -> Result<Execution, ChainError> {
        let tx = Transaction::call(address, sender, args, stdin, gas_limit);
        tx.check_size(&self.0.config.limits)?;
        let (code_hash, code) = self.contract_code(address)?;
        let request = ExecRequest {
            address: *address,
            code_hash,
            code,
            tx: &tx,
            block: self.head()?.next_context()?,
            state: self.contract_state(address)?,
        };
        Ok(exec.execute(&request)?)
    }
}

/// A contract's state as the command line and the HTTP API print it:
/// `{"address": ..., "state": [{"key": ..., "value": ...}, ...]}`.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize)]
pub struct StateListing {
    pub address: Address,
    #[serde(with = "crate::repr::pairs")]
    pub state: Pairs,
}

/// One contract's pairs in a snapshot.
struct StoredState {
    table: ReadOnlyTable<&'static [u8], &'static [u8]>,
    address: Address,
}

fn read_error(error: impl std::fmt::Display) -> StateReadError {
    StateReadError(error.to_string())
}

impl StateReader for StoredState {
    fn get(&self, key: &[u8]) -> Result<Option<Vec<u8>>, StateReadError> {
        let value = self
            .table
            .get(store::state_key(&self.address, key).as_slice())
            .map_err(read_error)?;
        Ok(value.map(|v| v.value().to_vec()))
    }
}

impl ContractState for StoredState {
    fn pairs(&self, budget: usize) -> Result<Pairs, StateReadError> {
        let mut out = Vec::new();
        let mut left = budget;
        store::for_each_pair(&self.table, &self.address, |key, value| {
            let size = key.len().saturating_add(value.len());
            let Some(rest) = left.checked_sub(size) else {
                return false;
            };
            left = rest;
            out.push((key.to_vec(), value.to_vec()));
            true
        })
        .map_err(read_error)?;
        Ok(out)
    }
}
