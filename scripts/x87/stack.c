/* x87 stack overflow and underflow, instruction by instruction: each case
 * loads a chosen FPU state with FRSTOR (which registers are valid, TOP, the
 * control word, the condition codes), sets RFLAGS, runs one instruction
 * and saves the state with FNSAVE, which neither waits nor traps. One line
 * per case: status word, the full tag word, the eight registers (empty ones
 * too), the arithmetic flags and the memory operand. stack.sh compares the
 * lines of a native run with qvm's emulator.
 *
 * Usage: stack [NAME]   (only the cases of instruction NAME) */
#include <stdint.h>
#include <stdio.h>
#include <string.h>

struct fsave {
    uint32_t cw, sw, tw, ip, cs, dp, ds;
    unsigned char st[8][10];
};

typedef void (*case_fn)(const struct fsave *in, struct fsave *out, void *m,
                        uint64_t *fl);

#define CASE(name, insn)                                                       \
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

/* What the memory operand holds before the instruction. */
enum mem { M_NONE, M_F32, M_F64, M_F80, M_I16, M_I32, M_I64, M_BCD };

CASE(c_flds, "flds (%[m])")
CASE(c_fldl, "fldl (%[m])")
CASE(c_fldt, "fldt (%[m])")
CASE(c_filds, "filds (%[m])")
CASE(c_fildl, "fildl (%[m])")
CASE(c_fildll, "fildll (%[m])")
CASE(c_fbld, "fbld (%[m])")
CASE(c_fld1, "fld1")
CASE(c_fldl2t, "fldl2t")
CASE(c_fldl2e, "fldl2e")
CASE(c_fldpi, "fldpi")
CASE(c_fldlg2, "fldlg2")
CASE(c_fldln2, "fldln2")
CASE(c_fldz, "fldz")
CASE(c_fld_st0, "fld %%st(0)")
CASE(c_fld_st3, "fld %%st(3)")
CASE(c_fld_st7, "fld %%st(7)")
CASE(c_fadds, "fadds (%[m])")
CASE(c_fmuls, "fmuls (%[m])")
CASE(c_fsubrs, "fsubrs (%[m])")
CASE(c_fdivl, "fdivl (%[m])")
CASE(c_fsubl, "fsubl (%[m])")
CASE(c_fdivrl, "fdivrl (%[m])")
CASE(c_fiaddl, "fiaddl (%[m])")
CASE(c_fidivrs, "fidivrs (%[m])")
CASE(c_fimuls, "fimuls (%[m])")
CASE(c_fcoms, "fcoms (%[m])")
CASE(c_fcompl, "fcompl (%[m])")
CASE(c_ficoml, "ficoml (%[m])")
CASE(c_ficomps, "ficomps (%[m])")
CASE(c_fadd_st3_st, "fadd %%st(3), %%st")
CASE(c_fmul_st0_st, "fmul %%st(0), %%st")
CASE(c_fsub_st3_st, "fsub %%st(3), %%st")
CASE(c_fdivr_st3_st, "fdivr %%st(3), %%st")
CASE(c_fadd_st_st3, "fadd %%st, %%st(3)")
CASE(c_fsub_st_st3, "fsub %%st, %%st(3)")
CASE(c_fdiv_st_st3, "fdiv %%st, %%st(3)")
CASE(c_faddp_st3, "faddp %%st, %%st(3)")
CASE(c_fmulp_st1, "fmulp %%st, %%st(1)")
CASE(c_fsubp_st3, "fsubp %%st, %%st(3)")
CASE(c_fdivrp_st3, "fdivrp %%st, %%st(3)")
CASE(c_faddp_st0, "faddp %%st, %%st(0)")
CASE(c_fcom_st3, "fcom %%st(3)")
CASE(c_fcomp_st3, "fcomp %%st(3)")
CASE(c_fcomp_st0, "fcomp %%st(0)")
CASE(c_fcompp, "fcompp")
CASE(c_fucom_st3, "fucom %%st(3)")
CASE(c_fucomp_st3, "fucomp %%st(3)")
CASE(c_fucompp, "fucompp")
CASE(c_fcomi_st3, "fcomi %%st(3), %%st")
CASE(c_fcomip_st3, "fcomip %%st(3), %%st")
CASE(c_fucomi_st3, "fucomi %%st(3), %%st")
CASE(c_fucomip_st3, "fucomip %%st(3), %%st")
CASE(c_ftst, "ftst")
CASE(c_fxam, "fxam")
CASE(c_fsts, "fsts (%[m])")
CASE(c_fstps, "fstps (%[m])")
CASE(c_fstl, "fstl (%[m])")
CASE(c_fstpl, "fstpl (%[m])")
CASE(c_fstpt, "fstpt (%[m])")
CASE(c_fists, "fists (%[m])")
CASE(c_fistps, "fistps (%[m])")
CASE(c_fistl, "fistl (%[m])")
CASE(c_fistpl, "fistpl (%[m])")
CASE(c_fistpll, "fistpll (%[m])")
CASE(c_fisttps, "fisttps (%[m])")
CASE(c_fisttpl, "fisttpl (%[m])")
CASE(c_fisttpll, "fisttpll (%[m])")
CASE(c_fbstp, "fbstp (%[m])")
CASE(c_fst_st3, "fst %%st(3)")
CASE(c_fstp_st3, "fstp %%st(3)")
CASE(c_fstp_st0, "fstp %%st(0)")
CASE(c_fchs, "fchs")
CASE(c_fabs, "fabs")
CASE(c_fsqrt, "fsqrt")
CASE(c_frndint, "frndint")
CASE(c_f2xm1, "f2xm1")
CASE(c_fsin, "fsin")
CASE(c_fcos, "fcos")
CASE(c_fsincos, "fsincos")
CASE(c_fptan, "fptan")
CASE(c_fxtract, "fxtract")
CASE(c_fscale, "fscale")
CASE(c_fprem, "fprem")
CASE(c_fprem1, "fprem1")
CASE(c_fyl2x, "fyl2x")
CASE(c_fyl2xp1, "fyl2xp1")
CASE(c_fpatan, "fpatan")
CASE(c_fxch_st3, "fxch %%st(3)")
CASE(c_fxch_st0, "fxch %%st(0)")
CASE(c_fcmovb_st3, "fcmovb %%st(3), %%st")
CASE(c_fcmovnb_st3, "fcmovnb %%st(3), %%st")
CASE(c_fcmove_st0, "fcmove %%st(0), %%st")
CASE(c_fcmovnu_st3, "fcmovnu %%st(3), %%st")
CASE(c_ffree_st3, "ffree %%st(3)")
CASE(c_ffreep_st3, "ffreep %%st(3)")
CASE(c_fincstp, "fincstp")
CASE(c_fdecstp, "fdecstp")
CASE(c_fnop, "fnop")
/* Undocumented aliases: fstp1 (d9 d8+i), fcom2 (dc d0+i), fcomp3
 * (dc d8+i), fcomp5 (de d0+i), fxch4 (dd c8+i), fxch7 (df c8+i),
 * fstp8 (df d0+i), fstp9 (df d8+i). */
