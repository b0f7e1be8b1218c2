/* Deep recursion to the documented stack limit: qvm's stack is 8 MiB
 * (README, "The contract protocol"), Linux's default `ulimit -s` is the
 * same. This recursion uses over 7 MiB of it in ~1 KiB frames, safely under
 * the limit, and must return normally with the same result everywhere. */
#include <stdint.h>
#include <stdio.h>

#define DEPTH 7168 /* 1 KiB of pad each: 7 MiB */

static uintptr_t deepest;

static __attribute__((noinline)) uint64_t down(int n, uint64_t acc) {
    volatile unsigned char pad[1000];
    pad[0] = (unsigned char)n;
    pad[sizeof pad - 1] = (unsigned char)(acc >> 7);
    if (n == 0) {
        deepest = (uintptr_t)pad;
        return acc;
    }
    /* Using pad after the call keeps this from becoming a loop. */
    return down(n - 1, acc * 31 + (uint64_t)n) + pad[0] + pad[sizeof pad - 1];
}

int main(void) {
    volatile unsigned char top;
    uint64_t r = down(DEPTH, 1);
    uintptr_t used = (uintptr_t)&top - deepest;
    /* Frame sizes are fixed by the binary, so the whole MiB count is the
     * same on every run; the exact start of the stack is not. */
    printf("depth=%d result=%llu stack_used_mib=%lu\n", DEPTH, (unsigned long long)r,
           (unsigned long)(used >> 20));
    return 0;
}
