//! One contract call, end to end: load the ELF, build the process, run it
//! on an engine, collect the outcome. The kernel owns the loop; the engine
//! only runs guest code until it needs the kernel.

use std::sync::Arc;

use serde::Serialize;
use thiserror::Error;

use crate::address_space::MemoryChange;
use crate::contract::{BlockContext, StateChanges};
use crate::elf::{self, ElfError};
use crate::engine::Supervisor as _;
use crate::engine::{Access, Engine, EngineError, Exit, Fault};
use crate::guest_memory::{GuestMemory, MemoryError};
use crate::image::ContractImage;
use crate::kernel::files::EXE_DIR;
pub use crate::kernel::gas::GasReport;
use crate::kernel::gas::{GasLimit, DEFAULT_GAS_LIMIT};
use crate::kernel::{signal_name, table, Kernel, KernelConfig, Termination, TraceEntry};
use crate::layout::DEFAULT_MEMORY_LIMIT;
use crate::process_image::{self, LoadError};
use crate::random::{call_id, call_id_with, Entropy};
use crate::state::StateReader;
use crate::watchdog::{TIMEOUT_KILL_REASON, TIMEOUT_STATUS};

/// One call of a loaded contract: everything that defines it but the
/// contract. Two calls of the same contract with equal `Call`s have
/// identical outcomes on every backend, whatever ran before them.
#[derive(Clone, Debug)]
pub struct Call {
    /// argv[1..].
    pub args: Vec<Vec<u8>>,
    /// The whole environment, `KEY=VALUE` strings.
    pub env: Vec<Vec<u8>>,
    pub stdin: Vec<u8>,
    pub block: BlockContext,
    /// Record every syscall (the first [`crate::kernel::trace::MAX_ENTRIES`]).
    pub trace: bool,
    /// Gas limit (`docs/gas.md`); None runs unmetered, which only an
    /// engine that cannot count instructions (KVM) needs.
    pub gas_limit: GasLimit,
    /// The host's safety net: end the call after this much wall-clock time
    /// (not a deterministic verdict; see [`crate::watchdog`]).
    pub timeout: Option<std::time::Duration>,
    /// The contract's state before the block, which it reads as
    /// `/state/KEY` files ([`crate::kernel::statefs`]); None: no `/state`.
    pub state: Option<Arc<dyn StateReader>>,
}

impl Default for Call {
    /// No arguments, empty environment and stdin, block zero, the default
    /// gas limit, no trace, no timeout, no state.
    fn default() -> Self {
        Call {
            args: Vec::new(),
            env: Vec::new(),
            stdin: Vec::new(),
            block: BlockContext::default(),
            trace: false,
            gas_limit: Some(DEFAULT_GAS_LIMIT),
            timeout: None,
            state: None,
        }
    }
}

/// A contract and one call of it: what `qvm run` runs.
#[derive(Clone, Debug)]
pub struct CallSpec {
    /// The contract's ELF bytes.
    pub program: ProgramImage,
    /// argv[0]: the contract's name (a file name, not a host path).
    pub name: String,
    /// Memory limit in bytes (rounded up to a page).
    pub memory_limit: u64,
    pub call: Call,
}

impl CallSpec {
    /// A spec with defaults: the default memory limit and [`Call::default`].
    pub fn new(program: impl Into<ProgramImage>, name: impl Into<String>) -> Self {
        CallSpec {
            program: program.into(),
            name: name.into(),
            memory_limit: DEFAULT_MEMORY_LIMIT,
            call: Call::default(),
        }
    }
}

/// A contract's ELF image: any read-only bytes, cheap to clone. The command
/// line maps the contract's file rather than copying it into a fresh buffer,
/// which costs a page fault and a copy per 4 KiB.
#[derive(Clone)]
pub struct ProgramImage(Arc<dyn AsRef<[u8]> + Send + Sync>);

impl ProgramImage {
    /// An image backed by `bytes` (a `Vec<u8>`, a file mapping, ...).
    pub fn new(bytes: impl AsRef<[u8]> + Send + Sync + 'static) -> Self {
        ProgramImage(Arc::new(bytes))
    }
}

