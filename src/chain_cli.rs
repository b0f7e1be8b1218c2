//! The local chain's commands: `qvm deploy`, `call`, `query`, `state`,
//! `blocks`, `tx`, `replay` and `serve` (docs/chain.md, docs/api.md).

use std::ffi::OsString;
use std::io::Write;
use std::os::unix::ffi::OsStringExt;
use std::path::{Path, PathBuf};

use qvm::executor::{executor_for, RuntimeExecutor};
use qvm::units::parse_gas_limit;
use qvm::BackendChoice;
use qvm_chain::{Address, Block, ChainConfig, Execution, Hash, Ledger, Receipt, Snapshot};

/// The data directory when none is given.
const DEFAULT_DATA_DIR: &str = ".qvm";
/// The sender of transactions that name none.
const DEFAULT_SENDER: &str = "dev";

/// Where the chain lives.
#[derive(clap::Args)]
pub struct ChainArgs {
    /// The chain's directory (created on first use).
    #[arg(long, value_name = "DIR", default_value = DEFAULT_DATA_DIR)]
    data_dir: PathBuf,
}

/// What runs the contracts of a command that runs them.
#[derive(clap::Args)]
pub struct ExecArgs {
    /// Backend. auto is the emulator: the chain records every transaction's
    /// gas, which only the emulator counts; kvm can replay and query.
    #[arg(long, value_enum, default_value = "auto")]
    backend: BackendChoice,
    /// The host's safety net per call, in seconds: a transaction it ends
    /// is refused and not recorded (a replay stops there).
    #[arg(long, value_name = "SECONDS", value_parser = crate::parse_timeout)]
    timeout: Option<std::time::Duration>,
}

impl ExecArgs {
    fn executor(&self) -> RuntimeExecutor {
        executor_for(self.backend, self.timeout)
    }
}

/// What a transaction or query carries besides its contract and
/// arguments (a deploy's `construct` gets no stdin: the ledger records
/// none for it).
#[derive(clap::Args)]
pub struct TxArgs {
    /// Who sends it: the contract sees it as QVM_SENDER.
    #[arg(long, value_name = "S", default_value = DEFAULT_SENDER)]
    sender: String,
    /// Gas limit, or `none` (docs/gas.md). Default 100_000_000_000.
    #[arg(long, value_name = "N|none", value_parser = parse_gas_limit)]
    gas_limit: Option<qvm::units::GasLimitArg>,
    /// Print one JSON document instead of text.
    #[arg(long)]
    json: bool,
}

#[derive(clap::Args)]
pub struct DeployArgs {
    #[command(flatten)]
    chain: ChainArgs,
    #[command(flatten)]
    exec: ExecArgs,
    #[command(flatten)]
    tx: TxArgs,
    /// The contract (a static x86-64 Linux ELF), then extra arguments for
    /// its `construct` call.
    #[arg(value_names = ["CONTRACT", "ARGS"], required = true, num_args = 1.., trailing_var_arg = true)]
    command: Vec<OsString>,
}

#[derive(clap::Args)]
pub struct CallArgs {
    #[command(flatten)]
    chain: ChainArgs,
    #[command(flatten)]
    exec: ExecArgs,
    #[command(flatten)]
    tx: TxArgs,
    /// File to give the contract as standard input.
    #[arg(long, value_name = "FILE")]
    stdin: Option<PathBuf>,
    /// The contract's address, then its arguments (everything after the
    /// address belongs to the contract).
    #[arg(value_names = ["ADDRESS", "ARGS"], required = true, num_args = 1.., trailing_var_arg = true)]
    command: Vec<OsString>,
}

#[derive(clap::Args)]
pub struct StateArgs {
    #[command(flatten)]
    chain: ChainArgs,
    /// Print one JSON document instead of text.
    #[arg(long)]
    json: bool,
    /// KEY is given in hex (for binary keys).
    #[arg(long)]
    hex: bool,
    /// The contract's address.
    address: String,
    /// Print only this key's value, its bytes and nothing else.
    key: Option<OsString>,
}

#[derive(clap::Args)]
pub struct BlocksArgs {
    #[command(flatten)]
    chain: ChainArgs,
    /// The first block to list.
    #[arg(long, value_name = "N", default_value_t = 0)]
    from: u64,
    /// Most blocks to list.
    #[arg(long, value_name = "N", default_value_t = 100)]
    limit: usize,
    /// Print one JSON document instead of text.
    #[arg(long)]
    json: bool,
}

