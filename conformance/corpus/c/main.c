/* The conformance contract in C: arguments, environment, stdin, a growing
 * heap array, the QVM protocol and an exit status. */
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

int main(int argc, char **argv) {
    int status = argc > 1 ? atoi(argv[1]) : 0;
    int words = argc > 2 ? argc - 2 : 0;
    printf("args=%d\n", words);
    for (int i = 0; i < words; i++)
        printf("arg%d=%s\n", i + 1, argv[i + 2]);

    const char *counter = getenv("DB_COUNTER");
    printf("counter=%s\n", counter ? counter : "(unset)");

    long long bytes = 0, lines = 0;
    char buf[65536];
    for (;;) {
        ssize_t n = read(0, buf, sizeof buf);
        if (n <= 0)
            break;
        bytes += n;
        for (ssize_t i = 0; i < n; i++)
            if (buf[i] == '\n')
                lines++;
    }
    printf("stdin_bytes=%lld\n", bytes);
    printf("stdin_lines=%lld\n", lines);

    /* The array grows one element at a time through realloc. */
    long long *xs = NULL;
    size_t len = 0;
    for (long long i = 0; i < 100000; i++) {
        long long *grown = realloc(xs, (len + 1) * sizeof *xs);
        if (!grown)
            return 99;
        xs = grown;
        xs[len++] = (i * i) % 1000003;
    }
    long long sum = 0;
    for (size_t i = 0; i < len; i++)
        sum += xs[i];
    free(xs);
    printf("heap_sum=%lld\n", sum);

    long long n = counter ? atoll(counter) : 0;
    printf("DBW=COUNTER=%lld\n", n + 1);
    printf("DBP=OLD\n");
    printf("OUT=c done\n");
    fflush(stdout);
    return status;
}
