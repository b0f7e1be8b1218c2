//! qvm's conformance machinery: comparing outcomes field by field across
//! backends and against native Linux. The corpus, builder and report come
//! with the rest of the conformance issue.

pub mod compare;
pub mod corpus;
pub mod native;
pub mod report;
pub mod runner;
pub mod toolchain;
