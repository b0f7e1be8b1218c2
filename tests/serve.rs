//! `qvm serve` end to end (docs/api.md): a real server on loopback, the
//! chain contracts in three languages over HTTP, 8 concurrent clients,
//! `kill -9` under load and a restart that loses nothing acknowledged,
//! bad requests, graceful shutdown. Transactions are metered, so the
//! server runs them on the emulator whatever the host has.

mod support;

use std::io::{BufRead, BufReader, Read};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use serde_json::{json, Value};
use support::*;

/// A `qvm serve` process on a free loopback port.
struct Server {
    child: Child,
    url: String,
}

impl Server {
    fn start(dir: &Path) -> Server {
        let mut child = Command::new(qvm_bin())
            .args(["serve", "--listen", "127.0.0.1:0", "--data-dir"])
            .arg(dir)
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .expect("start qvm serve");
        let mut line = String::new();
        let stdout = child.stdout.take().expect("stdout");
        BufReader::new(stdout)
            .read_line(&mut line)
            .expect("read the listening line");
        let url = line
            .trim()
            .strip_prefix("qvm serve: listening on ")
            .unwrap_or_else(|| panic!("unexpected first line {line:?}"))
            .to_string();
        Server { child, url }
    }

    fn url(&self, path: &str) -> String {
        format!("{}{path}", self.url)
    }

    /// SIGKILL, as a crash.
    fn kill9(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }

