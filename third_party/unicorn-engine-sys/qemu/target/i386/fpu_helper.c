/*
 *  x86 FPU, MMX/3DNow!/SSE/SSE2/SSE3/SSSE3/SSE4/PNI helpers
 *
 *  Copyright (c) 2003 Fabrice Bellard
 *
 * This library is free software; you can redistribute it and/or
 * modify it under the terms of the GNU Lesser General Public
 * License as published by the Free Software Foundation; either
 * version 2 of the License, or (at your option) any later version.
 *
 * This library is distributed in the hope that it will be useful,
 * but WITHOUT ANY WARRANTY; without even the implied warranty of
 * MERCHANTABILITY or FITNESS FOR A PARTICULAR PURPOSE.  See the GNU
 * Lesser General Public License for more details.
 *
 * You should have received a copy of the GNU Lesser General Public
 * License along with this library; if not, see <http://www.gnu.org/licenses/>.
 */

#include "qemu/osdep.h"
#include <math.h>
#include "cpu.h"
#include "exec/helper-proto.h"
#include "qemu/host-utils.h"
#include "exec/exec-all.h"
#include "exec/cpu_ldst.h"
#include "fpu/softfloat.h"
#include "x87_transcendental.h"

#define FPU_RC_MASK         0xc00
#define FPU_RC_NEAR         0x000
#define FPU_RC_DOWN         0x400
#define FPU_RC_UP           0x800
#define FPU_RC_CHOP         0xc00

#define MAXTAN 9223372036854775808.0

/* the following deal with x86 long double-precision numbers */
#define MAXEXPD 0x7fff
#define EXPBIAS 16383
#define EXPD(fp)        (fp.l.upper & 0x7fff)
#define SIGND(fp)       ((fp.l.upper) & 0x8000)
#define MANTD(fp)       (fp.l.lower)
#define BIASEXPONENT(fp) fp.l.upper = (fp.l.upper & ~(0x7fff)) | EXPBIAS

#define FPUS_IE (1 << 0)
#define FPUS_DE (1 << 1)
#define FPUS_ZE (1 << 2)
#define FPUS_OE (1 << 3)
#define FPUS_UE (1 << 4)
#define FPUS_PE (1 << 5)
#define FPUS_SF (1 << 6)
#define FPUS_SE (1 << 7)
#define FPUS_B  (1 << 15)

#define FPUC_EM 0x3f

#define floatx80_lg2 make_floatx80(0x3ffd, 0x9a209a84fbcff799LL)
#define floatx80_l2e make_floatx80(0x3fff, 0xb8aa3b295c17f0bcLL)
#define floatx80_l2t make_floatx80(0x4000, 0xd49a784bcd1b8afeLL)

static void cpu_clear_ignne(CPUX86State *env)
{
    env->hflags2 &= ~HF2_IGNNE_MASK;
}

void cpu_set_ignne(CPUX86State *env)
{
    env->hflags2 |= HF2_IGNNE_MASK;
    /*
     * We get here in response to a write to port F0h.  The chipset should
     * deassert FP_IRQ and FERR# instead should stay signaled until FPSW_SE is
     * cleared, because FERR# and FP_IRQ are two separate pins on real
     * hardware.  However, we don't model FERR# as a qemu_irq, so we just
     * do directly what the chipset would do, i.e. deassert FP_IRQ.
     */
    // qemu_irq_lower(ferr_irq);
}


static inline void fpush(CPUX86State *env)
{
    /* qvm: a push clears C1 (set only on stack overflow), as the CPU does */
    env->fpus &= ~0x200;
    env->fpstt = (env->fpstt - 1) & 7;
    env->fptags[env->fpstt] = 0; /* validate stack entry */
}

static inline void fpop(CPUX86State *env)
{
    env->fptags[env->fpstt] = 1; /* invalidate stack entry */
    env->fpstt = (env->fpstt + 1) & 7;
}

static inline floatx80 helper_fldt(CPUX86State *env, target_ulong ptr,
                                   uintptr_t retaddr)
{
    CPU_LDoubleU temp;

    temp.l.lower = cpu_ldq_data_ra(env, ptr, retaddr);
    temp.l.upper = cpu_lduw_data_ra(env, ptr + 8, retaddr);
    return temp.d;
}

static inline void helper_fstt(CPUX86State *env, floatx80 f, target_ulong ptr,
                               uintptr_t retaddr)
{
    CPU_LDoubleU temp;

    temp.d = f;
    cpu_stq_data_ra(env, ptr, temp.l.lower, retaddr);
    cpu_stw_data_ra(env, ptr + 8, temp.l.upper, retaddr);
}

/* x87 FPU helpers */

static inline double floatx80_to_double(CPUX86State *env, floatx80 a)
{
    union {
        float64 f64;
        double d;
    } u;

    u.f64 = floatx80_to_float64(a, &env->fp_status);
    return u.d;
}

static inline floatx80 double_to_floatx80(CPUX86State *env, double a)
{
    union {
        float64 f64;
        double d;
    } u;

    u.d = a;
    return float64_to_floatx80(u.f64, &env->fp_status);
}

static void fpu_set_exception(CPUX86State *env, int mask)
{
    env->fpus |= mask;
    if (env->fpus & (~env->fpuc & FPUC_EM)) {
        env->fpus |= FPUS_SE | FPUS_B;
    }
}

/*
 * qvm: x87 exception flags (after QEMU 5.1's save/merge scheme by Joseph
 * Myers). Each arithmetic helper starts from clear softfloat flags, so what
 * softfloat raises is what this instruction raised; merging copies it into
 * the status word, with DE (denormal operand) found from the operands and
 * C1 set when the result was rounded away from zero, as the CPU does.
 */
#define FPUS_C1 0x200

static inline uint8_t save_exception_flags(CPUX86State *env)
{
    uint8_t old_flags = get_float_exception_flags(&env->fp_status);
    set_float_exception_flags(0, &env->fp_status);
    return old_flags;
}

static void merge_exception_flags(CPUX86State *env, uint8_t old_flags)
{
    uint8_t new_flags = get_float_exception_flags(&env->fp_status);
    float_raise(old_flags, &env->fp_status);
    fpu_set_exception(env,
                      ((new_flags & float_flag_invalid ? FPUS_IE : 0) |
                       (new_flags & float_flag_divbyzero ? FPUS_ZE : 0) |
                       (new_flags & float_flag_overflow ? FPUS_OE : 0) |
                       (new_flags & float_flag_underflow ? FPUS_UE : 0) |
                       (new_flags & float_flag_inexact ? FPUS_PE : 0) |
                       (new_flags & float_flag_input_denormal ? FPUS_DE : 0)));
}

/* A denormal (or pseudo-denormal) x87 operand raises DE. */
static inline void x87_denormal_operand(CPUX86State *env, floatx80 a)
{
    if (extractFloatx80Exp(a) == 0 && extractFloatx80Frac(a) != 0) {
        float_raise(float_flag_input_denormal, &env->fp_status);
    }
}

static inline bool x87_operand_is_nan_or_bad(CPUX86State *env, floatx80 a)
{
    return floatx80_is_any_nan(a) || floatx80_invalid_encoding(a);
}

/*
 * DE for the operands of an operation already computed from clear flags:
 * the CPU leaves it out when an operand is a NaN or the operation raised
 * invalid or divide-by-zero (a denormal divided by zero is ZE only).
 */
static inline void x87_denormal_operands(CPUX86State *env, floatx80 a,
                                         floatx80 b)
{
    if (x87_operand_is_nan_or_bad(env, a) ||
        x87_operand_is_nan_or_bad(env, b) ||
        (get_float_exception_flags(&env->fp_status) &
         (float_flag_invalid | float_flag_divbyzero))) {
        return;
    }
    x87_denormal_operand(env, a);
    x87_denormal_operand(env, b);
}

/* The same with FT0 as one operand, which may come from a denormal m32 or
 * m64 operand (env->ft0_denormal). */
static inline void x87_denormal_operands_ft0(CPUX86State *env, floatx80 a,
                                             floatx80 b)
{
    x87_denormal_operands(env, a, b);
    if (env->ft0_denormal && !x87_operand_is_nan_or_bad(env, a) &&
        !x87_operand_is_nan_or_bad(env, b) &&
        !(get_float_exception_flags(&env->fp_status) &
          (float_flag_invalid | float_flag_divbyzero))) {
        float_raise(float_flag_input_denormal, &env->fp_status);
    }
}

static inline bool floatx80_same_bits(floatx80 a, floatx80 b)
{
    return a.low == b.low && a.high == b.high;
}

/*
 * Evaluate EXPR (a pure function of its operands and env->fp_status) and
 * assign it to DST; when it was inexact, evaluate it again truncating: a
 * different result means the CPU rounded up in magnitude, which it reports
 * in C1. C1 is cleared otherwise.
 */
#define X87_ROUNDED(TYPE, SAME, DST, EXPR)                                  \
    do {                                                                    \
        TYPE r_ = (EXPR);                                                   \
        uint8_t f_ = get_float_exception_flags(&env->fp_status);            \
        env->fpus &= ~FPUS_C1;                                              \
        if ((f_ & float_flag_inexact) && !(f_ & float_flag_invalid)) {      \
            signed char rm_ = env->fp_status.float_rounding_mode;           \
            TYPE t_;                                                        \
            env->fp_status.float_rounding_mode = float_round_to_zero;       \
            t_ = (EXPR);                                                    \
            env->fp_status.float_rounding_mode = rm_;                       \
            set_float_exception_flags(f_, &env->fp_status);                 \
            if (!SAME(r_, t_)) {                                            \
                env->fpus |= FPUS_C1;                                       \
            }                                                               \
        }                                                                   \
        DST = r_;                                                           \
    } while (0)

