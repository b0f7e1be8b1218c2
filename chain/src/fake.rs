//! A contract runtime written in Rust, for tests and benchmarks of the
//! ledger without a CPU (feature `fake-executor`).
//!
//! Every contract behaves the same, whatever its code; its first argument
//! picks what it does:
//!
//! | args | does |
//! |---|---|
//! | `construct [N]` | sets `count` to N (default 0); with N = `fail`, fails |
//! | `inc` | adds one to `count`, emits `count=N` |
//! | `mint N` | gives the sender N tokens (key `bal:<sender>`) |
//! | `transfer TO N` | moves N tokens from the sender to TO; fails if short |
//! | `get KEY` | prints KEY's value |
//! | `write KEY VALUE` / `delete KEY` | one write / one delete |
//! | `fill N` | writes keys `fill0`..`fill{N-1}`, 32-byte values |
//! | `echo` | prints stdin |
//! | `context` | prints the block number, previous hash and timestamp |
//! | `pairs BUDGET` | prints the pairs [`crate::ContractState::pairs`] gives |
//! | `burn GAS` | uses GAS gas: out of gas past the limit |
//! | `exit N`, `segv`, `stderr` | fails: exit status N, SIGSEGV, stderr output |
//! | `engine-error` | the executor itself fails ([`ExecError`]) |
//!
//! Gas used: 1,000 + the bytes of arguments and stdin, unless `burn`.

use crate::executor::{ExecError, ExecRequest, Execution, Executor};

/// The fake runtime. `nondeterministic` adds a count of its calls to every
/// stdout, as a broken runtime might leak host state. `uncounted` counts no
/// gas, as KVM: it ignores gas limits, reports 0 gas used and says so
/// ([`Executor::counts_gas`]).
#[derive(Debug, Default)]
pub struct FakeExecutor {
    pub nondeterministic: bool,
    pub uncounted: bool,
    /// Calls run so far.
    pub calls: u64,
}

impl FakeExecutor {
    pub fn new() -> FakeExecutor {
        FakeExecutor::default()
    }
}

fn number(bytes: Option<&&[u8]>) -> Option<u64> {
    std::str::from_utf8(bytes?).ok()?.parse().ok()
}

fn failed(mut execution: Execution, reason: &str) -> Execution {
    execution.failed = true;
    execution.failure = Some(reason.to_string());
    execution
}

fn read_number(req: &ExecRequest<'_>, key: &[u8]) -> Result<u64, ExecError> {
    let value = req.state.get(key).map_err(ExecError::new)?;
    Ok(value
        .and_then(|v| String::from_utf8(v).ok())
        .and_then(|v| v.parse().ok())
        .unwrap_or(0))
}

fn balance_key(owner: &[u8]) -> Vec<u8> {
    [&b"bal:"[..], owner].concat()
}

impl Executor for FakeExecutor {
    fn execute(&mut self, req: &ExecRequest<'_>) -> Result<Execution, ExecError> {
        let mut execution = self.run(req)?;
        if self.uncounted {
            execution.gas_used = 0;
        }
        Ok(execution)
    }

    fn counts_gas(&self) -> bool {
        !self.uncounted
    }
}

