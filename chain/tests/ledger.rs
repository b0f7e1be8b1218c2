//! The ledger through its public API, with the fake executor.

use qvm_chain::fake::FakeExecutor;
use qvm_chain::{
    replay, Address, ChainConfig, ChainError, Hash, Ledger, Limits, Receipt, Snapshot, TxKind,
    Verdict,
};

const CODE: &[u8] = b"counter contract";

fn config() -> ChainConfig {
    ChainConfig {
        genesis_time: 1000,
        block_interval: 10,
        limits: Limits::DEFAULT,
    }
}

fn args(words: &[&str]) -> Vec<Vec<u8>> {
    words.iter().map(|w| w.as_bytes().to_vec()).collect()
}

/// A chain with one counter contract; returns its address.
fn chain_with_counter() -> (Ledger, FakeExecutor, Address) {
    let mut ledger = Ledger::in_memory(config()).unwrap();
    let mut exec = FakeExecutor::new();
    let receipt = ledger
        .deploy(&mut exec, CODE, b"alice", args(&["5"]), None)
        .unwrap();
    assert!(receipt.succeeded(), "{receipt:?}");
    (ledger, exec, receipt.address)
}

fn call(
    ledger: &mut Ledger,
    exec: &mut FakeExecutor,
    address: &Address,
    words: &[&str],
) -> Receipt {
    call_as(ledger, exec, address, b"alice", words)
}

fn call_as(
    ledger: &mut Ledger,
    exec: &mut FakeExecutor,
    address: &Address,
    sender: &[u8],
    words: &[&str],
) -> Receipt {
    ledger
        .call(exec, address, sender, args(words), Vec::new(), None)
        .unwrap()
}

fn count(snapshot: &Snapshot, address: &Address) -> Option<Vec<u8>> {
    snapshot.get(address, b"count").unwrap()
}

#[test]
fn genesis_is_block_zero_with_the_empty_state_root() {
    let ledger = Ledger::in_memory(config()).unwrap();
    let head = ledger.head().unwrap();
    assert_eq!(head.number, 0);
    assert_eq!(head.timestamp, 1000);
    assert_eq!(head.prev_hash, Hash::ZERO);
    assert_eq!(head.tx_hash, Hash::ZERO);
    assert_eq!(head.state_root, Hash::of(b"qvm-state-root"));
    assert_eq!(head.hash, head.compute_hash());
}

/// docs/chain.md's worked example, recomputed there by hand.
#[test]
fn the_documented_example_hashes() {
    let mut ledger = Ledger::in_memory(ChainConfig::default()).unwrap();
    let genesis = ledger.head().unwrap();
    let receipt = ledger
        .deploy(&mut FakeExecutor::new(), b"counter", b"alice", vec![], None)
        .unwrap();
    let hex = |hash: Hash| hash.to_string();
    assert_eq!(
        hex(genesis.state_root),
        "144a1a53759a5daf35c226691692e2e2d2422c15c816d0f8923fdc51da25fb60"
    );
    assert_eq!(
        hex(genesis.hash),
        "b8a565b3e44c24a71d5ade5429a408d124441d44fca8c341a3cfe32ad9c6cc6e"
    );
    assert_eq!(
        hex(Hash::of(b"counter")),
        "8f8d724ea76b395adc279aae76ae922b8d74bdb5c7d105a8e55bd8c67d8066b4"
    );
    assert_eq!(
        hex(receipt.tx_hash),
        "5af871e7095e85ccabd7b67bb78730f46244e98153d6dcb9e39f723b2aa0ab84"
    );
    assert_eq!(
        receipt.address.to_string(),
        "0xa2b5ace6ddb6e51f821c243211e3d3fb12d45f86"
    );
    assert_eq!(
        hex(receipt.state_root),
        "dfb042132f107cc82666d98a27a6e14697c9bcef5e1e512b653fb44ff1b18318"
    );
    assert_eq!(
        hex(receipt.hash()),
        "83c5c41235cd692e194dac7dabc72ad4f96cd9d17aab7a23659fd9c0fb498d62"
    );
    assert_eq!(
        hex(receipt.block_hash),
        "079ead1fec3fa145cf53e93332b0379c2ff27eb7107fea1db86b5594d78f6800"
    );
}

