/* Floating-point exception flags, SSE and x87, as the CPU sets them.
 *
 * Each line is one instruction on one input: its result bits and the
 * exception flags it left (MXCSR bits 0-5, or the x87 status word's
 * exception, stack-fault and C1 bits). The instructions are written in
 * asm so that the compiler cannot fold or reorder them. Every MXCSR
 * control setting that changes flags is run: rounding modes, DAZ, FTZ.
 * x87 runs under each precision control; x87_encodings adds the encodings
 * and operands only hand-written code makes; x87_stack reads empty
 * registers and pushes onto a full stack.
 */
#include <stdint.h>
#include <stdio.h>
#include <string.h>

static const uint32_t f32_in[] = {
    0x00000000, 0x80000000, 0x3f800000, 0xbf800000, 0x3fc00000, 0x40400000,
    0x00000001, 0x807fffff, 0x00800000, 0x7f7fffff, 0x7f800000, 0xff800000,
    0x7fc00000, 0x7fa00000, 0x0d800000, 0x72000000, 0x3f800001, 0x4f000000,
    0xcf000001, 0x3effffff,
};
static const uint64_t f64_in[] = {
    0x0000000000000000, 0x8000000000000000, 0x3ff0000000000000,
    0xbff0000000000000, 0x3ff8000000000000, 0x4008000000000000,
    0x0000000000000001, 0x800fffffffffffff, 0x0010000000000000,
    0x7fefffffffffffff, 0x7ff0000000000000, 0xfff0000000000000,
    0x7ff8000000000000, 0x7ff4000000000000, 0x2010000000000000,
    0x5ff0000000000000, 0x3ff0000000000001, 0x43e0000000000000,
    0xc3e0000000000001, 0x3fdfffffffffffff,
};
#define N32 (sizeof f32_in / sizeof f32_in[0])
#define N64 (sizeof f64_in / sizeof f64_in[0])

static uint32_t mxcsr_get(void)
{
    uint32_t m;
    __asm__ volatile("stmxcsr %0" : "=m"(m));
    return m;
}

static void mxcsr_set(uint32_t m)
{
    __asm__ volatile("ldmxcsr %0" : : "m"(m));
}

/* Scalar and packed single/double binary operations: xmm0 op= xmm1. */
#define SSE_BIN(name, insn)                                                    \
    static uint64_t name(uint64_t a, uint64_t b)                           \
    {                                                                      \
        uint64_t r;                                                        \
        __asm__ volatile("movq %1, %%xmm0\n\tmovq %2, %%xmm1\n\t" insn     \
                         " %%xmm1, %%xmm0\n\tmovq %%xmm0, %0"              \
                         : "=r"(r)                                         \
                         : "r"(a), "r"(b)                                  \
                         : "xmm0", "xmm1");                                \
        return r;                                                          \
    }
SSE_BIN(addss, "addss")
SSE_BIN(subss, "subss")
SSE_BIN(mulss, "mulss")
SSE_BIN(divss, "divss")
SSE_BIN(minss, "minss")
SSE_BIN(maxss, "maxss")
SSE_BIN(sqrtss, "sqrtss")
SSE_BIN(cmpltss, "cmpltss")
SSE_BIN(cmpeqss, "cmpeqss")
SSE_BIN(cmpunordss, "cmpunordss")
SSE_BIN(cvtss2sd, "cvtss2sd")
SSE_BIN(addps, "addps")
SSE_BIN(mulps, "mulps")
SSE_BIN(haddps, "haddps")
SSE_BIN(addsubps, "addsubps")
SSE_BIN(addsd, "addsd")
SSE_BIN(subsd, "subsd")
SSE_BIN(mulsd, "mulsd")
SSE_BIN(divsd, "divsd")
SSE_BIN(minsd, "minsd")
SSE_BIN(maxsd, "maxsd")
SSE_BIN(sqrtsd, "sqrtsd")
SSE_BIN(cmplesd, "cmplesd")
SSE_BIN(cmpneqsd, "cmpneqsd")
SSE_BIN(cvtsd2ss, "cvtsd2ss")
SSE_BIN(addpd, "addpd")
SSE_BIN(divpd, "divpd")
SSE_BIN(cvtps2pd, "cvtps2pd")
SSE_BIN(cvtpd2ps, "cvtpd2ps")
SSE_BIN(cvtps2dq, "cvtps2dq")
SSE_BIN(cvttps2dq, "cvttps2dq")
SSE_BIN(cvtpd2dq, "cvtpd2dq")
SSE_BIN(cvttpd2dq, "cvttpd2dq")
SSE_BIN(cvtdq2ps, "cvtdq2ps")

#define SSE_IMM(name, insn)                                                    \
    static uint64_t name(uint64_t a, uint64_t b)                           \
    {                                                                      \
        uint64_t r;                                                        \
        __asm__ volatile("movq %1, %%xmm0\n\tmovq %2, %%xmm1\n\t" insn     \
                         " %%xmm1, %%xmm0\n\tmovq %%xmm0, %0"              \
                         : "=r"(r)                                         \
                         : "r"(a), "r"(b)                                  \
                         : "xmm0", "xmm1");                                \
        return r;                                                          \
    }
