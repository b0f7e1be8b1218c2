//! The contract call model: block context in, state changes out.
//!
//! Compatible with QVM's published protocol: arguments arrive as argv,
//! declared state as `DB_<KEY>` environment variables
//! ([`crate::state::declared_env`]); the contract writes state with stdout
//! lines `DBW=KEY=VALUE`, deletes keys with `DBP=k1,k2`, and emits events
//! with `OUT=...`. A call *fails* when it writes to stderr, exits non-zero
//! or dies of a signal; its state changes are then discarded.
//!
//! Beyond QVM: keys, values and events are bytes, not length-capped, and
//! three binary-safe forms carry any bytes in hex: `DBWX=<key>=<value>`,
//! `DBPX=<key>,<key>` and `OUTX=<event>`. A contract reads any key of its
//! state as the file `/state/KEY` ([`crate::state`]).

use std::fmt;

use serde::{Deserialize, Serialize};

/// The block a call executes against.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct BlockContext {
    /// Hash of the previous block: the seed of all entropy.
    pub prev_hash: [u8; 32],
    /// Timestamp of the previous block (seconds since the epoch): the
    /// guest's wall clock.
    pub timestamp: u64,
}

/// One state write: a non-empty key and a value (possibly empty), bytes as
/// the contract wrote them.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct StateWrite {
    #[serde(with = "bytes_json")]
    pub key: Vec<u8>,
    #[serde(with = "bytes_json")]
    pub value: Vec<u8>,
}

/// State changes and events a call asked for, in output order.
#[derive(Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct StateChanges {
    pub writes: Vec<StateWrite>,
    #[serde(with = "bytes_json::list")]
    pub deletes: Vec<Vec<u8>>,
    #[serde(with = "bytes_json::list")]
    pub events: Vec<Vec<u8>>,
}

impl StateChanges {
    /// Parses protocol lines out of a contract's stdout, in output order.
    /// stdout is split at `\n` and a trailing `\r` is removed from each
    /// line. Lines that are not protocol lines are ordinary output and are
    /// ignored here; so is a line of a hex form whose hex does not decode
    /// (odd length, a non-hex digit) or whose key is empty.
    pub fn from_stdout(stdout: &[u8]) -> Self {
        let mut out = StateChanges::default();
        for raw in stdout.split(|&b| b == b'\n') {
            out.parse_line(raw.strip_suffix(b"\r").unwrap_or(raw));
        }
        out
    }

    fn parse_line(&mut self, line: &[u8]) {
        if let Some(rest) = line.strip_prefix(b"DBW=") {
            if let Some((key, value)) = split_once(rest, b'=') {
                self.write(key.to_vec(), value.to_vec());
            }
        } else if let Some(rest) = line.strip_prefix(b"DBWX=") {
            if let Some((key, value)) = split_once(rest, b'=') {
                if let (Ok(key), Ok(value)) = (hex::decode(key), hex::decode(value)) {
                    self.write(key, value);
                }
            }
        } else if let Some(rest) = line.strip_prefix(b"DBP=") {
            self.deletes.extend(keys(rest).map(<[u8]>::to_vec));
        } else if let Some(rest) = line.strip_prefix(b"DBPX=") {
            // All or nothing: one bad key makes the line ordinary output.
            if let Ok(decoded) = keys(rest).map(hex::decode).collect::<Result<Vec<_>, _>>() {
                self.deletes
                    .extend(decoded.into_iter().filter(|k| !k.is_empty()));
            }
        } else if let Some(rest) = line.strip_prefix(b"OUT=") {
            self.events.push(rest.to_vec());
        } else if let Some(rest) = line.strip_prefix(b"OUTX=") {
            if let Ok(event) = hex::decode(rest) {
                self.events.push(event);
            }
        }
    }

    /// Records a write; an empty key is no write.
    fn write(&mut self, key: Vec<u8>, value: Vec<u8>) {
        if !key.is_empty() {
            self.writes.push(StateWrite { key, value });
        }
    }
}

/// A list of byte strings, each shown as [`ShowBytes`].
fn show_list(list: &[Vec<u8>]) -> Vec<ShowBytes<'_>> {
    list.iter().map(|b| ShowBytes(b)).collect()
}

/// Bytes shown as an escaped byte string (`b"k\x00"`), so that differences
/// between outcomes read as text.
struct ShowBytes<'a>(&'a [u8]);

