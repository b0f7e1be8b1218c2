/* Runs the eight x87 transcendental instructions (F2XM1, FYL2X, FYL2XP1,
 * FPATAN, FSIN, FCOS, FSINCOS, FPTAN) over a fixed set of inputs and prints,
 * for each case, the whole FPU state the instruction leaves: status word,
 * tag word and every valid register. Run natively and under
 * `qvm run --backend emu`; scripts/x87/agreement.sh compares the two.
 *
 * Inputs: edge cases (zeros, tiny, subnormal, pseudo-denormal, unnormal,
 * infinities, NaNs, pseudo-NaN/infinity, out-of-range and large operands,
 * near multiples of pi/4 and pi/2) in all four rounding modes, then random
 * operands from a fixed-seed generator in round-to-nearest.
 *
 * Usage: agreement [-v] [random cases per instruction, default 4000].
 * Without -v it prints one line per instruction: name, cases, FNV-1a hash. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct {
    uint64_t sig;
    uint16_t se; /* sign and exponent */
} x80;

enum { F2XM1, FYL2X, FYL2XP1, FPATAN, FSIN, FCOS, FSINCOS, FPTAN, NINSN };
static const char *const names[NINSN] = {"f2xm1", "fyl2x", "fyl2xp1", "fpatan",
                                         "fsin", "fcos", "fsincos", "fptan"};
/* Instructions that take ST1 as a second operand. */
static int binary(int insn) { return insn == FYL2X || insn == FYL2XP1 || insn == FPATAN; }

static uint64_t rng = 0x9e3779b97f4a7c15ULL;
static uint64_t next(void) {
    rng ^= rng >> 12;
    rng ^= rng << 25;
    rng ^= rng >> 27;
    return rng * 0x2545f4914f6cdd1dULL;
}

static x80 mk(int sign, int exp, uint64_t sig) {
    x80 v = {sig, (uint16_t)((sign ? 0x8000 : 0) | (exp & 0x7fff))};
    return v;
}
static x80 from_ld(long double d) {
    x80 v;
    memcpy(&v, &d, 10);
    return v;
}
static long double to_ld(x80 v) {
    long double d = 0;
    memcpy(&d, &v, 10);
    return d;
}
/* v moved by n units in the last place (same exponent, no carry handling). */
static x80 ulps(x80 v, int n) {
    v.sig += (uint64_t)(int64_t)n;
    v.sig |= 0x8000000000000000ULL;
    return v;
}

/* One FPU state snapshot: FXSAVE image. */
typedef struct {
    uint16_t fcw, fsw;
    uint8_t ftw, pad;
    uint16_t fop;
    uint8_t rest[24];
    uint8_t st[8][16];
    uint8_t xmm[512 - 160];
} __attribute__((aligned(16))) fxsave_t;

static uint64_t hash[NINSN];
static unsigned long count[NINSN];
static int verbose;

static void fnv(uint64_t *h, const void *p, size_t n) {
    const uint8_t *b = p;
    for (size_t i = 0; i < n; i++) {
        *h ^= b[i];
        *h *= 0x100000001b3ULL;
    }
}

