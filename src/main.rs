//! The `qvm` command line.

mod chain_cli;

use std::ffi::OsString;
use std::io::{Read, Write};
use std::os::unix::ffi::OsStringExt;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use clap::{Parser, Subcommand};
use qvm::units::{parse_block_hash, parse_gas_limit, parse_memory};
use qvm::{BackendChoice, BlockContext, CallSpec, ProgramImage};
use qvm_common::layout::DEFAULT_MEMORY_LIMIT;

/// Exit status for qvm's own errors (as opposed to the contract's).
const QVM_ERROR: u8 = 125;
/// Most bytes `qvm check` reads (the largest memory limit a call may have).
const CHECK_INPUT_LIMIT: u64 = 64 << 30;

#[derive(Parser)]
#[command(
    name = "qvm",
    version,
    about = "Deterministic runtime for static x86-64 Linux ELF smart contracts"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Run a static x86-64 Linux ELF as one contract call.
    ///
    /// The contract's stdout and stderr pass through byte for byte and qvm
    /// exits with its status (128+N when it dies of signal N). qvm's own
    /// errors print one `qvm: error:` line and exit 125.
    Run(RunArgs),
    /// Run one call on every available backend (and natively with
    /// --native) and print the first difference, field by field.
    ///
    /// Exits 0 when all runs agree, 1 when they differ, 125 on qvm's own
    /// errors. Backends that are not available here are listed as skipped.
    Diff(DiffArgs),
    /// Build the conformance corpus and run every program natively and on
    /// every backend; print a table program x backend.
    ///
    /// Exits 0 when nothing failed, 1 otherwise. Progress goes to stderr.
    Conformance(ConformanceArgs),
    /// List a contract's instructions outside the CPU profile's baseline
    /// and required lists (docs/cpu-profile.md), and what the check
    /// cannot see.
    ///
    /// Exits 0 when nothing fails, 1 when a hazard is found outside code
    /// that only an ifunc resolver selects (hidden instructions are
    /// warnings: they raise SIGILL identically everywhere), 125 on qvm's
    /// own errors.
    Check(CheckArgs),
    /// Load a contract once, run one call cold and then --calls warm calls
    /// of it in one process; print calls per second, latency percentiles
    /// and gas per call.
    ///
    /// Every warm call's outcome is compared with the cold call's: exits 1
    /// at the first difference (so it doubles as a check that repeated
    /// calls are deterministic), 0 when all agree, 125 on qvm's own errors.
    Bench(BenchArgs),
    /// Create a local chain with chosen limits, genesis time and block
    /// interval (fixed for its life; the other chain commands create one
    /// with the defaults on first use).
    Init(chain_cli::InitArgs),
    /// Deploy a contract to the local chain: store it, give it an address,
    /// run `construct` as its first transaction. Prints the address alone
    /// on the last line (docs/chain.md).
    Deploy(chain_cli::DeployArgs),
    /// Call a contract on the local chain: one transaction in a new block.
    /// Its writes are applied if it succeeds; exits with its status.
    Call(chain_cli::CallArgs),
    /// Run a call against the local chain's latest state; nothing stored.
    Query(chain_cli::CallArgs),
    /// Print a contract's stored state, or one key's value (its bytes and
    /// nothing else).
    State(chain_cli::StateArgs),
    /// List the local chain's blocks.
    Blocks(chain_cli::BlocksArgs),
    /// Show a transaction and its receipt.
    Tx(chain_cli::TxLookupArgs),
    /// Re-execute every block from genesis into a fresh store and check
    /// every state root, receipt and block hash. Exits 1 at a difference.
    Replay(chain_cli::ReplayArgs),
    /// Serve the local chain over HTTP (docs/api.md).
    Serve(chain_cli::ServeArgs),
}

