/* Prints everything that would be nondeterministic on a real host:
 * randomness from three sources, clocks, and identity. */
#include <fcntl.h>
#include <stdio.h>
#include <sys/auxv.h>
#include <sys/random.h>
#include <sys/time.h>
#include <sys/utsname.h>
#include <time.h>
#include <unistd.h>

static void hex(const char *key, const unsigned char *b, int n) {
    printf("%s", key);
    for (int i = 0; i < n; i++) printf("%02x", b[i]);
    printf("\n");
}

int main(void) {
    unsigned char buf[16];
    if (getrandom(buf, sizeof buf, 0) != sizeof buf) return 1;
    hex("getrandom=", buf, 16);
    int fd = open("/dev/urandom", O_RDONLY);
    if (fd < 0 || read(fd, buf, sizeof buf) != sizeof buf) return 2;
    close(fd);
    hex("urandom=", buf, 16);
    hex("at_random=", (const unsigned char *)getauxval(AT_RANDOM), 16);
    printf("time=%lld\n", (long long)time(NULL));
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    printf("realtime=%lld\n", (long long)ts.tv_sec);
    struct timeval tv;
    gettimeofday(&tv, NULL);
    printf("gettimeofday=%lld\n", (long long)tv.tv_sec);
    struct utsname u;
    uname(&u);
    printf("uname=%s %s\n", u.sysname, u.machine);
    printf("pid=%d uid=%d\n", (int)getpid(), (int)getuid());
    return 0;
}