impl fmt::Debug for ShowBytes<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "b\"{}\"", self.0.escape_ascii())
    }
}

impl fmt::Debug for StateWrite {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("StateWrite")
            .field("key", &ShowBytes(&self.key))
            .field("value", &ShowBytes(&self.value))
            .finish()
    }
}

impl fmt::Debug for StateChanges {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("StateChanges")
            .field("writes", &self.writes)
            .field("deletes", &show_list(&self.deletes))
            .field("events", &show_list(&self.events))
            .finish()
    }
}

/// The non-empty comma-separated names of a delete line.
fn keys(list: &[u8]) -> impl Iterator<Item = &[u8]> {
    list.split(|&b| b == b',').filter(|k| !k.is_empty())
}

/// `bytes` split at the first `sep`.
fn split_once(bytes: &[u8], sep: u8) -> Option<(&[u8], &[u8])> {
    let at = bytes.iter().position(|&b| b == sep)?;
    Some((bytes.get(..at)?, bytes.get(at + 1..)?))
}

/// Bytes in JSON (`#[serde(with = "bytes_json")]`): a string when they are
/// valid UTF-8, else `{"hex": "<lowercase hex>"}`. Reading accepts both
/// forms (hex digits in either case). [`list`] does the same for a list.
pub mod bytes_json {
    use serde::de::Error as _;
    use serde::ser::SerializeMap as _;
    use serde::{Deserialize, Deserializer, Serialize, Serializer};

    /// Bytes as they appear in a document, when read back.
    #[derive(Deserialize)]
    #[serde(untagged)]
    enum Repr {
        Text(String),
        Hex(HexForm),
    }

    #[derive(Deserialize)]
    #[serde(deny_unknown_fields)]
    struct HexForm {
        hex: String,
    }

