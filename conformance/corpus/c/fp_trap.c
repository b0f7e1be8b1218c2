/* Floating-point traps, one case per argument: unmasked SSE exceptions are
 * #XM (SIGFPE) at the instruction that raises them; an unmasked x87
 * exception is #MF (SIGFPE) at the next waiting x87 instruction; LDMXCSR
 * and FXRSTOR with a reserved MXCSR bit are #GP (SIGSEGV). Progress goes
 * to stdout with write(2), unbuffered, so the point of the fault shows. */
#include <stdint.h>
#include <string.h>
#include <unistd.h>

static void say(const char *s)
{
    if (write(1, s, strlen(s)) < 0) {
        _exit(2);
    }
}

static void ldmxcsr(uint32_t m)
{
    __asm__ volatile("ldmxcsr %0" : : "m"(m));
}

static double sse_div(double a, double b)
{
    __asm__ volatile("divsd %1, %0" : "+x"(a) : "x"(b));
    return a;
}

static double sse_add(double a, double b)
{
    __asm__ volatile("addsd %1, %0" : "+x"(a) : "x"(b));
    return a;
}

int main(int argc, char **argv)
{
    const char *c = argc > 1 ? argv[1] : "";
    say("start\n");
    if (!strcmp(c, "sse-masked")) {
        /* All masked: no trap, the flags say what happened. */
        ldmxcsr(0x1f80);
        volatile double r = sse_div(1.0, 0.0);
        (void)r;
        uint32_t m;
        __asm__ volatile("stmxcsr %0" : "=m"(m));
        say((m & 0x3f) == 0x04 ? "ZE only\n" : "wrong flags\n");
    } else if (!strcmp(c, "sse-divide-by-zero")) {
        ldmxcsr(0x1f80 & ~0x0200u);
        say("unmasked ZE\n");
        volatile double r = sse_div(1.0, 0.0);
        (void)r;
    } else if (!strcmp(c, "sse-inexact")) {
        ldmxcsr(0x1f80 & ~0x1000u);
        volatile double r = sse_div(2.0, 4.0); /* exact: no trap */
        (void)r;
        say("exact passed\n");
        r = sse_div(1.0, 3.0);
    } else if (!strcmp(c, "sse-denormal")) {
        ldmxcsr(0x1f80 & ~0x0100u);
        double tiny;
        uint64_t bits = 1;
        memcpy(&tiny, &bits, 8);
        volatile double r = sse_add(1.0, tiny);
        (void)r;
    } else if (!strcmp(c, "sse-flag-set-before-unmask")) {
        /* A flag already set does not trap when unmasked; only a new one. */
        ldmxcsr(0x1f80 | 0x04);
        ldmxcsr((0x1f80 & ~0x0200u) | 0x04);
        say("no trap on LDMXCSR\n");
        volatile double r = sse_div(1.0, 0.0);
        (void)r;
    } else if (!strcmp(c, "x87-divide-by-zero")) {
        uint16_t cw = 0x037f & ~0x0004;
        __asm__ volatile("fninit\n\tfldcw %0" : : "m"(cw));
        __asm__ volatile("fld1\n\tfldz\n\tfdivrp" : : : "st", "st(1)");
        say("pending\n");
        uint16_t sw;
        __asm__ volatile("fnstsw %0" : "=m"(sw));
        say((sw & 0x8084) == 0x8084 ? "ES B ZE set\n" : "wrong status\n");
        __asm__ volatile("fld1" : : : "st");
        say("no trap\n");
    } else if (!strcmp(c, "x87-fwait")) {
        uint16_t cw = 0x037f & ~0x0001;
        __asm__ volatile("fninit\n\tfldcw %0" : : "m"(cw));
        __asm__ volatile("fld1\n\tfchs\n\tfsqrt" : : : "st");
        say("pending\n");
        __asm__ volatile("fwait");
        say("no trap\n");
    } else if (!strcmp(c, "x87-fldcw-unmasks")) {
        /* A flag raised while masked becomes pending when FLDCW unmasks
         * it. */
        __asm__ volatile("fninit\n\tfld1\n\tfldz\n\tfdivrp" : : : "st", "st(1)");
        uint16_t cw = 0x037f & ~0x0004;
        __asm__ volatile("fldcw %0" : : "m"(cw));
        say("pending\n");
        __asm__ volatile("fld1" : : : "st");
        say("no trap\n");
    } else if (!strcmp(c, "ldmxcsr-reserved")) {
        ldmxcsr(0x1f80 | 0x10000u);
        say("accepted\n");
    } else if (!strcmp(c, "fxrstor-reserved")) {
        static uint8_t area[512] __attribute__((aligned(16)));
        __asm__ volatile("fxsave %0" : "=m"(area));
        uint32_t m = 0x1f80 | 0x80000000u;
        memcpy(area + 24, &m, 4);
        __asm__ volatile("fxrstor %0" : : "m"(area));
        say("accepted\n");
    } else {
        say("unknown case\n");
        return 1;
    }
    say("end\n");
    return 0;
}
