//! Giving the native process qvm's initial stack.
//!
//! Linux and qvm start a process differently in ways that change how many
//! instructions its start-up runs: Linux's auxiliary vector has more
//! entries than qvm's 18 (AT_SYSINFO_EHDR for the vDSO, AT_MINSIGSTKSZ,
//! the rseq entries...), in another order, and musl and Zig loop over it;
//! Linux places the strings in another order, so argv and envp strings sit
//! at other addresses and word-at-a-time string functions run a different
//! number of iterations over them. So at the stop after `execve`, before
//! the program's first instruction, the counter replaces the whole block
//! from RSP up with the one qvm builds for the same call
//! (`qvm_common::call::initial_stack`): the same argc, argv and envp
//! strings at the same addresses, qvm's auxiliary vector (keys, order and
//! values, the 16 AT_RANDOM bytes included) and the same RSP. Linux and qvm
//! put the stack's top at the same address (no ASLR), so this is possible;
//! the pointer entries AT_RANDOM, AT_PLATFORM and AT_EXECFN point into the
//! rewritten strings, and AT_PHDR and AT_ENTRY keep the values Linux gave
//! the image it loaded (equal to qvm's, which loads at the same addresses;
//! a difference is reported in [`Startup::notes`]).
//!
//! Linux also maps the vDSO (and its data pages, `[vvar]`) at the top of
//! the mmap area, where qvm has none, so every later mmap would land lower
//! than under qvm and allocators that align what mmap returns (Zig's page
//! allocator trims to 64 KiB) would run other code. So the counter unmaps
//! them, with an `munmap` it makes the process run before its first
//! instruction ([`remove_vdso`]); nothing uses them once AT_SYSINFO_EHDR is
//! gone.

use std::fs::File;
use std::os::unix::fs::FileExt;

use qvm_common::call::CallSpec;
use qvm_common::layout::STACK_TOP;
use qvm_common::process_image::{InitialStack, ARG_MAX};

use super::tracee::{Stop, Tracee};
use super::{CountError, Startup};

const AT_NULL: u64 = 0;
const AT_PHDR: u64 = 3;
const AT_ENTRY: u64 = 9;
const AT_EXECFN: u64 = 31;

/// The stack Linux built, read from RSP to the top.
struct LinuxStack {
    rsp: u64,
    bytes: Vec<u8>,
}

impl LinuxStack {
    fn word(&self, addr: u64) -> Option<u64> {
        let off = usize::try_from(addr.checked_sub(self.rsp)?).ok()?;
        let b = self.bytes.get(off..off.checked_add(8)?)?;
        Some(u64::from_le_bytes(b.try_into().ok()?))
    }

    fn string(&self, addr: u64) -> Option<&[u8]> {
        let off = usize::try_from(addr.checked_sub(self.rsp)?).ok()?;
        let rest = self.bytes.get(off..)?;
        let len = rest.iter().position(|&b| b == 0)?;
        rest.get(..len)
    }

    /// The NULL-terminated array of string pointers at `at`: the strings
    /// and the address past the NULL.
    fn strings(&self, mut at: u64) -> Option<(Vec<Vec<u8>>, u64)> {
        let mut out = Vec::new();
        loop {
            let p = self.word(at)?;
            at = at.checked_add(8)?;
            if p == 0 {
                return Some((out, at));
            }
            out.push(self.string(p)?.to_vec());
        }
    }
}

fn bad(what: impl Into<String>) -> CountError {
    CountError::Startup(what.into())
}

