/* Writes about 8 MiB to stdout through stdio and raw write(2). */
#include <stdio.h>
#include <string.h>
#include <unistd.h>

int main(void) {
    static char buf[65536];
    for (int i = 0; i < 100000; i++) printf("line %d of the big output %x\n", i, i * 2654435761u);
    fflush(stdout);
    for (int i = 0; i < 64; i++) {
        memset(buf, 'a' + i % 26, sizeof buf);
        buf[sizeof buf - 1] = '\n';
        size_t off = 0;
        while (off < sizeof buf) {
            ssize_t n = write(1, buf + off, sizeof buf - off);
            if (n <= 0) return 1;
            off += (size_t)n;
        }
    }
    return 0;
}