SSE_IMM(roundss_near, "roundss $0,")
SSE_IMM(roundss_floor_px, "roundss $9,")
SSE_IMM(roundsd_mxcsr, "roundsd $4,")
SSE_IMM(roundsd_trunc, "roundsd $3,")
SSE_IMM(dpps, "dpps $0xff,")
SSE_IMM(dppd, "dppd $0x33,")

/* Comparisons that set RFLAGS: the result is ZF, PF, CF. */
#define SSE_COMI(name, insn, mov)                                              \
    static uint64_t name(uint64_t a, uint64_t b)                           \
    {                                                                      \
        uint64_t f;                                                        \
        __asm__ volatile("movq %1, %%xmm0\n\tmovq %2, %%xmm1\n\t" insn     \
                         " %%xmm1, %%xmm0\n\tpushfq\n\tpopq %0"            \
                         : "=r"(f)                                         \
                         : "r"(a), "r"(b)                                  \
                         : "xmm0", "xmm1", "cc");                          \
        return f & 0x45;                                                   \
    }
SSE_COMI(comiss, "comiss", 0)
SSE_COMI(ucomiss, "ucomiss", 0)
SSE_COMI(comisd, "comisd", 0)
SSE_COMI(ucomisd, "ucomisd", 0)

/* Conversions to integers (the second operand is unused). */
#define SSE_TOINT(name, insn, reg)                                             \
    static uint64_t name(uint64_t a, uint64_t b)                           \
    {                                                                      \
        uint64_t r = 0;                                                    \
        (void)b;                                                           \
        __asm__ volatile("movq %1, %%xmm0\n\t" insn " %%xmm0, %" reg "0"   \
                         : "+r"(r)                                         \
                         : "r"(a)                                          \
                         : "xmm0");                                        \
        return r;                                                          \
    }
SSE_TOINT(cvtss2si32, "cvtss2si", "k")
SSE_TOINT(cvttss2si64, "cvttss2si", "q")
SSE_TOINT(cvtsd2si64, "cvtsd2si", "q")
SSE_TOINT(cvttsd2si32, "cvttsd2si", "k")

/* Conversions from integers: a is the integer. */
static uint64_t cvtsi2ss64(uint64_t a, uint64_t b)
{
    uint64_t r;
    (void)b;
    __asm__ volatile("xorps %%xmm0, %%xmm0\n\tcvtsi2ssq %1, %%xmm0\n\t"
                     "movq %%xmm0, %0"
                     : "=r"(r)
                     : "r"(a)
                     : "xmm0");
    return r;
}
static uint64_t cvtsi2sd64(uint64_t a, uint64_t b)
{
    uint64_t r;
    (void)b;
    __asm__ volatile("xorps %%xmm0, %%xmm0\n\tcvtsi2sdq %1, %%xmm0\n\t"
                     "movq %%xmm0, %0"
                     : "=r"(r)
                     : "r"(a)
                     : "xmm0");
    return r;
}

struct sse_op {
    const char *name;
    uint64_t (*fn)(uint64_t, uint64_t);
    int width; /* 32 or 64: which input table */
};

static const struct sse_op sse_ops[] = {
    {"addss", addss, 32},         {"subss", subss, 32},
    {"mulss", mulss, 32},         {"divss", divss, 32},
    {"minss", minss, 32},         {"maxss", maxss, 32},
    {"sqrtss", sqrtss, 32},       {"cmpltss", cmpltss, 32},
    {"cmpeqss", cmpeqss, 32},     {"cmpunordss", cmpunordss, 32},
    {"cvtss2sd", cvtss2sd, 32},   {"addps", addps, 32},
    {"mulps", mulps, 32},         {"haddps", haddps, 32},
    {"addsubps", addsubps, 32},   {"cvtps2pd", cvtps2pd, 32},
    {"cvtps2dq", cvtps2dq, 32},   {"cvttps2dq", cvttps2dq, 32},
    {"cvtdq2ps", cvtdq2ps, 32},   {"roundss-near", roundss_near, 32},
    {"roundss-floor-px", roundss_floor_px, 32},
    {"dpps", dpps, 32},           {"comiss", comiss, 32},
    {"ucomiss", ucomiss, 32},     {"cvtss2si32", cvtss2si32, 32},
    {"cvttss2si64", cvttss2si64, 32},
    {"addsd", addsd, 64},         {"subsd", subsd, 64},
    {"mulsd", mulsd, 64},         {"divsd", divsd, 64},
    {"minsd", minsd, 64},         {"maxsd", maxsd, 64},
    {"sqrtsd", sqrtsd, 64},       {"cmplesd", cmplesd, 64},
    {"cmpneqsd", cmpneqsd, 64},   {"cvtsd2ss", cvtsd2ss, 64},
    {"addpd", addpd, 64},         {"divpd", divpd, 64},
    {"cvtpd2ps", cvtpd2ps, 64},   {"cvtpd2dq", cvtpd2dq, 64},
    {"cvttpd2dq", cvttpd2dq, 64}, {"roundsd-mxcsr", roundsd_mxcsr, 64},
    {"roundsd-trunc", roundsd_trunc, 64},
    {"dppd", dppd, 64},           {"comisd", comisd, 64},
    {"ucomisd", ucomisd, 64},     {"cvtsd2si64", cvtsd2si64, 64},
    {"cvttsd2si32", cvttsd2si32, 64},
    {"cvtsi2ss64", cvtsi2ss64, 64},
    {"cvtsi2sd64", cvtsi2sd64, 64},
};

