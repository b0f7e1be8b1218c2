//! A tiny ELF writer for tests of the loader, here and in other crates.

/// Builds a minimal ELF64 x86-64 executable with the given program
/// headers (type, flags, offset, vaddr, filesz, memsz) and body.
pub fn build(e_type: u16, phdrs: &[(u32, u32, u64, u64, u64, u64)], body: &[u8]) -> Vec<u8> {
    let mut f = vec![0u8; 64];
    f[..4].copy_from_slice(b"\x7fELF");
    f[4] = 2; // 64-bit
    f[5] = 1; // little endian
    f[6] = 1; // version
    f[16..18].copy_from_slice(&e_type.to_le_bytes());
    f[18..20].copy_from_slice(&62u16.to_le_bytes());
    f[20..24].copy_from_slice(&1u32.to_le_bytes());
    f[24..32].copy_from_slice(&0x401000u64.to_le_bytes()); // entry
    f[32..40].copy_from_slice(&64u64.to_le_bytes()); // phoff
    f[52..54].copy_from_slice(&64u16.to_le_bytes());
    f[54..56].copy_from_slice(&56u16.to_le_bytes());
    f[56..58].copy_from_slice(&(phdrs.len() as u16).to_le_bytes());
    for &(t, fl, off, va, fs, ms) in phdrs {
        f.extend_from_slice(&t.to_le_bytes());
        f.extend_from_slice(&fl.to_le_bytes());
        f.extend_from_slice(&off.to_le_bytes());
        f.extend_from_slice(&va.to_le_bytes());
        f.extend_from_slice(&va.to_le_bytes());
        f.extend_from_slice(&fs.to_le_bytes());
        f.extend_from_slice(&ms.to_le_bytes());
        f.extend_from_slice(&0x1000u64.to_le_bytes());
    }
    f.extend_from_slice(body);
    f
}

/// A static executable of two segments: `text` read/execute at 0x401000
/// (the entry point; the headers fill the page before it) and `data`
/// read/write at the page-aligned `data_vaddr`, `data_memsz` bytes long in
/// memory (the part past `data` is zero).
pub fn code_and_data(text: &[u8], data_vaddr: u64, data: &[u8], data_memsz: u64) -> Vec<u8> {
    const LOAD: u32 = 1;
    let headers = 64 + 2 * 56;
    let text_end = 0x1000 + text.len() as u64;
    let data_offset = text_end.next_multiple_of(0x1000);
    let mut body = vec![0u8; 0x1000 - headers];
    body.extend_from_slice(text);
    body.resize(data_offset as usize - headers, 0);
    body.extend_from_slice(data);
    let phdrs = [
        (LOAD, 5, 0, 0x40_0000, text_end, text_end),
        (
            LOAD,
            6,
            data_offset,
            data_vaddr,
            data.len() as u64,
            data_memsz,
        ),
    ];
    build(2, &phdrs, &body)
}

/// A static executable whose code is `code` at the entry point, 0x401000,
/// in one read-execute segment.
pub fn with_code(code: &[u8]) -> Vec<u8> {
    let headers = 64 + 56;
    let mut body = vec![0u8; 0x1000 - headers];
    body.extend_from_slice(code);
    let len = (headers + body.len()) as u64;
    build(2, &[(1, 5, 0, 0x400000, len, len)], &body)
}
