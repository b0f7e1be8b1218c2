//! The canonical encoding every chain hash is taken over.
//!
//! A hash input is a domain string (its bytes, no length) followed by
//! fields: integers as 8-byte little-endian, byte strings as their length
//! (8-byte little-endian) then their bytes, lists as their count then their
//! items, optional values as one byte 0 (absent) or 1 then the value, fixed
//! ids (hashes, addresses) as their raw bytes. docs/chain.md spells out the
//! fields of each hash in order, so anyone can recompute them.

use crate::ids::Hash;

/// A BLAKE3 hash being fed canonical fields.
pub(crate) struct Digest(blake3::Hasher);

impl Digest {
    pub(crate) fn new(domain: &str) -> Digest {
        let mut hasher = blake3::Hasher::new();
        hasher.update(domain.as_bytes());
        Digest(hasher)
    }

    pub(crate) fn u64(&mut self, value: u64) -> &mut Digest {
        self.0.update(&value.to_le_bytes());
        self
    }

    /// A length or count: a `usize` hashed as a u64 (lossless on every
    /// target qvm builds for).
    pub(crate) fn len(&mut self, len: usize) -> &mut Digest {
        self.u64(len as u64)
    }

    pub(crate) fn flag(&mut self, value: bool) -> &mut Digest {
        self.0.update(&[u8::from(value)]);
        self
    }

    pub(crate) fn fixed(&mut self, bytes: &[u8]) -> &mut Digest {
        self.0.update(bytes);
        self
    }

    pub(crate) fn bytes(&mut self, bytes: &[u8]) -> &mut Digest {
        self.len(bytes.len()).fixed(bytes)
    }

    pub(crate) fn list(&mut self, items: &[Vec<u8>]) -> &mut Digest {
        self.len(items.len());
        for item in items {
            self.bytes(item);
        }
        self
    }

    pub(crate) fn pairs(&mut self, pairs: &[(Vec<u8>, Vec<u8>)]) -> &mut Digest {
        self.len(pairs.len());
        for (key, value) in pairs {
            self.bytes(key).bytes(value);
        }
        self
    }

    pub(crate) fn opt_u64(&mut self, value: Option<u64>) -> &mut Digest {
        match value {
            None => self.flag(false),
            Some(v) => self.flag(true).u64(v),
        }
    }

    /// An optional i32 (exit code, signal), widened to 8 bytes as its
    /// two's-complement sign extension.
    pub(crate) fn opt_i32(&mut self, value: Option<i32>) -> &mut Digest {
        self.opt_u64(value.map(|v| i64::from(v) as u64))
    }

    pub(crate) fn opt_bytes(&mut self, value: Option<&[u8]>) -> &mut Digest {
        match value {
            None => self.flag(false),
            Some(v) => self.flag(true).bytes(v),
        }
    }

    pub(crate) fn finish(&self) -> Hash {
        Hash::from(self.0.finalize())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fields_hash_as_documented() {
        let mut manual = b"dom".to_vec();
        manual.extend_from_slice(&5u64.to_le_bytes());
        manual.extend_from_slice(&2u64.to_le_bytes());
        manual.extend_from_slice(b"ab");
        manual.extend_from_slice(&1u64.to_le_bytes());
        manual.extend_from_slice(&0u64.to_le_bytes());
        manual.push(1);
        manual.extend_from_slice(&(-1i64).to_le_bytes());
        manual.push(0);
        manual.extend_from_slice(&[9; 4]);
        let got = Digest::new("dom")
            .u64(5)
            .bytes(b"ab")
            .list(&[Vec::new()])
            .opt_i32(Some(-1))
            .opt_bytes(None)
            .fixed(&[9; 4])
            .finish();
        assert_eq!(got, Hash::of(&manual));
    }
}