    /// SIGTERM, and the exit status.
    fn terminate(mut self) -> i32 {
        // SAFETY: signalling our own child, which has not been reaped.
        unsafe { libc::kill(self.child.id() as i32, libc::SIGTERM) };
        let status = self.child.wait().expect("wait for qvm serve");
        status.code().unwrap_or(-1)
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A fresh data directory.
fn data_dir(name: &str) -> PathBuf {
    let dir = Path::new(env!("CARGO_TARGET_TMPDIR"))
        .join("serve")
        .join(name);
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).expect("create data dir");
    dir
}

/// One HTTP request: status and body. Connection errors are `Err`.
fn request(method: &str, url: &str, body: Option<(&str, &[u8])>) -> Result<(u16, Vec<u8>), String> {
    let req = ureq::request(method, url).timeout(Duration::from_secs(120));
    let result = match body {
        Some((content_type, bytes)) => req.set("Content-Type", content_type).send_bytes(bytes),
        None => req.call(),
    };
    let response = match result {
        Ok(r) => r,
        Err(ureq::Error::Status(_, r)) => r,
        Err(e) => return Err(e.to_string()),
    };
    let status = response.status();
    let mut bytes = Vec::new();
    response
        .into_reader()
        .read_to_end(&mut bytes)
        .map_err(|e| e.to_string())?;
    Ok((status, bytes))
}

fn json_of(bytes: &[u8]) -> Value {
    serde_json::from_slice(bytes)
        .unwrap_or_else(|e| panic!("not JSON ({e}): {}", String::from_utf8_lossy(bytes)))
}

fn post_json(server: &Server, path: &str, body: &Value) -> (u16, Value) {
    let (status, bytes) = request(
        "POST",
        &server.url(path),
        Some(("application/json", body.to_string().as_bytes())),
    )
    .expect("request");
    (status, json_of(&bytes))
}

fn get(server: &Server, path: &str) -> (u16, Vec<u8>) {
    request("GET", &server.url(path), None).expect("request")
}

fn deploy(server: &Server, program: &Path, sender: &str) -> String {
    let code = std::fs::read(program).expect("read contract");
    let (status, bytes) = request(
        "POST",
        &server.url(&format!("/deploy?sender={sender}")),
        Some(("application/octet-stream", &code)),
    )
    .expect("deploy");
    let receipt = json_of(&bytes);
    assert_eq!(status, 200, "{receipt}");
    assert_eq!(receipt["verdict"], "ok", "{receipt}");
    receipt["address"].as_str().expect("address").to_string()
}

fn call(server: &Server, address: &str, sender: &str, args: &[&str]) -> Value {
    let (status, receipt) = post_json(
        server,
        &format!("/call/{address}"),
        &json!({ "sender": sender, "args": args }),
    );
    assert_eq!(status, 200, "{receipt}");
    receipt
}

/// The contracts every language builds, or none when a toolchain is
/// missing here (reported by `build`).
fn contracts(name: &str) -> Vec<(&'static str, PathBuf)> {
    [(C_GLIBC, "c"), (RUST, "rs"), (GO, "go")]
        .into_iter()
        .filter_map(|(tc, ext)| build(tc, &format!("chain/{name}.{ext}")).map(|p| (ext, p)))
        .collect()
}

#[test]
fn counter_and_token_in_three_languages() {
    let dir = data_dir("languages");
    let server = Server::start(&dir);
    let mut states = Vec::new();
    for ((lang, counter), (_, token)) in contracts("counter").into_iter().zip(contracts("token")) {
        let c = deploy(&server, &counter, "alice");
        for n in ["1", "2", "3"] {
            let r = call(&server, &c, "alice", &["increment", n]);
            assert_eq!(r["verdict"], "ok", "{lang}: {r}");
        }
        let r = call(&server, &c, "alice", &["increment", "x"]);
        assert_eq!(r["verdict"], "failed", "{lang}: {r}");
        assert_eq!(r["exit_code"], 2, "{lang}: {r}");
        let (status, q) = post_json(&server, &format!("/query/{c}"), &json!({"args": ["get"]}));
        assert_eq!(
            (status, q["stdout"].as_str()),
            (200, Some("6\n")),
            "{lang}: {q}"
        );
        assert_eq!(
            get(&server, &format!("/state/{c}/COUNTER")),
            (200, b"6".to_vec())
        );

        let t = deploy(&server, &token, "alice");
        let r = call(&server, &t, "alice", &["transfer", "bob", "300"]);
        assert_eq!(r["verdict"], "ok", "{lang}: {r}");
        assert_eq!(
            r["events"],
            json!(["transfer alice bob 300"]),
            "{lang}: {r}"
        );
        let r = call(&server, &t, "bob", &["transfer", "carol", "500"]);
        assert_eq!(r["verdict"], "failed", "{lang}: {r}");
        assert_eq!(r["stderr"], "insufficient balance\n", "{lang}: {r}");
        assert_eq!(
            r["writes"],
            json!([]),
            "a failed call's writes are discarded: {r}"
        );
        let tx = r["tx_hash"].as_str().expect("tx hash");
        let (status, found) = get(&server, &format!("/tx/{tx}"));
        assert_eq!(status, 200);
        assert_eq!(json_of(&found)["receipt"], r, "{lang}");

        let (status, counter_state) = get(&server, &format!("/state/{c}"));
        assert_eq!(status, 200);
        let (status, token_state) = get(&server, &format!("/state/{t}"));
        assert_eq!(status, 200);
        states.push((
            lang,
            json_of(&counter_state)["state"].clone(),
            json_of(&token_state)["state"].clone(),
        ));
    }
    assert!(!states.is_empty(), "no language built");
    for (lang, counter, token) in &states {
        assert_eq!(
            counter,
            &json!([{"key": "COUNTER", "value": "6"}]),
            "{lang}"
        );
        assert_eq!(
            token,
            &json!([
                {"key": "bal_alice", "value": "999700"},
                {"key": "bal_bob", "value": "300"},
                {"key": "supply", "value": "1000000"},
            ]),
            "{lang}"
        );
    }
    assert_eq!(server.terminate(), 0, "SIGTERM stops the server cleanly");
}

/// Sends `increment` calls from `clients` threads until `total` are
/// acknowledged or `stop` is set; returns the acknowledged tx hashes.
fn load(
    server_url: &str,
    address: &str,
    clients: usize,
    total: usize,
    stop: &Arc<AtomicBool>,
) -> Vec<String> {
    let acknowledged = Arc::new(Mutex::new(Vec::new()));
    let next = Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let threads: Vec<_> = (0..clients)
        .map(|i| {
            let (url, acknowledged, next, stop) = (
                format!("{server_url}/call/{address}"),
                acknowledged.clone(),
                next.clone(),
                stop.clone(),
            );
            std::thread::spawn(move || {
                let body =
                    json!({"sender": format!("client{i}"), "args": ["increment"]}).to_string();
                while !stop.load(Ordering::SeqCst) && next.fetch_add(1, Ordering::SeqCst) < total {
                    match request("POST", &url, Some(("application/json", body.as_bytes()))) {
                        Ok((200, bytes)) => {
                            let receipt = json_of(&bytes);
                            assert_eq!(receipt["verdict"], "ok", "{receipt}");
                            let hash = receipt["tx_hash"].as_str().expect("hash").to_string();
                            acknowledged.lock().expect("lock").push(hash);
                        }
                        Ok((status, bytes)) => {
                            panic!("status {status}: {}", String::from_utf8_lossy(&bytes))
                        }
                        // The server died: what was not acknowledged may be lost.
                        Err(_) => break,
                    }
                }
            })
        })
        .collect();
    for t in threads {
        t.join().expect("client thread");
    }
    let hashes = acknowledged.lock().expect("lock").clone();
    hashes
}

/// Every acknowledged transaction is in the store, and the counter counts
/// exactly the stored increments.
fn check_acknowledged(server: &Server, address: &str, acknowledged: &[String]) -> u64 {
    for hash in acknowledged {
        let (status, body) = get(server, &format!("/tx/{hash}"));
        assert_eq!(
            status,
            200,
            "acknowledged tx {hash} is missing: {}",
            String::from_utf8_lossy(&body)
        );
    }
    let (_, health) = get(server, "/health");
    let head = json_of(&health)["head"].as_u64().expect("head");
    // Block 1 deployed the counter; every later block is one increment.
    let increments = head - 1;
    let (status, value) = get(server, &format!("/state/{address}/COUNTER"));
    assert_eq!(status, 200);
    assert_eq!(String::from_utf8_lossy(&value), increments.to_string());
    increments
}

fn replay(dir: &Path) {
    let (status, stdout, stderr) =
        qvm_command(&["replay", "--data-dir", dir.to_str().expect("utf-8 path")]);
    assert_eq!(status, 0, "replay: {stdout}{stderr}");
    assert!(stdout.contains("every state root matches"), "{stdout}");
}

#[test]
fn eight_clients_thousand_transactions() {
    let Some((_, counter)) = contracts("counter").into_iter().next() else {
        return;
    };
    let dir = data_dir("load");
    let server = Server::start(&dir);
    let address = deploy(&server, &counter, "alice");
    let stop = Arc::new(AtomicBool::new(false));
    let acknowledged = load(&server.url, &address, 8, 1000, &stop);
    assert_eq!(acknowledged.len(), 1000);
    assert_eq!(check_acknowledged(&server, &address, &acknowledged), 1000);
    assert_eq!(server.terminate(), 0);
    // The final state equals a sequential replay of the history.
    replay(&dir);
}

#[test]
fn kill_9_under_load_loses_nothing_acknowledged() {
    let Some((_, counter)) = contracts("counter").into_iter().next() else {
        return;
    };
    let dir = data_dir("kill9");
    let mut server = Server::start(&dir);
    let address = deploy(&server, &counter, "alice");
    let stop = Arc::new(AtomicBool::new(false));
    let url = server.url.clone();
    let clients = {
        let (address, stop) = (address.clone(), stop.clone());
        std::thread::spawn(move || load(&url, &address, 8, usize::MAX, &stop))
    };
    // Kill it mid-load, once a few hundred blocks are in.
    loop {
        std::thread::sleep(Duration::from_millis(50));
        let (_, health) = get(&server, "/health");
        if json_of(&health)["head"].as_u64().unwrap_or(0) >= 300 {
            break;
        }
    }
    server.kill9();
    let acknowledged = clients.join().expect("clients");
    stop.store(true, Ordering::SeqCst);
    let server = Server::start(&dir);
    let stored = check_acknowledged(&server, &address, &acknowledged);
    eprintln!(
        "kill -9 under load: {} acknowledged, {stored} stored after restart, 0 lost",
        acknowledged.len()
    );
    assert!(stored >= acknowledged.len() as u64);
    // The chain still grows after the crash.
    let r = call(&server, &address, "alice", &["increment"]);
    assert_eq!(r["verdict"], "ok");
    assert_eq!(server.terminate(), 0);
    replay(&dir);
}

/// Sends only the head of a POST whose Content-Length is `length`, and
/// reads the response: status and body.
fn announce_huge_body(server: &Server, path: &str, length: usize) -> (u16, String) {
    use std::io::Write;
    let host = server.url.trim_start_matches("http://");
    let mut stream = std::net::TcpStream::connect(host).expect("connect");
    write!(
        stream,
        "POST {path} HTTP/1.1\r\nHost: {host}\r\nContent-Type: application/octet-stream\r\n\
         Content-Length: {length}\r\nConnection: close\r\n\r\n"
    )
    .expect("send head");
    let mut response = String::new();
    stream.read_to_string(&mut response).expect("read response");
    let status = response
        .split_whitespace()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or(0);
    let body = response
        .split_once("\r\n\r\n")
        .map(|(_, b)| b.to_string())
        .unwrap_or_default();
    (status, body)
}

/// A request and the status it must get: method, path, body (content
/// type, bytes), status.
type BadRequest = (&'static str, String, Option<(&'static str, Vec<u8>)>, u16);

