/* The CPU state a call starts with, whatever the call before it left
 * (tests/warm.rs). No libc: `_start` saves every register before any
 * code runs, then C prints them.
 *
 *   cpu_state dirty   leaves the CPU odd and exits: MXCSR with its flags
 *                     set, masks, rounding, FZ and DAZ changed; the x87
 *                     control word changed, values and a divide-by-zero
 *                     flag left on the x87 stack; every XMM register
 *                     filled; DS, ES, FS and GS loaded with 0x2b; FS and
 *                     GS bases set; general registers filled; AC and DF
 *                     set when it exits.
 *   cpu_state probe   prints the state it started with.
 *
 * Build: gcc -static -nostdlib -nostartfiles -fno-builtin (see the test). */
typedef unsigned long u64;
typedef unsigned int u32;
typedef unsigned short u16;
typedef unsigned char u8;

struct entry {
    u64 gpr[16]; /* rax rbx rcx rdx rsi rdi rbp rsp r8..r15 */
    u64 rflags;
    u64 sel[6]; /* cs ss ds es fs gs */
    u64 mxcsr;
} __attribute__((aligned(16)));

struct entry at_entry;
u8 fxsave_area[512] __attribute__((aligned(16)));

__asm__(".text\n"
        ".globl _start\n"
        "_start:\n"
        "  mov %rax, at_entry+0(%rip)\n"
        "  mov %rbx, at_entry+8(%rip)\n"
        "  mov %rcx, at_entry+16(%rip)\n"
        "  mov %rdx, at_entry+24(%rip)\n"
        "  mov %rsi, at_entry+32(%rip)\n"
        "  mov %rdi, at_entry+40(%rip)\n"
        "  mov %rbp, at_entry+48(%rip)\n"
        "  mov %rsp, at_entry+56(%rip)\n"
        "  mov %r8, at_entry+64(%rip)\n"
        "  mov %r9, at_entry+72(%rip)\n"
        "  mov %r10, at_entry+80(%rip)\n"
        "  mov %r11, at_entry+88(%rip)\n"
        "  mov %r12, at_entry+96(%rip)\n"
        "  mov %r13, at_entry+104(%rip)\n"
        "  mov %r14, at_entry+112(%rip)\n"
        "  mov %r15, at_entry+120(%rip)\n"
        "  pushfq\n"
        "  popq at_entry+128(%rip)\n"
        "  mov %cs, %eax\n"
        "  mov %rax, at_entry+136(%rip)\n"
        "  mov %ss, %eax\n"
        "  mov %rax, at_entry+144(%rip)\n"
        "  mov %ds, %eax\n"
        "  mov %rax, at_entry+152(%rip)\n"
        "  mov %es, %eax\n"
        "  mov %rax, at_entry+160(%rip)\n"
        "  mov %fs, %eax\n"
        "  mov %rax, at_entry+168(%rip)\n"
        "  mov %gs, %eax\n"
        "  mov %rax, at_entry+176(%rip)\n"
        "  stmxcsr at_entry+184(%rip)\n"
        "  fxsave64 fxsave_area(%rip)\n"
        "  mov %rsp, %rdi\n"
        "  and $-16, %rsp\n"
        "  call cmain\n"
        "  hlt\n");

static long sys(long nr, long a, long b, long c)
{
    long r;
    __asm__ volatile("syscall" : "=a"(r) : "a"(nr), "D"(a), "S"(b), "d"(c) : "rcx", "r11", "memory");
    return r;
}

static char out[8192];
static int len;

static void put(const char *s)
{
    while (*s && len < (int)sizeof out)
        out[len++] = *s++;
}

static void put_hex(u64 v, int digits)
{
    char b[17];
    for (int i = digits - 1; i >= 0; i--) {
        b[i] = "0123456789abcdef"[v & 15];
        v >>= 4;
    }
    b[digits] = 0;
    put(b);
}

static void field(const char *name, u64 v, int digits)
{
    put(name);
    put("=");
    put_hex(v, digits);
    put("\n");
}

static u64 le(const u8 *p, int n)
{
    u64 v = 0;
    for (int i = n - 1; i >= 0; i--)
        v = (v << 8) | p[i];
    return v;
}

static const char *const gpr_names[16] = {"rax", "rbx", "rcx", "rdx", "rsi", "rdi", "rbp", "rsp",
                                          "r8",  "r9",  "r10", "r11", "r12", "r13", "r14", "r15"};
static const char *const sel_names[6] = {"cs", "ss", "ds", "es", "fs", "gs"};

