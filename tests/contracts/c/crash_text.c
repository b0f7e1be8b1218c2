/* Dies of SIGSEGV: a write into its own (read-only) code. */
#include <stdio.h>
int main(void) {
    fflush(stdout);
    *(volatile unsigned char *)(void *)&main = 0xcc;
    return 0;
}