impl From<Vec<u8>> for ProgramImage {
    fn from(bytes: Vec<u8>) -> Self {
        ProgramImage::new(bytes)
    }
}

impl std::ops::Deref for ProgramImage {
    type Target = [u8];

    fn deref(&self) -> &[u8] {
        (*self.0).as_ref()
    }
}

impl std::fmt::Debug for ProgramImage {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "ProgramImage({} bytes)", self.len())
    }
}

/// Why a call could not be run at all (as opposed to the contract failing).
#[derive(Debug, Error)]
pub enum CallError {
    #[error("{0}")]
    Elf(#[from] ElfError),
    #[error("{0}")]
    Load(#[from] LoadError),
    #[error("{0}")]
    Memory(#[from] MemoryError),
    #[error("{0}")]
    Engine(#[from] EngineError),
    #[error("the engine stopped but the process has not ended (engine bug)")]
    NoTermination,
    #[error("a call moved to a standby engine that was not readied (qvm bug)")]
    NoStandby,
    #[error(
        "backend {0} cannot meter a call: it does not count instructions exactly \
         (docs/gas.md); use the emulator, or --gas-limit none"
    )]
    NotMetered(&'static str),
}

/// A fault, for reports.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct FaultReport {
    /// "memory", "invalid_opcode", "divide_error", "breakpoint",
    /// "general_protection", "floating_point", "alignment".
    pub kind: &'static str,
    /// Faulting data address for memory faults, else the instruction.
    pub address: u64,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub access: Option<Access>,
}

impl From<Fault> for FaultReport {
    fn from(f: Fault) -> Self {
        let (kind, address, access) = match f {
            Fault::Memory { addr, access } => ("memory", addr, Some(access)),
            Fault::InvalidOpcode { rip } => ("invalid_opcode", rip, None),
            Fault::DivideError { rip } => ("divide_error", rip, None),
            Fault::Breakpoint { rip } => ("breakpoint", rip, None),
            Fault::GeneralProtection { rip } => ("general_protection", rip, None),
            Fault::FloatingPoint { rip, .. } => ("floating_point", rip, None),
            Fault::Alignment { rip } => ("alignment", rip, None),
        };
        FaultReport {
            kind,
            address,
            access,
        }
    }
}

/// A refused or unknown syscall and how often it was made.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct RefusedSyscall {
    pub nr: u64,
    pub name: &'static str,
    pub count: u64,
}

/// Memory use of a call.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
pub struct MemoryReport {
    pub limit: u64,
    pub peak: u64,
}

/// Everything a call produced. Deterministic: no timing, no host facts.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Outcome {
    pub backend: &'static str,
    /// Exit status when the contract exited.
    pub exit_code: Option<i32>,
    /// Signal number when it was killed.
    pub signal: Option<i32>,
    pub fault: Option<FaultReport>,
    /// Why qvm's kernel ended the call itself, if it did.
    pub kill_reason: Option<String>,
    pub stdout: Vec<u8>,
    pub stderr: Vec<u8>,
    /// Non-zero exit, a signal, or any stderr output.
    pub failed: bool,
    /// State changes (empty when the call failed: they are discarded).
    pub state: StateChanges,
    pub syscalls: u64,
    pub refused: Vec<RefusedSyscall>,
    pub memory: MemoryReport,
    /// Gas of the call (docs/gas.md).
    pub gas: GasReport,
    pub trace: Option<Vec<TraceEntry>>,
    /// Syscalls made after the trace was full, not in `trace`.
    pub trace_dropped: u64,
}

impl Outcome {
    /// The status a shell would see: the exit code, or 128 + signal; 124
    /// ([`TIMEOUT_STATUS`]) when the host's timeout ended the call.
    pub fn status(&self) -> i32 {
        if self.timed_out() {
            return TIMEOUT_STATUS;
        }
        match (self.exit_code, self.signal) {
            (Some(code), _) => code,
            (None, Some(sig)) => 128 + sig,
            (None, None) => 125,
        }
    }

