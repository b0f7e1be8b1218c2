//! The deterministic entropy stream behind `getrandom`, `/dev/urandom`,
//! `/dev/random` and the 16 `AT_RANDOM` bytes.
//!
//! Derivation (version 2), so another implementation can reproduce it:
//!
//! ```text
//! call_id = BLAKE3( u64le(len(program)) || program
//!                 || u64le(argc) || for each arg: u64le(len(arg)) || arg )
//! key     = SHA-256( "qvm/entropy/v1" || previous_block_hash[32] || call_id[32] )
//! stream  = ChaCha20 (RFC 8439) keystream, that key, 96-bit zero nonce,
//!           block counter starting at 0
//! ```
//!
//! The process consumes the stream in order: the first 16 bytes are
//! `AT_RANDOM`, then every getrandom call and random-device read takes the
//! next bytes. The order of consumption is fixed by the program, so every
//! backend hands out the same bytes.
//!
//! Version 1 hashed the call's identity with SHA-256 too. The program is
//! most of what is hashed, 0.8 MB for a glibc hello world; BLAKE3 takes
//! 75 us for that here and SHA-256 (with the CPU's SHA extensions) 360 us,
//! a tenth of the whole call.

use chacha20::cipher::{KeyIvInit, StreamCipher};
use chacha20::ChaCha20;
use sha2::{Digest, Sha256};

/// The identity of one call: which program, with which arguments.
pub fn call_id(program: &[u8], args: &[Vec<u8>]) -> [u8; 32] {
    call_id_with(call_id_of_program(program), args)
}

/// The call identity's hash with the program's part done: a loaded
/// contract keeps it, so a call hashes only its arguments.
pub fn call_id_of_program(program: &[u8]) -> blake3::Hasher {
    let mut h = blake3::Hasher::new();
    h.update(&(program.len() as u64).to_le_bytes());
    h.update(program);
    h
}

/// Finishes a call identity from [`call_id_of_program`]'s hasher.
pub fn call_id_with(mut h: blake3::Hasher, args: &[Vec<u8>]) -> [u8; 32] {
    h.update(&(args.len() as u64).to_le_bytes());
    for a in args {
        h.update(&(a.len() as u64).to_le_bytes());
        h.update(a);
    }
    h.finalize().into()
}

/// A position in the call's entropy stream.
pub struct Entropy {
    cipher: ChaCha20,
}

impl Entropy {
    /// The stream for a call in the block after `block_hash`.
    pub fn new(block_hash: &[u8; 32], call_id: &[u8; 32]) -> Self {
        let mut h = Sha256::new();
        h.update(b"qvm/entropy/v1");
        h.update(block_hash);
        h.update(call_id);
        let key: [u8; 32] = h.finalize().into();
        let nonce = [0u8; 12];
        Entropy {
            cipher: ChaCha20::new(&key.into(), &nonce.into()),
        }
    }

    /// Fills `buf` with the next bytes of the stream.
    pub fn fill(&mut self, buf: &mut [u8]) {
        buf.fill(0);
        self.cipher.apply_keystream(buf);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stream_is_deterministic_and_keyed_by_block() {
        let id = call_id(b"prog", &[b"a".to_vec()]);
        let mut a = Entropy::new(&[0; 32], &id);
        let mut b = Entropy::new(&[0; 32], &id);
        let mut c = Entropy::new(&[1; 32], &id);
        let (mut x, mut y, mut z) = ([0u8; 40], [0u8; 40], [0u8; 40]);
        a.fill(&mut x[..16]);
        a.fill(&mut x[16..]);
        b.fill(&mut y);
        c.fill(&mut z);
        assert_eq!(x, y, "consumption in pieces equals one read");
        assert_ne!(x, z);
        assert_ne!(
            call_id(b"prog", &[b"ab".to_vec()]),
            call_id(b"prog", &[b"a".to_vec(), b"b".to_vec()])
        );
    }
}
