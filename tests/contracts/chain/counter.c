/* The local chain's counter contract (issue 14). counter.rs and counter.go
 * behave the same, byte for byte.
 *   construct        DBW=COUNTER=0
 *   increment [N]    adds N (default 1) to DB_COUNTER (absent or empty: 0)
 *   get              prints DB_COUNTER
 * Bad usage or N: exit 2; a stored value that is not a u64: exit 3;
 * overflow: exit 1. Errors go to stderr, which fails the call. */
#include <inttypes.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void fail(int code, const char *msg) {
    fputs(msg, stderr);
    exit(code);
}

/* A u64 in decimal: 1 to 20 digits, nothing else. */
static int parse_u64(const char *s, uint64_t *out) {
    size_t len = strlen(s);
    uint64_t n = 0;
    if (len == 0 || len > 20) return -1;
    for (; *s; s++) {
        if (*s < '0' || *s > '9') return -1;
        uint64_t d = (uint64_t)(*s - '0');
        if (n > (UINT64_MAX - d) / 10) return -1;
        n = n * 10 + d;
    }
    *out = n;
    return 0;
}

static uint64_t stored_counter(void) {
    const char *s = getenv("DB_COUNTER");
    uint64_t n = 0;
    if (s && *s && parse_u64(s, &n)) fail(3, "bad stored counter\n");
    return n;
}

int main(int argc, char **argv) {
    const char *method = argc > 1 ? argv[1] : "";
    if (argc == 2 && !strcmp(method, "construct")) {
        printf("DBW=COUNTER=0\n");
        return 0;
    }
    if ((argc == 2 || argc == 3) && !strcmp(method, "increment")) {
        uint64_t n = 1;
        if (argc == 3 && parse_u64(argv[2], &n)) fail(2, "bad amount\n");
        uint64_t v = stored_counter();
        if (v > UINT64_MAX - n) fail(1, "counter overflow\n");
        v += n;
        printf("DBW=COUNTER=%" PRIu64 "\nOUT=incremented %" PRIu64 "\n%" PRIu64 "\n", v, v, v);
        return 0;
    }
    if (argc == 2 && !strcmp(method, "get")) {
        printf("%" PRIu64 "\n", stored_counter());
        return 0;
    }
    fail(2, "usage: counter construct | increment [N] | get\n");
}
