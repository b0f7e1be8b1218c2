/* A tiny qvm contract: greets its arguments and bumps COUNTER in the
 * contract's store (read from DB_COUNTER, written back with a DBW= line).
 *
 *   gcc -static -O2 -o hello hello.c
 *   qvm run --env DB_COUNTER=41 hello world   # hello world, DBW=COUNTER=42
 */
#include <stdio.h>
#include <stdlib.h>

int main(int argc, char **argv)
{
    fputs("hello", stdout);
    for (int i = 1; i < argc; i++)
        printf(" %s", argv[i]);
    putchar('\n');

    const char *counter = getenv("DB_COUNTER");
    long long value = counter ? strtoll(counter, NULL, 10) : 0;
    printf("DBW=COUNTER=%lld\n", value + 1);

    printf("OUT=greeted %d args\n", argc - 1);
    return 0;
}
