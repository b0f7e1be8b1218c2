/* Dies of SIGFPE: integer division by zero. */
#include <stdio.h>
int main(int argc, char **argv) {
    (void)argv;
    volatile int zero = argc - 1;
    printf("%d\n", 10 / zero);
    return 0;
}
