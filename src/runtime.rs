//! The runtime: contracts loaded once and called many times.
//!
//! Loading parses and checks a contract, builds its initial memory and seals
//! it as a copy-on-write image. A call starts a fresh process from that
//! image on an engine the contract keeps: the emulator keeps its translated
//! code, KVM its VM and vCPU. After the call the image is restored (only the
//! pages the call changed), so the next call sees nothing of this one: a
//! warm call's outcome is the cold call's, byte for byte.

use std::num::NonZeroUsize;
use std::sync::Arc;
use std::time::Instant;

use lru::LruCache;
use qvm_common::address_space::MemoryChange;
use qvm_common::call::{Call, CallError, Outcome, Process, ProgramImage, Standby};
use qvm_common::engine::{Engine, EngineError};
use qvm_common::guest_memory::GuestMemory;
use qvm_common::image::{hash_program, ContractHash, ContractImage};
use qvm_common::kernel::output::OutputSink;
use qvm_common::layout::DEFAULT_MEMORY_LIMIT;
use qvm_common::warm::KeptEngine;
use qvm_engine_emu::EmuEngine;

use crate::backend::{BackendChoice, RunError};
use crate::kvm::{self, KvmEngine};

/// How a runtime runs its calls.
#[derive(Clone, Debug)]
pub struct RuntimeOptions {
    /// Which backend runs calls. `Auto`: KVM for unmetered calls where
    /// `/dev/kvm` works, the emulator otherwise.
    pub backend: BackendChoice,
    /// Memory limit of every call, in bytes (rounded up to a page).
    pub memory_limit: u64,
    /// How many contracts stay loaded; past it the least recently called
    /// is unloaded (its next call loads it again, cold).
    pub max_loaded: NonZeroUsize,
    /// Keep each contract's initial image as a snapshot that every call
    /// starts from (the default). Off, a contract's memory is built for
    /// one call and the contract is unloaded after it: what a one-shot
    /// `qvm run` wants, since it saves mapping and restoring a snapshot
    /// no second call would use.
    pub snapshot: bool,
}

/// The default number of contracts a runtime keeps loaded.
pub const DEFAULT_MAX_LOADED: usize = 64;

impl Default for RuntimeOptions {
    fn default() -> Self {
        RuntimeOptions {
            backend: BackendChoice::Auto,
            memory_limit: DEFAULT_MEMORY_LIMIT,
            max_loaded: NonZeroUsize::new(DEFAULT_MAX_LOADED).unwrap_or(NonZeroUsize::MIN),
            snapshot: true,
        }
    }
}

/// A contract as the runtime knows it: cheap to clone, valid across
/// unloading (a call loads it again).
#[derive(Clone)]
pub struct Contract {
    key: Key,
    program: ProgramImage,
}

impl Contract {
    /// The contract's hash ([`ContractHash`]: BLAKE3 of its length and
    /// bytes).
    pub fn hash(&self) -> &ContractHash {
        &self.key.hash
    }

    /// argv[0] of its calls.
    pub fn name(&self) -> &str {
        &self.key.name
    }
}

impl std::fmt::Debug for Contract {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Contract")
            .field("name", &self.key.name)
            .field("hash", &hex::encode(self.key.hash))
            .finish()
    }
}

/// What identifies a loaded contract: its bytes and its argv[0].
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
struct Key {
    hash: ContractHash,
    name: Arc<str>,
}

/// A contract's image and the engines it keeps.
struct Loaded {
    image: ContractImage,
    emu: Option<KeptEngine<EmuEngine>>,
    kvm: Option<KeptEngine<KvmEngine>>,
}

/// Where a call's host time went (not part of the outcome: host facts).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct CallTiming {
    /// Making the engine (the first call on it only).
    pub engine: std::time::Duration,
    /// Starting the process from the image: address space, initial stack,
    /// kernel.
    pub start: std::time::Duration,
    /// Bringing the kept engine to the image's mappings.
    pub prepare: std::time::Duration,
    /// Running the call: guest code, translation, syscalls, the outcome.
    pub run: std::time::Duration,
    /// Restoring the image afterwards.
    pub restore: std::time::Duration,
}

impl CallTiming {
    /// All of it.
    pub fn total(&self) -> std::time::Duration {
        self.engine + self.start + self.prepare + self.run + self.restore
    }
}

/// Which engine runs a call.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Kind {
    Emu,
    Kvm,
}