#[derive(clap::Args)]
pub struct TxLookupArgs {
    #[command(flatten)]
    chain: ChainArgs,
    /// Print one JSON document instead of text.
    #[arg(long)]
    json: bool,
    /// The transaction's hash (64 hex digits).
    hash: String,
}

#[derive(clap::Args)]
pub struct ReplayArgs {
    #[command(flatten)]
    chain: ChainArgs,
    #[command(flatten)]
    exec: ExecArgs,
    /// Print one JSON document instead of text.
    #[arg(long)]
    json: bool,
}

#[derive(clap::Args)]
pub struct ServeArgs {
    #[command(flatten)]
    chain: ChainArgs,
    #[command(flatten)]
    exec: ExecArgs,
    /// Address and port to listen on (port 0: any free port, printed).
    #[arg(long, value_name = "ADDR", default_value = "127.0.0.1:8545")]
    listen: std::net::SocketAddr,
    /// Threads running queries concurrently.
    #[arg(long, value_name = "N", default_value_t = 2)]
    readers: usize,
}

type CmdResult = Result<u8, String>;

fn open(chain: &ChainArgs) -> Result<Ledger, String> {
    Ledger::open(&chain.data_dir, ChainConfig::default()).map_err(|e| e.to_string())
}

/// A read-only view of an existing chain (a missing one is an error, not
/// created by a read).
fn snapshot(chain: &ChainArgs) -> Result<Snapshot, String> {
    if !chain.data_dir.exists() {
        return Err(format!(
            "no chain in {} (qvm deploy creates one)",
            chain.data_dir.display()
        ));
    }
    open(chain)?.snapshot().map_err(|e| e.to_string())
}

fn gas_limit_of(tx: &TxArgs) -> Option<u64> {
    tx.gas_limit
        .map_or(Some(qvm_common::kernel::gas::DEFAULT_GAS_LIMIT), |g| g.0)
}

fn stdin_of(file: Option<&Path>, limit: u64) -> Result<Vec<u8>, String> {
    match file {
        Some(path) => crate::read_file("stdin file", path, limit),
        None => Ok(Vec::new()),
    }
}

fn parse_address(text: &OsString) -> Result<Address, String> {
    let text = text.to_string_lossy();
    text.parse()
        .map_err(|_| format!("'{text}' is not a contract address (0x and 40 hex digits)"))
}

fn print_json(value: &impl serde::Serialize) -> Result<(), String> {
    let mut out = std::io::stdout().lock();
    serde_json::to_writer_pretty(&mut out, value).map_err(|e| e.to_string())?;
    writeln!(out).map_err(|e| e.to_string())
}

/// A receipt as text: the contract's stdout and stderr as written, then
/// one summary line on stderr.
fn print_receipt(receipt: &Receipt) -> Result<(), String> {
    std::io::stdout()
        .write_all(&receipt.stdout)
        .and_then(|()| std::io::stderr().write_all(&receipt.stderr))
        .map_err(|e| e.to_string())?;
    eprintln!(
        "qvm: block {} tx {}: {}{}",
        receipt.block_number,
        receipt.tx_hash,
        verdict(receipt),
        receipt
            .failure
            .as_deref()
            .map(|f| format!(" ({f})"))
            .unwrap_or_default()
    );
    Ok(())
}

/// The status of a recorded transaction: the contract's, as `qvm run`
/// gives it (0 when it succeeded; 1 when it failed without a status).
fn status_of(exit_code: Option<i32>, signal: Option<i32>, failed: bool) -> u8 {
    match (exit_code, signal) {
        (Some(code), _) if code != 0 => code.clamp(1, 255) as u8,
        (_, Some(sig)) => (128 + sig).clamp(1, 255) as u8,
        _ => u8::from(failed),
    }
}

