/* An output bomb: writes NUL bytes (each one six bytes of JSON) to stdout,
 * then to stderr, until the kernel refuses. Exits 0 when each stream took
 * exactly argv[1] bytes (qvm's cap per stream) and then said ENOSPC. */
#include <errno.h>
#include <stdlib.h>
#include <unistd.h>

static char buf[1 << 20];

static long fill(int fd, int *err)
{
    long total = 0;
    for (;;) {
        ssize_t n = write(fd, buf, sizeof buf);
        if (n < 0) {
            *err = errno;
            return total;
        }
        total += n;
    }
}

int main(int argc, char **argv)
{
    long cap = argc > 1 ? strtol(argv[1], NULL, 10) : 64L << 20;
    int out_err = 0, err_err = 0;
    long out = fill(1, &out_err);
    long err = fill(2, &err_err);
    return out == cap && err == cap && out_err == ENOSPC && err_err == ENOSPC ? 0 : 1;
}
