//! How each function can be reached, as far as the file shows: from the
//! entry point and the code addresses data holds, only through an ifunc
//! resolver (glibc picks such implementations by CPUID at startup, and
//! qvm's CPUID hides what they need), or through nothing the file shows.

use std::collections::{BTreeMap, BTreeSet};

use iced_x86::{FlowControl, Instruction, OpKind};

use super::disasm::{Code, Found};
use super::image::Image;

/// How the function holding an instruction is reached.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Reach {
    /// From the entry point, or from a code address held by data, through
    /// direct calls, jumps and address references.
    Entry,
    /// Only through an ifunc resolver: selected at startup by CPUID.
    Ifunc,
    /// A glibc function glibc calls only after a CPUID test (see
    /// [`GLIBC_GUARDED`]).
    Guarded,
    /// By nothing the file shows: dead code, or reached through pointers
    /// computed at run time.
    Unreferenced,
    /// The instruction has no function symbol, so nothing can be said.
    Unknown,
}

/// glibc functions that use a hazard and that glibc calls only when CPUID
/// reports the feature, which qvm's CPUID never does. Matched by name, so
/// a contract could borrow a name: `qvm check` is a developer's tool, not
/// a security boundary (code generated at run time escapes it anyway).
pub const GLIBC_GUARDED: &[(&str, &str)] = &[
    (
        "__lll_lock_elision",
        "lock elision: only when CPUID reports RTM and the elision tunable is on",
    ),
    (
        "__lll_unlock_elision",
        "lock elision: only when CPUID reports RTM and the elision tunable is on",
    ),
    (
        "__lll_trylock_elision",
        "lock elision: only when CPUID reports RTM and the elision tunable is on",
    ),
];

/// The code addresses an instruction refers to: direct branch targets,
/// RIP-relative memory operands and immediates that fall in code.
fn targets(i: &Instruction, image: &Image<'_>) -> Vec<u64> {
    let mut out = Vec::new();
    for n in 0..i.op_count() {
        let value = match i.op_kind(n) {
            OpKind::NearBranch16 | OpKind::NearBranch32 | OpKind::NearBranch64 => {
                Some(i.near_branch_target())
            }
            OpKind::Memory if i.is_ip_rel_memory_operand() => Some(i.ip_rel_memory_address()),
            // An immediate is only a number unless it looks like a pointer.
            OpKind::Immediate32 | OpKind::Immediate32to64 | OpKind::Immediate64 => {
                Some(i.immediate(n)).filter(|&v| image.pointer_like(v))
            }
            _ => None,
        };
        if let Some(v) = value.filter(|&v| image.region(v).is_some()) {
            out.push(v);
        }
    }
    // Control that runs on past the end of a function enters the next one
    // (glibc's strcasecmp variants fall into their _l forms).
    if matches!(
        i.flow_control(),
        FlowControl::Next | FlowControl::ConditionalBranch
    ) {
        out.push(i.next_ip());
    }
    out
}

/// Reach of every function, keyed by the function's address.
pub struct Reachability {
    functions: BTreeMap<u64, Reach>,
    /// For ifunc-only functions, the resolver that refers to them first.
    pub resolver_of: BTreeMap<u64, u64>,
}

impl Reachability {
    pub fn compute(image: &Image<'_>, code: &Code) -> Self {
        let func = |a: u64| image.function_at(a).map(|(start, _)| start);
        let mut edges: BTreeMap<u64, BTreeSet<u64>> = BTreeMap::new();
        for (&ip, insn) in &code.insns {
            if insn.found == Found::Sweep {
                continue;
            }
            let Some(from) = func(ip) else { continue };
            for t in targets(&insn.instruction, image) {
                if let Some(to) = func(t).filter(|&to| to != from) {
                    edges.entry(from).or_default().insert(to);
                }
            }
        }
        let mut roots: Vec<u64> = func(image.entry).into_iter().collect();
        roots.extend(image.data_refs.iter().filter_map(|&a| func(a)));
        let entry = walk(roots, &edges, |f| image.is_resolver(f));
        // Each function only a resolver refers to, and what it reaches in
        // turn, is ifunc-selected; it keeps the first resolver found.
        let mut resolver_of = BTreeMap::new();
        for (&from, tos) in &edges {
            if !image.is_resolver(from) {
                continue;
            }
            for &to in tos.iter().filter(|to| !entry.contains(to)) {
                let stop = |f| image.is_resolver(f) || entry.contains(&f);
                for f in walk(vec![to], &edges, stop) {
                    if !entry.contains(&f) && !image.is_resolver(f) {
                        resolver_of.entry(f).or_insert(from);
                    }
                }
            }
        }
        let mut functions = BTreeMap::new();
        for &f in image.functions.keys() {
            let name = image.functions.get(&f).map(|f| f.name.as_str());
            let reach = if GLIBC_GUARDED.iter().any(|(n, _)| Some(*n) == name) {
                Reach::Guarded
            } else if entry.contains(&f) {
                Reach::Entry
            } else if resolver_of.contains_key(&f) {
                Reach::Ifunc
            } else {
                Reach::Unreferenced
            };
            functions.insert(f, reach);
        }
        Reachability {
            functions,
            resolver_of,
        }
    }

    /// Reach of the function holding `addr`.
    pub fn of(&self, image: &Image<'_>, addr: u64) -> Reach {
        image
            .function_at(addr)
            .and_then(|(start, _)| self.functions.get(&start).copied())
            .unwrap_or(Reach::Unknown)
    }
}

/// Functions reachable from `roots`, not following edges out of those
/// `stop` says.
fn walk(
    roots: Vec<u64>,
    edges: &BTreeMap<u64, BTreeSet<u64>>,
    stop: impl Fn(u64) -> bool,
) -> BTreeSet<u64> {
    let mut seen = BTreeSet::new();
    let mut work = roots;
    while let Some(f) = work.pop() {
        if !seen.insert(f) || stop(f) {
            continue;
        }
        if let Some(tos) = edges.get(&f) {
            work.extend(tos.iter().copied().filter(|t| !seen.contains(t)));
        }
    }
    seen
}