/* MXCSR settings: all exceptions masked, with each rounding mode, DAZ and
 * FTZ. */
static const uint32_t modes[] = {0x1f80, 0x3f80, 0x5f80, 0x7f80, 0x1fc0, 0x9f80,
                                 0x9fc0};

static void sse(void)
{
    for (size_t m = 0; m < sizeof modes / sizeof modes[0]; m++) {
        for (size_t o = 0; o < sizeof sse_ops / sizeof sse_ops[0]; o++) {
            const struct sse_op *op = &sse_ops[o];
            size_t n = op->width == 32 ? N32 : N64;
            /* Rounding and flush modes only matter for some inputs: under
             * the non-default modes every other pair is enough. */
            size_t step = m == 0 ? 1 : 3;
            printf("sse %s mxcsr=%04x:", op->name, (unsigned)modes[m]);
            for (size_t i = 0; i < n; i += 1) {
                for (size_t j = (i % step); j < n; j += step) {
                    uint64_t a = op->width == 32 ? f32_in[i] : f64_in[i];
                    uint64_t b = op->width == 32 ? f32_in[j] : f64_in[j];
                    if (op->width == 32) {
                        /* Packed forms see the pair in both lanes. */
                        a |= a << 32;
                        b |= (uint64_t)f32_in[(j + 5) % N32] << 32;
                    }
                    mxcsr_set(modes[m]);
                    uint64_t r = op->fn(a, b);
                    uint32_t flags = mxcsr_get() & 0x3f;
                    printf(" %llx/%x", (unsigned long long)r, (unsigned)flags);
                }
            }
            printf("\n");
        }
    }
    mxcsr_set(0x1f80);
}

/* x87: each precision control (single, double, extended) and rounding. */
static const uint16_t fcws[] = {0x037f, 0x027f, 0x007f, 0x0f7f, 0x077f, 0x0b7f,
                                0x047f};

static const long double x_in[] = {
    0.0L,
    -0.0L,
    1.0L,
    -1.5L,
    3.0L,
    0x1.000000000000001p0L,
    0x1.fffffffffffffffep16383L,
    0x1p-16382L,
    0x1p-16445L,        /* the smallest subnormal */
    0x1.8p-16400L,      /* subnormal */
    1e-4000L,
    1e4000L,
    __builtin_infl(),
    -__builtin_infl(),
    __builtin_nanl(""),
    0x1.5555555555555556p-1L,
    1e30L,
    3.3L,
    0x1.fffffcp0L,
    0x1.ffffffffffffcp0L,
};
#define NX (sizeof x_in / sizeof x_in[0])

static void fpu_start(uint16_t cw)
{
    /* The clobbers keep the compiler from loading operands onto the x87
     * stack before FNINIT empties it. */
    __asm__ volatile("fninit\n\tfldcw %0"
                     :
                     : "m"(cw)
                     : "memory", "st", "st(1)", "st(2)", "st(3)", "st(4)",
                       "st(5)", "st(6)", "st(7)");
}

static void print_x(long double v)
{
    unsigned char b[16];
    memset(b, 0, sizeof b);
    memcpy(b, &v, 10);
    printf(" %02x%02x:", b[9], b[8]);
    for (int k = 7; k >= 0; k--) {
        printf("%02x", b[k]);
    }
}

/* The status word right after the instruction: the compiler's own x87
 * moves afterwards would change C1. */
static uint16_t sw_after;

#define X87_BIN(name, insn)                                                    \
    static long double name(long double a, long double b)                  \
    {                                                                      \
        __asm__ volatile(insn "\n\tfnstsw %1"                              \
                         : "+t"(a), "=m"(sw_after)                         \
                         : "u"(b));                                        \
        return a;                                                          \
    }
X87_BIN(fadd, "fadd %%st(1), %%st")
X87_BIN(fsub, "fsub %%st(1), %%st")
X87_BIN(fsubr, "fsubr %%st(1), %%st")
X87_BIN(fmul, "fmul %%st(1), %%st")
X87_BIN(fdiv, "fdiv %%st(1), %%st")
X87_BIN(fdivr, "fdivr %%st(1), %%st")
X87_BIN(fscale, "fscale")
X87_BIN(fprem, "fprem")
X87_BIN(fprem1, "fprem1")