#[test]
fn deploy_stores_code_runs_construct_and_creates_the_contract() {
    let (ledger, _, address) = chain_with_counter();
    let snapshot = ledger.snapshot().unwrap();
    let info = snapshot.contract(&address).unwrap().unwrap();
    assert_eq!(info.code_hash, Hash::of(CODE));
    assert_eq!(info.code_size, CODE.len() as u64);
    assert_eq!(info.deploy_block, 1);
    assert_eq!(
        address,
        Address::of_deploy(&Hash::of(CODE), &info.deploy_tx)
    );
    assert_eq!(
        snapshot.code(&info.code_hash).unwrap().as_deref(),
        Some(CODE)
    );
    assert_eq!(count(&snapshot, &address).as_deref(), Some(&b"5"[..]));
    let (block, tx, receipt) = snapshot.tx(&info.deploy_tx).unwrap().unwrap();
    assert_eq!(block.number, 1);
    assert_eq!(
        tx.kind,
        TxKind::Deploy {
            code_hash: info.code_hash
        }
    );
    assert_eq!(receipt.writes, vec![(b"count".to_vec(), b"5".to_vec())]);
    assert_ne!(
        block.state_root,
        ledger
            .snapshot()
            .unwrap()
            .block(0)
            .unwrap()
            .unwrap()
            .state_root
    );
}

#[test]
fn a_call_applies_its_writes_in_a_new_chained_block() {
    let (mut ledger, mut exec, address) = chain_with_counter();
    let before = ledger.head().unwrap();
    let receipt = call(&mut ledger, &mut exec, &address, &["inc"]);
    assert_eq!(receipt.verdict, Verdict::Ok);
    assert_eq!(receipt.events, vec![b"count=6".to_vec()]);
    assert_eq!(receipt.gas_used, 1003);
    let head = ledger.head().unwrap();
    assert_eq!(head.number, 2);
    assert_eq!(head.timestamp, 1020);
    assert_eq!(head.prev_hash, before.hash);
    assert_eq!(head.hash, receipt.block_hash);
    assert_eq!(head.state_root, receipt.state_root);
    assert_eq!(head.receipt_hash, receipt.hash());
    assert_ne!(head.state_root, before.state_root);
    let snapshot = ledger.snapshot().unwrap();
    assert_eq!(count(&snapshot, &address).as_deref(), Some(&b"6"[..]));
    assert_eq!(snapshot.verify().unwrap().transactions, 2);
}

#[test]
fn a_call_sees_the_previous_block() {
    let (mut ledger, mut exec, address) = chain_with_counter();
    let prev = ledger.head().unwrap();
    let receipt = call(&mut ledger, &mut exec, &address, &["context"]);
    let expected = format!("2 {} {}", prev.hash, prev.timestamp);
    assert_eq!(receipt.stdout, expected.as_bytes());
}

#[test]
fn failed_calls_are_recorded_and_change_no_state() {
    let (mut ledger, mut exec, address) = chain_with_counter();
    type Case<'a> = (&'a [&'a str], &'a str, Option<i32>, Option<i32>);
    let cases: [Case; 5] = [
        (&["exit", "3"], "exit status 3", Some(3), None),
        (&["segv"], "killed by SIGSEGV", None, Some(11)),
        (&["stderr"], "wrote to stderr", Some(0), None),
        (&["transfer", "bob", "1"], "exit status 1", Some(1), None),
        (&["nonsense"], "exit status 2", Some(2), None),
    ];
    for (words, failure, exit_code, signal) in cases {
        let before = ledger.head().unwrap();
        let receipt = call(&mut ledger, &mut exec, &address, words);
        assert_eq!(receipt.verdict, Verdict::Failed, "{words:?}");
        assert_eq!(receipt.failure.as_deref(), Some(failure));
        assert_eq!((receipt.exit_code, receipt.signal), (exit_code, signal));
        assert!(receipt.writes.is_empty() && receipt.events.is_empty());
        let head = ledger.head().unwrap();
        assert_eq!(head.number, before.number + 1);
        assert_eq!(head.state_root, before.state_root);
        let snapshot = ledger.snapshot().unwrap();
        assert_eq!(count(&snapshot, &address).as_deref(), Some(&b"5"[..]));
        let (_, _, stored) = snapshot.tx(&receipt.tx_hash).unwrap().unwrap();
        assert_eq!(stored, receipt);
    }
    ledger.snapshot().unwrap().verify().unwrap();
}

