/* brk growth through the raw system call (musl's sbrk refuses to move
 * the break, glibc's malloc shares it): grow in 1 MiB steps to 32 MiB,
 * use the memory, shrink back. Results are printed after the break is
 * restored, since printf may itself use the heap. Never prints addresses. */
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

#define STEP (1 << 20)
#define STEPS 32

static uintptr_t brk_to(uintptr_t want) { return (uintptr_t)syscall(SYS_brk, want); }

int main(void) {
    setvbuf(stdout, NULL, _IOFBF, 4096); /* allocate stdio's buffer before we start */
    printf("brk growth\n");
    uintptr_t base = brk_to(0);
    int grown = 0, zero = 1;
    for (int i = 1; i <= STEPS; i++) {
        if (brk_to(base + (uintptr_t)i * STEP) != base + (uintptr_t)i * STEP)
            break;
        unsigned char *chunk = (unsigned char *)(base + (uintptr_t)(i - 1) * STEP);
        zero &= chunk[0] == 0 && chunk[STEP - 1] == 0;
        memset(chunk, i, STEP);
        grown = i;
    }
    unsigned long long sum = 0;
    for (uintptr_t off = 0; off < (uintptr_t)grown * STEP; off += 4096)
        sum += *(unsigned char *)(base + off);
    int shrunk = brk_to(base) == base && brk_to(0) == base;
    int refused = brk_to(4096) == base; /* below the heap's start: unchanged */
    printf("grown_mib=%d fresh_zero=%d sum=%llu\n", grown, zero, sum);
    printf("shrunk_back=%d below_start_refused=%d\n", shrunk, refused);
    return 0;
}