#define X87_UN(name, insn)                                                     \
    static long double name(long double a, long double b)                  \
    {                                                                      \
        (void)b;                                                           \
        __asm__ volatile(insn "\n\tfnstsw %1" : "+t"(a), "=m"(sw_after));  \
        return a;                                                          \
    }
X87_UN(fsqrt, "fsqrt")
X87_UN(frndint, "frndint")
X87_UN(fabs_, "fabs")
X87_UN(fchs, "fchs")

static long double fxtract_sig(long double a, long double b)
{
    long double e;
    (void)b;
    __asm__ volatile("fxtract\n\tfnstsw %2"
                     : "+t"(a), "=u"(e), "=m"(sw_after));
    return a;
}

static long double fcom_flags(long double a, long double b)
{
    uint16_t sw;
    __asm__ volatile("fcom %%st(1)\n\tfnstsw %0" : "=m"(sw) : "t"(a), "u"(b));
    sw_after = sw;
    return (long double)(sw & 0x4500);
}

static long double fucomi_flags(long double a, long double b)
{
    uint64_t f;
    __asm__ volatile("fucomi %%st(1), %%st\n\tfnstsw %1\n\tpushfq\n\tpopq %0"
                     : "=r"(f), "=m"(sw_after)
                     : "t"(a), "u"(b)
                     : "cc");
    return (long double)(f & 0x45);
}

/* Stores to memory narrow the value: flags come from the narrowing. */
static long double fst_m32(long double a, long double b)
{
    float f;
    (void)b;
    __asm__ volatile("fsts %0\n\tfnstsw %1" : "=m"(f), "=m"(sw_after) : "t"(a));
    uint32_t u;
    memcpy(&u, &f, 4);
    return (long double)u;
}

static long double fst_m64(long double a, long double b)
{
    double d;
    (void)b;
    __asm__ volatile("fstl %0\n\tfnstsw %1" : "=m"(d), "=m"(sw_after) : "t"(a));
    uint64_t u;
    memcpy(&u, &d, 8);
    return (long double)u;
}

static long double fist_m32(long double a, long double b)
{
    int32_t i;
    (void)b;
    __asm__ volatile("fistl %0\n\tfnstsw %1" : "=m"(i), "=m"(sw_after) : "t"(a));
    return (long double)i;
}

static long double fistp_m64(long double a, long double b)
{
    int64_t i;
    (void)b;
    __asm__ volatile("fld %%st(0)\n\tfistpll %0\n\tfnstsw %1"
                     : "=m"(i), "=m"(sw_after)
                     : "t"(a));
    return (long double)i;
}

static long double fist_m16(long double a, long double b)
{
    int16_t i;
    (void)b;
    __asm__ volatile("fists %0\n\tfnstsw %1" : "=m"(i), "=m"(sw_after) : "t"(a));
    return (long double)i;
}

struct x87_op {
    const char *name;
    long double (*fn)(long double, long double);
    int binary;
};

static const struct x87_op x87_ops[] = {
    {"fadd", fadd, 1},          {"fsub", fsub, 1},
    {"fsubr", fsubr, 1},        {"fmul", fmul, 1},
    {"fdiv", fdiv, 1},          {"fdivr", fdivr, 1},
    {"fscale", fscale, 1},      {"fprem", fprem, 1},
    {"fprem1", fprem1, 1},      {"fcom", fcom_flags, 1},
    {"fucomi", fucomi_flags, 1}, {"fsqrt", fsqrt, 0},
    {"frndint", frndint, 0},    {"fabs", fabs_, 0},
    {"fchs", fchs, 0},          {"fxtract", fxtract_sig, 0},
    {"fst-m32", fst_m32, 0},    {"fst-m64", fst_m64, 0},
    {"fist-m16", fist_m16, 0},  {"fist-m32", fist_m32, 0},
    {"fistp-m64", fistp_m64, 0},
};

