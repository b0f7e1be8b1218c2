//! Gas: the cost of a call, the same number on every node
//! (`docs/gas.md` is the definition; this module and the engines'
//! instruction counters implement it).
//!
//! Gas used = instructions retired at CPL 3 + kernel work. The engine
//! counts instructions; the kernel charges its own work here, per syscall,
//! per byte it copies between contract memory and itself, and per page of
//! memory committed at the high-water mark. A call whose next instruction,
//! REP iteration or syscall would take gas used past the limit ends there,
//! killed (SIGKILL), with gas used = the limit.

use serde::Serialize;

use crate::layout::PAGE_SIZE;

/// Version of the gas definition (`docs/gas.md`): bump it whenever a
/// contract's gas could change, since nodes must agree on every figure.
pub const GAS_SCHEDULE_VERSION: u32 = 1;

/// Default limit of `qvm run` (`--gas-limit`): 100 billion, some fifty
/// times the heaviest conformance program (c-glibc-malloc, 1.77 billion)
/// and one to a few minutes of the emulator, so an honest contract does
/// not meet it while a runaway one still ends.
pub const DEFAULT_GAS_LIMIT: u64 = 100_000_000_000;

/// What the kernel's work costs. Each figure is in instructions: a unit of
/// gas is one retired instruction, and kernel work is priced at about the
/// instructions a node spends on it, rounded to a round number.
pub mod cost {
    /// Every syscall, on top of the `syscall` instruction itself: leaving
    /// the contract and coming back (a VM exit and entry on KVM, about
    /// 1 µs on these hosts, a few thousand instructions) and dispatching.
    pub const SYSCALL: u64 = 1_000;
    /// Every byte the kernel copies from or to contract memory (buffers,
    /// structures, strings and their NUL; a byte read and written back
    /// counts twice). The copy itself is cheap; what is copied out becomes
    /// output a node keeps and sends, so a byte costs an instruction.
    pub const BYTE: u64 = 1;
    /// Every 4 KiB page of memory committed, counted once at the call's
    /// high-water mark: the node reserves it for the rest of the call and
    /// zeroes it when first touched, about the time of 250 simple
    /// instructions. (Every call commits its 8 MiB stack and its image,
    /// some 2,050 pages, at start: about 525,000 gas.)
    pub const PAGE: u64 = 256;
}

/// The `kill_reason` of a call that ran out of gas.
pub const KILL_OUT_OF_GAS: &str = "out of gas";

/// A gas limit: a number, or none.
pub type GasLimit = Option<u64>;

/// Gas of a finished call, as reports show it.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize)]
pub struct GasReport {
    /// The limit the call ran with; None for `--gas-limit none`.
    pub limit: Option<u64>,
    /// Instructions + kernel work; None when the backend does not count
    /// instructions (KVM, unmetered).
    pub used: Option<u64>,
    /// Instructions retired; None when the backend does not count them.
    pub instructions: Option<u64>,
}

/// The call ran out of gas.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct OutOfGas;

/// The kernel's side of metering: the limit and the kernel work charged so
/// far. Instructions are counted by the engine and passed in.
#[derive(Clone, Debug)]
pub struct GasMeter {
    limit: GasLimit,
    kernel_work: u64,
    pages_charged: u64,
    exhausted: bool,
}

impl GasMeter {
    /// A meter with `limit`, nothing charged.
    pub fn new(limit: GasLimit) -> Self {
        GasMeter {
            limit,
            kernel_work: 0,
            pages_charged: 0,
            exhausted: false,
        }
    }

    /// The limit.
    pub fn limit(&self) -> GasLimit {
        self.limit
    }

    /// Kernel work charged so far.
    pub fn kernel_work(&self) -> u64 {
        self.kernel_work
    }

    /// Whether the call ran out of gas.
    pub fn exhausted(&self) -> bool {
        self.exhausted
    }

    /// The instruction count the engine may reach and not pass: whatever
    /// of the limit the kernel's work has not taken. None without a limit.
    pub fn instruction_limit(&self) -> Option<u64> {
        self.limit.map(|l| l.saturating_sub(self.kernel_work))
    }

