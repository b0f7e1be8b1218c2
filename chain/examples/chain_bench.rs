//! Ledger throughput and size with the fake executor (no CPU):
//! `cargo run --release -p qvm-chain --example chain_bench [TXS]`.
//!
//! Prints blocks committed per second (durable, on disk; and in memory),
//! the store's bytes per transaction, the time to reopen (with redb's
//! integrity check), replay and snapshot-query rates.

use std::path::Path;
use std::time::Instant;

use qvm_chain::fake::FakeExecutor;
use qvm_chain::{replay, Address, ChainConfig, Ledger, STORE_FILE};

/// The workload: counter increments and token mints (small writes) and
/// one write of a 100-byte value in four.
fn args(i: u64) -> Vec<Vec<u8>> {
    let words = match i % 4 {
        0 | 1 => vec!["inc".to_string()],
        2 => vec!["mint".to_string(), "5".to_string()],
        _ => vec!["write".into(), format!("key{}", i % 1000), "v".repeat(100)],
    };
    words.into_iter().map(String::into_bytes).collect()
}

fn run(ledger: &mut Ledger, txs: u64) -> (Address, f64) {
    let mut exec = FakeExecutor::new();
    let address = ledger
        .deploy(&mut exec, b"bench", b"bench", Vec::new(), None)
        .unwrap()
        .address;
    let start = Instant::now();
    for i in 0..txs {
        let sender = format!("sender{}", i % 16);
        ledger
            .call(
                &mut exec,
                &address,
                sender.as_bytes(),
                args(i),
                Vec::new(),
                None,
            )
            .unwrap();
    }
    (address, txs as f64 / start.elapsed().as_secs_f64())
}

fn file_size(dir: &Path) -> u64 {
    std::fs::metadata(dir.join(STORE_FILE)).unwrap().len()
}

fn main() {
    let txs: u64 = std::env::args()
        .nth(1)
        .map(|n| n.parse().expect("TXS: a number"))
        .unwrap_or(2000);
    let dir = tempfile::tempdir_in(".").unwrap();
    let empty = {
        Ledger::open(dir.path(), ChainConfig::default()).unwrap();
        file_size(dir.path())
    };
    let mut ledger = Ledger::open(dir.path(), ChainConfig::default()).unwrap();
    let (address, disk_rate) = run(&mut ledger, txs);
    let size = file_size(dir.path());
    println!("{txs} transactions, durable on disk: {disk_rate:.0} blocks/s");
    println!(
        "store: {size} bytes ({} bytes per transaction over the empty store's {empty})",
        (size - empty) / (txs + 1)
    );

    let start = Instant::now();
    let snapshot = ledger.snapshot().unwrap();
    let queries = 10_000u32;
    let mut exec = FakeExecutor::new();
    for _ in 0..queries {
        let inc = vec![b"inc".to_vec()];
        snapshot
            .query(&mut exec, &address, b"q", inc, Vec::new(), None)
            .unwrap();
    }
    let per_query = start.elapsed() / queries;
    println!("query from a snapshot: {per_query:?} each");
    drop((ledger, snapshot));

    let start = Instant::now();
    let ledger = Ledger::open(dir.path(), ChainConfig::default()).unwrap();
    println!("reopen with integrity check: {:?}", start.elapsed());

    let start = Instant::now();
    let snapshot = ledger.snapshot().unwrap();
    let report = replay(&snapshot, &mut FakeExecutor::new(), &mut |_, _| {}).unwrap();
    assert!(report.first_mismatch.is_none());
    let rate = report.blocks as f64 / start.elapsed().as_secs_f64();
    println!("replay into memory: {rate:.0} blocks/s");
    let start = Instant::now();
    snapshot.verify().unwrap();
    println!("verify: {:?}", start.elapsed());

    let mut memory = Ledger::in_memory(ChainConfig::default()).unwrap();
    let (_, memory_rate) = run(&mut memory, txs);
    println!("in memory (no fsync): {memory_rate:.0} blocks/s");

    // A block recomputes the root of the contract it changed over all its
    // pairs: its cost grows with the contract's state.
    for pairs in [1_000u64, 10_000, 100_000] {
        let mut ledger = Ledger::in_memory(ChainConfig::default()).unwrap();
        let mut exec = FakeExecutor::new();
        let fill = vec![b"fill".to_vec(), pairs.to_string().into_bytes()];
        let address = ledger
            .deploy(&mut exec, b"big", b"bench", Vec::new(), None)
            .unwrap()
            .address;
        ledger
            .call(&mut exec, &address, b"b", fill, Vec::new(), None)
            .unwrap();
        let calls = 200u32;
        let start = Instant::now();
        for _ in 0..calls {
            let inc = vec![b"inc".to_vec()];
            ledger
                .call(&mut exec, &address, b"b", inc, Vec::new(), None)
                .unwrap();
        }
        let per_block = start.elapsed() / calls;
        println!("a block writing to a contract of {pairs} pairs (in memory): {per_block:?}");
    }
}
