//! `qvm bench`: one cold call, then warm calls of the same contract in one
//! runtime, timed; every warm outcome is compared with the cold one.

use std::time::{Duration, Instant};

use qvm_common::call::{Call, Outcome, ProgramImage};
use serde::Serialize;

use crate::backend::RunError;
use crate::runtime::{Runtime, RuntimeOptions};

/// What a benchmark measured.
#[derive(Clone, Debug)]
pub struct BenchReport {
    /// The backend that ran the calls.
    pub backend: &'static str,
    /// Loading the contract (parse, check, build and seal its image).
    pub load: Duration,
    /// The first call, cold: on an engine that translated nothing yet.
    pub cold_call: Duration,
    /// Each warm call, in order (those that ran).
    pub warm: Vec<Duration>,
    /// Gas of the cold call (None unmetered).
    pub gas_per_call: Option<u64>,
    /// The first warm call whose outcome differs from the cold one.
    pub difference: Option<WarmDifference>,
    /// The cold call's outcome.
    pub cold_outcome: Outcome,
}

/// A warm call that did not give the cold call's outcome.
#[derive(Clone, Debug, Serialize)]
pub struct WarmDifference {
    /// 1 for the first warm call.
    pub call: u64,
    pub field: String,
    pub cold: String,
    pub warm: String,
}

/// Latency percentiles in microseconds.
#[derive(Clone, Copy, Debug, Serialize)]
pub struct Latency {
    pub p50: f64,
    pub p90: f64,
    pub p99: f64,
    pub min: f64,
    pub max: f64,
    pub mean: f64,
}

/// The `--json` document (docs/bench-json.md).
#[derive(Serialize)]
struct BenchJson<'a> {
    backend: &'a str,
    calls: u64,
    calls_per_second: f64,
    load_us: f64,
    cold_call_us: f64,
    cold_us: f64,
    latency_us: Option<Latency>,
    gas_per_call: Option<u64>,
    identical: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    difference: Option<&'a WarmDifference>,
}

fn micros(d: Duration) -> f64 {
    d.as_secs_f64() * 1e6
}

impl BenchReport {
    /// The cold call as a node would pay it: loading and the first call.
    pub fn cold(&self) -> Duration {
        self.load + self.cold_call
    }

    /// Warm calls per second of wall-clock time.
    pub fn calls_per_second(&self) -> f64 {
        let total: Duration = self.warm.iter().sum();
        if total.is_zero() {
            0.0
        } else {
            self.warm.len() as f64 / total.as_secs_f64()
        }
    }

    /// Percentiles of the warm calls (nearest rank); None without any.
    pub fn latency(&self) -> Option<Latency> {
        let mut sorted = self.warm.clone();
        sorted.sort();
        let n = sorted.len();
        let at = |p: f64| -> f64 {
            let rank = ((p * n as f64).ceil() as usize).clamp(1, n);
            sorted.get(rank - 1).copied().map_or(0.0, micros)
        };
        let total: Duration = sorted.iter().sum();
        Some(Latency {
            p50: at(0.50),
            p90: at(0.90),
            p99: at(0.99),
            min: micros(*sorted.first()?),
            max: micros(*sorted.last()?),
            mean: micros(total) / n as f64,
        })
    }

    /// The `--json` document, one line.
    pub fn json(&self) -> String {
        let doc = BenchJson {
            backend: self.backend,
            calls: self.warm.len() as u64,
            calls_per_second: self.calls_per_second(),
            load_us: micros(self.load),
            cold_call_us: micros(self.cold_call),
            cold_us: micros(self.cold()),
            latency_us: self.latency(),
            gas_per_call: self.gas_per_call,
            identical: self.difference.is_none(),
            difference: self.difference.as_ref(),
        };
        serde_json::to_string(&doc).unwrap_or_else(|e| format!("{{\"error\":\"{e}\"}}"))
    }

    /// The text report.
    pub fn text(&self) -> String {
        let mut out = String::new();
        let ms = |d: Duration| d.as_secs_f64() * 1e3;
        out.push_str(&format!(
            "cold call: {:.2} ms (load {:.2} ms, first call {:.2} ms), backend {}\n",
            ms(self.cold()),
            ms(self.load),
            ms(self.cold_call),
            self.backend
        ));
        match self.latency() {
            Some(l) => {
                let total: Duration = self.warm.iter().sum();
                out.push_str(&format!(
                    "warm calls: {} in {:.3} s, {:.0} calls/s\n",
                    self.warm.len(),
                    total.as_secs_f64(),
                    self.calls_per_second()
                ));
                out.push_str(&format!(
                    "latency: p50 {:.1} us, p90 {:.1} us, p99 {:.1} us (min {:.1}, max {:.1}, mean {:.1})\n",
                    l.p50, l.p90, l.p99, l.min, l.max, l.mean
                ));
            }
            None => out.push_str("warm calls: none\n"),
        }
        match self.gas_per_call {
            Some(g) => out.push_str(&format!("gas per call: {g}\n")),
            None => out.push_str("gas per call: not metered\n"),
        }
        match &self.difference {
            None if self.warm.is_empty() => {}
            None => out.push_str(&format!(
                "outcomes: all {} warm calls identical to the cold call\n",
                self.warm.len()
            )),
            Some(d) => out.push_str(&format!(
                "outcomes: warm call {} differs from the cold call in {}:\n  cold: {}\n  warm: {}\n",
                d.call, d.field, d.cold, d.warm
            )),
        }
        out
    }
}