    /// Bytes to serialize in the document's form.
    struct Form<'a>(&'a [u8]);

    impl Serialize for Form<'_> {
        fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
            match std::str::from_utf8(self.0) {
                Ok(text) => s.serialize_str(text),
                Err(_) => {
                    let mut map = s.serialize_map(Some(1))?;
                    map.serialize_entry("hex", &hex::encode(self.0))?;
                    map.end()
                }
            }
        }
    }

    fn decode<E: serde::de::Error>(repr: Repr) -> Result<Vec<u8>, E> {
        match repr {
            Repr::Text(text) => Ok(text.into_bytes()),
            Repr::Hex(HexForm { hex }) => hex::decode(hex).map_err(E::custom),
        }
    }

    pub fn serialize<S: Serializer>(bytes: &[u8], s: S) -> Result<S::Ok, S::Error> {
        Form(bytes).serialize(s)
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Vec<u8>, D::Error> {
        Repr::deserialize(d)
            .map_err(|_| D::Error::custom("expected a string or {\"hex\": \"...\"}"))
            .and_then(decode)
    }

    /// A list of byte strings, each in the form above.
    pub mod list {
        use super::*;

        pub fn serialize<S: Serializer>(list: &[Vec<u8>], s: S) -> Result<S::Ok, S::Error> {
            s.collect_seq(list.iter().map(|b| Form(b)))
        }

        pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Vec<Vec<u8>>, D::Error> {
            Vec::<Repr>::deserialize(d)
                .map_err(|_| D::Error::custom("expected a list of strings or {\"hex\": \"...\"}"))?
                .into_iter()
                .map(decode)
                .collect()
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn w(key: &[u8], value: &[u8]) -> StateWrite {
        StateWrite {
            key: key.to_vec(),
            value: value.to_vec(),
        }
    }

    fn changes(writes: &[(&[u8], &[u8])], deletes: &[&[u8]], events: &[&[u8]]) -> StateChanges {
        StateChanges {
            writes: writes.iter().map(|(k, v)| w(k, v)).collect(),
            deletes: deletes.iter().map(|k| k.to_vec()).collect(),
            events: events.iter().map(|e| e.to_vec()).collect(),
        }
    }

    #[test]
    fn parses_every_form() {
        // (stdout, what it means)
        let cases: &[(&[u8], StateChanges)] = &[
            (b"", changes(&[], &[], &[])),
            (
                b"hello\nDBW=count=3\n",
                changes(&[(b"count", b"3")], &[], &[]),
            ),
            (b"DBW=a=b=c\r\n", changes(&[(b"a", b"b=c")], &[], &[])),
            (b"DBW=k=\n", changes(&[(b"k", b"")], &[], &[])),
            (b"DBW=novalue\nDBW==v\n", changes(&[], &[], &[])),
            (
                b"DBW=\xff\x00=\xfe",
                changes(&[(b"\xff\x00", b"\xfe")], &[], &[]),
            ),
            (b"DBP=x,,y\n", changes(&[], &[b"x", b"y"], &[])),
            (b"OUT=done\nOUT=\n", changes(&[], &[], &[b"done", b""])),
            // The hex forms carry '=', ',', '\n', NUL and 0xff, either case.
            (
                b"DBWX=003d2c0aff=FF0A3D2C00\n",
                changes(&[(b"\x00=,\n\xff", b"\xff\n=,\x00")], &[], &[]),
            ),
            (b"DBWX=6b=\n", changes(&[(b"k", b"")], &[], &[])),
            (
                b"DBPX=00ff,,2C0a\r\n",
                changes(&[], &[b"\x00\xff", b",\n"], &[]),
            ),
            (
                b"OUTX=0a00ff\nOUTX=\n",
                changes(&[], &[], &[b"\n\x00\xff", b""]),
            ),
            // Malformed hex lines are ordinary output.
            (
                b"DBWX==00\nDBWX=0=00\nDBWX=zz=00\nDBWX=00\n",
                changes(&[], &[], &[]),
            ),
            (b"DBPX=00,0g\nDBPX=abc\n", changes(&[], &[], &[])),
            (b"OUTX=0\nOUTX=hi\n", changes(&[], &[], &[])),
            // Prefixes are exact.
            (
                b"dbw=a=b\n DBW=a=b\nDBWXY=00=00\nOUTPUT=x\n",
                changes(&[], &[], &[]),
            ),
        ];
        for (stdout, want) in cases {
            assert_eq!(
                &StateChanges::from_stdout(stdout),
                want,
                "{}",
                String::from_utf8_lossy(stdout)
            );
        }
    }

    #[test]
    fn debug_shows_escaped_bytes() {
        let s = changes(&[(b"k", b"\x00\n")], &[b"\xff"], &[b"e"]);
        assert_eq!(
            format!("{s:?}"),
            r#"StateChanges { writes: [StateWrite { key: b"k", value: b"\x00\n" }], deletes: [b"\xff"], events: [b"e"] }"#
        );
    }

    #[test]
    fn keeps_output_order_across_forms() {
        let s = StateChanges::from_stdout(b"DBW=a=1\nDBWX=62=32\nDBW=a=3\nOUTX=78\nOUT=y\n");
        assert_eq!(s.writes, vec![w(b"a", b"1"), w(b"b", b"2"), w(b"a", b"3")]);
        assert_eq!(s.events, vec![b"x".to_vec(), b"y".to_vec()]);
    }

    #[test]
    fn json_is_text_when_utf8_else_hex_and_reads_back() {
        let s = changes(
            &[(b"caf\xc3\xa9", b"\x00\xff"), (b"k", b"")],
            &[b"\xfe", b"old"],
            &[b"e", b"\x80"],
        );
        let json = serde_json::to_value(&s).unwrap();
        assert_eq!(
            json,
            serde_json::json!({
                "writes": [
                    {"key": "café", "value": {"hex": "00ff"}},
                    {"key": "k", "value": ""},
                ],
                "deletes": [{"hex": "fe"}, "old"],
                "events": ["e", {"hex": "80"}],
            })
        );
        let back: StateChanges = serde_json::from_value(json).unwrap();
        assert_eq!(back, s);
        // Uppercase hex reads too; anything else is an error.
        let w: StateWrite =
            serde_json::from_str(r#"{"key": {"hex": "0A"}, "value": "v"}"#).unwrap();
        assert_eq!(w.key, b"\n");
        for bad in [
            r#"{"key": {"hex": "0"}, "value": ""}"#,
            r#"{"key": 7, "value": ""}"#,
            r#"{"key": {"base64": "AA=="}, "value": ""}"#,
            r#"{"key": {"hex": "00", "text": "x"}, "value": ""}"#,
        ] {
            assert!(serde_json::from_str::<StateWrite>(bad).is_err(), "{bad}");
        }
    }
}
