/* Compute benchmark: qsort of 1M (or N) 64-bit integers from an LCG,
 * then a checksum of the sorted array.
 *
 *   gcc -static -O2 -o qsort qsort.c && ./qsort [N]
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

static int cmp_u64(const void *a, const void *b)
{
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
    return (x > y) - (x < y);
}

int main(int argc, char **argv)
{
    long n = argc > 1 ? strtol(argv[1], NULL, 10) : 1000000;
    if (n <= 0 || n > 100000000) {
        fprintf(stderr, "usage: qsort [N 1..100000000]\n");
        return 2;
    }
    uint64_t *v = malloc((size_t)n * sizeof *v);
    if (!v)
        return 1;
    uint64_t x = 88172645463325252u;
    for (long i = 0; i < n; i++) {
        x = x * 6364136223846793005u + 1442695040888963407u;
        v[i] = x;
    }
    qsort(v, (size_t)n, sizeof *v, cmp_u64);
    uint64_t sum = 0;
    for (long i = 0; i < n; i++) {
        if (i && v[i - 1] > v[i])
            return 1;
        sum = sum * 31 + v[i];
    }
    printf("sorted %ld: %016llx\n", n, (unsigned long long)sum);
    return 0;
}
