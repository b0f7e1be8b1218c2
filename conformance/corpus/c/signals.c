/* Signals, single-threaded, on glibc and musl: synchronous faults caught
 * with their siginfo (SIGSEGV left with siglongjmp, SIGFPE from an integer
 * division by zero, SIGILL from ud2 skipped by moving the ucontext's RIP),
 * a handler on an alternate stack, a blocked signal left pending, then
 * delivered when unblocked, SA_RESETHAND, SA_NODEFER, alarm() + pause(),
 * setitimer(ITIMER_REAL) with sigsuspend, and sigtimedwait. Prints only
 * fixed facts; a failed self-check prints its line and exits with its
 * section's code (10 + the section's number). */
#define _GNU_SOURCE
#include <errno.h>
#include <setjmp.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/time.h>
#include <ucontext.h>
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

/* The faulting instructions, at known addresses. */
extern char read_insn[], div_insn[], ud2_insn[];
int load_int(const int *p);       /* mov (%rdi),%eax */
unsigned divide(unsigned a, unsigned b); /* div %esi */
int after_ud2(void);              /* ud2, then returns 42 */
__asm__(".text\n"
        ".globl load_int\n"
        ".type load_int,@function\n"
        "load_int:\n"
        ".globl read_insn\n"
        "read_insn:\n"
        "  movl (%rdi), %eax\n"
        "  ret\n"
        ".globl divide\n"
        ".type divide,@function\n"
        "divide:\n"
        "  movl %edi, %eax\n"
        "  xorl %edx, %edx\n"
        ".globl div_insn\n"
        "div_insn:\n"
        "  divl %esi\n"
        "  ret\n"
        ".globl after_ud2\n"
        ".type after_ud2,@function\n"
        "after_ud2:\n"
        "  xorl %eax, %eax\n"
        ".globl ud2_insn\n"
        "ud2_insn:\n"
        "  ud2\n"
        "  movl $42, %eax\n"
        "  ret\n");

static void handle(int sig, void (*fn)(int, siginfo_t *, void *), int flags) {
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_sigaction = fn;
    sa.sa_flags = SA_SIGINFO | flags;
    sigemptyset(&sa.sa_mask);
    CHECK(sigaction(sig, &sa, NULL) == 0);
}

/* What the last handler saw. */
static volatile sig_atomic_t seen_sig, seen_code, hits;
static void *volatile seen_addr;
static volatile uintptr_t seen_rip;
static sigjmp_buf escape;

static void on_fault(int sig, siginfo_t *si, void *uc_) {
    ucontext_t *uc = uc_;
    seen_sig = sig;
    seen_code = si->si_code;
    seen_addr = si->si_addr;
    seen_rip = (uintptr_t)uc->uc_mcontext.gregs[REG_RIP];
    siglongjmp(escape, 1);
}