static void run(int insn, char kind, uint16_t cw, x80 a, x80 b) {
    static fxsave_t fx;
    long double st0 = to_ld(a), st1 = to_ld(b);
    /* FNINIT, FLDCW, push ST1 then ST0, execute, FXSAVE. */
#define CASE(INSN)                                                                        \
    __asm__ volatile("fninit\n\tfldcw %1\n\tfldt %3\n\tfldt %2\n\t" INSN "\n\tfxsave %0" \
                     : "=m"(fx)                                                           \
                     : "m"(cw), "m"(st0), "m"(st1)                                        \
                     : "st", "st(1)", "st(2)", "st(3)", "st(4)", "st(5)", "st(6)", "st(7)", \
                       "memory")
    switch (insn) {
    case F2XM1: CASE("f2xm1"); break;
    case FYL2X: CASE("fyl2x"); break;
    case FYL2XP1: CASE("fyl2xp1"); break;
    case FPATAN: CASE("fpatan"); break;
    case FSIN: CASE("fsin"); break;
    case FCOS: CASE("fcos"); break;
    case FSINCOS: CASE("fsincos"); break;
    case FPTAN: CASE("fptan"); break;
    }
#undef CASE
    /* The state: FSW, abridged tag word, and the registers whose tag says
     * valid (FXSAVE lists them from ST0; the tag bits are by physical
     * register). Stale contents of empty registers are not compared. */
    unsigned top = (fx.fsw >> 11) & 7;
    uint8_t out[2 + 1 + 8 * 10];
    size_t n = 0;
    memcpy(out, &fx.fsw, 2);
    out[2] = fx.ftw;
    n = 3;
    for (unsigned i = 0; i < 8; i++) {
        if (fx.ftw & (1u << ((top + i) & 7))) {
            memcpy(out + n, fx.st[i], 10);
            n += 10;
        }
    }
    fnv(&hash[insn], out, n);
    count[insn]++;
    if (verbose) {
        printf("%s %lu %c cw=%04x a=%04x:%016llx b=%04x:%016llx -> fsw=%04x ftw=%02x", names[insn],
               count[insn], kind, cw, a.se, (unsigned long long)a.sig, b.se, (unsigned long long)b.sig,
               fx.fsw, fx.ftw);
        for (unsigned i = 0; i < 8; i++) {
            if (fx.ftw & (1u << ((top + i) & 7))) {
                x80 r;
                memcpy(&r, fx.st[i], 10);
                printf(" st%u=%04x:%016llx", i, r.se, (unsigned long long)r.sig);
            }
        }
        printf("\n");
    }
}

/* Operands every instruction sees. */
static x80 edges[256];
static int nedges;
static void edge(x80 v) {
    edges[nedges++] = v;
    v.se ^= 0x8000;
    edges[nedges++] = v;
}

static void make_edges(void) {
    edge(mk(0, 0, 0));                                /* zero */
    edge(mk(0, 0, 1));                                /* smallest subnormal */
    edge(mk(0, 0, 0x7fffffffffffffffULL));            /* largest subnormal */
    edge(mk(0, 0, 0x8000000000000000ULL));            /* pseudo-denormal */
    edge(mk(0, 0, 0xc000000000000001ULL));            /* pseudo-denormal */
    edge(mk(0, 1, 0x8000000000000000ULL));            /* smallest normal */
    edge(mk(0, 0x3fbf, 0x8000000000000000ULL));       /* 2^-64 */
    edge(mk(0, 0x3fa0, 0xd5b8c7e3a4f10f21ULL));       /* tiny */
    edge(mk(0, 0x3ffe, 0x8000000000000000ULL));       /* 0.5 */
    edge(mk(0, 0x3fff, 0x8000000000000000ULL));       /* 1 */
    edge(mk(0, 0x3fff, 0x8000000000000001ULL));       /* 1 + ulp */
    edge(mk(0, 0x3ffe, 0xffffffffffffffffULL));       /* 1 - ulp */
    edge(mk(0, 0x4000, 0x8000000000000000ULL));       /* 2 */
    edge(mk(0, 0x403d, 0xffffffffffffffffULL));       /* just below 2^63 */
    edge(mk(0, 0x403e, 0x8000000000000000ULL));       /* 2^63 */
    edge(mk(0, 0x4100, 0xa000000000000000ULL));       /* large */
    edge(mk(0, 0x7ffe, 0xffffffffffffffffULL));       /* largest finite */
    edge(mk(0, 0x7fff, 0x8000000000000000ULL));       /* infinity */
    edge(mk(0, 0x7fff, 0xc000000000000000ULL));       /* default quiet NaN */
    edge(mk(0, 0x7fff, 0xc000000000001234ULL));       /* quiet NaN */
    edge(mk(0, 0x7fff, 0x8000000000001234ULL));       /* signaling NaN */
    edge(mk(0, 0x7fff, 0x0000000000000000ULL));       /* pseudo-infinity */
    edge(mk(0, 0x7fff, 0x4000000000000000ULL));       /* pseudo-NaN */
    edge(mk(0, 0x3fff, 0x4000000000000000ULL));       /* unnormal */
    edge(mk(0, 0x0001, 0x0000000000000001ULL));       /* unnormal */
    edge(from_ld(3.14159265358979323846264338327950288L)); /* pi */
    edge(from_ld(1.57079632679489661923132169163975144L)); /* pi/2 */
    edge(from_ld(0.785398163397448309615660845819875721L)); /* pi/4 */
    edge(from_ld(0.3L));
    edge(from_ld(0.7L));
    edge(from_ld(1e10L));
    edge(from_ld(1e-10L));
}

