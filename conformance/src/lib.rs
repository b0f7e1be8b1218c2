//! qvm's conformance machinery: the corpus and its builder, the
//! differential runner (outcomes compared field by field across backends
//! and against native Linux), the report, and the syscall coverage that
//! `docs/syscalls.md` shows.

pub mod compare;
pub mod corpus;
pub mod coverage;
pub mod native;
pub mod native_count;
pub mod random_code;
pub mod report;
pub mod runner;
pub mod toolchain;
