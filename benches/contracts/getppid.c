/* Syscall round trip: N getppid calls (default 1,000,000) through the raw
 * syscall instruction, so no libc caching is involved. Run with N and with
 * 0: the difference divided by N is the time per syscall.
 *
 *   gcc -static -O2 -o getppid getppid.c && ./getppid [N]
 */
#include <stdio.h>
#include <stdlib.h>

static long raw_getppid(void)
{
    long ret;
    __asm__ volatile("syscall" : "=a"(ret) : "a"(110L) : "rcx", "r11", "memory");
    return ret;
}

int main(int argc, char **argv)
{
    long n = argc > 1 ? strtol(argv[1], NULL, 10) : 1000000;
    if (n < 0) {
        fprintf(stderr, "usage: getppid [N >= 0]\n");
        return 2;
    }
    long sum = 0;
    for (long i = 0; i < n; i++)
        sum += raw_getppid();
    printf("%ld calls, sum %ld\n", n, sum > 0 ? 1L : 0L);
    return 0;
}