#[test]
fn a_failed_deploy_is_recorded_but_creates_no_contract() {
    let mut ledger = Ledger::in_memory(config()).unwrap();
    let mut exec = FakeExecutor::new();
    let receipt = ledger
        .deploy(&mut exec, CODE, b"alice", args(&["fail"]), None)
        .unwrap();
    assert_eq!(receipt.verdict, Verdict::Failed);
    assert_eq!(receipt.failure.as_deref(), Some("construct refused"));
    let snapshot = ledger.snapshot().unwrap();
    assert_eq!(snapshot.contract(&receipt.address).unwrap(), None);
    assert_eq!(snapshot.head().unwrap().number, 1);
    let result = ledger.call(
        &mut exec,
        &receipt.address,
        b"a",
        args(&["inc"]),
        vec![],
        None,
    );
    assert!(matches!(result, Err(ChainError::NoSuchContract(a)) if a == receipt.address));
    assert_eq!(ledger.head().unwrap().number, 1);
}

#[test]
fn identical_transactions_get_distinct_hashes_and_deploys_distinct_addresses() {
    let (mut ledger, mut exec, first) = chain_with_counter();
    let again = ledger
        .deploy(&mut exec, CODE, b"alice", args(&["5"]), None)
        .unwrap();
    assert_ne!(again.address, first);
    let a = call(&mut ledger, &mut exec, &first, &["get", "count"]);
    let b = call(&mut ledger, &mut exec, &first, &["get", "count"]);
    assert_ne!(a.tx_hash, b.tx_hash);
    assert_eq!(a.stdout, b"5");
}

#[test]
fn writes_and_deletes_are_binary_safe_and_sorted() {
    let (mut ledger, mut exec, address) = chain_with_counter();
    let binary = vec![0u8, 0xff, b'=', b'\n'];
    let receipt = ledger
        .call(
            &mut exec,
            &address,
            b"a",
            vec![b"write".to_vec(), binary.clone(), vec![0; 3]],
            vec![],
            None,
        )
        .unwrap();
    assert!(receipt.succeeded());
    call(&mut ledger, &mut exec, &address, &["write", "a", "1"]);
    let snapshot = ledger.snapshot().unwrap();
    assert_eq!(snapshot.get(&address, &binary).unwrap(), Some(vec![0; 3]));
    let keys: Vec<Vec<u8>> = snapshot
        .state(&address)
        .unwrap()
        .into_iter()
        .map(|(k, _)| k)
        .collect();
    assert_eq!(keys, vec![binary.clone(), b"a".to_vec(), b"count".to_vec()]);
    call(&mut ledger, &mut exec, &address, &["delete", "a"]);
    assert_eq!(
        ledger.snapshot().unwrap().get(&address, b"a").unwrap(),
        None
    );
    ledger.snapshot().unwrap().verify().unwrap();
}

#[test]
fn a_token_moves_balances_between_senders() {
    let (mut ledger, mut exec, token) = chain_with_counter();
    let steps: [(&[u8], &[&str], bool); 3] = [
        (b"alice", &["mint", "100"], true),
        (b"alice", &["transfer", "bob", "30"], true),
        (b"bob", &["transfer", "alice", "31"], false),
    ];
    for (sender, words, succeeds) in steps {
        let receipt = call_as(&mut ledger, &mut exec, &token, sender, words);
        assert_eq!(receipt.succeeded(), succeeds, "{words:?}");
    }
    let snapshot = ledger.snapshot().unwrap();
    assert_eq!(
        snapshot.get(&token, b"bal:alice").unwrap(),
        Some(b"70".to_vec())
    );
    assert_eq!(
        snapshot.get(&token, b"bal:bob").unwrap(),
        Some(b"30".to_vec())
    );
}

#[test]
fn contract_state_pairs_stop_at_the_budget() {
    let (mut ledger, mut exec, address) = chain_with_counter();
    call(&mut ledger, &mut exec, &address, &["write", "a", "12"]);
    call(&mut ledger, &mut exec, &address, &["write", "b", "34"]);
    // a=12 is 3 bytes, b=34 3, count=5 6: a budget of 8 stops before count.
    for (budget, expected) in [
        (0, ""),
        (3, "a=12\n"),
        (8, "a=12\nb=34\n"),
        (12, "a=12\nb=34\ncount=5\n"),
    ] {
        let receipt = call(
            &mut ledger,
            &mut exec,
            &address,
            &["pairs", &budget.to_string()],
        );
        assert_eq!(
            String::from_utf8_lossy(&receipt.stdout),
            expected,
            "budget {budget}"
        );
    }
}

