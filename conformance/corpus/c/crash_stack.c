/* Dies of SIGSEGV: unbounded recursion runs off the 8 MiB stack into the
 * unmapped gap below it. */
#include <stdio.h>

static __attribute__((noinline)) int down(int n) {
    volatile char pad[4096];
    pad[0] = (char)n;
    if (n == -1) /* never: n only grows */
        return 0;
    return down(n + 1) + pad[0];
}

int main(void) {
    puts("recursing");
    fflush(stdout);
    return down(0);
}