#define SAME_VALUE(a, b) ((a) == (b))

/* Binary x87 arithmetic: DST = FN(A, B) with every flag the CPU sets;
 * DENORMALS is x87_denormal_operands or x87_denormal_operands_ft0. */
#define X87_BINARY_DE(DST, FN, A, B, DENORMALS)                             \
    do {                                                                    \
        uint8_t old_flags_ = save_exception_flags(env);                     \
        floatx80 a_ = (A), b_ = (B);                                        \
        X87_ROUNDED(floatx80, floatx80_same_bits, DST,                      \
                    FN(a_, b_, &env->fp_status));                           \
        DENORMALS(env, a_, b_);                                             \
        merge_exception_flags(env, old_flags_);                             \
    } while (0)

#define X87_BINARY(DST, FN, A, B)                                           \
    X87_BINARY_DE(DST, FN, A, B, x87_denormal_operands)
#define X87_BINARY_FT0(DST, FN, A, B)                                       \
    X87_BINARY_DE(DST, FN, A, B, x87_denormal_operands_ft0)

static inline floatx80 helper_fdiv(CPUX86State *env, floatx80 a, floatx80 b)
{
    floatx80 r;
    X87_BINARY(r, floatx80_div, a, b);
    return r;
}

static void fpu_raise_exception(CPUX86State *env, uintptr_t retaddr)
{
    if (env->cr[0] & CR0_NE_MASK) {
        raise_exception_ra(env, EXCP10_COPR, retaddr);
    }
}

/*
 * qvm: an m32 or m64 operand of arithmetic or a compare (FT0) is an operand
 * of that instruction, not a load: the CPU decides its exceptions together
 * with the other operand's. A signalling NaN stays signalling, so that the
 * x87 NaN rules choose between the two (a quiet NaN wins over a signalling
 * one), and a denormal is remembered in ft0_denormal, since DE is not
 * reported when the operation has a NaN operand or raises IE or ZE. The
 * conversion itself is exact and raises nothing.
 */
void helper_flds_FT0(CPUX86State *env, uint32_t val)
{
    float32 f = make_float32(val);

    if (float32_is_signaling_nan(f, &env->fp_status)) {
        FT0 = make_floatx80((val >> 16) | 0x7fff,
                            (1ULL << 63) | ((uint64_t)(val & 0x7fffff) << 40));
    } else {
        uint8_t flags = get_float_exception_flags(&env->fp_status);

        FT0 = float32_to_floatx80(f, &env->fp_status);
        set_float_exception_flags(flags, &env->fp_status);
    }
    env->ft0_denormal = float32_is_denormal(f);
}

void helper_fldl_FT0(CPUX86State *env, uint64_t val)
{
    float64 f = make_float64(val);

    if (float64_is_signaling_nan(f, &env->fp_status)) {
        FT0 = make_floatx80((val >> 48) | 0x7fff,
                            (1ULL << 63) | ((val & 0xfffffffffffffULL) << 11));
    } else {
        uint8_t flags = get_float_exception_flags(&env->fp_status);

        FT0 = float64_to_floatx80(f, &env->fp_status);
        set_float_exception_flags(flags, &env->fp_status);
    }
    env->ft0_denormal = float64_is_denormal(f);
}

void helper_fildl_FT0(CPUX86State *env, int32_t val)
{
    FT0 = int32_to_floatx80(val, &env->fp_status);
    env->ft0_denormal = 0;
}

void helper_flds_ST0(CPUX86State *env, uint32_t val)
{
    int new_fpstt;
    union {
        float32 f;
        uint32_t i;
    } u;

    uint8_t old_flags = save_exception_flags(env);

    env->fpus &= ~0x200; /* qvm: a push clears C1 */
    new_fpstt = (env->fpstt - 1) & 7;
    u.i = val;
    if (float32_is_denormal(u.f)) {
        float_raise(float_flag_input_denormal, &env->fp_status);
    }
    env->fpregs[new_fpstt].d = float32_to_floatx80(u.f, &env->fp_status);
    if (floatx80_is_signaling_nan(env->fpregs[new_fpstt].d, &env->fp_status)) {
        env->fpregs[new_fpstt].d = floatx80_silence_nan(env->fpregs[new_fpstt].d, &env->fp_status);
    }
    merge_exception_flags(env, old_flags);
    env->fpstt = new_fpstt;
    env->fptags[new_fpstt] = 0; /* validate stack entry */
}

void helper_fldl_ST0(CPUX86State *env, uint64_t val)
{
    int new_fpstt;
    union {
        float64 f;
        uint64_t i;
    } u;

    uint8_t old_flags = save_exception_flags(env);

    env->fpus &= ~0x200; /* qvm: a push clears C1 */
    new_fpstt = (env->fpstt - 1) & 7;
    u.i = val;
    if (float64_is_denormal(u.f)) {
        float_raise(float_flag_input_denormal, &env->fp_status);
    }
    env->fpregs[new_fpstt].d = float64_to_floatx80(u.f, &env->fp_status);
    if (floatx80_is_signaling_nan(env->fpregs[new_fpstt].d, &env->fp_status)) {
        env->fpregs[new_fpstt].d = floatx80_silence_nan(env->fpregs[new_fpstt].d, &env->fp_status);
    }
    merge_exception_flags(env, old_flags);
    env->fpstt = new_fpstt;
    env->fptags[new_fpstt] = 0; /* validate stack entry */
}

void helper_fildl_ST0(CPUX86State *env, int32_t val)
{
    int new_fpstt;

    env->fpus &= ~0x200; /* qvm: a push clears C1 */
    new_fpstt = (env->fpstt - 1) & 7;
    env->fpregs[new_fpstt].d = int32_to_floatx80(val, &env->fp_status);
    env->fpstt = new_fpstt;
    env->fptags[new_fpstt] = 0; /* validate stack entry */
}

void helper_fildll_ST0(CPUX86State *env, int64_t val)
{
    int new_fpstt;

    env->fpus &= ~0x200; /* qvm: a push clears C1 */
    new_fpstt = (env->fpstt - 1) & 7;
    env->fpregs[new_fpstt].d = int64_to_floatx80(val, &env->fp_status);
    env->fpstt = new_fpstt;
    env->fptags[new_fpstt] = 0; /* validate stack entry */
}

uint32_t helper_fsts_ST0(CPUX86State *env)
{
    union {
        float32 f;
        uint32_t i;
    } u;

    uint8_t old_flags = save_exception_flags(env);

    X87_ROUNDED(float32, SAME_VALUE, u.f,
                floatx80_to_float32(ST0, &env->fp_status));
    merge_exception_flags(env, old_flags);
    return u.i;
}

uint64_t helper_fstl_ST0(CPUX86State *env)
{
    union {
        float64 f;
        uint64_t i;
    } u;

    uint8_t old_flags = save_exception_flags(env);

    X87_ROUNDED(float64, SAME_VALUE, u.f,
                floatx80_to_float64(ST0, &env->fp_status));
    merge_exception_flags(env, old_flags);
    return u.i;
}

/*
 * FIST/FISTT: an out-of-range value stores the integer indefinite and
 * raises IE; C1 says whether the stored value was rounded up.
 */
#define X87_TO_INT(TYPE, FN, ST, INDEFINITE)                                \
    do {                                                                    \
        uint8_t old_flags = save_exception_flags(env);                      \
        int64_t val_;                                                       \
        X87_ROUNDED(int64_t, SAME_VALUE, val_, FN(ST, &env->fp_status));    \
        if ((get_float_exception_flags(&env->fp_status) &                   \
             float_flag_invalid) || val_ != (TYPE)val_) {                   \
            set_float_exception_flags(float_flag_invalid, &env->fp_status); \
            env->fpus &= ~FPUS_C1;                                          \
            val_ = INDEFINITE;                                              \
        }                                                                   \
        merge_exception_flags(env, old_flags);                              \
        return val_;                                                        \
    } while (0)

int32_t helper_fist_ST0(CPUX86State *env)
{
    X87_TO_INT(int16_t, floatx80_to_int64, ST0, -32768);
}

int32_t helper_fistl_ST0(CPUX86State *env)
{
    X87_TO_INT(int32_t, floatx80_to_int64, ST0, INT32_MIN);
}

int64_t helper_fistll_ST0(CPUX86State *env)
{
    X87_TO_INT(int64_t, floatx80_to_int64, ST0, INT64_MIN);
}

int32_t helper_fistt_ST0(CPUX86State *env)
{
    X87_TO_INT(int16_t, floatx80_to_int64_round_to_zero, ST0, -32768);
}

int32_t helper_fisttl_ST0(CPUX86State *env)
{
    X87_TO_INT(int32_t, floatx80_to_int64_round_to_zero, ST0, INT32_MIN);
}

int64_t helper_fisttll_ST0(CPUX86State *env)
{
    X87_TO_INT(int64_t, floatx80_to_int64_round_to_zero, ST0, INT64_MIN);
}

/* qvm: under alignment checking an 80-bit operand must be 8-byte aligned,
 * as on the CPU (measured on AMD EPYC). */
static void qvm_check_m80_alignment(CPUX86State *env, target_ulong ptr,
                                    uintptr_t retaddr)
{
    if (qvm_alignment_check(env) && (ptr & 7)) {
        raise_exception_err_ra(env, EXCP11_ALGN, 0, retaddr);
    }
}

void helper_fldt_ST0(CPUX86State *env, target_ulong ptr)
{
    int new_fpstt;

    qvm_check_m80_alignment(env, ptr, GETPC());
    env->fpus &= ~0x200; /* qvm: a push clears C1 */
    new_fpstt = (env->fpstt - 1) & 7;
    env->fpregs[new_fpstt].d = helper_fldt(env, ptr, GETPC());
    env->fpstt = new_fpstt;
    env->fptags[new_fpstt] = 0; /* validate stack entry */
}