#[test]
fn oversized_transactions_are_refused_without_a_block() {
    let limits = Limits {
        max_contract: 4,
        max_args: 4,
        max_stdin: 2,
        max_sender: 3,
        ..Limits::DEFAULT
    };
    let mut ledger = Ledger::in_memory(ChainConfig { limits, ..config() }).unwrap();
    let mut exec = FakeExecutor::new();
    let too_big = ledger.deploy(&mut exec, b"12345", b"a", vec![], None);
    assert!(matches!(
        too_big,
        Err(ChainError::TooLarge {
            what: "the contract",
            size: 5,
            limit: 4
        })
    ));
    let address = ledger
        .deploy(&mut exec, b"1234", b"a", vec![], None)
        .unwrap()
        .address;
    let refused = [
        ledger.call(
            &mut exec,
            &address,
            b"a",
            args(&["write", "k"]),
            vec![],
            None,
        ),
        ledger.call(
            &mut exec,
            &address,
            b"a",
            args(&["echo"]),
            b"abc".to_vec(),
            None,
        ),
        ledger.call(&mut exec, &address, b"abcd", args(&["inc"]), vec![], None),
        ledger
            .snapshot()
            .unwrap()
            .query(
                &mut exec,
                &address,
                b"a",
                args(&["echo"]),
                b"abc".to_vec(),
                None,
            )
            .map(|_| unreachable!()),
    ];
    for result in refused {
        assert!(
            matches!(result, Err(ChainError::TooLarge { .. })),
            "{result:?}"
        );
    }
    assert_eq!(ledger.head().unwrap().number, 1);
}

#[test]
fn writes_over_the_limits_fail_the_call() {
    let limits = Limits {
        max_key: 8,
        max_value: 4,
        max_output: 6,
        ..Limits::DEFAULT
    };
    let mut ledger = Ledger::in_memory(ChainConfig { limits, ..config() }).unwrap();
    let mut exec = FakeExecutor::new();
    let address = ledger
        .deploy(&mut exec, CODE, b"a", vec![], None)
        .unwrap()
        .address;
    let cases: [(&[&str], Option<&str>); 4] = [
        (&["write", "k", "1234"], None),
        (
            &["write", "k", "12345"],
            Some("a state value of 5 bytes is over the limit of 4"),
        ),
        (
            &["write", "123456789", "1"],
            Some("a state key of 9 bytes is over the limit of 8"),
        ),
        (
            &["delete", "123456789"],
            Some("a state key of 9 bytes is over the limit of 8"),
        ),
    ];
    for (words, failure) in cases {
        let receipt = call(&mut ledger, &mut exec, &address, words);
        assert_eq!(receipt.failure.as_deref(), failure, "{words:?}");
    }
    assert_eq!(
        ledger.snapshot().unwrap().get(&address, b"k").unwrap(),
        Some(b"1234".to_vec())
    );
    let echo = ledger
        .call(
            &mut exec,
            &address,
            b"a",
            args(&["echo"]),
            b"12345678".to_vec(),
            None,
        )
        .unwrap();
    assert!(echo.succeeded());
    assert_eq!(
        (echo.stdout.as_slice(), echo.stdout_truncated),
        (&b"123456"[..], true)
    );
}

#[test]
fn query_runs_as_the_next_block_and_stores_nothing() {
    let (mut ledger, mut exec, address) = chain_with_counter();
    let head = ledger.head().unwrap();
    let snapshot = ledger.snapshot().unwrap();
    let execution = snapshot
        .query(&mut exec, &address, b"a", args(&["inc"]), vec![], None)
        .unwrap();
    assert_eq!(execution.writes, vec![(b"count".to_vec(), b"6".to_vec())]);
    let context = snapshot
        .query(&mut exec, &address, b"a", args(&["context"]), vec![], None)
        .unwrap();
    assert_eq!(
        context.stdout,
        format!("2 {} {}", head.hash, head.timestamp).as_bytes()
    );
    assert_eq!(ledger.head().unwrap(), head);
    assert_eq!(
        count(&ledger.snapshot().unwrap(), &address).as_deref(),
        Some(&b"5"[..])
    );
    let missing = snapshot.query(&mut exec, &Address([7; 20]), b"a", vec![], vec![], None);
    assert!(matches!(missing, Err(ChainError::NoSuchContract(_))));
    // The call itself then gives what the query predicted.
    assert_eq!(
        call(&mut ledger, &mut exec, &address, &["inc"]).writes,
        execution.writes
    );
}

