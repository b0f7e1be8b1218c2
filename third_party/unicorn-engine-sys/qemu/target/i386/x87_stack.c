/*
 * qvm: x87 stack overflow and underflow, as the CPU does them.
 *
 * QEMU 5.0 kept the tag word but never checked it: an instruction reading
 * an empty register used whatever it held, and a push onto a full stack
 * overwrote ST(7). The CPU (measured on AMD EPYC with scripts/x87/stack.c)
 * instead raises IE with SF, C1 = 1 for an overflow and 0 for an underflow
 * (an underflow wins when both happen), leaves C0 and C3 alone (and C2,
 * but for the instructions that report in it), and
 *  - with IE masked, gives the QNaN indefinite (0xffff_c000000000000000,
 *    tag valid) to the destination, stores the memory format's indefinite,
 *    or reports "unordered", then pops or pushes as the instruction does;
 *    an empty source stays empty with its old contents;
 *  - with IE unmasked, changes nothing else: no result, no store, no pop
 *    or push (#MF follows at the next waiting instruction), except that
 *    compares still report "unordered" in C3 C2 C0 or ZF PF CF.
 * A memory operand is accessed first either way: a bad address faults.
 *
 * This library is free software; you can redistribute it and/or
 * modify it under the terms of the GNU Lesser General Public
 * License as published by the Free Software Foundation; either
 * version 2.1 of the License, or (at your option) any later version.
 */

#include "qemu/osdep.h"
#include "cpu.h"
#include "exec/helper-proto.h"
#include "exec/exec-all.h"
#include "exec/cpu_ldst.h"
#include "qemu/host-utils.h"
#include "uc_priv.h"
#include "x87_stack.h"

#define FPUS_IE 0x0001
#define FPUS_SF 0x0040
#define FPUS_SE 0x0080
#define FPUS_C0 0x0100
#define FPUS_C1 0x0200
#define FPUS_C2 0x0400
#define FPUS_C3 0x4000
#define FPUS_B  0x8000
#define FPUC_IM 0x0001
#define FPUC_EM 0x003f

static const floatx80 indefinite = { .low = 0xc000000000000000ULL,
                                     .high = 0xffff };

static void x87_set_indefinite(CPUX86State *env, int st)
{
    int reg = (env->fpstt + st) & 7;

    env->fpregs[reg].d = indefinite;
    env->fptags[reg] = 0;
}

static void x87_pop(CPUX86State *env)
{
    env->fptags[env->fpstt] = 1;
    env->fpstt = (env->fpstt + 1) & 7;
}

/* An access the translator asks to be aligned (qvm_ac) faults first. */
static void x87_check_alignment(CPUX86State *env, target_ulong ptr,
                                int align, uintptr_t ra)
{
    if (align > 1 && qvm_alignment_check(env) && (ptr & (align - 1))) {
        raise_exception_err_ra(env, EXCP11_ALGN, 0, ra);
    }
}

/*
 * The faults a store to [ptr, ptr + size) would take, without writing:
 * a byte the guest cannot write is written, which faults (as a write, like
 * the CPU's) and changes nothing; writable bytes are left alone.
 */
static void x87_probe_store(CPUX86State *env, target_ulong ptr, int size,
                            uintptr_t ra)
{
    struct uc_struct *uc = env->uc;
    int i;

    for (i = 0; i < size; i++) {
        MemoryRegion *mr = uc->memory_mapping(uc, ptr + i);

        if (!mr || !(mr->perms & UC_PROT_WRITE)) {
            cpu_stb_data_ra(env, ptr + i, 0, ra);
        }
    }
}

static void x87_load_operand(CPUX86State *env, target_ulong ptr, int mem,
                             uintptr_t ra)
{
    int i;

    switch (mem) {
    case X87_STACK_LOAD16:
        x87_check_alignment(env, ptr, 2, ra);
        cpu_lduw_data_ra(env, ptr, ra);
        break;
    case X87_STACK_LOAD32:
        x87_check_alignment(env, ptr, 4, ra);
        cpu_ldl_data_ra(env, ptr, ra);
        break;
    case X87_STACK_LOAD64:
        x87_check_alignment(env, ptr, 8, ra);
        cpu_ldq_data_ra(env, ptr, ra);
        break;
    case X87_STACK_LOAD80:
        x87_check_alignment(env, ptr, 8, ra);
        cpu_ldq_data_ra(env, ptr, ra);
        cpu_lduw_data_ra(env, ptr + 8, ra);
        break;
    case X87_STACK_LOAD_BCD:
        for (i = 0; i < 10; i++) {
            cpu_ldub_data_ra(env, ptr + i, ra);
        }
        break;
    default:
        break;
    }
}

/* Stores the indefinite of the operand's format, or (IE unmasked) only
 * takes the faults that store would take. Alignment as qvm_ac asks. */
