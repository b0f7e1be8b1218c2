//! The syscall trace of one call (`--trace`), capped so a contract that
//! loops on a syscall cannot make qvm hold it without bound: the first
//! [`MAX_ENTRIES`] syscalls are kept, later ones only counted. Which
//! entries are kept depends only on the call, so the trace stays
//! deterministic.

use super::TraceEntry;

/// Most syscalls a trace keeps: about 9 MB in memory and 25 MB of JSON,
/// far more than any program of the conformance corpus makes.
pub const MAX_ENTRIES: usize = 100_000;

/// A capped syscall trace.
#[derive(Debug, Default)]
pub struct Trace {
    entries: Vec<TraceEntry>,
    dropped: u64,
}

impl Trace {
    /// Records one syscall, or counts it once the trace is full.
    pub fn push(&mut self, entry: TraceEntry) {
        if self.entries.len() < MAX_ENTRIES {
            self.entries.push(entry);
        } else {
            self.dropped = self.dropped.saturating_add(1);
        }
    }

    /// Syscalls made after the trace was full.
    pub fn dropped(&self) -> u64 {
        self.dropped
    }

    /// The kept entries, in order.
    pub fn into_entries(self) -> Vec<TraceEntry> {
        self.entries
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keeps_the_first_entries_and_counts_the_rest() {
        let mut trace = Trace::default();
        for nr in 0..MAX_ENTRIES as u64 + 5 {
            trace.push(TraceEntry {
                nr,
                name: "getppid",
                args: [0; 6],
                result: 1,
                instructions: None,
            });
        }
        assert_eq!(trace.dropped(), 5);
        let entries = trace.into_entries();
        assert_eq!(entries.len(), MAX_ENTRIES);
        assert_eq!(entries.last().map(|e| e.nr), Some(MAX_ENTRIES as u64 - 1));
    }
}
