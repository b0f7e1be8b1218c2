/* qvm check's test subject: only a hidden instruction (AVX, a warning:
 * SIGILL everywhere) and a required one (BMI2, not reported). */
#include <stdio.h>

__attribute__((noinline)) void use_avx(void) {
    __asm__ volatile("vpaddd %%xmm1, %%xmm0, %%xmm0" ::: "xmm0");
}

__attribute__((noinline)) unsigned long use_bmi2(unsigned long a, unsigned long b) {
    unsigned long r;
    __asm__ volatile("pdep %2, %1, %0" : "=r"(r) : "r"(a), "r"(b));
    return r;
}

int main(int argc, char **argv) {
    if (argc > 2) use_avx();
    printf("%lu\n", use_bmi2((unsigned long)argc, 0xff));
    return 0;
}
