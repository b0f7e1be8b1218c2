//! Blocks: one transaction each, chained by hash.

use serde::{Deserialize, Serialize};

use crate::config::ChainConfig;
use crate::digest::Digest;
use crate::error::ChainError;
use crate::ids::Hash;

/// A block as stored. Block 0 (genesis) has no transaction: its previous
/// hash, transaction hash and receipt hash are zero, its state root that
/// of the empty state.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Block {
    pub number: u64,
    /// `genesis_time + number * block_interval`.
    pub timestamp: u64,
    pub prev_hash: Hash,
    pub tx_hash: Hash,
    /// The state root after this block's transaction.
    pub state_root: Hash,
    /// The hash of this block's receipt ([`crate::Receipt::hash`]).
    pub receipt_hash: Hash,
    /// [`Block::compute_hash`] of the fields above.
    pub hash: Hash,
}

impl Block {
    /// Builds block `number` and its hash.
    pub(crate) fn new(
        number: u64,
        timestamp: u64,
        prev_hash: Hash,
        tx_hash: Hash,
        state_root: Hash,
        receipt_hash: Hash,
    ) -> Block {
        let mut block = Block {
            number,
            timestamp,
            prev_hash,
            tx_hash,
            state_root,
            receipt_hash,
            hash: Hash::ZERO,
        };
        block.hash = block.compute_hash();
        block
    }

    pub(crate) fn genesis(config: &ChainConfig, empty_root: Hash) -> Block {
        Block::new(
            0,
            config.genesis_time,
            Hash::ZERO,
            Hash::ZERO,
            empty_root,
            Hash::ZERO,
        )
    }

    /// BLAKE3("qvm-block" || number || prev_hash || timestamp || tx_hash ||
    /// state_root || receipt_hash), integers as 8-byte little-endian.
    pub fn compute_hash(&self) -> Hash {
        Digest::new("qvm-block")
            .u64(self.number)
            .fixed(&self.prev_hash.0)
            .u64(self.timestamp)
            .fixed(&self.tx_hash.0)
            .fixed(&self.state_root.0)
            .fixed(&self.receipt_hash.0)
            .finish()
    }

    /// What a transaction in the block after this one sees.
    pub fn next_context(&self) -> Result<BlockContext, ChainError> {
        Ok(BlockContext {
            number: self
                .number
                .checked_add(1)
                .ok_or(ChainError::Overflow("the block number"))?,
            prev_hash: self.hash,
            prev_timestamp: self.timestamp,
        })
    }
}

/// What a transaction in block `number` sees of the chain: the previous
/// block's hash (the seed of its randomness) and timestamp (its clock).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct BlockContext {
    pub number: u64,
    pub prev_hash: Hash,
    pub prev_timestamp: u64,
}

/// Block `number`'s timestamp under `config`.
pub(crate) fn timestamp(config: &ChainConfig, number: u64) -> Result<u64, ChainError> {
    number
        .checked_mul(config.block_interval)
        .and_then(|offset| offset.checked_add(config.genesis_time))
        .ok_or(ChainError::Overflow("the block timestamp"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hash_covers_every_field_in_order() {
        let block = Block::new(
            7,
            100,
            Hash([1; 32]),
            Hash([2; 32]),
            Hash([3; 32]),
            Hash([4; 32]),
        );
        let mut input = b"qvm-block".to_vec();
        input.extend_from_slice(&7u64.to_le_bytes());
        input.extend_from_slice(&[1; 32]);
        input.extend_from_slice(&100u64.to_le_bytes());
        for byte in [2, 3, 4] {
            input.extend_from_slice(&[byte; 32]);
        }
        assert_eq!(block.hash, Hash::of(&input));
    }

    #[test]
    fn timestamps_follow_the_interval_and_overflow_is_an_error() {
        let config = ChainConfig {
            genesis_time: 1000,
            block_interval: 12,
            ..ChainConfig::default()
        };
        assert_eq!(timestamp(&config, 0).unwrap(), 1000);
        assert_eq!(timestamp(&config, 3).unwrap(), 1036);
        assert!(matches!(
            timestamp(&config, u64::MAX),
            Err(ChainError::Overflow(_))
        ));
    }
}
