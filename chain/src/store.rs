//! The redb schema: tables, their encodings, and opening a store.
//!
//! Records are postcard-encoded (serde, varint lengths, no field names):
//! the smallest of the well-kept serde formats, so a call's transaction and
//! receipt cost little more than their bytes. docs/chain.md lists the
//! tables.

use std::path::Path;

use redb::{Database, ReadableDatabase, ReadableTable, TableDefinition, TableError};
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};

use crate::block::Block;
use crate::config::ChainConfig;
use crate::error::ChainError;
use crate::ids::{Address, Hash};
use crate::state_root::{ContractRoot, StateRoot};

/// Bumped whenever a table or a record's encoding changes.
pub const SCHEMA_VERSION: u32 = 1;

/// "schema_version" (u32 little-endian), "config" (ChainConfig).
pub(crate) const META: TableDefinition<&str, &[u8]> = TableDefinition::new("meta");
/// Block number -> Block.
pub(crate) const BLOCKS: TableDefinition<u64, &[u8]> = TableDefinition::new("blocks");
/// Block number -> Transaction (blocks after genesis).
pub(crate) const TXS: TableDefinition<u64, &[u8]> = TableDefinition::new("txs");
/// Block number -> Receipt.
pub(crate) const RECEIPTS: TableDefinition<u64, &[u8]> = TableDefinition::new("receipts");
/// Transaction hash -> block number.
pub(crate) const TX_INDEX: TableDefinition<[u8; 32], u64> = TableDefinition::new("tx_index");
/// Address -> ContractInfo, for contracts whose deploy succeeded.
pub(crate) const CONTRACTS: TableDefinition<[u8; 20], &[u8]> = TableDefinition::new("contracts");
/// Code hash -> code, for every deploy (replay runs failed ones too).
pub(crate) const CODE: TableDefinition<[u8; 32], &[u8]> = TableDefinition::new("code");
/// Address (20 bytes) || key -> value.
pub(crate) const STATE: TableDefinition<&[u8], &[u8]> = TableDefinition::new("state");
/// Address -> the contract's state root.
pub(crate) const CONTRACT_ROOTS: TableDefinition<[u8; 20], [u8; 32]> =
    TableDefinition::new("contract_roots");

const SCHEMA_KEY: &str = "schema_version";
const CONFIG_KEY: &str = "config";

/// A deployed contract.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ContractInfo {
    pub address: Address,
    pub code_hash: Hash,
    pub code_size: u64,
    /// The block of its deploy transaction.
    pub deploy_block: u64,
    pub deploy_tx: Hash,
}

pub(crate) fn encode<T: Serialize>(value: &T) -> Result<Vec<u8>, ChainError> {
    postcard::to_allocvec(value).map_err(|e| ChainError::Corrupt(format!("cannot encode: {e}")))
}

pub(crate) fn decode<T: DeserializeOwned>(bytes: &[u8], what: &str) -> Result<T, ChainError> {
    postcard::from_bytes(bytes).map_err(|e| ChainError::Corrupt(format!("{what}: {e}")))
}

/// The state table's key for `key` of the contract at `address`.
pub(crate) fn state_key(address: &Address, key: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(20usize.saturating_add(key.len()));
    out.extend_from_slice(&address.0);
    out.extend_from_slice(key);
    out
}

/// Calls `each` with the contract's pairs in key order until it returns
/// false.
pub(crate) fn for_each_pair(
    state: &impl ReadableTable<&'static [u8], &'static [u8]>,
    address: &Address,
    mut each: impl FnMut(&[u8], &[u8]) -> bool,
) -> Result<(), ChainError> {
    for entry in state.range::<&[u8]>(&address.0[..]..)? {
        let (key, value) = entry?;
        let Some(own_key) = key.value().strip_prefix(&address.0[..]) else {
            break;
        };
        if !each(own_key, value.value()) {
            break;
        }
    }
    Ok(())
}

pub(crate) fn contract_root(
    state: &impl ReadableTable<&'static [u8], &'static [u8]>,
    address: &Address,
) -> Result<Hash, ChainError> {
    let mut root = ContractRoot::new();
    for_each_pair(state, address, |key, value| {
        root.pair(key, value);
        true
    })?;
    Ok(root.finish())
}

pub(crate) fn state_root(
    roots: &impl ReadableTable<[u8; 20], [u8; 32]>,
) -> Result<Hash, ChainError> {
    let mut root = StateRoot::new();
    for entry in roots.iter()? {
        let (address, contract) = entry?;
        root.contract(&Address(address.value()), &Hash(contract.value()));
    }
    Ok(root.finish())
}

