/* Native oracle for common/src/kernel/signal_frame.rs and siginfo.rs: runs
 * each fault natively, and prints, per case, what Linux put in the signal
 * frame, with host-dependent values replaced by their relation to known
 * ones. `cc -O1 -static sigframe_probe.c && ./a.out > sigframe_native.txt`;
 * the unit test native_probe_matches (signal_frame.rs) derives the same
 * lines from qvm's builder. Lines: "case key value". */
#define _GNU_SOURCE
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>
#include <xmmintrin.h>

#define MAPPED 0x10000000ul  /* RW, then R, then NONE pages */
#define UNMAPPED 0x20000000ul
#define PATTERN 0xa5

static const char *name;
/* RSP at the faulting instruction, and where to resume after it. */
__attribute__((used)) uint64_t fault_rsp, resume_rsp, resume_rbp, probe_code, probe_arg;
extern char probe_resume[], probe_fault[];

static uint64_t w(const void *p, int off) { uint64_t v; memcpy(&v, (const char *)p + off, 8); return v; }

static void handler(int sig, siginfo_t *si, void *ucv) {
    const unsigned char *uc = ucv, *frame = uc - 8, *sc = uc + 40;
    uint64_t flags;
    /* The flags the handler starts with; AC off at once (Linux keeps it
     * set, and this handler makes unaligned accesses). */
    __asm__ volatile("pushfq; pop %0; pushfq; andl $~0x40000, (%%rsp); popfq" : "=r"(flags));
    uint64_t rip = w(sc, 128), fp = w(sc, 184);
    printf("%s signo %d\n", name, si->si_signo);
    printf("%s code %d\n", name, si->si_code);
    uint64_t addr = (uint64_t)si->si_addr;
    if (addr && addr == rip) printf("%s addr rip\n", name);
    else if (si->si_code == SI_TKILL) printf("%s addr pid%s\n", name, si->si_pid == getpid() ? "" : "?");
    else printf("%s addr %#lx\n", name, addr);
    printf("%s trapno %lu\n", name, w(sc, 160));
    printf("%s err %#lx\n", name, w(sc, 152));
    printf("%s cr2 %#lx\n", name, w(sc, 176));
    printf("%s uc_flags %#lx\n", name, w(uc, 0) & ~1ul /* UC_FP_XSTATE: host XSAVE */);
    printf("%s ss_flags %#x\n", name, (unsigned)w(uc, 16 + 8));
    printf("%s segs %#lx\n", name, w(sc, 144));
    printf("%s info_minus_uc %ld\n", name, (long)((const unsigned char *)si - uc));
    printf("%s frame_plus_8_mod_16 %lu\n", name, ((uint64_t)frame + 8) % 16);
    /* The FP state: 64-aligned below the red zone, sized as its sw_reserved
     * says (XSAVE natively, 512 in qvm), the frame right under it. */
    uint32_t magic1 = *(const uint32_t *)(fp + 464), ext = *(const uint32_t *)(fp + 468);
    uint64_t size = magic1 == 0x46505853u ? ext : 512;
    if (fault_rsp) printf("%s fpstate_placed %d\n", name, fp == ((fault_rsp - 128 - size) & ~63ul));
    printf("%s frame_placed %d\n", name, (uint64_t)frame == (((fp - 440) & ~15ul) - 8));
    int pad = 1, res = 1;
    for (int i = 28; i < 32; i++) pad &= uc[i] == PATTERN;
    for (int i = 192; i < 256; i++) res &= sc[i] == PATTERN;
    printf("%s uc_stack_pad_untouched %d\n", name, pad);
    printf("%s reserved1_untouched %d\n", name, res);
    /* DF, TF, RF and AC at handler entry. */
    printf("%s handler_flags %#lx\n", name, flags & 0x50500);
    printf("%s handler_mxcsr %#x\n", name, _mm_getcsr());
    if (!strcmp(name, "ud2_regs"))
        for (int i = 0; i < 16; i++) printf("%s sc_word%d %#lx\n", name, i, w(sc, i * 8));
    /* Resume after the fault, on the probe's own stack. */
    uint64_t *g = (uint64_t *)(sc);
    g[16] = (uint64_t)probe_resume;
    g[15] = resume_rsp;
    g[10] = resume_rbp;
    g[17] &= ~(1ul << 18); /* AC off again */
    *(uint32_t *)(fp + 24) = 0x1f80; /* clear the SSE exception */
    *(uint16_t *)(fp + 0) = 0x37f;   /* mask x87 exceptions */
    *(uint16_t *)(fp + 2) = 0;
}

/* Fills the stack below the probe with PATTERN, then runs `code` with
 * RAX = arg, RSP recorded, every other register a known constant. */
