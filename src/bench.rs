//! `qvm bench`: one cold call, then warm calls of the same contract in one
//! runtime, timed; every warm outcome is compared with the cold one.

use std::time::{Duration, Instant};

use qvm_common::call::{Call, Outcome, ProgramImage};
use serde::Serialize;

use crate::backend::RunError;
use crate::runtime::{CallTiming, Runtime, RuntimeOptions};

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
    /// Where the cold call's time went.
    pub cold_parts: CallTiming,
    /// Where each warm call's time went.
    pub warm_parts: Vec<CallTiming>,
}

/// A call's parts in microseconds (the medians, for warm calls).
#[derive(Clone, Copy, Debug, Serialize)]
pub struct Parts {
    pub engine: f64,
    pub start: f64,
    pub prepare: f64,
    pub run: f64,
    pub restore: f64,
}

impl Parts {
    fn of(t: &CallTiming) -> Self {
        Parts {
            engine: micros(t.engine),
            start: micros(t.start),
            prepare: micros(t.prepare),
            run: micros(t.run),
            restore: micros(t.restore),
        }
    }
}

/// The median of `values` (the lower one of an even count).
fn median(mut values: Vec<Duration>) -> Duration {
    values.sort();
    values
        .get(values.len().saturating_sub(1) / 2)
        .copied()
        .unwrap_or_default()
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
    cold_parts_us: Parts,
    warm_parts_p50_us: Option<Parts>,
    warm_p50_over_cold_run: Option<f64>,
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
        if self.warm.is_empty() {
            return None;
        }
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

    /// The median of each part of the warm calls.
    pub fn warm_parts(&self) -> Option<Parts> {
        if self.warm_parts.is_empty() {
            return None;
        }
        let part = |f: fn(&CallTiming) -> Duration| -> Duration {
            median(self.warm_parts.iter().map(f).collect())
        };
        Some(Parts::of(&CallTiming {
            engine: part(|t| t.engine),
            start: part(|t| t.start),
            prepare: part(|t| t.prepare),
            run: part(|t| t.run),
            restore: part(|t| t.restore),
        }))
    }

    /// A warm call's median latency over the cold call's run part (its
    /// guest code, translation included, and syscalls): issue 13's
    /// "within 1.5x of its cold run's execution part".
    pub fn warm_over_cold_run(&self) -> Option<f64> {
        let cold_run = micros(self.cold_parts.run);
        let p50 = self.latency()?.p50;
        (cold_run > 0.0).then(|| p50 / cold_run)
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
            cold_parts_us: Parts::of(&self.cold_parts),
            warm_parts_p50_us: self.warm_parts(),
            warm_p50_over_cold_run: self.warm_over_cold_run(),
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
        let c = Parts::of(&self.cold_parts);
        out.push_str(&format!(
            "  first call: engine {:.1} us, start {:.1} us, prepare {:.1} us, run {:.1} us, restore {:.1} us\n",
            c.engine, c.start, c.prepare, c.run, c.restore
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
                if let Some(w) = self.warm_parts() {
                    out.push_str(&format!(
                        "  warm call medians: start {:.1} us, prepare {:.1} us, run {:.1} us, restore {:.1} us\n",
                        w.start, w.prepare, w.run, w.restore
                    ));
                }
                if let Some(r) = self.warm_over_cold_run() {
                    out.push_str(&format!("  warm p50 / cold call's run part: {r:.2}\n"));
                }
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
    let cold_parts = runtime.last_timing();
    let mut report = BenchReport {
        backend: cold_outcome.backend,
        load,
        cold_call,
        warm: Vec::with_capacity(usize::try_from(calls).unwrap_or(0).min(1 << 20)),
        gas_per_call: cold_outcome.gas.used,
        difference: None,
        cold_outcome,
        cold_parts,
        warm_parts: Vec::new(),
    };
    for i in 1..=calls {
        let started = Instant::now();
        let outcome = runtime.call(&contract, call)?;
        report.warm.push(started.elapsed());
        report.warm_parts.push(runtime.last_timing());
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
            cold_parts: CallTiming::default(),
            warm_parts: Vec::new(),
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
