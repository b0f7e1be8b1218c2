/* Isolation between warm calls (tests/warm.rs).
 *
 *   isolation write SECRET   leaves a marker made from SECRET in its heap
 *                            (brk and mmap'd malloc blocks), stack, brk
 *                            area (grown, written, shrunk again), an
 *                            anonymous mmap (kept and one unmapped), a
 *                            tmpfs file left open, .data and .bss; then
 *                            searches for it (it must find every one).
 *   isolation search SECRET  makes the same allocations, searches the same
 *                            places and must find nothing.
 *
 * Both print where they found the marker, the addresses they searched,
 * the first 16 bytes of getrandom, AT_RANDOM and the clocks: a warm call
 * must print what a cold call prints. The marker is built from argv in a
 * .bss buffer, the only copy the search skips. It relies on qvm's fixed
 * layout (the brk area right after _end, the whole stack mapped): natively
 * the search can fault. */
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/auxv.h>
#include <sys/mman.h>
#include <sys/random.h>
#include <time.h>
#include <unistd.h>

#define MARKER_LEN 24
#define STACK_DEPTH (512 * 1024)
#define MMAP_LEN (256 * 1024)
#define BRK_GROWTH (64 * 1024)
#define FILE_PATH "/tmp/warm-marker"

extern char __data_start[], _end[];

static unsigned char needle[MARKER_LEN];
/* Initialised: in .data, not .bss. */
static unsigned char data_area[8192] = {1};
static unsigned char bss_area[8192];

/* The marker: "qvmMARK" then SECRET's bytes, each transformed, so neither
 * argv nor the program's own bytes hold it. */
static void make_needle(const char *secret)
{
    static const char prefix[] = "qvmMARK";
    size_t n = strlen(secret);
    for (int i = 0; i < MARKER_LEN; i++) {
        unsigned char c = i < 7 ? (unsigned char)prefix[i] : (unsigned char)(n ? secret[(i - 7) % n] : 0);
        needle[i] = (unsigned char)(c ^ 0xa5 ^ i);
    }
}

/* Whether [lo, hi) holds the marker anywhere but in `needle`. */
static int holds_marker(const unsigned char *lo, const unsigned char *hi)
{
    for (const unsigned char *p = lo; p + MARKER_LEN <= hi; p++) {
        if (p == needle)
            continue;
        if (*p == needle[0] && memcmp(p, needle, MARKER_LEN) == 0)
            return 1;
    }
    return 0;
}

static void put_marker(unsigned char *at)
{
    memcpy(at, needle, MARKER_LEN);
}

static char found[512];

static void note(const char *where, int hit)
{
    if (hit) {
        strcat(found, " ");
        strcat(found, where);
    }
}

/* Writes the marker deep in the stack, below main's frame. */
static __attribute__((noinline)) void stack_write(void)
{
    volatile unsigned char deep[STACK_DEPTH];
    for (int i = 0; i < MARKER_LEN; i++)
        deep[1000 + i] = needle[i];
    for (int i = 0; i < MARKER_LEN; i++)
        deep[STACK_DEPTH - 4096 + i] = needle[i];
    __asm__ volatile("" ::"r"(deep) : "memory");
}

static void hex(const char *what, const unsigned char *p, size_t n)
{
    printf("%s ", what);
    for (size_t i = 0; i < n; i++)
        printf("%02x", p[i]);
    printf("\n");
}