CASE(c_fstp1_st3, ".byte 0xd9, 0xdb")
CASE(c_fcom2_st3, ".byte 0xdc, 0xd3")
CASE(c_fcomp3_st3, ".byte 0xdc, 0xdb")
CASE(c_fcomp5_st3, ".byte 0xde, 0xd3")
CASE(c_fxch4_st3, ".byte 0xdd, 0xcb")
CASE(c_fxch7_st3, ".byte 0xdf, 0xcb")
CASE(c_fstp8_st3, ".byte 0xdf, 0xd3")
CASE(c_fstp9_st3, ".byte 0xdf, 0xdb")

static const struct {
    const char *name;
    case_fn fn;
    enum mem mem;
} cases[] = {
    {"flds", c_flds, M_F32},
    {"fldl", c_fldl, M_F64},
    {"fldt", c_fldt, M_F80},
    {"filds", c_filds, M_I16},
    {"fildl", c_fildl, M_I32},
    {"fildll", c_fildll, M_I64},
    {"fbld", c_fbld, M_BCD},
    {"fld1", c_fld1, M_NONE},
    {"fldl2t", c_fldl2t, M_NONE},
    {"fldl2e", c_fldl2e, M_NONE},
    {"fldpi", c_fldpi, M_NONE},
    {"fldlg2", c_fldlg2, M_NONE},
    {"fldln2", c_fldln2, M_NONE},
    {"fldz", c_fldz, M_NONE},
    {"fld-st0", c_fld_st0, M_NONE},
    {"fld-st3", c_fld_st3, M_NONE},
    {"fld-st7", c_fld_st7, M_NONE},
    {"fadds", c_fadds, M_F32},
    {"fmuls", c_fmuls, M_F32},
    {"fsubrs", c_fsubrs, M_F32},
    {"fdivl", c_fdivl, M_F64},
    {"fsubl", c_fsubl, M_F64},
    {"fdivrl", c_fdivrl, M_F64},
    {"fiaddl", c_fiaddl, M_I32},
    {"fidivrs", c_fidivrs, M_I16},
    {"fimuls", c_fimuls, M_I16},
    {"fcoms", c_fcoms, M_F32},
    {"fcompl", c_fcompl, M_F64},
    {"ficoml", c_ficoml, M_I32},
    {"ficomps", c_ficomps, M_I16},
    {"fadd-st3-st", c_fadd_st3_st, M_NONE},
    {"fmul-st0-st", c_fmul_st0_st, M_NONE},
    {"fsub-st3-st", c_fsub_st3_st, M_NONE},
    {"fdivr-st3-st", c_fdivr_st3_st, M_NONE},
    {"fadd-st-st3", c_fadd_st_st3, M_NONE},
    {"fsub-st-st3", c_fsub_st_st3, M_NONE},
    {"fdiv-st-st3", c_fdiv_st_st3, M_NONE},
    {"faddp-st3", c_faddp_st3, M_NONE},
    {"fmulp-st1", c_fmulp_st1, M_NONE},
    {"fsubp-st3", c_fsubp_st3, M_NONE},
    {"fdivrp-st3", c_fdivrp_st3, M_NONE},
    {"faddp-st0", c_faddp_st0, M_NONE},
    {"fcom-st3", c_fcom_st3, M_NONE},
    {"fcomp-st3", c_fcomp_st3, M_NONE},
    {"fcomp-st0", c_fcomp_st0, M_NONE},
    {"fcompp", c_fcompp, M_NONE},
    {"fucom-st3", c_fucom_st3, M_NONE},
    {"fucomp-st3", c_fucomp_st3, M_NONE},
    {"fucompp", c_fucompp, M_NONE},
    {"fcomi-st3", c_fcomi_st3, M_NONE},
    {"fcomip-st3", c_fcomip_st3, M_NONE},
    {"fucomi-st3", c_fucomi_st3, M_NONE},
    {"fucomip-st3", c_fucomip_st3, M_NONE},
    {"ftst", c_ftst, M_NONE},
    {"fxam", c_fxam, M_NONE},
    {"fsts", c_fsts, M_NONE},
    {"fstps", c_fstps, M_NONE},
    {"fstl", c_fstl, M_NONE},
    {"fstpl", c_fstpl, M_NONE},
    {"fstpt", c_fstpt, M_NONE},
    {"fists", c_fists, M_NONE},
    {"fistps", c_fistps, M_NONE},
    {"fistl", c_fistl, M_NONE},
    {"fistpl", c_fistpl, M_NONE},
    {"fistpll", c_fistpll, M_NONE},
    {"fisttps", c_fisttps, M_NONE},
    {"fisttpl", c_fisttpl, M_NONE},
    {"fisttpll", c_fisttpll, M_NONE},
    {"fbstp", c_fbstp, M_NONE},
    {"fst-st3", c_fst_st3, M_NONE},
    {"fstp-st3", c_fstp_st3, M_NONE},
    {"fstp-st0", c_fstp_st0, M_NONE},
    {"fchs", c_fchs, M_NONE},
    {"fabs", c_fabs, M_NONE},
    {"fsqrt", c_fsqrt, M_NONE},
    {"frndint", c_frndint, M_NONE},
    {"f2xm1", c_f2xm1, M_NONE},
    {"fsin", c_fsin, M_NONE},
    {"fcos", c_fcos, M_NONE},
    {"fsincos", c_fsincos, M_NONE},
    {"fptan", c_fptan, M_NONE},
    {"fxtract", c_fxtract, M_NONE},
    {"fscale", c_fscale, M_NONE},
    {"fprem", c_fprem, M_NONE},
    {"fprem1", c_fprem1, M_NONE},
    {"fyl2x", c_fyl2x, M_NONE},
    {"fyl2xp1", c_fyl2xp1, M_NONE},
    {"fpatan", c_fpatan, M_NONE},
    {"fxch-st3", c_fxch_st3, M_NONE},
    {"fxch-st0", c_fxch_st0, M_NONE},
    {"fcmovb-st3", c_fcmovb_st3, M_NONE},
    {"fcmovnb-st3", c_fcmovnb_st3, M_NONE},
    {"fcmove-st0", c_fcmove_st0, M_NONE},
    {"fcmovnu-st3", c_fcmovnu_st3, M_NONE},
    {"ffree-st3", c_ffree_st3, M_NONE},
    {"ffreep-st3", c_ffreep_st3, M_NONE},
    {"fincstp", c_fincstp, M_NONE},
    {"fdecstp", c_fdecstp, M_NONE},
    {"fnop", c_fnop, M_NONE},
    {"fstp1-st3", c_fstp1_st3, M_NONE},
    {"fcom2-st3", c_fcom2_st3, M_NONE},
    {"fcomp3-st3", c_fcomp3_st3, M_NONE},
    {"fcomp5-st3", c_fcomp5_st3, M_NONE},
    {"fxch4-st3", c_fxch4_st3, M_NONE},
    {"fxch7-st3", c_fxch7_st3, M_NONE},
    {"fstp8-st3", c_fstp8_st3, M_NONE},
    {"fstp9-st3", c_fstp9_st3, M_NONE},
};

