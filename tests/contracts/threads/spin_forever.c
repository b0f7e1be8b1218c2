/* Threads that never end: one spins without syscalls, one spins on
 * sched_yield, and main waits for both in pthread_join. Only the host's
 * --timeout ends the call (with the emulator's counter, time slices switch
 * between them; on KVM the call moves to the emulator at the first thread). */
#include <pthread.h>
#include <sched.h>
#include <stdio.h>

static volatile unsigned long spins;

static void *busy(void *arg)
{
    (void)arg;
    for (;;)
        spins++;
    return 0;
}

static void *yielding(void *arg)
{
    (void)arg;
    for (;;)
        sched_yield();
    return 0;
}

int main(void)
{
    pthread_t a, b;
    pthread_create(&a, 0, busy, 0);
    pthread_create(&b, 0, yielding, 0);
    puts("started");
    fflush(stdout);
    pthread_join(a, 0);
    pthread_join(b, 0);
    puts("unreachable");
    return 0;
}
