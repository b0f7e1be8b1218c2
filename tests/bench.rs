//! `qvm bench`: a cold call, then warm calls in one process, every warm
//! outcome compared with the cold one.

mod support;

use support::*;

/// `qvm bench` with `backend`'s options and `args`: (status, stdout, stderr).
fn bench(backend: Backend, args: &[&str]) -> (i32, String, String) {
    let mut all = vec!["bench", "--backend", backend.as_str()];
    all.extend_from_slice(backend.run_options());
    all.extend_from_slice(args);
    qvm_command(&all)
}

on_every_backend! {
    fn json_reports_the_calls_and_that_they_agree(backend) {
        let Some(bin) = build(C_GLIBC, "hello.c") else { return };
        let bin = bin.to_str().unwrap();
        let (status, out, err) = bench(backend, &["--calls", "25", "--json", "--trace", bin, "world"]);
        assert_eq!(status, 0, "{err}");
        let doc: serde_json::Value = serde_json::from_str(out.trim()).unwrap();
        assert_eq!(doc["calls"], 25);
        assert_eq!(doc["identical"], true);
        assert_eq!(doc["backend"], backend.as_str());
        for key in ["calls_per_second", "cold_us", "load_us", "cold_call_us"] {
            assert!(doc[key].as_f64().is_some_and(|v| v > 0.0), "{key}: {doc}");
        }
        let l = &doc["latency_us"];
        let (p50, p90, p99) = (l["p50"].as_f64().unwrap(), l["p90"].as_f64().unwrap(), l["p99"].as_f64().unwrap());
        assert!(0.0 < p50 && p50 <= p90 && p90 <= p99, "{l}");
        // Gas: the emulator meters, KVM runs unmetered.
        match backend {
            Backend::Emu => assert!(doc["gas_per_call"].as_u64().is_some_and(|g| g > 0), "{doc}"),
            Backend::Kvm => assert!(doc["gas_per_call"].is_null(), "{doc}"),
        }
        assert!(doc.get("difference").is_none());
        assert_eq!(doc["warm_parts_p50_us"]["engine"], 0.0);
    }

    fn text_names_the_cold_call_the_percentiles_and_the_agreement(backend) {
        let Some(bin) = build(C_GLIBC, "hello.c") else { return };
        let (status, out, err) = bench(backend, &["--calls", "10", bin.to_str().unwrap()]);
        assert_eq!(status, 0, "{err}");
        for line in ["cold call: ", "warm calls: 10 in ", "latency: p50 ", "gas per call: ",
                     "outcomes: all 10 warm calls identical to the cold call"] {
            assert!(out.contains(line), "{line:?} missing from:\n{out}");
        }
        // Not a terminal: no progress bar on stderr.
        assert_eq!(err, "");
    }

    fn no_warm_calls_is_a_cold_call_alone(backend) {
        let Some(bin) = build(C_GLIBC, "hello.c") else { return };
        let (status, out, err) = bench(backend, &["--calls", "0", "--json", bin.to_str().unwrap()]);
        assert_eq!(status, 0, "{err}");
        let doc: serde_json::Value = serde_json::from_str(out.trim()).unwrap();
        assert_eq!(doc["calls"], 0);
        assert!(doc["latency_us"].is_null());
        assert_eq!(doc["identical"], true);
    }

    fn a_contract_that_cannot_load_is_one_error_line(backend) {
        let junk = tempfile(b"not an ELF file");
        let (status, out, err) = bench(backend, &["--calls", "5", junk.to_str().unwrap()]);
        assert_eq!(status, 125);
        assert_eq!(out, "");
        assert_eq!(err.lines().count(), 1, "{err}");
        assert!(err.starts_with("qvm: error: "), "{err}");
    }

    // A contract that fails (exit 42, writes stderr) fails the same way
    // every time: bench still exits 0, since warm agreed with cold.
    fn a_failing_contract_fails_identically_every_call(backend) {
        let Some(bin) = build(C_GLIBC, "c/exit_code.c") else { return };
        let (status, out, err) = bench(backend, &["--calls", "5", "--json", bin.to_str().unwrap()]);
        assert_eq!(status, 0, "{err}");
        let doc: serde_json::Value = serde_json::from_str(out.trim()).unwrap();
        assert_eq!(doc["identical"], true, "{doc}");
    }
}

#[test]
fn a_metered_bench_on_kvm_is_refused() {
    let Some(bin) = build(C_GLIBC, "hello.c") else {
        return;
    };
    let (status, _, err) = qvm_command(&["bench", "--backend", "kvm", bin.to_str().unwrap()]);
    assert_eq!(status, 125);
    assert!(err.contains("cannot meter"), "{err}");
}
