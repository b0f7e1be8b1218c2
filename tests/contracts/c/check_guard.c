/* qvm check's test subject for code that does not run on qvm:
 * - variant_fast, selected only by pick()'s ifunc resolver (as glibc picks
 *   by CPUID), calls variant_fast_tail, which holds a hazard: guarded
 *   through the call, not failed;
 * - bytes after swept_blob's label that nothing points to hold RDRAND:
 *   only the linear sweep finds them, listed apart (failed only when the
 *   file has no function symbols, as after `strip`);
 * - use_cldemote: CLDEMOTE is a hint NOP, not reported;
 * - strcasecmp and friends pull in glibc's ifunc-selected AVX2/RTM
 *   variants. */
#include <stdio.h>
#include <string.h>
#include <strings.h>

__attribute__((noinline)) unsigned variant_fast_tail(unsigned x) {
    unsigned v;
    __asm__ volatile("rdrand %0" : "=r"(v));
    return v ^ x;
}

__attribute__((noinline)) unsigned variant_fast(unsigned x) {
    return variant_fast_tail(x) + 1;
}

__attribute__((noinline)) unsigned variant_plain(unsigned x) { return x * 3; }

static unsigned (*resolve_pick(void))(unsigned) {
    /* A stand-in for a CPUID test that qvm's CPUID never passes. */
    static volatile int has_feature;
    return has_feature ? variant_fast : variant_plain;
}

unsigned pick(unsigned) __attribute__((ifunc("resolve_pick")));

__attribute__((noinline)) void use_cldemote(void *p) {
    __asm__ volatile(".byte 0x0f, 0x1c, 0x07" : : "D"(p) : "memory"); /* cldemote [rdi] */
}

/* No symbol covers these bytes and nothing refers to them. */
__asm__(".text\n"
        ".p2align 4\n"
        "swept_blob:\n"
        ".byte 0x0f, 0xc7, 0xf0, 0xc3\n" /* rdrand eax; ret */
        ".p2align 4\n");

int main(int argc, char **argv) {
    char buf[32];
    const char *a = argc > 1 ? argv[1] : "Hello";
    use_cldemote(buf);
    strcpy(buf, a);
    printf("%d %d %u\n", strcasecmp(buf, "hello"), strncasecmp(buf, "HELP", 3),
           pick((unsigned)argc));
    return 0;
}