#[derive(clap::Args)]
struct BenchArgs {
    /// Backend: auto picks KVM when /dev/kvm works (and the call is not
    /// metered), else the emulator.
    #[arg(long, value_enum, default_value = "auto")]
    backend: BackendChoice,
    /// Warm calls after the cold one.
    #[arg(long, value_name = "N", default_value_t = 1000)]
    calls: u64,
    /// Print one JSON document (docs/bench-json.md) instead of the text.
    #[arg(long)]
    json: bool,
    /// Record every call's syscall trace (compared like the rest).
    #[arg(long)]
    trace: bool,
    #[command(flatten)]
    call: CallArgs,
}

#[derive(clap::Args)]
struct CheckArgs {
    /// Print one JSON document (schema: docs/check-json.md).
    #[arg(long)]
    json: bool,
    /// The contract (a static x86-64 Linux ELF executable).
    #[arg(value_name = "CONTRACT")]
    contract: PathBuf,
}

#[derive(clap::Args)]
struct ConformanceArgs {
    /// Print the report as one JSON document instead of the table.
    #[arg(long)]
    json: bool,
    /// Also write the report as Markdown to this file.
    #[arg(long, value_name = "FILE")]
    markdown: Option<PathBuf>,
    /// Only programs whose name contains this.
    #[arg(long, value_name = "TEXT")]
    only: Option<String>,
    /// Only this program, by its exact name (repeatable; with --only, a
    /// program must match both).
    #[arg(long = "program", value_name = "NAME")]
    programs: Vec<String>,
    /// Write every cold call's outcome, as `qvm run --json` prints it, to
    /// DIR/PROGRAM.CASE.BACKEND.json (CASE counts from 1), for comparing
    /// runs byte for byte (scripts/check-aarch64.sh).
    #[arg(long, value_name = "DIR")]
    outcomes: Option<PathBuf>,
    /// Backends to run: all (emu and kvm), emu or kvm.
    #[arg(long, default_value = "all", value_parser = ["all", "emu", "kvm"])]
    backends: String,
    /// Rewrite the golden files from this run's output.
    #[arg(long)]
    bless: bool,
    /// Write which programs made each syscall to docs/syscall-coverage.tsv
    /// and regenerate docs/syscalls.md from it (needs the whole corpus).
    #[arg(long, conflicts_with = "only")]
    write_syscall_coverage: bool,
    /// Single steps the native instruction oracle may take per case
    /// (about 30,000 a second); programs known to run more are skipped.
    #[arg(long, value_name = "N", default_value_t = qvm_conformance::runner::DEFAULT_NATIVE_STEPS)]
    native_steps: u64,
}

/// What defines one call: shared by `run` and `diff`.
#[derive(clap::Args)]
struct CallArgs {
    /// Previous block's hash, 64 hex digits (seeds all randomness).
    #[arg(long, value_name = "HEX", value_parser = parse_block_hash)]
    block_hash: Option<[u8; 32]>,
    /// Previous block's timestamp in seconds (the contract's clock).
    #[arg(long, value_name = "SECONDS", default_value_t = 0)]
    block_time: u64,
    /// An environment variable for the contract (repeatable); nothing else
    /// from the host's environment is passed.
    #[arg(long = "env", value_name = "KEY=VALUE", value_parser = parse_env)]
    env: Vec<OsString>,
    /// File to give the contract as standard input (default: empty).
    #[arg(long, value_name = "FILE")]
    stdin: Option<PathBuf>,
    /// Memory limit for the call, e.g. 256M or 1G (default 256M).
    #[arg(long, value_name = "SIZE", value_parser = parse_memory)]
    memory: Option<u64>,
    /// Gas limit (docs/gas.md): the call is killed, out of gas, when its
    /// instructions and kernel work would pass it. Default 100_000_000_000.
    /// `none` runs unmetered, which KVM needs: it cannot count
    /// instructions exactly, so a metered call runs on the emulator.
    #[arg(long, value_name = "N|none", value_parser = parse_gas_limit)]
    gas_limit: Option<qvm::units::GasLimitArg>,
    /// The host's safety net: end the call after SECONDS of wall-clock
    /// time (decimals allowed). Such a call ends with status 124 and a
    /// kill_reason saying so: the host's limit, not a deterministic verdict.
    #[arg(long, value_name = "SECONDS", value_parser = parse_timeout)]
    timeout: Option<std::time::Duration>,
    /// The contract (a static x86-64 Linux ELF executable), then its
    /// arguments. Everything after CONTRACT belongs to the contract, even
    /// words that look like qvm's options: a node that forwards a user's
    /// arguments must not let them steer qvm.
    #[arg(
        value_names = ["CONTRACT", "ARGS"],
        required = true,
        num_args = 1..,
        trailing_var_arg = true
    )]
    command: Vec<OsString>,
}

