/* A named POSIX semaphore (sem_open, which needs /dev/shm): created,
 * opened a second time, posted by one thread and waited for by another,
 * closed and unlinked. Kept apart from pthreads.c so that the rest does
 * not depend on /dev/shm. A failed self-check prints its line and exits
 * with its section's code (10 + the section's number). */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <semaphore.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

static int section;

#define CHECK(cond)                                                       \
    do {                                                                  \
        if (!(cond)) {                                                    \
            printf("FAIL line %d: %s\n", __LINE__, #cond);                \
            fflush(stdout);                                               \
            exit(10 + section);                                           \
        }                                                                 \
    } while (0)

static char name[64];
static long received;

static void *poster(void *arg) {
    (void)arg;
    sem_t *s = sem_open(name, 0);
    CHECK(s != SEM_FAILED);
    for (int i = 0; i < 100; i++) CHECK(sem_post(s) == 0);
    CHECK(sem_close(s) == 0);
    return NULL;
}

int main(void) {
    setvbuf(stdout, NULL, _IOLBF, 0);
    /* The pid keeps concurrent runs apart on a shared host. */
    snprintf(name, sizeof name, "/qvm-corpus-sem-%d", (int)getpid());

    section = 1;
    sem_t *s = sem_open(name, O_CREAT | O_EXCL, 0600, 2);
    CHECK(s != SEM_FAILED);
    CHECK(sem_open(name, O_CREAT | O_EXCL, 0600, 0) == SEM_FAILED && errno == EEXIST);
    /* A second open of the name is the same semaphore. */
    sem_t *again = sem_open(name, 0);
    CHECK(again != SEM_FAILED);
    int v = -1;
    CHECK(sem_wait(again) == 0);
    CHECK(sem_getvalue(s, &v) == 0 && v == 1);
    CHECK(sem_wait(s) == 0);
    CHECK(sem_trywait(again) == -1 && errno == EAGAIN);
    printf("sem_open: created with 2, EEXIST on O_EXCL, two opens share the count\n");

    section = 2;
    pthread_t t;
    CHECK(pthread_create(&t, NULL, poster, NULL) == 0);
    for (int i = 0; i < 100; i++) {
        CHECK(sem_wait(s) == 0);
        received++;
    }
    CHECK(pthread_join(t, NULL) == 0);
    CHECK(sem_getvalue(s, &v) == 0 && v == 0);
    printf("sem_open: %ld posts from another thread's open received\n", received);

    section = 3;
    CHECK(sem_close(again) == 0);
    CHECK(sem_close(s) == 0);
    CHECK(sem_unlink(name) == 0);
    CHECK(sem_open(name, 0) == SEM_FAILED && errno == ENOENT);
    CHECK(sem_unlink(name) == -1 && errno == ENOENT);
    printf("sem_open: closed and unlinked, ENOENT afterwards\n");
    return 0;
}