void helper_fstt_ST0(CPUX86State *env, target_ulong ptr)
{
    qvm_check_m80_alignment(env, ptr, GETPC());
    helper_fstt(env, ST0, ptr, GETPC());
    env->fpus &= ~FPUS_C1; /* qvm: nothing was rounded: C1 = 0 */
}

void helper_fpush(CPUX86State *env)
{
    fpush(env);
}

void helper_fpop(CPUX86State *env)
{
    fpop(env);
}

/* qvm: FDECSTP, FINCSTP and FFREE clear C1 and leave C0, C2 and C3, as
 * the CPU does (QEMU cleared all four on FDECSTP and FINCSTP, none on
 * FFREE). */
void helper_fdecstp(CPUX86State *env)
{
    env->fpstt = (env->fpstt - 1) & 7;
    env->fpus &= ~FPUS_C1;
}

void helper_fincstp(CPUX86State *env)
{
    env->fpstt = (env->fpstt + 1) & 7;
    env->fpus &= ~FPUS_C1;
}

/* FPU move */

void helper_ffree_STN(CPUX86State *env, int st_index)
{
    env->fptags[(env->fpstt + st_index) & 7] = 1;
    env->fpus &= ~FPUS_C1;
}

void helper_fmov_ST0_FT0(CPUX86State *env)
{
    ST0 = FT0;
}

void helper_fmov_FT0_STN(CPUX86State *env, int st_index)
{
    FT0 = ST(st_index);
    env->ft0_denormal = 0;
}

void helper_fmov_ST0_STN(CPUX86State *env, int st_index)
{
    ST0 = ST(st_index);
}

void helper_fmov_STN_ST0(CPUX86State *env, int st_index)
{
    ST(st_index) = ST0;
    /* qvm: the destination becomes valid (QEMU left its tag) */
    env->fptags[(env->fpstt + st_index) & 7] = 0;
    env->fpus &= ~FPUS_C1; /* qvm: FST/FSTP ST(i) round nothing: C1 = 0 */
}

/*
 * qvm: FSTP1 (D9 D8+i, an undocumented alias of FSTP ST(i)) copies a valid
 * ST(0) as FSTP does, but an empty ST(0) is no stack fault: ST(i) is left
 * alone, and the pop follows (measured on AMD EPYC).
 */
void helper_fstp1_STN_ST0(CPUX86State *env, int st_index)
{
    if (env->fptags[env->fpstt]) {
        env->fpus &= ~FPUS_C1;
        return;
    }
    helper_fmov_STN_ST0(env, st_index);
}

void helper_fxchg_ST0_STN(CPUX86State *env, int st_index)
{
    floatx80 tmp;

    tmp = ST(st_index);
    ST(st_index) = ST0;
    ST0 = tmp;
    env->fpus &= ~FPUS_C1; /* qvm: FXCH clears C1 */
}

/* FPU operations */

static const int fcom_ccval[4] = {0x0100, 0x4000, 0x0000, 0x4500};

void helper_fcom_ST0_FT0(CPUX86State *env)
{
    uint8_t old_flags = save_exception_flags(env);
    int ret;

    ret = floatx80_compare(ST0, FT0, &env->fp_status);
    x87_denormal_operands_ft0(env, ST0, FT0);
    env->fpus = (env->fpus & ~(0x4500 | FPUS_C1)) | fcom_ccval[ret + 1];
    merge_exception_flags(env, old_flags);
}

void helper_fucom_ST0_FT0(CPUX86State *env)
{
    uint8_t old_flags = save_exception_flags(env);
    int ret;

    ret = floatx80_compare_quiet(ST0, FT0, &env->fp_status);
    x87_denormal_operands_ft0(env, ST0, FT0);
    env->fpus = (env->fpus & ~(0x4500 | FPUS_C1)) | fcom_ccval[ret + 1];
    merge_exception_flags(env, old_flags);
}

static const int fcomi_ccval[4] = {CC_C, CC_Z, 0, CC_Z | CC_P | CC_C};

void helper_fcomi_ST0_FT0(CPUX86State *env)
{
    uint8_t old_flags = save_exception_flags(env);
    int eflags;
    int ret;

    ret = floatx80_compare(ST0, FT0, &env->fp_status);
    x87_denormal_operands_ft0(env, ST0, FT0);
    eflags = cpu_cc_compute_all(env, CC_OP);
    /* qvm: FCOMI and FUCOMI clear OF, SF and AF (SDM), QEMU kept them.
     * They leave C1 alone on AMD CPUs (measured on EPYC); Intel's SDM
     * says they clear it. */
    eflags = (eflags & ~(CC_Z | CC_P | CC_C | CC_O | CC_S | CC_A)) |
             fcomi_ccval[ret + 1];
    CC_SRC = eflags;
    merge_exception_flags(env, old_flags);
}

void helper_fucomi_ST0_FT0(CPUX86State *env)
{
    uint8_t old_flags = save_exception_flags(env);
    int eflags;
    int ret;

    ret = floatx80_compare_quiet(ST0, FT0, &env->fp_status);
    x87_denormal_operands_ft0(env, ST0, FT0);
    eflags = cpu_cc_compute_all(env, CC_OP);
    /* qvm: FCOMI and FUCOMI clear OF, SF and AF (SDM), QEMU kept them.
     * They leave C1 alone on AMD CPUs (measured on EPYC); Intel's SDM
     * says they clear it. */
    eflags = (eflags & ~(CC_Z | CC_P | CC_C | CC_O | CC_S | CC_A)) |
             fcomi_ccval[ret + 1];
    CC_SRC = eflags;
    merge_exception_flags(env, old_flags);
}

void helper_fadd_ST0_FT0(CPUX86State *env)
{
    X87_BINARY_FT0(ST0, floatx80_add, ST0, FT0);
}

void helper_fmul_ST0_FT0(CPUX86State *env)
{
    X87_BINARY_FT0(ST0, floatx80_mul, ST0, FT0);
}

void helper_fsub_ST0_FT0(CPUX86State *env)
{
    X87_BINARY_FT0(ST0, floatx80_sub, ST0, FT0);
}

void helper_fsubr_ST0_FT0(CPUX86State *env)
{
    X87_BINARY_FT0(ST0, floatx80_sub, FT0, ST0);
}

void helper_fdiv_ST0_FT0(CPUX86State *env)
{
    X87_BINARY_FT0(ST0, floatx80_div, ST0, FT0);
}

void helper_fdivr_ST0_FT0(CPUX86State *env)
{
    X87_BINARY_FT0(ST0, floatx80_div, FT0, ST0);
}

/* fp operations between STN and ST0 */

void helper_fadd_STN_ST0(CPUX86State *env, int st_index)
{
    X87_BINARY(ST(st_index), floatx80_add, ST(st_index), ST0);
}

void helper_fmul_STN_ST0(CPUX86State *env, int st_index)
{
    X87_BINARY(ST(st_index), floatx80_mul, ST(st_index), ST0);
}

void helper_fsub_STN_ST0(CPUX86State *env, int st_index)
{
    X87_BINARY(ST(st_index), floatx80_sub, ST(st_index), ST0);
}

void helper_fsubr_STN_ST0(CPUX86State *env, int st_index)
{
    X87_BINARY(ST(st_index), floatx80_sub, ST0, ST(st_index));
}

void helper_fdiv_STN_ST0(CPUX86State *env, int st_index)
{
    floatx80 *p;

    p = &ST(st_index);
    *p = helper_fdiv(env, *p, ST0);
}

void helper_fdivr_STN_ST0(CPUX86State *env, int st_index)
{
    floatx80 *p;

    p = &ST(st_index);
    *p = helper_fdiv(env, ST0, *p);
}

/* misc FPU operations */
void helper_fchs_ST0(CPUX86State *env)
{
    ST0 = floatx80_chs(ST0);
    env->fpus &= ~FPUS_C1;
}

void helper_fabs_ST0(CPUX86State *env)
{
    ST0 = floatx80_abs(ST0);
    env->fpus &= ~FPUS_C1;
}

void helper_fld1_ST0(CPUX86State *env)
{
    //ST0 = floatx80_one;
    floatx80 one = { 0x8000000000000000LL, 0x3fff };
    ST0 = one;
}

/*
 * qvm: the CPU holds these constants with more bits than floatx80 and
 * rounds them by the rounding control: toward zero and down give the
 * value one ulp lower where rounding to nearest went up, and up gives
 * log2(10) one ulp higher (after QEMU 5.1, Joseph Myers).
 */
static floatx80 x87_constant(CPUX86State *env, uint16_t high, uint64_t low,
                             int adjust_down, int adjust_up)
{
    floatx80 c = make_floatx80(high, low);

    switch (env->fpuc & FPU_RC_MASK) {
    case FPU_RC_DOWN:
    case FPU_RC_CHOP:
        c.low -= adjust_down;
        break;
    case FPU_RC_UP:
        c.low += adjust_up;
        break;
    default:
        break;
    }
    return c;
}

void helper_fldl2t_ST0(CPUX86State *env)
{
    ST0 = x87_constant(env, 0x4000, 0xd49a784bcd1b8afeULL, 0, 1);
    env->fpus &= ~FPUS_C1;
}

void helper_fldl2e_ST0(CPUX86State *env)
{
    ST0 = x87_constant(env, 0x3fff, 0xb8aa3b295c17f0bcULL, 1, 0);
    env->fpus &= ~FPUS_C1;
}

void helper_fldpi_ST0(CPUX86State *env)
{
    ST0 = x87_constant(env, 0x4000, 0xc90fdaa22168c235ULL, 1, 0);
    env->fpus &= ~FPUS_C1;
}

