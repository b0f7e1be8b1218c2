/* One instruction (or a few) per case, named by argv[1]: privileged and I/O
 * instructions, alignment checks, instructions the CPU profile requires or
 * hides, and state user code may read. A case that survives prints
 * "NAME=VALUE" in hex; one that faults dies of its signal. */
#include <stdint.h>
#include <stdio.h>
#include <string.h>

static unsigned char buf[256] __attribute__((aligned(64)));
typedef uint64_t (*case_fn)(void);

#define SETAC "pushfq; orl $0x40000, (%%rsp); popfq;"
#define CLRAC "pushfq; andl $~0x40000, (%%rsp); popfq;"
#define ASM0(name, body)                                                     \
    static uint64_t name(void) {                                             \
        __asm__ volatile(body ::"r"(buf) : "memory", "rax", "rcx", "rdx",    \
                         "xmm0", "xmm1");                                    \
        return 0;                                                            \
    }
#define ASM1(name, body, ...)                                                \
    static uint64_t name(void) {                                             \
        uint64_t v = 0;                                                      \
        __asm__ volatile(body : "=&r"(v) : __VA_ARGS__ : "memory", "rax",    \
                         "rcx", "rdx", "xmm0", "xmm1");                      \
        return v;                                                            \
    }

/* privileged and I/O: #GP, SIGSEGV */
ASM0(cli, "cli")
ASM0(sti, "sti")
ASM0(hlt, "hlt")
ASM0(mov_from_cr0, "mov %%cr0, %%rax")
ASM0(mov_to_cr4, "xor %%eax, %%eax; mov %%rax, %%cr4")
ASM0(mov_to_dr7, "xor %%eax, %%eax; mov %%rax, %%dr7")
ASM0(rdmsr, "mov $0x10, %%ecx; rdmsr")
ASM0(wrmsr, "mov $0x10, %%ecx; wrmsr")
ASM0(in_imm, "inb $0x80, %%al")
ASM0(out_imm, "outb %%al, $0x80")
ASM0(in_dx, "mov $0x3f8, %%edx; inb %%dx, %%al")
ASM0(insb, "mov %0, %%rdi; mov $0x3f8, %%edx; insb")
ASM0(lgdt, "lgdt (%0)")
ASM0(lidt, "lidt (%0)")
ASM0(lldt, "xor %%eax, %%eax; lldt %%ax")
ASM0(ltr, "mov $0x40, %%eax; ltr %%ax")
ASM0(invlpg, "invlpg (%0)")
ASM0(wbinvd, "wbinvd")
ASM0(invd, "invd")
ASM0(clts, "clts")
ASM0(swapgs, "swapgs")
ASM0(sysret, "sysretq")
ASM0(sysexit, ".byte 0x0f, 0x35")
ASM0(int_0x40, "int $0x40")
ASM0(int_4, "int $4")
/* #UD, SIGILL */
ASM0(sysenter, "sysenter")
ASM0(umwait, ".byte 0xf2, 0x0f, 0xae, 0xf0")
ASM0(tpause, ".byte 0x66, 0x0f, 0xae, 0xf0")
ASM0(incssp, ".byte 0xf3, 0x0f, 0xae, 0xe8")
ASM0(xop, ".byte 0x8f, 0xe8, 0x78, 0xc0, 0xc0, 0x01")
ASM0(salc, ".byte 0xd6")
ASM0(ud1, ".byte 0x0f, 0xb9, 0xc0")
/* traps, SIGTRAP */
ASM0(icebp, ".byte 0xf1")
/* alignment checking: #AC, SIGBUS */
ASM0(ac_load4, SETAC "movl 2(%0), %%eax;" CLRAC)
ASM0(ac_store8, SETAC "movq %%rax, 4(%0);" CLRAC)
ASM0(ac_push, "mov %%rsp, %%rax; sub $4, %%rsp;" SETAC "push %%rax; pop %%rax;" CLRAC "add $4, %%rsp")
ASM0(ac_movsw, "mov %0, %%rsi; lea 65(%0), %%rdi; mov $3, %%ecx;" SETAC "rep movsw;" CLRAC)
ASM0(ac_lock_add, SETAC "lock addl $1, 6(%0);" CLRAC)
ASM0(ac_movdqu8, SETAC "movdqu 8(%0), %%xmm0;" CLRAC)
ASM0(ac_movq4, SETAC "movq 4(%0), %%xmm0;" CLRAC)
ASM0(ac_fldt2, SETAC "fldt 2(%0); fstp %%st(0);" CLRAC)
ASM0(ac_fldl4, SETAC "fldl 4(%0); fstp %%st(0);" CLRAC)
ASM0(ac_pcmpistri8, SETAC "pcmpistri $0, 8(%0), %%xmm0;" CLRAC)
/* alignment checking on aligned data, byte data, and without AC */
ASM0(ac_aligned, SETAC "movl 4(%0), %%eax; movq 8(%0), %%rax; movdqu 16(%0), %%xmm0; fldt 8(%0); fstp %%st(0); movsb;" CLRAC)
ASM0(no_ac_misaligned, "movl 2(%0), %%eax; movq 4(%0), %%rax; movdqu 8(%0), %%xmm0; fldt 2(%0); fstp %%st(0)")
/* SSE operands that must be 16-byte aligned: #GP, SIGSEGV, AC or not */
ASM0(movaps8, "movaps 8(%0), %%xmm0")
ASM0(movdqa_store8, "movdqa %%xmm0, 8(%0)")
ASM0(addps8, "addps 8(%0), %%xmm0")
ASM0(pshufb8, "pshufb 8(%0), %%xmm0")
ASM0(aesenc8, "aesenc 8(%0), %%xmm0")
ASM0(pclmul8, "pclmulqdq $0, 8(%0), %%xmm0")
ASM0(movntdq8, "movntdq %%xmm0, 8(%0)")
ASM0(movaps8_ac, SETAC "movaps 8(%0), %%xmm0;" CLRAC)
/* ... and those that need not be */
ASM0(unaligned_ok, "movups 8(%0), %%xmm0; movdqu 8(%0), %%xmm1; lddqu 8(%0), %%xmm0; movupd %%xmm0, 8(%0); pcmpistri $0, 8(%0), %%xmm0; cvtps2pd 4(%0), %%xmm0; cvtdq2pd 4(%0), %%xmm0")
/* state readable at CPL 3 */
/* IOPL and IF as they are after POPF tried to set IOPL 3 and clear IF */
ASM1(popf_iopl_if, "pushfq; orl $0x3000, (%%rsp); andl $~0x200, (%%rsp); popfq; pushfq; pop %0; and $0x3200, %0", "r"(buf))
ASM1(smsw, "smsw %0", "r"(buf))
ASM1(smsw_mem, "movq $0, (%1); smsw (%1); movq (%1), %0", "r"(buf))
ASM1(str, "str %0", "r"(buf))
ASM1(sldt, "sldt %0", "r"(buf))
/* required features, with values */
ASM1(lzcnt1, "lzcnt %1, %0", "r"(1UL))
ASM1(tzcnt0, "tzcnt %1, %0", "r"(0UL))
ASM1(popcnt, "popcnt %1, %0", "r"(0xf0f0ff00UL))
ASM1(andn, "andn %2, %1, %0", "r"(0xff00ff00UL), "r"(0x12345678UL))
ASM1(bextr, "bextr %2, %1, %0", "r"(0x123456789abcdef0UL), "r"(0x0c08UL))
ASM1(blsi, "blsi %1, %0", "r"(0x1230UL))
ASM1(blsmsk, "blsmsk %1, %0", "r"(0x1230UL))
ASM1(blsr, "blsr %1, %0", "r"(0x1230UL))
ASM1(bzhi, "bzhi %2, %1, %0", "r"(0xffffffffffffffffUL), "r"(37UL))
ASM1(pdep, "pdep %2, %1, %0", "r"(0x123456789abcdef0UL), "r"(0xff00ff00f0f0f0f0UL))
ASM1(pext, "pext %2, %1, %0", "r"(0x123456789abcdef0UL), "r"(0xff00ff00f0f0f0f0UL))
ASM1(mulx, "mov %1, %%rdx; mulx %2, %%rax, %0", "r"(0xfedcba9876543210UL), "r"(0x123456789UL))
ASM1(rorx, "rorx $12, %1, %0", "r"(0x123456789abcdef0UL))
ASM1(sarx, "sarx %2, %1, %0", "r"(0x8000000000001234UL), "r"(7UL))
ASM1(shlx, "shlx %2, %1, %0", "r"(0x8000000000001234UL), "r"(7UL))
ASM1(shrx, "shrx %2, %1, %0", "r"(0x8000000000001234UL), "r"(7UL))
ASM1(adcx_adox, "mov %1, %0; stc; adcx %1, %0; adox %1, %0; pushfq; pop %%rax; and $0x801, %%eax; shl $32, %%rax; xor %%rax, %0", "r"(0x8000000000000001UL))
ASM1(movbe, "movl $0x12345678, (%1); movbe (%1), %k0", "r"(buf))
ASM1(aesenc, "movq %1, %%xmm0; pinsrq $1, %1, %%xmm0; movq %2, %%xmm1; aesenc %%xmm1, %%xmm0; aesenclast %%xmm1, %%xmm0; aesdec %%xmm1, %%xmm0; aesdeclast %%xmm1, %%xmm0; aesimc %%xmm0, %%xmm0; aeskeygenassist $0x1b, %%xmm0, %%xmm1; pxor %%xmm1, %%xmm0; movq %%xmm0, %0; pextrq $1, %%xmm0, %%rax; xor %%rax, %0", "r"(0x0123456789abcdefUL), "r"(0xfedcba9876543210UL))
ASM1(pclmulqdq, "movq %1, %%xmm0; movq %2, %%xmm1; pclmulqdq $0, %%xmm1, %%xmm0; movq %%xmm0, %0; pextrq $1, %%xmm0, %%rax; xor %%rax, %0", "r"(0x0123456789abcdefUL), "r"(0xfedcba9876543210UL))
ASM1(test_f7_1, ".byte 0xf7, 0xc9, 0x01, 0, 0, 0; setnz %b0; movzbl %b0, %k0", "r"(buf))
/* descriptor loads through the GDT: Linux's user selectors work, others
 * fault; the GDT itself is not readable from user mode */
