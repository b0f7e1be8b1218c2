/* Probes the virtual CPU; the first argument picks the probe. */
#include <cpuid.h>
#include <stdio.h>
#include <string.h>

static unsigned long long rdtsc(void) {
    unsigned lo, hi;
    __asm__ volatile("rdtsc" : "=a"(lo), "=d"(hi));
    return ((unsigned long long)hi << 32) | lo;
}

int main(int argc, char **argv) {
    const char *p = argc > 1 ? argv[1] : "";
    fflush(stdout);
    if (!strcmp(p, "cpuid")) {
        unsigned a, b, c, d;
        char vendor[13] = {0};
        __cpuid(0, a, b, c, d);
        memcpy(vendor, &b, 4); memcpy(vendor + 4, &d, 4); memcpy(vendor + 8, &c, 4);
        __cpuid(1, a, b, c, d);
        printf("vendor=%s avx=%u rdrand=%u sse42=%u\n", vendor, (c >> 28) & 1, (c >> 30) & 1, (c >> 20) & 1);
    } else if (!strcmp(p, "rdtsc")) {
        unsigned long long t1 = rdtsc(), t2 = rdtsc();
        printf("tsc=%llu,%llu\n", t1, t2);
    } else if (!strcmp(p, "rdrand")) {
        unsigned v;
        __asm__ volatile(".byte 0x0f, 0xc7, 0xf0" : "=a"(v)); /* rdrand %eax */
        printf("rdrand=%u\n", v);
    } else if (!strcmp(p, "rdseed")) {
        unsigned v;
        __asm__ volatile(".byte 0x0f, 0xc7, 0xf8" : "=a"(v)); /* rdseed %eax */
        printf("rdseed=%u\n", v);
    } else if (!strcmp(p, "avx")) {
        __asm__ volatile(".byte 0xc5, 0xfc, 0x58, 0xc1"); /* vaddps %ymm1,%ymm0,%ymm0 */
        puts("avx ran");
    } else if (!strcmp(p, "avx512")) {
        __asm__ volatile(".byte 0x62, 0xf1, 0x7c, 0x48, 0x58, 0xc1"); /* vaddps %zmm1,%zmm0,%zmm0 */
        puts("avx512 ran");
    } else if (!strcmp(p, "int3")) {
        __asm__ volatile("int3");
    } else if (!strcmp(p, "ud2")) {
        __asm__ volatile("ud2");
    } else if (!strcmp(p, "write_text")) {
        *(volatile unsigned char *)(void *)&main = 0xcc;
    } else if (!strcmp(p, "sse")) {
        volatile double x = 2.0;
        volatile float f = 3.0f;
        printf("sse=%g %g %d\n", x * 1.5, f / 2, __builtin_popcount((unsigned)argc * 0x1011u));
    }
    return 0;
}
