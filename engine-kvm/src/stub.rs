//! The ring-0 stub: descriptor tables and a few hand-assembled
//! instructions that turn every `syscall` and every exception into an exit
//! to the host (`out imm8, al`, which clobbers no register) and return
//! with `sysretq`/`iretq`.
//!
//! Syscall entry (LSTAR), on the user's stack, which it never touches:
//! ```text
//! stmxcsr [rip+MXCSR_SAVED]      ; the contract's MXCSR, for the host
//! out   0x60, al                 ; exit: the host handles the syscall
//! cmp   byte [rip+TLB_FLAG], 0   ; did the host change page tables?
//! je    .ret
//! mov   byte [rip+TLB_FLAG], 0
//! mov   [rip+SCRATCH], rax       ; keep the syscall result
//! mov   rax, cr3
//! mov   cr3, rax                 ; flush the TLB
//! mov   rax, [rip+SCRATCH]
//! .ret: sysretq                  ; RCX/R11 as the CPU saved them
//! ```
//! Exception vector N, on the TSS stack:
//! ```text
//! stmxcsr [rip+MXCSR_SAVED]
//! out   0x20+N, al               ; exit: the host reads the frame
//! add   rsp, 8                   ; only for vectors with an error code
//! iretq
//! ```
//! Resume entry, on the stack holding the IRETQ frame the host wrote:
//! ```text
//! (the TLB flush above, if flagged)
//! ldmxcsr [rip+MXCSR_LOAD]       ; the thread's MXCSR
//! iretq                          ; to the thread, every register loaded
//! ```

use crate::layout::*;

/// Vectors for which the CPU pushes an error code.
pub fn has_error_code(vector: u64) -> bool {
    matches!(vector, 8 | 10 | 11 | 12 | 13 | 14 | 17 | 21 | 29 | 30)
}

/// The GDT: the shared machine's (Linux's selector layout, then the TSS
/// descriptor).
pub fn gdt() -> Vec<u8> {
    qvm_common::engine::visible::gdt().to_vec()
}

/// The TSS: only RSP0 matters (the stack exceptions from user mode use);
/// the I/O bitmap offset points past the limit, so user `in`/`out` fault.
pub fn tss() -> Vec<u8> {
    let mut t = vec![0u8; (TSS_LIMIT + 1) as usize];
    t[4..12].copy_from_slice(&(KERNEL_BASE + STACK_TOP).to_le_bytes());
    t[102..104].copy_from_slice(&((TSS_LIMIT + 1) as u16).to_le_bytes());
    t
}

/// The IDT: 32 interrupt gates to the handlers. Only #BP is callable from
/// user mode (`int3`); any other `int N` raises #GP, as on Linux.
pub fn idt() -> Vec<u8> {
    let mut out = Vec::new();
    for vector in 0..VECTORS {
        let handler = KERNEL_BASE + CODE + vector * HANDLER_SIZE;
        let dpl: u64 = if vector == 3 { 3 } else { 0 };
        let attrs = 0x8e | (dpl << 5); // P, DPL, 64-bit interrupt gate
        let low = (handler & 0xffff)
            | (u64::from(KERNEL_CS) << 16)
            | (attrs << 40)
            | (((handler >> 16) & 0xffff) << 48);
        out.extend_from_slice(&low.to_le_bytes());
        out.extend_from_slice(&(handler >> 32).to_le_bytes());
    }
    out
}

/// RIP-relative displacement from the end of an instruction at `at` (code
/// offset) of length `len` to `target` (system-memory offset).
fn rel32(at: u64, len: u64, target: u64) -> [u8; 4] {
    let disp = target as i64 - (at + len) as i64;
    (disp as i32).to_le_bytes()
}

/// The code page: exception handlers at N * 16, the syscall entry at
/// 0x400, the resume entry at 0x500.
pub fn code() -> Vec<u8> {
    let mut page = vec![0xccu8; PAGE as usize];
    for vector in 0..VECTORS {
        let at = CODE + vector * HANDLER_SIZE;
        let mut h = vec![0x0f, 0xae, 0x1d]; // stmxcsr [rip+d32]
        h.extend_from_slice(&rel32(at, 7, MXCSR_SAVED));
        h.extend_from_slice(&[0xe6, PORT_EXCEPTION as u8 + vector as u8]); // out imm8, al
        if has_error_code(vector) {
            h.extend_from_slice(&[0x48, 0x83, 0xc4, 0x08]); // add rsp, 8
        }
        h.extend_from_slice(&[0x48, 0xcf]); // iretq
        let at = (vector * HANDLER_SIZE) as usize;
        page[at..at + h.len()].copy_from_slice(&h);
    }
    let mut s = vec![0x0f, 0xae, 0x1d]; // stmxcsr [rip+d32]
    s.extend_from_slice(&rel32(SYSCALL_ENTRY, 7, MXCSR_SAVED));
    s.extend_from_slice(&[0xe6, PORT_SYSCALL as u8]); // out 0x60, al
    flush_if_flagged(&mut s, SYSCALL_ENTRY);
    s.extend_from_slice(&[0x48, 0x0f, 0x07]); // sysretq
    let off = (SYSCALL_ENTRY - CODE) as usize;
    page[off..off + s.len()].copy_from_slice(&s);
    let mut r = Vec::new();
    flush_if_flagged(&mut r, RESUME_ENTRY);
    let at = RESUME_ENTRY + r.len() as u64;
    r.extend_from_slice(&[0x0f, 0xae, 0x15]); // ldmxcsr [rip+d32]
    r.extend_from_slice(&rel32(at, 7, MXCSR_LOAD));
    r.extend_from_slice(&[0x48, 0xcf]); // iretq
    let off = (RESUME_ENTRY - CODE) as usize;
    page[off..off + r.len()].copy_from_slice(&r);
    page
}