/// Contracts loaded once, called many times. Not `Send`: the emulator's
/// handle is tied to the thread that made it; use one runtime per thread.
///
/// ```no_run
/// use qvm::runtime::{Runtime, RuntimeOptions};
/// use qvm::{BackendChoice, Call};
///
/// let mut runtime = Runtime::new(RuntimeOptions {
///     backend: BackendChoice::Emu,
///     ..RuntimeOptions::default()
/// });
/// let program = std::fs::read("hello")?;
/// let hello = runtime.load("hello", program)?;
/// for who in ["world", "qvm"] {
///     let call = Call {
///         args: vec![who.into()],
///         ..Call::default()
///     };
///     let outcome = runtime.call(&hello, &call)?;
///     print!("{}", String::from_utf8_lossy(&outcome.stdout));
///     assert_eq!(outcome.status(), 0);
/// }
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub struct Runtime {
    options: RuntimeOptions,
    loaded: LruCache<Key, Loaded>,
    /// Whether KVM works here, once asked.
    kvm_works: Option<bool>,
    /// The last call's timing.
    timing: CallTiming,
}

impl Runtime {
    /// A runtime with nothing loaded.
    pub fn new(options: RuntimeOptions) -> Self {
        Runtime {
            loaded: LruCache::new(options.max_loaded),
            options,
            kvm_works: None,
            timing: CallTiming::default(),
        }
    }

    /// The options it was made with.
    pub fn options(&self) -> &RuntimeOptions {
        &self.options
    }

    /// Loads a contract: parses and checks the ELF, builds and seals its
    /// initial memory. `name` is argv[0] of its calls (a file name, not a
    /// host path). Loading a contract already loaded costs nothing.
    pub fn load(
        &mut self,
        name: &str,
        program: impl Into<ProgramImage>,
    ) -> Result<Contract, RunError> {
        let program = program.into();
        let (hash, hasher) = hash_program(&program);
        let contract = Contract {
            key: Key {
                hash,
                name: Arc::from(name),
            },
            program,
        };
        self.ensure_loaded(&contract, Some(hasher))?;
        Ok(contract)
    }

    /// Where the last call's host time went.
    pub fn last_timing(&self) -> CallTiming {
        self.timing
    }

    /// How many contracts are loaded now.
    pub fn loaded(&self) -> usize {
        self.loaded.len()
    }

    /// Whether `contract` is loaded now (not unloaded or evicted).
    pub fn is_loaded(&self, contract: &Contract) -> bool {
        self.loaded.contains(&contract.key)
    }

    /// Unloads a contract, giving back its memory and engines.
    pub fn unload(&mut self, contract: &Contract) {
        self.loaded.pop(&contract.key);
    }

    /// Runs one call of `contract`; its outcome is what a cold `qvm run`
    /// with the same inputs reports.
    pub fn call(&mut self, contract: &Contract, call: &Call) -> Result<Outcome, RunError> {
        self.call_with(contract, call, None)
    }

    /// Runs one call, passing its stdout and stderr to `sink` as the
    /// contract writes them; the outcome's `stdout`, `stderr` and `state`
    /// stay empty.
    pub fn call_streaming(
        &mut self,
        contract: &Contract,
        call: &Call,
        sink: Box<dyn OutputSink>,
    ) -> Result<Outcome, RunError> {
        self.call_with(contract, call, Some(sink))
    }

    fn call_with(
        &mut self,
        contract: &Contract,
        call: &Call,
        sink: Option<Box<dyn OutputSink>>,
    ) -> Result<Outcome, RunError> {
        let kind = self.kind_for(call)?;
        self.ensure_loaded(contract, None)?;
        let loaded = self
            .loaded
            .get_mut(&contract.key)
            .ok_or(RunError::Internal("a contract just loaded is not loaded"))?;
        self.timing = CallTiming::default();
        let result = run_on(loaded, kind, call, sink, &mut self.timing);
        if !self.options.snapshot {
            // Built for this call only.
            self.loaded.pop(&contract.key);
            return result;
        }
        // Whatever happened, the next call starts from the image.
        let restoring = Instant::now();
        let restored = loaded.image.restore();
        self.timing.restore = restoring.elapsed();
        match restored {
            Ok(changed) => {
                if let Some(kept) = loaded.emu.as_mut() {
                    kept.image_restored(&changed);
                }
                if let Some(kept) = loaded.kvm.as_mut() {
                    kept.image_restored(&changed);
                }
            }
            Err(e) => {
                self.loaded.pop(&contract.key);
                return Err(CallError::Memory(e).into());
            }
        }
        result
    }

