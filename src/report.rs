//! The `--json` outcome document. Its schema is documented in
//! `docs/outcome-json.md`; field order is fixed, so the same outcome always
//! prints the same bytes.

use qvm_common::call::{FaultReport, MemoryReport, Outcome, RefusedSyscall};
use qvm_common::contract::StateChanges;
use qvm_common::kernel::gas::GasReport;
use qvm_common::kernel::TraceEntry;
use serde::Serialize;

/// Version of the document's schema.
pub const SCHEMA_VERSION: u32 = 3;

#[derive(Serialize)]
struct Document<'a> {
    schema: u32,
    backend: &'static str,
    status: i32,
    exit_code: Option<i32>,
    signal: Option<i32>,
    signal_name: Option<&'static str>,
    fault: Option<&'a FaultReport>,
    kill_reason: Option<&'a str>,
    failed: bool,
    stdout: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    stdout_base64: Option<Base64<'a>>,
    stderr: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    stderr_base64: Option<Base64<'a>>,
    state: &'a StateChanges,
    syscalls: u64,
    refused_syscalls: &'a [RefusedSyscall],
    memory: MemoryReport,
    gas: GasReport,
    #[serde(skip_serializing_if = "Option::is_none")]
    trace: Option<&'a [TraceEntry]>,
    /// Syscalls after the trace's first MAX_ENTRIES, counted only.
    #[serde(skip_serializing_if = "is_zero")]
    trace_dropped: u64,
}

fn is_zero(n: &u64) -> bool {
    *n == 0
}

/// Bytes serialized as base64 text, encoded straight into the output.
struct Base64<'a>(&'a [u8]);

impl Serialize for Base64<'_> {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(&base64::display::Base64Display::new(
            self.0,
            &base64::engine::general_purpose::STANDARD,
        ))
    }
}

/// Text when the bytes are UTF-8, else base64; borrowed, not copied.
fn bytes_field(bytes: &[u8]) -> (Option<&str>, Option<Base64<'_>>) {
    match std::str::from_utf8(bytes) {
        Ok(s) => (Some(s), None),
        Err(_) => (None, Some(Base64(bytes))),
    }
}

/// Writes an outcome as a pretty-printed JSON document to `out`, without
/// building it in memory first: a contract's 64 MiB of NUL bytes is
/// 384 MiB of JSON.
pub fn write_json(outcome: &Outcome, out: impl std::io::Write) -> std::io::Result<()> {
    let (stdout, stdout_base64) = bytes_field(&outcome.stdout);
    let (stderr, stderr_base64) = bytes_field(&outcome.stderr);
    let doc = Document {
        schema: SCHEMA_VERSION,
        backend: outcome.backend,
        status: outcome.status(),
        exit_code: outcome.exit_code,
        signal: outcome.signal,
        signal_name: outcome.signal_name(),
        fault: outcome.fault.as_ref(),
        kill_reason: outcome.kill_reason.as_deref(),
        failed: outcome.failed,
        stdout,
        stdout_base64,
        stderr,
        stderr_base64,
        state: &outcome.state,
        syscalls: outcome.syscalls,
        refused_syscalls: &outcome.refused,
        memory: outcome.memory,
        gas: outcome.gas,
        trace: outcome.trace.as_deref(),
        trace_dropped: outcome.trace_dropped,
    };
    serde_json::to_writer_pretty(out, &doc).map_err(std::io::Error::from)
}

/// Renders an outcome as a pretty-printed JSON document.
pub fn to_json(outcome: &Outcome) -> String {
    let mut bytes = Vec::new();
    // Serializing plain data with string keys into memory cannot fail.
    match write_json(outcome, &mut bytes) {
        Ok(()) => String::from_utf8(bytes).unwrap_or_default(),
        Err(e) => format!("{{\"error\": \"{e}\"}}"),
    }
}
