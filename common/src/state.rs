//! A contract's stored state, as a call reads it.
//!
//! QVM's protocol hands a call the keys it declares as `DB_<KEY>`
//! environment variables. qvm also lets a contract read any key of its own
//! state lazily, as the file `/state/KEY`, served from the state as it was
//! before the block: the kernel asks a [`StateReader`] at `open`. Whoever
//! runs the call (the local chain, a node, a test) supplies the reader.

use std::collections::BTreeMap;

use thiserror::Error;

/// Why a state read failed on the host's side (the store, not the
/// contract). The contract sees EIO.
#[derive(Clone, Debug, Error, PartialEq, Eq)]
#[error("state read failed: {0}")]
pub struct StateReadError(pub String);

/// A contract's state as it was before the block.
pub trait StateReader: Send + Sync {
    /// The value of `key`; `Ok(None)` when the key is absent.
    fn get(&self, key: &[u8]) -> Result<Option<Vec<u8>>, StateReadError>;
}

/// A state held in memory, for tests and one-off calls.
impl StateReader for BTreeMap<Vec<u8>, Vec<u8>> {
    fn get(&self, key: &[u8]) -> Result<Option<Vec<u8>>, StateReadError> {
        Ok(BTreeMap::get(self, key).cloned())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn map_reader_reads_present_and_absent_keys() {
        let mut map = BTreeMap::new();
        map.insert(b"counter".to_vec(), b"41".to_vec());
        assert_eq!(StateReader::get(&map, b"counter"), Ok(Some(b"41".to_vec())));
        assert_eq!(StateReader::get(&map, b"missing"), Ok(None));
    }
}