static void probe(void)
{
    for (int i = 0; i < 16; i++)
        field(gpr_names[i], at_entry.gpr[i], 16);
    field("rflags", at_entry.rflags, 16);
    for (int i = 0; i < 6; i++)
        field(sel_names[i], at_entry.sel[i], 4);
    field("mxcsr", at_entry.mxcsr & 0xffffffff, 8);
    u64 fs_base = 1, gs_base = 1;
    sys(158, 0x1003, (long)&fs_base, 0); /* arch_prctl(ARCH_GET_FS) */
    sys(158, 0x1004, (long)&gs_base, 0); /* arch_prctl(ARCH_GET_GS) */
    field("fs_base", fs_base, 16);
    field("gs_base", gs_base, 16);
    const u8 *fx = fxsave_area;
    field("fcw", le(fx + 0, 2), 4);
    field("fsw", le(fx + 2, 2), 4);
    field("ftw", le(fx + 4, 1), 2);
    field("fop", le(fx + 6, 2), 4);
    field("fip", le(fx + 8, 8), 16);
    field("fdp", le(fx + 16, 8), 16);
    field("fx.mxcsr", le(fx + 24, 4), 8);
    for (int i = 0; i < 8; i++) {
        put("st");
        put_hex(i, 1);
        put("=");
        put_hex(le(fx + 32 + 16 * i + 8, 2), 4);
        put_hex(le(fx + 32 + 16 * i, 8), 16);
        put("\n");
    }
    for (int i = 0; i < 16; i++) {
        put("xmm");
        put_hex(i, 1);
        put("=");
        put_hex(le(fx + 160 + 16 * i + 8, 8), 16);
        put_hex(le(fx + 160 + 16 * i, 8), 16);
        put("\n");
    }
    sys(1, 1, (long)out, len);
}

static const u8 fill[16] __attribute__((aligned(16))) = {0xde, 0xad, 0xbe, 0xef, 1, 2, 3, 4,
                                                         5, 6, 7, 8, 0xca, 0xfe, 0xba, 0xbe};
static const u32 odd_mxcsr = 0xe3ff; /* flags, DAZ, some masks off, RC up, FZ */
static const u16 odd_fcw = 0x0c7f;   /* single precision, round toward zero */

static __attribute__((noreturn)) void dirty(void)
{
    u64 fs_base = 0x12345000, gs_base = 0x6789a000;
    __asm__ volatile("mov $0x2b, %%eax\n"
                     "mov %%eax, %%ds\n"
                     "mov %%eax, %%es\n"
                     "mov %%eax, %%fs\n"
                     "mov %%eax, %%gs\n" ::
                         : "rax");
    sys(158, 0x1002, fs_base, 0); /* arch_prctl(ARCH_SET_FS) */
    sys(158, 0x1001, gs_base, 0); /* arch_prctl(ARCH_SET_GS) */
    __asm__ volatile("movdqa %0, %%xmm0\n"
                     "movdqa %%xmm0, %%xmm1\n"
                     "movdqa %%xmm0, %%xmm2\n"
                     "movdqa %%xmm0, %%xmm3\n"
                     "movdqa %%xmm0, %%xmm4\n"
                     "movdqa %%xmm0, %%xmm5\n"
                     "movdqa %%xmm0, %%xmm6\n"
                     "movdqa %%xmm0, %%xmm7\n"
                     "movdqa %%xmm0, %%xmm8\n"
                     "movdqa %%xmm0, %%xmm9\n"
                     "movdqa %%xmm0, %%xmm10\n"
                     "movdqa %%xmm0, %%xmm11\n"
                     "movdqa %%xmm0, %%xmm12\n"
                     "movdqa %%xmm0, %%xmm13\n"
                     "movdqa %%xmm0, %%xmm14\n"
                     "movdqa %%xmm0, %%xmm15\n"
                     "fldcw %1\n"
                     "fld1\n"
                     "fldpi\n"
                     "fldl2e\n"
                     "fld1\n"
                     "fldz\n"
                     "fdivrp\n" /* 1/0 with ZE masked: inf, and FSW.ZE set */
                     "ldmxcsr %2\n"
                     "mov $0x1111111111111111, %%rbx\n"
                     "mov $0x2222222222222222, %%rbp\n"
                     "mov $0x3333333333333333, %%r8\n"
                     "mov $0x4444444444444444, %%r9\n"
                     "mov $0x5555555555555555, %%r10\n"
                     "mov $0x6666666666666666, %%r12\n"
                     "mov $0x7777777777777777, %%r13\n"
                     "mov $0x8888888888888888, %%r14\n"
                     "mov $0x9999999999999999, %%r15\n"
                     "mov $0xaaaaaaaaaaaaaaaa, %%rdx\n"
                     "mov $0xbbbbbbbbbbbbbbbb, %%rsi\n"
                     "pushfq\n"
                     "orq $0x40cd5, (%%rsp)\n" /* AC, OF, SF, ZF, AF, PF, CF */
                     "popfq\n"
                     "std\n"
                     "mov $231, %%eax\n"
                     "xor %%edi, %%edi\n"
                     "syscall\n"
                     "hlt\n" ::"m"(fill),
                     "m"(odd_fcw), "m"(odd_mxcsr)
                     : "memory");
    __builtin_unreachable();
}

void cmain(u64 *sp)
{
    long argc = (long)sp[0];
    const char *mode = argc > 1 ? (const char *)sp[2] : "";
    if (mode[0] == 'd')
        dirty();
    probe();
    sys(231, 0, 0, 0);
}