static uint64_t sig_random(void) { return next() | 0x8000000000000000ULL; }

/* A random operand for one instruction's domain. */
static x80 random_operand(int insn, int which) {
    uint64_t r = next();
    int sign = (int)(r & 1);
    switch (insn) {
    case F2XM1:
        /* [-1, 1]: mostly [-1,1] by exponent spread, some tiny. */
        return mk(sign, 0x3ffe - (int)((r >> 1) % ((r >> 8) % 8 == 0 ? 70 : 8)), sig_random());
    case FYL2X:
        if (which == 0) /* x > 0, any exponent, clustered near 1 */
            return (r >> 1) % 4 == 0 ? mk(0, 0x3fff - (int)((r >> 3) & 1), sig_random())
                                     : mk(0, 0x3fff + (int)((r >> 3) % 400) - 200, sig_random());
        return mk(sign, 0x3fff + (int)((r >> 1) % 40) - 20, sig_random());
    case FYL2XP1:
        /* |x| < 1 - sqrt(2)/2 */
        if (which == 0)
            return mk(sign, 0x3ffc - (int)((r >> 1) % ((r >> 8) % 4 == 0 ? 70 : 6)),
                      sig_random() & 0x95ffffffffffffffULL);
        return mk(sign, 0x3fff + (int)((r >> 1) % 40) - 20, sig_random());
    case FPATAN:
        return mk(sign, 0x3fff + (int)((r >> 1) % 100) - 50, sig_random());
    default: {
        /* FSIN and friends: exponents from tiny to 2^63, weighted to
         * [2^-8, 2^8]; a quarter of the cases sit within a few ulps of a
         * multiple of pi/4. */
        int kind = (int)((r >> 1) % 8);
        if (kind <= 1) {
            /* k * pi/4 (kind 0, small k) or k * pi/2 (kind 1, any size
             * below 2^63), moved by -4..4 ulps. */
            long double k = kind == 0 ? (long double)((r >> 4) % 100000 + 1)
                                      : (long double)(r >> (12 + (r >> 4) % 50));
            long double v = k * (kind == 0 ? 0.785398163397448309615660845819875721L
                                           : 1.57079632679489661923132169163975144L);
            if (v >= 9.2e18L) v = v / 4;
            x80 x = ulps(from_ld(v), (int)((r >> 56) % 9) - 4);
            x.se = (uint16_t)(x.se | (sign ? 0x8000 : 0));
            return x;
        }
        if (kind == 2) return mk(sign, 0x3fff - 60 + (int)((r >> 4) % 123), sig_random());
        return mk(sign, 0x3ff7 + (int)((r >> 4) % 17), sig_random());
    }
    }
}

int main(int argc, char **argv) {
    int argi = 1;
    long nrandom = 4000;
    if (argi < argc && strcmp(argv[argi], "-v") == 0) {
        verbose = 1;
        argi++;
    }
    if (argi < argc) nrandom = strtol(argv[argi], NULL, 10);
    make_edges();
    static const uint16_t cws[4] = {0x037f, 0x077f, 0x0b7f, 0x0f7f};
    for (int insn = 0; insn < NINSN; insn++) {
        hash[insn] = 0xcbf29ce484222325ULL;
        x80 one = mk(0, 0x3fff, 0x8000000000000000ULL);
        /* Edge cases in every rounding mode: as ST0 (with ST1 = 1, or
         * paired with every edge for the two-operand instructions). */
        for (int m = 0; m < 4; m++) {
            for (int i = 0; i < nedges; i++) {
                if (binary(insn)) {
                    for (int j = 0; j < nedges; j++) run(insn, 'e', cws[m], edges[i], edges[j]);
                    run(insn, 'e', cws[m], edges[i], one);
                } else {
                    run(insn, 'e', cws[m], edges[i], one);
                }
            }
        }
        for (long k = 0; k < nrandom; k++) {
            x80 a = random_operand(insn, 0);
            x80 b = binary(insn) ? random_operand(insn, 1) : one;
            run(insn, 'r', 0x037f, a, b);
        }
    }
    for (int insn = 0; insn < NINSN; insn++)
        printf("%s %lu %016llx\n", names[insn], count[insn], (unsigned long long)hash[insn]);
    return 0;
}
