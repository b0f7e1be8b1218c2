//! `qvm serve`: the local chain over HTTP (docs/api.md).
//!
//! One writer thread owns the ledger and a runtime: transactions reach it
//! through a channel and become blocks in arrival order, each committed
//! before its response is sent. Queries run on a pool of reader threads,
//! each with its own runtime (a runtime is tied to its thread), against
//! the snapshot of the latest block; plain reads (state, blocks,
//! transactions) run on tokio's blocking pool against the same snapshot.
//! Contracts stay loaded in every runtime between requests.

mod api;
mod workers;

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;

use thiserror::Error;

use crate::BackendChoice;

pub use api::router;
pub use workers::{Workers, WorkersOptions};

/// What `qvm serve` was asked for.
#[derive(Clone, Debug)]
pub struct ServeOptions {
    pub listen: SocketAddr,
    pub data_dir: PathBuf,
    pub backend: BackendChoice,
    /// Threads running queries.
    pub readers: usize,
    /// The host's per-call safety net (a call it ends is refused, not
    /// recorded).
    pub timeout: Option<std::time::Duration>,
}

#[derive(Debug, Error)]
pub enum ServeError {
    #[error("cannot listen on {0}: {1}")]
    Listen(SocketAddr, std::io::Error),
    #[error("{0}")]
    Chain(#[from] qvm_chain::ChainError),
    #[error("cannot start the async runtime: {0}")]
    Runtime(std::io::Error),
    #[error("server failed: {0}")]
    Server(std::io::Error),
    #[error("{0}")]
    Worker(String),
}

/// Runs the server until SIGINT or SIGTERM; `ready` is told the address it
/// listens on (the port, when `listen` asked for port 0).
pub fn serve(options: ServeOptions, ready: impl FnOnce(SocketAddr)) -> Result<(), ServeError> {
    serve_until(options, ready, shutdown_signal())
}

/// Runs the server until `shutdown` resolves (a benchmark or test serving
/// in-process), then stops as [`serve`] does at a signal.
pub fn serve_until(
    options: ServeOptions,
    ready: impl FnOnce(SocketAddr),
    shutdown: impl std::future::Future<Output = ()> + Send + 'static,
) -> Result<(), ServeError> {
    let workers = Workers::start(WorkersOptions {
        data_dir: options.data_dir.clone(),
        backend: options.backend,
        readers: options.readers,
        timeout: options.timeout,
    })?;
    let workers = Arc::new(workers);
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .map_err(ServeError::Runtime)?;
    let result = runtime.block_on(async {
        let listener = tokio::net::TcpListener::bind(options.listen)
            .await
            .map_err(|e| ServeError::Listen(options.listen, e))?;
        let local = listener
            .local_addr()
            .map_err(|e| ServeError::Listen(options.listen, e))?;
        ready(local);
        axum::serve(listener, router(workers.clone()))
            .with_graceful_shutdown(shutdown)
            .await
            .map_err(ServeError::Server)
    });
    // In-flight transactions were answered; the writer finishes and closes
    // the store.
    drop(runtime);
    match Arc::try_unwrap(workers) {
        Ok(workers) => workers.stop(),
        Err(_) => Ok(()),
    }
    .and(result)
}

/// Resolves at SIGINT (Ctrl-C) or SIGTERM.
async fn shutdown_signal() {
    let interrupt = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut signal) => {
                signal.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    tokio::select! {
        _ = interrupt => {},
        _ = terminate => {},
    }
    // Said on stderr: stdout is the listening line alone.
    eprintln!("qvm serve: shutting down (finishing requests in flight)");
}