#[test]
fn a_snapshot_does_not_see_later_blocks() {
    let (mut ledger, mut exec, address) = chain_with_counter();
    let old = ledger.snapshot().unwrap();
    let from_other_thread = ledger.snapshots();
    call(&mut ledger, &mut exec, &address, &["inc"]);
    assert_eq!(old.head().unwrap().number, 1);
    assert_eq!(count(&old, &address).as_deref(), Some(&b"5"[..]));
    assert_eq!(old.block(2).unwrap(), None);
    let new =
        std::thread::spawn(move || from_other_thread.latest().unwrap().head().unwrap().number)
            .join()
            .unwrap();
    assert_eq!(new, 2);
    let shared = old.clone();
    let seen = std::thread::spawn(move || count(&shared, &address))
        .join()
        .unwrap();
    assert_eq!(seen.as_deref(), Some(&b"5"[..]));
}

#[test]
fn a_snapshot_outlives_its_ledger() {
    let (ledger, _, address) = chain_with_counter();
    let snapshot = ledger.snapshot().unwrap();
    drop(ledger);
    assert_eq!(count(&snapshot, &address).as_deref(), Some(&b"5"[..]));
}

#[test]
fn engine_errors_store_nothing() {
    let (mut ledger, mut exec, address) = chain_with_counter();
    let head = ledger.head().unwrap();
    let result = ledger.call(
        &mut exec,
        &address,
        b"a",
        args(&["engine-error"]),
        vec![],
        None,
    );
    assert!(matches!(&result, Err(ChainError::Exec(e)) if e.to_string() == "the engine broke"));
    assert_eq!(ledger.head().unwrap(), head);
    assert_eq!(ledger.snapshot().unwrap().head().unwrap(), head);
}

#[test]
fn out_of_gas_is_a_failed_call_charged_the_limit() {
    let (mut ledger, mut exec, address) = chain_with_counter();
    let receipt = ledger
        .call(
            &mut exec,
            &address,
            b"a",
            args(&["burn", "5000"]),
            vec![],
            Some(4000),
        )
        .unwrap();
    assert_eq!(receipt.failure.as_deref(), Some("out of gas"));
    assert_eq!(receipt.gas_used, 4000);
    let (_, tx, _) = ledger
        .snapshot()
        .unwrap()
        .tx(&receipt.tx_hash)
        .unwrap()
        .unwrap();
    assert_eq!(tx.gas_limit, Some(4000));
}

#[test]
fn blocks_page_in_order_and_txs_are_found_by_hash() {
    let (mut ledger, mut exec, address) = chain_with_counter();
    let receipts: Vec<Receipt> = (0..5)
        .map(|_| call(&mut ledger, &mut exec, &address, &["inc"]))
        .collect();
    let snapshot = ledger.snapshot().unwrap();
    let numbers = |from, limit| -> Vec<u64> {
        snapshot
            .blocks(from, limit)
            .unwrap()
            .iter()
            .map(|b| b.number)
            .collect()
    };
    assert_eq!(numbers(0, 3), vec![0, 1, 2]);
    assert_eq!(numbers(3, 3), vec![3, 4, 5]);
    assert_eq!(numbers(6, 3), vec![6]);
    assert_eq!(numbers(7, 3), Vec::<u64>::new());
    assert_eq!(numbers(0, 0), Vec::<u64>::new());
    for receipt in &receipts {
        let (block, tx, stored) = snapshot.tx(&receipt.tx_hash).unwrap().unwrap();
        assert_eq!(block.number, receipt.block_number);
        assert_eq!(tx.hash(block.number), receipt.tx_hash);
        assert_eq!(&stored, receipt);
    }
    assert!(snapshot.tx(&Hash([1; 32])).unwrap().is_none());
    assert!(snapshot.tx_at(0).unwrap().is_none());
}