    /// Whether `--timeout` ended the call: the host's decision, not the
    /// contract's result.
    pub fn timed_out(&self) -> bool {
        self.kill_reason.as_deref() == Some(TIMEOUT_KILL_REASON)
    }

    /// The signal's name, if any.
    pub fn signal_name(&self) -> Option<&'static str> {
        self.signal.map(signal_name)
    }
}

/// argv as the contract sees it: its name, then the arguments.
fn argv_of(name: &str, call: &Call) -> Vec<Vec<u8>> {
    let mut argv = vec![name.as_bytes().to_vec()];
    argv.extend(call.args.iter().cloned());
    argv
}

/// The call's entropy stream, after the 16 AT_RANDOM bytes it gives first.
fn entropy_of(call_id: &[u8; 32], call: &Call) -> (Entropy, [u8; 16]) {
    let mut entropy = Entropy::new(&call.block.prev_hash, call_id);
    let mut at_random = [0u8; 16];
    entropy.fill(&mut at_random);
    (entropy, at_random)
}

/// The initial stack qvm gives this call's process, byte for byte. The
/// native instruction counter (qvm-conformance) gives a Linux process the
/// same one, so start-up runs the same instructions natively.
pub fn initial_stack(spec: &CallSpec) -> Result<process_image::InitialStack, CallError> {
    let image = elf::parse(&spec.program)?;
    let (_, at_random) = entropy_of(&call_id(&spec.program, &spec.call.args), &spec.call);
    Ok(process_image::initial_stack(
        &image,
        &argv_of(&spec.name, &spec.call),
        &spec.call.env,
        at_random,
    )?)
}

/// A loaded process, ready to run on an engine.
pub struct Process {
    kernel: Kernel,
    memory: Arc<GuestMemory>,
    entry: crate::engine::EntryState,
    timeout: Option<std::time::Duration>,
    timed_out: bool,
}

/// The engine a call moves to when it needs the instruction counting its
/// own engine lacks (see [`Process::run_with_standby`]): the emulator,
/// fresh or kept between calls ([`crate::warm::KeptEngine`]).
pub trait Standby {
    /// Readies the engine: mapping exactly `target` (the process's
    /// mappings now), over `memory`.
    fn take_over(
        &mut self,
        memory: &Arc<GuestMemory>,
        target: &[MemoryChange],
    ) -> Result<(), CallError>;
    /// The engine [`take_over`](Self::take_over) readied.
    fn engine(&mut self) -> Result<&mut dyn Engine, CallError>;
    /// The call ended on the engine, which maps `view` (None: not known).
    fn finished(&mut self, view: Option<Vec<MemoryChange>>);
}

/// What the kernel made of an engine's stop.
enum Step {
    /// Run the engine again.
    Go,
    /// Load this thread context, then run.
    Load(crate::engine::ThreadContext),
    /// The host's deadline passed.
    TimedOut,
}

impl Process {
    /// Validates the program and builds its process image: a contract
    /// loaded for one call.
    pub fn new(spec: &CallSpec) -> Result<Process, CallError> {
        let hashed = crate::image::hash_program(&spec.program);
        let image = ContractImage::load_hashed(
            &spec.program,
            hashed,
            &spec.name,
            spec.memory_limit,
            false,
        )?;
        Process::start(&image, &spec.call)
    }

    /// A process for `call` from a loaded contract's image. The image's
    /// memory must be as sealed (restored after any earlier call).
    pub fn start(image: &ContractImage, call: &Call) -> Result<Process, CallError> {
        let mut space = image.fork_space();
        let call_id = call_id_with(image.call_id_hasher(), &call.args);
        let (entropy, at_random) = entropy_of(&call_id, call);
        let argv = argv_of(image.name(), call);
        let loaded = image.loaded();
        let rsp = process_image::write_stack(&mut space, image.elf(), &argv, &call.env, at_random)?;
        let exe_path = format!("{EXE_DIR}{}", image.name()).into_bytes();
        let kernel = Kernel::new(
            space,
            KernelConfig {
                block: call.block,
                stdin: call.stdin.clone(),
                entropy,
                brk_start: loaded.brk_start,
                exe_path,
                trace: call.trace,
                gas_limit: call.gas_limit,
                state: call.state.clone(),
            },
        );
        Ok(Process {
            kernel,
            memory: image.memory().clone(),
            entry: crate::engine::EntryState {
                rip: loaded.entry,
                rsp,
            },
            timeout: call.timeout,
            timed_out: false,
        })
    }

