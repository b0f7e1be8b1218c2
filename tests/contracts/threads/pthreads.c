/* Threads on one virtual CPU: a mutex-protected counter across four
 * threads, a condition variable, thread-local storage, join with return
 * values, a timed wait that times out, detached threads and sleeps. The
 * output does not depend on the interleaving. */
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <time.h>
#include <unistd.h>

static pthread_mutex_t m = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t c = PTHREAD_COND_INITIALIZER;
static long counter;
static int ready;
static __thread int tls;

static void *worker(void *arg)
{
    tls = (int)(long)arg;
    for (int i = 0; i < 20000; i++) {
        pthread_mutex_lock(&m);
        counter++;
        pthread_mutex_unlock(&m);
        if (i % 5000 == 0)
            sched_yield();
    }
    pthread_mutex_lock(&m);
    ready++;
    pthread_cond_signal(&c);
    pthread_mutex_unlock(&m);
    return (void *)(long)(tls * 10);
}

static void *sleeper(void *arg)
{
    (void)arg;
    usleep(2000);
    return (void *)7;
}

int main(void)
{
    pthread_t t[4], s;
    for (long i = 0; i < 4; i++)
        pthread_create(&t[i], 0, worker, (void *)(i + 1));
    pthread_create(&s, 0, sleeper, 0);
    pthread_mutex_lock(&m);
    while (ready < 4)
        pthread_cond_wait(&c, &m);
    pthread_mutex_unlock(&m);
    long sum = 0;
    for (int i = 0; i < 4; i++) {
        void *r;
        pthread_join(t[i], &r);
        sum += (long)r;
    }
    void *r;
    pthread_join(s, &r);

    /* Nobody signals: the wait ends at its deadline. */
    struct timespec deadline;
    clock_gettime(CLOCK_REALTIME, &deadline);
    deadline.tv_nsec += 50 * 1000 * 1000;
    if (deadline.tv_nsec >= 1000000000) {
        deadline.tv_sec++;
        deadline.tv_nsec -= 1000000000;
    }
    pthread_mutex_lock(&m);
    int rc = pthread_cond_timedwait(&c, &m, &deadline);
    pthread_mutex_unlock(&m);

    printf("counter=%ld sum=%ld sleeper=%ld timedwait=%s tls=%d\n", counter, sum,
           (long)r, rc == ETIMEDOUT ? "ETIMEDOUT" : "other", tls);
    return counter == 80000 && sum == 100 && rc == ETIMEDOUT ? 0 : 1;
}
