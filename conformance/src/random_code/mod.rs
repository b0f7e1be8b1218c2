//! Random straight-line x86-64 code for differential testing of the
//! backends against each other and against the host CPU (issue 4, part
//! 4b; grown by issue 10). [`generate`] turns random draws into
//! instructions whose results the ISA fully defines, [`ending`] the
//! instructions a sequence may end in (which may fault), [`program`]
//! wraps batches of them into a static ELF that prints every sequence's
//! final state, and [`kind`] names what each sequence exercises.

pub mod catalog;
pub mod ending;
pub mod generate;
pub mod kind;
pub mod program;

pub use generate::{Draw, Expect, Oracle, MAX_DRAWS};
pub use kind::Kind;
pub use program::{build, End, Program, Run, Sequence};