ASM1(mov_ds_ss, "mov %%ss, %%ax; mov %%ax, %%ds; mov %%ds, %0", "r"(buf))
ASM1(mov_es_user32, "mov $0x23, %%eax; mov %%ax, %%es; mov %%es, %0; xor %%eax, %%eax; mov %%ax, %%es", "r"(buf))
ASM1(lretq, "lea 1f(%%rip), %%rax; push $0x33; push %%rax; lretq; 1: mov $7, %0", "r"(buf))
ASM1(iretq_same_privilege, "mov %%rsp, %%rax; push $0x2b; push %%rax; pushfq; push $0x33; lea 1f(%%rip), %%rax; push %%rax; iretq; 1: mov $9, %0", "r"(buf))
ASM1(lar_user_ds, "mov $0x2b, %%eax; lar %%eax, %%eax; mov %%rax, %0", "r"(buf))
ASM1(lar_tss, "mov $0x40, %%eax; lar %%eax, %%eax; mov %%rax, %0", "r"(buf))
ASM1(lsl_user_cs, "mov $0x33, %%eax; lsl %%eax, %%eax; mov %%rax, %0", "r"(buf))
ASM1(verw_user_ds, "mov $0x2b, %%eax; verw %%ax; setz %b0; movzbl %b0, %k0", "r"(buf))
ASM0(mov_ds_kernel, "mov $0x10, %%eax; mov %%ax, %%ds")
ASM0(iretq_to_kernel, "push $0x18; push $0x2000; push $0x202; push $0x10; push $0; iretq")
ASM0(read_gdt, "movabs $0xffffff8000000000, %%rax; mov (%%rax), %%rax")
/* LOCK: only read-modify-write instructions with a memory destination */
ASM0(lock_cpuid, ".byte 0xf0, 0x0f, 0xa2")
ASM0(lock_mov, ".byte 0xf0, 0x89, 0xc0")
ASM0(lock_add_register, ".byte 0xf0, 0x01, 0xc0")
ASM0(lock_cmp_memory, "mov %0, %%rax; .byte 0xf0, 0x83, 0x38, 0x01") /* lock cmp dword [rax], 1 */
ASM0(lock_rdtsc, ".byte 0xf0, 0x0f, 0x31")
ASM1(lock_rmw_memory, "movq $5, (%1); lock addq $3, (%1); lock btsq $4, (%1); lock incq (%1); lock notq (%1); mov (%1), %0", "r"(buf))
/* a prefix does not stop RDTSC (the value is the clock: not printed) */
ASM0(rdtsc_prefixed, ".byte 0x66, 0x0f, 0x31; .byte 0x48, 0x0f, 0x31; .byte 0x66, 0x0f, 0x01, 0xf9")
/* a non-canonical address is #GP, not a page fault */
ASM0(read_noncanonical, "movabs $0x8000000000000000, %%rax; mov (%%rax), %%rax")
ASM0(write_noncanonical, "movabs $0x0000800000000000, %%rax; movb $1, (%%rax)")
/* TSC_AUX in the high half, the TSC's low 32 bits in the low half */
ASM1(rdtscp, "rdtscp; shl $32, %%rcx; mov %%eax, %k0; or %%rcx, %0", "r"(buf))
ASM1(fences, "lfence; sfence; mfence; clflush (%1); prefetchw (%1); xor %k0, %k0", "r"(buf))
/* hazards: present on Zen 2 and Ice Lake hosts and in the emulator, #UD on older ones */
ASM1(clflushopt_clwb, "clflushopt (%1); clwb (%1); xor %k0, %k0", "r"(buf))