void helper_fldlg2_ST0(CPUX86State *env)
{
    ST0 = x87_constant(env, 0x3ffd, 0x9a209a84fbcff799ULL, 1, 0);
    env->fpus &= ~FPUS_C1;
}

void helper_fldln2_ST0(CPUX86State *env)
{
    ST0 = x87_constant(env, 0x3ffe, 0xb17217f7d1cf79acULL, 1, 0);
    env->fpus &= ~FPUS_C1;
}

void helper_fldz_ST0(CPUX86State *env)
{
    //ST0 = floatx80_zero;
    floatx80 zero = { 0x0000000000000000LL, 0x0000 };
    ST0 = zero;
}

void helper_fldz_FT0(CPUX86State *env)
{
    //FT0 = floatx80_zero;
    floatx80 zero = { 0x0000000000000000LL, 0x0000 };
    FT0 = zero;
    env->ft0_denormal = 0;
}

uint32_t helper_fnstsw(CPUX86State *env)
{
    return (env->fpus & ~0x3800) | (env->fpstt & 0x7) << 11;
}

uint32_t helper_fnstcw(CPUX86State *env)
{
    return env->fpuc;
}

void update_fp_status(CPUX86State *env)
{
    int rnd_type;

    /* set rounding mode */
    switch (env->fpuc & FPU_RC_MASK) {
    default:
    case FPU_RC_NEAR:
        rnd_type = float_round_nearest_even;
        break;
    case FPU_RC_DOWN:
        rnd_type = float_round_down;
        break;
    case FPU_RC_UP:
        rnd_type = float_round_up;
        break;
    case FPU_RC_CHOP:
        rnd_type = float_round_to_zero;
        break;
    }
    set_float_rounding_mode(rnd_type, &env->fp_status);
    switch ((env->fpuc >> 8) & 3) {
    case 0:
        rnd_type = 32;
        break;
    case 2:
        rnd_type = 64;
        break;
    case 3:
    default:
        rnd_type = 80;
        break;
    }
    set_floatx80_rounding_precision(rnd_type, &env->fp_status);
}

void helper_fldcw(CPUX86State *env, uint32_t val)
{
    cpu_set_fpuc(env, val);
    /* qvm: ES says whether an unmasked exception is pending; FLDCW can
     * unmask (or mask) flags already set, so it is recomputed. */
    if (env->fpus & ~env->fpuc & FPUC_EM) {
        env->fpus |= FPUS_SE | FPUS_B;
    } else {
        env->fpus &= ~(FPUS_SE | FPUS_B);
    }
}

void helper_fclex(CPUX86State *env)
{
    env->fpus &= 0x7f00;
}

void helper_fwait(CPUX86State *env)
{
    if (env->fpus & FPUS_SE) {
        fpu_raise_exception(env, GETPC());
    }
}

static void do_fninit(CPUX86State *env)
{
    env->fpus = 0;
    env->fpstt = 0;
    env->fpcs = 0;
    env->fpds = 0;
    env->fpip = 0;
    env->fpdp = 0;
    cpu_set_fpuc(env, 0x37f);
    env->fptags[0] = 1;
    env->fptags[1] = 1;
    env->fptags[2] = 1;
    env->fptags[3] = 1;
    env->fptags[4] = 1;
    env->fptags[5] = 1;
    env->fptags[6] = 1;
    env->fptags[7] = 1;
}

void helper_fninit(CPUX86State *env)
{
    do_fninit(env);
}

/* BCD ops */

void helper_fbld_ST0(CPUX86State *env, target_ulong ptr)
{
    floatx80 tmp;
    uint64_t val;
    unsigned int v;
    int i;

    val = 0;
    for (i = 8; i >= 0; i--) {
        v = cpu_ldub_data_ra(env, ptr + i, GETPC());
        val = (val * 100) + ((v >> 4) * 10) + (v & 0xf);
    }
    tmp = int64_to_floatx80(val, &env->fp_status);
    if (cpu_ldub_data_ra(env, ptr + 9, GETPC()) & 0x80) {
        tmp = floatx80_chs(tmp);
    }
    fpush(env);
    ST0 = tmp;
}

/*
 * qvm: FBSTP rounds by the rounding control with the flags and C1 of
 * FIST; a value beyond 18 decimal digits, a NaN or an infinity is IE and
 * stores the packed BCD indefinite; the sign byte is the operand's sign,
 * -0 included (measured on AMD EPYC; QEMU raised nothing and stored the
 * low digits of whatever it converted).
 */
void helper_fbst_ST0(CPUX86State *env, target_ulong ptr)
{
    uint8_t old_flags = save_exception_flags(env);
    uintptr_t ra = GETPC();
    target_ulong mem_ref, mem_end;
    uint64_t digits;
    int64_t val;
    int v;

    X87_ROUNDED(int64_t, SAME_VALUE, val,
                floatx80_to_int64(ST0, &env->fp_status));
    if ((get_float_exception_flags(&env->fp_status) & float_flag_invalid) ||
        val > 999999999999999999LL || val < -999999999999999999LL) {
        set_float_exception_flags(float_flag_invalid, &env->fp_status);
        env->fpus &= ~FPUS_C1;
        cpu_stq_data_ra(env, ptr, 0xc000000000000000ULL, ra);
        cpu_stw_data_ra(env, ptr + 8, 0xffff, ra);
        merge_exception_flags(env, old_flags);
        return;
    }
    digits = val < 0 ? -(uint64_t)val : (uint64_t)val;
    mem_ref = ptr;
    mem_end = mem_ref + 9;
    cpu_stb_data_ra(env, mem_end, floatx80_is_neg(ST0) ? 0x80 : 0x00, ra);
    while (mem_ref < mem_end) {
        v = digits % 100;
        digits /= 100;
        cpu_stb_data_ra(env, mem_ref++, ((v / 10) << 4) | (v % 10), ra);
    }
    merge_exception_flags(env, old_flags);
}

void helper_f2xm1(CPUX86State *env)
{
    x87_f2xm1(env);
}

void helper_fyl2x(CPUX86State *env)
{
    x87_fyl2x(env);
}

void helper_fptan(CPUX86State *env)
{
    x87_fptan(env);
}

void helper_fpatan(CPUX86State *env)
{
    x87_fpatan(env);
}

/* qvm: FXTRACT, FPREM and FPREM1 in floatx80 arithmetic, with their
 * flags (after QEMU 5.1, Joseph Myers). */
void helper_fxtract(CPUX86State *env)
{
    uint8_t old_flags = save_exception_flags(env);
    CPU_LDoubleU temp;

    temp.d = ST0;
    env->fpus &= ~FPUS_C1;

    if (floatx80_is_zero(ST0)) {
        /* Easy way to generate -inf and raising division by 0 exception */
        ST0 = floatx80_div(floatx80_chs(floatx80_one), floatx80_zero,
                           &env->fp_status);
        fpush(env);
        ST0 = temp.d;
    } else if (floatx80_invalid_encoding(ST0)) {
        float_raise(float_flag_invalid, &env->fp_status);
        ST0 = floatx80_default_nan(&env->fp_status);
        fpush(env);
        ST0 = ST1;
    } else if (floatx80_is_any_nan(ST0)) {
        if (floatx80_is_signaling_nan(ST0, &env->fp_status)) {
            float_raise(float_flag_invalid, &env->fp_status);
            ST0 = floatx80_silence_nan(ST0, &env->fp_status);
        }
        fpush(env);
        ST0 = ST1;
    } else if (floatx80_is_infinity(ST0)) {
        fpush(env);
        ST0 = ST1;
        ST1 = floatx80_infinity;
    } else {
        int expdif;

        if (EXPD(temp) == 0) {
            int shift = clz64(temp.l.lower);
            temp.l.lower <<= shift;
            expdif = 1 - EXPBIAS - shift;
            float_raise(float_flag_input_denormal, &env->fp_status);
        } else {
            expdif = EXPD(temp) - EXPBIAS;
        }
        /* DP exponent bias */
        ST0 = int32_to_floatx80(expdif, &env->fp_status);
        fpush(env);
        BIASEXPONENT(temp);
        ST0 = temp.d;
    }
    merge_exception_flags(env, old_flags);
}

static void helper_fprem_common(CPUX86State *env, bool mod)
{
    uint8_t old_flags = save_exception_flags(env);
    uint64_t quotient;
    CPU_LDoubleU temp0, temp1;
    int exp0, exp1, expdiff;

    temp0.d = ST0;
    temp1.d = ST1;
    exp0 = EXPD(temp0);
    exp1 = EXPD(temp1);

    /* qvm: when the result is a NaN (invalid operands or a NaN operand),
     * AMD CPUs leave C3 and C0 as they were (the SDM leaves them
     * undefined); every other case sets all four. */
    int c3_c0 = env->fpus & 0x4100;

    env->fpus &= ~0x4700; /* (C3,C2,C1,C0) <-- 0000 */
    if (floatx80_is_zero(ST0) || floatx80_is_zero(ST1) ||
        exp0 == 0x7fff || exp1 == 0x7fff ||
        floatx80_invalid_encoding(ST0) || floatx80_invalid_encoding(ST1)) {
        ST0 = floatx80_modrem(ST0, ST1, mod, &quotient, &env->fp_status);
        if (floatx80_is_any_nan(ST0)) {
            env->fpus |= c3_c0;
        }
    } else {
        if (exp0 == 0) {
            exp0 = 1 - clz64(temp0.l.lower);
        }
        if (exp1 == 0) {
            exp1 = 1 - clz64(temp1.l.lower);
        }
        expdiff = exp0 - exp1;
        if (expdiff < 64) {
            ST0 = floatx80_modrem(ST0, ST1, mod, &quotient, &env->fp_status);
            env->fpus |= (quotient & 0x4) << (8 - 2);  /* (C0) <-- q2 */
            env->fpus |= (quotient & 0x2) << (14 - 1); /* (C3) <-- q1 */
            env->fpus |= (quotient & 0x1) << (9 - 0);  /* (C1) <-- q0 */
        } else {
            /*
             * Partial remainder: AMD's manuals specify reducing by
             * 32 + (expdiff % 32) bits at a time (Intel CPUs do the same),
             * so that the last step gives the quotient's low three bits.
             */
            int n = 32 + (expdiff % 32);
            /* qvm: the scaled divisor is exact, whatever the precision
             * control says */
            signed char prec = env->fp_status.floatx80_rounding_precision;
            env->fp_status.floatx80_rounding_precision = 80;
            temp1.d = floatx80_scalbn(temp1.d, expdiff - n, &env->fp_status);
            env->fp_status.floatx80_rounding_precision = prec;
            ST0 = floatx80_mod(ST0, temp1.d, &env->fp_status);
            env->fpus |= 0x400;  /* C2 <-- 1 */
        }
    }
    x87_denormal_operands(env, temp0.d, ST1);
    merge_exception_flags(env, old_flags);
}

