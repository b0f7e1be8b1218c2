//! The ledger: turns transactions into blocks, one redb write transaction
//! each.

use std::path::Path;
use std::sync::Arc;

use redb::{Database, ReadableTable};

use crate::block::{self, Block};
use crate::code_cache::CodeCache;
use crate::config::ChainConfig;
use crate::error::ChainError;
use crate::executor::{ExecRequest, Executor};
use crate::ids::{Address, Hash};
use crate::receipt::{Origin, Receipt};
use crate::snapshot::{Snapshot, Snapshots};
use crate::store::{self, ContractInfo};
use crate::tx::{check_size, Transaction, TxKind};

/// The store's file inside the data directory.
pub const STORE_FILE: &str = "chain.redb";

/// The chain's one writer. Reads go through [`Snapshot`]s.
pub struct Ledger {
    db: Arc<Database>,
    config: ChainConfig,
    code: Arc<CodeCache>,
    head: Block,
}

impl Ledger {
    /// Opens `dir/chain.redb`, creating the directory and the store (with
    /// `config_if_new` and a genesis block) when absent. An existing store
    /// keeps the config it was created with: [`Ledger::config`] tells it.
    pub fn open(dir: &Path, config_if_new: ChainConfig) -> Result<Ledger, ChainError> {
        std::fs::create_dir_all(dir).map_err(|source| ChainError::CreateDir {
            path: dir.to_path_buf(),
            source,
        })?;
        let (db, config) = store::open_file(&dir.join(STORE_FILE), &config_if_new)?;
        Ledger::with_database(db, config)
    }

    /// A store in memory, gone when dropped (replay, tests).
    pub fn in_memory(config: ChainConfig) -> Result<Ledger, ChainError> {
        let db = Database::builder().create_with_backend(redb::backends::InMemoryBackend::new())?;
        let config = store::prepare(&db, &config)?;
        Ledger::with_database(db, config)
    }

    fn with_database(db: Database, config: ChainConfig) -> Result<Ledger, ChainError> {
        let mut ledger = Ledger {
            db: Arc::new(db),
            config,
            code: Arc::new(CodeCache::new(CodeCache::DEFAULT_BUDGET)),
            head: Block::genesis(&config, Hash::ZERO),
        };
        ledger.head = ledger.snapshot()?.head()?;
        Ok(ledger)
    }

    pub fn config(&self) -> &ChainConfig {
        &self.config
    }

    /// The latest block.
    pub fn head(&self) -> Result<Block, ChainError> {
        Ok(self.head.clone())
    }

    /// A read view at the latest block.
    pub fn snapshot(&self) -> Result<Snapshot, ChainError> {
        self.snapshots().latest()
    }

    /// A handle that takes snapshots without going through the ledger.
    pub fn snapshots(&self) -> Snapshots {
        Snapshots::new(self.db.clone(), self.config, self.code.clone())
    }

    /// Stores `code`, gives it an address and runs `construct` (then
    /// `args`) in a new block. The contract exists only if that succeeds.
    /// `exec` must count gas (else [`ChainError::GasNotCounted`]).
    pub fn deploy(
        &mut self,
        exec: &mut dyn Executor,
        code: &[u8],
        sender: &[u8],
        args: Vec<Vec<u8>>,
        gas_limit: Option<u64>,
    ) -> Result<Receipt, ChainError> {
        counting(exec)?;
        check_size("the contract", code.len(), self.config.limits.max_contract)?;
        let tx = Transaction {
            kind: TxKind::Deploy {
                code_hash: Hash::of(code),
            },
            sender: sender.to_vec(),
            args,
            stdin: Vec::new(),
            gas_limit,
        };
        self.apply(exec, tx, Some(code.into()))
    }

    /// Calls the contract at `address` in a new block; its writes and
    /// deletes are applied if it succeeds. `exec` must count gas (else
    /// [`ChainError::GasNotCounted`]).
    pub fn call(
        &mut self,
        exec: &mut dyn Executor,
        address: &Address,
        sender: &[u8],
        args: Vec<Vec<u8>>,
        stdin: Vec<u8>,
        gas_limit: Option<u64>,
    ) -> Result<Receipt, ChainError> {
        counting(exec)?;
        let tx = Transaction::call(address, sender, args, stdin, gas_limit);
        self.apply(exec, tx, None)
    }