static void test_segv(void) {
    section = 1;
    handle(SIGSEGV, on_fault, 0);
    /* An unmapped address, then a PROT_NONE page. */
    const int *unmapped = (const int *)16;
    if (sigsetjmp(escape, 1) == 0) {
        load_int(unmapped);
        CHECK(!"read of address 16 did not fault");
    }
    CHECK(seen_sig == SIGSEGV && seen_code == SEGV_MAPERR);
    CHECK(seen_addr == (void *)16 && seen_rip == (uintptr_t)read_insn);
    char *page = mmap(NULL, 4096, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    CHECK(page != MAP_FAILED);
    if (sigsetjmp(escape, 1) == 0) {
        load_int((const int *)(page + 100));
        CHECK(!"read of a PROT_NONE page did not fault");
    }
    CHECK(seen_code == SEGV_ACCERR && seen_addr == page + 100);
    /* siglongjmp restored the mask saved by sigsetjmp: SIGSEGV unblocked. */
    sigset_t now;
    sigprocmask(SIG_SETMASK, NULL, &now);
    CHECK(!sigismember(&now, SIGSEGV));
    munmap(page, 4096);
    signal(SIGSEGV, SIG_DFL);
    printf("SIGSEGV: SEGV_MAPERR at 16 and SEGV_ACCERR in a PROT_NONE page, RIP at the load, left by siglongjmp\n");
}

static void test_fpe(void) {
    section = 2;
    handle(SIGFPE, on_fault, 0);
    if (sigsetjmp(escape, 1) == 0) {
        divide(7, 0);
        CHECK(!"division by zero did not fault");
    }
    CHECK(seen_sig == SIGFPE && seen_code == FPE_INTDIV);
    CHECK(seen_addr == (void *)div_insn && seen_rip == (uintptr_t)div_insn);
    CHECK(divide(7, 2) == 3);
    signal(SIGFPE, SIG_DFL);
    printf("SIGFPE: FPE_INTDIV, si_addr and RIP at the div\n");
}

/* Skip the 2-byte ud2 by moving the saved RIP. */
static void on_ill(int sig, siginfo_t *si, void *uc_) {
    ucontext_t *uc = uc_;
    seen_sig = sig;
    seen_code = si->si_code;
    seen_addr = si->si_addr;
    seen_rip = (uintptr_t)uc->uc_mcontext.gregs[REG_RIP];
    uc->uc_mcontext.gregs[REG_RIP] += 2;
}

static void test_ill(void) {
    section = 3;
    handle(SIGILL, on_ill, 0);
    int r = after_ud2();
    CHECK(r == 42);
    CHECK(seen_sig == SIGILL && seen_code == ILL_ILLOPN);
    CHECK(seen_addr == (void *)ud2_insn && seen_rip == (uintptr_t)ud2_insn);
    signal(SIGILL, SIG_DFL);
    printf("SIGILL: ILL_ILLOPN at the ud2, handler moved RIP past it, returned %d\n", r);
}

static char altstack[1 << 16];
static volatile int on_alt, alt_flags;

static void on_usr2(int sig, siginfo_t *si, void *uc) {
    (void)sig, (void)si, (void)uc;
    char here;
    on_alt = &here >= altstack && &here < altstack + sizeof altstack;
    stack_t cur;
    sigaltstack(NULL, &cur);
    alt_flags = cur.ss_flags;
}

static void test_altstack(void) {
    section = 4;
    stack_t ss = {.ss_sp = altstack, .ss_size = sizeof altstack, .ss_flags = 0};
    CHECK(sigaltstack(&ss, NULL) == 0);
    handle(SIGUSR2, on_usr2, SA_ONSTACK);
    CHECK(raise(SIGUSR2) == 0);
    CHECK(on_alt == 1 && alt_flags == SS_ONSTACK);
    /* Without SA_ONSTACK the handler runs on the normal stack. */
    handle(SIGUSR2, on_usr2, 0);
    CHECK(raise(SIGUSR2) == 0);
    CHECK(on_alt == 0 && alt_flags == 0);
    stack_t off = {.ss_flags = SS_DISABLE};
    CHECK(sigaltstack(&off, NULL) == 0);
    signal(SIGUSR2, SIG_DFL);
    printf("sigaltstack: SA_ONSTACK handler ran on the alternate stack (SS_ONSTACK), plain one did not\n");
}

static void on_count(int sig, siginfo_t *si, void *uc) {
    (void)uc;
    seen_sig = sig;
    seen_code = si->si_code;
    hits++;
}

static void test_pending(void) {
    section = 5;
    handle(SIGUSR1, on_count, 0);
    sigset_t set, pending;
    sigemptyset(&set);
    sigaddset(&set, SIGUSR1);
    CHECK(sigprocmask(SIG_BLOCK, &set, NULL) == 0);
    hits = 0;
    CHECK(raise(SIGUSR1) == 0);
    CHECK(raise(SIGUSR1) == 0); /* standard signals do not queue */
    CHECK(hits == 0);
    CHECK(sigpending(&pending) == 0 && sigismember(&pending, SIGUSR1));
    CHECK(sigprocmask(SIG_UNBLOCK, &set, NULL) == 0);
    CHECK(hits == 1 && seen_sig == SIGUSR1);
    CHECK(sigpending(&pending) == 0 && !sigismember(&pending, SIGUSR1));
    /* kill() to ourselves: SI_USER. */
    CHECK(kill(getpid(), SIGUSR1) == 0);
    CHECK(hits == 2 && seen_code == SI_USER);
    printf("pending: blocked SIGUSR1 raised twice stayed pending, delivered once on unblock; kill gives SI_USER\n");
}

static volatile int depth, max_depth, entries;
/* Raises its own signal until it has run 3 times: nested with SA_NODEFER,
 * one after another (at each return's sigreturn) without. */
static void on_nested(int sig, siginfo_t *si, void *uc) {
    (void)si, (void)uc;
    depth++;
    entries++;
    if (depth > max_depth) max_depth = depth;
    if (entries < 3) raise(sig);
    depth--;
}

static void test_flags(void) {
    section = 6;
    /* SA_RESETHAND: the first delivery restores SIG_DFL. */
    handle(SIGUSR1, on_count, SA_RESETHAND);
    hits = 0;
    CHECK(raise(SIGUSR1) == 0);
    CHECK(hits == 1);
    struct sigaction now;
    CHECK(sigaction(SIGUSR1, NULL, &now) == 0);
    CHECK(now.sa_handler == SIG_DFL);
    /* SA_NODEFER: the handler can interrupt itself. */
    handle(SIGUSR2, on_nested, SA_NODEFER);
    max_depth = entries = 0;
    CHECK(raise(SIGUSR2) == 0);
    CHECK(entries == 3 && max_depth == 3 && depth == 0);
    /* Without it the nested raise waits until the handler returns. */
    handle(SIGUSR2, on_nested, 0);
    max_depth = entries = 0;
    CHECK(raise(SIGUSR2) == 0);
    CHECK(entries == 3 && max_depth == 1 && depth == 0);
    signal(SIGUSR2, SIG_DFL);
    printf("flags: SA_RESETHAND restored SIG_DFL; SA_NODEFER nested 3 deep, default mask 3 times, 1 deep\n");
}

static void test_alarm(void) {
    section = 7;
    handle(SIGALRM, on_count, 0);
    hits = 0;
    CHECK(alarm(1) == 0);
    CHECK(alarm(1) == 1); /* re-arming returns the seconds left (rounded) */
    int r = pause();
    CHECK(r == -1 && errno == EINTR);
    CHECK(hits == 1 && seen_sig == SIGALRM && seen_code == SI_KERNEL);
    printf("alarm: pause() returned EINTR after SIGALRM\n");
}

static void test_itimer(void) {
    section = 8;
    handle(SIGALRM, on_count, 0);
    sigset_t block, old, wait_mask;
    sigemptyset(&block);
    sigaddset(&block, SIGALRM);
    CHECK(sigprocmask(SIG_BLOCK, &block, &old) == 0);
    sigemptyset(&wait_mask);
    /* One shot, 20 ms. */
    hits = 0;
    struct itimerval it = {.it_interval = {0, 0}, .it_value = {0, 20000}};
    CHECK(setitimer(ITIMER_REAL, &it, NULL) == 0);
    struct itimerval left;
    CHECK(getitimer(ITIMER_REAL, &left) == 0);
    CHECK(left.it_value.tv_sec == 0 && left.it_value.tv_usec > 0 && left.it_value.tv_usec <= 20000);
    int r = sigsuspend(&wait_mask);
    CHECK(r == -1 && errno == EINTR && hits == 1);
    /* Periodic, 5 ms: three ticks, then off. */
    struct itimerval every = {.it_interval = {0, 5000}, .it_value = {0, 5000}};
    CHECK(setitimer(ITIMER_REAL, &every, NULL) == 0);
    while (hits < 4) sigsuspend(&wait_mask);
    struct itimerval off = {{0, 0}, {0, 0}}, was;
    CHECK(setitimer(ITIMER_REAL, &off, &was) == 0);
    CHECK(was.it_interval.tv_sec == 0 && was.it_interval.tv_usec == 5000);
    CHECK(getitimer(ITIMER_REAL, &left) == 0);
    CHECK(left.it_value.tv_sec == 0 && left.it_value.tv_usec == 0);
    CHECK(sigprocmask(SIG_SETMASK, &old, NULL) == 0);
    signal(SIGALRM, SIG_DFL);
    printf("setitimer: one 20ms shot and 3 periodic 5ms ticks, each woke sigsuspend\n");
}

static void test_sigtimedwait(void) {
    section = 9;
    sigset_t set;
    sigemptyset(&set);
    sigaddset(&set, SIGUSR1);
    CHECK(sigprocmask(SIG_BLOCK, &set, NULL) == 0);
    CHECK(raise(SIGUSR1) == 0);
    siginfo_t si;
    struct timespec ts = {1, 0};
    int sig = sigtimedwait(&set, &si, &ts);
#ifdef __GLIBC__
    /* glibc's sigtimedwait folds the kernel's SI_TKILL (raise uses tgkill)
     * into SI_USER; musl passes it on. */
    const int raise_code = SI_USER;
#else
    const int raise_code = SI_TKILL;
#endif
    CHECK(sig == SIGUSR1 && si.si_signo == SIGUSR1 && si.si_code == raise_code);
    CHECK(si.si_pid == getpid());
    /* Nothing pending: EAGAIN after the timeout. */
    struct timespec short_wait = {0, 10 * 1000000};
    int r;
    do r = sigtimedwait(&set, &si, &short_wait);
    while (r == -1 && errno == EINTR);
    CHECK(r == -1 && errno == EAGAIN);
    /* sigwaitinfo takes one that is already pending. */
    CHECK(kill(getpid(), SIGUSR1) == 0);
    CHECK(sigwaitinfo(&set, &si) == SIGUSR1 && si.si_code == SI_USER);
    CHECK(sigprocmask(SIG_UNBLOCK, &set, NULL) == 0);
    printf("sigtimedwait: took the pending SIGUSR1 from raise(), EAGAIN on timeout; sigwaitinfo SI_USER\n");
}

int main(void) {
    setvbuf(stdout, NULL, _IOLBF, 0);
    test_segv();
    test_fpe();
    test_ill();
    test_altstack();
    test_pending();
    test_flags();
    test_alarm();
    test_itimer();
    test_sigtimedwait();
    printf("signals: all checks passed\n");
    return 0;
}