void helper_fprem1(CPUX86State *env)
{
    helper_fprem_common(env, false);
}

void helper_fprem(CPUX86State *env)
{
    helper_fprem_common(env, true);
}

void helper_fyl2xp1(CPUX86State *env)
{
    x87_fyl2xp1(env);
}

void helper_fsqrt(CPUX86State *env)
{
    uint8_t old_flags = save_exception_flags(env);
    floatx80 a = ST0;

    /* qvm: QEMU set C2 for a negative operand; the CPU leaves C0, C2 and
     * C3 alone (measured on AMD EPYC) */
    X87_ROUNDED(floatx80, floatx80_same_bits, ST0,
                floatx80_sqrt(a, &env->fp_status));
    x87_denormal_operands(env, a, a);
    merge_exception_flags(env, old_flags);
}

void helper_fsincos(CPUX86State *env)
{
    x87_fsincos(env);
}

void helper_frndint(CPUX86State *env)
{
    uint8_t old_flags = save_exception_flags(env);
    floatx80 a = ST0;

    X87_ROUNDED(floatx80, floatx80_same_bits, ST0,
                floatx80_round_to_int(a, &env->fp_status));
    x87_denormal_operands(env, a, a);
    merge_exception_flags(env, old_flags);
}

/* qvm: FSCALE's special cases and flags (after QEMU 5.1, Joseph Myers). */
void helper_fscale(CPUX86State *env)
{
    uint8_t old_flags = save_exception_flags(env);
    floatx80 scale_a = ST0, scale_b = ST1;

    env->fpus &= ~FPUS_C1;
    if (floatx80_invalid_encoding(ST1) || floatx80_invalid_encoding(ST0)) {
        float_raise(float_flag_invalid, &env->fp_status);
        ST0 = floatx80_default_nan(&env->fp_status);
    } else if (floatx80_is_any_nan(ST1)) {
        /* qvm: with two NaNs the x87 rule picks one (a quiet NaN over a
         * signalling one, else the larger significand), as in arithmetic */
        ST0 = propagateFloatx80NaN(ST0, ST1, &env->fp_status);
    } else if (floatx80_is_infinity(ST1) &&
               !floatx80_invalid_encoding(ST0) &&
               !floatx80_is_any_nan(ST0)) {
        if (floatx80_is_neg(ST1)) {
            if (floatx80_is_infinity(ST0)) {
                float_raise(float_flag_invalid, &env->fp_status);
                ST0 = floatx80_default_nan(&env->fp_status);
            } else {
                ST0 = (floatx80_is_neg(ST0) ?
                       floatx80_chs(floatx80_zero) :
                       floatx80_zero);
            }
        } else {
            if (floatx80_is_zero(ST0)) {
                float_raise(float_flag_invalid, &env->fp_status);
                ST0 = floatx80_default_nan(&env->fp_status);
            } else {
                ST0 = (floatx80_is_neg(ST0) ?
                       floatx80_chs(floatx80_infinity) :
                       floatx80_infinity);
            }
        }
    } else {
        int n;
        signed char save = env->fp_status.floatx80_rounding_precision;
        uint8_t save_flags = get_float_exception_flags(&env->fp_status);
        floatx80 a = ST0;

        save_flags = get_float_exception_flags(&env->fp_status);
        set_float_exception_flags(0, &env->fp_status);
        n = floatx80_to_int32_round_to_zero(ST1, &env->fp_status);
        set_float_exception_flags(save_flags, &env->fp_status);
        env->fp_status.floatx80_rounding_precision = 80;
        X87_ROUNDED(floatx80, floatx80_same_bits, ST0,
                    floatx80_scalbn(a, n, &env->fp_status));
        env->fp_status.floatx80_rounding_precision = save;
    }
    x87_denormal_operands(env, scale_a, scale_b);
    merge_exception_flags(env, old_flags);
}

void helper_fsin(CPUX86State *env)
{
    x87_fsin(env);
}

void helper_fcos(CPUX86State *env)
{
    x87_fcos(env);
}

void helper_fxam_ST0(CPUX86State *env)
{
    CPU_LDoubleU temp;
    int expdif;

    temp.d = ST0;

    env->fpus &= ~0x4700; /* (C3,C2,C1,C0) <-- 0000 */
    if (SIGND(temp)) {
        env->fpus |= 0x200; /* C1 <-- 1 */
    }

    if (env->fptags[env->fpstt]) {
        env->fpus |= 0x4100; /* Empty */
        return;
    }

    expdif = EXPD(temp);
    if (floatx80_invalid_encoding(ST0)) {
        /* qvm: unnormals, pseudo-infinities and pseudo-NaNs are
         * "unsupported" (C3, C2, C0 = 000), as on the CPU */
        return;
    }
    if (expdif == MAXEXPD) {
        if (MANTD(temp) == 0x8000000000000000ULL) {
            env->fpus |= 0x500; /* Infinity */
        } else {
            env->fpus |= 0x100; /* NaN */
        }
    } else if (expdif == 0) {
        if (MANTD(temp) == 0) {
            env->fpus |=  0x4000; /* Zero */
        } else {
            env->fpus |= 0x4400; /* Denormal */
        }
    } else {
        env->fpus |= 0x400;
    }
}

static void do_fstenv(CPUX86State *env, target_ulong ptr, int data32,
                      uintptr_t retaddr)
{
    int fpus, fptag, exp, i;
    uint64_t mant;
    CPU_LDoubleU tmp;

    fpus = (env->fpus & ~0x3800) | (env->fpstt & 0x7) << 11;
    fptag = 0;
    for (i = 7; i >= 0; i--) {
        fptag <<= 2;
        if (env->fptags[i]) {
            fptag |= 3;
        } else {
            tmp.d = env->fpregs[i].d;
            exp = EXPD(tmp);
            mant = MANTD(tmp);
            if (exp == 0 && mant == 0) {
                /* zero */
                fptag |= 1;
            } else if (exp == 0 || exp == MAXEXPD
                       || (mant & (1ULL << 63)) == 0) {
                /* NaNs, infinity, denormal */
                fptag |= 2;
            }
        }
    }

    if (data32) {
        /* 32 bit */
        cpu_stl_data_ra(env, ptr, env->fpuc, retaddr);
        cpu_stl_data_ra(env, ptr + 4, fpus, retaddr);
        cpu_stl_data_ra(env, ptr + 8, fptag, retaddr);
        cpu_stl_data_ra(env, ptr + 12, env->fpip, retaddr); /* fpip */
        cpu_stl_data_ra(env, ptr + 16, env->fpcs, retaddr); /* fpcs */
        cpu_stl_data_ra(env, ptr + 20, env->fpdp, retaddr); /* fpoo */
        cpu_stl_data_ra(env, ptr + 24, env->fpds, retaddr); /* fpos */
    } else {
        /* 16 bit */
        cpu_stw_data_ra(env, ptr, env->fpuc, retaddr);
        cpu_stw_data_ra(env, ptr + 2, fpus, retaddr);
        cpu_stw_data_ra(env, ptr + 4, fptag, retaddr);
        cpu_stw_data_ra(env, ptr + 6, env->fpip, retaddr);
        cpu_stw_data_ra(env, ptr + 8, env->fpcs, retaddr);
        cpu_stw_data_ra(env, ptr + 10, env->fpdp, retaddr);
        cpu_stw_data_ra(env, ptr + 12, env->fpds, retaddr);
    }
}

void helper_fstenv(CPUX86State *env, target_ulong ptr, int data32)
{
    do_fstenv(env, ptr, data32, GETPC());
}

static void cpu_set_fpus(CPUX86State *env, uint16_t fpus)
{
    env->fpstt = (fpus >> 11) & 7;
    env->fpus = fpus & ~0x3800 & ~FPUS_B;
    env->fpus |= env->fpus & FPUS_SE ? FPUS_B : 0;
    if (!(env->fpus & FPUS_SE)) {
        /*
         * Here the processor deasserts FERR#; in response, the chipset deasserts
         * IGNNE#.
         */
        cpu_clear_ignne(env);
    }
}

static void do_fldenv(CPUX86State *env, target_ulong ptr, int data32,
                      uintptr_t retaddr)
{
    int i, fpus, fptag;

    if (data32) {
        cpu_set_fpuc(env, cpu_lduw_data_ra(env, ptr, retaddr));
        fpus = cpu_lduw_data_ra(env, ptr + 4, retaddr);
        fptag = cpu_lduw_data_ra(env, ptr + 8, retaddr);
    } else {
        cpu_set_fpuc(env, cpu_lduw_data_ra(env, ptr, retaddr));
        fpus = cpu_lduw_data_ra(env, ptr + 2, retaddr);
        fptag = cpu_lduw_data_ra(env, ptr + 4, retaddr);
    }
    cpu_set_fpus(env, fpus);
    for (i = 0; i < 8; i++) {
        env->fptags[i] = ((fptag & 3) == 3);
        fptag >>= 2;
    }
}