static void x87(void)
{
    for (size_t c = 0; c < sizeof fcws / sizeof fcws[0]; c++) {
        for (size_t o = 0; o < sizeof x87_ops / sizeof x87_ops[0]; o++) {
            const struct x87_op *op = &x87_ops[o];
            /* FPREM's C0/C1/C3 hold quotient bits and C2 says "partial". */
            uint16_t keep = (op->fn == fprem || op->fn == fprem1) ? 0x477f : 0x027f;
            printf("x87 %s fcw=%04x:", op->name, (unsigned)fcws[c]);
            for (size_t i = 0; i < NX; i++) {
                size_t nj = op->binary ? NX : 1;
                for (size_t j = 0; j < nj; j++) {
                    fpu_start(fcws[c]);
                    long double r = op->fn(x_in[i], x_in[j]);
                    uint16_t sw = sw_after & keep;
                    print_x(r);
                    printf("/%x", (unsigned)sw);
                }
            }
            printf("\n");
        }
    }
    /* Loads of narrower formats: FLD m32/m64 report denormal operands and
     * quiet signalling NaNs. */
    for (size_t i = 0; i < N32 + N64; i++) {
        fpu_start(0x037f);
        long double r;
        if (i < N32) {
            float f;
            memcpy(&f, &f32_in[i], 4);
            __asm__ volatile("flds %2\n\tfnstsw %1"
                             : "=t"(r), "=m"(sw_after)
                             : "m"(f));
        } else {
            double d;
            memcpy(&d, &f64_in[i - N32], 8);
            __asm__ volatile("fldl %2\n\tfnstsw %1"
                             : "=t"(r), "=m"(sw_after)
                             : "m"(d));
        }
        printf("x87 fld-m%d", i < N32 ? 32 : 64);
        print_x(r);
        printf("/%x\n", (unsigned)(sw_after & 0x027f));
    }
}

/* x87 encodings and operands compilers never make, which contracts can:
 * pseudo-denormals, unnormals, pseudo-infinities and pseudo-NaNs,
 * signalling NaNs (in registers and as m32/m64 operands, where the x87
 * NaN rules choose between the two operands), denormal memory operands
 * together with IE and ZE, and C1 left set by an earlier instruction.
 * Each case starts from ST(0) = a, ST(1) = b and the condition codes in
 * `cc`, and prints the whole status word, both registers, the low
 * RFLAGS bits and the memory operand. */
struct f80 {
    uint64_t m;
    uint16_t e;
};

static const struct f80 enc_in[] = {
    {0x8000000000000001ull, 0x0000}, /* pseudo-denormal */
    {0x8000000000000000ull, 0x8000}, /* -pseudo-denormal */
    {0x8000000000000000ull, 0x0001}, /* smallest normal */
    {0x0000000000000001ull, 0x0000}, /* smallest denormal */
    {0x4000000000000000ull, 0x4000}, /* unnormal */
    {0x0000000000000000ull, 0x7fff}, /* pseudo-infinity */
    {0x4000000000000000ull, 0x7fff}, /* pseudo-NaN */
    {0xc000000000000000ull, 0x7fff}, /* quiet NaN */
    {0xc000000000000000ull, 0xffff}, /* default NaN */
    {0xa000000000000001ull, 0x7fff}, /* signalling NaN */
    {0x8000000000000001ull, 0xffff}, /* signalling NaN, payload low */
    {0xffffffffffffffffull, 0x7fff}, /* quiet NaN, largest payload */
    {0x8000000000000000ull, 0x3fff}, /* 1 */
    {0x0000000000000000ull, 0x0000}, /* 0 */
};
#define NENC (sizeof enc_in / sizeof enc_in[0])

static const uint64_t mem_in[] = {
    0x7f800001, 0xffbfffff, 0x7fc00000, 0x00000001, 0x3f800000, 0x00000000,
    0x7ff0000000000001ull, 0xfff7ffffffffffffull, 0x7ff8000000000000ull,
    0x0000000000000001ull, 0x3ff0000000000000ull, 0x0000000000000000ull,
};
#define NMEM32 6
#define NMEM (sizeof mem_in / sizeof mem_in[0])

struct fsave {
    uint32_t cw, sw, tw, ip, cs, dp, ds;
    unsigned char st[8][10];
};

static unsigned char env_buf[28];

typedef void (*enc_fn)(const struct f80 *a, const struct f80 *b, void *m,
                       const uint16_t *cc, struct fsave *sv, uint64_t *fl);

#define ENC(name, insn)                                                        \
    static void name(const struct f80 *a, const struct f80 *b, void *m,    \
                     const uint16_t *cc, struct fsave *sv, uint64_t *fl)   \
    {                                                                      \
        __asm__ volatile(                                                  \
            "fninit\n\tfldt (%[b])\n\tfldt (%[a])\n\tfnclex\n\t"           \
            "fnstenv (%[env])\n\tmovw (%[cc]), %%ax\n\t"                   \
            "orw %%ax, 4(%[env])\n\tfldenv (%[env])\n\t"                   \
            "push $0\n\tpopfq\n\t" insn "\n\tpushfq\n\tpopq (%[fl])\n\t"   \
            "fnsave (%[sv])\n\tfninit"                                     \
            :                                                              \
            : [a] "r"(a), [b] "r"(b), [m] "r"(m), [cc] "r"(cc),            \
              [sv] "r"(sv), [fl] "r"(fl), [env] "r"(env_buf)               \
            : "memory", "cc", "rax", "st", "st(1)", "st(2)", "st(3)",      \
              "st(4)", "st(5)", "st(6)", "st(7)");                         \
    }