/// Appends code that reloads CR3 (flushing the TLB) when the host set
/// TLB_FLAG, and clears the flag; RAX survives. `base` is the code's
/// system-memory offset, for RIP-relative addressing.
fn flush_if_flagged(s: &mut Vec<u8>, base: u64) {
    let at = |s: &Vec<u8>| base + s.len() as u64;
    let i = at(s);
    s.extend_from_slice(&[0x80, 0x3d]); // cmp byte [rip+d32], imm8
    s.extend_from_slice(&rel32(i, 7, TLB_FLAG));
    s.push(0x00);
    let je_at = s.len();
    s.extend_from_slice(&[0x74, 0x00]); // je .ret (patched)
    let i = at(s);
    s.extend_from_slice(&[0xc6, 0x05]); // mov byte [rip+d32], imm8
    s.extend_from_slice(&rel32(i, 7, TLB_FLAG));
    s.push(0x00);
    let i = at(s);
    s.extend_from_slice(&[0x48, 0x89, 0x05]); // mov [rip+d32], rax
    s.extend_from_slice(&rel32(i, 7, SCRATCH));
    s.extend_from_slice(&[0x0f, 0x20, 0xd8]); // mov rax, cr3
    s.extend_from_slice(&[0x0f, 0x22, 0xd8]); // mov cr3, rax
    let i = at(s);
    s.extend_from_slice(&[0x48, 0x8b, 0x05]); // mov rax, [rip+d32]
    s.extend_from_slice(&rel32(i, 7, SCRATCH));
    let ret = s.len();
    s[je_at + 1] = (ret - (je_at + 2)) as u8;
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tables_have_the_right_shape() {
        let g = gdt();
        assert_eq!(g.len(), 80);
        let user_cs = u64::from_le_bytes(g[0x30..0x38].try_into().unwrap());
        assert_eq!(
            user_cs, 0x00af_fb00_0000_ffff,
            "Linux's __USER_CS descriptor"
        );
        let kernel_cs = u64::from_le_bytes(g[0x10..0x18].try_into().unwrap());
        assert_eq!(kernel_cs, 0x00af_9b00_0000_ffff);
        assert_eq!(idt().len(), 32 * 16);
        assert_eq!(tss().len(), 104);
    }

    #[test]
    fn tables_are_where_the_shared_machine_says() {
        use qvm_common::engine::visible;
        assert_eq!(gdt().len() - 1, usize::from(visible::GDT_LIMIT));
        assert_eq!(idt().len() - 1, usize::from(visible::IDT_LIMIT));
        assert_eq!(VECTORS * 16 - 1, u64::from(visible::IDT_LIMIT));
        assert_eq!(tss().len() - 1, visible::TSS_LIMIT as usize);
    }

    #[test]
    fn code_layout() {
        let c = code();
        // Each handler stores MXCSR first (7 bytes), then
        // #DE: out 0x20, al; iretq.   #GP: out 0x2d, al; add rsp, 8; iretq.
        assert_eq!(&c[0..3], &[0x0f, 0xae, 0x1d]);
        assert_eq!(&c[7..11], &[0xe6, 0x20, 0x48, 0xcf]);
        assert_eq!(
            &c[13 * 16 + 7..13 * 16 + 15],
            &[0xe6, 0x2d, 0x48, 0x83, 0xc4, 0x08, 0x48, 0xcf]
        );
        // stmxcsr's displacement reaches the slot from every handler.
        for v in [0u64, 13, 31] {
            let at = (v * 16) as usize;
            let disp = i32::from_le_bytes(c[at + 3..at + 7].try_into().unwrap()) as i64;
            assert_eq!(CODE as i64 + at as i64 + 7 + disp, MXCSR_SAVED as i64);
        }
        let s = &c[0x400..];
        assert_eq!(&s[7..9], &[0xe6, 0x60]);
        // je skips exactly to sysretq.
        let je = 9 + 7;
        assert_eq!(s[je], 0x74);
        let target = je + 2 + s[je + 1] as usize;
        assert_eq!(&s[target..target + 3], &[0x48, 0x0f, 0x07]);
        // cmp's displacement reaches the flag.
        let disp = i32::from_le_bytes(s[11..15].try_into().unwrap()) as i64;
        assert_eq!(CODE as i64 + 0x400 + 9 + 7 + disp, TLB_FLAG as i64);
        // The resume entry ends with ldmxcsr [MXCSR_LOAD]; iretq.
        let r = &c[0x500..];
        let end = r.windows(2).position(|w| w == [0x48, 0xcf]).unwrap();
        assert_eq!(&r[end - 7..end - 4], &[0x0f, 0xae, 0x15]);
        let disp = i32::from_le_bytes(r[end - 4..end].try_into().unwrap()) as i64;
        assert_eq!(CODE as i64 + 0x500 + end as i64 + disp, MXCSR_LOAD as i64);
    }
}
