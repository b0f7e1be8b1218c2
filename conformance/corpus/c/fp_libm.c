/* C-level floating point that depends on exact CPU behaviour: decimal
 * conversion of subnormal and halfway inputs (musl's strtod uses fmodl,
 * that is FPREM), long double remainders, and fetestexcept after each class
 * of operation. Results are printed as bits in hex. */
#include <errno.h>
#include <fenv.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char *const decimal[] = {
    ".7410984687618698e-323", "2.4703282292062327e-324",
    "2.4703282292062328e-324", "7.4109846876186982e-324",
    "4.9406564584124654e-324", "2.2250738585072011e-308",
    "2.2250738585072014e-308", "2.2250738585072012e-308",
    "1.7976931348623158e308", "1.7976931348623159e308",
    "9007199254740993", "9007199254740993.0000000001",
    "1.00000000000000011102230246251565404236316680908203125",
    "1.00000000000000011102230246251565404236316680908203124",
    "1.4012984643248171e-45", "7.0064923216240854e-46",
    "7.0064923216240862e-46", "1.1754942e-38", "3.4028235e38",
    "3.4028236e38", "16777217", "1.00000005960464477539062",
    "3.6451995318824746e-4951", "1.8225997659412373e-4951",
    "1e-4950", "1.18973149535723176502e4932", "0x1.8p-1074",
    "0.1", "1e23", "8.5e-323", "-4.9e-324", "1e-400", "nan", "-inf",
};

static unsigned flags(void)
{
    return (unsigned)fetestexcept(FE_ALL_EXCEPT);
}

static void print_ld(long double v)
{
    unsigned char b[16];
    memset(b, 0, sizeof b);
    memcpy(b, &v, 10);
    printf("%02x%02x:", b[9], b[8]);
    for (int k = 7; k >= 0; k--) {
        printf("%02x", b[k]);
    }
}

static void conversions(void)
{
    for (size_t i = 0; i < sizeof decimal / sizeof decimal[0]; i++) {
        const char *s = decimal[i];
        feclearexcept(FE_ALL_EXCEPT);
        errno = 0;
        double d = strtod(s, NULL);
        int e1 = errno;
        unsigned f1 = flags();
        feclearexcept(FE_ALL_EXCEPT);
        errno = 0;
        float f = strtof(s, NULL);
        int e2 = errno;
        unsigned f2 = flags();
        feclearexcept(FE_ALL_EXCEPT);
        errno = 0;
        long double l = strtold(s, NULL);
        int e3 = errno;
        unsigned f3 = flags();
        uint64_t db;
        uint32_t fb;
        memcpy(&db, &d, 8);
        memcpy(&fb, &f, 4);
        printf("%s: d=%016llx/%d/%x f=%08x/%d/%x l=", s, (unsigned long long)db,
               e1, f1, (unsigned)fb, e2, f2);
        print_ld(l);
        printf("/%d/%x\n", e3, f3);
    }
}

static const long double rem_in[] = {
    1e30L, 3.3L, 1.3L, 0.1L, -7.5L, 2.0L, 0x1p16000L, 0x1.8p-16440L,
    0x1p-16445L, 1e-300L, 6.0L, -0.0L, 0x1.fffffffffffffffep0L, 1e4000L,
};

static void remainders(void)
{
    size_t n = sizeof rem_in / sizeof rem_in[0];
    for (size_t i = 0; i < n; i++) {
        for (size_t j = 0; j < n; j++) {
            volatile long double x = rem_in[i], y = rem_in[j];
            int q = 0;
            feclearexcept(FE_ALL_EXCEPT);
            long double a = fmodl(x, y);
            unsigned fa = flags();
            feclearexcept(FE_ALL_EXCEPT);
            long double b = remainderl(x, y);
            unsigned fb = flags();
            feclearexcept(FE_ALL_EXCEPT);
            long double c = remquol(x, y, &q);
            unsigned fc = flags();
            printf("rem %zu %zu: ", i, j);
            print_ld(a);
            printf("/%x ", fa);
            print_ld(b);
            printf("/%x ", fb);
            print_ld(c);
            printf("/%x q=%d\n", fc, q & 7);
        }
    }
}

/* fetestexcept after C operations the compiler emits as SSE and x87. */
static void operations(void)
{
    static const double din[] = {1.0, 3.0, 0.0, -2.0, 1e308, 1e-308, 5e-324,
                                 __builtin_inf(), __builtin_nan("")};
    size_t n = sizeof din / sizeof din[0];
    for (size_t i = 0; i < n; i++) {
        for (size_t j = 0; j < n; j++) {
            volatile double x = din[i], y = din[j];
            volatile long double lx = din[i], ly = din[j];
            unsigned f[12];
            volatile double r;
            volatile long double lr;
            volatile float rf;
            volatile long long ri;
            feclearexcept(FE_ALL_EXCEPT); r = x + y; f[0] = flags();
            feclearexcept(FE_ALL_EXCEPT); r = x * y; f[1] = flags();
            feclearexcept(FE_ALL_EXCEPT); r = x / y; f[2] = flags();
            feclearexcept(FE_ALL_EXCEPT); r = sqrt(x); f[3] = flags();
            feclearexcept(FE_ALL_EXCEPT); rf = (float)x; f[4] = flags();
            feclearexcept(FE_ALL_EXCEPT); ri = (long long)x; f[5] = flags();
            feclearexcept(FE_ALL_EXCEPT); r = (double)(long long)y; f[6] = flags();
            feclearexcept(FE_ALL_EXCEPT); ri = x < y; f[7] = flags();
            feclearexcept(FE_ALL_EXCEPT); lr = lx * ly; f[8] = flags();
            feclearexcept(FE_ALL_EXCEPT); lr = lx / ly; f[9] = flags();
            feclearexcept(FE_ALL_EXCEPT); r = (double)(lx + ly); f[10] = flags();
            feclearexcept(FE_ALL_EXCEPT); ri = (long long)lx; f[11] = flags();
            (void)r; (void)lr; (void)rf; (void)ri;
            printf("ops %zu %zu:", i, j);
            for (int k = 0; k < 12; k++) {
                printf(" %x", f[k]);
            }
            printf("\n");
        }
    }
}

/* x87 precision control seen from C: the same long double sum under
 * each FPU_PRECISION setting. */
static void precision(void)
{
    static const unsigned short cws[] = {0x037f, 0x027f, 0x007f};
    for (size_t c = 0; c < 3; c++) {
        unsigned short cw = cws[c];
        __asm__ volatile("fldcw %0" : : "m"(cw));
        volatile long double a = 1.0L, b = 0x1p-30L, t = 3.0L;
        feclearexcept(FE_ALL_EXCEPT);
        long double s = a + b;
        long double q = a / t;
        long double r = sqrtl(t);
        unsigned fl = flags();
        printf("pc %04x: ", (unsigned)cw);
        print_ld(s);
        printf(" ");
        print_ld(q);
        printf(" ");
        print_ld(r);
        printf(" /%x\n", fl);
    }
    unsigned short cw = 0x037f;
    __asm__ volatile("fldcw %0" : : "m"(cw));
}

int main(void)
{
    conversions();
    remainders();
    operations();
    precision();
    return 0;
}
