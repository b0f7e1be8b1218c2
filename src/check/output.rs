//! `qvm check`'s two outputs: a text report grouped by function, and one
//! JSON document (schema in `docs/check-json.md`).

use std::collections::BTreeMap;

use qvm_common::cpu_profile::{feature, CheckRule};
use serde::Serialize;

use super::{Blind, Finding, Found, Reach, Report};

/// Instructions shown per group before the rest are counted.
const SHOWN: usize = 4;
/// Functions named per ifunc or note summary line.
const NAMED: usize = 6;

fn location(f: &Finding) -> String {
    match &f.function {
        Some(name) => format!("{name}+{:#x}", f.offset),
        None => "(no symbol)".into(),
    }
}

fn verdict(f: &Finding) -> &'static str {
    if f.fails() {
        "FAIL"
    } else {
        match f.rule() {
            CheckRule::Warn => "WARN",
            _ => "NOTE",
        }
    }
}

fn reach_text(r: Reach) -> &'static str {
    match r {
        Reach::Entry => "reached from the entry point or data",
        Reach::Ifunc => "selected only by an ifunc resolver",
        Reach::Guarded => "a glibc function called only after a CPUID test",
        Reach::Unreferenced => "not referenced by anything the file shows",
        Reach::Unknown => "no symbol",
    }
}

/// Functions of `findings`, named, with "and N more".
fn function_list(findings: &[&Finding]) -> String {
    let mut names: Vec<&str> = findings
        .iter()
        .map(|f| f.function.as_deref().unwrap_or("(no symbol)"))
        .collect();
    names.dedup();
    let mut unique: Vec<&str> = Vec::new();
    for n in names {
        if !unique.contains(&n) {
            unique.push(n);
        }
    }
    let more = unique.len().saturating_sub(NAMED);
    let mut text = unique
        .iter()
        .take(NAMED)
        .copied()
        .collect::<Vec<_>>()
        .join(", ");
    if more > 0 {
        text.push_str(&format!(" and {more} more"));
    }
    text
}

/// What the decoding could not see, one line each.
fn blind_lines(r: &Report) -> Vec<String> {
    let b = &r.blind;
    let mut out = vec![format!(
        "code generated at run time is not analyzed; {}",
        match (r.writable_code, r.exec_stack) {
            (false, false) => "this file has no writable code segment and no executable stack (a contract can still map code with mmap/mprotect)".to_string(),
            (w, s) => format!(
                "this file has{}{}",
                if w { " a writable code segment" } else { "" },
                if s { if w { " and an executable stack" } else { " an executable stack" } } else { "" }
            ),
        }
    )];
    out.push(format!(
        "{} indirect jumps and {} indirect calls whose targets were not followed",
        b.indirect_jumps, b.indirect_calls
    ));
    out.push(format!(
        "{} of {} instructions found only from numbers the file holds that fall in code (code reached through computed pointers, if it is code)",
        b.pointer_instructions,
        b.descent_instructions + b.pointer_instructions + b.sweep_instructions
    ));
    out.push(format!(
        "{} instructions found only by the linear sweep (nothing the file holds leads there: data that decodes, padding, or code reached through addresses computed at run time)",
        b.sweep_instructions,
    ));
    out.push(format!(
        "{} jumps into the middle of another instruction (overlapping decodings)",
        b.overlapping
    ));
    out.push(format!(
        "{} undecodable bytes in {} bytes of code; descent reached invalid bytes {} times; {} branch targets outside the code",
        b.undecodable_bytes, b.code_bytes, b.invalid_at_reached, b.targets_outside
    ));
    if b.data_bytes_in_code_segments > 0 {
        out.push(format!(
            "{} bytes of executable segments are data by the section headers (.rodata, .eh_frame) and were not decoded",
            b.data_bytes_in_code_segments
        ));
    }
    out
}