/* Which of ST(0)..ST(7) are valid before the instruction. */
static const uint8_t valid_masks[] = {0x00, 0x01, 0x02, 0x03, 0x08, 0x09,
                                      0x0b, 0x7f, 0x80, 0xf7, 0xfe, 0xff};
/* Control words: every exception masked; IE unmasked; all unmasked. */
static const uint16_t cws[] = {0x037f, 0x037e, 0x0340};
/* Condition codes and RFLAGS before the instruction. */
static const struct {
    uint16_t cc;
    uint64_t fl;
} pre[] = {{0x0000, 0x0002}, {0x4700, 0x08d7}};

static void fill_memory(unsigned char *m, enum mem kind)
{
    static const uint32_t f32 = 0x3fc00000;              /* 1.5 */
    static const uint64_t f64 = 0x4004000000000000ull;   /* 2.5 */
    static const unsigned char f80[10] = {0, 0, 0, 0, 0, 0, 0, 0xe0, 0x00,
                                          0x40};         /* 3.5 */
    static const int16_t i16 = -7;
    static const int32_t i32 = 100000;
    static const int64_t i64 = -12345678901234ll;
    static const unsigned char bcd[10] = {0x21, 0x43, 0x65, 0x87, 0x09,
                                          0, 0, 0, 0, 0x80};
    memset(m, 0x5a, 16);
    switch (kind) {
    case M_F32: memcpy(m, &f32, 4); break;
    case M_F64: memcpy(m, &f64, 8); break;
    case M_F80: memcpy(m, f80, 10); break;
    case M_I16: memcpy(m, &i16, 2); break;
    case M_I32: memcpy(m, &i32, 4); break;
    case M_I64: memcpy(m, &i64, 8); break;
    case M_BCD: memcpy(m, bcd, 10); break;
    case M_NONE: break;
    }
}

