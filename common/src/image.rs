//! A contract loaded once: its ELF validated, its initial memory built and
//! sealed as a copy-on-write snapshot, its identity hashed. Every call of
//! the contract starts from this image, so a call costs what it runs, not
//! what loading costs, and sees nothing of an earlier call.

use std::sync::Arc;

use crate::address_space::{AddressSpace, MemoryChange};
use crate::call::CallError;
use crate::elf::{self, ElfImage};
use crate::guest_memory::{Extent, GuestMemory, MemoryError};
use crate::layout::page_align_up;
use crate::process_image;

/// A contract's identity: BLAKE3 of the ELF's length (8 bytes, little
/// endian) and bytes, the program part of every call's identity
/// ([`crate::random`]), so one pass over the bytes serves both.
pub type ContractHash = [u8; 32];

/// The hash of `program` and the call-identity hasher it finishes.
pub fn hash_program(program: &[u8]) -> (ContractHash, blake3::Hasher) {
    let hasher = crate::random::call_id_of_program(program);
    (hasher.finalize().into(), hasher)
}

/// A loaded contract, ready to start calls from.
pub struct ContractImage {
    name: String,
    elf: ElfImage,
    hash: ContractHash,
    /// The call-identity hash with the program's part done
    /// ([`crate::random::call_id`]): a call adds its arguments.
    call_id: blake3::Hasher,
    memory: Arc<GuestMemory>,
    /// The address space right after loading; each call starts from a fork.
    space: AddressSpace,
    loaded: process_image::Loaded,
    program_len: u64,
}

impl ContractImage {
    /// Parses and checks `program`, builds its initial memory in an arena
    /// of `memory_limit` bytes (rounded up to a page) and seals it. `name`
    /// is argv[0] of every call (a file name, not a host path).
    pub fn load(program: &[u8], name: &str, memory_limit: u64) -> Result<Self, CallError> {
        Self::load_hashed(program, hash_program(program), name, memory_limit, true)
    }

    /// [`load`](Self::load) with the program's [`hash_program`] done.
    /// Without `seal` the image is built for one call only, in plain
    /// memory (a little cheaper: no snapshot to map and restore), and
    /// [`restore`](Self::restore) fails.
    pub fn load_hashed(
        program: &[u8],
        (hash, call_id): (ContractHash, blake3::Hasher),
        name: &str,
        memory_limit: u64,
        seal: bool,
    ) -> Result<Self, CallError> {
        let elf = elf::parse(program)?;
        let limit = page_align_up(memory_limit).ok_or(MemoryError::BadLimit(memory_limit))?;
        let memory = Arc::new(GuestMemory::new(limit)?);
        let image_len = process_image::image_memory(&elf).min(limit);
        if seal {
            memory.begin_image(image_len)?;
        }
        let mut space = AddressSpace::new(memory.clone());
        let loaded = process_image::load(&mut space, &elf, program)?;
        if seal {
            memory.seal_image()?;
        }
        Ok(ContractImage {
            name: name.to_string(),
            elf,
            hash,
            call_id,
            memory,
            space,
            loaded,
            program_len: program.len() as u64,
        })
    }

    /// argv[0] of its calls.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The contract's [`ContractHash`].
    pub fn hash(&self) -> &ContractHash {
        &self.hash
    }

    /// Size of the ELF file in bytes.
    pub fn program_len(&self) -> u64 {
        self.program_len
    }

    /// The arena every call of this contract runs in.
    pub fn memory(&self) -> &Arc<GuestMemory> {
        &self.memory
    }

    /// The parsed ELF.
    pub fn elf(&self) -> &ElfImage {
        &self.elf
    }

    /// Entry point and brk start.
    pub fn loaded(&self) -> process_image::Loaded {
        self.loaded
    }

    /// A fresh address space for a call: the image's mappings.
    pub fn fork_space(&self) -> AddressSpace {
        self.space.fork()
    }

    /// What an engine must map for a call to start: the image's mappings.
    pub fn mappings(&self) -> Vec<MemoryChange> {
        self.space.visible()
    }

    /// The call-identity hasher with the program hashed in.
    pub fn call_id_hasher(&self) -> blake3::Hasher {
        self.call_id.clone()
    }

    /// Returns memory to the image after a call; returns the extents of the
    /// image that had changed (translated code there is stale).
    pub fn restore(&self) -> Result<Vec<Extent>, MemoryError> {
        self.memory.restore_image()
    }
}

