//! `qvm check`: static C programs whose functions each hold one class of
//! instruction; the findings, the exit status and the JSON document.
//! (The check reads the file and runs nothing, so it has no backend.)

mod support;

use std::path::Path;
use std::process::Command;

use serde_json::Value;
use support::*;

struct Checked {
    status: i32,
    stdout: String,
    stderr: String,
}

fn check(options: &[&str], bin: &Path) -> Checked {
    let out = Command::new(qvm_bin())
        .arg("check")
        .args(options)
        .arg(bin)
        .output()
        .unwrap();
    Checked {
        status: out.status.code().unwrap_or(-1),
        stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
    }
}

fn json(bin: &Path) -> (i32, Value) {
    let c = check(&["--json"], bin);
    assert!(c.stderr.is_empty(), "{}", c.stderr);
    (c.status, serde_json::from_str(&c.stdout).unwrap())
}

/// The findings in `function`, as (feature, category, rule, fails).
fn findings_in(doc: &Value, function: &str) -> Vec<(String, String, String, bool)> {
    doc["findings"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|f| f["function"] == function)
        .map(|f| {
            (
                f["feature"].as_str().unwrap().to_string(),
                f["category"].as_str().unwrap().to_string(),
                f["rule"].as_str().unwrap().to_string(),
                f["fails"].as_bool().unwrap(),
            )
        })
        .collect()
}

fn one(
    feature: &str,
    category: &str,
    rule: &str,
    fails: bool,
) -> Vec<(String, String, String, bool)> {
    vec![(feature.into(), category.into(), rule.into(), fails)]
}

#[test]
fn each_instruction_class_is_found_where_it_is() {
    let Some(bin) = build(C_GLIBC, "c/check_probes.c") else {
        return;
    };
    let (status, doc) = json(&bin);
    assert_eq!(status, 1, "a hazard fails the check");
    assert_eq!(doc["result"], "fail");
    let cases = [
        ("use_rdrand", one("RDRAND", "hazard", "fail", true)),
        ("use_extrq", one("SSE4a", "hazard", "fail", true)),
        (
            "use_rcpps",
            one("SSE reciprocal approximations", "hazard", "fail", true),
        ),
        (
            "use_fsin",
            one("x87 transcendentals", "hazard", "fail", true),
        ),
        (
            "use_undefined_flag",
            one("undefined flags", "hazard", "fail", true),
        ),
        ("use_avx", one("AVX", "hidden", "warn", false)),
        ("use_bmi2", vec![]),
        ("main", vec![]),
    ];
    for (function, want) in cases {
        assert_eq!(findings_in(&doc, function), want, "{function}");
    }
    let rdrand = doc["findings"]
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["function"] == "use_rdrand")
        .unwrap();
    assert_eq!(rdrand["instruction"], "rdrand eax");
    assert_eq!(rdrand["offset"], 0);
    assert_eq!(rdrand["reach"], "entry");
    assert_eq!(rdrand["sweep_only"], false);
    assert!(rdrand["address"].as_str().unwrap().starts_with("0x"));
    let flags = doc["findings"]
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["function"] == "use_undefined_flag")
        .unwrap();
    assert_eq!(flags["instruction"], "lahf");
    assert!(
        flags["detail"]
            .as_str()
            .unwrap()
            .starts_with("reads AF left undefined"),
        "{flags}"
    );
    assert_eq!(doc["counts"]["fail"], 5);

    let text = check(&[], &bin);
    assert_eq!(text.status, 1);
    for line in [
        "FAIL hazard RDRAND in use_rdrand (reached from the entry point or data):",
        "FAIL hazard SSE4a in use_extrq",
        "FAIL hazard x87 transcendentals in use_fsin",
        "WARN hidden AVX in use_avx",
        "use_rcpps+0x0  rcpps xmm0,xmm1",
        "result: FAIL (5 failing,",
    ] {
        assert!(text.stdout.contains(line), "{line}\n{}", text.stdout);
    }
    assert!(!text.stdout.contains("use_bmi2"), "{}", text.stdout);
}

#[test]
fn hidden_instructions_warn_without_failing() {
    let Some(bin) = build(C_GLIBC, "c/check_warn.c") else {
        return;
    };
    let (status, doc) = json(&bin);
    assert_eq!(status, 0);
    assert_eq!(doc["result"], "pass");
    assert_eq!(
        findings_in(&doc, "use_avx"),
        one("AVX", "hidden", "warn", false)
    );
    assert!(findings_in(&doc, "use_bmi2").is_empty(), "BMI2 is required");
}

#[test]
fn hello_worlds_pass() {
    // (toolchain, whether its libc carries CPUID-guarded code)
    let cases = [(C_GLIBC, true), (C_GLIBC_PIE, true), (C_MUSL, false)];
    for (tc, guarded) in cases {
        let Some(bin) = build(tc, "hello.c") else {
            continue;
        };
        let (status, doc) = json(&bin);
        assert_eq!(status, 0, "{}: {doc}", tc.name);
        assert_eq!(doc["result"], "pass", "{}", tc.name);
        assert_eq!(doc["counts"]["fail"], 0, "{}", tc.name);
        assert_eq!(doc["pie"], tc.name.contains("pie"), "{}", tc.name);
        // glibc's AVX2/AVX-512 string functions are ifunc-selected, its
        // TSX lock elision CPUID-guarded: listed, not failed.
        let n = doc["counts"]["guarded"].as_u64().unwrap();
        assert_eq!(n > 0, guarded, "{}: {n} guarded", tc.name);
        if guarded {
            let memcpy_avx = doc["findings"].as_array().unwrap().iter().any(|f| {
                f["reach"] == "ifunc"
                    && f["function"].as_str().is_some_and(|n| n.contains("avx"))
                    && f["resolver"].is_string()
            });
            assert!(memcpy_avx, "{}", tc.name);
        } else {
            assert_eq!(doc["findings"], serde_json::json!([]), "{}", tc.name);
        }
        let not_seen = &doc["not_seen"];
        assert_eq!(not_seen["runtime_code"]["analyzed"], false);
        for key in [
            "code_bytes",
            "descent_instructions",
            "sweep_instructions",
            "overlapping",
            "indirect_jumps",
            "indirect_calls",
            "undecodable_bytes",
        ] {
            assert!(not_seen[key].is_u64(), "{key}: {not_seen}");
        }
        assert!(not_seen["descent_instructions"].as_u64().unwrap() > 1000);
    }
}