/// The text report.
pub fn text(r: &Report, name: &str) -> String {
    let mut out = format!(
        "qvm check {name}: {}, entry {:#x}, {} function symbols\n",
        if r.pie { "static-pie" } else { "static" },
        r.entry,
        r.functions
    );
    // Findings that fail or warn and are not ifunc-selected, by feature
    // and function.
    let mut groups: BTreeMap<(&str, &str, Option<&str>), Vec<&Finding>> = BTreeMap::new();
    let mut ifunc: BTreeMap<&str, Vec<&Finding>> = BTreeMap::new();
    let mut notes: BTreeMap<&str, Vec<&Finding>> = BTreeMap::new();
    let mut swept: BTreeMap<&str, Vec<&Finding>> = BTreeMap::new();
    for f in &r.findings {
        let name = feature(f.feature).name;
        if f.rule() == CheckRule::Note {
            notes.entry(name).or_default().push(f);
        } else if f.sweep_ruled_out {
            swept.entry(name).or_default().push(f);
        } else if f.guarded() {
            ifunc.entry(name).or_default().push(f);
        } else {
            groups
                .entry((verdict(f), name, f.function.as_deref()))
                .or_default()
                .push(f);
        }
    }
    if groups.is_empty() {
        out.push_str("\nno instruction outside the baseline and required lists is reachable\n");
    }
    for ((verdict, name, _), list) in &groups {
        let first = list[0];
        let row = feature(first.feature);
        out.push_str(&format!(
            "\n{verdict} {} {name} in {} ({}{}):\n",
            row.category.name(),
            first.function.as_deref().unwrap_or("code without a symbol"),
            reach_text(first.reach),
            if first.sweep_only {
                ", found only by the sweep; the file has no function symbols, so it cannot be ruled out"
            } else {
                ""
            }
        ));
        for f in list.iter().take(SHOWN) {
            out.push_str(&format!(
                "  {:#x}  {}  {}{}\n",
                f.address,
                location(f),
                f.instruction,
                f.detail
                    .as_deref()
                    .map(|d| format!("  ({d})"))
                    .unwrap_or_default()
            ));
        }
        if list.len() > SHOWN {
            out.push_str(&format!("  ... and {} more\n", list.len() - SHOWN));
        }
        out.push_str(&format!("  why: {}\n", row.reason));
    }
    if !ifunc.is_empty() {
        out.push_str(
            "\nSelected only by ifunc resolvers, or glibc functions it calls only after a CPUID\n\
             test; qvm's CPUID hides these features, so they do not run (they do not fail the check):\n",
        );
        for (name, list) in &ifunc {
            let row = feature(list[0].feature);
            out.push_str(&format!(
                "  {} {name}: {} instructions in {}\n",
                row.category.name(),
                list.len(),
                function_list(list)
            ));
        }
    }
    if !swept.is_empty() {
        out.push_str(
            "\nFound only by the linear sweep, in bytes nothing the file holds leads to: descent\n\
             started at every function symbol and at every number in the file that falls in code,\n\
             and none reached them. Data in the code (GHC's info tables), padding, or code reached\n\
             only through addresses computed at run time (they do not fail the check):\n",
        );
        for (name, list) in &swept {
            let row = feature(list[0].feature);
            let at: Vec<String> = list
                .iter()
                .take(SHOWN)
                .map(|f| format!("{:#x} {}", f.address, f.instruction))
                .collect();
            out.push_str(&format!(
                "  {} {name}: {} instructions ({}{})\n",
                row.category.name(),
                list.len(),
                at.join(", "),
                if list.len() > SHOWN { ", ..." } else { "" }
            ));
        }
    }
    if !notes.is_empty() {
        out.push_str("\nNotes (listed, not failed):\n");
        for (name, list) in &notes {
            out.push_str(&format!(
                "  {name}: {} instructions in {}; {}\n",
                list.len(),
                function_list(list),
                feature(list[0].feature).reason
            ));
        }
    }
    out.push_str("\nNot seen:\n");
    for line in blind_lines(r) {
        out.push_str(&format!("  {line}\n"));
    }
    let count = |v: &str| {
        r.findings
            .iter()
            .filter(|f| !f.guarded() && !f.sweep_ruled_out && verdict(f) == v)
            .count()
    };
    out.push_str(&format!(
        "\nresult: {} ({} failing, {} warnings, {} CPUID-guarded, {} found only by the sweep, {} notes)\n",
        if r.status() == 0 { "pass" } else { "FAIL" },
        count("FAIL"),
        count("WARN"),
        r.findings
            .iter()
            .filter(|f| f.guarded() && !f.sweep_ruled_out && f.rule() != CheckRule::Note)
            .count(),
        r.findings
            .iter()
            .filter(|f| f.sweep_ruled_out && f.rule() != CheckRule::Note)
            .count(),
        r.findings
            .iter()
            .filter(|f| f.rule() == CheckRule::Note)
            .count(),
    ));
    out
}