impl CallArgs {
    /// The contract's path and its arguments (clap guarantees the path).
    fn split_command(&self) -> Result<(PathBuf, &[OsString]), String> {
        match self.command.split_first() {
            Some((contract, args)) => Ok((PathBuf::from(contract), args)),
            None => Err("no CONTRACT given".into()),
        }
    }
}

#[derive(clap::Args)]
struct RunArgs {
    /// Backend: auto picks KVM when /dev/kvm works, else the emulator.
    #[arg(long, value_enum, default_value = "auto")]
    backend: BackendChoice,
    /// Print one JSON document describing the outcome instead of passing
    /// output through (schema: docs/outcome-json.md).
    #[arg(long)]
    json: bool,
    /// Include the full syscall trace in the JSON document.
    #[arg(long, requires = "json")]
    trace: bool,
    #[command(flatten)]
    call: CallArgs,
}

#[derive(clap::Args)]
struct DiffArgs {
    /// Also run the contract natively on this host and compare what a shell
    /// sees (status, stdout, stderr). This runs it for real: only for
    /// programs you trust, and whose output depends neither on time nor on
    /// randomness.
    #[arg(long)]
    native: bool,
    #[command(flatten)]
    call: CallArgs,
}

fn parse_timeout(text: &str) -> Result<std::time::Duration, String> {
    text.parse::<f64>()
        .ok()
        .filter(|s| *s > 0.0)
        .and_then(|s| std::time::Duration::try_from_secs_f64(s).ok())
        .ok_or_else(|| format!("'{text}' is not a positive number of seconds"))
}

fn parse_env(text: &str) -> Result<OsString, String> {
    match text.split_once('=') {
        Some((k, _)) if !k.is_empty() => Ok(OsString::from(text)),
        _ => Err(format!("'{text}' is not KEY=VALUE")),
    }
}

/// Maps the contract's file read-only instead of reading it: the loader
/// copies the segments it needs from the page cache, and a 1 MB contract
/// costs no buffer to fault in and fill (0.3 ms of a hello-world call).
fn map_contract(path: &Path, limit: u64) -> Result<ProgramImage, String> {
    let (file, meta) = open_input("contract", path, limit)?;
    if !meta.is_file() || meta.len() == 0 {
        // Pipes and devices cannot be mapped, nor can an empty file.
        return read_all("contract", path, file, limit).map(ProgramImage::from);
    }
    // SAFETY: a read-only mapping of a regular file, only read while the
    // process is built. Like any program that maps its input, qvm relies
    // on the file not being truncated or rewritten meanwhile.
    let map = unsafe { memmap2::MmapOptions::new().populate().map(&file) }
        .map_err(|e| read_error("contract", path, &e))?;
    Ok(ProgramImage::new(map))
}

fn read_file(what: &str, path: &Path, limit: u64) -> Result<Vec<u8>, String> {
    let (file, _) = open_input(what, path, limit)?;
    read_all(what, path, file, limit)
}