ENC(enc_fadd, "fadd %%st(1), %%st")
ENC(enc_fsub, "fsub %%st(1), %%st")
ENC(enc_fmul, "fmul %%st(1), %%st")
ENC(enc_fdiv, "fdiv %%st(1), %%st")
ENC(enc_fcom, "fcom %%st(1)")
ENC(enc_fucomi, "fucomi %%st(1), %%st")
ENC(enc_fcomi, "fcomi %%st(1), %%st")
ENC(enc_fscale, "fscale")
ENC(enc_frndint, "frndint")
ENC(enc_fxam, "fxam")
ENC(enc_fst_st1, "fst %%st(1)")
ENC(enc_fstp_m80, "fstpt (%[m])")
ENC(enc_fst_m32, "fsts (%[m])")
ENC(enc_fst_m64, "fstl (%[m])")
ENC(enc_fadd_m32, "fadds (%[m])")
ENC(enc_fsubr_m32, "fsubrs (%[m])")
ENC(enc_fdivr_m32, "fdivrs (%[m])")
ENC(enc_fcom_m32, "fcoms (%[m])")
ENC(enc_fadd_m64, "faddl (%[m])")
ENC(enc_fdivr_m64, "fdivrl (%[m])")
ENC(enc_fcomp_m64, "fcompl (%[m])")

/* operands: 0 ST(0) only, 1 ST(0) and ST(1), 2 an m32, 3 an m64 */
static const struct {
    const char *name;
    enc_fn fn;
    int operands;
} enc_ops[] = {
    {"fadd", enc_fadd, 1},       {"fsub", enc_fsub, 1},
    {"fmul", enc_fmul, 1},       {"fdiv", enc_fdiv, 1},
    {"fcom", enc_fcom, 1},       {"fucomi", enc_fucomi, 1},
    {"fcomi", enc_fcomi, 1},     {"fscale", enc_fscale, 1},
    {"frndint", enc_frndint, 0}, {"fxam", enc_fxam, 0},
    {"fst-st1", enc_fst_st1, 0}, {"fstp-m80", enc_fstp_m80, 0},
    {"fst-m32", enc_fst_m32, 0}, {"fst-m64", enc_fst_m64, 0},
    {"fadd-m32", enc_fadd_m32, 2}, {"fsubr-m32", enc_fsubr_m32, 2},
    {"fdivr-m32", enc_fdivr_m32, 2}, {"fcom-m32", enc_fcom_m32, 2},
    {"fadd-m64", enc_fadd_m64, 3}, {"fdivr-m64", enc_fdivr_m64, 3},
    {"fcomp-m64", enc_fcomp_m64, 3},
};

static void x87_encodings(void)
{
    static const uint16_t ccs[] = {0x0000, 0x4700};
    static const struct f80 one = {0x8000000000000000ull, 0x3fff};
    for (size_t o = 0; o < sizeof enc_ops / sizeof enc_ops[0]; o++) {
        int kind = enc_ops[o].operands;
        size_t nj = kind == 1 ? NENC : kind == 2 ? NMEM32 : kind == 3 ? NMEM - NMEM32 : 1;
        for (size_t c = 0; c < sizeof ccs / sizeof ccs[0]; c++) {
            printf("x87-enc %s cc=%x:", enc_ops[o].name, (unsigned)ccs[c]);
            for (size_t i = 0; i < NENC; i++) {
                for (size_t j = 0; j < nj; j++) {
                    unsigned char m[16];
                    struct fsave sv;
                    uint64_t fl = 0;
                    memset(m, 0x5a, sizeof m);
                    if (kind == 2) {
                        uint32_t v = (uint32_t)mem_in[j];
                        memcpy(m, &v, 4);
                    } else if (kind == 3) {
                        memcpy(m, &mem_in[NMEM32 + j], 8);
                    }
                    enc_ops[o].fn(&enc_in[i], kind == 1 ? &enc_in[j] : &one, m,
                                  &ccs[c], &sv, &fl);
                    printf(" %x/%x/", (unsigned)(sv.sw & 0xffff), (unsigned)(fl & 0x8d5));
                    for (int r = 0; r < 2; r++) {
                        for (int k = 9; k >= 0; k--) {
                            printf("%02x", sv.st[r][k]);
                        }
                        printf(r ? "/" : ",");
                    }
                    for (int k = 0; k < 10; k++) {
                        printf("%02x", m[k]);
                    }
                }
            }
            printf("\n");
        }
    }
}

/* x87 stack overflow and underflow: each case loads a state with FRSTOR
 * (which of ST(0)..ST(7) are valid, TOP = 5, the control word, the
 * condition codes and RFLAGS), runs one instruction and prints what FNSAVE
 * (which neither waits nor traps) saw: status word, tag word, the eight
 * registers (empty ones too), the arithmetic flags and the memory operand.
 * IE masked gives the indefinite and SF; unmasked leaves the destination,
 * TOP and memory alone (the #MF would come at the next waiting
 * instruction). One case per behaviour class; scripts/x87/stack.c has
 * them all. */