void helper_fldenv(CPUX86State *env, target_ulong ptr, int data32)
{
    do_fldenv(env, ptr, data32, GETPC());
}

void helper_fsave(CPUX86State *env, target_ulong ptr, int data32)
{
    floatx80 tmp;
    int i;

    do_fstenv(env, ptr, data32, GETPC());

    ptr += (14 << data32);
    for (i = 0; i < 8; i++) {
        tmp = ST(i);
        helper_fstt(env, tmp, ptr, GETPC());
        ptr += 10;
    }

    do_fninit(env);
}

void helper_frstor(CPUX86State *env, target_ulong ptr, int data32)
{
    floatx80 tmp;
    int i;

    do_fldenv(env, ptr, data32, GETPC());
    ptr += (14 << data32);

    for (i = 0; i < 8; i++) {
        tmp = helper_fldt(env, ptr, GETPC());
        ST(i) = tmp;
        ptr += 10;
    }
}

#define XO(X)  offsetof(X86XSaveArea, X)

static void do_xsave_fpu(CPUX86State *env, target_ulong ptr, uintptr_t ra)
{
    int fpus, fptag, i;
    target_ulong addr;

    fpus = (env->fpus & ~0x3800) | (env->fpstt & 0x7) << 11;
    fptag = 0;
    for (i = 0; i < 8; i++) {
        fptag |= (env->fptags[i] << i);
    }

    cpu_stw_data_ra(env, ptr + XO(legacy.fcw), env->fpuc, ra);
    cpu_stw_data_ra(env, ptr + XO(legacy.fsw), fpus, ra);
    cpu_stw_data_ra(env, ptr + XO(legacy.ftw), fptag ^ 0xff, ra);

    /* In 32-bit mode this is eip, sel, dp, sel.
       In 64-bit mode this is rip, rdp.
       But in either case we don't write actual data, just zeros.  */
    cpu_stq_data_ra(env, ptr + XO(legacy.fpip), env->fpip, ra); /* eip+sel; rip */
    cpu_stq_data_ra(env, ptr + XO(legacy.fpdp), 0, ra); /* edp+sel; rdp */

    addr = ptr + XO(legacy.fpregs);
    for (i = 0; i < 8; i++) {
        floatx80 tmp = ST(i);
        helper_fstt(env, tmp, addr, ra);
        addr += 16;
    }
}

static void do_xsave_mxcsr(CPUX86State *env, target_ulong ptr, uintptr_t ra)
{
    update_mxcsr_from_sse_status(env);
    cpu_stl_data_ra(env, ptr + XO(legacy.mxcsr), env->mxcsr, ra);
    cpu_stl_data_ra(env, ptr + XO(legacy.mxcsr_mask), MXCSR_MASK, ra);
}

static void do_xsave_sse(CPUX86State *env, target_ulong ptr, uintptr_t ra)
{
    int i, nb_xmm_regs;
    target_ulong addr;

    if (env->hflags & HF_CS64_MASK) {
        nb_xmm_regs = 16;
    } else {
        nb_xmm_regs = 8;
    }

    addr = ptr + XO(legacy.xmm_regs);
    for (i = 0; i < nb_xmm_regs; i++) {
        cpu_stq_data_ra(env, addr, env->xmm_regs[i].ZMM_Q(0), ra);
        cpu_stq_data_ra(env, addr + 8, env->xmm_regs[i].ZMM_Q(1), ra);
        addr += 16;
    }
}

static void do_xsave_bndregs(CPUX86State *env, target_ulong ptr, uintptr_t ra)
{
    target_ulong addr = ptr + offsetof(XSaveBNDREG, bnd_regs);
    int i;

    for (i = 0; i < 4; i++, addr += 16) {
        cpu_stq_data_ra(env, addr, env->bnd_regs[i].lb, ra);
        cpu_stq_data_ra(env, addr + 8, env->bnd_regs[i].ub, ra);
    }
}

static void do_xsave_bndcsr(CPUX86State *env, target_ulong ptr, uintptr_t ra)
{
    cpu_stq_data_ra(env, ptr + offsetof(XSaveBNDCSR, bndcsr.cfgu),
                    env->bndcs_regs.cfgu, ra);
    cpu_stq_data_ra(env, ptr + offsetof(XSaveBNDCSR, bndcsr.sts),
                    env->bndcs_regs.sts, ra);
}

static void do_xsave_pkru(CPUX86State *env, target_ulong ptr, uintptr_t ra)
{
    cpu_stq_data_ra(env, ptr, env->pkru, ra);
}

void helper_fxsave(CPUX86State *env, target_ulong ptr)
{
    uintptr_t ra = GETPC();

    /* The operand must be 16 byte aligned */
    if (ptr & 0xf) {
        raise_exception_ra(env, EXCP0D_GPF, ra);
    }

    do_xsave_fpu(env, ptr, ra);

    if (env->cr[4] & CR4_OSFXSR_MASK) {
        do_xsave_mxcsr(env, ptr, ra);
        /* Fast FXSAVE leaves out the XMM registers */
        if (!(env->efer & MSR_EFER_FFXSR)
            || (env->hflags & HF_CPL_MASK)
            || !(env->hflags & HF_LMA_MASK)) {
            do_xsave_sse(env, ptr, ra);
        }
    }
}

static uint64_t get_xinuse(CPUX86State *env)
{
    uint64_t inuse = -1;

    /* For the most part, we don't track XINUSE.  We could calculate it
       here for all components, but it's probably less work to simply
       indicate in use.  That said, the state of BNDREGS is important
       enough to track in HFLAGS, so we might as well use that here.  */
    if ((env->hflags & HF_MPX_IU_MASK) == 0) {
       inuse &= ~XSTATE_BNDREGS_MASK;
    }
    return inuse;
}

static void do_xsave(CPUX86State *env, target_ulong ptr, uint64_t rfbm,
                     uint64_t inuse, uint64_t opt, uintptr_t ra)
{
    uint64_t old_bv, new_bv;

    /* The OS must have enabled XSAVE.  */
    if (!(env->cr[4] & CR4_OSXSAVE_MASK)) {
        raise_exception_ra(env, EXCP06_ILLOP, ra);
    }

    /* The operand must be 64 byte aligned.  */
    if (ptr & 63) {
        raise_exception_ra(env, EXCP0D_GPF, ra);
    }

    /* Never save anything not enabled by XCR0.  */
    rfbm &= env->xcr0;
    opt &= rfbm;

    if (opt & XSTATE_FP_MASK) {
        do_xsave_fpu(env, ptr, ra);
    }
    if (rfbm & XSTATE_SSE_MASK) {
        /* Note that saving MXCSR is not suppressed by XSAVEOPT.  */
        do_xsave_mxcsr(env, ptr, ra);
    }
    if (opt & XSTATE_SSE_MASK) {
        do_xsave_sse(env, ptr, ra);
    }
    if (opt & XSTATE_BNDREGS_MASK) {
        do_xsave_bndregs(env, ptr + XO(bndreg_state), ra);
    }
    if (opt & XSTATE_BNDCSR_MASK) {
        do_xsave_bndcsr(env, ptr + XO(bndcsr_state), ra);
    }
    if (opt & XSTATE_PKRU_MASK) {
        do_xsave_pkru(env, ptr + XO(pkru_state), ra);
    }

    /* Update the XSTATE_BV field.  */
    old_bv = cpu_ldq_data_ra(env, ptr + XO(header.xstate_bv), ra);
    new_bv = (old_bv & ~rfbm) | (inuse & rfbm);
    cpu_stq_data_ra(env, ptr + XO(header.xstate_bv), new_bv, ra);
}

void helper_xsave(CPUX86State *env, target_ulong ptr, uint64_t rfbm)
{
    do_xsave(env, ptr, rfbm, get_xinuse(env), -1, GETPC());
}

void helper_xsaveopt(CPUX86State *env, target_ulong ptr, uint64_t rfbm)
{
    uint64_t inuse = get_xinuse(env);
    do_xsave(env, ptr, rfbm, inuse, inuse, GETPC());
}

static void do_xrstor_fpu(CPUX86State *env, target_ulong ptr, uintptr_t ra)
{
    int i, fpuc, fpus, fptag;
    target_ulong addr;

    fpuc = cpu_lduw_data_ra(env, ptr + XO(legacy.fcw), ra);
    fpus = cpu_lduw_data_ra(env, ptr + XO(legacy.fsw), ra);
    fptag = cpu_lduw_data_ra(env, ptr + XO(legacy.ftw), ra);
    cpu_set_fpuc(env, fpuc);
    cpu_set_fpus(env, fpus);
    fptag ^= 0xff;
    for (i = 0; i < 8; i++) {
        env->fptags[i] = ((fptag >> i) & 1);
    }

    addr = ptr + XO(legacy.fpregs);
    for (i = 0; i < 8; i++) {
        floatx80 tmp = helper_fldt(env, addr, ra);
        ST(i) = tmp;
        addr += 16;
    }
}

static void do_xrstor_mxcsr(CPUX86State *env, target_ulong ptr, uintptr_t ra)
{
    cpu_set_mxcsr(env, cpu_ldl_data_ra(env, ptr + XO(legacy.mxcsr), ra));
}

/* qvm: FXRSTOR and XRSTOR raise #GP, before changing any state, when the
 * image's MXCSR has a reserved bit set. */