    /// Runs `tx` in the next block and commits the block, durably, before
    /// returning its receipt. `code` is a deploy's code.
    pub(crate) fn apply(
        &mut self,
        exec: &mut dyn Executor,
        tx: Transaction,
        code: Option<Arc<[u8]>>,
    ) -> Result<Receipt, ChainError> {
        let limits = self.config.limits;
        tx.check_size(&limits)?;
        let context = self.head.next_context()?;
        let timestamp = block::timestamp(&self.config, context.number)?;
        let tx_hash = tx.hash(context.number);
        let before = self.snapshot()?;
        let (address, code_hash, code) = match (tx.kind, code) {
            (TxKind::Deploy { code_hash }, Some(code)) => {
                let address = Address::of_deploy(&code_hash, &tx_hash);
                if before.contract(&address)?.is_some() {
                    return Err(ChainError::AddressInUse(address));
                }
                (address, code_hash, code)
            }
            (TxKind::Call { address }, None) => {
                let (code_hash, code) = before.contract_code(&address)?;
                (address, code_hash, code)
            }
            _ => return Err(ChainError::Corrupt("a deploy needs its code".into())),
        };
        let request = ExecRequest {
            address,
            code_hash,
            code: code.clone(),
            tx: &tx,
            block: context,
            state: before.contract_state(&address)?,
        };
        let execution = exec.execute(&request)?;
        drop(request);
        drop(before);
        let origin = Origin {
            tx_hash,
            block_number: context.number,
            kind: tx.kind,
            address,
            sender: &tx.sender,
        };
        let mut receipt = Receipt::judge(origin, execution, &limits);

        let mut write = self.db.begin_write()?;
        // Contracts choose what a block writes; redb's default one-phase
        // commit trusts a non-cryptographic checksum that chosen data could
        // defeat in a crash, the two-phase commit does not.
        write.set_two_phase_commit(true);
        let block = {
            let deploy = matches!(tx.kind, TxKind::Deploy { .. });
            if deploy {
                let mut table = write.open_table(store::CODE)?;
                if table.get(code_hash.0)?.is_none() {
                    table.insert(code_hash.0, &*code)?;
                }
            }
            let mut roots = write.open_table(store::CONTRACT_ROOTS)?;
            if receipt.succeeded() {
                if deploy {
                    let info = ContractInfo {
                        address,
                        code_hash,
                        code_size: code.len() as u64,
                        deploy_block: context.number,
                        deploy_tx: tx_hash,
                    };
                    write
                        .open_table(store::CONTRACTS)?
                        .insert(address.0, store::encode(&info)?.as_slice())?;
                }
                let changed = !receipt.writes.is_empty() || !receipt.deletes.is_empty();
                if deploy || changed {
                    let mut state = write.open_table(store::STATE)?;
                    for (key, value) in &receipt.writes {
                        state
                            .insert(store::state_key(&address, key).as_slice(), value.as_slice())?;
                    }
                    for key in &receipt.deletes {
                        state.remove(store::state_key(&address, key).as_slice())?;
                    }
                    roots.insert(address.0, store::contract_root(&state, &address)?.0)?;
                }
            }
            receipt.state_root = store::state_root(&roots)?;
            let block = Block::new(
                context.number,
                timestamp,
                context.prev_hash,
                tx_hash,
                receipt.state_root,
                receipt.hash(),
            );
            receipt.block_hash = block.hash;
            write
                .open_table(store::BLOCKS)?
                .insert(block.number, store::encode(&block)?.as_slice())?;
            write
                .open_table(store::TXS)?
                .insert(block.number, store::encode(&tx)?.as_slice())?;
            write
                .open_table(store::RECEIPTS)?
                .insert(block.number, store::encode(&receipt)?.as_slice())?;
            write
                .open_table(store::TX_INDEX)?
                .insert(tx_hash.0, block.number)?;
            block
        };
        // redb's default durability: committed means on disk.
        write.commit()?;
        self.code.insert(code_hash, code);
        self.head = block;
        Ok(receipt)
    }

    #[cfg(test)]
    pub(crate) fn database(&self) -> &Database {
        &self.db
    }
}

/// New history is recorded only by an executor that counts gas: a receipt
/// holds the gas used, which every node must agree on. (Replay runs on any
/// executor: it takes the recorded gas where it cannot count.)
fn counting(exec: &dyn Executor) -> Result<(), ChainError> {
    if exec.counts_gas() {
        Ok(())
    } else {
        Err(ChainError::GasNotCounted)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::{set_schema_version, SCHEMA_VERSION};

    #[test]
    fn a_store_of_another_schema_version_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        {
            let ledger = Ledger::open(dir.path(), ChainConfig::default()).unwrap();
            set_schema_version(ledger.database(), SCHEMA_VERSION + 1).unwrap();
        }
        let result = Ledger::open(dir.path(), ChainConfig::default());
        assert!(matches!(
            result,
            Err(ChainError::SchemaVersion { found, expected })
                if found == SCHEMA_VERSION + 1 && expected == SCHEMA_VERSION
        ));
    }

    #[test]
    fn a_foreign_redb_database_is_not_a_store() {
        let dir = tempfile::tempdir().unwrap();
        {
            let db = Database::create(dir.path().join(STORE_FILE)).unwrap();
            let write = db.begin_write().unwrap();
            let table: redb::TableDefinition<u64, u64> = redb::TableDefinition::new("theirs");
            write.open_table(table).unwrap().insert(1, 2).unwrap();
            write.commit().unwrap();
        }
        let result = Ledger::open(dir.path(), ChainConfig::default());
        assert!(
            matches!(&result, Err(ChainError::NotAStore { reason, .. }) if reason.contains("metadata")),
            "{:?}",
            result.err()
        );
    }
}
