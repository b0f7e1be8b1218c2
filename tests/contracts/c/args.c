/* Prints each argument on its own line, between brackets, so tests can see
 * exactly what argv the contract received. */
#include <stdio.h>

int main(int argc, char **argv) {
    for (int i = 1; i < argc; i++)
        printf("[%s]\n", argv[i]);
    return 0;
}