static void check_xrstor_mxcsr(CPUX86State *env, target_ulong ptr,
                               uintptr_t ra)
{
    if (cpu_ldl_data_ra(env, ptr + XO(legacy.mxcsr), ra) & ~MXCSR_MASK) {
        raise_exception_ra(env, EXCP0D_GPF, ra);
    }
}

static void do_xrstor_sse(CPUX86State *env, target_ulong ptr, uintptr_t ra)
{
    int i, nb_xmm_regs;
    target_ulong addr;

    if (env->hflags & HF_CS64_MASK) {
        nb_xmm_regs = 16;
    } else {
        nb_xmm_regs = 8;
    }

    addr = ptr + XO(legacy.xmm_regs);
    for (i = 0; i < nb_xmm_regs; i++) {
        env->xmm_regs[i].ZMM_Q(0) = cpu_ldq_data_ra(env, addr, ra);
        env->xmm_regs[i].ZMM_Q(1) = cpu_ldq_data_ra(env, addr + 8, ra);
        addr += 16;
    }
}

static void do_xrstor_bndregs(CPUX86State *env, target_ulong ptr, uintptr_t ra)
{
    target_ulong addr = ptr + offsetof(XSaveBNDREG, bnd_regs);
    int i;

    for (i = 0; i < 4; i++, addr += 16) {
        env->bnd_regs[i].lb = cpu_ldq_data_ra(env, addr, ra);
        env->bnd_regs[i].ub = cpu_ldq_data_ra(env, addr + 8, ra);
    }
}

static void do_xrstor_bndcsr(CPUX86State *env, target_ulong ptr, uintptr_t ra)
{
    /* FIXME: Extend highest implemented bit of linear address.  */
    env->bndcs_regs.cfgu
        = cpu_ldq_data_ra(env, ptr + offsetof(XSaveBNDCSR, bndcsr.cfgu), ra);
    env->bndcs_regs.sts
        = cpu_ldq_data_ra(env, ptr + offsetof(XSaveBNDCSR, bndcsr.sts), ra);
}

static void do_xrstor_pkru(CPUX86State *env, target_ulong ptr, uintptr_t ra)
{
    env->pkru = cpu_ldq_data_ra(env, ptr, ra);
}

/* qvm: FXSAVE and FXRSTOR of the whole user state (x87, MXCSR, all 16
 * XMM registers) to a host buffer, for thread switches and signal frames:
 * the same layout and values as do_xsave_fpu/mxcsr/sse give in guest
 * memory, with FOP and FDP written as 0 (QEMU does not keep them). */
void qvm_fxsave_to_host(CPUX86State *env, uint8_t *buf)
{
    int fpus, fptag, i;

    memset(buf, 0, 512);
    fpus = (env->fpus & ~0x3800) | (env->fpstt & 0x7) << 11;
    fptag = 0;
    for (i = 0; i < 8; i++) {
        fptag |= (env->fptags[i] << i);
    }
    stw_le_p(buf + XO(legacy.fcw), env->fpuc);
    stw_le_p(buf + XO(legacy.fsw), fpus);
    stw_le_p(buf + XO(legacy.ftw), (fptag ^ 0xff) & 0xff);
    stq_le_p(buf + XO(legacy.fpip), env->fpip);
    update_mxcsr_from_sse_status(env);
    stl_le_p(buf + XO(legacy.mxcsr), env->mxcsr);
    stl_le_p(buf + XO(legacy.mxcsr_mask), MXCSR_MASK);
    for (i = 0; i < 8; i++) {
        floatx80 tmp = ST(i);
        stq_le_p(buf + XO(legacy.fpregs) + i * 16, tmp.low);
        stw_le_p(buf + XO(legacy.fpregs) + i * 16 + 8, tmp.high);
    }
    for (i = 0; i < 16; i++) {
        stq_le_p(buf + XO(legacy.xmm_regs) + i * 16, env->xmm_regs[i].ZMM_Q(0));
        stq_le_p(buf + XO(legacy.xmm_regs) + i * 16 + 8,
                 env->xmm_regs[i].ZMM_Q(1));
    }
}

/* Returns -1, changing nothing, when MXCSR has a reserved bit set (FXRSTOR
 * would raise #GP). */
int qvm_fxrstor_from_host(CPUX86State *env, const uint8_t *buf)
{
    int i, fptag;
    uint32_t mxcsr = ldl_le_p(buf + XO(legacy.mxcsr));

    if (mxcsr & ~MXCSR_MASK) {
        return -1;
    }
    cpu_set_fpuc(env, lduw_le_p(buf + XO(legacy.fcw)));
    cpu_set_fpus(env, lduw_le_p(buf + XO(legacy.fsw)));
    fptag = ldub_p(buf + XO(legacy.ftw)) ^ 0xff;
    for (i = 0; i < 8; i++) {
        env->fptags[i] = ((fptag >> i) & 1);
    }
    env->fpip = ldq_le_p(buf + XO(legacy.fpip));
    for (i = 0; i < 8; i++) {
        floatx80 tmp;
        tmp.low = ldq_le_p(buf + XO(legacy.fpregs) + i * 16);
        tmp.high = lduw_le_p(buf + XO(legacy.fpregs) + i * 16 + 8);
        ST(i) = tmp;
    }
    cpu_set_mxcsr(env, mxcsr);
    for (i = 0; i < 16; i++) {
        env->xmm_regs[i].ZMM_Q(0) = ldq_le_p(buf + XO(legacy.xmm_regs) + i * 16);
        env->xmm_regs[i].ZMM_Q(1) =
            ldq_le_p(buf + XO(legacy.xmm_regs) + i * 16 + 8);
    }
    return 0;
}

void helper_fxrstor(CPUX86State *env, target_ulong ptr)
{
    uintptr_t ra = GETPC();

    /* The operand must be 16 byte aligned */
    if (ptr & 0xf) {
        raise_exception_ra(env, EXCP0D_GPF, ra);
    }

    if (env->cr[4] & CR4_OSFXSR_MASK) {
        check_xrstor_mxcsr(env, ptr, ra);
    }

    do_xrstor_fpu(env, ptr, ra);

    if (env->cr[4] & CR4_OSFXSR_MASK) {
        do_xrstor_mxcsr(env, ptr, ra);
        /* Fast FXRSTOR leaves out the XMM registers */
        if (!(env->efer & MSR_EFER_FFXSR)
            || (env->hflags & HF_CPL_MASK)
            || !(env->hflags & HF_LMA_MASK)) {
            do_xrstor_sse(env, ptr, ra);
        }
    }
}

void helper_xrstor(CPUX86State *env, target_ulong ptr, uint64_t rfbm)
{
    uintptr_t ra = GETPC();
    uint64_t xstate_bv, xcomp_bv, reserve0;

    rfbm &= env->xcr0;

    /* The OS must have enabled XSAVE.  */
    if (!(env->cr[4] & CR4_OSXSAVE_MASK)) {
        raise_exception_ra(env, EXCP06_ILLOP, ra);
    }

    /* The operand must be 64 byte aligned.  */
    if (ptr & 63) {
        raise_exception_ra(env, EXCP0D_GPF, ra);
    }

    xstate_bv = cpu_ldq_data_ra(env, ptr + XO(header.xstate_bv), ra);

    if ((int64_t)xstate_bv < 0) {
        /* FIXME: Compact form.  */
        raise_exception_ra(env, EXCP0D_GPF, ra);
    }

    /* Standard form.  */

    /* The XSTATE_BV field must not set bits not present in XCR0.  */
    if (xstate_bv & ~env->xcr0) {
        raise_exception_ra(env, EXCP0D_GPF, ra);
    }

    /* The XCOMP_BV field must be zero.  Note that, as of the April 2016
       revision, the description of the XSAVE Header (Vol 1, Sec 13.4.2)
       describes only XCOMP_BV, but the description of the standard form
       of XRSTOR (Vol 1, Sec 13.8.1) checks bytes 23:8 for zero, which
       includes the next 64-bit field.  */
    xcomp_bv = cpu_ldq_data_ra(env, ptr + XO(header.xcomp_bv), ra);
    reserve0 = cpu_ldq_data_ra(env, ptr + XO(header.reserve0), ra);
    if (xcomp_bv || reserve0) {
        raise_exception_ra(env, EXCP0D_GPF, ra);
    }

    if (rfbm & XSTATE_FP_MASK) {
        if (xstate_bv & XSTATE_FP_MASK) {
            do_xrstor_fpu(env, ptr, ra);
        } else {
            do_fninit(env);
            memset(env->fpregs, 0, sizeof(env->fpregs));
        }
    }
    if (rfbm & XSTATE_SSE_MASK) {
        /* Note that the standard form of XRSTOR loads MXCSR from memory
           whether or not the XSTATE_BV bit is set.  */
        do_xrstor_mxcsr(env, ptr, ra);
        if (xstate_bv & XSTATE_SSE_MASK) {
            do_xrstor_sse(env, ptr, ra);
        } else {
            /* ??? When AVX is implemented, we may have to be more
               selective in the clearing.  */
            memset(env->xmm_regs, 0, sizeof(env->xmm_regs));
        }
    }
    if (rfbm & XSTATE_BNDREGS_MASK) {
        if (xstate_bv & XSTATE_BNDREGS_MASK) {
            do_xrstor_bndregs(env, ptr + XO(bndreg_state), ra);
            env->hflags |= HF_MPX_IU_MASK;
        } else {
            memset(env->bnd_regs, 0, sizeof(env->bnd_regs));
            env->hflags &= ~HF_MPX_IU_MASK;
        }
    }
    if (rfbm & XSTATE_BNDCSR_MASK) {
        if (xstate_bv & XSTATE_BNDCSR_MASK) {
            do_xrstor_bndcsr(env, ptr + XO(bndcsr_state), ra);
        } else {
            memset(&env->bndcs_regs, 0, sizeof(env->bndcs_regs));
        }
        cpu_sync_bndcs_hflags(env);
    }
    if (rfbm & XSTATE_PKRU_MASK) {
        uint64_t old_pkru = env->pkru;
        if (xstate_bv & XSTATE_PKRU_MASK) {
            do_xrstor_pkru(env, ptr + XO(pkru_state), ra);
        } else {
            env->pkru = 0;
        }
        if (env->pkru != old_pkru) {
            CPUState *cs = env_cpu(env);
            tlb_flush(cs);
        }
    }
}

