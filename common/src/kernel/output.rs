//! The contract's stdout and stderr. Each stream is capped at
//! [`MAX_OUTPUT`] bytes: a write that would pass the cap fails with ENOSPC
//! and writes nothing, so a contract cannot make qvm hold unbounded output.
//! The bytes are either kept for the outcome (`--json`, the conformance
//! runner) or handed to an [`OutputSink`] as they are written (`qvm run`
//! passing output through); both count the same bytes against the same
//! cap, so the contract sees the same results either way.

use super::Errno;

/// Most bytes a call may write to stdout, and to stderr; a write that
/// would pass this fails with ENOSPC.
pub const MAX_OUTPUT: usize = 64 << 20;

/// One of the contract's output streams.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Stream {
    Stdout,
    Stderr,
}

/// Receives the contract's output as it is written, in order.
pub trait OutputSink: Send {
    fn write(&mut self, stream: Stream, bytes: &[u8]);
}

/// One output stream of a call.
#[derive(Debug, Default)]
pub struct Output {
    /// The bytes, when no sink takes them.
    kept: Vec<u8>,
    /// Every byte written, kept or passed on.
    written: usize,
}

impl Output {
    /// Appends `data` (to `sink` when there is one), or fails with ENOSPC
    /// when the stream would pass [`MAX_OUTPUT`].
    pub fn append(
        &mut self,
        stream: Stream,
        data: &[u8],
        sink: Option<&mut (dyn OutputSink + 'static)>,
    ) -> Result<(), Errno> {
        let total = self
            .written
            .checked_add(data.len())
            .filter(|&t| t <= MAX_OUTPUT)
            .ok_or(Errno::ENOSPC)?;
        match sink {
            Some(sink) => sink.write(stream, data),
            None => self.kept.extend_from_slice(data),
        }
        self.written = total;
        Ok(())
    }

    /// The kept bytes (none when a sink took them).
    pub fn kept(&self) -> &[u8] {
        &self.kept
    }

    /// Takes the kept bytes, leaving none.
    pub fn take_kept(&mut self) -> Vec<u8> {
        std::mem::take(&mut self.kept)
    }

    /// How many bytes were written.
    pub fn written(&self) -> usize {
        self.written
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Default)]
    struct Collect(Vec<(Stream, Vec<u8>)>);

    impl OutputSink for Collect {
        fn write(&mut self, stream: Stream, bytes: &[u8]) {
            self.0.push((stream, bytes.to_vec()));
        }
    }

    #[test]
    fn a_sink_gets_the_bytes_and_the_cap_counts_them() {
        let mut sink = Collect::default();
        let mut out = Output::default();
        out.append(Stream::Stderr, b"ab", Some(&mut sink)).unwrap();
        assert_eq!(sink.0, vec![(Stream::Stderr, b"ab".to_vec())]);
        assert_eq!((out.kept(), out.written()), (&b""[..], 2));
        let big = vec![0u8; MAX_OUTPUT - 2];
        out.append(Stream::Stderr, &big, Some(&mut sink)).unwrap();
        assert_eq!(
            out.append(Stream::Stderr, b"x", Some(&mut sink)),
            Err(Errno::ENOSPC)
        );
        assert_eq!(out.written(), MAX_OUTPUT);
    }

    #[test]
    fn without_a_sink_the_bytes_are_kept_up_to_the_cap() {
        let mut out = Output::default();
        out.append(Stream::Stdout, b"hi", None).unwrap();
        let big = vec![0u8; MAX_OUTPUT - 1];
        assert_eq!(out.append(Stream::Stdout, &big, None), Err(Errno::ENOSPC));
        assert_eq!(out.kept(), b"hi");
    }
}