pub fn deploy(args: DeployArgs) -> CmdResult {
    let mut ledger = open(&args.chain)?;
    let limits = ledger.config().limits;
    let (path, rest) = args.command.split_first().ok_or("no CONTRACT given")?;
    let code = crate::read_file("contract", Path::new(path), limits.max_contract as u64)?;
    let mut exec = args.exec.executor();
    let construct_args = rest.iter().cloned().map(OsString::into_vec).collect();
    let receipt = ledger
        .deploy(
            &mut exec,
            &code,
            args.tx.sender.as_bytes(),
            construct_args,
            gas_limit_of(&args.tx),
        )
        .map_err(|e| e.to_string())?;
    let status = status_of(receipt.exit_code, receipt.signal, !receipt.succeeded());
    if args.tx.json {
        print_json(&receipt)?;
    } else {
        print_receipt(&receipt)?;
        if receipt.succeeded() {
            // Alone on the last line, for scripts.
            if !receipt.stdout.is_empty() && !receipt.stdout.ends_with(b"\n") {
                println!();
            }
            println!("{}", receipt.address);
        }
    }
    Ok(status)
}

/// A call's or query's address, the contract's arguments and its stdin.
type CallInput = (Address, Vec<Vec<u8>>, Vec<u8>);

/// The [`CallInput`] of `args`, reading at most `max_stdin` bytes of stdin.
fn call_input(args: &CallArgs, max_stdin: usize) -> Result<CallInput, String> {
    let (address, rest) = args.command.split_first().ok_or("no ADDRESS given")?;
    let address = parse_address(address)?;
    let stdin = stdin_of(args.stdin.as_deref(), max_stdin as u64)?;
    let contract_args = rest.iter().cloned().map(OsString::into_vec).collect();
    Ok((address, contract_args, stdin))
}

pub fn call(args: CallArgs) -> CmdResult {
    let mut ledger = open(&args.chain)?;
    let (address, contract_args, stdin) = call_input(&args, ledger.config().limits.max_stdin)?;
    let mut exec = args.exec.executor();
    let sender = args.tx.sender.as_bytes();
    let receipt = ledger
        .call(
            &mut exec,
            &address,
            sender,
            contract_args,
            stdin,
            gas_limit_of(&args.tx),
        )
        .map_err(|e| e.to_string())?;
    if args.tx.json {
        print_json(&receipt)?;
    } else {
        print_receipt(&receipt)?;
    }
    Ok(status_of(
        receipt.exit_code,
        receipt.signal,
        !receipt.succeeded(),
    ))
}

pub fn query(args: CallArgs) -> CmdResult {
    let snapshot = snapshot(&args.chain)?;
    let (address, contract_args, stdin) = call_input(&args, snapshot.config().limits.max_stdin)?;
    let mut exec = args.exec.executor();
    let sender = args.tx.sender.as_bytes();
    let execution: Execution = snapshot
        .query(
            &mut exec,
            &address,
            sender,
            contract_args,
            stdin,
            gas_limit_of(&args.tx),
        )
        .map_err(|e| e.to_string())?;
    if args.tx.json {
        print_json(&execution)?;
    } else {
        std::io::stdout()
            .write_all(&execution.stdout)
            .and_then(|()| std::io::stderr().write_all(&execution.stderr))
            .map_err(|e| e.to_string())?;
    }
    Ok(status_of(
        execution.exit_code,
        execution.signal,
        execution.failed,
    ))
}

pub fn state(args: StateArgs) -> CmdResult {
    let address = parse_address(&OsString::from(&args.address))?;
    let snapshot = snapshot(&args.chain)?;
    if snapshot
        .contract(&address)
        .map_err(|e| e.to_string())?
        .is_none()
    {
        return Err(format!("no contract at {address}"));
    }
    if let Some(key) = args.key {
        let key = if args.hex {
            hex::decode(key.to_string_lossy().as_bytes())
                .map_err(|e| format!("KEY is not hex: {e}"))?
        } else {
            key.into_vec()
        };
        return match snapshot.get(&address, &key).map_err(|e| e.to_string())? {
            Some(value) => {
                std::io::stdout()
                    .write_all(&value)
                    .map_err(|e| e.to_string())?;
                Ok(0)
            }
            None => Err(format!(
                "no key {:?} in {address}",
                String::from_utf8_lossy(&key)
            )),
        };
    }
    let pairs = snapshot.state(&address).map_err(|e| e.to_string())?;
    if args.json {
        print_json(&qvm_chain::StateListing {
            address,
            state: pairs,
        })?;
    } else {
        let mut out = std::io::stdout().lock();
        for (k, v) in &pairs {
            writeln!(out, "{}={}", text_or_hex(k), text_or_hex(v)).map_err(|e| e.to_string())?;
        }
    }
    Ok(0)
}