    /// Loads `contract` unless it is loaded (`hasher`: its
    /// [`hash_program`] hasher, if at hand).
    fn ensure_loaded(
        &mut self,
        contract: &Contract,
        hasher: Option<blake3::Hasher>,
    ) -> Result<(), RunError> {
        if self.loaded.contains(&contract.key) {
            return Ok(());
        }
        let hasher =
            hasher.unwrap_or_else(|| qvm_common::random::call_id_of_program(&contract.program));
        let image = ContractImage::load_hashed(
            &contract.program,
            (contract.key.hash, hasher),
            &contract.key.name,
            self.options.memory_limit,
            self.options.snapshot,
        )?;
        let loaded = Loaded {
            image,
            emu: None,
            kvm: None,
        };
        if let Some((old, _)) = self.loaded.push(contract.key.clone(), loaded) {
            if old != contract.key {
                log::debug!("unloaded {} (least recently used)", old.name);
            }
        }
        Ok(())
    }

    /// The engine a call runs on. A metered call needs one that counts
    /// instructions exactly: `Auto` then means the emulator, and `Kvm` is
    /// refused (docs/gas.md).
    fn kind_for(&mut self, call: &Call) -> Result<Kind, RunError> {
        let metered = call.gas_limit.is_some();
        match self.options.backend {
            BackendChoice::Emu => Ok(Kind::Emu),
            BackendChoice::Kvm if metered => Err(CallError::NotMetered("kvm").into()),
            BackendChoice::Kvm => Ok(Kind::Kvm),
            BackendChoice::Auto if metered => Ok(Kind::Emu),
            BackendChoice::Auto => {
                let works = *self.kvm_works.get_or_insert_with(|| kvm::probe().is_ok());
                Ok(if works { Kind::Kvm } else { Kind::Emu })
            }
        }
    }
}

/// Runs `call` on the contract's engine of `kind`, making one if it has
/// none (or its last one failed).
fn run_on(
    loaded: &mut Loaded,
    kind: Kind,
    call: &Call,
    sink: Option<Box<dyn OutputSink>>,
    timing: &mut CallTiming,
) -> Result<Outcome, RunError> {
    let starting = Instant::now();
    let mut process = Process::start(&loaded.image, call)?;
    if let Some(sink) = sink {
        process.stream_output(sink);
    }
    timing.start = starting.elapsed();
    let memory = loaded.image.memory();
    match kind {
        Kind::Emu => {
            let make = || EmuEngine::new(memory.clone());
            let kept = kept_engine(&mut loaded.emu, make, timing)?;
            run_timed(kept, process, None, timing)
        }
        Kind::Kvm => {
            let make = || KvmEngine::new(memory.clone());
            let kept = kept_engine(&mut loaded.kvm, make, timing)?;
            // A threaded call moves to the contract's kept emulator.
            let mut standby = EmuStandby {
                slot: &mut loaded.emu,
            };
            run_timed(kept, process, Some(&mut standby), timing)
        }
    }
}

/// Prepares and runs `process` on `kept`, timing both.
fn run_timed<E: Engine>(
    kept: &mut KeptEngine<E>,
    process: Process,
    standby: Option<&mut dyn Standby>,
    timing: &mut CallTiming,
) -> Result<Outcome, RunError> {
    let preparing = Instant::now();
    kept.prepare_for(&process)?;
    timing.prepare = preparing.elapsed();
    let running = Instant::now();
    let outcome = kept.run_prepared(process, standby);
    timing.run = running.elapsed();
    Ok(outcome?)
}

/// The contract's kept emulator as the engine a call on KVM moves to when
/// it creates a thread (docs/threads.md), made when a call first does.
struct EmuStandby<'a> {
    slot: &'a mut Option<KeptEngine<EmuEngine>>,
}

impl Standby for EmuStandby<'_> {
    fn take_over(
        &mut self,
        memory: &Arc<GuestMemory>,
        target: &[MemoryChange],
    ) -> Result<(), CallError> {
        KeptEngine::in_slot(self.slot, || EmuEngine::new(memory.clone()))?.take_over(memory, target)
    }

    fn engine(&mut self) -> Result<&mut dyn Engine, CallError> {
        match self.slot.as_mut() {
            Some(kept) => kept.engine(),
            None => Err(CallError::NoStandby),
        }
    }

    fn finished(&mut self, view: Option<Vec<MemoryChange>>) {
        if let Some(kept) = self.slot.as_mut() {
            kept.finished(view);
        }
    }
}

