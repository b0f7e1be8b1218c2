/* Exits with status 42 after writing to both streams. */
#include <stdio.h>
#include <stdlib.h>
int main(void) {
    printf("out\n");
    fprintf(stderr, "err\n");
    exit(42);
}