impl std::fmt::Debug for ContractImage {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ContractImage")
            .field("name", &self.name)
            .field("hash", &hex_prefix(&self.hash))
            .field("program_len", &self.program_len)
            .finish()
    }
}

fn hex_prefix(hash: &ContractHash) -> String {
    hash.iter().take(8).map(|b| format!("{b:02x}")).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Memory a call changes is back to the image after `restore`, and the
    /// changed extents are reported; memory above the image reads zero.
    #[test]
    fn restore_returns_memory_to_the_image() {
        let program = crate::test_elf::with_code(&[0xb8, 60, 0, 0, 0, 0x0f, 0x05]);
        let image = ContractImage::load(&program, "t", 16 << 20).unwrap();
        let space = image.fork_space();
        let rip = image.loaded().entry;
        let before = space.read_vec(rip, 16).unwrap();
        let mem = image.memory();
        let image_len = mem.image_len();
        assert!(image_len > 0);
        // The contract's text page, a page above the image.
        let text = (0..image_len)
            .step_by(4096)
            .find(|&g| {
                let mut b = [0u8; 16];
                mem.read(g, &mut b).unwrap();
                b.iter().any(|&x| x != 0)
            })
            .unwrap();
        let mut original = [0u8; 16];
        mem.read(text, &mut original).unwrap();
        mem.write(text, b"overwritten bytes").unwrap();
        mem.write(image_len + 4096, b"tail").unwrap();
        let changed = image.restore().unwrap();
        assert!(changed
            .iter()
            .any(|e| e.gpa <= text && text < e.gpa + e.len));
        let mut now = [0u8; 16];
        mem.read(text, &mut now).unwrap();
        assert_eq!(now, original);
        let mut tail = [0u8; 4];
        mem.read(image_len + 4096, &mut tail).unwrap();
        assert_eq!(tail, [0; 4]);
        assert_eq!(image.fork_space().read_vec(rip, 16).unwrap(), before);
        // Nothing changed: nothing reported.
        assert!(image.restore().unwrap().is_empty());
    }

    /// The fallback without memfd or pagemap keeps a copy of the image:
    /// restoring rewrites it and reports the whole image as changed.
    #[test]
    fn the_copy_fallback_restores_the_image_too() {
        let memory = Arc::new(GuestMemory::new(16 << 20).unwrap());
        memory.begin_image_as_copy(8 * 4096).unwrap();
        memory.write(4096, b"image bytes").unwrap();
        memory.seal_image().unwrap();
        memory.write(4096, b"call bytes!").unwrap();
        memory.write(0, b"more").unwrap();
        memory.write(9 * 4096, b"above").unwrap();
        let changed = memory.restore_image().unwrap();
        assert_eq!(
            changed,
            vec![Extent {
                gpa: 0,
                len: 8 * 4096
            }]
        );
        let mut b = [0u8; 11];
        memory.read(4096, &mut b).unwrap();
        assert_eq!(&b, b"image bytes");
        for at in [0, 9 * 4096] {
            let mut z = [9u8; 5];
            memory.read(at, &mut z).unwrap();
            assert_eq!(z, [0; 5], "at {at:#x}");
        }
        // Discarding in the image range reads zeros (anonymous memory).
        memory
            .discard(Extent {
                gpa: 4096,
                len: 4096,
            })
            .unwrap();
        memory.read(4096, &mut b).unwrap();
        assert_eq!(b, [0; 11]);
        memory.restore_image().unwrap();
        memory.read(4096, &mut b).unwrap();
        assert_eq!(&b, b"image bytes");
    }

    /// Giving image memory back (munmap, MADV_DONTNEED) reads zeros, not
    /// the image, until the next restore brings the image back.
    #[test]
    fn discarded_image_memory_reads_zero_until_restored() {
        let program = crate::test_elf::with_code(&[0xb8, 60, 0, 0, 0, 0x0f, 0x05]);
        let image = ContractImage::load(&program, "t", 16 << 20).unwrap();
        let mem = image.memory();
        let mut first = [0u8; 8];
        mem.read(0, &mut first).unwrap();
        let page = Extent { gpa: 0, len: 4096 };
        mem.discard(page).unwrap();
        let mut now = [1u8; 8];
        mem.read(0, &mut now).unwrap();
        assert_eq!(now, [0; 8]);
        let changed = image.restore().unwrap();
        assert!(changed.contains(&page));
        mem.read(0, &mut now).unwrap();
        assert_eq!(now, first);
    }
}
