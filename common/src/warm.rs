//! Keeping an engine between calls of one contract.
//!
//! A kept engine keeps what it mapped and what it translated. Before a call
//! it is brought to the contract's image: mappings the last call changed are
//! replaced, the others stay (with their translated code), and code
//! translated from image pages that the last call changed is forgotten,
//! since restoring the image changed those pages back behind the engine.

use crate::address_space::MemoryChange;
use crate::address_space::Prot;
use std::sync::Arc;

use crate::call::{CallError, Outcome, Process, Standby};
use crate::engine::{Engine, EngineError};
use crate::guest_memory::Extent;
use crate::guest_memory::GuestMemory;

/// An engine kept between calls, with what it maps.
pub struct KeptEngine<E> {
    engine: E,
    /// The engine's mappings, as `Map` changes in address order; None when
    /// not known (after an error): the engine must then be replaced.
    mapped: Option<Vec<MemoryChange>>,
    /// Image extents changed since the engine last ran.
    stale: Vec<Extent>,
    /// `prepare_for` ran and the call has not yet.
    prepared: bool,
}

impl<E: Engine> KeptEngine<E> {
    /// Keeps a fresh engine, which maps nothing yet.
    pub fn new(engine: E) -> Self {
        KeptEngine {
            engine,
            mapped: Some(Vec::new()),
            stale: Vec::new(),
            prepared: false,
        }
    }

    /// The usable kept engine in `slot`, made with `make` when the slot is
    /// empty or its engine unusable. The old engine goes first: two VMs
    /// over one arena need not fit.
    pub fn in_slot(
        slot: &mut Option<Self>,
        make: impl FnOnce() -> Result<E, EngineError>,
    ) -> Result<&mut Self, EngineError> {
        if !slot.as_ref().is_some_and(Self::is_usable) {
            *slot = None;
            *slot = Some(KeptEngine::new(make()?));
        }
        slot.as_mut().ok_or_else(|| EngineError::Backend {
            backend: "kept",
            what: "an engine just made is missing".into(),
        })
    }

    /// Whether the engine can run another call (else replace it).
    pub fn is_usable(&self) -> bool {
        self.mapped.is_some()
    }

    /// The engine.
    pub fn engine(&self) -> &E {
        &self.engine
    }

    /// Notes image extents that changed back behind the engine's back.
    pub fn image_restored(&mut self, changed: &[Extent]) {
        self.stale.extend_from_slice(changed);
    }

    /// Runs `process` to its end (see [`Process::run_with_fallback`]).
    pub fn run(
        &mut self,
        process: Process,
        standby: Option<&mut dyn Standby>,
    ) -> Result<Outcome, CallError> {
        self.prepare_for(&process)?;
        self.run_prepared(process, standby)
    }

    /// Brings the engine to `process`'s starting mappings: the first half
    /// of [`run`](Self::run), apart so callers can time it.
    pub fn prepare_for(&mut self, process: &Process) -> Result<(), CallError> {
        self.map_exactly(&process.mappings())?;
        // `mapped` stays unknown until the call has run.
        self.prepared = true;
        Ok(())
    }

    /// Runs `process` on the engine [`prepare_for`](Self::prepare_for)
    /// made ready for it.
    pub fn run_prepared(
        &mut self,
        process: Process,
        standby: Option<&mut dyn Standby>,
    ) -> Result<Outcome, CallError> {
        if !std::mem::take(&mut self.prepared) {
            return Err(CallError::Engine(EngineError::Backend {
                backend: self.engine.name(),
                what: "a kept engine ran a call it was not prepared for".into(),
            }));
        }
        let (outcome, view) = process.run_mapped(&mut self.engine, standby)?;
        self.ran(view);
        Ok(outcome)
    }

    /// Makes the engine map exactly `target`; its mappings are unknown
    /// until [`ran`](Self::ran) says them.
    fn map_exactly(&mut self, target: &[MemoryChange]) -> Result<(), CallError> {
        let mapped = self.mapped.take().ok_or_else(|| {
            CallError::Engine(EngineError::Backend {
                backend: self.engine.name(),
                what: "a kept engine in an unknown state was reused".into(),
            })
        })?;
        Ok(self.prepare(&mapped, target)?)
    }

    /// The engine ran a call to its end and maps `view` (None: unknown).
    fn ran(&mut self, view: Option<Vec<MemoryChange>>) {
        self.mapped = view;
    }