static void x87_store_operand(CPUX86State *env, target_ulong ptr, int mem,
                              bool store, uintptr_t ra)
{
    static const struct {
        int size, align;
    } format[] = {
        [X87_STACK_STORE_F32] = { 4, 4 },  [X87_STACK_STORE_F64] = { 8, 8 },
        [X87_STACK_STORE_F80] = { 10, 8 }, [X87_STACK_STORE_I16] = { 2, 2 },
        [X87_STACK_STORE_I32] = { 4, 4 },  [X87_STACK_STORE_I64] = { 8, 8 },
        [X87_STACK_STORE_BCD] = { 10, 1 },
    };

    if (mem < X87_STACK_STORE_F32 || mem > X87_STACK_STORE_BCD) {
        return;
    }
    x87_check_alignment(env, ptr, format[mem].align, ra);
    if (!store) {
        x87_probe_store(env, ptr, format[mem].size, ra);
        return;
    }
    switch (mem) {
    case X87_STACK_STORE_F32:
        cpu_stl_data_ra(env, ptr, 0xffc00000, ra);
        break;
    case X87_STACK_STORE_F64:
        cpu_stq_data_ra(env, ptr, 0xfff8000000000000ULL, ra);
        break;
    case X87_STACK_STORE_F80:
    case X87_STACK_STORE_BCD: /* the packed BCD indefinite has the same bytes */
        cpu_stq_data_ra(env, ptr, 0xc000000000000000ULL, ra);
        cpu_stw_data_ra(env, ptr + 8, 0xffff, ra);
        break;
    case X87_STACK_STORE_I16:
        cpu_stw_data_ra(env, ptr, 0x8000, ra);
        break;
    case X87_STACK_STORE_I32:
        cpu_stl_data_ra(env, ptr, 0x80000000, ra);
        break;
    case X87_STACK_STORE_I64:
        cpu_stq_data_ra(env, ptr, 0x8000000000000000ULL, ra);
        break;
    }
}

/*
 * Checks the registers instruction DESC reads and, if it pushes, ST(7).
 * Returns 0 when the instruction runs as usual, 1 when it faulted and is
 * complete.
 */
uint32_t helper_fstack(CPUX86State *env, target_ulong ptr, uint32_t desc)
{
    uintptr_t ra = GETPC();
    unsigned reads = X87_STACK_READS_OF(desc);
    bool underflow = false, overflow, masked;
    int mem = X87_STACK_MEM_OF(desc);
    int dest = X87_STACK_DEST_OF(desc);
    int pops;

    while (reads) {
        int st = ctz32(reads);

        reads &= reads - 1;
        underflow |= env->fptags[(env->fpstt + st) & 7];
    }
    overflow = (desc & X87_STACK_PUSHES) && !env->fptags[(env->fpstt + 7) & 7];
    if (likely(!underflow && !overflow)) {
        return 0;
    }

    masked = env->fpuc & FPUC_IM;
    x87_load_operand(env, ptr, mem, ra);
    x87_store_operand(env, ptr, mem, masked, ra);

    env->fpus &= ~(FPUS_C1 | (desc & X87_STACK_CLEARS_C2 ? FPUS_C2 : 0));
    env->fpus |= FPUS_IE | FPUS_SF | (underflow ? 0 : FPUS_C1);
    if (env->fpus & ~env->fpuc & FPUC_EM) {
        env->fpus |= FPUS_SE | FPUS_B;
    }

    switch (X87_STACK_RESPONSE_OF(desc)) {
    case X87_STACK_TO_CC:
        env->fpus |= FPUS_C3 | FPUS_C2 | FPUS_C0;
        break;
    case X87_STACK_TO_EFLAGS:
        CC_SRC = (cpu_cc_compute_all(env, CC_OP) &
                  ~(CC_O | CC_S | CC_A)) | CC_Z | CC_P | CC_C;
        break;
    default:
        break;
    }
    if (!masked) {
        return 1;
    }

    switch (X87_STACK_RESPONSE_OF(desc)) {
    case X87_STACK_TO_ST:
        x87_set_indefinite(env, dest);
        break;
    case X87_STACK_TO_ST0_PUSH:
        x87_set_indefinite(env, 0);
        /* fall through */
    case X87_STACK_TO_PUSH:
        env->fpstt = (env->fpstt - 1) & 7;
        x87_set_indefinite(env, 0);
        break;
    case X87_STACK_TO_XCHG: {
        floatx80 tmp;

        if (env->fptags[env->fpstt]) {
            x87_set_indefinite(env, 0);
        }
        if (env->fptags[(env->fpstt + dest) & 7]) {
            x87_set_indefinite(env, dest);
        }
        tmp = env->fpregs[(env->fpstt + dest) & 7].d;
        env->fpregs[(env->fpstt + dest) & 7].d = env->fpregs[env->fpstt].d;
        env->fpregs[env->fpstt].d = tmp;
        break;
    }
    default:
        break;
    }
    for (pops = X87_STACK_POPS_OF(desc); pops > 0; pops--) {
        x87_pop(env);
    }
    return 1;
}