int main(int argc, char **argv)
{
    if (argc != 3)
        return 2;
    int writing = strcmp(argv[1], "write") == 0;
    make_needle(argv[2]);

    /* Heap: a small block (brk) and a large one (mmap'd by malloc). */
    unsigned char *small = malloc(200);
    unsigned char *large = malloc(1 << 20);
    /* An anonymous mmap kept, and one unmapped again. */
    unsigned char *kept = mmap(NULL, MMAP_LEN, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    unsigned char *gone = mmap(NULL, MMAP_LEN, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (!small || !large || kept == MAP_FAILED || gone == MAP_FAILED)
        return 3;
    /* The brk area: grown, written, shrunk, grown again. */
    unsigned char *brk0 = sbrk(0);
    if (sbrk(BRK_GROWTH) == (void *)-1)
        return 4;
    if (writing)
        put_marker(brk0 + BRK_GROWTH - 4096);
    if (sbrk(-BRK_GROWTH) == (void *)-1 || sbrk(BRK_GROWTH) == (void *)-1)
        return 5;
    /* Shrinking gave those pages back: only this second marker stays. */
    if (writing)
        put_marker(brk0 + BRK_GROWTH - 2048);

    if (writing) {
        put_marker(small + 100);
        put_marker(large + 500000);
        put_marker(kept + 100000);
        put_marker(gone + 5000);
        put_marker(data_area + 3000);
        put_marker(bss_area + 5000);
        /* The stores are seen: the areas escape. */
        __asm__ volatile("" ::"r"(data_area), "r"(bss_area) : "memory");
        stack_write();
    }
    if (munmap(gone, MMAP_LEN) != 0)
        return 6;
    /* The same address again: fresh zeros, whatever was there. */
    unsigned char *again = mmap(NULL, MMAP_LEN, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (again == MAP_FAILED)
        return 7;

    /* A file: written and left open (a file descriptor table entry). */
    int before = fcntl(3, F_GETFD);
    int before_errno = errno;
    int exists = access(FILE_PATH, F_OK) == 0;
    int fd = -1;
    if (writing) {
        fd = open(FILE_PATH, O_CREAT | O_RDWR, 0600);
        if (fd < 0 || write(fd, needle, MARKER_LEN) != MARKER_LEN)
            return 8;
    }
    int entries = 0;
    DIR *tmp = opendir("/tmp");
    if (tmp) {
        struct dirent *d;
        while ((d = readdir(tmp)) != NULL)
            if (d->d_name[0] != '.')
                entries++;
        closedir(tmp);
    }
    int file_hit = 0;
    int rfd = open(FILE_PATH, O_RDONLY);
    if (rfd >= 0) {
        unsigned char buf[MARKER_LEN];
        file_hit = read(rfd, buf, MARKER_LEN) == MARKER_LEN && memcmp(buf, needle, MARKER_LEN) == 0;
        close(rfd);
    }
    printf("fd 3 at start: %d (errno %d); file existed: %d; /tmp entries: %d; open gave fd %d\n",
           before, before_errno, exists, entries, fd);

    /* The search. */
    unsigned char *sp = (unsigned char *)__builtin_frame_address(0);
    unsigned char *stack_top = (unsigned char *)(((uintptr_t)argv[0] + 4096) & ~(uintptr_t)4095);
    unsigned char *brk_now = sbrk(0);
    note("heap-small", holds_marker(small, small + 200));
    note("heap-large", holds_marker(large, large + (1 << 20)));
    note("brk", holds_marker((unsigned char *)_end, brk_now));
    note("brk-top", holds_marker(brk0 + BRK_GROWTH - 8192, brk0 + BRK_GROWTH));
    note("mmap", holds_marker(kept, kept + MMAP_LEN));
    note("mmap-reused", holds_marker(again, again + MMAP_LEN));
    note("data+bss", holds_marker((unsigned char *)__data_start, (unsigned char *)_end));
    note("stack", holds_marker(sp - 2 * STACK_DEPTH, stack_top));
    note("file", file_hit || exists || before >= 0);
    printf("marker found in:%s\n", found[0] ? found : " nothing");
    printf("searched: brk %p-%p, mmap %p and %p (unmapped one was %p), stack %p-%p\n",
           (void *)_end, (void *)brk_now, (void *)kept, (void *)again, (void *)gone,
           (void *)(sp - 2 * STACK_DEPTH), (void *)stack_top);

    /* Randomness and clocks: a warm call's must be a cold call's. */
    unsigned char rnd[16];
    if (getrandom(rnd, sizeof rnd, 0) != sizeof rnd)
        return 9;
    hex("getrandom", rnd, sizeof rnd);
    hex("AT_RANDOM", (const unsigned char *)getauxval(AT_RANDOM), 16);
    struct timespec real, mono, cpu;
    clock_gettime(CLOCK_REALTIME, &real);
    clock_gettime(CLOCK_MONOTONIC, &mono);
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &cpu);
    printf("realtime %lld.%09ld monotonic %lld.%09ld cputime %lld.%09ld time %lld\n",
           (long long)real.tv_sec, real.tv_nsec, (long long)mono.tv_sec, mono.tv_nsec,
           (long long)cpu.tv_sec, cpu.tv_nsec, (long long)time(NULL));
    unsigned int lo, hi;
    __asm__ volatile("rdtsc" : "=a"(lo), "=d"(hi));
    printf("rdtsc %llu\n", ((unsigned long long)hi << 32) | lo);
    return 0;
}
