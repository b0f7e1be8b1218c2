/* Reads its state as /state files and writes it back with the binary-safe
 * protocol lines (tests/state_files.rs runs it; state.rs and state.go are
 * the same contract in Rust and Go):
 *   counter=<n> bin=<hex of /state/.hex/00ff> missing=<errno> write=<errno>
 *   DBW=counter=<n + 1>
 *   DBWX=00ff=<hex of that value, then 00 0a 3d 2c ff>
 *   DBPX=<hex of "old\n">,00
 *   OUTX=<hex of ff 00 0a, then that value>
 * An unreadable file reads as empty; its errno is printed instead. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* Reads the file at `path` into `buf`; returns its length, or -errno. */
static long slurp(const char *path, unsigned char *buf, size_t cap) {
    FILE *f = fopen(path, "rb");
    if (!f) return -errno;
    size_t n = fread(buf, 1, cap, f);
    fclose(f);
    return (long)n;
}

static void hex(const unsigned char *b, size_t n) {
    for (size_t i = 0; i < n; i++) printf("%02x", b[i]);
}

/* errno of open(path, flags), 0 if it opened. */
static int open_errno(const char *path, int flags) {
    int fd = open(path, flags, 0644);
    if (fd >= 0) {
        close(fd);
        return 0;
    }
    return errno;
}

int main(void) {
    unsigned char counter[64], bin[4096];
    long c = slurp("/state/counter", counter, sizeof counter - 1);
    long b = slurp("/state/.hex/00ff", bin, sizeof bin);
    long n = 0;
    if (c >= 0) {
        counter[c] = 0;
        n = atol((char *)counter);
        printf("counter=%ld", n);
    } else {
        printf("counter=ERR%ld", -c);
    }
    printf(" bin=");
    if (b > 0) hex(bin, (size_t)b);
    else if (b < 0) printf("ERR%ld", -b);
    if (b < 0) b = 0;
    printf(" missing=%d write=%d\n", open_errno("/state/missing", O_RDONLY),
           open_errno("/state/counter", O_WRONLY));

    const unsigned char tail[] = {0x00, '\n', '=', ',', 0xff};
    const unsigned char head[] = {0xff, 0x00, '\n'};
    printf("DBW=counter=%ld\nDBWX=00ff=", n + 1);
    hex(bin, (size_t)b);
    hex(tail, sizeof tail);
    printf("\nDBPX=");
    hex((const unsigned char *)"old\n", 4);
    printf(",00\nOUTX=");
    hex(head, sizeof head);
    hex(bin, (size_t)b);
    printf("\n");
    return 0;
}
