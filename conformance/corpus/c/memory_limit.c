/* Exceeding the memory limit: allocations fail as on Linux (malloc gives
 * NULL, mmap ENOMEM, brk leaves the break unchanged) and the program
 * carries on once it frees memory.
 *
 * qvm runs the call with its default 256 MiB limit. Natively the program
 * sets RLIMIT_AS to the same 256 MiB first (qvm records that setrlimit;
 * its own limit is what binds). The two limits count slightly different
 * things (qvm: committed mappings, the whole 8 MiB stack included;
 * RLIMIT_AS: address space), so the exact point of failure differs by a
 * few MiB and only facts true under both are printed. */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <unistd.h>

#define LIMIT_MIB 256
#define BLOCK (1 << 20)

static void *blocks[LIMIT_MIB];

int main(void) {
    setvbuf(stdout, NULL, _IOFBF, 4096); /* stdio's buffer exists before memory runs out */
    struct rlimit rl = {(rlim_t)LIMIT_MIB << 20, (rlim_t)LIMIT_MIB << 20};
    printf("setrlimit(RLIMIT_AS)=%d\n", setrlimit(RLIMIT_AS, &rl));
    int n = 0;
    while (n < LIMIT_MIB && (blocks[n] = malloc(BLOCK)) != NULL) {
        memset(blocks[n], n, 4096); /* use it */
        n++;
    }
    int malloc_errno = errno;
    printf("malloc refused between 200 and 256 MiB: %s\n", n >= 200 && n < LIMIT_MIB ? "yes" : "no");
    printf("malloc errno: %s\n", strerror(malloc_errno));
    errno = 0;
    void *m = mmap(NULL, 16 << 20, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    printf("mmap 16 MiB: %s\n", m == MAP_FAILED ? strerror(errno) : "mapped");
    long brk0 = syscall(SYS_brk, 0);
    printf("brk +16 MiB unchanged: %s\n", syscall(SYS_brk, brk0 + (16 << 20)) == brk0 ? "yes" : "no");
    int intact = 1;
    for (int i = 0; i < n; i++) {
        intact &= *(unsigned char *)blocks[i] == (unsigned char)i;
        free(blocks[i]);
    }
    printf("blocks intact: %s\n", intact ? "yes" : "no");
    char *again = malloc(64 << 20);
    if (again)
        memset(again, 1, 64 << 20);
    printf("64 MiB after freeing: %s\n", again && again[(64 << 20) - 1] == 1 ? "ok" : "failed");
    free(again);
    return 0;
}
