/* Two integer divisions by zero in one call, the first caught by a SIGFPE
 * handler (tests/warm.rs): the second is a SIGFPE again, as on Linux, not
 * a double fault. */
#include <setjmp.h>
#include <signal.h>
#include <stdio.h>

static sigjmp_buf back;

static void on_fpe(int sig)
{
    siglongjmp(back, sig);
}

int main(void)
{
    volatile int zero = 0;
    signal(SIGFPE, on_fpe);
    int caught = sigsetjmp(back, 1);
    if (caught == 0)
        return 100 / zero;
    printf("caught signal %d once\n", caught);
    fflush(stdout);
    signal(SIGFPE, SIG_DFL);
    return 100 / zero; /* SIGFPE: status 136 */
}