#[derive(Serialize)]
struct JsonFinding<'a> {
    address: String,
    function: Option<&'a str>,
    offset: u64,
    instruction: &'a str,
    feature: &'static str,
    category: &'static str,
    rule: &'static str,
    fails: bool,
    reach: Reach,
    resolver: Option<&'a str>,
    found: Found,
    sweep_only: bool,
    sweep_ruled_out: bool,
    detail: Option<&'a str>,
}

#[derive(Serialize)]
struct Counts {
    fail: usize,
    warn: usize,
    note: usize,
    guarded: usize,
    sweep: usize,
}

#[derive(Serialize)]
struct RuntimeCode {
    analyzed: bool,
    writable_code_segment: bool,
    executable_stack: bool,
}

#[derive(Serialize)]
struct NotSeen<'a> {
    runtime_code: RuntimeCode,
    #[serde(flatten)]
    blind: &'a Blind,
}

#[derive(Serialize)]
struct Document<'a> {
    schema: u32,
    result: &'static str,
    pie: bool,
    entry: String,
    function_symbols: usize,
    counts: Counts,
    findings: Vec<JsonFinding<'a>>,
    not_seen: NotSeen<'a>,
}

/// The JSON document.
pub fn json(r: &Report) -> String {
    let findings: Vec<JsonFinding> = r
        .findings
        .iter()
        .map(|f| {
            let row = feature(f.feature);
            JsonFinding {
                address: format!("{:#x}", f.address),
                function: f.function.as_deref(),
                offset: f.offset,
                instruction: &f.instruction,
                feature: row.name,
                category: row.category.name(),
                rule: row.check.name(),
                fails: f.fails(),
                reach: f.reach,
                resolver: f.resolver.as_deref(),
                found: f.found,
                sweep_only: f.sweep_only,
                sweep_ruled_out: f.sweep_ruled_out,
                detail: f.detail.as_deref(),
            }
        })
        .collect();
    let ifunc =
        |f: &&JsonFinding| matches!(f.reach, Reach::Ifunc | Reach::Guarded) && !f.sweep_ruled_out;
    let counts = Counts {
        fail: findings.iter().filter(|f| f.fails).count(),
        warn: findings
            .iter()
            .filter(|f| f.rule == "warn" && !ifunc(f) && !f.sweep_ruled_out)
            .count(),
        note: findings.iter().filter(|f| f.rule == "note").count(),
        guarded: findings
            .iter()
            .filter(|f| ifunc(f) && f.rule != "note")
            .count(),
        sweep: findings
            .iter()
            .filter(|f| f.sweep_ruled_out && f.rule != "note")
            .count(),
    };
    let doc = Document {
        schema: 1,
        result: if r.status() == 0 { "pass" } else { "fail" },
        pie: r.pie,
        entry: format!("{:#x}", r.entry),
        function_symbols: r.functions,
        counts,
        findings,
        not_seen: NotSeen {
            runtime_code: RuntimeCode {
                analyzed: false,
                writable_code_segment: r.writable_code,
                executable_stack: r.exec_stack,
            },
            blind: &r.blind,
        },
    };
    serde_json::to_string_pretty(&doc).unwrap_or_else(|e| format!("{{\"error\": \"{e}\"}}"))
}
