//! The host's safety net (`--timeout`) and qvm's bounded host resources:
//! hanging calls end by wall clock with their own status and reason; the
//! trace, the output streams, non-regular inputs and translated code are
//! capped; qvm's peak host memory (measured with wait4) stays under the
//! call's memory limit plus the documented overhead; pass-through output
//! appears as the contract writes it. On every backend.

mod support;

use std::io::{BufRead, BufReader, Write};
use std::os::unix::process::ExitStatusExt;
use std::path::PathBuf;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use qvm_common::kernel::trace::MAX_ENTRIES;
use qvm_common::test_elf;
use qvm_common::watchdog::{TIMEOUT_KILL_REASON, TIMEOUT_STATUS};
use support::*;

/// qvm's host memory over the call's memory limit, at most
/// (docs/performance.md, "Host memory under hostile contracts").
const OVERHEAD_KIB: u64 = 192 << 10;

/// `jmp .`
const SPIN: &[u8] = &[0xeb, 0xfe];
/// `getppid` forever: mov eax, 110; syscall; jmp back.
const SYSCALL_SPIN: &[u8] = &[0xb8, 0x6e, 0, 0, 0, 0x0f, 0x05, 0xeb, 0xf7];

/// `getppid` `n` times, then exit(0).
fn syscalls_then_exit(n: u32) -> Vec<u8> {
    let mut code = vec![0xbb]; // mov ebx, n
    code.extend_from_slice(&n.to_le_bytes());
    code.extend_from_slice(&[
        0xb8, 0x6e, 0, 0, 0, // mov eax, 110
        0x0f, 0x05, // syscall
        0xff, 0xcb, // dec ebx
        0x75, 0xf5, // jnz back to mov eax
        0x31, 0xff, // xor edi, edi
        0xb8, 0x3c, 0, 0, 0, // mov eax, 60
        0x0f, 0x05, // syscall
    ]);
    code
}

/// write(1, "first\n", 6), then `jmp .`
const PRINT_THEN_SPIN: &[u8] = &[
    0xb8, 1, 0, 0, 0, // mov eax, 1
    0xbf, 1, 0, 0, 0, // mov edi, 1
    0x48, 0x8d, 0x35, 9, 0, 0, 0, // lea rsi, [rip + 9] (the text)
    0xba, 6, 0, 0, 0, // mov edx, 6
    0x0f, 0x05, // syscall
    0xeb, 0xfe, // jmp .
    b'f', b'i', b'r', b's', b't', b'\n',
];

/// A raw-code contract as a file.
fn raw_contract(code: &[u8]) -> PathBuf {
    tempfile(&test_elf::with_code(code))
}

/// What a qvm process did, with its peak host memory.
struct Measured {
    status: i32,
    stdout: Vec<u8>,
    stderr: String,
    max_rss_kib: u64,
    elapsed: Duration,
}

/// Runs `qvm run --backend B ARGS...` with stdout and stderr in files,
/// under `/usr/bin/time`, which reports the process's peak resident
/// memory. (wait4 from here would not do: a child spawned from this
/// large, multi-threaded test process starts with its peak as its own.)
fn measured(backend: Backend, args: &[&str]) -> Measured {
    let out = tempfile(b"");
    let err = tempfile(b"");
    let rss = tempfile(b"");
    let start = Instant::now();
    let status = Command::new("/usr/bin/time")
        .arg("-f")
        .arg("%M")
        .arg("-o")
        .arg(&rss)
        .arg(qvm_bin())
        .args(["run", "--backend", backend.as_str()])
        .args(backend.run_options())
        .args(args)
        .stdin(Stdio::null())
        .stdout(std::fs::File::create(&out).unwrap())
        .stderr(std::fs::File::create(&err).unwrap())
        .status()
        .expect("/usr/bin/time (Debian package time: scripts/install-deps.sh test installs it)");
    let elapsed = start.elapsed();
    let rss = std::fs::read_to_string(&rss).unwrap();
    Measured {
        status: status
            .code()
            .unwrap_or_else(|| 128 + status.signal().unwrap_or(0)),
        stdout: std::fs::read(&out).unwrap(),
        stderr: String::from_utf8_lossy(&std::fs::read(&err).unwrap()).into_owned(),
        // time(1) puts "Command exited with non-zero status N" first.
        max_rss_kib: rss
            .lines()
            .last()
            .and_then(|l| l.trim().parse().ok())
            .unwrap_or_else(|| panic!("time(1) said {rss:?}")),
        elapsed,
    }
}

fn json(m: &Measured) -> serde_json::Value {
    serde_json::from_slice(&m.stdout)
        .unwrap_or_else(|e| panic!("not JSON ({e}); stderr: {}", m.stderr))
}