/// Checks the stack Linux built against the call and replaces it with
/// qvm's; sets RSP.
pub fn rewrite(
    tracee: &Tracee,
    memory: &File,
    spec: &CallSpec,
    qvm: &InitialStack,
) -> Result<Startup, CountError> {
    let mut regs = tracee
        .regs()
        .map_err(CountError::ptrace("PTRACE_GETREGS"))?;
    let rsp = regs.rsp;
    let len = STACK_TOP
        .checked_sub(rsp)
        .filter(|&l| l <= 2 * ARG_MAX)
        .ok_or_else(|| bad(format!("Linux's initial RSP {rsp:#x} is not below qvm's stack top {STACK_TOP:#x} within {} bytes", 2 * ARG_MAX)))?;
    let mut bytes = vec![0u8; len as usize];
    memory
        .read_exact_at(&mut bytes, rsp)
        .map_err(|e| CountError::Memory(format!("reading the initial stack at {rsp:#x}: {e}")))?;
    let linux = LinuxStack { rsp, bytes };

    // argv, envp and the auxiliary vector Linux wrote.
    let argc = linux.word(rsp).ok_or_else(|| bad("no argc"))?;
    let (argv, at) = linux
        .strings(rsp + 8)
        .ok_or_else(|| bad("unreadable argv"))?;
    let (envp, mut at) = linux.strings(at).ok_or_else(|| bad("unreadable envp"))?;
    let mut linux_auxv = Vec::new();
    loop {
        let key = linux.word(at).ok_or_else(|| bad("unterminated auxv"))?;
        let value = linux.word(at + 8).ok_or_else(|| bad("unterminated auxv"))?;
        at += 16;
        if key == AT_NULL {
            break;
        }
        linux_auxv.push((key, value));
    }

    // The same argv, environment and stack top as the qvm run.
    let mut want_argv = vec![spec.name.as_bytes().to_vec()];
    want_argv.extend(spec.call.args.iter().cloned());
    if argc != want_argv.len() as u64 || argv != want_argv {
        return Err(bad(format!(
            "Linux gave argv {:?}, the qvm call has {:?}",
            lossy(&argv),
            lossy(&want_argv)
        )));
    }
    if envp != spec.call.env {
        return Err(bad(format!(
            "Linux gave the environment {:?}, the qvm call has {:?}",
            lossy(&envp),
            lossy(&spec.call.env)
        )));
    }
    let execfn_end = linux_auxv
        .iter()
        .find(|&&(k, _)| k == AT_EXECFN)
        .and_then(|&(_, p)| Some(p + linux.string(p)?.len() as u64 + 1));
    if execfn_end != Some(STACK_TOP - 8) {
        return Err(bad(format!(
            "Linux's strings do not end 8 bytes below {STACK_TOP:#x} (ASLR on?): AT_EXECFN's string ends at {execfn_end:x?}"
        )));
    }

    // qvm's block, with Linux's values for the image's addresses.
    let mut image = qvm.bytes.clone();
    let auxv_at = 8 * (1 + argv.len() + 1 + envp.len() + 1);
    let mut notes = Vec::new();
    for (i, &(key, value)) in qvm.auxv.iter().enumerate() {
        if key != AT_PHDR && key != AT_ENTRY {
            continue;
        }
        let native = linux_auxv.iter().find(|&&(k, _)| k == key).map(|&(_, v)| v);
        match native {
            Some(v) if v != value => {
                notes.push(format!(
                    "auxv key {key}: Linux {v:#x}, qvm {value:#x}: Linux's value kept"
                ));
                let off = auxv_at + 16 * i + 8;
                image
                    .get_mut(off..off + 8)
                    .ok_or_else(|| bad("qvm's stack image is shorter than its auxv"))?
                    .copy_from_slice(&v.to_le_bytes());
            }
            Some(_) => {}
            None => notes.push(format!("auxv key {key}: Linux gave none")),
        }
    }
    if qvm.rsp > rsp {
        // Below qvm's RSP the stack is zero under qvm.
        memory
            .write_all_at(&vec![0u8; (qvm.rsp - rsp) as usize], rsp)
            .map_err(|e| CountError::Memory(format!("clearing the stack at {rsp:#x}: {e}")))?;
    }
    memory.write_all_at(&image, qvm.rsp).map_err(|e| {
        CountError::Memory(format!(
            "writing qvm's initial stack at {:#x}: {e}",
            qvm.rsp
        ))
    })?;
    regs.rsp = qvm.rsp;
    tracee
        .set_regs(&regs)
        .map_err(CountError::ptrace("PTRACE_SETREGS"))?;
    Ok(Startup {
        linux_rsp: rsp,
        qvm_rsp: qvm.rsp,
        linux_auxv,
        notes,
        unmapped: Vec::new(),
    })
}

