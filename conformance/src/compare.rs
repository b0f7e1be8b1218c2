//! Field-by-field comparison of call outcomes: the first difference, in a
//! fixed field order, with enough context to act on.

use std::fmt;

use qvm_common::call::Outcome;
use qvm_common::kernel::TraceEntry;

/// The first field where two runs differ.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Difference {
    pub field: String,
    pub left: String,
    pub right: String,
}

impl Difference {
    fn new(field: impl Into<String>, left: impl fmt::Debug, right: impl fmt::Debug) -> Self {
        Difference {
            field: field.into(),
            left: format!("{left:?}"),
            right: format!("{right:?}"),
        }
    }
}

/// What a native run produced: a shell's view.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NativeRun {
    /// Exit code, or 128 + signal.
    pub status: i32,
    pub stdout: Vec<u8>,
    pub stderr: Vec<u8>,
}

/// The first differing byte of two outputs, shown as the line around it.
pub fn bytes_difference(field: &str, a: &[u8], b: &[u8]) -> Option<Difference> {
    if a == b {
        return None;
    }
    let at = a
        .iter()
        .zip(b)
        .position(|(x, y)| x != y)
        .unwrap_or(a.len().min(b.len()));
    let line_of = |s: &[u8]| {
        let start = s[..at.min(s.len())]
            .iter()
            .rposition(|&c| c == b'\n')
            .map_or(0, |p| p + 1);
        let end = s[at.min(s.len())..]
            .iter()
            .position(|&c| c == b'\n')
            .map_or(s.len(), |p| at + p);
        String::from_utf8_lossy(&s[start..end.max(start)]).into_owned()
    };
    let line = a[..at.min(a.len())].iter().filter(|&&c| c == b'\n').count() + 1;
    Some(Difference {
        field: format!(
            "{field} (byte {at}, line {line}; {} vs {} bytes)",
            a.len(),
            b.len()
        ),
        left: format!("{:?}", line_of(a)),
        right: format!("{:?}", line_of(b)),
    })
}

macro_rules! check {
    ($name:expr, $a:expr, $b:expr) => {
        if $a != $b {
            return Some(Difference::new($name, &$a, &$b));
        }
    };
}

/// The first difference between two qvm outcomes, ignoring which backend
/// produced them. Fields in order: exit code, signal, fault, kill reason,
/// stdout, stderr, failed, state, syscall count, refused syscalls, memory,
/// then the trace entry by entry.
pub fn outcome_difference(a: &Outcome, b: &Outcome) -> Option<Difference> {
    check!("exit_code", a.exit_code, b.exit_code);
    check!("signal", a.signal, b.signal);
    check!("fault", a.fault, b.fault);
    check!("kill_reason", a.kill_reason, b.kill_reason);
    if let Some(d) = bytes_difference("stdout", &a.stdout, &b.stdout) {
        return Some(d);
    }
    if let Some(d) = bytes_difference("stderr", &a.stderr, &b.stderr) {
        return Some(d);
    }
    check!("failed", a.failed, b.failed);
    check!("state", a.state, b.state);
    check!("syscalls", a.syscalls, b.syscalls);
    check!("refused_syscalls", a.refused, b.refused);
    check!("memory", a.memory, b.memory);
    // Gas wherever both backends meter (KVM does not count instructions).
    if a.gas.instructions.is_some() && b.gas.instructions.is_some() {
        check!("gas", a.gas, b.gas);
    }
    match (&a.trace, &b.trace) {
        (Some(ta), Some(tb)) => {
            if let Some(i) = ta.iter().zip(tb).position(|(x, y)| !same_trace_entry(x, y)) {
                return Some(Difference::new(format!("trace[{i}]"), &ta[i], &tb[i]));
            }
            check!("trace length", ta.len(), tb.len());
            check!("trace_dropped", a.trace_dropped, b.trace_dropped);
        }
        (None, None) => {}
        _ => check!("trace presence", a.trace.is_some(), b.trace.is_some()),
    }
    None
}

