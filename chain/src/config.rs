//! A chain's configuration: block times and size limits, fixed when the
//! store is created.

use serde::{Deserialize, Serialize};

const KIB: usize = 1024;
const MIB: usize = 1024 * KIB;

/// Size limits, in bytes. docs/chain.md lists ours beside QVM's.
///
/// A transaction over `max_contract`, `max_args`, `max_stdin` or
/// `max_sender` is refused before it runs (no block). A successful call
/// whose writes pass `max_key`/`max_value`, or whose events pass
/// `max_output` in total, is recorded as failed and changes no state. Its
/// stdout and stderr are stored cut to `max_output` each.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Limits {
    /// A state key (written or deleted).
    pub max_key: usize,
    /// A state value.
    pub max_value: usize,
    /// The call's events, all together; and each of stdout and stderr as stored.
    pub max_output: usize,
    /// A contract's code.
    pub max_contract: usize,
    /// A transaction's arguments, all together.
    pub max_args: usize,
    /// A transaction's standard input.
    pub max_stdin: usize,
    /// A transaction's sender.
    pub max_sender: usize,
}

impl Limits {
    /// qvm's: generous, binary-safe.
    pub const DEFAULT: Limits = Limits {
        max_key: 4 * KIB,
        max_value: MIB,
        max_output: MIB,
        max_contract: 64 * MIB,
        max_args: MIB,
        max_stdin: MIB,
        max_sender: KIB,
    };

    /// QVM's published limits: keys, values and output 32 bytes, contracts
    /// 256 KB. QVM publishes none for arguments, stdin or sender: ours.
    pub const QVM: Limits = Limits {
        max_key: 32,
        max_value: 32,
        max_output: 32,
        max_contract: 256 * KIB,
        ..Limits::DEFAULT
    };
}

impl Default for Limits {
    fn default() -> Limits {
        Limits::DEFAULT
    }
}

/// A chain's fixed parameters. [`crate::Ledger::open`] stores them in a new
/// store; reopening a store uses the stored ones and ignores those given.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ChainConfig {
    /// Timestamp of the genesis block (seconds since the epoch).
    pub genesis_time: u64,
    /// Seconds between blocks: block n's timestamp is
    /// `genesis_time + n * block_interval`.
    pub block_interval: u64,
    pub limits: Limits,
}

impl ChainConfig {
    /// 2026-01-01T00:00:00Z.
    pub const DEFAULT_GENESIS_TIME: u64 = 1_767_225_600;
}

impl Default for ChainConfig {
    fn default() -> ChainConfig {
        ChainConfig {
            genesis_time: ChainConfig::DEFAULT_GENESIS_TIME,
            block_interval: 1,
            limits: Limits::DEFAULT,
        }
    }
}