/// Names of the mappings Linux adds for the vDSO.
const VDSO_MAPPINGS: [&str; 3] = ["[vdso]", "[vvar]", "[vvar_vclock]"];
const SYS_MUNMAP: u64 = 11;

/// Unmaps the vDSO's mappings: writes a `syscall` over the instruction at
/// RIP, runs it once as `munmap` per range, then puts back the bytes and
/// the registers. Returns the ranges.
pub fn remove_vdso(tracee: &mut Tracee, memory: &File) -> Result<Vec<(u64, u64)>, CountError> {
    let ranges = vdso_ranges(tracee)?;
    if ranges.is_empty() {
        return Ok(ranges);
    }
    let saved = tracee
        .regs()
        .map_err(CountError::ptrace("PTRACE_GETREGS"))?;
    let mut original = [0u8; 2];
    memory
        .read_exact_at(&mut original, saved.rip)
        .map_err(|e| CountError::Memory(format!("reading the entry point: {e}")))?;
    memory
        .write_all_at(&[0x0f, 0x05], saved.rip)
        .map_err(|e| CountError::Memory(format!("writing a syscall at the entry point: {e}")))?;
    let mut result = Ok(());
    for &(start, len) in &ranges {
        result = munmap_in(tracee, &saved, start, len);
        if result.is_err() {
            break;
        }
    }
    memory
        .write_all_at(&original, saved.rip)
        .map_err(|e| CountError::Memory(format!("restoring the entry point: {e}")))?;
    tracee
        .set_regs(&saved)
        .map_err(CountError::ptrace("PTRACE_SETREGS"))?;
    result?;
    if !vdso_ranges(tracee)?.is_empty() {
        return Err(bad("the vDSO is still mapped after munmap"));
    }
    Ok(ranges)
}

/// Runs `munmap(start, len)` in the stopped process, whose RIP points at
/// a `syscall` instruction.
fn munmap_in(
    tracee: &mut Tracee,
    at: &libc::user_regs_struct,
    start: u64,
    len: u64,
) -> Result<(), CountError> {
    let mut regs = *at;
    regs.rax = SYS_MUNMAP;
    regs.rdi = start;
    regs.rsi = len;
    tracee
        .set_regs(&regs)
        .map_err(CountError::ptrace("PTRACE_SETREGS"))?;
    tracee
        .step(0)
        .map_err(CountError::ptrace("PTRACE_SINGLESTEP"))?;
    match tracee.wait().map_err(CountError::io("waitpid"))? {
        Stop::Signal(libc::SIGTRAP) => {}
        other => return Err(bad(format!("{other:?} while unmapping the vDSO"))),
    }
    let after = tracee
        .regs()
        .map_err(CountError::ptrace("PTRACE_GETREGS"))?;
    if after.rax != 0 {
        return Err(bad(format!(
            "munmap({start:#x}, {len:#x}) of the vDSO returned {}",
            after.rax as i64
        )));
    }
    Ok(())
}

/// The vDSO's mappings in `/proc/PID/maps`, contiguous ones merged.
fn vdso_ranges(tracee: &Tracee) -> Result<Vec<(u64, u64)>, CountError> {
    let maps = std::fs::read_to_string(format!("/proc/{}/maps", tracee.pid()))
        .map_err(CountError::io("reading /proc/PID/maps"))?;
    let mut ranges: Vec<(u64, u64)> = Vec::new();
    for line in maps.lines() {
        if !VDSO_MAPPINGS.iter().any(|n| line.ends_with(n)) {
            continue;
        }
        let parsed = line.split(' ').next().and_then(|r| {
            let (a, b) = r.split_once('-')?;
            Some((
                u64::from_str_radix(a, 16).ok()?,
                u64::from_str_radix(b, 16).ok()?,
            ))
        });
        let (start, end) = parsed.ok_or_else(|| bad(format!("unreadable maps line {line:?}")))?;
        match ranges.last_mut() {
            Some(last) if last.0 + last.1 == start => last.1 += end - start,
            _ => ranges.push((start, end.saturating_sub(start))),
        }
    }
    Ok(ranges)
}

fn lossy(v: &[Vec<u8>]) -> Vec<String> {
    v.iter()
        .map(|s| String::from_utf8_lossy(s).into_owned())
        .collect()
}
