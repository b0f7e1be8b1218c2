/* Two threads hand a token back and forth N times (argv[1]) through a
 * futex word: every hand-over is a FUTEX_WAKE and a FUTEX_WAIT, so each
 * round trip is two thread switches. */
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/syscall.h>
#include <unistd.h>

/* linux/futex.h's values: musl's headers do not include the kernel's. */
#define FUTEX_WAIT_PRIVATE 128
#define FUTEX_WAKE_PRIVATE 129

static _Atomic int turn; /* 0: main's turn, 1: the other thread's */
static long rounds;

static void wait_for(int want)
{
    int v;
    while ((v = atomic_load(&turn)) != want)
        syscall(SYS_futex, &turn, FUTEX_WAIT_PRIVATE, v, 0, 0, 0);
}

static void give(int to)
{
    atomic_store(&turn, to);
    syscall(SYS_futex, &turn, FUTEX_WAKE_PRIVATE, 1, 0, 0, 0);
}

static void *other(void *arg)
{
    (void)arg;
    for (long i = 0; i < rounds; i++) {
        wait_for(1);
        give(0);
    }
    return 0;
}

int main(int argc, char **argv)
{
    rounds = argc > 1 ? atol(argv[1]) : 1000;
    pthread_t t;
    pthread_create(&t, 0, other, 0);
    for (long i = 0; i < rounds; i++) {
        give(1);
        wait_for(0);
    }
    pthread_join(t, 0);
    printf("%ld round trips\n", rounds);
    return 0;
}
