/* malloc churn: small and large blocks (large ones are served by mmap),
 * realloc growth, and contents checked after every move. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static unsigned int seed = 12345;
static unsigned int rnd(void) { seed = seed * 1103515245u + 12345u; return seed >> 8; }

int main(void) {
    enum { SLOTS = 256 };
    unsigned char *p[SLOTS] = {0};
    size_t len[SLOTS] = {0};
    unsigned long long check = 0;
    for (int round = 0; round < 6000; round++) {
        int i = rnd() % SLOTS;
        if (p[i]) {
            for (size_t k = 0; k < len[i]; k += 4093)
                if (p[i][k] != (unsigned char)(i + k)) { printf("corrupt %d\n", i); return 1; }
            if (rnd() % 3 == 0) {
                size_t n = len[i] * 2 + 1;
                unsigned char *q = realloc(p[i], n);
                if (!q) { puts("realloc failed"); return 1; }
                for (size_t k = len[i]; k < n; k++) q[k] = (unsigned char)(i + k);
                p[i] = q; len[i] = n;
            } else {
                check += len[i];
                free(p[i]); p[i] = NULL;
            }
        } else {
            size_t n = (rnd() % 8 == 0) ? 130000 + rnd() % (1 << 20) : 1 + rnd() % 4000;
            p[i] = malloc(n);
            if (!p[i]) { puts("malloc failed"); return 1; }
            for (size_t k = 0; k < n; k++) p[i][k] = (unsigned char)(i + k);
            len[i] = n;
        }
    }
    for (int i = 0; i < SLOTS; i++) free(p[i]);
    void *big = calloc(1, 16 << 20); /* served by mmap: must be zero */
    printf("freed bytes=%llu big zero=%d\n", check, big && ((char *)big)[(16 << 20) - 1] == 0);
    free(big);
    return 0;
}
