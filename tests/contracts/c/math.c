/* libm, SSE doubles and x87 long double.
 *
 * Long double is checked through exact x87 operations only (+ - * /,
 * FSQRT, conversions). The x87 transcendental instructions (F2XM1, FYL2X,
 * FSIN, FPTAN, FPATAN, ...) that expl/logl/sinl use are approximations
 * whose last bits differ between CPU vendors and in the emulator, so they
 * are not deterministic across nodes; see README "Known limits". */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>

int main(void) {
    volatile double x = 0.7, y = 3.25;
    printf("sin=%.17g cos=%.17g tan=%.17g\n", sin(x), cos(x), tan(x));
    printf("exp=%.17g log=%.17g pow=%.17g sqrt=%.17g\n", exp(y), log(y), pow(x, y), sqrt(y));
    printf("atan2=%.17g fmod=%.17g cbrt=%.17g hypot=%.17g\n", atan2(x, y), fmod(y, x), cbrt(y), hypot(x, y));
    printf("floor=%g ceil=%g round=%g lrint=%ld\n", floor(-y), ceil(-y), round(2.5), lrint(2.5));
    volatile long double a = 1.0L / 3.0L, b = 2.0L;
    printf("ld: %.21Lg %.21Lg %.21Lg\n", a, sqrtl(b), a * b + 1e-19L);
    printf("ld: %.21Lg %lld %.21Lg\n", (long double)1e300 * 1e300L / 3, (long long)(a * 1e18L), a - 1.0L / 3.0L);
    printf("strtod=%.17g %a\n", strtod("2.718281828459045235360", NULL), 0.1);
    double acc = 0;
    for (int i = 1; i <= 100000; i++) acc += 1.0 / ((double)i * i);
    printf("basel=%.17g inf=%g nan=%g\n", acc, 1.0 / (x - x), sqrt(-y));
    return 0;
}
