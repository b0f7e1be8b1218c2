//! Random straight-line x86-64 code for differential testing of the
//! backends against each other and against the host CPU (issue 4, part
//! 4b). [`generate`] turns random draws into instructions whose results
//! the ISA fully defines, [`program`] wraps batches of them into a static
//! ELF that prints every sequence's final state.

pub mod catalog;
pub mod generate;
pub mod program;

pub use generate::{Draw, Oracle, MAX_DRAWS};
pub use program::{build, Program, Sequence};
