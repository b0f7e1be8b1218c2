//! Comparing a qvm call's instruction count with the native count: the
//! whole run, and every stretch between two consecutive syscalls (from the
//! start to the first, and from the last to the end), so a difference is
//! pinned to the code between two named syscalls.

use qvm_common::call::Outcome;
use qvm_common::kernel::table;

use super::{NativeCount, SyscallCount};

/// The verdict of a comparison.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Verdict {
    /// Every stretch and the total agree.
    Equal { instructions: u64 },
    /// The qvm call was not metered (no `gas.instructions`, or trace
    /// entries without `instructions`): nothing to compare.
    NotMetered,
    /// The qvm call has no syscall trace (run it with `spec.trace`).
    NoTrace,
    /// The first difference.
    Differs(Difference),
}

/// Where the counts first differ.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Difference {
    /// Syscall `index` (0-based) is another syscall.
    Syscall { index: usize, qvm: u64, native: u64 },
    /// The stretch ending at syscall `index` (or at the end of the run,
    /// `index` = the number of syscalls) has other counts.
    Stretch {
        /// Name of the syscall that starts the stretch (None: the start).
        from: Option<&'static str>,
        /// Name of the syscall that ends it (None: the end of the run).
        to: Option<&'static str>,
        index: usize,
        qvm: u64,
        native: u64,
    },
    /// One side made more syscalls than the other; `extra` names the
    /// first syscall the other side did not make.
    SyscallCount {
        qvm: usize,
        native: usize,
        extra: &'static str,
    },
    /// The totals differ although every stretch agrees (cannot happen with
    /// consistent inputs; reported rather than assumed).
    Total { qvm: u64, native: u64 },
}

impl std::fmt::Display for Difference {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Difference::Syscall { index, qvm, native } => write!(
                f,
                "syscall #{} is {} under qvm but {} natively",
                index + 1,
                table::name(*qvm),
                table::name(*native)
            ),
            Difference::Stretch {
                from,
                to,
                index,
                qvm,
                native,
            } => {
                let from = from.map_or("the start".to_string(), |n| format!("{n} (#{index})"));
                let to = to.map_or("the end".to_string(), |n| format!("{n} (#{})", index + 1));
                let delta = *qvm as i128 - *native as i128;
                write!(
                    f,
                    "instructions from {from} to {to}: qvm {qvm}, native {native} ({delta:+})"
                )
            }
            Difference::SyscallCount { qvm, native, extra } => write!(
                f,
                "qvm made {qvm} syscalls, native {native} (the first extra one: {extra})"
            ),
            Difference::Total { qvm, native } => {
                write!(f, "total instructions: qvm {qvm}, native {native}")
            }
        }
    }
}

impl std::fmt::Display for Verdict {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Verdict::Equal { instructions } => write!(f, "instructions: equal ({instructions})"),
            Verdict::NotMetered => write!(f, "instructions: not metered: skipped"),
            Verdict::NoTrace => write!(f, "instructions: no syscall trace"),
            Verdict::Differs(d) => write!(f, "instructions: {d}"),
        }
    }
}

/// Compares a qvm outcome (with its trace) with a native count.
pub fn compare(outcome: &Outcome, native: &NativeCount) -> Verdict {
    let Some(total) = outcome.gas.instructions else {
        return Verdict::NotMetered;
    };
    let Some(trace) = outcome.trace.as_deref() else {
        return Verdict::NoTrace;
    };
    let qvm: Option<Vec<SyscallCount>> = trace
        .iter()
        .map(|e| {
            e.instructions.map(|instructions| SyscallCount {
                nr: e.nr,
                instructions,
                result: e.result,
            })
        })
        .collect();
    let Some(qvm) = qvm else {
        return Verdict::NotMetered;
    };
    // qvm runs signal handlers as Linux does: the whole runs compare.
    match compare_counts(&qvm, total, &native.syscalls, native.instructions) {
        None => Verdict::Equal {
            instructions: total,
        },
        Some(d) => Verdict::Differs(d),
    }
}