/// Opens an input file: not a directory, and no larger than `limit`.
fn open_input(
    what: &str,
    path: &Path,
    limit: u64,
) -> Result<(std::fs::File, std::fs::Metadata), String> {
    let file = std::fs::File::open(path).map_err(|e| read_error(what, path, &e))?;
    let meta = file.metadata().map_err(|e| read_error(what, path, &e))?;
    if meta.is_dir() {
        return Err(format!(
            "cannot read {what} {}: it is a directory",
            path.display()
        ));
    }
    if meta.len() > limit {
        return Err(format!(
            "{what} {} is {} bytes, more than the {limit} byte memory limit",
            path.display(),
            meta.len()
        ));
    }
    Ok((file, meta))
}

/// Reads the whole input, at most `limit` bytes: a pipe, FIFO or device
/// (`/dev/zero`) has no size to check beforehand, so past the limit it is
/// refused like a regular file that is too large.
fn read_all(what: &str, path: &Path, file: std::fs::File, limit: u64) -> Result<Vec<u8>, String> {
    let mut bytes = Vec::new();
    file.take(limit.saturating_add(1))
        .read_to_end(&mut bytes)
        .map_err(|e| read_error(what, path, &e))?;
    if bytes.len() as u64 > limit {
        return Err(format!(
            "{what} {} gives more than the {limit} byte memory limit (not a regular file: read until the limit)",
            path.display()
        ));
    }
    Ok(bytes)
}

fn read_error(what: &str, path: &Path, e: &std::io::Error) -> String {
    format!("cannot read {what} {}: {}", path.display(), io_reason(e))
}

/// An io::Error's message without the "(os error N)" suffix.
fn io_reason(e: &std::io::Error) -> String {
    let s = e.to_string();
    match s.find(" (os error") {
        Some(i) => s[..i].to_string(),
        None => s,
    }
}

/// Builds the call's spec from the command line.
fn call_spec(call: CallArgs, trace: bool) -> Result<CallSpec, String> {
    let memory_limit = call.memory.unwrap_or(DEFAULT_MEMORY_LIMIT);
    let (contract, args) = call.split_command()?;
    let program = map_contract(&contract, memory_limit)?;
    let stdin = match &call.stdin {
        Some(p) => read_file("stdin file", p, memory_limit)?,
        None => Vec::new(),
    };
    let name = contract
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_else(|| "contract".into());
    let mut spec = CallSpec::new(program, name);
    spec.call.args = args.iter().cloned().map(OsString::into_vec).collect();
    spec.call.env = call.env.into_iter().map(OsString::into_vec).collect();
    spec.call.stdin = stdin;
    spec.call.block = BlockContext {
        prev_hash: call.block_hash.unwrap_or([0; 32]),
        timestamp: call.block_time,
    };
    spec.memory_limit = memory_limit;
    spec.call.trace = trace;
    spec.call.gas_limit = call
        .gas_limit
        .map_or(Some(qvm_common::kernel::gas::DEFAULT_GAS_LIMIT), |g| g.0);
    spec.call.timeout = call.timeout;
    Ok(spec)
}

/// The one stderr line of a call that `--timeout` ended.
fn timeout_line(timeout: Option<std::time::Duration>) -> String {
    format!(
        "qvm: timeout: the call ran past --timeout {}s of the host's wall clock and was killed; \
         this is the host's limit, not a deterministic verdict (status {})",
        timeout.map_or(0.0, |t| t.as_secs_f64()),
        qvm_common::watchdog::TIMEOUT_STATUS
    )
}

/// qvm's own stdout and stderr, as a sink for the contract's output.
struct HostStreams;

impl qvm_common::kernel::output::OutputSink for HostStreams {
    fn write(&mut self, stream: qvm_common::kernel::output::Stream, bytes: &[u8]) {
        use qvm_common::kernel::output::Stream;
        // A closed stdout/stderr is the reader's choice, not an error of
        // the call: ignore write failures like a pipe's EPIPE. Flushed at
        // once, so the output appears as the contract writes it.
        let _ = match stream {
            Stream::Stdout => {
                let mut out = std::io::stdout().lock();
                out.write_all(bytes).and_then(|()| out.flush())
            }
            Stream::Stderr => std::io::stderr().lock().write_all(bytes),
        };
    }
}

