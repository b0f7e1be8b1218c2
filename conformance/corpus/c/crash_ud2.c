/* Dies of SIGILL: ud2, the instruction defined to be undefined. */
#include <stdio.h>

int main(void) {
    puts("before ud2");
    fflush(stdout);
    __asm__ volatile("ud2");
    puts("after ud2");
    return 0;
}