pub fn blocks(args: BlocksArgs) -> CmdResult {
    let snapshot = snapshot(&args.chain)?;
    let blocks = snapshot
        .blocks(args.from, args.limit)
        .map_err(|e| e.to_string())?;
    if args.json {
        print_json(&serde_json::json!({ "blocks": blocks }))?;
        return Ok(0);
    }
    let mut out = std::io::stdout().lock();
    for block in &blocks {
        writeln!(out, "{}", block_line(block)).map_err(|e| e.to_string())?;
    }
    Ok(0)
}

fn block_line(block: &Block) -> String {
    format!(
        "{:>6}  {}  {}  tx {}",
        block.number,
        block.timestamp,
        block.hash,
        if block.number == 0 {
            "-".to_string()
        } else {
            block.tx_hash.to_string()
        }
    )
}

pub fn tx(args: TxLookupArgs) -> CmdResult {
    let hash: Hash = args
        .hash
        .parse()
        .map_err(|_| format!("'{}' is not a transaction hash (64 hex digits)", args.hash))?;
    let snapshot = snapshot(&args.chain)?;
    let (block, transaction, receipt) = snapshot
        .tx(&hash)
        .map_err(|e| e.to_string())?
        .ok_or_else(|| format!("no transaction {hash}"))?;
    if args.json {
        print_json(&serde_json::json!({
            "block": block, "transaction": transaction, "receipt": receipt,
        }))?;
        return Ok(0);
    }
    let mut out = std::io::stdout().lock();
    let text = receipt_text(&block, &receipt);
    out.write_all(text.as_bytes()).map_err(|e| e.to_string())?;
    Ok(0)
}

fn receipt_text(block: &Block, r: &Receipt) -> String {
    let mut s = format!(
        "block {} ({})\ntx {}\ncontract {}\nsender {}\nverdict {}{}\n",
        block.number,
        block.hash,
        r.tx_hash,
        r.address,
        text_or_hex(&r.sender),
        verdict(r),
        r.failure
            .as_deref()
            .map(|f| format!(" ({f})"))
            .unwrap_or_default(),
    );
    if let Some(code) = r.exit_code {
        s += &format!("exit code {code}\n");
    }
    if let Some(sig) = r.signal {
        s += &format!("signal {sig}\n");
    }
    s += &format!("gas {}\n", r.gas_used);
    for (k, v) in &r.writes {
        s += &format!("write {}={}\n", text_or_hex(k), text_or_hex(v));
    }
    for k in &r.deletes {
        s += &format!("delete {}\n", text_or_hex(k));
    }
    for e in &r.events {
        s += &format!("event {}\n", text_or_hex(e));
    }
    s += &format!(
        "stdout {:?}\nstderr {:?}\n",
        String::from_utf8_lossy(&r.stdout),
        String::from_utf8_lossy(&r.stderr)
    );
    s
}

pub fn replay(args: ReplayArgs) -> CmdResult {
    let source = snapshot(&args.chain)?;
    let total = source.head().map_err(|e| e.to_string())?.number;
    let bar = indicatif::ProgressBar::new(total);
    bar.set_style(
        indicatif::ProgressStyle::with_template(
            "replay {bar:40} {pos}/{len} blocks {per_sec} eta {eta}",
        )
        .unwrap_or_else(|_| indicatif::ProgressStyle::default_bar()),
    );
    let mut exec = args.exec.executor();
    let report = qvm_chain::replay(&source, &mut exec, &mut |done, _| bar.set_position(done))
        .map_err(|e| e.to_string())?;
    bar.finish_and_clear();
    if args.json {
        print_json(&report)?;
    } else {
        match &report.first_mismatch {
            None => println!(
                "replayed {} blocks ({} transactions): every state root matches ({})",
                report.blocks,
                report.transactions,
                gas_note(&report)
            ),
            Some(m) => println!("replay differs: {m}"),
        }
    }
    Ok(u8::from(report.first_mismatch.is_some()))
}

/// What a replay checked of gas, in words.
fn gas_note(report: &qvm_chain::ReplayReport) -> String {
    if report.gas_checked {
        return "gas checked too".into();
    }
    let mut note = "gas not checked: this backend does not count it".to_string();
    if !report.out_of_gas_taken.is_empty() {
        let blocks: Vec<String> = report.out_of_gas_taken.iter().map(u64::to_string).collect();
        note += &format!(
            "; out of gas as recorded, not run again: block {}",
            blocks.join(", ")
        );
    }
    note
}