#[test]
fn replay_of_a_deterministic_history_matches() {
    let (mut ledger, mut exec, address) = chain_with_counter();
    for words in [
        &["inc"][..],
        &["exit", "4"],
        &["mint", "9"],
        &["write", "x", "y"],
        &["delete", "x"],
    ] {
        call(&mut ledger, &mut exec, &address, words);
    }
    ledger
        .deploy(&mut exec, b"other", b"b", args(&["fail"]), None)
        .unwrap();
    let mut seen = Vec::new();
    let report = replay(
        &ledger.snapshot().unwrap(),
        &mut FakeExecutor::new(),
        &mut |done, total| seen.push((done, total)),
    )
    .unwrap();
    assert_eq!(report.first_mismatch, None);
    assert_eq!((report.blocks, report.transactions), (8, 7));
    assert_eq!(seen.last(), Some(&(7, 7)));
}

#[test]
fn replay_finds_a_nondeterministic_executor() {
    let (mut ledger, mut exec, address) = chain_with_counter();
    call(&mut ledger, &mut exec, &address, &["inc"]);
    let mut leaky = FakeExecutor {
        nondeterministic: true,
        ..FakeExecutor::new()
    };
    let report = replay(&ledger.snapshot().unwrap(), &mut leaky, &mut |_, _| {}).unwrap();
    let mismatch = report.first_mismatch.unwrap();
    assert_eq!(mismatch.block, 1);
    assert_eq!(mismatch.what, "receipt hash (stdout differs)");
    assert_eq!(
        mismatch.expected,
        ledger
            .snapshot()
            .unwrap()
            .block(1)
            .unwrap()
            .unwrap()
            .receipt_hash
    );
    assert_ne!(mismatch.got, mismatch.expected);
    assert_eq!(report.blocks, 2);
}

/// An executor that counts no gas (as KVM).
fn uncounted() -> FakeExecutor {
    FakeExecutor {
        uncounted: true,
        ..FakeExecutor::new()
    }
}

#[test]
fn only_an_executor_that_counts_gas_records() {
    let (mut ledger, _, address) = chain_with_counter();
    let head = ledger.head().unwrap();
    let deploy = ledger.deploy(&mut uncounted(), CODE, b"a", Vec::new(), None);
    assert!(
        matches!(deploy, Err(ChainError::GasNotCounted)),
        "{deploy:?}"
    );
    let call = ledger.call(
        &mut uncounted(),
        &address,
        b"a",
        args(&["inc"]),
        vec![],
        None,
    );
    assert!(matches!(call, Err(ChainError::GasNotCounted)), "{call:?}");
    assert_eq!(ledger.head().unwrap(), head);
    // It may still query.
    let execution = ledger
        .snapshot()
        .unwrap()
        .query(
            &mut uncounted(),
            &address,
            b"a",
            args(&["get", "count"]),
            vec![],
            None,
        )
        .unwrap();
    assert_eq!((execution.stdout, execution.gas_used), (b"5".to_vec(), 0));
}

#[test]
fn replay_without_gas_counting_takes_the_recorded_gas() {
    let (mut ledger, mut exec, address) = chain_with_counter();
    for words in [
        &["inc"][..],
        &["burn", "3000"],
        &["exit", "4"],
        &["burn", "9000"],
        &["mint", "9"],
    ] {
        ledger
            .call(&mut exec, &address, b"a", args(words), vec![], Some(5000))
            .unwrap();
    }
    let snapshot = ledger.snapshot().unwrap();
    let report = replay(&snapshot, &mut uncounted(), &mut |_, _| {}).unwrap();
    assert_eq!(report.first_mismatch, None);
    assert!(!report.gas_checked);
    assert_eq!((report.blocks, report.transactions), (7, 6));
    // Unmetered, `burn 9000` would succeed: its recorded failure is taken.
    assert_eq!(report.out_of_gas_taken, vec![5]);
    let counted = replay(&snapshot, &mut exec, &mut |_, _| {}).unwrap();
    assert_eq!(counted.out_of_gas_taken, Vec::<u64>::new());
    assert!(counted.gas_checked);
}

