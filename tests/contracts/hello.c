/* Hello world: arguments, one environment variable, stdout. */
#include <stdio.h>
#include <stdlib.h>

int main(int argc, char **argv) {
    printf("hello");
    for (int i = 1; i < argc; i++) printf(" %s", argv[i]);
    const char *g = getenv("GREETING");
    printf("\nGREETING=%s\n", g ? g : "(unset)");
    return 0;
}