#[test]
fn files_qvm_would_not_run_are_errors() {
    let not_elf = tempfile(b"#!/bin/sh\necho hi\n");
    let cases: [(&Path, &str); 2] = [
        (&not_elf, "not an ELF file"),
        (Path::new("/nonexistent/contract"), "cannot read contract"),
    ];
    for (path, want) in cases {
        for options in [&[][..], &["--json"][..]] {
            let c = check(options, path);
            assert_eq!(c.status, 125, "{path:?}");
            assert!(c.stdout.is_empty());
            assert_eq!(c.stderr.lines().count(), 1, "{}", c.stderr);
            assert!(c.stderr.starts_with("qvm: error: "), "{}", c.stderr);
            assert!(c.stderr.contains(want), "{}", c.stderr);
        }
    }
}

/// The finding in `function` (or without one when `None`) of `feature`.
fn finding<'a>(doc: &'a Value, function: Option<&str>, feature: &str) -> &'a Value {
    doc["findings"]
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["function"].as_str() == function && f["feature"] == feature)
        .unwrap_or_else(|| panic!("no {feature} finding in {function:?}: {doc}"))
}

#[test]
fn code_that_does_not_run_on_qvm_does_not_fail() {
    let Some(bin) = build(C_GLIBC, "c/check_guard.c") else {
        return;
    };
    let (status, doc) = json(&bin);
    assert_eq!(status, 0, "{doc}");
    assert_eq!(doc["result"], "pass");
    assert_eq!(doc["counts"]["fail"], 0);
    // (function, feature, reach, resolver, found)
    let cases = [
        // Selected only by pick's resolver, through variant_fast's call.
        (
            Some("variant_fast_tail"),
            "RDRAND",
            "ifunc",
            Some("resolve_pick"),
            "descent",
        ),
        // glibc: strcasecmp's AVX2/RTM variant falls into the _l form.
        (
            Some("__strcasecmp_l_avx2_rtm"),
            "TSX",
            "ifunc",
            None,
            "descent",
        ),
        (
            Some("__strncasecmp_l_avx2_rtm"),
            "TSX",
            "ifunc",
            None,
            "descent",
        ),
    ];
    for (function, feature, reach, resolver, found) in cases {
        let f = finding(&doc, function, feature);
        assert_eq!(f["reach"], reach, "{f}");
        assert_eq!(f["found"], found, "{f}");
        assert_eq!(f["fails"], false, "{f}");
        if let Some(r) = resolver {
            assert_eq!(f["resolver"], r, "{f}");
        } else {
            assert!(f["resolver"].is_string(), "{f}");
        }
    }
    // The RDRAND nothing points to: found by the sweep, ruled out.
    let swept: Vec<&Value> = doc["findings"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|f| f["found"] == "sweep" && f["feature"] == "RDRAND")
        .collect();
    assert_eq!(swept.len(), 1, "{doc}");
    assert_eq!(swept[0]["instruction"], "rdrand eax");
    assert_eq!(swept[0]["sweep_ruled_out"], true);
    assert_eq!(swept[0]["fails"], false);
    assert_eq!(doc["counts"]["sweep"], 1);
    // CLDEMOTE is a hint NOP: nothing to report.
    assert!(findings_in(&doc, "use_cldemote").is_empty(), "{doc}");

    let text = check(&[], &bin);
    assert_eq!(text.status, 0);
    for line in [
        "hazard RDRAND: 1 instructions in variant_fast_tail",
        "Found only by the linear sweep, in bytes nothing the file holds leads to",
        "hazard RDRAND: 1 instructions (0x",
        "1 found only by the sweep",
        "result: pass (0 failing,",
    ] {
        assert!(text.stdout.contains(line), "{line}\n{}", text.stdout);
    }
}

#[test]
fn a_stripped_file_cannot_rule_out_what_only_the_sweep_finds() {
    let Some(bin) = build(C_GLIBC, "c/check_guard.c") else {
        return;
    };
    let stripped = bin.with_extension("stripped");
    let out = Command::new("strip")
        .arg("-o")
        .arg(&stripped)
        .arg(&bin)
        .output()
        .unwrap();
    assert!(out.status.success(), "{out:?}");
    let (status, doc) = json(&stripped);
    assert_eq!(status, 1, "{doc}");
    assert_eq!(doc["function_symbols"], 0);
    let swept = doc["findings"]
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["found"] == "sweep" && f["feature"] == "RDRAND")
        .unwrap_or_else(|| panic!("{doc}"));
    assert_eq!(swept["sweep_ruled_out"], false);
    assert_eq!(swept["fails"], true);
    let text = check(&[], &stripped);
    assert!(
        text.stdout
            .contains("the file has no function symbols, so it cannot be ruled out"),
        "{}",
        text.stdout
    );
}
