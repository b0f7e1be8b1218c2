//! The chain's identifiers: 32-byte hashes and 20-byte contract addresses.
//!
//! Both print as lowercase hex (an address with `0x`, as users expect of
//! one) and parse with or without `0x`. In JSON they are hex strings; in
//! the store, raw bytes.

use std::fmt;
use std::str::FromStr;

use serde::ser::SerializeTuple;
use serde::{Deserialize, Deserializer, Serialize, Serializer};
use thiserror::Error;

/// Why a hash or an address did not parse.
#[derive(Clone, Debug, Error, PartialEq, Eq)]
#[error("expected {expected} hex digits (optionally after 0x), got {got:?}")]
pub struct ParseIdError {
    expected: usize,
    got: String,
}

fn parse_hex<const N: usize>(text: &str) -> Result<[u8; N], ParseIdError> {
    let digits = text
        .strip_prefix("0x")
        .or_else(|| text.strip_prefix("0X"))
        .unwrap_or(text);
    let mut out = [0u8; N];
    hex::decode_to_slice(digits, &mut out).map_err(|_| ParseIdError {
        expected: N * 2,
        got: text.chars().take(80).collect(),
    })?;
    Ok(out)
}

/// Serializes a fixed-size id: a hex string for people (JSON), raw bytes
/// for the store.
fn serialize_id<S: Serializer, const N: usize>(
    bytes: &[u8; N],
    text: impl fmt::Display,
    serializer: S,
) -> Result<S::Ok, S::Error> {
    if serializer.is_human_readable() {
        serializer.collect_str(&text)
    } else {
        // A tuple: fixed size, no length in the store.
        let mut tuple = serializer.serialize_tuple(N)?;
        for byte in bytes {
            tuple.serialize_element(byte)?;
        }
        tuple.end()
    }
}

fn deserialize_id<'de, D: Deserializer<'de>, const N: usize>(
    deserializer: D,
) -> Result<[u8; N], D::Error>
where
    [u8; N]: Deserialize<'de>,
{
    if deserializer.is_human_readable() {
        let text = String::deserialize(deserializer)?;
        parse_hex(&text).map_err(serde::de::Error::custom)
    } else {
        <[u8; N]>::deserialize(deserializer)
    }
}

/// A BLAKE3 hash: of a block, a transaction, a receipt, code or state.
#[derive(Clone, Copy, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Hash(pub [u8; 32]);

impl Hash {
    /// All zeros: the genesis block's previous hash, transaction and receipt.
    pub const ZERO: Hash = Hash([0; 32]);

    /// The plain BLAKE3 hash of `data` (how code is addressed).
    pub fn of(data: &[u8]) -> Hash {
        Hash(*blake3::hash(data).as_bytes())
    }

    pub fn as_bytes(&self) -> &[u8; 32] {
        &self.0
    }
}

impl From<blake3::Hash> for Hash {
    fn from(hash: blake3::Hash) -> Hash {
        Hash(*hash.as_bytes())
    }
}

impl fmt::Display for Hash {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&hex::encode(self.0))
    }
}

/// A deployed contract's address: the first 20 bytes of
/// BLAKE3("qvm-address" || code hash || deploy transaction hash).
#[derive(Clone, Copy, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Address(pub [u8; 20]);

impl Address {
    /// The address a deploy of `code_hash` in transaction `tx_hash` creates.
    pub fn of_deploy(code_hash: &Hash, tx_hash: &Hash) -> Address {
        let mut hasher = blake3::Hasher::new();
        hasher.update(b"qvm-address");
        hasher.update(&code_hash.0);
        hasher.update(&tx_hash.0);
        let mut out = [0u8; 20];
        out.copy_from_slice(&hasher.finalize().as_bytes()[..20]);
        Address(out)
    }

    pub fn as_bytes(&self) -> &[u8; 20] {
        &self.0
    }
}

impl fmt::Display for Address {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "0x{}", hex::encode(self.0))
    }
}

/// What both ids share: Debug, FromStr and serde through the helpers above.
macro_rules! id_traits {
    ($id:ident) => {
        impl fmt::Debug for $id {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                write!(f, "{}({self})", stringify!($id))
            }
        }

        impl FromStr for $id {
            type Err = ParseIdError;
            fn from_str(text: &str) -> Result<$id, ParseIdError> {
                parse_hex(text).map($id)
            }
        }

        impl Serialize for $id {
            fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
                serialize_id(&self.0, self, serializer)
            }
        }

        impl<'de> Deserialize<'de> for $id {
            fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<$id, D::Error> {
                deserialize_id(deserializer).map($id)
            }
        }
    };
}

id_traits!(Hash);
id_traits!(Address);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hash_prints_and_parses_hex() {
        let hash = Hash([0xab; 32]);
        let text = hash.to_string();
        assert_eq!(text, "ab".repeat(32));
        assert_eq!(text.parse::<Hash>(), Ok(hash));
        assert_eq!(format!("0x{text}").parse::<Hash>(), Ok(hash));
        assert_eq!(text.to_uppercase().parse::<Hash>(), Ok(hash));
    }

    #[test]
    fn address_prints_with_0x_and_parses_either_way() {
        let address = Address([0x01; 20]);
        assert_eq!(address.to_string(), format!("0x{}", "01".repeat(20)));
        assert_eq!(address.to_string().parse::<Address>(), Ok(address));
        assert_eq!("01".repeat(20).parse::<Address>(), Ok(address));
    }

    #[test]
    fn malformed_ids_are_errors() {
        for bad in ["", "0x", "zz", &"ab".repeat(31), &"ab".repeat(33), "0xg0"] {
            assert!(bad.parse::<Hash>().is_err(), "{bad:?}");
            assert!(bad.parse::<Address>().is_err(), "{bad:?}");
        }
    }

    #[test]
    fn deploy_address_is_blake3_of_domain_code_and_tx() {
        let (code, tx) = (Hash([1; 32]), Hash([2; 32]));
        let mut input = b"qvm-address".to_vec();
        input.extend_from_slice(&[1; 32]);
        input.extend_from_slice(&[2; 32]);
        let full = blake3::hash(&input);
        assert_eq!(Address::of_deploy(&code, &tx).0[..], full.as_bytes()[..20]);
        assert_ne!(
            Address::of_deploy(&code, &tx),
            Address::of_deploy(&code, &Hash([3; 32]))
        );
    }

    #[test]
    fn ids_are_hex_in_json_and_raw_in_the_store() {
        let hash = Hash([7; 32]);
        let json = serde_json::to_string(&hash).unwrap();
        assert_eq!(json, format!("\"{hash}\""));
        assert_eq!(serde_json::from_str::<Hash>(&json).unwrap(), hash);
        let stored = postcard::to_allocvec(&hash).unwrap();
        assert_eq!(stored, vec![7; 32]);
        assert_eq!(postcard::from_bytes::<Hash>(&stored).unwrap(), hash);
        let address = Address([9; 20]);
        let json = serde_json::to_string(&address).unwrap();
        assert_eq!(serde_json::from_str::<Address>(&json).unwrap(), address);
    }
}
