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
    /* qvm: instruction metering (docs/gas.md). Subtract the block's
     * length (patched in gen_tb_end) from the budget and store it; exit
     * with TB_EXIT_QVM_BUDGET before running anything when the budget went
     * negative or an exit is requested (icount_decr negative): one branch
     * on the sign of their OR. qvm_budget_short (cpu-exec.c) gives the
     * length back and sorts it out. Storing before the branch keeps the
     * value out of a local temporary. */
    tcg_ctx->qvm_icount_insn = NULL;
    if (!((CPUArchState *)tcg_ctx->uc->cpu->env_ptr)->qvm_metering_off) {
        TCGv_i32 budget = tcg_temp_new_i32(tcg_ctx);
        TCGv_i32 len = tcg_temp_new_i32(tcg_ctx);
        TCGv_i32 exit_request = tcg_temp_new_i32(tcg_ctx);
        tcg_ctx->qvm_budget_label = gen_new_label(tcg_ctx);
        tcg_gen_ld_i32(tcg_ctx, budget, tcg_ctx->cpu_env,
                       offsetof(CPUArchState, qvm_insns_budget));
        tcg_gen_movi_i32(tcg_ctx, len, 0xdeadbeef);
        tcg_ctx->qvm_icount_insn = tcg_last_op(tcg_ctx);
        tcg_gen_sub_i32(tcg_ctx, budget, budget, len);
        tcg_gen_st_i32(tcg_ctx, budget, tcg_ctx->cpu_env,
                       offsetof(CPUArchState, qvm_insns_budget));
        tcg_gen_ld_i32(tcg_ctx, exit_request, tcg_ctx->cpu_env,
                       offsetof(ArchCPU, neg.icount_decr.u32) -
                       offsetof(ArchCPU, env));
        tcg_gen_or_i32(tcg_ctx, budget, budget, exit_request);
        tcg_gen_brcondi_i32(tcg_ctx, TCG_COND_LT, budget, 0,
                            tcg_ctx->qvm_budget_label);
        tcg_temp_free_i32(tcg_ctx, budget);
        tcg_temp_free_i32(tcg_ctx, len);
        tcg_temp_free_i32(tcg_ctx, exit_request);
        return;
    }
    /* Without the counter: call the helper only when an exit is
     * requested, as upstream QEMU tests icount_decr inline: a call at the
     * start of every block was 3-10% of run time. x86 has no delay-slot
     * temporary live here, so branching at the start of the block is
     * safe. */
    TCGLabel *skip = gen_new_label(tcg_ctx);
    TCGv_i32 pending = tcg_temp_new_i32(tcg_ctx);
    tcg_gen_ld_i32(tcg_ctx, pending, tcg_ctx->cpu_env,
                   offsetof(ArchCPU, neg.icount_decr.u32) -
                   offsetof(ArchCPU, env));
    tcg_gen_brcondi_i32(tcg_ctx, TCG_COND_GE, pending, 0, skip);
    tcg_temp_free_i32(tcg_ctx, pending);
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