fn run(args: RunArgs) -> Result<u8, String> {
    let timeout = args.call.timeout;
    let spec = call_spec(args.call, args.trace)?;
    if !args.json {
        // Pass-through: the contract's output goes out as it is written.
        let outcome = qvm::run_streaming(&spec, args.backend, Box::new(HostStreams))
            .map_err(|e| e.to_string())?;
        if outcome.timed_out() {
            eprintln!("{}", timeout_line(timeout));
        } else if let Some(reason) = &outcome.kill_reason {
            // qvm ended the call itself: say why, after the contract's own
            // output, since the status alone (137) looks like a crash.
            eprintln!("qvm: call killed: {reason}");
        }
        return Ok(outcome.status().clamp(0, 255) as u8);
    }
    let outcome = qvm::run(&spec, args.backend).map_err(|e| e.to_string())?;
    let mut out = std::io::BufWriter::new(std::io::stdout().lock());
    qvm::report::write_json(&outcome, &mut out)
        .and_then(|()| writeln!(out))
        .and_then(|()| out.flush())
        .map_err(|e| format!("cannot write output: {e}"))?;
    Ok(outcome.status().clamp(0, 255) as u8)
}

/// One line describing an outcome.
fn summary(o: &qvm::Outcome) -> String {
    let end = match (o.exit_code, o.signal_name()) {
        _ if o.timed_out() => "timed out (the host's --timeout, not a verdict)".into(),
        (Some(code), _) => format!("exit {code}"),
        (None, Some(sig)) => format!("killed by {sig}"),
        (None, None) => "no status".into(),
    };
    let gas = match o.gas.used {
        Some(used) => format!(", {used} gas"),
        None => String::new(),
    };
    let killed = match &o.kill_reason {
        Some(reason) => format!(" ({reason})"),
        None => String::new(),
    };
    format!(
        "{end}{killed}, {} bytes stdout, {} bytes stderr, {} syscalls{gas}",
        o.stdout.len(),
        o.stderr.len(),
        o.syscalls
    )
}

fn diff(args: DiffArgs) -> Result<u8, String> {
    let (contract, _) = args.call.split_command()?;
    let spec = call_spec(args.call, true)?;
    let mut runs: Vec<qvm::Outcome> = Vec::new();
    for choice in [BackendChoice::Emu, BackendChoice::Kvm] {
        match qvm::run(&spec, choice) {
            Ok(outcome) => {
                println!("{}: {}", outcome.backend, summary(&outcome));
                runs.push(outcome);
            }
            Err(
                e @ (qvm::RunError::Engine(qvm_common::engine::EngineError::Unavailable(..))
                | qvm::RunError::Call(qvm_common::call::CallError::NotMetered(_))),
            ) => {
                println!(
                    "{}: skipped ({e})",
                    if choice == BackendChoice::Kvm {
                        "kvm"
                    } else {
                        "emu"
                    }
                );
            }
            Err(e) => return Err(e.to_string()),
        }
    }
    let Some(reference) = runs.first() else {
        return Err("no backend could run the call".into());
    };
    let mut differ = false;
    for other in &runs[1..] {
        if let Some(d) = qvm_conformance::compare::outcome_difference(reference, other) {
            differ = true;
            println!(
                "{} vs {}: first difference in {}:",
                reference.backend, other.backend, d.field
            );
            println!("  {}: {}", reference.backend, d.left);
            println!("  {}: {}", other.backend, d.right);
        }
    }
    if args.native {
        // A bare file name is a file here, as for `qvm run`, not a
        // command to look up in PATH.
        let native_path = if contract.components().count() == 1 {
            Path::new(".").join(&contract)
        } else {
            contract.clone()
        };
        let native = qvm_conformance::native::run(
            &native_path,
            &spec.call.args,
            &spec.call.env,
            &spec.call.stdin,
        )
        .map_err(|e| {
            format!(
                "cannot run {} natively: {}",
                contract.display(),
                io_reason(&e)
            )
        })?;
        println!(
            "native: {}",
            if native.status < 128 {
                format!("exit {}", native.status)
            } else {
                format!("killed by signal {}", native.status - 128)
            }
        );
        if let Some(d) = qvm_conformance::compare::native_difference(&native, reference) {
            differ = true;
            println!(
                "native vs {}: first difference in {}:",
                reference.backend, d.field
            );
            println!("  native: {}", d.left);
            println!("  {}: {}", reference.backend, d.right);
        }
    }
    if differ {
        Ok(1)
    } else {
        let compared = runs.len() + usize::from(args.native);
        if compared < 2 {
            println!("only one run here: nothing to compare (add --native, or run on a host with /dev/kvm)");
        } else {
            println!("all {compared} runs agree");
        }
        Ok(0)
    }
}

