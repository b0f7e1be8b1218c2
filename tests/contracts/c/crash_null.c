/* Dies of SIGSEGV: a write through a null pointer. */
#include <stdio.h>
int main(void) {
    puts("before");
    fflush(stdout);
    *(volatile int *)0 = 1;
    puts("after");
    return 0;
}