static void run(const char *n, void (*code)(void), uint64_t arg) {
    name = n;
    probe_code = (uint64_t)code;
    probe_arg = arg;
    __asm__ volatile(
        "mov %%rsp, resume_rsp(%%rip)\n\t"
        "mov %%rbp, resume_rbp(%%rip)\n\t"
        "sub $0x100, %%rsp\n\t"
        "lea -16384(%%rsp), %%rdi\n\t"   /* the pattern where the frame goes */
        "mov $16384, %%ecx\n\t"
        "mov $0xa5, %%al\n\t"
        "rep stosb\n\t"
        "mov %%rsp, fault_rsp(%%rip)\n\t"
        "mov probe_code(%%rip), %%r11\n\t"
        "mov $0x0808080808080808, %%r8\n\t"
        "mov $0x0909090909090909, %%r9\n\t"
        "mov $0x0a0a0a0a0a0a0a0a, %%r10\n\t"
        "mov $0x0c0c0c0c0c0c0c0c, %%r12\n\t"
        "mov $0x0d0d0d0d0d0d0d0d, %%r13\n\t"
        "mov $0x0e0e0e0e0e0e0e0e, %%r14\n\t"
        "mov $0x0f0f0f0f0f0f0f0f, %%r15\n\t"
        "mov $0x1d1d1d1d1d1d1d1d, %%rdi\n\t"
        "mov $0x1e1e1e1e1e1e1e1e, %%rsi\n\t"
        "mov $0x1b1b1b1b1b1b1b1b, %%rbp\n\t"
        "mov $0x1a1a1a1a1a1a1a1a, %%rbx\n\t"
        "mov $0x1c1c1c1c1c1c1c1c, %%rdx\n\t"
        "mov $0x1f1f1f1f1f1f1f1f, %%rcx\n\t"
        "mov probe_arg(%%rip), %%rax\n\t"
        "jmp *%%r11\n\t"
        ".globl probe_resume\nprobe_resume:\n\t"
        "mov resume_rsp(%%rip), %%rsp\n\t"
        "mov resume_rbp(%%rip), %%rbp\n\t"
        :
        :
        : "rax", "rbx", "rcx", "rdx", "rsi", "rdi", "r8", "r9", "r10", "r11", "r12", "r13",
          "r14", "r15", "memory", "cc");
}

/* The faulting code, each entered by jmp with RAX = argument. */
__asm__(".text\n"
        "c_load: mov (%rax), %rax\n"
        "c_store: movq $1, (%rax)\n"
        "c_jump: jmp *%rax\n"
        "c_ud2: ud2\n"
        "c_div: xor %edx, %edx\n xor %ecx, %ecx\n div %ecx\n ud2\n"
        "c_int3: int3\n ud2\n"
        "c_sse: push $0x1d80\n ldmxcsr (%rsp)\n pop %rcx\n mov $1, %ecx\n cvtsi2ss %ecx, %xmm0\n pxor %xmm1, %xmm1\n divss %xmm1, %xmm0\n ud2\n"
        "c_x87: push $0x37e\n fldcw (%rsp)\n pop %rcx\n fld1\n fchs\n fsqrt\n fwait\n ud2\n"
        "c_ac: pushf\n orl $0x40000, (%rsp)\n popf\n mov 1(%rsp), %rax\n ud2\n"
        "c_raise: mov $39, %eax\n syscall\n mov %rax, %rdi\n mov $186, %eax\n syscall\n"
        "   mov %rax, %rsi\n mov $10, %edx\n mov $234, %eax\n syscall\n jmp probe_resume\n");
extern void c_load(void), c_store(void), c_jump(void), c_ud2(void), c_div(void), c_int3(void),
    c_sse(void), c_x87(void), c_ac(void), c_raise(void);

int main(void) {
    setvbuf(stdout, NULL, _IOLBF, 0);
    static char altstack[65536];
    stack_t ss = {.ss_sp = altstack, .ss_size = sizeof altstack};
    (void)ss;
    struct sigaction sa = {0};
    sa.sa_sigaction = handler;
    sa.sa_flags = SA_SIGINFO | SA_NODEFER;
    int sigs[] = {SIGSEGV, SIGBUS, SIGILL, SIGFPE, SIGTRAP, SIGUSR1};
    for (unsigned i = 0; i < sizeof sigs / sizeof *sigs; i++) sigaction(sigs[i], &sa, 0);
    mmap((void *)MAPPED, 3 * 4096, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED, -1, 0);
    *(volatile char *)(MAPPED + 4096) = 1; /* present before it is made read-only */
    mprotect((void *)(MAPPED + 4096), 4096, PROT_READ);
    mprotect((void *)(MAPPED + 8192), 4096, PROT_NONE);

    run("read_unmapped", c_load, UNMAPPED);
    run("write_unmapped", c_store, UNMAPPED);
    run("write_readonly", c_store, MAPPED + 4096);
    run("read_none", c_load, MAPPED + 8192);
    run("exec_unmapped", c_jump, UNMAPPED);
    run("exec_nx", c_jump, MAPPED);
    run("noncanonical", c_load, 0x8000000000000000ul);
    run("ud2_regs", c_ud2, 0x1010101010101010ul);
    run("divide", c_div, 0);
    run("int3", c_int3, 0);
    run("sse_divide", c_sse, 0);
    run("x87_invalid", c_x87, 0);
    run("alignment", c_ac, 0);
    run("tgkill_after_faults", c_raise, 0);
    return 0;
}