    /// Passes the contract's stdout and stderr to `sink` as they are
    /// written: the outcome's `stdout`, `stderr` and `state` stay empty.
    /// What the contract sees is the same either way.
    pub fn stream_output(&mut self, sink: Box<dyn crate::kernel::output::OutputSink>) {
        self.kernel.set_output_sink(sink);
    }

    /// The guest memory an engine must map.
    pub fn memory(&self) -> &Arc<GuestMemory> {
        &self.memory
    }

    /// Runs the process to its end on `engine`, a fresh one.
    pub fn run(self, engine: &mut dyn Engine) -> Result<Outcome, CallError> {
        self.run_with_standby(engine, None)
    }

    /// Runs the process to its end on `engine`, a fresh one; when the
    /// contract creates a thread on an engine that does not count
    /// instructions (KVM), the call continues from that point on
    /// `standby`'s engine (the emulator): time slices are counted in
    /// instructions from the first thread creation, so the schedule, and
    /// the outcome, are the same as on the emulator alone. Without a
    /// standby such a call runs on, but its threads switch only when they
    /// block.
    pub fn run_with_standby(
        self,
        engine: &mut dyn Engine,
        standby: Option<&mut dyn Standby>,
    ) -> Result<Outcome, CallError> {
        engine.apply(&self.mappings())?;
        self.run_mapped(engine, standby).map(|(outcome, _)| outcome)
    }

    /// What an engine must map for this process to start.
    pub fn mappings(&self) -> Vec<crate::address_space::MemoryChange> {
        self.kernel.space().visible()
    }

    /// What the engine that ran last maps, if the kernel knows: it does
    /// unless changes are pending that no engine has taken.
    fn engine_view(&self) -> Option<Vec<crate::address_space::MemoryChange>> {
        (!self.kernel.space().has_changes()).then(|| self.kernel.space().visible())
    }

    /// [`run_with_standby`](Self::run_with_standby) on an engine that
    /// maps exactly [`mappings`](Self::mappings). Also returns what
    /// `engine` maps afterwards (None when that is not known).
    pub(crate) fn run_mapped(
        mut self,
        engine: &mut dyn Engine,
        mut standby: Option<&mut dyn Standby>,
    ) -> Result<(Outcome, Option<Vec<MemoryChange>>), CallError> {
        if self.kernel.instruction_limit().is_some() && !engine.counts_instructions() {
            return Err(CallError::NotMetered(engine.name()));
        }
        self.kernel.space_mut().take_changes();
        engine.reset(self.entry)?;
        self.kernel.charge_initial_memory();
        let deadline = self.timeout.map(|t| std::time::Instant::now() + t);
        engine.set_deadline(deadline);
        let backend = engine.name();
        // The standby, once the call moved to it.
        let mut moved: Option<&mut dyn Standby> = None;
        let mut view = None;
        while self.kernel.termination().is_none() {
            let has_moved = moved.is_some();
            let e: &mut dyn Engine = match moved.as_deref_mut() {
                Some(s) => s.engine()?,
                None => &mut *engine,
            };
            match self.step(e)? {
                Step::Go => {}
                Step::TimedOut => {
                    self.timed_out = true;
                    break;
                }
                Step::Load(next) => {
                    let needs_counting = self.kernel.time_slices() && !e.counts_instructions();
                    if needs_counting && !has_moved {
                        if let Some(s) = standby.take() {
                            view = self.engine_view();
                            // The standby maps what the process maps now;
                            // changes the first engine never took are in it.
                            self.kernel.space_mut().take_changes();
                            let mapped = self.kernel.space().visible();
                            s.take_over(&self.memory, &mapped)?;
                            let m = s.engine()?;
                            m.reset(self.entry)?;
                            m.set_context(&next)?;
                            m.set_deadline(deadline);
                            self.kernel.counts_relative();
                            log::debug!("thread created on {backend}: continuing on {}", m.name());
                            moved = Some(s);
                            continue;
                        }
                    }
                    e.set_context(&next)?;
                }
            }
        }
        // The deadline (and an engine's watchdog thread) ends with the call.
        engine.set_deadline(None);
        if let Some(m) = moved.as_deref_mut().and_then(|s| s.engine().ok()) {
            m.set_deadline(None);
        }
        // A call that moved engines was not counted from its start.
        let instructions = match moved {
            Some(s) => {
                s.finished(self.engine_view());
                None
            }
            None => {
                view = self.engine_view();
                engine.instructions()
            }
        };
        Ok((self.finish(backend, instructions), view))
    }