/// The first difference between two outcomes of the same call, field by
/// field (trace and gas included).
pub fn difference(cold: &Outcome, warm: &Outcome) -> Option<(String, String, String)> {
    if let Some(d) = qvm_conformance::compare::outcome_difference(cold, warm) {
        return Some((d.field, d.left, d.right));
    }
    // What outcome_difference leaves to the backends' comparison.
    let fields: [(&str, String, String); 3] = [
        ("backend", cold.backend.into(), warm.backend.into()),
        ("gas", format!("{:?}", cold.gas), format!("{:?}", warm.gas)),
        (
            "trace_dropped",
            cold.trace_dropped.to_string(),
            warm.trace_dropped.to_string(),
        ),
    ];
    let found = fields.into_iter().find(|(_, a, b)| a != b);
    match found {
        Some((f, a, b)) => Some((f.to_string(), a, b)),
        None if cold != warm => Some(("outcome".into(), format!("{cold:?}"), format!("{warm:?}"))),
        None => None,
    }
}

/// Loads `program`, runs `call` cold and then `calls` times warm, stopping
/// at the first warm outcome that differs from the cold one. `progress`
/// hears after each warm call how many ran.
pub fn bench(
    options: RuntimeOptions,
    name: &str,
    program: ProgramImage,
    call: &Call,
    calls: u64,
    progress: &mut dyn FnMut(u64),
) -> Result<BenchReport, RunError> {
    let mut runtime = Runtime::new(options);
    let started = Instant::now();
    let contract = runtime.load(name, program)?;
    let load = started.elapsed();
    let started = Instant::now();
    let cold_outcome = runtime.call(&contract, call)?;
    let cold_call = started.elapsed();
    let mut report = BenchReport {
        backend: cold_outcome.backend,
        load,
        cold_call,
        warm: Vec::with_capacity(usize::try_from(calls).unwrap_or(0).min(1 << 20)),
        gas_per_call: cold_outcome.gas.used,
        difference: None,
        cold_outcome,
    };
    for i in 1..=calls {
        let started = Instant::now();
        let outcome = runtime.call(&contract, call)?;
        report.warm.push(started.elapsed());
        progress(i);
        if let Some((field, cold, warm)) = difference(&report.cold_outcome, &outcome) {
            report.difference = Some(WarmDifference {
                call: i,
                field,
                cold,
                warm,
            });
            break;
        }
    }
    Ok(report)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn report(warm_us: &[u64]) -> BenchReport {
        BenchReport {
            backend: "emu",
            load: Duration::from_micros(100),
            cold_call: Duration::from_micros(900),
            warm: warm_us.iter().map(|&u| Duration::from_micros(u)).collect(),
            gas_per_call: Some(7),
            difference: None,
            cold_outcome: Outcome {
                backend: "emu",
                exit_code: Some(0),
                signal: None,
                fault: None,
                kill_reason: None,
                stdout: Vec::new(),
                stderr: Vec::new(),
                failed: false,
                state: Default::default(),
                syscalls: 0,
                refused: Vec::new(),
                memory: qvm_common::call::MemoryReport { limit: 0, peak: 0 },
                gas: Default::default(),
                trace: None,
                trace_dropped: 0,
            },
        }
    }

    #[test]
    fn percentiles_are_nearest_rank() {
        let r = report(&(1..=100).rev().collect::<Vec<_>>());
        let l = r.latency().unwrap();
        assert_eq!(
            (l.p50, l.p90, l.p99, l.min, l.max),
            (50.0, 90.0, 99.0, 1.0, 100.0)
        );
        assert!((l.mean - 50.5).abs() < 1e-9);
        assert_eq!(r.cold(), Duration::from_micros(1000));
        assert!((r.calls_per_second() - 100.0 / 0.00505).abs() < 1e-6);
        let one = report(&[42]).latency().unwrap();
        assert_eq!((one.p50, one.p99), (42.0, 42.0));
        assert!(report(&[]).latency().is_none());
    }

    #[test]
    fn json_has_the_documented_fields() {
        let doc: serde_json::Value = serde_json::from_str(&report(&[10, 20]).json()).unwrap();
        for key in [
            "calls",
            "calls_per_second",
            "cold_us",
            "latency_us",
            "gas_per_call",
            "identical",
        ] {
            assert!(doc.get(key).is_some(), "{key} missing: {doc}");
        }
        assert_eq!(doc["calls"], 2);
        assert_eq!(doc["identical"], true);
        assert_eq!(doc["latency_us"]["p50"], 10.0);
    }
}
