/* qvm check's test subject: one function per instruction class, each
 * reached from main, so `qvm check` finds them at known symbols. Never run:
 * the hazards behave differently on every host. */
#include <stdio.h>
#include <string.h>

__attribute__((noinline)) unsigned use_rdrand(void) {
    unsigned v;
    __asm__ volatile("rdrand %0" : "=r"(v));
    return v;
}

__attribute__((noinline)) void use_extrq(void) {
    __asm__ volatile("extrq $8, $0, %%xmm0" ::: "xmm0");
}

__attribute__((noinline)) void use_rcpps(void) {
    __asm__ volatile("rcpps %%xmm1, %%xmm0" ::: "xmm0");
}

__attribute__((noinline)) void use_fsin(void) {
    __asm__ volatile("fldz\n\tfsin\n\tfstp %%st(0)" ::: "st");
}

__attribute__((noinline)) void use_avx(void) {
    __asm__ volatile("vaddps %%ymm1, %%ymm0, %%ymm0" ::: "xmm0");
}

__attribute__((noinline)) unsigned long use_bmi2(unsigned long a, unsigned long b) {
    unsigned long r;
    __asm__ volatile("shlx %2, %1, %0" : "=r"(r) : "r"(a), "r"(b));
    return r;
}

__attribute__((noinline)) int use_undefined_flag(int a, int b) {
    int r;
    /* AND leaves AF undefined; LAHF reads it. */
    __asm__ volatile("and %2, %1\n\tlahf\n\tmovzbl %%ah, %0" : "=r"(r), "+r"(a) : "r"(b) : "rax", "cc");
    return r;
}

int main(int argc, char **argv) {
    const char *p = argc > 1 ? argv[1] : "";
    if (!strcmp(p, "rdrand")) printf("%u\n", use_rdrand());
    if (!strcmp(p, "extrq")) use_extrq();
    if (!strcmp(p, "rcpps")) use_rcpps();
    if (!strcmp(p, "fsin")) use_fsin();
    if (!strcmp(p, "avx")) use_avx();
    if (!strcmp(p, "bmi2")) printf("%lu\n", use_bmi2(1, (unsigned long)argc));
    if (!strcmp(p, "flags")) printf("%d\n", use_undefined_flag(argc, 3));
    return 0;
}