#[test]
fn json_shows_receipts_blocks_and_transactions() {
    let (mut ledger, mut exec, address) = chain_with_counter();
    let receipt = ledger
        .call(
            &mut exec,
            &address,
            b"alice",
            vec![b"write".to_vec(), vec![0xff], b"v".to_vec()],
            vec![],
            None,
        )
        .unwrap();
    let json = serde_json::to_value(&receipt).unwrap();
    assert_eq!(json["verdict"], "ok");
    assert_eq!(json["sender"], "alice");
    assert_eq!(json["address"], address.to_string());
    assert_eq!(json["tx_hash"], receipt.tx_hash.to_string());
    assert_eq!(
        json["writes"],
        serde_json::json!([{"key": {"hex": "ff"}, "value": "v"}])
    );
    assert_eq!(serde_json::from_value::<Receipt>(json).unwrap(), receipt);
    let block = serde_json::to_value(ledger.head().unwrap()).unwrap();
    assert_eq!(block["number"], 2);
    assert_eq!(block["hash"], receipt.block_hash.to_string());
}

#[test]
fn a_store_reopens_with_its_history_and_config() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("data");
    let (address, head) = {
        let mut ledger = Ledger::open(&path, config()).unwrap();
        let mut exec = FakeExecutor::new();
        let address = ledger
            .deploy(&mut exec, CODE, b"a", vec![], None)
            .unwrap()
            .address;
        call(&mut ledger, &mut exec, &address, &["inc"]);
        (address, ledger.head().unwrap())
    };
    let other = ChainConfig {
        genesis_time: 5,
        ..config()
    };
    let mut ledger = Ledger::open(&path, other).unwrap();
    assert_eq!(ledger.config(), &config());
    assert_eq!(ledger.head().unwrap(), head);
    let snapshot = ledger.snapshot().unwrap();
    assert_eq!(count(&snapshot, &address).as_deref(), Some(&b"1"[..]));
    snapshot.verify().unwrap();
    let receipt = call(&mut ledger, &mut FakeExecutor::new(), &address, &["inc"]);
    assert_eq!(receipt.block_number, 3);
    assert!(path.join(qvm_chain::STORE_FILE).is_file());
}

#[test]
fn a_store_is_open_in_one_ledger_at_a_time() {
    let dir = tempfile::tempdir().unwrap();
    let _first = Ledger::open(dir.path(), config()).unwrap();
    let second = Ledger::open(dir.path(), config());
    assert!(
        matches!(&second, Err(ChainError::InUse(path)) if path.ends_with(qvm_chain::STORE_FILE)),
        "{:?}",
        second.err()
    );
}

#[test]
fn ledgers_and_snapshots_can_be_shared_between_threads() {
    fn shareable<T: Send + Sync + Clone + 'static>() {}
    shareable::<qvm_chain::Snapshot>();
    shareable::<qvm_chain::Snapshots>();
    fn movable<T: Send + Sync>() {}
    movable::<Ledger>();
}

#[test]
fn garbage_files_are_typed_errors() {
    let dir = tempfile::tempdir().unwrap();
    // A real store, to cut and overwrite.
    Ledger::open(&dir.path().join("real"), config()).unwrap();
    let real = std::fs::read(dir.path().join("real").join(qvm_chain::STORE_FILE)).unwrap();
    let mut pattern = Vec::new();
    let mut x: u32 = 1;
    for _ in 0..100_000 {
        x = x.wrapping_mul(1_103_515_245).wrapping_add(12_345);
        pattern.push((x >> 16) as u8);
    }
    let mut scrambled = real.clone();
    for (i, byte) in scrambled.iter_mut().enumerate().skip(512) {
        *byte ^= pattern[i % pattern.len()];
    }
    let cases: [(&str, Vec<u8>); 6] = [
        ("text", b"hello, this is not a database\n".to_vec()),
        ("noise", pattern.clone()),
        ("zeros", vec![0; 8192]),
        ("header only", real[..64.min(real.len())].to_vec()),
        ("half", real[..real.len() / 2].to_vec()),
        ("scrambled body", scrambled),
    ];
    for (name, bytes) in cases {
        let data = dir.path().join(name);
        std::fs::create_dir_all(&data).unwrap();
        std::fs::write(data.join(qvm_chain::STORE_FILE), &bytes).unwrap();
        match Ledger::open(&data, config()) {
            Err(e @ (ChainError::NotAStore { .. } | ChainError::Database(_))) => {
                eprintln!("{name}: {e}")
            }
            Err(other) => panic!("{name}: unexpected error {other}"),
            Ok(_) => panic!("{name}: opened"),
        }
    }
}
