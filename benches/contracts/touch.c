/* Memory benchmark: touch 256 MiB (or MIB MiB), one write per 4 KiB page,
 * so the cost is in mapping fresh memory, not in computing.
 *
 *   gcc -static -O2 -o touch touch.c && ./touch [MIB]
 */
#include <stdio.h>
#include <stdlib.h>
#include <sys/mman.h>

int main(int argc, char **argv)
{
    long mib = argc > 1 ? strtol(argv[1], NULL, 10) : 256;
    if (mib <= 0 || mib > 4096) {
        fprintf(stderr, "usage: touch [MIB 1..4096]\n");
        return 2;
    }
    size_t len = (size_t)mib << 20;
    volatile unsigned char *p =
        mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (p == MAP_FAILED) {
        perror("mmap");
        return 1;
    }
    for (size_t i = 0; i < len; i += 4096)
        p[i] = (unsigned char)i | 1;
    unsigned long sum = 0;
    for (size_t i = 0; i < len; i += 4096)
        sum += p[i];
    printf("touched %ld MiB, %lu\n", mib, sum);
    return 0;
}