#undef XO

uint64_t helper_xgetbv(CPUX86State *env, uint32_t ecx)
{
    /* The OS must have enabled XSAVE.  */
    if (!(env->cr[4] & CR4_OSXSAVE_MASK)) {
        raise_exception_ra(env, EXCP06_ILLOP, GETPC());
    }

    switch (ecx) {
    case 0:
        return env->xcr0;
    case 1:
        if (env->features[FEAT_XSAVE] & CPUID_XSAVE_XGETBV1) {
            return env->xcr0 & get_xinuse(env);
        }
        break;
    }
    raise_exception_ra(env, EXCP0D_GPF, GETPC());
}

void helper_xsetbv(CPUX86State *env, uint32_t ecx, uint64_t mask)
{
    uint32_t dummy, ena_lo, ena_hi;
    uint64_t ena;

    /* The OS must have enabled XSAVE.  */
    if (!(env->cr[4] & CR4_OSXSAVE_MASK)) {
        raise_exception_ra(env, EXCP06_ILLOP, GETPC());
    }

    /* Only XCR0 is defined at present; the FPU may not be disabled.  */
    if (ecx != 0 || (mask & XSTATE_FP_MASK) == 0) {
        goto do_gpf;
    }

    /* Disallow enabling unimplemented features.  */
    cpu_x86_cpuid(env, 0x0d, 0, &ena_lo, &dummy, &dummy, &ena_hi);
    ena = ((uint64_t)ena_hi << 32) | ena_lo;
    if (mask & ~ena) {
        goto do_gpf;
    }

    /* Disallow enabling only half of MPX.  */
    if ((mask ^ (mask * (XSTATE_BNDCSR_MASK / XSTATE_BNDREGS_MASK)))
        & XSTATE_BNDCSR_MASK) {
        goto do_gpf;
    }

    env->xcr0 = mask;
    cpu_sync_bndcs_hflags(env);
    return;

 do_gpf:
    raise_exception_ra(env, EXCP0D_GPF, GETPC());
}

/* MMX/SSE */
/* XXX: optimize by storing fptt and fptags in the static cpu state */

#define SSE_DAZ             0x0040
#define SSE_RC_MASK         0x6000
#define SSE_RC_NEAR         0x0000
#define SSE_RC_DOWN         0x2000
#define SSE_RC_UP           0x4000
#define SSE_RC_CHOP         0x6000
#define SSE_FZ              0x8000
#define SSE_IE              0x0001
#define SSE_DE              0x0002
#define SSE_ZE              0x0004
#define SSE_OE              0x0008
#define SSE_UE              0x0010
#define SSE_PE              0x0020
#define SSE_IM              0x0080
#define SSE_DM              0x0100
#define SSE_ZM              0x0200
#define SSE_OM              0x0400
#define SSE_UM              0x0800
#define SSE_PM              0x1000

void update_mxcsr_status(CPUX86State *env)
{
    uint32_t mxcsr = env->mxcsr;
    int rnd_type;

    /* set rounding mode */
    switch (mxcsr & SSE_RC_MASK) {
    default:
    case SSE_RC_NEAR:
        rnd_type = float_round_nearest_even;
        break;
    case SSE_RC_DOWN:
        rnd_type = float_round_down;
        break;
    case SSE_RC_UP:
        rnd_type = float_round_up;
        break;
    case SSE_RC_CHOP:
        rnd_type = float_round_to_zero;
        break;
    }
    set_float_rounding_mode(rnd_type, &env->sse_status);
    /* qvm: SSE's NaN rule (see float_status.nan_first_operand) */
    env->sse_status.nan_first_operand = 1;
    /* qvm: DE is set for a denormal input used as it is, never under DAZ */
    env->sse_status.input_denormal_used = 1;

    /* set denormals are zero */
    set_flush_inputs_to_zero((mxcsr & SSE_DAZ) ? 1 : 0, &env->sse_status);

    /* set flush to zero (qvm: on the SSE status; QEMU 5.0 set it on the
     * x87 one, so SSE never flushed and x87 did) */
    set_flush_to_zero((mxcsr & SSE_FZ) ? 1 : 0, &env->sse_status);

    /*
     * qvm: MXCSR's exception flags are kept lazily. env->mxcsr holds the
     * flags up to the last synchronisation; softfloat's sse_status holds
     * those raised since, which update_mxcsr_from_sse_status folds in
     * whenever MXCSR is read (STMXCSR, FXSAVE, XSAVE, the register API).
     * So the status starts empty here, and a flag whose exception is
     * unmasked can only be set by the instruction that raised it:
     * sse_trap_flags lists those, for helper_sse_check_traps.
     */
    set_float_exception_flags(0, &env->sse_status);
    env->sse_trap_flags =
        (!(mxcsr & SSE_IM) ? float_flag_invalid : 0) |
        (!(mxcsr & SSE_DM) ? float_flag_input_denormal : 0) |
        (!(mxcsr & SSE_ZM) ? float_flag_divbyzero : 0) |
        (!(mxcsr & SSE_OM) ? float_flag_overflow : 0) |
        (!(mxcsr & SSE_UM) ? float_flag_underflow | float_flag_output_denormal
                           : 0) |
        (!(mxcsr & SSE_PM) ? float_flag_inexact | float_flag_output_denormal
                           : 0);
}

void update_mxcsr_from_sse_status(CPUX86State *env)
{
    uint8_t flags = get_float_exception_flags(&env->sse_status);

    /* FTZ's flush of a tiny result (output_denormal) is UE and PE on x86 */
    env->mxcsr |= (flags & float_flag_invalid ? SSE_IE : 0) |
                  (flags & float_flag_input_denormal ? SSE_DE : 0) |
                  (flags & float_flag_divbyzero ? SSE_ZE : 0) |
                  (flags & float_flag_overflow ? SSE_OE : 0) |
                  (flags & float_flag_underflow ? SSE_UE : 0) |
                  (flags & float_flag_inexact ? SSE_PE : 0) |
                  (flags & float_flag_output_denormal ? SSE_UE | SSE_PE : 0);
}

void helper_update_mxcsr(CPUX86State *env)
{
    update_mxcsr_from_sse_status(env);
}

/* qvm: an unmasked SIMD exception raised by the current instruction is
 * #XM (vector 19) with CR4.OSXMMEXCPT set, #UD without (SDM 11.5.1). */
void sse_raise_trap(CPUX86State *env, uintptr_t retaddr)
{
    raise_exception_ra(env, (env->cr[4] & CR4_OSXMMEXCPT_MASK) ?
                       EXCP13_XMM : EXCP06_ILLOP, retaddr);
}

void helper_ldmxcsr(CPUX86State *env, uint32_t val)
{
    /* qvm: reserved bits are #GP, as on the CPU */
    if (val & ~MXCSR_MASK) {
        raise_exception_ra(env, EXCP0D_GPF, GETPC());
    }
    cpu_set_mxcsr(env, val);
}

void helper_enter_mmx(CPUX86State *env)
{
    env->fpstt = 0;
    *(uint32_t *)(env->fptags) = 0;
    *(uint32_t *)(env->fptags + 4) = 0;
}

void helper_emms(CPUX86State *env)
{
    /* set to empty state */
    *(uint32_t *)(env->fptags) = 0x01010101;
    *(uint32_t *)(env->fptags + 4) = 0x01010101;
}

/* XXX: suppress */
void helper_movq(CPUX86State *env, void *d, void *s)
{
    *(uint64_t *)d = *(uint64_t *)s;
}

/* qvm: #XM (or #UD) when the current SSE instruction raised an exception
 * that MXCSR unmasks; called at the end of each SSE floating-point helper,
 * with the helper's return address. */
static inline void sse_check_traps(CPUX86State *env, uintptr_t retaddr)
{
    if (unlikely(get_float_exception_flags(&env->sse_status) &
                 env->sse_trap_flags)) {
        sse_raise_trap(env, retaddr);
    }
}

/*
 * qvm: x86 reports DE (denormal operand) for an element only when that
 * element has no NaN operand and raises neither invalid nor divide-by-zero.
 * SSE_ELEMENT computes one element from clear flags, so that what it raised
 * is known, drops DE when the CPU would, and merges the rest back.
 */
static inline void sse_element_merge(CPUX86State *env, uint8_t before,
                                     bool nan_operand)
{
    uint8_t raised = get_float_exception_flags(&env->sse_status);

    if (nan_operand ||
        (raised & (float_flag_invalid | float_flag_divbyzero))) {
        raised &= ~float_flag_input_denormal;
    }
    set_float_exception_flags(before | raised, &env->sse_status);
}

#define SSE_ELEMENT(size, a, b, EXPR)                                       \
    ({                                                                      \
        uint8_t before_ = get_float_exception_flags(&env->sse_status);      \
        __typeof__(EXPR) r_;                                                \
        set_float_exception_flags(0, &env->sse_status);                     \
        r_ = (EXPR);                                                        \
        sse_element_merge(env, before_, float ## size ## _is_any_nan(a) ||  \
                                        float ## size ## _is_any_nan(b));   \
        r_;                                                                 \
    })

#define SHIFT 0
#include "ops_sse.h"

#define SHIFT 1
#include "ops_sse.h"