/// The usable kept engine in `slot`, made with `make` if there is none.
fn kept_engine<'a, E: Engine>(
    slot: &'a mut Option<KeptEngine<E>>,
    make: impl FnOnce() -> Result<E, EngineError>,
    timing: &mut CallTiming,
) -> Result<&'a mut KeptEngine<E>, RunError> {
    let making = Instant::now();
    let made = !slot.as_ref().is_some_and(KeptEngine::is_usable);
    let kept = KeptEngine::in_slot(slot, make)?;
    if made {
        timing.engine = making.elapsed();
    }
    Ok(kept)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// exit(argc): a contract whose outcome depends on its call.
    fn exit_argc() -> Vec<u8> {
        // mov rdi, [rsp]; mov eax, 60; syscall
        qvm_common::test_elf::with_code(&[0x48, 0x8b, 0x3c, 0x24, 0xb8, 60, 0, 0, 0, 0x0f, 0x05])
    }

    fn runtime(max_loaded: usize) -> Runtime {
        Runtime::new(RuntimeOptions {
            backend: BackendChoice::Emu,
            memory_limit: 16 << 20,
            max_loaded: NonZeroUsize::new(max_loaded).unwrap(),
            snapshot: true,
        })
    }

    fn with_args(n: usize) -> Call {
        Call {
            args: vec![b"x".to_vec(); n],
            ..Call::default()
        }
    }

    #[test]
    fn the_least_recently_called_contract_is_unloaded_past_the_cap() {
        let mut rt = runtime(2);
        let program = exit_argc();
        let a = rt.load("a", program.clone()).unwrap();
        let b = rt.load("b", program.clone()).unwrap();
        assert_eq!(rt.call(&a, &with_args(1)).unwrap().exit_code, Some(2));
        // b is now the least recently used: loading c unloads it.
        let c = rt.load("c", program).unwrap();
        assert_eq!(rt.loaded(), 2);
        assert!(rt.is_loaded(&a) && rt.is_loaded(&c) && !rt.is_loaded(&b));
        // An unloaded contract is loaded again by its next call.
        assert_eq!(rt.call(&b, &with_args(3)).unwrap().exit_code, Some(4));
        assert!(rt.is_loaded(&b) && !rt.is_loaded(&a));
        rt.unload(&b);
        assert_eq!(rt.loaded(), 1);
    }

    #[test]
    fn warm_calls_give_cold_outcomes() {
        let mut rt = runtime(1);
        let contract = rt.load("argc", exit_argc()).unwrap();
        for n in [0, 5, 1, 5, 0] {
            let warm = rt.call(&contract, &with_args(n)).unwrap();
            let mut spec = qvm_common::call::CallSpec::new(exit_argc(), "argc");
            spec.memory_limit = 16 << 20;
            spec.call = with_args(n);
            let cold = crate::run(&spec, BackendChoice::Emu).unwrap();
            assert_eq!(warm, cold);
            assert_eq!(warm.exit_code, Some(n as i32 + 1));
        }
    }

    #[test]
    fn a_metered_call_on_kvm_is_refused_before_loading_anything() {
        let mut rt = Runtime::new(RuntimeOptions {
            backend: BackendChoice::Kvm,
            ..RuntimeOptions::default()
        });
        let contract = rt.load("argc", exit_argc()).unwrap();
        let err = rt.call(&contract, &Call::default()).unwrap_err();
        assert!(err.to_string().contains("cannot meter"), "{err}");
    }

    #[test]
    fn without_snapshots_each_call_loads_the_contract_for_itself() {
        let mut rt = Runtime::new(RuntimeOptions {
            snapshot: false,
            ..runtime(4).options().clone()
        });
        let contract = rt.load("argc", exit_argc()).unwrap();
        for n in [2, 0] {
            assert_eq!(
                rt.call(&contract, &with_args(n)).unwrap().exit_code,
                Some(n as i32 + 1)
            );
            assert!(!rt.is_loaded(&contract));
        }
    }

    #[test]
    fn a_bad_contract_is_refused_at_load() {
        let mut rt = runtime(4);
        assert!(rt.load("junk", b"not an elf".to_vec()).is_err());
        assert_eq!(rt.loaded(), 0);
    }
}
