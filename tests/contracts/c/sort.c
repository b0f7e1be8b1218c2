/* Sorting: qsort of integers and strings, deterministic input. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static unsigned long long state = 88172645463325252ULL;
static unsigned long long next(void) {
    state ^= state << 13; state ^= state >> 7; state ^= state << 17;
    return state;
}
static int cmp_u64(const void *a, const void *b) {
    unsigned long long x = *(const unsigned long long *)a, y = *(const unsigned long long *)b;
    return (x > y) - (x < y);
}
static int cmp_str(const void *a, const void *b) {
    return strcmp(*(char *const *)a, *(char *const *)b);
}

int main(void) {
    enum { N = 200000, S = 2000 };
    unsigned long long *v = malloc(N * sizeof *v);
    for (int i = 0; i < N; i++) v[i] = next();
    qsort(v, N, sizeof *v, cmp_u64);
    unsigned long long sum = 0;
    for (int i = 0; i < N; i++) {
        if (i && v[i - 1] > v[i]) { puts("not sorted"); return 1; }
        sum = sum * 31 + v[i];
    }
    printf("u64: first=%llu last=%llu hash=%llu\n", v[0], v[N - 1], sum);
    char **s = malloc(S * sizeof *s);
    for (int i = 0; i < S; i++) {
        s[i] = malloc(16);
        snprintf(s[i], 16, "k%llx", next() % 100000);
    }
    qsort(s, S, sizeof *s, cmp_str);
    printf("str: %s %s %s\n", s[0], s[S / 2], s[S - 1]);
    return 0;
}
