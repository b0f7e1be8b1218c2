/* Calls that end abnormally, followed by normal ones (tests/warm.rs).
 *
 *   killed spin     dirties memory (heap, stack, an mmap, .data), then
 *                   loops for ever: ended out of gas or by the timeout
 *   killed divide   integer division by zero (SIGFPE)
 *   killed null     writes through a null pointer (SIGSEGV)
 *   killed ud2      an invalid instruction (SIGILL)
 *   killed ok N     prints what it sees: memory it did not write, random
 *                   bytes, the clock, N */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/random.h>
#include <time.h>

static unsigned char data_area[65536] = {1};

static unsigned sum(const unsigned char *p, size_t n)
{
    unsigned s = 0;
    for (size_t i = 0; i < n; i++)
        s = s * 31 + p[i];
    return s;
}

int main(int argc, char **argv)
{
    if (argc < 2)
        return 2;
    const char *mode = argv[1];
    unsigned char *heap = malloc(1 << 20);
    unsigned char *map = mmap(NULL, 1 << 20, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    volatile unsigned char stack[65536];
    if (!heap || map == MAP_FAILED)
        return 3;
    if (strcmp(mode, "spin") == 0) {
        memset(heap, 0xab, 1 << 20);
        memset(map, 0xcd, 1 << 20);
        memset(data_area, 0xef, sizeof data_area);
        for (size_t i = 0; i < sizeof stack; i++)
            stack[i] = 0x77;
        for (volatile unsigned long i = 0;; i++)
            ;
    }
    if (strcmp(mode, "divide") == 0) {
        volatile int zero = 0;
        memset(data_area, 0x42, 4096);
        return 100 / zero;
    }
    if (strcmp(mode, "null") == 0) {
        memset(map, 0x42, 4096);
        *(volatile int *)0 = 1;
        return 4;
    }
    if (strcmp(mode, "ud2") == 0) {
        memset(heap, 0x42, 4096);
        __asm__ volatile("ud2");
        return 5;
    }
    if (strcmp(mode, "ok") != 0)
        return 6;
    unsigned char rnd[16];
    struct timespec now;
    if (getrandom(rnd, sizeof rnd, 0) != sizeof rnd || clock_gettime(CLOCK_MONOTONIC, &now) != 0)
        return 7;
    unsigned s = 0;
    for (size_t i = 0; i < sizeof stack; i++)
        s = s * 31 + stack[i];
    printf("ok %s: heap %08x mmap %08x data %08x stack %08x random %08x clock %lld.%09ld\n",
           argc > 2 ? argv[2] : "-", sum(heap, 1 << 20), sum(map, 1 << 20), sum(data_area, sizeof data_area),
           s, sum(rnd, sizeof rnd), (long long)now.tv_sec, now.tv_nsec);
    return 0;
}