/// The first difference between two runs given as their syscalls (each
/// with the count at its return) and totals.
pub fn compare_counts(
    qvm: &[SyscallCount],
    qvm_total: u64,
    native: &[SyscallCount],
    native_total: u64,
) -> Option<Difference> {
    let mut before = (0u64, 0u64);
    let mut from = None;
    for (index, (q, n)) in qvm.iter().zip(native).enumerate() {
        // A stretch ends at the syscall: compare it before the syscall's
        // identity, as the code before decided which syscall to make.
        let stretch = (
            q.instructions.wrapping_sub(before.0),
            n.instructions.wrapping_sub(before.1),
        );
        if stretch.0 != stretch.1 {
            return Some(Difference::Stretch {
                from,
                to: Some(table::name(q.nr)),
                index,
                qvm: stretch.0,
                native: stretch.1,
            });
        }
        if q.nr != n.nr {
            return Some(Difference::Syscall {
                index,
                qvm: q.nr,
                native: n.nr,
            });
        }
        before = (q.instructions, n.instructions);
        from = Some(table::name(q.nr));
    }
    if qvm.len() != native.len() {
        let common = qvm.len().min(native.len());
        let extra = qvm
            .get(common)
            .or(native.get(common))
            .map_or("?", |s| table::name(s.nr));
        return Some(Difference::SyscallCount {
            qvm: qvm.len(),
            native: native.len(),
            extra,
        });
    }
    let last = (
        qvm_total.wrapping_sub(before.0),
        native_total.wrapping_sub(before.1),
    );
    if last.0 != last.1 {
        return Some(Difference::Stretch {
            from,
            to: None,
            index: qvm.len(),
            qvm: last.0,
            native: last.1,
        });
    }
    (qvm_total != native_total).then_some(Difference::Total {
        qvm: qvm_total,
        native: native_total,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::native_count::{End, Startup, StdinKind};
    use qvm_common::call::{GasReport, MemoryReport};
    use qvm_common::contract::StateChanges;
    use qvm_common::kernel::TraceEntry;

    const WRITE: u64 = 1;
    const BRK: u64 = 12;
    const ARCH_PRCTL: u64 = 158;
    const EXIT_GROUP: u64 = 231;

    fn calls(list: &[(u64, u64)]) -> Vec<SyscallCount> {
        list.iter()
            .map(|&(nr, instructions)| SyscallCount {
                nr,
                instructions,
                result: 0,
            })
            .collect()
    }

    fn outcome(list: &[(u64, Option<u64>)], total: Option<u64>, trace: bool) -> Outcome {
        Outcome {
            backend: "emu",
            exit_code: Some(0),
            signal: None,
            fault: None,
            kill_reason: None,
            stdout: Vec::new(),
            stderr: Vec::new(),
            failed: false,
            state: StateChanges::default(),
            syscalls: list.len() as u64,
            refused: Vec::new(),
            memory: MemoryReport { limit: 1, peak: 1 },
            gas: GasReport {
                limit: None,
                used: total,
                instructions: total,
            },
            trace_dropped: 0,
            trace: trace.then(|| {
                list.iter()
                    .map(|&(nr, instructions)| TraceEntry {
                        nr,
                        name: table::name(nr),
                        args: [0; 6],
                        result: 0,
                        instructions,
                    })
                    .collect()
            }),
        }
    }

    fn native(list: &[(u64, u64)], total: u64) -> NativeCount {
        NativeCount {
            instructions: total,
            syscalls: calls(list),
            signals: Vec::new(),
            end: End::Exited(0),
            stdout: Vec::new(),
            stderr: Vec::new(),
            steps: total,
            stdin: StdinKind::Pipe,
            startup: Startup::default(),
        }
    }

    const RUN: &[(u64, u64)] = &[(ARCH_PRCTL, 10), (BRK, 25), (WRITE, 40), (EXIT_GROUP, 50)];

    #[test]
    fn the_first_differing_stretch_is_reported_with_its_syscalls() {
        struct Case {
            what: &'static str,
            qvm: &'static [(u64, u64)],
            qvm_total: u64,
            want: Option<Difference>,
        }
        let cases = [
            Case {
                what: "equal",
                qvm: RUN,
                qvm_total: 50,
                want: None,
            },
            Case {
                what: "start-up differs",
                qvm: &[(ARCH_PRCTL, 12), (BRK, 27), (WRITE, 42), (EXIT_GROUP, 52)],
                qvm_total: 52,
                want: Some(Difference::Stretch {
                    from: None,
                    to: Some("arch_prctl"),
                    index: 0,
                    qvm: 12,
                    native: 10,
                }),
            },
            Case {
                what: "a middle stretch differs, later ones agree",
                qvm: &[(ARCH_PRCTL, 10), (BRK, 25), (WRITE, 39), (EXIT_GROUP, 49)],
                qvm_total: 49,
                want: Some(Difference::Stretch {
                    from: Some("brk"),
                    to: Some("write"),
                    index: 2,
                    qvm: 14,
                    native: 15,
                }),
            },
            Case {
                what: "another syscall after an equal stretch",
                qvm: &[(ARCH_PRCTL, 10), (WRITE, 25), (WRITE, 40), (EXIT_GROUP, 50)],
                qvm_total: 50,
                want: Some(Difference::Syscall {
                    index: 1,
                    qvm: WRITE,
                    native: BRK,
                }),
            },
            Case {
                what: "qvm stops earlier",
                qvm: &[(ARCH_PRCTL, 10), (BRK, 25)],
                qvm_total: 25,
                want: Some(Difference::SyscallCount {
                    qvm: 2,
                    native: 4,
                    extra: "write",
                }),
            },
            Case {
                what: "the stretch after the last syscall differs (a fault ends the run)",
                qvm: &[(ARCH_PRCTL, 10), (BRK, 25), (WRITE, 40), (EXIT_GROUP, 50)],
                qvm_total: 51,
                want: Some(Difference::Stretch {
                    from: Some("exit_group"),
                    to: None,
                    index: 4,
                    qvm: 1,
                    native: 0,
                }),
            },
        ];
        for c in cases {
            assert_eq!(
                compare_counts(&calls(c.qvm), c.qvm_total, &calls(RUN), 50),
                c.want,
                "{}",
                c.what
            );
            let traced: Vec<(u64, Option<u64>)> =
                c.qvm.iter().map(|&(nr, n)| (nr, Some(n))).collect();
            let verdict = compare(&outcome(&traced, Some(c.qvm_total), true), &native(RUN, 50));
            match c.want {
                None => assert_eq!(verdict, Verdict::Equal { instructions: 50 }, "{}", c.what),
                Some(d) => assert_eq!(verdict, Verdict::Differs(d), "{}", c.what),
            }
        }
    }

    #[test]
    fn messages_name_the_syscalls_around_the_stretch() {
        let d = compare_counts(
            &calls(&[(ARCH_PRCTL, 10), (BRK, 26)]),
            26,
            &calls(&[(ARCH_PRCTL, 10), (BRK, 25)]),
            25,
        );
        assert_eq!(
            d.map(|d| d.to_string()).as_deref(),
            Some("instructions from arch_prctl (#1) to brk (#2): qvm 16, native 15 (+1)")
        );
        let d = compare_counts(&[], 7, &[], 9).map(|d| d.to_string());
        assert_eq!(
            d.as_deref(),
            Some("instructions from the start to the end: qvm 7, native 9 (-2)")
        );
    }

    #[test]
    fn unmetered_or_untraced_calls_are_not_compared() {
        let traced: Vec<(u64, Option<u64>)> = RUN.iter().map(|&(nr, n)| (nr, Some(n))).collect();
        let n = native(RUN, 50);
        assert_eq!(
            compare(&outcome(&traced, None, true), &n),
            Verdict::NotMetered
        );
        assert_eq!(
            compare(&outcome(&traced, Some(50), false), &n),
            Verdict::NoTrace
        );
        let untimed: Vec<(u64, Option<u64>)> = RUN.iter().map(|&(nr, _)| (nr, None)).collect();
        assert_eq!(
            compare(&outcome(&untimed, Some(50), true), &n),
            Verdict::NotMetered
        );
    }
}