/// Opens `path` (creating it when absent or empty) and checks or writes
/// the schema. Returns the store's config.
pub(crate) fn open_file(
    path: &Path,
    config_if_new: &ChainConfig,
) -> Result<(Database, ChainConfig), ChainError> {
    let not_a_store = |reason: String| ChainError::NotAStore {
        path: path.to_path_buf(),
        reason,
    };
    // A plain open trusts the file and may panic on one altered since
    // redb wrote it; the integrity check verifies every page's checksum
    // first (a whole read of the file, worth it once per open).
    let db = Database::builder()
        .set_check_integrity_on_open(true)
        .create(path)
        .map_err(|error| match error {
            redb::DatabaseError::Storage(redb::StorageError::Io(io))
                if matches!(
                    io.kind(),
                    std::io::ErrorKind::InvalidData | std::io::ErrorKind::UnexpectedEof
                ) =>
            {
                not_a_store(io.to_string())
            }
            redb::DatabaseError::DatabaseAlreadyOpen => ChainError::InUse(path.to_path_buf()),
            redb::DatabaseError::Storage(redb::StorageError::Corrupted(reason)) => {
                not_a_store(reason)
            }
            other => other.into(),
        })?;
    let config = prepare(&db, config_if_new).map_err(|error| match error {
        ChainError::Corrupt(reason) => not_a_store(reason),
        other => other,
    })?;
    Ok((db, config))
}

/// Initializes a fresh database (schema, config, genesis) or checks an
/// existing one's schema version; returns the config in force.
pub(crate) fn prepare(
    db: &Database,
    config_if_new: &ChainConfig,
) -> Result<ChainConfig, ChainError> {
    let read = db.begin_read()?;
    match read.open_table(META) {
        Ok(meta) => read_meta(&meta),
        Err(TableError::TableDoesNotExist(_)) => {
            if read.list_tables()?.next().is_some() {
                return Err(ChainError::Corrupt(
                    "a redb database without qvm's metadata".into(),
                ));
            }
            drop(read);
            initialize(db, config_if_new)?;
            Ok(*config_if_new)
        }
        Err(error) => Err(error.into()),
    }
}

fn read_meta(
    meta: &impl ReadableTable<&'static str, &'static [u8]>,
) -> Result<ChainConfig, ChainError> {
    let version = meta
        .get(SCHEMA_KEY)?
        .ok_or_else(|| ChainError::Corrupt("no schema version".into()))?;
    let version = <[u8; 4]>::try_from(version.value())
        .map(u32::from_le_bytes)
        .map_err(|_| ChainError::Corrupt("malformed schema version".into()))?;
    if version != SCHEMA_VERSION {
        return Err(ChainError::SchemaVersion {
            found: version,
            expected: SCHEMA_VERSION,
        });
    }
    let config = meta
        .get(CONFIG_KEY)?
        .ok_or_else(|| ChainError::Corrupt("no chain config".into()))?;
    decode(config.value(), "chain config")
}

fn initialize(db: &Database, config: &ChainConfig) -> Result<(), ChainError> {
    let write = db.begin_write()?;
    {
        let mut meta = write.open_table(META)?;
        meta.insert(SCHEMA_KEY, &SCHEMA_VERSION.to_le_bytes()[..])?;
        meta.insert(CONFIG_KEY, encode(config)?.as_slice())?;
        let empty_root = state_root(&write.open_table(CONTRACT_ROOTS)?)?;
        let genesis = Block::genesis(config, empty_root);
        write
            .open_table(BLOCKS)?
            .insert(0, encode(&genesis)?.as_slice())?;
        // Every table exists from the start, so readers need not tell
        // "absent table" from "no rows".
        write.open_table(TXS)?;
        write.open_table(RECEIPTS)?;
        write.open_table(TX_INDEX)?;
        write.open_table(CONTRACTS)?;
        write.open_table(CODE)?;
        write.open_table(STATE)?;
    }
    write.commit()?;
    Ok(())
}

/// The latest block.
pub(crate) fn head(blocks: &impl ReadableTable<u64, &'static [u8]>) -> Result<Block, ChainError> {
    let (_, block) = blocks
        .last()?
        .ok_or_else(|| ChainError::Corrupt("no genesis block".into()))?;
    decode(block.value(), "block")
}

/// Rewrites the schema version: for tests of the mismatch.
#[cfg(test)]
pub(crate) fn set_schema_version(db: &Database, version: u32) -> Result<(), ChainError> {
    let write = db.begin_write()?;
    write
        .open_table(META)?
        .insert(SCHEMA_KEY, &version.to_le_bytes()[..])?;
    write.commit()?;
    Ok(())
}
