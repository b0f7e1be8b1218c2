/* stderr beside stdout: unbuffered stdio, raw write(2), perror and a
 * large block, then a non-zero exit. Each stream is compared byte for
 * byte (qvm keeps them apart, so their interleaving is not compared). */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

int main(void) {
    for (int i = 0; i < 100; i++) {
        printf("out %d\n", i);
        fprintf(stderr, "err %d: %s\n", i, i % 2 ? "odd" : "even");
    }
    errno = ENOENT;
    perror("perror says");
    fprintf(stderr, "strerror(EACCES)=%s\n", strerror(EACCES));
    static char block[100000];
    memset(block, 'e', sizeof block);
    block[sizeof block - 1] = '\n';
    if (write(2, block, sizeof block) != (ssize_t)sizeof block)
        return 1;
    fflush(stdout);
    return 3;
}