    /// Charges `amount` of kernel work with `instructions` retired so far;
    /// out of gas when that takes gas used past the limit.
    pub fn charge(&mut self, instructions: u64, amount: u64) -> Result<(), OutOfGas> {
        self.kernel_work = self.kernel_work.saturating_add(amount);
        match self.limit {
            Some(limit) if instructions.saturating_add(self.kernel_work) > limit => {
                self.exhausted = true;
                Err(OutOfGas)
            }
            _ => Ok(()),
        }
    }

    /// The cost of a syscall that copied `bytes`, with the committed-memory
    /// high-water mark now at `peak_committed` bytes: the pages above the
    /// mark already charged are charged now.
    pub fn syscall_cost(&mut self, bytes: u64, peak_committed: u64) -> u64 {
        cost::SYSCALL
            .saturating_add(bytes.saturating_mul(cost::BYTE))
            .saturating_add(self.page_cost(peak_committed))
    }

    /// The cost of the committed-memory high-water mark rising to
    /// `peak_committed` bytes (zero when it has not risen).
    pub fn page_cost(&mut self, peak_committed: u64) -> u64 {
        let pages = peak_committed.div_ceil(PAGE_SIZE);
        let new = pages.saturating_sub(self.pages_charged);
        self.pages_charged = self.pages_charged.max(pages);
        new.saturating_mul(cost::PAGE)
    }

    /// Marks the call out of gas (the engine stopped at the instruction
    /// limit).
    pub fn exhaust(&mut self) {
        self.exhausted = true;
    }

    /// The report for a call that retired `instructions` (None when the
    /// engine does not count).
    pub fn report(&self, instructions: Option<u64>) -> GasReport {
        let used = instructions.map(|i| {
            let used = i.saturating_add(self.kernel_work);
            match self.limit {
                // Out of gas: gas used is the limit, by definition.
                Some(limit) if self.exhausted || used > limit => limit,
                _ => used,
            }
        });
        GasReport {
            limit: self.limit,
            used,
            instructions,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kernel_work_shrinks_the_instruction_limit() {
        let mut m = GasMeter::new(Some(10_000));
        assert_eq!(m.instruction_limit(), Some(10_000));
        assert_eq!(m.charge(10, 1_000), Ok(()));
        assert_eq!(m.instruction_limit(), Some(9_000));
        assert_eq!(m.report(Some(10)).used, Some(1_010));
    }

    #[test]
    fn passing_the_limit_is_out_of_gas_and_uses_exactly_the_limit() {
        let mut m = GasMeter::new(Some(1_500));
        assert_eq!(m.charge(600, 1_000), Err(OutOfGas));
        assert!(m.exhausted());
        assert_eq!(m.report(Some(600)).used, Some(1_500));
        // Reaching the limit exactly is not passing it.
        let mut m = GasMeter::new(Some(1_600));
        assert_eq!(m.charge(600, 1_000), Ok(()));
        assert_eq!(m.instruction_limit(), Some(600));
    }

    #[test]
    fn pages_are_charged_once_at_the_high_water_mark() {
        let mut m = GasMeter::new(None);
        assert_eq!(m.page_cost(3 * PAGE_SIZE), 3 * cost::PAGE);
        assert_eq!(m.page_cost(3 * PAGE_SIZE), 0);
        assert_eq!(m.page_cost(PAGE_SIZE), 0);
        assert_eq!(m.page_cost(4 * PAGE_SIZE + 1), 2 * cost::PAGE);
        assert_eq!(
            m.syscall_cost(10, 5 * PAGE_SIZE),
            cost::SYSCALL + 10 * cost::BYTE
        );
    }

    #[test]
    fn no_limit_never_runs_out() {
        let mut m = GasMeter::new(None);
        assert_eq!(m.charge(u64::MAX, u64::MAX), Ok(()));
        assert_eq!(m.instruction_limit(), None);
        assert_eq!(m.report(None).used, None);
    }
}
