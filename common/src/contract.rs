//! The contract call model: block context in, QVM protocol out.
//!
//! Compatible with QVM's published protocol: arguments arrive as argv,
//! declared state as `DB_<KEY>` environment variables; the contract writes
//! state with stdout lines `DBW=KEY=VALUE`, deletes keys with
//! `DBP=k1,k2`, and emits events with `OUT=...`. A call *fails* when it
//! writes to stderr, exits non-zero or dies of a signal; its state changes
//! are then discarded. Unlike QVM, keys and values are not length-capped.

use serde::Serialize;

/// The block a call executes against.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct BlockContext {
    /// Hash of the previous block: the seed of all entropy.
    pub prev_hash: [u8; 32],
    /// Timestamp of the previous block (seconds since the epoch): the
    /// guest's wall clock.
    pub timestamp: u64,
}

/// One state write.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct StateWrite {
    pub key: String,
    pub value: String,
}

/// State changes and events a call asked for, in output order.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
pub struct StateChanges {
    pub writes: Vec<StateWrite>,
    pub deletes: Vec<String>,
    pub events: Vec<String>,
}

impl StateChanges {
    /// Parses protocol lines out of a contract's stdout. Lines that are not
    /// protocol lines are ordinary output and are ignored here.
    pub fn from_stdout(stdout: &[u8]) -> Self {
        let mut out = StateChanges::default();
        for raw in stdout.split(|&b| b == b'\n') {
            let line = String::from_utf8_lossy(raw.strip_suffix(b"\r").unwrap_or(raw));
            if let Some(rest) = line.strip_prefix("DBW=") {
                if let Some((key, value)) = rest.split_once('=') {
                    if !key.is_empty() {
                        out.writes.push(StateWrite {
                            key: key.into(),
                            value: value.into(),
                        });
                    }
                }
            } else if let Some(rest) = line.strip_prefix("DBP=") {
                out.deletes
                    .extend(rest.split(',').filter(|k| !k.is_empty()).map(String::from));
            } else if let Some(rest) = line.strip_prefix("OUT=") {
                out.events.push(rest.into());
            }
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_protocol_lines() {
        let s = StateChanges::from_stdout(
            b"hello\nDBW=count=3\nDBW=a=b=c\r\nDBP=x,,y\nOUT=done\nDBW=novalue\nDBW==v\n",
        );
        assert_eq!(
            s.writes,
            vec![
                StateWrite {
                    key: "count".into(),
                    value: "3".into()
                },
                StateWrite {
                    key: "a".into(),
                    value: "b=c".into()
                }
            ]
        );
        assert_eq!(s.deletes, vec!["x", "y"]);
        assert_eq!(s.events, vec!["done"]);
        assert_eq!(StateChanges::from_stdout(b""), StateChanges::default());
    }
}