    /// Runs `engine` until it stops and hands the stop to the kernel.
    fn step(&mut self, engine: &mut dyn Engine) -> Result<Step, CallError> {
        match engine.run(&mut self.kernel)? {
            Exit::Stopped => {
                if self.kernel.termination().is_none() {
                    return Err(CallError::NoTermination);
                }
            }
            Exit::Fault(f) => {
                let context = engine.context()?;
                if let Some(next) = self.kernel.fault_signal(f, context) {
                    return Ok(Step::Load(next));
                }
            }
            Exit::Reschedule => {
                let now = engine.instructions().unwrap_or(0);
                let context = engine.context()?;
                if let Some(next) = self.kernel.reschedule(context, now) {
                    return Ok(Step::Load(next));
                }
            }
            Exit::InstructionLimit => {
                let now = engine.instructions().unwrap_or(0);
                if self.kernel.slice_over(now) {
                    let context = engine.context()?;
                    if let Some(next) = self.kernel.preempt(context, now) {
                        return Ok(Step::Load(next));
                    }
                } else {
                    self.kernel.out_of_gas();
                }
            }
            Exit::TimedOut => return Ok(Step::TimedOut),
        }
        Ok(Step::Go)
    }

    fn finish(mut self, backend: &'static str, instructions: Option<u64>) -> Outcome {
        let (exit_code, signal, fault) = match self.kernel.termination() {
            // Cut short by the host: killed, as timeout -s KILL would.
            _ if self.timed_out => (None, Some(9), None),
            Some(Termination::Exited(code)) => (Some(code), None, None),
            Some(Termination::Signaled { signal, fault }) => {
                (None, Some(signal), fault.map(FaultReport::from))
            }
            None => (None, None, None),
        };
        let (stdout, stderr) = self.kernel.take_output();
        let failed =
            exit_code != Some(0) || self.kernel.written(crate::kernel::output::Stream::Stderr) > 0;
        let state = if failed {
            StateChanges::default()
        } else {
            StateChanges::from_stdout(&stdout)
        };
        let refused = self
            .kernel
            .refused()
            .iter()
            .map(|(&nr, &count)| RefusedSyscall {
                nr,
                name: table::name(nr),
                count,
            })
            .collect();
        Outcome {
            backend,
            exit_code,
            signal,
            fault,
            kill_reason: if self.timed_out {
                Some(TIMEOUT_KILL_REASON.to_string())
            } else {
                self.kernel.kill_reason().map(str::to_string)
            },
            stdout,
            stderr,
            failed,
            state,
            syscalls: self.kernel.syscall_count(),
            refused,
            memory: MemoryReport {
                limit: self.kernel.space().limit(),
                peak: self.kernel.space().peak_committed(),
            },
            gas: self.kernel.gas_report(instructions),
            trace_dropped: self.kernel.trace_dropped(),
            trace: self.kernel.take_trace(),
        }
    }
}
