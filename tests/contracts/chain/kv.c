/* A key-value contract for the local chain's command-line tests
 * (tests/chain.rs). Keys are given in hex, so they may hold any bytes;
 * values are binary-safe both ways.
 *   construct        DBW=owner=<QVM_SENDER>, then "ready" without a newline
 *   put HEXKEY       stores standard input, byte for byte, under the key
 *                    (DBWX), and emits OUTX=<the key>
 *   get HEXKEY       prints the stored value (/state/.hex/HEXKEY), byte for
 *                    byte and nothing else; absent: exit 1
 *   del HEXKEY       deletes the key (DBPX)
 *   whoami           prints sender=<QVM_SENDER> address=<QVM_ADDRESS>
 *                    block=<QVM_BLOCK>
 *   fail             writes, deletes, emits and prints a line, then exits 3
 *   warn             writes and prints, then one line on stderr, exit 0
 * Anything else: exit 2. */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static int is_hex(const char *s) {
    size_t n = strlen(s);
    if (n == 0 || n % 2) return 0;
    return strspn(s, "0123456789abcdef") == n;
}

static const char *env(const char *name) {
    const char *v = getenv(name);
    return v ? v : "";
}

/* Copies all of `fd` to stdout (as hex when `as_hex`); -1 on a read error. */
static int copy(int fd, int as_hex) {
    unsigned char buf[4096];
    ssize_t r;
    while ((r = read(fd, buf, sizeof buf)) > 0) {
        for (ssize_t i = 0; i < r; i++) {
            if (as_hex) printf("%02x", buf[i]);
            else putchar(buf[i]);
        }
    }
    return r < 0 ? -1 : 0;
}

int main(int argc, char **argv) {
    const char *method = argc > 1 ? argv[1] : "";
    const char *key = argc > 2 ? argv[2] : "";
    if (argc == 2 && !strcmp(method, "construct")) {
        printf("DBW=owner=%s\nready", env("QVM_SENDER"));
        return 0;
    }
    if (argc == 3 && !strcmp(method, "put") && is_hex(key)) {
        printf("DBWX=%s=", key);
        if (copy(0, 1)) return 3;
        printf("\nOUTX=%s\n", key);
        return 0;
    }
    if (argc == 3 && !strcmp(method, "get") && is_hex(key)) {
        char path[4096];
        snprintf(path, sizeof path, "/state/.hex/%s", key);
        int fd = open(path, O_RDONLY);
        if (fd < 0) return 1;
        return copy(fd, 0) ? 3 : 0;
    }
    if (argc == 3 && !strcmp(method, "del") && is_hex(key)) {
        printf("DBPX=%s\n", key);
        return 0;
    }
    if (argc == 2 && !strcmp(method, "whoami")) {
        printf("sender=%s address=%s block=%s\n", env("QVM_SENDER"), env("QVM_ADDRESS"),
               env("QVM_BLOCK"));
        return 0;
    }
    if (argc == 2 && !strcmp(method, "fail")) {
        printf("DBW=owner=nobody\nDBP=owner\nOUT=failing\nabout to fail\n");
        return 3;
    }
    if (argc == 2 && !strcmp(method, "warn")) {
        printf("DBW=owner=nobody\nOUT=warning\n");
        fflush(stdout);
        fputs("a warning\n", stderr);
        return 0;
    }
    return 2;
}
