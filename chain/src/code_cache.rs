//! Contract code kept in memory, so a call does not copy its contract out
//! of the store each time. Code is addressed by its hash and never
//! changes, so what the cache holds is always right; it only saves reads.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};

use crate::ids::Hash;

/// Code by hash, up to a byte budget; the least recently used goes first.
pub(crate) struct CodeCache {
    budget: usize,
    inner: Mutex<Entries>,
}

#[derive(Default)]
struct Entries {
    code: BTreeMap<Hash, (Arc<[u8]>, u64)>,
    bytes: usize,
    clock: u64,
}

impl CodeCache {
    /// 256 MiB: a few hundred typical contracts.
    pub(crate) const DEFAULT_BUDGET: usize = 256 << 20;

    pub(crate) fn new(budget: usize) -> CodeCache {
        CodeCache {
            budget,
            inner: Mutex::new(Entries::default()),
        }
    }

    pub(crate) fn get(&self, hash: &Hash) -> Option<Arc<[u8]>> {
        let mut entries = self.inner.lock().unwrap_or_else(|e| e.into_inner());
        entries.clock = entries.clock.wrapping_add(1);
        let now = entries.clock;
        let (code, used) = entries.code.get_mut(hash)?;
        *used = now;
        Some(code.clone())
    }

    pub(crate) fn insert(&self, hash: Hash, code: Arc<[u8]>) {
        if code.len() > self.budget {
            return;
        }
        let mut entries = self.inner.lock().unwrap_or_else(|e| e.into_inner());
        while entries.bytes.saturating_add(code.len()) > self.budget {
            let oldest = entries
                .code
                .iter()
                .min_by_key(|(_, (_, used))| *used)
                .map(|(hash, _)| *hash);
            let Some((old, _)) = oldest.and_then(|hash| entries.code.remove(&hash)) else {
                break;
            };
            entries.bytes = entries.bytes.saturating_sub(old.len());
        }
        entries.clock = entries.clock.wrapping_add(1);
        let now = entries.clock;
        entries.bytes = entries.bytes.saturating_add(code.len());
        if let Some((old, _)) = entries.code.insert(hash, (code, now)) {
            entries.bytes = entries.bytes.saturating_sub(old.len());
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn evicts_the_least_recently_used_past_the_budget() {
        let cache = CodeCache::new(10);
        let code = |n: u8| -> Arc<[u8]> { vec![n; 4].into() };
        cache.insert(Hash([1; 32]), code(1));
        cache.insert(Hash([2; 32]), code(2));
        assert!(cache.get(&Hash([1; 32])).is_some());
        cache.insert(Hash([3; 32]), code(3));
        assert!(cache.get(&Hash([2; 32])).is_none());
        assert_eq!(cache.get(&Hash([1; 32])).as_deref(), Some(&[1u8; 4][..]));
        assert!(cache.get(&Hash([3; 32])).is_some());
        cache.insert(Hash([4; 32]), vec![0; 11].into());
        assert!(cache.get(&Hash([4; 32])).is_none());
    }
}
