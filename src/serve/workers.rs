//! The threads behind the HTTP handlers: one writer that owns the ledger,
//! readers that run queries. Runtimes are tied to the thread that made
//! them, so each thread makes its own and keeps its contracts loaded.

use std::path::PathBuf;
use std::sync::{Arc, RwLock};
use std::thread::JoinHandle;

use qvm_chain::{Address, ChainConfig, ChainError, Execution, Ledger, Receipt, Snapshot};
use tokio::sync::oneshot;

use super::ServeError;
use crate::executor::{executor_for, RuntimeExecutor};
use crate::BackendChoice;

/// Queries waiting for a reader before new ones are refused (503).
const QUERY_QUEUE: usize = 256;
/// Transactions waiting for the writer before new ones wait for room.
const WRITE_QUEUE: usize = 1024;

pub struct WorkersOptions {
    pub data_dir: PathBuf,
    pub backend: BackendChoice,
    pub readers: usize,
    pub timeout: Option<std::time::Duration>,
}

/// A transaction for the writer.
pub enum Write {
    Deploy {
        code: Vec<u8>,
        sender: Vec<u8>,
        args: Vec<Vec<u8>>,
        gas_limit: Option<u64>,
    },
    Call(ContractCall),
}

/// A call of a contract: a transaction for the writer, or a query for a
/// reader (against the latest state, nothing stored).
pub struct ContractCall {
    pub address: Address,
    pub sender: Vec<u8>,
    pub args: Vec<Vec<u8>>,
    pub stdin: Vec<u8>,
    pub gas_limit: Option<u64>,
}

/// Why a job got no answer from the chain.
#[derive(Debug)]
pub enum JobError {
    Chain(ChainError),
    /// Every reader is busy and the queue is full.
    Busy,
    /// The server is shutting down.
    Closed,
}

impl From<ChainError> for JobError {
    fn from(e: ChainError) -> Self {
        JobError::Chain(e)
    }
}

type WriteJob = (Write, oneshot::Sender<Result<Receipt, JobError>>);
type QueryJob = (
    Snapshot,
    ContractCall,
    oneshot::Sender<Result<Execution, JobError>>,
);

/// The writer, the readers and the latest snapshot they publish.
pub struct Workers {
    writes: Option<tokio::sync::mpsc::Sender<WriteJob>>,
    queries: Option<crossbeam_channel::Sender<QueryJob>>,
    latest: Arc<RwLock<Snapshot>>,
    threads: Vec<JoinHandle<()>>,
}

impl Workers {
    /// Opens the ledger in `data_dir` (creating it) and starts the threads.
    pub fn start(options: WorkersOptions) -> Result<Workers, ServeError> {
        if options.backend == BackendChoice::Kvm {
            // The writer records gas, which KVM cannot count; refuse now
            // rather than every transaction.
            return Err(ServeError::Chain(ChainError::GasNotCounted));
        }
        let ledger = Ledger::open(&options.data_dir, ChainConfig::default())?;
        let latest = Arc::new(RwLock::new(ledger.snapshot()?));
        let (write_tx, write_rx) = tokio::sync::mpsc::channel(WRITE_QUEUE);
        let (query_tx, query_rx) = crossbeam_channel::bounded::<QueryJob>(QUERY_QUEUE);
        let mut threads = Vec::new();
        let (backend, timeout) = (options.backend, options.timeout);
        let published = latest.clone();
        threads.push(spawn("qvm-writer", move || {
            write_loop(ledger, executor_for(backend, timeout), write_rx, &published)
        })?);
        for i in 0..options.readers.max(1) {
            let rx = query_rx.clone();
            threads.push(spawn(&format!("qvm-reader-{i}"), move || {
                let mut exec = executor_for(backend, timeout);
                for (snapshot, query, reply) in rx {
                    let _ = reply.send(run_query(&snapshot, &mut exec, query));
                }
            })?);
        }
        Ok(Workers {
            writes: Some(write_tx),
            queries: Some(query_tx),
            latest,
            threads,
        })
    }

    /// The snapshot of the latest committed block.
    pub fn snapshot(&self) -> Snapshot {
        match self.latest.read() {
            Ok(s) => s.clone(),
            Err(poisoned) => poisoned.into_inner().clone(),
        }
    }

    /// Sends a transaction to the writer and waits for its receipt.
    pub async fn write(&self, write: Write) -> Result<Receipt, JobError> {
        let sender = self.writes.as_ref().ok_or(JobError::Closed)?;
        let (tx, rx) = oneshot::channel();
        sender
            .send((write, tx))
            .await
            .map_err(|_| JobError::Closed)?;
        rx.await.map_err(|_| JobError::Closed)?
    }

    /// Runs a query on a reader against the latest snapshot.
    pub async fn query(&self, query: ContractCall) -> Result<Execution, JobError> {
        let sender = self.queries.as_ref().ok_or(JobError::Closed)?;
        let (tx, rx) = oneshot::channel();
        sender
            .try_send((self.snapshot(), query, tx))
            .map_err(|e| match e {
                crossbeam_channel::TrySendError::Full(_) => JobError::Busy,
                crossbeam_channel::TrySendError::Disconnected(_) => JobError::Closed,
            })?;
        rx.await.map_err(|_| JobError::Closed)?
    }

    /// Closes the queues and waits for the threads: the writer finishes
    /// the transactions it was given.
    pub fn stop(mut self) -> Result<(), ServeError> {
        self.writes = None;
        self.queries = None;
        for thread in self.threads.drain(..) {
            thread
                .join()
                .map_err(|_| ServeError::Worker("a worker thread panicked".into()))?;
        }
        Ok(())
    }
}

fn spawn(name: &str, body: impl FnOnce() + Send + 'static) -> Result<JoinHandle<()>, ServeError> {
    std::thread::Builder::new()
        .name(name.into())
        .spawn(body)
        .map_err(|e| ServeError::Worker(format!("cannot start thread {name}: {e}")))
}

/// The writer: one block per transaction, in arrival order; the snapshot
/// is published before the receipt is sent, so a client that saw its
/// receipt reads its own write.
fn write_loop(
    mut ledger: Ledger,
    mut exec: RuntimeExecutor,
    mut jobs: tokio::sync::mpsc::Receiver<WriteJob>,
    latest: &RwLock<Snapshot>,
) {
    while let Some((write, reply)) = jobs.blocking_recv() {
        let result = match write {
            Write::Deploy {
                code,
                sender,
                args,
                gas_limit,
            } => ledger.deploy(&mut exec, &code, &sender, args, gas_limit),
            Write::Call(c) => ledger.call(
                &mut exec,
                &c.address,
                &c.sender,
                c.args,
                c.stdin,
                c.gas_limit,
            ),
        };
        if result.is_ok() {
            match ledger.snapshot() {
                Ok(snapshot) => match latest.write() {
                    Ok(mut guard) => *guard = snapshot,
                    Err(poisoned) => *poisoned.into_inner() = snapshot,
                },
                Err(e) => log::error!("cannot take a snapshot after a block: {e}"),
            }
        }
        let _ = reply.send(result.map_err(JobError::from));
    }
}

fn run_query(
    snapshot: &Snapshot,
    exec: &mut RuntimeExecutor,
    q: ContractCall,
) -> Result<Execution, JobError> {
    Ok(snapshot.query(exec, &q.address, &q.sender, q.args, q.stdin, q.gas_limit)?)
}
