/* POSIX threads on glibc and musl: mutex, condvar (and its timed wait),
 * rwlock, barrier, __thread TLS, cancellation of a thread blocked in a
 * cancellation point, a robust mutex whose owner exits, a priority-
 * inheritance mutex and unnamed semaphores. Every printed figure is a
 * total or a return code, independent of the interleaving; a failed
 * self-check prints its line and exits with its section's code (10 + the
 * section's number). */
#define _GNU_SOURCE
#include <errno.h>
#include <pthread.h>
#include <semaphore.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

/* The section running now: sections run one after another, so threads
 * of a section read it unchanged. */
static int section;

#define CHECK(cond)                                                       \
    do {                                                                  \
        if (!(cond)) {                                                    \
            printf("FAIL line %d: %s\n", __LINE__, #cond);                \
            fflush(stdout);                                               \
            exit(10 + section);                                           \
        }                                                                 \
    } while (0)

#define NTHREADS 4

/* --- mutex --------------------------------------------------------------- */
static pthread_mutex_t count_lock = PTHREAD_MUTEX_INITIALIZER;
static long counter;

static void *add_many(void *arg) {
    (void)arg;
    for (int i = 0; i < 100000; i++) {
        pthread_mutex_lock(&count_lock);
        counter++;
        pthread_mutex_unlock(&count_lock);
    }
    return NULL;
}

static void test_mutex(void) {
    section = 1;
    pthread_t t[NTHREADS];
    for (int i = 0; i < NTHREADS; i++) CHECK(pthread_create(&t[i], NULL, add_many, NULL) == 0);
    for (int i = 0; i < NTHREADS; i++) CHECK(pthread_join(t[i], NULL) == 0);
    CHECK(counter == NTHREADS * 100000L);
    /* An error-checking mutex reports relocking and foreign unlocks. */
    pthread_mutexattr_t a;
    pthread_mutex_t m;
    pthread_mutexattr_init(&a);
    pthread_mutexattr_settype(&a, PTHREAD_MUTEX_ERRORCHECK);
    pthread_mutex_init(&m, &a);
    CHECK(pthread_mutex_lock(&m) == 0);
    CHECK(pthread_mutex_lock(&m) == EDEADLK);
    CHECK(pthread_mutex_trylock(&m) == EBUSY);
    CHECK(pthread_mutex_unlock(&m) == 0);
    CHECK(pthread_mutex_unlock(&m) == EPERM);
    pthread_mutex_destroy(&m);
    printf("mutex: counter %ld, errorcheck EDEADLK/EBUSY/EPERM ok\n", counter);
}

/* --- condition variable ------------------------------------------------------ */
#define QCAP 8
static pthread_mutex_t q_lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t q_not_empty = PTHREAD_COND_INITIALIZER;
static pthread_cond_t q_not_full = PTHREAD_COND_INITIALIZER;
static int queue[QCAP], q_head, q_len;

static void *producer(void *arg) {
    int base = *(int *)arg;
    for (int i = 1; i <= 500; i++) {
        pthread_mutex_lock(&q_lock);
        while (q_len == QCAP) pthread_cond_wait(&q_not_full, &q_lock);
        queue[(q_head + q_len) % QCAP] = base + i;
        q_len++;
        pthread_cond_signal(&q_not_empty);
        pthread_mutex_unlock(&q_lock);
    }
    return NULL;
}

static void test_condvar(void) {
    section = 2;
    pthread_t t[2];
    int bases[2] = {0, 10000};
    for (int i = 0; i < 2; i++) CHECK(pthread_create(&t[i], NULL, producer, &bases[i]) == 0);
    long sum = 0;
    for (int n = 0; n < 1000; n++) {
        pthread_mutex_lock(&q_lock);
        while (q_len == 0) pthread_cond_wait(&q_not_empty, &q_lock);
        sum += queue[q_head];
        q_head = (q_head + 1) % QCAP;
        q_len--;
        pthread_cond_broadcast(&q_not_full);
        pthread_mutex_unlock(&q_lock);
    }
    for (int i = 0; i < 2; i++) CHECK(pthread_join(t[i], NULL) == 0);
    CHECK(sum == 2 * 125250L + 500 * 10000L);

    /* A timed wait nobody signals: ETIMEDOUT on the realtime clock (the
     * default), then on the monotonic clock, each after its deadline. */
    pthread_mutex_t m = PTHREAD_MUTEX_INITIALIZER;
    pthread_cond_t c = PTHREAD_COND_INITIALIZER;
    struct timespec before, deadline, after;
    clock_gettime(CLOCK_REALTIME, &before);
    deadline = before;
    deadline.tv_nsec += 20 * 1000000;
    if (deadline.tv_nsec >= 1000000000) {
        deadline.tv_sec++;
        deadline.tv_nsec -= 1000000000;
    }
    pthread_mutex_lock(&m);
    int rc;
    do rc = pthread_cond_timedwait(&c, &m, &deadline);
    while (rc == 0); /* spurious wake-ups are allowed */
    pthread_mutex_unlock(&m);
    clock_gettime(CLOCK_REALTIME, &after);
    CHECK(rc == ETIMEDOUT);
    CHECK(after.tv_sec > deadline.tv_sec ||
          (after.tv_sec == deadline.tv_sec && after.tv_nsec >= deadline.tv_nsec));

    pthread_condattr_t ca;
    pthread_cond_t mc;
    pthread_condattr_init(&ca);
    CHECK(pthread_condattr_setclock(&ca, CLOCK_MONOTONIC) == 0);
    pthread_cond_init(&mc, &ca);
    clock_gettime(CLOCK_MONOTONIC, &deadline);
    deadline.tv_nsec += 10 * 1000000;
    if (deadline.tv_nsec >= 1000000000) {
        deadline.tv_sec++;
        deadline.tv_nsec -= 1000000000;
    }
    pthread_mutex_lock(&m);
    do rc = pthread_cond_timedwait(&mc, &m, &deadline);
    while (rc == 0);
    pthread_mutex_unlock(&m);
    CHECK(rc == ETIMEDOUT);
    pthread_cond_destroy(&mc);
    printf("condvar: queue sum %ld, timedwait ETIMEDOUT (realtime, monotonic)\n", sum);
}

/* --- rwlock ------------------------------------------------------------------ */
static pthread_rwlock_t table_lock = PTHREAD_RWLOCK_INITIALIZER;
static long table[64];
static long reads_total;
static pthread_mutex_t reads_lock = PTHREAD_MUTEX_INITIALIZER;

static void *reader(void *arg) {
    (void)arg;
    for (int r = 0; r < 200; r++) {
        pthread_rwlock_rdlock(&table_lock);
        long s = 0;
        for (int i = 0; i < 64; i++) s += table[i];
        pthread_rwlock_unlock(&table_lock);
        /* Writers keep the table's sum a multiple of 64. */
        CHECK(s % 64 == 0);
        pthread_mutex_lock(&reads_lock);
        reads_total++;
        pthread_mutex_unlock(&reads_lock);
    }
    return NULL;
}

static void *writer(void *arg) {
    (void)arg;
    for (int w = 0; w < 100; w++) {
        pthread_rwlock_wrlock(&table_lock);
        for (int i = 0; i < 64; i++) table[i]++;
        pthread_rwlock_unlock(&table_lock);
    }
    return NULL;
}

static void test_rwlock(void) {
    section = 3;
    pthread_t t[4];
    CHECK(pthread_create(&t[0], NULL, writer, NULL) == 0);
    CHECK(pthread_create(&t[1], NULL, writer, NULL) == 0);
    CHECK(pthread_create(&t[2], NULL, reader, NULL) == 0);
    CHECK(pthread_create(&t[3], NULL, reader, NULL) == 0);
    for (int i = 0; i < 4; i++) CHECK(pthread_join(t[i], NULL) == 0);
    long s = 0;
    for (int i = 0; i < 64; i++) s += table[i];
    CHECK(s == 2 * 100 * 64);
    /* A read lock excludes writers: trywrlock fails while it is held. */
    CHECK(pthread_rwlock_rdlock(&table_lock) == 0);
    CHECK(pthread_rwlock_tryrdlock(&table_lock) == 0);
    CHECK(pthread_rwlock_trywrlock(&table_lock) == EBUSY);
    pthread_rwlock_unlock(&table_lock);
    pthread_rwlock_unlock(&table_lock);
    printf("rwlock: table sum %ld, %ld reads, trywrlock EBUSY under readers\n", s, reads_total);
}

/* --- barrier and TLS ------------------------------------------------------------ */
static pthread_barrier_t barrier;
static __thread long tls_value = 7;
static __thread char tls_buf[32];
static int serial_count;
static pthread_mutex_t serial_lock = PTHREAD_MUTEX_INITIALIZER;

static void *barrier_worker(void *arg) {
    long id = (long)arg;
    /* Every thread starts with the initial image of the TLS block. */
    CHECK(tls_value == 7 && tls_buf[0] == 0);
    tls_value = id * 100;
    snprintf(tls_buf, sizeof tls_buf, "thread %ld", id);
    for (int round = 0; round < 3; round++) {
        int rc = pthread_barrier_wait(&barrier);
        CHECK(rc == 0 || rc == PTHREAD_BARRIER_SERIAL_THREAD);
        if (rc == PTHREAD_BARRIER_SERIAL_THREAD) {
            pthread_mutex_lock(&serial_lock);
            serial_count++;
            pthread_mutex_unlock(&serial_lock);
        }
        /* Other threads wrote their own copies meanwhile. */
        CHECK(tls_value == id * 100 + round);
        tls_value++;
    }
    char want[32];
    snprintf(want, sizeof want, "thread %ld", id);
    CHECK(strcmp(tls_buf, want) == 0);
    return (void *)(tls_value);
}

static void test_barrier_tls(void) {
    section = 4;
    pthread_t t[NTHREADS];
    CHECK(pthread_barrier_init(&barrier, NULL, NTHREADS + 1) == 0);
    tls_value = -1;
    for (long i = 0; i < NTHREADS; i++)
        CHECK(pthread_create(&t[i], NULL, barrier_worker, (void *)(i + 1)) == 0);
    for (int round = 0; round < 3; round++) {
        int rc = pthread_barrier_wait(&barrier);
        if (rc == PTHREAD_BARRIER_SERIAL_THREAD) {
            pthread_mutex_lock(&serial_lock);
            serial_count++;
            pthread_mutex_unlock(&serial_lock);
        }
    }
    long sum = 0;
    for (int i = 0; i < NTHREADS; i++) {
        void *ret;
        CHECK(pthread_join(t[i], &ret) == 0);
        sum += (long)ret;
    }
    CHECK(serial_count == 3); /* one serial thread per round */
    CHECK(tls_value == -1);   /* main's copy untouched */
    CHECK(sum == (100 + 200 + 300 + 400) + NTHREADS * 3);
    pthread_barrier_destroy(&barrier);
    printf("barrier: 3 rounds, %d serial threads; TLS per thread sum %ld, main's -1\n",
           serial_count, sum);
}

/* --- cancellation ------------------------------------------------------------------ */
static volatile int cleanup_ran;
static pthread_mutex_t started_lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t started_cond = PTHREAD_COND_INITIALIZER;
static int started;

static void cleanup(void *arg) { cleanup_ran = *(int *)arg; }

static void *sleeper(void *arg) {
    (void)arg;
    static int marker = 42;
    pthread_cleanup_push(cleanup, &marker);
    pthread_mutex_lock(&started_lock);
    started = 1;
    pthread_cond_signal(&started_cond);
    pthread_mutex_unlock(&started_lock);
    /* nanosleep is a cancellation point: blocked here for 1000 s. */
    struct timespec ts = {1000, 0};
    nanosleep(&ts, NULL);
    pthread_cleanup_pop(0);
    return (void *)1;
}

static void test_cancel(void) {
    section = 5;
    pthread_t t;
    CHECK(pthread_create(&t, NULL, sleeper, NULL) == 0);
    pthread_mutex_lock(&started_lock);
    while (!started) pthread_cond_wait(&started_cond, &started_lock);
    pthread_mutex_unlock(&started_lock);
    CHECK(pthread_cancel(t) == 0);
    void *ret;
    CHECK(pthread_join(t, &ret) == 0);
    CHECK(ret == PTHREAD_CANCELED);
    CHECK(cleanup_ran == 42);
    printf("cancel: joined PTHREAD_CANCELED, cleanup handler ran\n");
}

/* --- robust mutex ------------------------------------------------------------------- */
static pthread_mutex_t robust;

static void *die_holding(void *arg) {
    (void)arg;
    CHECK(pthread_mutex_lock(&robust) == 0);
    return NULL; /* exits with the mutex locked */
}

static void test_robust(void) {
    section = 6;
    pthread_mutexattr_t a;
    pthread_mutexattr_init(&a);
    CHECK(pthread_mutexattr_setrobust(&a, PTHREAD_MUTEX_ROBUST) == 0);
    CHECK(pthread_mutex_init(&robust, &a) == 0);
    pthread_t t;
    CHECK(pthread_create(&t, NULL, die_holding, NULL) == 0);
    CHECK(pthread_join(t, NULL) == 0);
    int rc = pthread_mutex_lock(&robust);
    CHECK(rc == EOWNERDEAD);
    CHECK(pthread_mutex_consistent(&robust) == 0);
    CHECK(pthread_mutex_unlock(&robust) == 0);
    CHECK(pthread_mutex_lock(&robust) == 0);
    CHECK(pthread_mutex_unlock(&robust) == 0);
    pthread_mutex_destroy(&robust);
    printf("robust mutex: EOWNERDEAD after the owner exited, consistent, relocked\n");
}

/* --- priority-inheritance mutex ------------------------------------------------------- */
static pthread_mutex_t pi;
static long pi_counter;

static void *pi_worker(void *arg) {
    (void)arg;
    for (int i = 0; i < 20000; i++) {
        CHECK(pthread_mutex_lock(&pi) == 0);
        pi_counter++;
        CHECK(pthread_mutex_unlock(&pi) == 0);
    }
    return NULL;
}

static void test_pi(void) {
    section = 7;
    pthread_mutexattr_t a;
    pthread_mutexattr_init(&a);
    CHECK(pthread_mutexattr_setprotocol(&a, PTHREAD_PRIO_INHERIT) == 0);
    int proto = -1;
    CHECK(pthread_mutexattr_getprotocol(&a, &proto) == 0 && proto == PTHREAD_PRIO_INHERIT);
    CHECK(pthread_mutex_init(&pi, &a) == 0);
    pthread_t t[NTHREADS];
    /* Held by main while the workers start: they block in the kernel. */
    CHECK(pthread_mutex_lock(&pi) == 0);
    for (int i = 0; i < NTHREADS; i++) CHECK(pthread_create(&t[i], NULL, pi_worker, NULL) == 0);
    struct timespec ts = {0, 5 * 1000000};
    nanosleep(&ts, NULL);
    CHECK(pthread_mutex_unlock(&pi) == 0);
    for (int i = 0; i < NTHREADS; i++) CHECK(pthread_join(t[i], NULL) == 0);
    CHECK(pi_counter == NTHREADS * 20000L);
    CHECK(pthread_mutex_trylock(&pi) == 0);
    CHECK(pthread_mutex_unlock(&pi) == 0);
    pthread_mutex_destroy(&pi);
    printf("PI mutex: counter %ld\n", pi_counter);
}

/* --- unnamed semaphores ------------------------------------------------------------------- */
static sem_t items, slots;
static int ring[4];
static int ring_in, ring_out;

static void *sem_producer(void *arg) {
    (void)arg;
    for (int i = 1; i <= 1000; i++) {
        CHECK(sem_wait(&slots) == 0);
        ring[ring_in] = i;
        ring_in = (ring_in + 1) % 4;
        CHECK(sem_post(&items) == 0);
    }
    return NULL;
}

static void test_semaphores(void) {
    section = 8;
    CHECK(sem_init(&items, 0, 0) == 0);
    CHECK(sem_init(&slots, 0, 4) == 0);
    pthread_t t;
    CHECK(pthread_create(&t, NULL, sem_producer, NULL) == 0);
    long sum = 0;
    for (int i = 0; i < 1000; i++) {
        CHECK(sem_wait(&items) == 0);
        sum += ring[ring_out];
        ring_out = (ring_out + 1) % 4;
        CHECK(sem_post(&slots) == 0);
    }
    CHECK(pthread_join(t, NULL) == 0);
    CHECK(sum == 500500);
    int v = -1;
    CHECK(sem_getvalue(&slots, &v) == 0 && v == 4);
    CHECK(sem_trywait(&items) == -1 && errno == EAGAIN);
    struct timespec deadline;
    clock_gettime(CLOCK_REALTIME, &deadline);
    deadline.tv_nsec += 10 * 1000000;
    if (deadline.tv_nsec >= 1000000000) {
        deadline.tv_sec++;
        deadline.tv_nsec -= 1000000000;
    }
    int rc;
    do rc = sem_timedwait(&items, &deadline);
    while (rc == -1 && errno == EINTR);
    CHECK(rc == -1 && errno == ETIMEDOUT);
    sem_destroy(&items);
    sem_destroy(&slots);
    printf("semaphores: ring sum %ld, slots back to %d, trywait EAGAIN, timedwait ETIMEDOUT\n",
           sum, v);
}

int main(void) {
    setvbuf(stdout, NULL, _IOLBF, 0);
    test_mutex();
    test_condvar();
    test_rwlock();
    test_barrier_tls();
    test_cancel();
    test_robust();
    test_pi();
    test_semaphores();
    printf("pthreads: all checks passed\n");
    return 0;
}