/// Every request the server cannot take gets a 4xx and a JSON error, and
/// the server stays up.
#[test]
fn bad_requests_get_json_errors() {
    let dir = data_dir("bad");
    let server = Server::start(&dir);
    let hello = build(C_GLIBC, "hello.c");
    let unknown = "0x0000000000000000000000000000000000000001";
    let cases: &[BadRequest] = &[
        (
            "POST",
            format!("/call/{unknown}"),
            Some(("application/json", b"{}".to_vec())),
            404,
        ),
        (
            "POST",
            "/call/0x12".into(),
            Some(("application/json", b"{}".to_vec())),
            400,
        ),
        (
            "POST",
            format!("/call/{unknown}"),
            Some(("application/json", b"{nope".to_vec())),
            400,
        ),
        (
            "POST",
            format!("/call/{unknown}"),
            Some(("application/json", br#"{"bogus": 1}"#.to_vec())),
            400,
        ),
        (
            "POST",
            format!("/call/{unknown}"),
            Some(("application/json", br#"{"args": [{"hex": "zz"}]}"#.to_vec())),
            400,
        ),
        (
            "POST",
            format!("/call/{unknown}"),
            Some(("application/json", br#"{"gas_limit": -1}"#.to_vec())),
            400,
        ),
        (
            "POST",
            format!("/query/{unknown}"),
            Some(("application/json", b"[]".to_vec())),
            400,
        ),
        (
            "POST",
            "/deploy".into(),
            Some(("application/octet-stream", Vec::new())),
            400,
        ),
        (
            "POST",
            "/deploy".into(),
            Some(("application/octet-stream", b"not an elf".to_vec())),
            422,
        ),
        (
            "POST",
            "/deploy".into(),
            Some((
                "application/json",
                br#"{"code": {"base64": "!!"}}"#.to_vec(),
            )),
            400,
        ),
        (
            "POST",
            "/deploy?color=red".into(),
            Some(("application/octet-stream", b"x".to_vec())),
            400,
        ),
        ("GET", "/deploy".into(), None, 405),
        ("GET", "/nowhere".into(), None, 404),
        ("GET", format!("/state/{unknown}"), None, 404),
        ("GET", "/blocks/99".into(), None, 404),
        ("GET", "/blocks/x".into(), None, 400),
        ("GET", "/blocks?from=x".into(), None, 400),
        ("GET", "/tx/1234".into(), None, 400),
        ("GET", format!("/tx/{}", "ab".repeat(32)), None, 404),
    ];
    for (method, path, body, expected) in cases {
        let (status, bytes) = request(
            method,
            &server.url(path),
            body.as_ref().map(|(t, b)| (*t, b.as_slice())),
        )
        .expect("request");
        let error = json_of(&bytes);
        assert_eq!(status, *expected, "{method} {path}: {error}");
        assert!(error["error"].is_string(), "{method} {path}: {error}");
    }
    // Past the body limit: refused with 413 before the body is sent
    // (its Content-Length says enough).
    let (_, health) = get(&server, "/health");
    assert_eq!(json_of(&health)["head"], 0);
    let (status, body) = announce_huge_body(&server, "/deploy", 128 << 20);
    assert_eq!(status, 413, "{body}");
    assert!(json_of(body.as_bytes())["error"].is_string(), "{body}");
    // Random bodies never get a 5xx.
    let mut seed = 0x9e37_79b9_7f4a_7c15u64;
    for i in 0..200 {
        let len = (i * 7) % 300;
        let body: Vec<u8> = (0..len)
            .map(|_| {
                seed ^= seed << 13;
                seed ^= seed >> 7;
                seed ^= seed << 17;
                seed as u8
            })
            .collect();
        for path in [
            format!("/call/{unknown}"),
            format!("/query/{unknown}"),
            "/deploy".into(),
        ] {
            let (status, _) = request(
                "POST",
                &server.url(&path),
                Some(("application/json", &body)),
            )
            .expect("request");
            assert!(
                (400..500).contains(&status),
                "POST {path} with {body:?}: {status}"
            );
        }
    }
    // Still serving, and nothing was recorded.
    if let Some(hello) = hello {
        let address = deploy(&server, &hello, "alice");
        let r = call(&server, &address, "alice", &["world"]);
        assert_eq!(r["stdout"], "hello world\nGREETING=(unset)\n");
    }
    assert_eq!(server.terminate(), 0);
}