#define STK(name, insn)                                                        \
    static void name(const struct fsave *in, struct fsave *out, void *m,  \
                     uint64_t *fl)                                        \
    {                                                                     \
        __asm__ volatile("frstor (%[in])\n\tpushq (%[fl])\n\tpopfq\n\t"   \
                         insn "\n\tpushfq\n\tpopq (%[fl])\n\t"            \
                         "fnsave (%[out])\n\tfninit"                      \
                         :                                                \
                         : [in] "r"(in), [out] "r"(out), [m] "r"(m),      \
                           [fl] "r"(fl)                                   \
                         : "memory", "cc", "st", "st(1)", "st(2)",        \
                           "st(3)", "st(4)", "st(5)", "st(6)", "st(7)");  \
    }
STK(stk_flds, "flds (%[m])")
STK(stk_fildll, "fildll (%[m])")
STK(stk_fldt, "fldt (%[m])")
STK(stk_fbld, "fbld (%[m])")
STK(stk_fldpi, "fldpi")
STK(stk_fld_st3, "fld %%st(3)")
STK(stk_fadd_st3_st, "fadd %%st(3), %%st")
STK(stk_fsub_st_st3, "fsub %%st, %%st(3)")
STK(stk_fdivp_st3, "fdivp %%st, %%st(3)")
STK(stk_fadds, "fadds (%[m])")
STK(stk_fidivrs, "fidivrs (%[m])")
STK(stk_fcom_st3, "fcom %%st(3)")
STK(stk_fucompp, "fucompp")
STK(stk_fcomps, "fcomps (%[m])")
STK(stk_ficoml, "ficoml (%[m])")
STK(stk_ftst, "ftst")
STK(stk_fcomi_st3, "fcomi %%st(3), %%st")
STK(stk_fucomip_st3, "fucomip %%st(3), %%st")
STK(stk_fxam, "fxam")
STK(stk_fsts, "fsts (%[m])")
STK(stk_fstpl, "fstpl (%[m])")
STK(stk_fstpt, "fstpt (%[m])")
STK(stk_fistps, "fistps (%[m])")
STK(stk_fistl, "fistl (%[m])")
STK(stk_fisttpll, "fisttpll (%[m])")
STK(stk_fbstp, "fbstp (%[m])")
STK(stk_fst_st3, "fst %%st(3)")
STK(stk_fstp_st0, "fstp %%st(0)")
STK(stk_fstp1_st3, ".byte 0xd9, 0xdb")
STK(stk_fxch_st3, "fxch %%st(3)")
STK(stk_fchs, "fchs")
STK(stk_fsqrt, "fsqrt")
STK(stk_frndint, "frndint")
STK(stk_fsin, "fsin")
STK(stk_fptan, "fptan")
STK(stk_fsincos, "fsincos")
STK(stk_fxtract, "fxtract")
STK(stk_fscale, "fscale")
STK(stk_fprem, "fprem")
STK(stk_fcmovb_st3, "fcmovb %%st(3), %%st")
STK(stk_fcmovnb_st3, "fcmovnb %%st(3), %%st")
STK(stk_ffree_st3, "ffree %%st(3)")
STK(stk_ffreep_st3, "ffreep %%st(3)")
STK(stk_fincstp, "fincstp")
STK(stk_fdecstp, "fdecstp")

typedef void (*stk_fn)(const struct fsave *in, struct fsave *out, void *m,
                       uint64_t *fl);

