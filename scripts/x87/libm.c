/* The long double libm functions on a few inputs, each printed with its bits:
 * run natively and under `qvm run --backend emu` (glibc and musl builds) and
 * diff the outputs. docs/known-differences.md has the figures. */
#include <math.h>
#include <stdio.h>
#include <string.h>
static void p(const char *n, long double v) { unsigned char b[10]; memcpy(b, &v, 10); printf("%-8s %.21Lg %02x%02x:%02x%02x%02x%02x%02x%02x%02x%02x\n", n, v, b[9],b[8],b[7],b[6],b[5],b[4],b[3],b[2],b[1],b[0]); }
int main(void) {
    volatile long double xs[] = {0.7L, 1.3L, -2.5L, 1e-5L, 10.25L, 123.456L};
    for (int i = 0; i < 6; i++) { long double x = xs[i], y = xs[(i+1)%6];
    printf("x=%Lg\n", x);
    p("expl", expl(x)); p("exp2l", exp2l(x)); p("expm1l", expm1l(x)); p("logl", logl(fabsl(x))); p("log2l", log2l(fabsl(x)));
    p("log10l", log10l(fabsl(x))); p("log1pl", log1pl(fabsl(x))); p("powl", powl(fabsl(x), y)); p("sinl", sinl(x)); p("cosl", cosl(x));
    p("tanl", tanl(x)); p("atan2l", atan2l(x, y)); p("atanl", atanl(x)); p("asinl", asinl(x/200)); p("acosl", acosl(x/200));
    p("sinhl", sinhl(x/10)); p("coshl", coshl(x/10)); p("tanhl", tanhl(x)); p("lgammal", lgammal(x)); p("tgammal", tgammal(x/10));
    p("cbrtl", cbrtl(x)); p("hypotl", hypotl(x, y)); }
    return 0;
}