#define C(x) {#x, x},
static const struct { const char *name; case_fn fn; } cases[] = {
    C(cli) C(sti) C(hlt) C(mov_from_cr0) C(mov_to_cr4) C(mov_to_dr7) C(rdmsr)
    C(wrmsr) C(in_imm) C(out_imm) C(in_dx) C(insb) C(lgdt) C(lidt) C(lldt)
    C(ltr) C(invlpg) C(wbinvd) C(invd) C(clts) C(swapgs) C(sysret)
    C(sysexit) C(int_0x40) C(int_4) C(sysenter) C(umwait) C(tpause)
    C(incssp) C(xop) C(salc) C(ud1) C(icebp) C(ac_load4) C(ac_store8)
    C(ac_push) C(ac_movsw) C(ac_lock_add) C(ac_movdqu8) C(ac_movq4)
    C(ac_fldt2) C(ac_fldl4) C(ac_pcmpistri8) C(ac_aligned)
    C(no_ac_misaligned) C(movaps8) C(movdqa_store8) C(addps8) C(pshufb8)
    C(aesenc8) C(pclmul8) C(movntdq8) C(movaps8_ac) C(unaligned_ok)
    C(popf_iopl_if) C(smsw) C(smsw_mem) C(str) C(sldt) C(lzcnt1) C(tzcnt0)
    C(popcnt) C(andn) C(bextr) C(blsi) C(blsmsk) C(blsr) C(bzhi) C(pdep)
    C(pext) C(mulx) C(rorx) C(sarx) C(shlx) C(shrx) C(adcx_adox) C(movbe)
    C(aesenc) C(pclmulqdq) C(test_f7_1) C(fences) C(clflushopt_clwb) C(rdtscp)
    C(mov_ds_ss) C(mov_es_user32) C(lretq) C(iretq_same_privilege)
    C(lar_user_ds) C(lar_tss) C(lsl_user_cs) C(verw_user_ds) C(mov_ds_kernel)
    C(iretq_to_kernel) C(read_gdt) C(read_noncanonical) C(write_noncanonical)
    C(lock_cpuid) C(lock_mov) C(lock_add_register) C(lock_cmp_memory) C(lock_rdtsc)
    C(lock_rmw_memory) C(rdtsc_prefixed)
};

int main(int argc, char **argv) {
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        if (argc > 1 && strcmp(argv[1], cases[i].name) == 0) {
            uint64_t v = cases[i].fn();
            printf("%s=%llx\n", cases[i].name, (unsigned long long)v);
            return 0;
        }
        if (argc == 1)
            printf("%s\n", cases[i].name);
    }
    return argc == 1 ? 0 : 2;
}