static void x87_stack(void)
{
    static const struct {
        const char *name;
        stk_fn fn;
        /* what the memory operand holds: 0 the store pattern, else
         * these bytes */
        int len;
        unsigned char bytes[10];
    } ops[] = {
        {"flds", stk_flds, 4, {0x00, 0x00, 0xc0, 0x3f}},
        {"fildll", stk_fildll, 8, {0x0e, 0xb3, 0x27, 0x39, 0xc6, 0xf4, 0xff, 0xff}},
        {"fldt", stk_fldt, 10, {0, 0, 0, 0, 0, 0, 0, 0xe0, 0x00, 0x40}},
        {"fbld", stk_fbld, 10, {0x21, 0x43, 0x65, 0x87, 0x09, 0, 0, 0, 0, 0x80}},
        {"fldpi", stk_fldpi, 0, {0}},
        {"fld-st3", stk_fld_st3, 0, {0}},
        {"fadd-st3-st", stk_fadd_st3_st, 0, {0}},
        {"fsub-st-st3", stk_fsub_st_st3, 0, {0}},
        {"fdivp-st3", stk_fdivp_st3, 0, {0}},
        {"fadds", stk_fadds, 4, {0x00, 0x00, 0xc0, 0x3f}},
        {"fidivrs", stk_fidivrs, 2, {0xf9, 0xff}},
        {"fcom-st3", stk_fcom_st3, 0, {0}},
        {"fucompp", stk_fucompp, 0, {0}},
        {"fcomps", stk_fcomps, 4, {0x00, 0x00, 0xc0, 0x3f}},
        {"ficoml", stk_ficoml, 4, {0xa0, 0x86, 0x01, 0x00}},
        {"ftst", stk_ftst, 0, {0}},
        {"fcomi-st3", stk_fcomi_st3, 0, {0}},
        {"fucomip-st3", stk_fucomip_st3, 0, {0}},
        {"fxam", stk_fxam, 0, {0}},
        {"fsts", stk_fsts, 0, {0}},
        {"fstpl", stk_fstpl, 0, {0}},
        {"fstpt", stk_fstpt, 0, {0}},
        {"fistps", stk_fistps, 0, {0}},
        {"fistl", stk_fistl, 0, {0}},
        {"fisttpll", stk_fisttpll, 0, {0}},
        {"fbstp", stk_fbstp, 0, {0}},
        {"fst-st3", stk_fst_st3, 0, {0}},
        {"fstp-st0", stk_fstp_st0, 0, {0}},
        {"fstp1-st3", stk_fstp1_st3, 0, {0}},
        {"fxch-st3", stk_fxch_st3, 0, {0}},
        {"fchs", stk_fchs, 0, {0}},
        {"fsqrt", stk_fsqrt, 0, {0}},
        {"frndint", stk_frndint, 0, {0}},
        {"fsin", stk_fsin, 0, {0}},
        {"fptan", stk_fptan, 0, {0}},
        {"fsincos", stk_fsincos, 0, {0}},
        {"fxtract", stk_fxtract, 0, {0}},
        {"fscale", stk_fscale, 0, {0}},
        {"fprem", stk_fprem, 0, {0}},
        {"fcmovb-st3", stk_fcmovb_st3, 0, {0}},
        {"fcmovnb-st3", stk_fcmovnb_st3, 0, {0}},
        {"ffree-st3", stk_ffree_st3, 0, {0}},
        {"ffreep-st3", stk_ffreep_st3, 0, {0}},
        {"fincstp", stk_fincstp, 0, {0}},
        {"fdecstp", stk_fdecstp, 0, {0}},
    };
    /* Which of ST(0)..ST(7) are valid: empty stack, ST(0) only, ST(1)
     * only, ST(0) and ST(3), ST(7) only, all but ST(0), all but ST(7),
     * full. */
    static const uint8_t valid[] = {0x00, 0x01, 0x02, 0x09,
                                    0x80, 0xfe, 0x7f, 0xff};
    /* IE masked, IE unmasked. */
    static const uint16_t cws[] = {0x037f, 0x037e};
    /* Condition codes and RFLAGS before: clear, or C0-C3 and the
     * arithmetic flags set. */
    static const struct {
        uint16_t cc;
        uint64_t fl;
    } pre[] = {{0x0000, 0x0002}, {0x4700, 0x08d7}};
    const unsigned top = 5;

    for (size_t o = 0; o < sizeof ops / sizeof ops[0]; o++) {
        for (size_t w = 0; w < sizeof cws / sizeof cws[0]; w++) {
            for (size_t p = 0; p < sizeof pre / sizeof pre[0]; p++) {
                printf("x87-stack %s cw=%04x cc=%x:", ops[o].name,
                       (unsigned)cws[w], (unsigned)pre[p].cc);
                for (size_t v = 0; v < sizeof valid; v++) {
                    struct fsave in, out;
                    unsigned char m[16];
                    uint64_t fl = pre[p].fl;
                    memset(&in, 0, sizeof in);
                    memset(&out, 0xee, sizeof out);
                    in.cw = 0xffff0000u | cws[w];
                    in.sw = 0xffff0000u | top << 11 | pre[p].cc;
                    in.tw = 0xffff0000u;
                    for (unsigned i = 0; i < 8; i++) {
                        /* ST(i) = (8 + i) * 2^(i + 3): distinct normals */
                        uint64_t mant = (0x8ull + i) << 60;
                        uint16_t exp = (uint16_t)(0x3fff + 3 + i);
                        memcpy(in.st[i], &mant, 8);
                        memcpy(in.st[i] + 8, &exp, 2);
                        if (!(valid[v] >> i & 1)) {
                            in.tw |= 3u << (2 * ((top + i) & 7));
                        }
                    }
                    memset(m, 0x5a, sizeof m);
                    memcpy(m, ops[o].bytes, (size_t)ops[o].len);
                    ops[o].fn(&in, &out, m, &fl);
                    printf(" %x/%x/%x/", (unsigned)(out.sw & 0xffff),
                           (unsigned)(out.tw & 0xffff), (unsigned)(fl & 0x8d5));
                    for (int r = 0; r < 8; r++) {
                        for (int k = 9; k >= 0; k--) {
                            printf("%02x", out.st[r][k]);
                        }
                        printf(r < 7 ? "," : "/");
                    }
                    for (int k = 0; k < 10; k++) {
                        printf("%02x", m[k]);
                    }
                }
                printf("\n");
            }
        }
    }
}

int main(void)
{
    sse();
    x87();
    x87_encodings();
    x87_stack();
    return 0;
}