impl FakeExecutor {
    fn run(&mut self, req: &ExecRequest<'_>) -> Result<Execution, ExecError> {
        self.calls = self.calls.wrapping_add(1);
        let args = req.args();
        let tx = req.tx;
        let mut out = Execution {
            exit_code: Some(0),
            gas_used: args.iter().fold(1000 + tx.stdin.len() as u64, |sum, arg| {
                sum.saturating_add(arg.len() as u64)
            }),
            ..Execution::default()
        };
        let write = |out: &mut Execution, key: &[u8], value: Vec<u8>| {
            out.writes.push((key.to_vec(), value));
        };
        match args.as_slice() {
            [b"construct", rest @ ..] => match rest.first() {
                Some(&b"fail") => return Ok(failed(out, "construct refused")),
                start => {
                    let start = number(start).unwrap_or(0);
                    write(&mut out, b"count", start.to_string().into_bytes());
                }
            },
            [b"inc"] => {
                let count = read_number(req, b"count")?.saturating_add(1);
                write(&mut out, b"count", count.to_string().into_bytes());
                out.events.push(format!("count={count}").into_bytes());
            }
            [b"mint", amount] => {
                let key = balance_key(&tx.sender);
                let amount = number(Some(amount)).unwrap_or(0);
                let balance = read_number(req, &key)?.saturating_add(amount);
                write(&mut out, &key, balance.to_string().into_bytes());
            }
            [b"transfer", to, amount] => {
                let (from_key, to_key) = (balance_key(&tx.sender), balance_key(to));
                let amount = number(Some(amount)).unwrap_or(0);
                let from = read_number(req, &from_key)?;
                let Some(left) = from.checked_sub(amount) else {
                    out.exit_code = Some(1);
                    return Ok(failed(out, "exit status 1"));
                };
                write(&mut out, &from_key, left.to_string().into_bytes());
                let to = read_number(req, &to_key)?;
                write(
                    &mut out,
                    &to_key,
                    to.saturating_add(amount).to_string().into_bytes(),
                );
                out.events.push(format!("transfer {amount}").into_bytes());
            }
            [b"get", key] => {
                out.stdout = req
                    .state
                    .get(key)
                    .map_err(ExecError::new)?
                    .unwrap_or_default();
            }
            [b"write", key, value] => write(&mut out, key, value.to_vec()),
            [b"delete", key] => out.deletes.push(key.to_vec()),
            [b"fill", n] => {
                for i in 0..number(Some(n)).unwrap_or(0) {
                    write(&mut out, format!("fill{i}").as_bytes(), vec![b'x'; 32]);
                }
            }
            [b"echo"] => out.stdout = tx.stdin.clone(),
            [b"context"] => {
                let block = req.block;
                out.stdout = format!(
                    "{} {} {}",
                    block.number, block.prev_hash, block.prev_timestamp
                )
                .into_bytes();
            }
            [b"pairs", budget] => {
                let budget = number(Some(budget)).unwrap_or(0) as usize;
                for (key, value) in req.state.pairs(budget).map_err(ExecError::new)? {
                    out.stdout.extend_from_slice(&key);
                    out.stdout.push(b'=');
                    out.stdout.extend_from_slice(&value);
                    out.stdout.push(b'\n');
                }
            }
            [b"burn", gas] => {
                out.gas_used = number(Some(gas)).unwrap_or(0);
                let limit = tx.gas_limit.filter(|_| !self.uncounted);
                if let Some(limit) = limit.filter(|limit| out.gas_used > *limit) {
                    out.gas_used = limit;
                    out.exit_code = None;
                    out.signal = Some(9);
                    return Ok(failed(out, "out of gas"));
                }
            }
            [b"exit", code] => {
                let code = number(Some(code)).unwrap_or(1) as i32;
                out.exit_code = Some(code);
                write(&mut out, b"count", b"discarded".to_vec());
                return Ok(failed(out, &format!("exit status {code}")));
            }
            [b"segv"] => {
                out.exit_code = None;
                out.signal = Some(11);
                return Ok(failed(out, "killed by SIGSEGV"));
            }
            [b"stderr"] => {
                out.stderr = b"oops".to_vec();
                write(&mut out, b"count", b"discarded".to_vec());
                return Ok(failed(out, "wrote to stderr"));
            }
            [b"engine-error"] => return Err(ExecError::new("the engine broke")),
            _ => {
                out.stderr = b"unknown command".to_vec();
                out.exit_code = Some(2);
                return Ok(failed(out, "exit status 2"));
            }
        }
        if self.nondeterministic {
            out.stdout
                .extend_from_slice(format!("call {}", self.calls).as_bytes());
        }
        Ok(out)
    }
}
