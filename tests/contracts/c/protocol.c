/* A counter contract in QVM's protocol: reads DB_COUNTER, writes it back
 * incremented, deletes two keys, emits an event. With argument "fail" it
 * writes to stderr, which fails the call. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int main(int argc, char **argv) {
    const char *c = getenv("DB_COUNTER");
    long n = (c ? atol(c) : 0) + 1;
    printf("DBW=COUNTER=%ld\n", n);
    printf("DBP=OLD,STALE\n");
    printf("OUT=counted %ld\n", n);
    if (argc > 1 && strcmp(argv[1], "fail") == 0) {
        fprintf(stderr, "refusing\n");
    }
    return 0;
}