fn conformance(args: ConformanceArgs) -> Result<u8, String> {
    use qvm::backend::BackendExecutor;
    use qvm::recording::RecordingExecutor;
    use qvm_conformance::runner::{self, Executor, Options, Paths};
    let known = qvm_conformance::corpus::programs();
    if let Some(name) = args
        .programs
        .iter()
        .find(|n| !known.iter().any(|p| p.name == n.as_str()))
    {
        return Err(format!("no corpus program is named {name:?}"));
    }
    if let Some(dir) = &args.outcomes {
        std::fs::create_dir_all(dir)
            .map_err(|e| format!("cannot create {}: {}", dir.display(), io_reason(&e)))?;
    }
    let emu = RecordingExecutor::new(BackendExecutor(BackendChoice::Emu), args.outcomes.clone());
    let kvm = RecordingExecutor::new(BackendExecutor(BackendChoice::Kvm), args.outcomes);
    let executors: Vec<&dyn Executor> = match args.backends.as_str() {
        "emu" => vec![&emu],
        "kvm" => vec![&kvm],
        _ => vec![&emu, &kvm],
    };
    let opts = Options {
        only: args.only,
        programs: args.programs,
        bless: args.bless,
        native_steps: args.native_steps,
        warm_skip: None,
    };
    let paths = Paths::of_checkout();
    let report = runner::run(&executors, &paths, &opts, &mut |line| {
        eprintln!("conformance: {line}")
    });
    if let Some(path) = &args.markdown {
        std::fs::write(path, report.markdown())
            .map_err(|e| format!("cannot write {}: {}", path.display(), io_reason(&e)))?;
    }
    if args.json {
        println!("{}", report.json());
    } else {
        print!("{}", report.text());
    }
    if args.write_syscall_coverage {
        report.coverage.write(&paths.root)?;
    }
    Ok(u8::from(report.counts().1 > 0))
}

fn bench(args: BenchArgs) -> Result<u8, String> {
    let spec = call_spec(args.call, args.trace)?;
    let options = qvm::RuntimeOptions {
        backend: args.backend,
        memory_limit: spec.memory_limit,
        ..qvm::RuntimeOptions::default()
    };
    // A bar on a terminal (indicatif draws nothing elsewhere).
    let bar = indicatif::ProgressBar::new(args.calls);
    bar.set_style(
        indicatif::ProgressStyle::with_template(
            "{msg} [{bar:30}] {pos}/{len} warm calls, {per_sec}, {eta} left",
        )
        .unwrap_or_else(|_| indicatif::ProgressStyle::default_bar())
        .progress_chars("=> "),
    );
    bar.set_message(spec.name.clone());
    let mut progress = |done: u64| bar.set_position(done);
    let report = qvm::bench::bench(
        options,
        &spec.name,
        spec.program.clone(),
        &spec.call,
        args.calls,
        &mut progress,
    )
    .map_err(|e| e.to_string())?;
    bar.finish_and_clear();
    let text = if args.json {
        report.json() + "\n"
    } else {
        report.text()
    };
    std::io::stdout()
        .lock()
        .write_all(text.as_bytes())
        .map_err(|e| format!("cannot write output: {}", io_reason(&e)))?;
    Ok(u8::from(report.difference.is_some()))
}

