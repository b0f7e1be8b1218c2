//! The state root: one hash over every contract's state.
//!
//! A contract's root is BLAKE3("qvm-contract-state" || for each pair in key
//! order: key length || key || value length || value), lengths as 8-byte
//! little-endian. The state root is BLAKE3("qvm-state-root" || for each
//! contract in address order: address (20 bytes) || its root (32 bytes)).
//! Every deployed contract counts, even with no state; the root of the
//! empty chain is BLAKE3("qvm-state-root"). The ledger stores each
//! contract's root and recomputes only those a block touched.

use crate::digest::Digest;
use crate::ids::{Address, Hash};

/// A contract's root, fed its pairs in key order.
pub(crate) struct ContractRoot(Digest);

impl ContractRoot {
    pub(crate) fn new() -> ContractRoot {
        ContractRoot(Digest::new("qvm-contract-state"))
    }

    pub(crate) fn pair(&mut self, key: &[u8], value: &[u8]) {
        self.0.bytes(key).bytes(value);
    }

    pub(crate) fn finish(&self) -> Hash {
        self.0.finish()
    }
}

/// The state root, fed each contract's root in address order.
pub(crate) struct StateRoot(Digest);

impl StateRoot {
    pub(crate) fn new() -> StateRoot {
        StateRoot(Digest::new("qvm-state-root"))
    }

    pub(crate) fn contract(&mut self, address: &Address, root: &Hash) {
        self.0.fixed(&address.0).fixed(&root.0);
    }

    pub(crate) fn finish(&self) -> Hash {
        self.0.finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn roots_are_the_documented_hashes() {
        let mut contract = ContractRoot::new();
        contract.pair(b"a", b"1");
        contract.pair(b"bc", b"");
        let mut input = b"qvm-contract-state".to_vec();
        for part in [&b"a"[..], b"1", b"bc", b""] {
            input.extend_from_slice(&(part.len() as u64).to_le_bytes());
            input.extend_from_slice(part);
        }
        let contract_root = contract.finish();
        assert_eq!(contract_root, Hash::of(&input));

        let mut state = StateRoot::new();
        state.contract(&Address([5; 20]), &contract_root);
        let mut input = b"qvm-state-root".to_vec();
        input.extend_from_slice(&[5; 20]);
        input.extend_from_slice(&contract_root.0);
        assert_eq!(state.finish(), Hash::of(&input));
        assert_eq!(StateRoot::new().finish(), Hash::of(b"qvm-state-root"));
    }
}
