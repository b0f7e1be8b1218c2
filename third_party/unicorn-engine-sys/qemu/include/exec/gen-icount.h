#ifndef GEN_ICOUNT_H
#define GEN_ICOUNT_H

#include "qemu/timer.h"

/* Helpers for instruction counting code generation.  */

static inline void gen_io_start(TCGContext *tcg_ctx)
{
    TCGv_i32 tmp = tcg_const_i32(tcg_ctx, 1);
    tcg_gen_st_i32(tcg_ctx, tmp, tcg_ctx->cpu_env,
                   offsetof(ArchCPU, parent_obj.can_do_io) -
                   offsetof(ArchCPU, env));
    tcg_temp_free_i32(tcg_ctx, tmp);
}

/*
 * cpu->can_do_io is cleared automatically at the beginning of
 * each translation block.  The cost is minimal and only paid
 * for -icount, plus it would be very easy to forget doing it
 * in the translator.  Therefore, backends only need to call
 * gen_io_start.
 */
static inline void gen_io_end(TCGContext *tcg_ctx)
{
    TCGv_i32 tmp = tcg_const_i32(tcg_ctx, 0);
    tcg_gen_st_i32(tcg_ctx, tmp, tcg_ctx->cpu_env,
                   offsetof(ArchCPU, parent_obj.can_do_io) -
                   offsetof(ArchCPU, env));
    tcg_temp_free_i32(tcg_ctx, tmp);
}

static inline void gen_tb_start(TCGContext *tcg_ctx, TranslationBlock *tb)
{
#ifdef TARGET_I386
    /* qvm: instruction metering (docs/gas.md). Take the block's length
     * (patched in gen_tb_end) from the budget before anything runs; when
     * that leaves it negative, exit with TB_EXIT_QVM_BUDGET, and
     * cpu_loop_exec_tb gives the length back and runs exactly what is
     * left. Exceptions give back what they kept from retiring
     * (cpu_restore_state_from_tb, helper_raise_exception). This comes
     * before the exit-request test: an exit taken there unwinds through
     * cpu_restore_state, which gives the whole block back. */
    tcg_ctx->qvm_icount_insn = NULL;
    if (!((CPUArchState *)tcg_ctx->uc->cpu->env_ptr)->qvm_metering_off) {
        TCGv_i64 left = tcg_temp_new_i64(tcg_ctx);
        TCGv_i64 len = tcg_temp_new_i64(tcg_ctx);
        tcg_ctx->qvm_budget_label = gen_new_label(tcg_ctx);
        tcg_gen_ld_i64(tcg_ctx, left, tcg_ctx->cpu_env,
                       offsetof(CPUArchState, qvm_insns_left));
        tcg_gen_movi_i64(tcg_ctx, len, 0xdeadbeef);
        tcg_ctx->qvm_icount_insn = tcg_last_op(tcg_ctx);
        tcg_gen_sub_i64(tcg_ctx, left, left, len);
        tcg_gen_st_i64(tcg_ctx, left, tcg_ctx->cpu_env,
                       offsetof(CPUArchState, qvm_insns_left));
        tcg_gen_brcondi_i64(tcg_ctx, TCG_COND_LT, left, 0,
                            tcg_ctx->qvm_budget_label);
        tcg_temp_free_i64(tcg_ctx, left);
        tcg_temp_free_i64(tcg_ctx, len);
    }
    /* qvm: call the helper only when an exit is requested, as upstream
     * QEMU tests icount_decr inline: a call at the start of every block
     * was 3-10% of run time. x86 has no delay-slot temporary live here,
     * so branching at the start of the block is safe. */
    TCGLabel *skip = gen_new_label(tcg_ctx);
    TCGv_i32 count = tcg_temp_new_i32(tcg_ctx);
    tcg_gen_ld_i32(tcg_ctx, count, tcg_ctx->cpu_env,
                   offsetof(ArchCPU, neg.icount_decr.u32) -
                   offsetof(ArchCPU, env));
    tcg_gen_brcondi_i32(tcg_ctx, TCG_COND_GE, count, 0, skip);
    tcg_temp_free_i32(tcg_ctx, count);
#endif
    TCGv_ptr puc = tcg_const_ptr(tcg_ctx, tcg_ctx->uc);
    TCGv_i32 tmp = tcg_const_i32(tcg_ctx, 0);
    // Unicorn:
    //    We CANT'T use brcondi_i32 here or we will fail liveness analysis
    //    because it marks the end of BB
    if (tcg_ctx->delay_slot_flag != NULL) {
        tcg_gen_mov_i32(tcg_ctx, tmp, tcg_ctx->delay_slot_flag);
    }
    gen_helper_check_exit_request(tcg_ctx, puc, tmp);
    tcg_temp_free_i32(tcg_ctx, tmp);
    tcg_temp_free_ptr(tcg_ctx, puc);
#ifdef TARGET_I386
    gen_set_label(tcg_ctx, skip);
#endif
}

static inline void gen_tb_end(TCGContext *tcg_ctx, TranslationBlock *tb, int num_insns)
{
    if (tcg_ctx->delay_slot_flag != NULL){
        tcg_temp_free_i32(tcg_ctx, tcg_ctx->delay_slot_flag);
    }
    tcg_ctx->delay_slot_flag = NULL;
    if (tb_cflags(tb) & CF_USE_ICOUNT) {
        /* Update the num_insn immediate parameter now that we know
         * the actual insn count.  */
        tcg_set_insn_param(tcg_ctx->icount_start_insn, 1, num_insns);
    }
#ifdef TARGET_I386
    if (tcg_ctx->qvm_icount_insn) {
        tcg_set_insn_param(tcg_ctx->qvm_icount_insn, 1, num_insns);
        gen_set_label(tcg_ctx, tcg_ctx->qvm_budget_label);
        tcg_gen_exit_tb(tcg_ctx, tb, TB_EXIT_QVM_BUDGET);
    }
#endif

    tcg_gen_exit_tb(tcg_ctx, tb, TB_EXIT_REQUESTED);
}

#endif