fn check(args: CheckArgs) -> Result<u8, String> {
    let (file, _) = open_input("contract", &args.contract, u64::MAX)?;
    let bytes = read_all("contract", &args.contract, file, CHECK_INPUT_LIMIT)?;
    let report = qvm::check::check(&bytes)
        .map_err(|e| format!("cannot check {}: {e}", args.contract.display()))?;
    let text = if args.json {
        qvm::check::output::json(&report) + "\n"
    } else {
        qvm::check::output::text(&report, &args.contract.display().to_string())
    };
    std::io::stdout()
        .lock()
        .write_all(text.as_bytes())
        .map_err(|e| format!("cannot write output: {}", io_reason(&e)))?;
    Ok(report.status())
}

fn main() -> ExitCode {
    // Diagnostics only (e.g. RUST_LOG=qvm_common=trace prints every
    // syscall); never part of an outcome.
    env_logger::Builder::from_env(env_logger::Env::default().default_filter_or("off")).init();
    // A bug in qvm must still end as one error line and status 125, never
    // a backtrace; exiting here also avoids unwinding through unicorn's C
    // frames when a hook panics.
    std::panic::set_hook(Box::new(|info| {
        let msg = info
            .payload()
            .downcast_ref::<&str>()
            .map(|s| s.to_string())
            .or_else(|| info.payload().downcast_ref::<String>().cloned())
            .unwrap_or_else(|| "unknown panic".into());
        let at = info
            .location()
            .map(|l| format!(" at {}:{}", l.file(), l.line()))
            .unwrap_or_default();
        eprintln!(
            "qvm: error: internal error: {}{at} (please report this)",
            msg.replace('\n', " ")
        );
        std::process::exit(i32::from(QVM_ERROR));
    }));
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        Err(e) if !e.use_stderr() => {
            // --help and --version.
            let _ = e.print();
            return ExitCode::SUCCESS;
        }
        Err(e) => {
            // One line: clap's message up to its usage hint, joined.
            let rendered = e.render().to_string();
            let msg: Vec<&str> = rendered
                .lines()
                .take_while(|l| !l.starts_with("Usage:") && !l.starts_with("For more information"))
                .map(str::trim)
                .filter(|l| !l.is_empty())
                .collect();
            let msg = msg.join(" ");
            let msg = msg.strip_prefix("error: ").unwrap_or(&msg);
            eprintln!("qvm: error: {msg} (see qvm --help)");
            return ExitCode::from(QVM_ERROR);
        }
    };
    let result = match cli.command {
        Command::Run(args) => run(args),
        Command::Diff(args) => diff(args),
        Command::Conformance(args) => conformance(args),
        Command::Check(args) => check(args),
        Command::Bench(args) => bench(args),
        Command::Init(args) => chain_cli::init(args),
        Command::Deploy(args) => chain_cli::deploy(args),
        Command::Call(args) => chain_cli::call(args),
        Command::Query(args) => chain_cli::query(args),
        Command::State(args) => chain_cli::state(args),
        Command::Blocks(args) => chain_cli::blocks(args),
        Command::Tx(args) => chain_cli::tx(args),
        Command::Replay(args) => chain_cli::replay(args),
        Command::Serve(args) => chain_cli::serve(args),
    };
    match result {
        Ok(status) => ExitCode::from(status),
        Err(msg) => {
            eprintln!("qvm: error: {msg}");
            ExitCode::from(QVM_ERROR)
        }
    }
}