int main(int argc, char **argv)
{
    const char *only = argc > 1 ? argv[1] : NULL;
    for (size_t c = 0; c < sizeof cases / sizeof cases[0]; c++) {
        if (only && strcmp(only, cases[c].name)) {
            continue;
        }
        for (size_t v = 0; v < sizeof valid_masks; v++) {
            for (size_t w = 0; w < sizeof cws / sizeof cws[0]; w++) {
                for (size_t p = 0; p < sizeof pre / sizeof pre[0]; p++) {
                    struct fsave in, out;
                    unsigned char m[16];
                    uint64_t fl = pre[p].fl;
                    const unsigned top = 5;
                    memset(&in, 0, sizeof in);
                    memset(&out, 0xee, sizeof out);
                    in.cw = 0xffff0000u | cws[w];
                    in.sw = 0xffff0000u | top << 11 | pre[p].cc;
                    in.tw = 0xffff0000u;
                    for (unsigned i = 0; i < 8; i++) {
                        /* ST(i) = (8 + i) * 2^i: distinct normal numbers */
                        uint64_t mant = (0x8ull + i) << 60;
                        uint16_t exp = (uint16_t)(0x3fff + 3 + i);
                        memcpy(in.st[i], &mant, 8);
                        memcpy(in.st[i] + 8, &exp, 2);
                        unsigned phys = (top + i) & 7;
                        if (!(valid_masks[v] >> i & 1)) {
                            in.tw |= 3u << (2 * phys);
                        }
                    }
                    fill_memory(m, cases[c].mem);
                    cases[c].fn(&in, &out, m, &fl);
                    printf("%s valid=%02x cw=%04x cc=%04x: sw=%04x tw=%04x "
                           "fl=%03x",
                           cases[c].name, valid_masks[v], cws[w], pre[p].cc,
                           out.sw & 0xffff, out.tw & 0xffff,
                           (unsigned)(fl & 0x8d5));
                    for (int r = 0; r < 8; r++) {
                        printf(r ? "," : " st=");
                        for (int k = 9; k >= 0; k--) {
                            printf("%02x", out.st[r][k]);
                        }
                    }
                    printf(" m=");
                    for (int k = 0; k < 10; k++) {
                        printf("%02x", m[k]);
                    }
                    printf("\n");
                }
            }
        }
    }
    return 0;
}
