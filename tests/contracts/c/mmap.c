/* mmap, munmap, mprotect, mremap, MAP_FIXED(_NOREPLACE), PROT_NONE
 * reservations. Prints results and errno names, never addresses. */
#define _GNU_SOURCE
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#define CHECK(what, cond) printf("%-28s %s\n", what, (cond) ? "ok" : strerror(errno))

int main(void) {
    long page = sysconf(_SC_PAGESIZE);
    printf("page=%ld\n", page);
    char *a = mmap(NULL, 4 * page, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    CHECK("mmap rw", a != MAP_FAILED);
    CHECK("fresh memory is zero", a[0] == 0 && a[4 * page - 1] == 0);
    memset(a, 'x', 4 * page);
    CHECK("mprotect ro", mprotect(a, page, PROT_READ) == 0);
    CHECK("mprotect rw", mprotect(a, page, PROT_READ | PROT_WRITE) == 0);
    a[0] = 'y';
    char *b = mremap(a, 4 * page, 64 * page, MREMAP_MAYMOVE);
    CHECK("mremap grow", b != MAP_FAILED);
    CHECK("mremap kept contents", b[0] == 'y' && b[4 * page - 1] == 'x' && b[64 * page - 1] == 0);
    char *c = mremap(b, 64 * page, 2 * page, 0);
    CHECK("mremap shrink in place", c == b);
    CHECK("munmap tail", munmap(c + page, page) == 0);
    char *d = mmap(c + page, page, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED, -1, 0);
    CHECK("map fixed", d == c + page);
    errno = 0;
    char *e = mmap(c, page, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED_NOREPLACE, -1, 0);
    CHECK("fixed_noreplace refused", e == MAP_FAILED && errno == EEXIST);
    size_t huge = (size_t)1 << 36;
    char *r = mmap(NULL, huge, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
    CHECK("64 GiB PROT_NONE reserve", r != MAP_FAILED);
    CHECK("commit 1 MiB of it", mprotect(r + huge / 2, 1 << 20, PROT_READ | PROT_WRITE) == 0);
    r[huge / 2 + 12345] = 7;
    CHECK("committed memory works", r[huge / 2 + 12345] == 7);
    CHECK("munmap reservation", munmap(r, huge) == 0);
    errno = 0;
    CHECK("munmap unaligned fails", munmap(c + 1, page) != 0 && errno == EINVAL);
    errno = 0;
    CHECK("mprotect unmapped fails", mprotect(c + 2 * page, page, PROT_READ) != 0 && errno == ENOMEM);
    CHECK("munmap all", munmap(c, 2 * page) == 0);
#ifdef __GLIBC__
    /* musl's sbrk refuses to grow the break; glibc's uses brk(2). */
    void *brk0 = sbrk(0);
    CHECK("sbrk grow", sbrk(1 << 20) == brk0);
    memset(brk0, 1, 1 << 20);
    CHECK("sbrk shrink", sbrk(-(1 << 20)) != (void *)-1 && sbrk(0) == brk0);
#endif
    return 0;
}
