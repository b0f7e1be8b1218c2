//! A contract's stored state, as a call reads it.
//!
//! QVM's protocol hands a call the keys it declares as `DB_<KEY>`
//! environment variables. qvm also lets a contract read any key of its own
//! state lazily, as the file `/state/KEY`, served from the state as it was
//! before the block: the kernel asks a [`StateReader`] at `open`. Whoever
//! runs the call (the local chain, a node, a test) supplies the reader;
//! the kernel side is [`crate::kernel::statefs`].

use std::collections::BTreeMap;

use thiserror::Error;

/// Why a state read failed on the host's side (the store, not the
/// contract). The contract sees EIO.
#[derive(Clone, Debug, Error, PartialEq, Eq)]
#[error("state read failed: {0}")]
pub struct StateReadError(pub String);

/// A contract's state as it was before the block. It must answer from one
/// snapshot for the whole call: the kernel asks it again at each open.
pub trait StateReader: Send + Sync {
    /// The value of `key`; `Ok(None)` when the key is absent; an error when
    /// the store failed (the contract then gets EIO).
    fn get(&self, key: &[u8]) -> Result<Option<Vec<u8>>, StateReadError>;
}

impl std::fmt::Debug for dyn StateReader {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("StateReader")
    }
}

/// A state held in memory, for tests and one-off calls.
impl StateReader for BTreeMap<Vec<u8>, Vec<u8>> {
    fn get(&self, key: &[u8]) -> Result<Option<Vec<u8>>, StateReadError> {
        Ok(BTreeMap::get(self, key).cloned())
    }
}

/// The `DB_<KEY>=<VALUE>` environment entries QVM's protocol gives a call
/// for the keys it declares, from `pairs` (key, value): only keys that are
/// non-empty names of ASCII letters, digits and `_` and values without NUL
/// can be environment variables; the others are left out (the contract
/// reads them as `/state` files). Entries are sorted by key (a key given
/// twice keeps its last value) and stop, at the first that does not fit,
/// once they would pass `budget` bytes in all, each counting its bytes and
/// its NUL as on the stack.
pub fn declared_env<'a>(
    pairs: impl IntoIterator<Item = (&'a [u8], &'a [u8])>,
    budget: usize,
) -> Vec<Vec<u8>> {
    let is_name =
        |k: &[u8]| !k.is_empty() && k.iter().all(|&b| b.is_ascii_alphanumeric() || b == b'_');
    let sorted: BTreeMap<&[u8], &[u8]> = pairs
        .into_iter()
        .filter(|(k, v)| is_name(k) && !v.contains(&0))
        .collect();
    let mut used = 0usize;
    let mut entries = Vec::new();
    for (key, value) in sorted {
        let entry = [b"DB_", key, b"=", value].concat();
        used = match used.checked_add(entry.len() + 1) {
            Some(n) if n <= budget => n,
            _ => break,
        };
        entries.push(entry);
    }
    entries
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

    #[test]
    fn declared_env_takes_names_sorted_within_the_budget() {
        let pairs: [(&[u8], &[u8]); 7] = [
            (b"b", b"2"),
            (b"A_1", b"x=y"),
            (b"", b"empty key"),
            (b"has space", b"v"),
            (b"nul", b"a\0b"),
            (b"\xff", b"v"),
            (b"b", b"3"),
        ];
        let all = declared_env(pairs, usize::MAX);
        assert_eq!(all, [b"DB_A_1=x=y".to_vec(), b"DB_b=3".to_vec()]);
        // (budget, entries kept): each entry counts its NUL.
        for (budget, kept) in [(0, 0), (10, 0), (11, 1), (17, 1), (18, 2)] {
            assert_eq!(declared_env(pairs, budget), all[..kept], "{budget}");
        }
        // Stops at the first entry that does not fit, even if a later one would.
        let big: [(&[u8], &[u8]); 2] = [(b"a", b"long value"), (b"b", b"")];
        assert!(declared_env(big, 8).is_empty());
    }
}