/// Two trace entries agree: the same syscall, arguments and result, and the
/// same instruction count where both backends count.
fn same_trace_entry(x: &TraceEntry, y: &TraceEntry) -> bool {
    (x.nr, x.args, x.result) == (y.nr, y.args, y.result)
        && match (x.instructions, y.instructions) {
            (Some(i), Some(j)) => i == j,
            _ => true,
        }
}

/// The first difference between a native run and a qvm outcome: status,
/// stdout, stderr (what a shell can see).
pub fn native_difference(native: &NativeRun, q: &Outcome) -> Option<Difference> {
    check!("status", native.status, q.status());
    if let Some(d) = bytes_difference("stdout", &native.stdout, &q.stdout) {
        return Some(d);
    }
    bytes_difference("stderr", &native.stderr, &q.stderr)
}

#[cfg(test)]
mod tests {
    use super::*;
    use qvm_common::call::MemoryReport;
    use qvm_common::contract::StateChanges;
    use qvm_common::kernel::gas::GasReport;

    fn outcome(stdout: &[u8]) -> Outcome {
        Outcome {
            backend: "emu",
            exit_code: Some(0),
            signal: None,
            fault: None,
            kill_reason: None,
            stdout: stdout.to_vec(),
            stderr: Vec::new(),
            failed: false,
            state: StateChanges::default(),
            syscalls: 3,
            refused: Vec::new(),
            memory: MemoryReport { limit: 1, peak: 1 },
            gas: GasReport {
                limit: None,
                used: Some(1040),
                instructions: Some(40),
            },
            trace: Some(vec![TraceEntry {
                nr: 1,
                name: "write",
                args: [1, 2, 3, 0, 0, 0],
                result: 3,
                instructions: Some(40),
            }]),
            trace_dropped: 0,
        }
    }

    #[test]
    fn equal_outcomes_from_different_backends_agree() {
        let a = outcome(b"x\n");
        let b = Outcome {
            backend: "kvm",
            ..a.clone()
        };
        assert_eq!(outcome_difference(&a, &b), None);
    }

    #[test]
    fn reports_the_first_difference_in_order() {
        let a = outcome(b"one\ntwo\nthree\n");
        let mut b = outcome(b"one\ntwX\nthree\n");
        b.syscalls = 4;
        let d = outcome_difference(&a, &b).unwrap();
        assert_eq!(d.field, "stdout (byte 6, line 2; 14 vs 14 bytes)");
        assert_eq!((d.left.as_str(), d.right.as_str()), ("\"two\"", "\"twX\""));
        let mut c = outcome(b"one\ntwo\nthree\n");
        c.trace.as_mut().unwrap()[0].result = -9;
        assert_eq!(outcome_difference(&a, &c).unwrap().field, "trace[0]");
        c.exit_code = Some(1);
        assert_eq!(outcome_difference(&a, &c).unwrap().field, "exit_code");
    }

    #[test]
    fn gas_is_compared_only_where_both_backends_count() {
        let a = outcome(b"x\n");
        let mut kvm = Outcome {
            backend: "kvm",
            gas: GasReport {
                limit: None,
                used: None,
                instructions: None,
            },
            ..a.clone()
        };
        kvm.trace.as_mut().unwrap()[0].instructions = None;
        assert_eq!(outcome_difference(&a, &kvm), None);
        let mut b = a.clone();
        b.gas.instructions = Some(41);
        assert_eq!(outcome_difference(&a, &b).unwrap().field, "gas");
        let mut c = a.clone();
        c.trace.as_mut().unwrap()[0].instructions = Some(39);
        assert_eq!(outcome_difference(&a, &c).unwrap().field, "trace[0]");
    }

    #[test]
    fn native_comparison_uses_the_shell_view() {
        let q = outcome(b"hi\n");
        let n = NativeRun {
            status: 0,
            stdout: b"hi\n".to_vec(),
            stderr: Vec::new(),
        };
        assert_eq!(native_difference(&n, &q), None);
        let n = NativeRun { status: 139, ..n };
        assert_eq!(native_difference(&n, &q).unwrap().field, "status");
        let n = NativeRun {
            status: 0,
            stdout: b"hi".to_vec(),
            stderr: Vec::new(),
        };
        assert!(native_difference(&n, &q)
            .unwrap()
            .field
            .starts_with("stdout (byte 2"));
    }
}
