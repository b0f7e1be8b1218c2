/* Dies of SIGABRT through abort(), after writing to stderr. */
#include <stdio.h>
#include <stdlib.h>
int main(void) {
    fputs("about to abort\n", stderr);
    abort();
}