    /// Maps `target` where the engine maps `mapped`, keeping identical
    /// mappings and forgetting their stale code.
    fn prepare(
        &mut self,
        mapped: &[MemoryChange],
        target: &[MemoryChange],
    ) -> Result<(), EngineError> {
        let (changes, kept) = mapping_changes(mapped, target);
        log::debug!(
            "kept engine: {} mappings kept, {} changes {:x?}",
            kept.len(),
            changes.len(),
            changes
        );
        self.engine.apply(&changes)?;
        let stale = std::mem::take(&mut self.stale);
        for (start, len) in stale_code(&kept, &stale) {
            log::debug!("kept engine: code at {start:#x}+{len:#x} is stale");
            self.engine.forget_code(start, len)?;
        }
        Ok(())
    }
}

/// A kept engine as the engine a threaded call moves to: its mappings and
/// translations serve the next call that moves too.
impl<E: Engine> Standby for KeptEngine<E> {
    fn take_over(
        &mut self,
        _memory: &Arc<GuestMemory>,
        target: &[MemoryChange],
    ) -> Result<(), CallError> {
        self.map_exactly(target)
    }

    fn engine(&mut self) -> Result<&mut dyn Engine, CallError> {
        Ok(&mut self.engine)
    }

    fn finished(&mut self, view: Option<Vec<MemoryChange>>) {
        self.ran(view);
    }
}

/// The changes that turn `from` into `to` (both `Map`s in address order,
/// not overlapping): unmap what differs, then map what is new. Also
/// returns the mappings both have, which keep their translated code.
pub fn mapping_changes(
    from: &[MemoryChange],
    to: &[MemoryChange],
) -> (Vec<MemoryChange>, Vec<MemoryChange>) {
    let mut unmaps = Vec::new();
    let mut kept = Vec::new();
    for m in from {
        if to.contains(m) {
            kept.push(*m);
        } else if let MemoryChange::Map { start, len, .. } = *m {
            unmaps.push(MemoryChange::Unmap { start, len });
        }
    }
    let maps = to.iter().filter(|m| !from.contains(m)).copied();
    unmaps.extend(maps);
    (unmaps, kept)
}

/// The virtual ranges of executable mappings in `kept` whose memory lies
/// in `changed` (guest physical extents).
pub fn stale_code(kept: &[MemoryChange], changed: &[Extent]) -> Vec<(u64, u64)> {
    let mut out = Vec::new();
    for m in kept {
        let MemoryChange::Map {
            start,
            len,
            prot,
            gpa,
        } = *m
        else {
            continue;
        };
        if !prot.contains(Prot::EXEC) {
            continue;
        }
        for e in changed {
            let lo = e.gpa.max(gpa);
            let hi = (e.gpa + e.len).min(gpa + len);
            if lo < hi {
                out.push((start + (lo - gpa), hi - lo));
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn map(start: u64, len: u64, prot: Prot, gpa: u64) -> MemoryChange {
        MemoryChange::Map {
            start,
            len,
            prot,
            gpa,
        }
    }

    #[test]
    fn identical_mappings_stay_and_others_are_replaced() {
        let rx = Prot::READ.union(Prot::EXEC);
        let text = map(0x40_0000, 0x2000, rx, 0);
        let data = map(0x40_2000, 0x1000, Prot::RW, 0x2000);
        let heap = map(0x50_0000, 0x1000, Prot::RW, 0x9000);
        let data_ro = map(0x40_2000, 0x1000, Prot::READ, 0x2000);
        let (changes, kept) = mapping_changes(&[text, data_ro, heap], &[text, data]);
        assert_eq!(kept, vec![text]);
        assert_eq!(
            changes,
            vec![
                MemoryChange::Unmap {
                    start: 0x40_2000,
                    len: 0x1000
                },
                MemoryChange::Unmap {
                    start: 0x50_0000,
                    len: 0x1000
                },
                data,
            ]
        );
    }

    #[test]
    fn stale_code_is_changed_memory_under_executable_mappings() {
        let rx = Prot::READ.union(Prot::EXEC);
        let kept = [
            map(0x40_0000, 0x3000, rx, 0x1000),
            map(0x60_0000, 0x1000, Prot::RW, 0),
        ];
        let changed = [
            Extent {
                gpa: 0,
                len: 0x2000,
            },
            Extent {
                gpa: 0x3000,
                len: 0x1000,
            },
        ];
        assert_eq!(
            stale_code(&kept, &changed),
            vec![(0x40_0000, 0x1000), (0x40_2000, 0x1000)]
        );
    }
}
