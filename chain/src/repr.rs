//! How byte strings are serialized: for people (JSON), a UTF-8 string when
//! the bytes are valid UTF-8, else `{"hex": "..."}`; for the store
//! (postcard), length-prefixed raw bytes. Used through `#[serde(with)]`.

use std::fmt;

use serde::de::{self, Deserializer, Visitor};
use serde::ser::{SerializeMap, SerializeSeq, SerializeStruct, Serializer};
use serde::{Deserialize, Serialize};

/// Borrowed bytes, serialized as described above.
struct Shown<'a>(&'a [u8]);

impl Serialize for Shown<'_> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        if !serializer.is_human_readable() {
            return serializer.serialize_bytes(self.0);
        }
        match std::str::from_utf8(self.0) {
            Ok(text) => serializer.serialize_str(text),
            Err(_) => {
                let mut map = serializer.serialize_map(Some(1))?;
                map.serialize_entry("hex", &hex::encode(self.0))?;
                map.end()
            }
        }
    }
}

/// Owned bytes read back from either form.
struct Read(Vec<u8>);

/// The JSON forms: a string, or an object with a `hex` field.
#[derive(Deserialize)]
#[serde(untagged)]
enum Text {
    Utf8(String),
    Hex { hex: String },
}

struct RawBytes;

impl<'de> Visitor<'de> for RawBytes {
    type Value = Vec<u8>;
    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a byte string")
    }
    fn visit_bytes<E: de::Error>(self, v: &[u8]) -> Result<Vec<u8>, E> {
        Ok(v.to_vec())
    }
    fn visit_byte_buf<E: de::Error>(self, v: Vec<u8>) -> Result<Vec<u8>, E> {
        Ok(v)
    }
}

impl<'de> Deserialize<'de> for Read {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Read, D::Error> {
        if !deserializer.is_human_readable() {
            return deserializer.deserialize_byte_buf(RawBytes).map(Read);
        }
        match Text::deserialize(deserializer)? {
            Text::Utf8(text) => Ok(Read(text.into_bytes())),
            Text::Hex { hex } => hex::decode(hex).map(Read).map_err(de::Error::custom),
        }
    }
}

/// `Vec<u8>` fields.
pub(crate) mod bytes {
    use super::*;

    pub(crate) fn serialize<S: Serializer>(value: &[u8], serializer: S) -> Result<S::Ok, S::Error> {
        Shown(value).serialize(serializer)
    }

    pub(crate) fn deserialize<'de, D: Deserializer<'de>>(
        deserializer: D,
    ) -> Result<Vec<u8>, D::Error> {
        Read::deserialize(deserializer).map(|read| read.0)
    }
}

/// `Vec<Vec<u8>>` fields: a list of byte strings.
pub(crate) mod list {
    use super::*;

    pub(crate) fn serialize<S: Serializer>(
        value: &[Vec<u8>],
        serializer: S,
    ) -> Result<S::Ok, S::Error> {
        let mut seq = serializer.serialize_seq(Some(value.len()))?;
        for item in value {
            seq.serialize_element(&Shown(item))?;
        }
        seq.end()
    }

    pub(crate) fn deserialize<'de, D: Deserializer<'de>>(
        deserializer: D,
    ) -> Result<Vec<Vec<u8>>, D::Error> {
        let items = Vec::<Read>::deserialize(deserializer)?;
        Ok(items.into_iter().map(|read| read.0).collect())
    }
}

/// `Vec<(Vec<u8>, Vec<u8>)>` fields (state writes): a list of
/// `{"key": ..., "value": ...}` objects.
pub(crate) mod pairs {
    use super::*;

    struct Pair<'a>(&'a [u8], &'a [u8]);

    impl Serialize for Pair<'_> {
        fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
            let mut pair = serializer.serialize_struct("Write", 2)?;
            pair.serialize_field("key", &Shown(self.0))?;
            pair.serialize_field("value", &Shown(self.1))?;
            pair.end()
        }
    }

    #[derive(Deserialize)]
    struct ReadPair {
        key: Read,
        value: Read,
    }

    pub(crate) fn serialize<S: Serializer>(
        value: &[(Vec<u8>, Vec<u8>)],
        serializer: S,
    ) -> Result<S::Ok, S::Error> {
        let mut seq = serializer.serialize_seq(Some(value.len()))?;
        for (key, value) in value {
            seq.serialize_element(&Pair(key, value))?;
        }
        seq.end()
    }

    pub(crate) fn deserialize<'de, D: Deserializer<'de>>(
        deserializer: D,
    ) -> Result<crate::Pairs, D::Error> {
        let items = Vec::<ReadPair>::deserialize(deserializer)?;
        Ok(items
            .into_iter()
            .map(|pair| (pair.key.0, pair.value.0))
            .collect())
    }
}

#[cfg(test)]
mod tests {
    use serde::{Deserialize, Serialize};

    #[derive(Debug, PartialEq, Serialize, Deserialize)]
    struct Sample {
        #[serde(with = "super::bytes")]
        one: Vec<u8>,
        #[serde(with = "super::list")]
        many: Vec<Vec<u8>>,
        #[serde(with = "super::pairs")]
        writes: Vec<(Vec<u8>, Vec<u8>)>,
    }

    fn sample() -> Sample {
        Sample {
            one: b"text".to_vec(),
            many: vec![vec![0xff, 0x00], b"ok".to_vec()],
            writes: vec![(b"k".to_vec(), vec![0x80])],
        }
    }

    #[test]
    fn json_shows_text_as_strings_and_binary_as_hex() {
        let json = serde_json::to_value(sample()).unwrap();
        assert_eq!(
            json,
            serde_json::json!({
                "one": "text",
                "many": [{"hex": "ff00"}, "ok"],
                "writes": [{"key": "k", "value": {"hex": "80"}}],
            })
        );
        assert_eq!(serde_json::from_value::<Sample>(json).unwrap(), sample());
    }

    #[test]
    fn store_form_round_trips_as_raw_bytes() {
        let stored = postcard::to_allocvec(&sample()).unwrap();
        assert_eq!(&stored[..5], b"\x04text");
        assert_eq!(postcard::from_bytes::<Sample>(&stored).unwrap(), sample());
    }
}