pub fn serve(args: ServeArgs) -> CmdResult {
    let options = qvm::serve::ServeOptions {
        listen: args.listen,
        data_dir: args.chain.data_dir,
        backend: args.exec.backend,
        readers: args.readers,
        timeout: args.exec.timeout,
    };
    qvm::serve::serve(options, |addr| {
        // Tests and scripts read this line for the port.
        println!("qvm serve: listening on http://{addr}");
        let _ = std::io::stdout().flush();
    })
    .map_err(|e| e.to_string())?;
    Ok(0)
}

fn verdict(receipt: &Receipt) -> &'static str {
    if receipt.succeeded() {
        "ok"
    } else {
        "failed"
    }
}

/// Bytes as text when UTF-8 without control characters, else `0x` hex.
fn text_or_hex(bytes: &[u8]) -> String {
    match std::str::from_utf8(bytes) {
        Ok(s) if !s.chars().any(char::is_control) => s.to_string(),
        _ => format!("0x{}", hex::encode(bytes)),
    }
}

#[derive(clap::Args)]
pub struct InitArgs {
    /// The chain's directory; it must not hold a chain yet.
    #[arg(long, value_name = "DIR", default_value = DEFAULT_DATA_DIR)]
    data_dir: PathBuf,
    /// Start from QVM's published limits (keys, values and output 32
    /// bytes, contracts 256 KiB) instead of qvm's.
    #[arg(long)]
    qvm_limits: bool,
    /// The genesis block's timestamp, seconds since the epoch.
    #[arg(long, value_name = "SECONDS", default_value_t = ChainConfig::DEFAULT_GENESIS_TIME)]
    genesis_time: u64,
    /// Seconds between blocks.
    #[arg(long, value_name = "SECONDS", default_value_t = 1)]
    block_interval: u64,
    /// Most bytes of a state key.
    #[arg(long, value_name = "BYTES")]
    max_key: Option<usize>,
    /// Most bytes of a state value.
    #[arg(long, value_name = "BYTES")]
    max_value: Option<usize>,
    /// Most bytes of a call's events together, and of its stdout and
    /// stderr each as stored.
    #[arg(long, value_name = "BYTES")]
    max_output: Option<usize>,
    /// Most bytes of a contract.
    #[arg(long, value_name = "BYTES")]
    max_contract: Option<usize>,
    /// Print the chain's configuration as JSON.
    #[arg(long)]
    json: bool,
}

/// `qvm init`: creates a chain with the given parameters, which are fixed
/// for its life (other commands create one with the defaults on first use).
pub fn init(args: InitArgs) -> CmdResult {
    if args.data_dir.join(qvm_chain::STORE_FILE).exists() {
        return Err(format!(
            "{} already holds a chain (its parameters are fixed when it is created)",
            args.data_dir.display()
        ));
    }
    let mut limits = if args.qvm_limits {
        qvm_chain::Limits::QVM
    } else {
        qvm_chain::Limits::DEFAULT
    };
    let given = [
        (&mut limits.max_key, args.max_key),
        (&mut limits.max_value, args.max_value),
        (&mut limits.max_output, args.max_output),
        (&mut limits.max_contract, args.max_contract),
    ];
    for (limit, value) in given {
        if let Some(value) = value {
            *limit = value;
        }
    }
    let config = ChainConfig {
        genesis_time: args.genesis_time,
        block_interval: args.block_interval,
        limits,
    };
    let ledger = Ledger::open(&args.data_dir, config).map_err(|e| e.to_string())?;
    if args.json {
        print_json(ledger.config())?;
    } else {
        let c = ledger.config();
        let l = &c.limits;
        println!(
            "created a chain in {}: genesis time {}, {} s between blocks; limits in bytes: \
             key {}, value {}, output {}, contract {}, arguments {}, stdin {}, sender {}",
            args.data_dir.display(),
            c.genesis_time,
            c.block_interval,
            l.max_key,
            l.max_value,
            l.max_output,
            l.max_contract,
            l.max_args,
            l.max_stdin,
            l.max_sender
        );
    }
    Ok(0)
}
