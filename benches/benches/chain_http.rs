//! The local chain's throughput (issue 14): transactions per second of the
//! hello-world contract (examples/hello.c) through `qvm serve`'s HTTP API,
//! with 1 and 8 concurrent clients, and the same through the ledger API
//! without HTTP; the store's size per transaction; queries per second.
//!
//!   cargo bench -p qvm-benches --bench chain_http [-- TRANSACTIONS]   # default 2000
//!
//! The server runs in this process (`qvm::serve::serve_until`) on a loopback
//! port, on the emulator (transactions are metered), with its store in a
//! temporary directory on the same disk as target/: every block is
//! committed durably (fsync) before its response, so the disk is part of
//! the figure.

mod support;

use std::io::Read;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use qvm::executor::executor_for;
use qvm::serve::{serve_until, ServeOptions};
use qvm::BackendChoice;
use qvm_chain::{ChainConfig, Ledger};
use qvm_conformance::toolchain::C_GLIBC;
use support::{contract, median, root};

fn fresh_dir(name: &str) -> PathBuf {
    let dir = root().join("target/bench-chain").join(name);
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).expect("create bench dir");
    dir
}

fn post(url: &str, content_type: &str, body: &[u8]) -> serde_json::Value {
    let response = ureq::post(url)
        .set("Content-Type", content_type)
        .send_bytes(body)
        .unwrap_or_else(|e| panic!("POST {url}: {e}"));
    let mut bytes = Vec::new();
    response
        .into_reader()
        .read_to_end(&mut bytes)
        .expect("read response");
    serde_json::from_slice(&bytes).expect("JSON response")
}

/// A server on a free port, stopped when the returned sender is dropped.
fn start_server(
    dir: &Path,
) -> (
    String,
    tokio::sync::oneshot::Sender<()>,
    std::thread::JoinHandle<()>,
) {
    let (stop_tx, stop_rx) = tokio::sync::oneshot::channel::<()>();
    let (addr_tx, addr_rx) = std::sync::mpsc::channel::<SocketAddr>();
    let options = ServeOptions {
        listen: "127.0.0.1:0".parse().expect("address"),
        data_dir: dir.to_path_buf(),
        backend: BackendChoice::Emu,
        readers: 2,
        timeout: None,
    };
    let thread = std::thread::spawn(move || {
        serve_until(
            options,
            move |addr| addr_tx.send(addr).expect("send address"),
            async {
                let _ = stop_rx.await;
            },
        )
        .expect("qvm serve");
    });
    let addr = addr_rx.recv().expect("server address");
    (format!("http://{addr}"), stop_tx, thread)
}

/// Sends `total` calls from `clients` threads; returns the wall time and
/// every call's latency.
fn load(url: &str, clients: usize, total: usize, path: &str) -> (Duration, Vec<Duration>) {
    let next = Arc::new(AtomicUsize::new(0));
    let start = Instant::now();
    let threads: Vec<_> = (0..clients)
        .map(|i| {
            let (url, next) = (format!("{url}{path}"), next.clone());
            std::thread::spawn(move || {
                let body =
                    serde_json::json!({"sender": format!("c{i}"), "args": ["world"]}).to_string();
                let mut latencies = Vec::new();
                while next.fetch_add(1, Ordering::SeqCst) < total {
                    let t = Instant::now();
                    let r = post(&url, "application/json", body.as_bytes());
                    latencies.push(t.elapsed());
                    assert!(
                        r.get("verdict").is_none_or(|v| v == "ok") && r.get("error").is_none(),
                        "{r}"
                    );
                }
                latencies
            })
        })
        .collect();
    let mut latencies = Vec::new();
    for t in threads {
        latencies.extend(t.join().expect("client"));
    }
    (start.elapsed(), latencies)
}

fn percentile(mut v: Vec<Duration>, p: f64) -> Duration {
    v.sort();
    let i = ((v.len() as f64 - 1.0) * p).round() as usize;
    v.get(i).copied().unwrap_or_default()
}

fn main() {
    let total: usize = std::env::args()
        .skip(1)
        .find_map(|a| a.parse().ok())
        .unwrap_or(2000);
    let hello = contract(C_GLIBC, "examples/hello.c");
    println!("chain_http: hello-world (examples/hello.c), {total} transactions per row, emulator, durable commits");

    // The ledger alone, no HTTP: what a transaction costs the writer.
    let dir = fresh_dir("ledger");
    let mut ledger = Ledger::open(&dir, ChainConfig::default()).expect("open ledger");
    let mut exec = executor_for(BackendChoice::Emu, None);
    let gas = Some(qvm_common::kernel::gas::DEFAULT_GAS_LIMIT);
    let address = ledger
        .deploy(&mut exec, &hello, b"bench", Vec::new(), gas)
        .expect("deploy")
        .address;
    let mut per_tx = Vec::new();
    let start = Instant::now();
    for _ in 0..total {
        let t = Instant::now();
        let r = ledger
            .call(
                &mut exec,
                &address,
                b"bench",
                vec![b"world".to_vec()],
                Vec::new(),
                gas,
            )
            .expect("call");
        assert!(r.succeeded());
        per_tx.push(t.elapsed());
    }
    let elapsed = start.elapsed();
    drop(ledger);
    let size = std::fs::metadata(dir.join(qvm_chain::STORE_FILE))
        .map(|m| m.len())
        .unwrap_or(0);
    println!(
        "  ledger API, 1 writer     {:>7.0} tx/s   p50 {:>6.0} us   store {} bytes, {:.0} bytes/tx",
        total as f64 / elapsed.as_secs_f64(),
        median(per_tx).as_secs_f64() * 1e6,
        size,
        size as f64 / (total + 1) as f64
    );

    for clients in [1, 8] {
        let dir = fresh_dir(&format!("http-{clients}"));
        let (url, stop, thread) = start_server(&dir);
        let deployed = post(
            &format!("{url}/deploy?sender=bench"),
            "application/octet-stream",
            &hello,
        );
        let address = deployed["address"].as_str().expect("address").to_string();
        let (elapsed, latencies) = load(&url, clients, total, &format!("/call/{address}"));
        let p50 = percentile(latencies.clone(), 0.5);
        let p99 = percentile(latencies, 0.99);
        println!(
            "  HTTP /call, {clients} client(s)    {:>7.0} tx/s   p50 {:>6.0} us   p99 {:>6.0} us",
            total as f64 / elapsed.as_secs_f64(),
            p50.as_secs_f64() * 1e6,
            p99.as_secs_f64() * 1e6
        );
        if clients == 8 {
            let (elapsed, latencies) = load(&url, clients, total, &format!("/query/{address}"));
            println!(
                "  HTTP /query, 8 clients   {:>7.0} q/s    p50 {:>6.0} us   (2 reader threads)",
                total as f64 / elapsed.as_secs_f64(),
                percentile(latencies, 0.5).as_secs_f64() * 1e6
            );
        }
        drop(stop);
        thread.join().expect("server thread");
    }
}