/// Asserts qvm's peak memory is under `limit_mib` plus the overhead.
fn assert_bounded(what: &str, m: &Measured, limit_mib: u64) {
    let bound = (limit_mib << 10) + OVERHEAD_KIB;
    eprintln!(
        "{what}: {} KiB peak host memory (bound {bound} KiB)",
        m.max_rss_kib
    );
    assert!(
        m.max_rss_kib <= bound,
        "{what}: qvm used {} KiB, more than the {limit_mib} MiB limit + {} KiB overhead",
        m.max_rss_kib,
        OVERHEAD_KIB
    );
}

on_every_backend! {
    fn timeout_ends_a_hanging_call_with_its_own_status_and_reason(backend) {
        for (what, code) in [("spin", SPIN), ("syscall loop", SYSCALL_SPIN)] {
            let contract = raw_contract(code);
            let path = contract.to_str().unwrap();
            let text = measured(backend, &["--timeout", "1", path]);
            assert_eq!(text.status, TIMEOUT_STATUS, "{what}: {}", text.stderr);
            assert!(
                text.elapsed >= Duration::from_secs(1) && text.elapsed < Duration::from_secs(20),
                "{what}: ended after {:?}",
                text.elapsed
            );
            let lines: Vec<&str> = text.stderr.lines().collect();
            assert_eq!(lines.len(), 1, "{what}: one stderr line: {:?}", text.stderr);
            assert!(
                lines[0].starts_with("qvm: timeout: ") && lines[0].contains("not a deterministic verdict"),
                "{what}: {}",
                lines[0]
            );
            let doc = measured(backend, &["--timeout", "0.5", "--json", path]);
            assert_eq!(doc.status, TIMEOUT_STATUS, "{what}: {}", doc.stderr);
            assert_eq!(doc.stderr, "", "{what}: --json says it in the document only");
            let v = json(&doc);
            assert_eq!(v["kill_reason"], TIMEOUT_KILL_REASON, "{what}");
            assert_eq!(v["status"], TIMEOUT_STATUS, "{what}");
            assert_eq!(v["signal_name"], "SIGKILL", "{what}");
            assert_eq!(v["failed"], true, "{what}");
        }
    }

    fn timeout_leaves_a_call_that_ends_in_time_alone(backend) {
        let contract = raw_contract(&syscalls_then_exit(3));
        let r = measured(backend, &["--timeout", "60", "--json", contract.to_str().unwrap()]);
        let v = json(&r);
        assert_eq!((r.status, &v["kill_reason"]), (0, &serde_json::Value::Null), "{}", r.stderr);
        assert_eq!(v["syscalls"], 4);
    }

    fn the_trace_keeps_its_first_entries_and_counts_the_rest(backend) {
        let extra = 7;
        let contract = raw_contract(&syscalls_then_exit(MAX_ENTRIES as u32 + extra));
        let path = contract.to_str().unwrap();
        // Twice on this backend, and on KVM once on the emulator too (the
        // emulator's variant runs it twice; in CI the KVM variant runs in a
        // nested VM, where each run of 100,000 syscalls takes a while): the
        // same document every time (but for the backend's name).
        let mut runs = vec![backend, backend];
        if backend == Backend::Kvm {
            runs.push(Backend::Emu);
        }
        let mut docs = Vec::new();
        for b in runs {
            let r = measured(b, &["--json", "--trace", path]);
            assert_eq!(r.status, 0, "{}: {}", b.as_str(), r.stderr);
            // KVM does not meter (docs/gas.md): gas left out.
            let v: serde_json::Value =
                serde_json::from_str(&without_gas(&String::from_utf8_lossy(&r.stdout))).unwrap();
            docs.push(v);
        }
        for d in &docs {
            let differing: Vec<&String> = docs[0]
                .as_object()
                .map(|o| o.keys().filter(|k| d[k.as_str()] != docs[0][k.as_str()]).collect())
                .unwrap_or_default();
            assert!(differing.is_empty(), "the same document every time; differs in {differing:?}");
        }
        let v = &docs[0];
        assert_eq!(v["syscalls"], MAX_ENTRIES as u64 + u64::from(extra) + 1);
        assert_eq!(v["trace"].as_array().map(Vec::len), Some(MAX_ENTRIES));
        assert_eq!(v["trace"][0]["name"], "getppid");
        // The exit is the last syscall; everything after the first
        // MAX_ENTRIES is counted only.
        assert_eq!(v["trace_dropped"], u64::from(extra) + 1);
    }

    fn a_syscall_loop_with_a_trace_stays_bounded(backend) {
        let contract = raw_contract(SYSCALL_SPIN);
        let r = measured(
            backend,
            &["--memory", "16M", "--timeout", "3", "--json", "--trace", contract.to_str().unwrap()],
        );
        assert_eq!(r.status, TIMEOUT_STATUS, "{}", r.stderr);
        let v = json(&r);
        // However fast this host is, the trace holds what it may hold.
        let made = v["syscalls"].as_u64().unwrap();
        let kept = v["trace"].as_array().map_or(0, Vec::len) as u64;
        assert_eq!(kept, made.min(MAX_ENTRIES as u64), "{made} syscalls made");
        assert_eq!(v["trace_dropped"].as_u64().unwrap_or(0), made - kept);
        assert_bounded("trace bomb", &r, 16);
    }

    fn inputs_that_are_not_regular_files_are_read_up_to_the_limit(backend) {
        let hello = raw_contract(&syscalls_then_exit(1));
        let hello = hello.to_str().unwrap();
        let cases: &[(&str, &[&str])] = &[
            ("contract", &["--memory", "16M", "/dev/zero"]),
            ("stdin file", &["--memory", "16M", "--stdin", "/dev/zero", hello]),
        ];
        for (what, args) in cases {
            let r = measured(backend, args);
            assert_eq!(r.status, 125, "{what}: {}", r.stderr);
            assert_eq!(r.stderr.lines().count(), 1, "{what}: {}", r.stderr);
            assert!(
                r.stderr.starts_with(&format!("qvm: error: {what} /dev/zero gives more than the 16777216 byte memory limit")),
                "{what}: {}",
                r.stderr
            );
            assert_bounded(what, &r, 16);
        }
        // A pipe within the limit is read whole: the contract itself
        // (/proc/self/fd/0 is /dev/stdin, which the nested VM lacks), and
        // an oversized one is refused the same way.
        let elf = test_elf::with_code(&syscalls_then_exit(1));
        for (input, status) in [(elf.clone(), 0), ([elf, vec![0; 17 << 20]].concat(), 125)] {
            let mut child = Command::new(qvm_bin())
                .args(["run", "--backend", backend.as_str()])
                .args(backend.run_options())
                .args(["--memory", "16M", "/proc/self/fd/0"])
                .stdin(Stdio::piped())
                .stderr(Stdio::piped())
                .spawn()
                .unwrap();
            let mut stdin = child.stdin.take().unwrap();
            let feeder = std::thread::spawn(move || {
                let _ = stdin.write_all(&input); // qvm stops reading past the limit
            });
            let out = child.wait_with_output().unwrap();
            feeder.join().unwrap();
            assert_eq!(out.status.code(), Some(status), "{}", String::from_utf8_lossy(&out.stderr));
        }
    }

    fn translated_code_is_bounded(backend) {
        let Some(bin) = build(C_MUSL, "c/code_bomb.c") else { return };
        // 24 MiB of code that runs once: with QEMU's default 1 GiB code
        // buffer qvm peaked at 1.05 GB on it, filling the buffer; qvm's
        // buffer flushes at 32 MiB (62 MB peak).
        let r = measured(backend, &["--memory", "48M", bin.to_str().unwrap(), "24"]);
        assert_eq!(r.status, 0, "{}", r.stderr);
        assert_eq!(String::from_utf8_lossy(&r.stdout), format!("{} adds ran\n", (24 << 20) / 2));
        assert_bounded("code bomb", &r, 48);
    }

    fn each_output_stream_is_capped_kept_or_streamed(backend) {
        let Some(bin) = build(C_MUSL, "c/output_bomb.c") else { return };
        let bin = bin.to_str().unwrap();
        // The contract checks that each stream took exactly 64 MiB, then
        // ENOSPC: the same whether qvm keeps the bytes or passes them on.
        let streamed = measured(backend, &["--memory", "16M", bin]);
        assert_eq!(streamed.status, 0);
        assert_eq!(streamed.stdout.len(), 64 << 20);
        assert_eq!(streamed.stderr.len(), 64 << 20);
        assert_bounded("output bomb, passed through", &streamed, 16);
        assert!(
            streamed.max_rss_kib < 64 << 10,
            "passing output through keeps none of it: {} KiB",
            streamed.max_rss_kib
        );
        let kept = measured(backend, &["--memory", "16M", "--json", bin]);
        assert_eq!(kept.status, 0, "{}", kept.stderr);
        let v = json(&kept);
        assert_eq!(v["stdout"].as_str().map(str::len), Some(64 << 20));
        assert_bounded("output bomb, --json", &kept, 16);
    }

    fn pass_through_output_appears_as_it_is_written(backend) {
        let contract = raw_contract(PRINT_THEN_SPIN);
        let mut child = Command::new(qvm_bin())
            .args(["run", "--backend", backend.as_str()])
            .args(backend.run_options())
            .args(["--timeout", "20"])
            .arg(&contract)
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        let mut line = String::new();
        BufReader::new(child.stdout.take().unwrap()).read_line(&mut line).unwrap();
        assert_eq!(line, "first\n");
        assert!(child.try_wait().unwrap().is_none(), "the line came while the contract still ran");
        child.kill().unwrap();
        child.wait().unwrap();
    }
}
