//! Building a new process: the ELF image in memory and the initial stack
//! (argv, envp, auxv) laid out per the x86-64 System V ABI, at fixed
//! addresses.

use thiserror::Error;

use crate::address_space::{AddressSpace, MmError, Prot};
use crate::cpu_profile::LEAF1_EDX;
use crate::elf::ElfImage;
use crate::kernel::identity;
use crate::layout::{page_align_down, page_align_up, PAGE_SIZE, STACK_SIZE, STACK_TOP};

/// Why a process image could not be built.
#[derive(Debug, Error)]
pub enum LoadError {
    #[error("the image needs {needed} bytes of memory (with its {stack} byte stack) but the memory limit is {limit} bytes")]
    TooLarge { needed: u64, stack: u64, limit: u64 },
    #[error("arguments and environment take {0} bytes; the limit is {1} bytes")]
    ArgsTooLarge(u64, u64),
    #[error("an argument or environment string contains a NUL byte")]
    NulInString,
    #[error("cannot map the image: {0}")]
    Map(#[from] MmError),
}

/// The result of loading an image: where execution starts and where brk
/// begins.
#[derive(Clone, Copy, Debug)]
pub struct Loaded {
    pub entry: u64,
    pub brk_start: u64,
}

// Auxiliary vector keys (linux/auxvec.h).
const AT_NULL: u64 = 0;
const AT_PHDR: u64 = 3;
const AT_PHENT: u64 = 4;
const AT_PHNUM: u64 = 5;
const AT_PAGESZ: u64 = 6;
const AT_BASE: u64 = 7;
const AT_FLAGS: u64 = 8;
const AT_ENTRY: u64 = 9;
const AT_UID: u64 = 11;
const AT_EUID: u64 = 12;
const AT_GID: u64 = 13;
const AT_EGID: u64 = 14;
const AT_PLATFORM: u64 = 15;
const AT_HWCAP: u64 = 16;
const AT_CLKTCK: u64 = 17;
const AT_SECURE: u64 = 23;
const AT_RANDOM: u64 = 25;
const AT_HWCAP2: u64 = 26;
const AT_EXECFN: u64 = 31;

/// Arguments and environment may use at most a quarter of the stack, as
/// Linux allows.
pub const ARG_MAX: u64 = STACK_SIZE / 4;

/// Maps the image's segments and copies their file bytes (bss stays
/// zero), then maps the stack, empty. What a call adds to it is written by
/// [`write_stack`]. Segments come first and the stack after them, so their
/// memory is the arena's first [`image_memory`] bytes.
pub fn load(space: &mut AddressSpace, elf: &ElfImage, file: &[u8]) -> Result<Loaded, LoadError> {
    let needed = image_memory(elf);
    if needed > space.limit() {
        return Err(LoadError::TooLarge {
            needed,
            stack: STACK_SIZE,
            limit: space.limit(),
        });
    }

    // Segments may share a page at their edges: map page ranges with the
    // union of the protections of every segment touching them.
    let mut pages: Vec<(u64, u64, Prot)> = Vec::new();
    for s in &elf.segments {
        let lo = page_align_down(s.vaddr);
        let hi = page_align_up(s.vaddr + s.mem_size).ok_or(MmError::NoMemory)?;
        match pages.last_mut() {
            Some(last) if lo < last.1 => {
                last.1 = last.1.max(hi);
                last.2 = last.2.union(s.prot);
            }
            _ => pages.push((lo, hi, s.prot)),
        }
    }
    for &(lo, hi, prot) in &pages {
        space.map_fixed(lo, hi - lo, prot, true)?;
    }
    for s in &elf.segments {
        let start = s.file_offset as usize;
        let data = file
            .get(start..start + s.file_size as usize)
            .ok_or(MmError::Fault)?;
        space.write_initial(s.vaddr, data)?;
    }

    let stack_prot = if elf.exec_stack {
        Prot::RW.union(Prot::EXEC)
    } else {
        Prot::RW
    };
    space.map_fixed(STACK_TOP - STACK_SIZE, STACK_SIZE, stack_prot, true)?;
    let brk_start = page_align_up(elf.image_end).ok_or(MmError::NoMemory)?;
    Ok(Loaded {
        entry: elf.entry,
        brk_start,
    })
}

/// Memory the loaded image takes: its segments' pages and the stack.
pub fn image_memory(elf: &ElfImage) -> u64 {
    elf.memory_needed().saturating_add(STACK_SIZE)
}

/// The auxiliary vector's keys in the order qvm writes them (AT_NULL
/// follows). There is no AT_SYSINFO_EHDR: qvm offers no vDSO. Public so the
/// native instruction counter (qvm-conformance) can give a Linux process
/// the same vector: libcs loop over it, so its length and order change
/// instruction counts.
pub const AUXV_KEYS: [u64; 18] = [
    AT_PHDR,
    AT_PHENT,
    AT_PHNUM,
    AT_PAGESZ,
    AT_BASE,
    AT_FLAGS,
    AT_ENTRY,
    AT_UID,
    AT_EUID,
    AT_GID,
    AT_EGID,
    AT_SECURE,
    AT_RANDOM,
    AT_HWCAP,
    AT_HWCAP2,
    AT_CLKTCK,
    AT_PLATFORM,
    AT_EXECFN,
];

/// Auxiliary vector keys whose values are addresses in the process.
pub const AUXV_POINTER_KEYS: [u64; 5] = [AT_PHDR, AT_ENTRY, AT_RANDOM, AT_PLATFORM, AT_EXECFN];

/// The initial stack of a process: `bytes` belong at `rsp` and run up to
/// the 8-byte NULL end marker below [`STACK_TOP`].
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct InitialStack {
    pub rsp: u64,
    pub bytes: Vec<u8>,
    /// The auxiliary vector written into `bytes` (AT_NULL not included).
    pub auxv: [(u64, u64); AUXV_KEYS.len()],
    /// Addresses of the argv and envp strings.
    pub argv: Vec<u64>,
    pub envp: Vec<u64>,
}

/// Writes a process's initial stack (argv, envp, auxv) into the stack
/// [`load`] mapped; returns the initial RSP. `at_random` are the 16 bytes
/// behind AT_RANDOM.
pub fn write_stack(
    space: &AddressSpace,
    elf: &ElfImage,
    argv: &[Vec<u8>],
    envp: &[Vec<u8>],
    at_random: [u8; 16],
) -> Result<u64, LoadError> {
    if argv.iter().chain(envp).any(|s| s.contains(&0)) {
        return Err(LoadError::NulInString);
    }
    let stack = initial_stack(elf, argv, envp, at_random)?;
    space.write_initial(stack.rsp, &stack.bytes)?;
    Ok(stack.rsp)
}

/// Lays out the initial stack: strings from the top of the stack down,
/// then the pointer block (argc, argv, envp, auxv) below them.
pub fn initial_stack(
    elf: &ElfImage,
    argv: &[Vec<u8>],
    envp: &[Vec<u8>],
    at_random: [u8; 16],
) -> Result<InitialStack, LoadError> {
    let string_bytes: u64 = argv.iter().chain(envp).map(|s| s.len() as u64 + 1).sum();
    let pointer_bytes = 8 * (argv.len() as u64 + envp.len() as u64 + 3);
    let total = string_bytes.saturating_add(pointer_bytes);
    if total > ARG_MAX {
        return Err(LoadError::ArgsTooLarge(total, ARG_MAX));
    }

    // Strings area, built bottom-up in a buffer that ends at STACK_TOP - 8
    // (Linux leaves an 8-byte NULL end marker at the very top).
    let top = STACK_TOP - 8;
    let mut strings: Vec<u8> = Vec::new();
    let mut place = |bytes: &[u8]| -> u64 {
        // Returns the offset from the *end* of the area; fixed up below.
        strings.extend_from_slice(bytes);
        strings.len() as u64
    };
    let execfn_name = argv.first().cloned().unwrap_or_default();
    let mut offsets_argv = Vec::with_capacity(argv.len());
    let mut offsets_envp = Vec::with_capacity(envp.len());
    for a in argv {
        let start = place(a) - a.len() as u64;
        place(&[0]);
        offsets_argv.push(start);
    }
    for e in envp {
        let start = place(e) - e.len() as u64;
        place(&[0]);
        offsets_envp.push(start);
    }
    let execfn = place(&execfn_name) - execfn_name.len() as u64;
    place(&[0]);
    let platform = place(b"x86_64\0") - 7;
    let random = place(&at_random) - 16;
    let area_start = top - strings.len() as u64;
    let at = |off: u64| area_start + off;

    let values = [
        elf.phdr_addr,
        56,
        u64::from(elf.phnum),
        PAGE_SIZE,
        0,
        0,
        elf.entry,
        identity::UID,
        identity::UID,
        identity::GID,
        identity::GID,
        0,
        at(random),
        u64::from(LEAF1_EDX),
        0,
        identity::CLOCK_TICKS,
        at(platform),
        at(execfn),
    ];
    let auxv: [(u64, u64); AUXV_KEYS.len()] = std::array::from_fn(|i| (AUXV_KEYS[i], values[i]));
    let argv_at: Vec<u64> = offsets_argv.iter().map(|&o| at(o)).collect();
    let envp_at: Vec<u64> = offsets_envp.iter().map(|&o| at(o)).collect();
    let mut words: Vec<u64> = Vec::new();
    words.push(argv.len() as u64);
    words.extend(&argv_at);
    words.push(0);
    words.extend(&envp_at);
    words.push(0);
    for (k, v) in auxv {
        words.push(k);
        words.push(v);
    }
    words.push(AT_NULL);
    words.push(0);
    let block = words.len() as u64 * 8;
    let rsp = (area_start - block) & !15;
    let mut bytes: Vec<u8> = words.iter().flat_map(|w| w.to_le_bytes()).collect();
    // Zero padding up to the strings (fresh memory is zero).
    bytes.resize((area_start - rsp) as usize, 0);
    bytes.extend_from_slice(&strings);
    Ok(InitialStack {
        rsp,
        bytes,
        auxv,
        argv: argv_at,
        envp: envp_at,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::elf;
    use crate::guest_memory::GuestMemory;
    use std::sync::Arc;

    fn image() -> (Vec<u8>, ElfImage) {
        use goblin::elf::program_header::{PF_R, PF_W, PF_X, PT_LOAD};
        let mut body = vec![0u8; 0x200];
        // Headers take 64 + 2 * 56 bytes, so file offset 0x100 is body[0x50].
        body[0x50..0x54].copy_from_slice(b"DATA");
        let f = crate::test_elf::build(
            goblin::elf::header::ET_EXEC,
            &[
                (PT_LOAD, PF_R | PF_X, 0, 0x400000, 0x200, 0x200),
                (PT_LOAD, PF_R | PF_W, 0x100, 0x401100, 0x10, 0x3000),
            ],
            &body,
        );
        let img = elf::parse(&f).unwrap();
        (f, img)
    }

    /// Loads the image and writes a stack: what a process starts with.
    fn start(
        space: &mut AddressSpace,
        img: &ElfImage,
        f: &[u8],
        argv: &[Vec<u8>],
        envp: &[Vec<u8>],
        at_random: [u8; 16],
    ) -> Result<(Loaded, u64), LoadError> {
        let l = load(space, img, f)?;
        let rsp = write_stack(space, img, argv, envp, at_random)?;
        Ok((l, rsp))
    }

    #[test]
    fn loads_segments_and_stack() {
        let (f, img) = image();
        let mut space = AddressSpace::new(Arc::new(GuestMemory::new(16 << 20).unwrap()));
        let argv = vec![b"prog".to_vec(), b"hello".to_vec()];
        let envp = vec![b"A=1".to_vec()];
        let (l, rsp) = start(&mut space, &img, &f, &argv, &envp, [7; 16]).unwrap();
        assert_eq!(l.entry, 0x401000);
        assert_eq!(rsp % 16, 0);
        assert_eq!(l.brk_start, 0x405000);
        // File bytes copied, bss zeroed, text read-only.
        let data_at = 0x401100; // vaddr of file offset 0x100
        assert_eq!(space.read_vec(data_at, 4).unwrap(), b"DATA");
        assert_eq!(space.read_vec(0x401110, 16).unwrap(), vec![0; 16]);
        assert_eq!(space.prot_at(0x400000), Some(Prot::READ.union(Prot::EXEC)));
        // argc, argv[1], envp[0], and AT_RANDOM.
        assert_eq!(space.read_u64(rsp).unwrap(), 2);
        let arg1 = space.read_u64(rsp + 16).unwrap();
        assert_eq!(space.read_cstr(arg1, 64).unwrap(), b"hello");
        assert_eq!(space.read_u64(rsp + 24).unwrap(), 0);
        let env0 = space.read_u64(rsp + 32).unwrap();
        assert_eq!(space.read_cstr(env0, 64).unwrap(), b"A=1");
        let mut aux = rsp + 48;
        let mut random = 0;
        loop {
            let k = space.read_u64(aux).unwrap();
            if k == AT_NULL {
                break;
            }
            if k == AT_RANDOM {
                random = space.read_u64(aux + 8).unwrap();
            }
            assert_ne!(k, 33, "no AT_SYSINFO_EHDR");
            aux += 16;
        }
        assert_eq!(space.read_vec(random, 16).unwrap(), vec![7; 16]);
    }

    /// `initial_stack` is what `write_stack` writes, byte for byte (the native
    /// instruction counter relies on it).
    #[test]
    fn initial_stack_is_what_load_writes() {
        let (f, img) = image();
        let mut space = AddressSpace::new(Arc::new(GuestMemory::new(16 << 20).unwrap()));
        let argv = vec![b"prog".to_vec(), b"a b".to_vec()];
        let envp = vec![b"A=1".to_vec(), b"LONGER=value".to_vec()];
        let (_, rsp) = start(&mut space, &img, &f, &argv, &envp, [9; 16]).unwrap();
        let stack = initial_stack(&img, &argv, &envp, [9; 16]).unwrap();
        assert_eq!(stack.rsp, rsp);
        assert_eq!(stack.rsp + stack.bytes.len() as u64, STACK_TOP - 8);
        assert_eq!(
            space.read_vec(stack.rsp, stack.bytes.len()).unwrap(),
            stack.bytes
        );
        let keys: Vec<u64> = stack.auxv.iter().map(|&(k, _)| k).collect();
        assert_eq!(keys, AUXV_KEYS);
        assert_eq!(space.read_cstr(stack.envp[1], 64).unwrap(), b"LONGER=value");
    }

    #[test]
    fn refuses_images_over_the_limit_and_huge_args() {
        let (f, img) = image();
        let mut space = AddressSpace::new(Arc::new(GuestMemory::new(1 << 20).unwrap()));
        assert!(matches!(
            load(&mut space, &img, &f),
            Err(LoadError::TooLarge { .. })
        ));
        let mut space = AddressSpace::new(Arc::new(GuestMemory::new(16 << 20).unwrap()));
        let big = vec![vec![b'x'; 1 << 20]; 3];
        assert!(matches!(
            start(&mut space, &img, &f, &big, &[], [0; 16]),
            Err(LoadError::ArgsTooLarge(..))
        ));
        assert!(matches!(
            start(&mut space, &img, &f, &[b"a\0b".to_vec()], &[], [0; 16]),
            Err(LoadError::NulInString)
        ));
    }
}
