/*
 * qvm: x87 stack overflow and underflow (the #IS case of IE).
 *
 * The translator describes each x87 instruction that reads a register or
 * pushes with one 32-bit word, X87_STACK_*, and calls helper_fstack before
 * it (x87_stack.c). The helper checks the tags; when the instruction would
 * read an empty register or push onto a full stack it does what the CPU
 * does instead of the instruction, and the translator skips the rest.
 *
 * This library is free software; you can redistribute it and/or
 * modify it under the terms of the GNU Lesser General Public
 * License as published by the Free Software Foundation; either
 * version 2.1 of the License, or (at your option) any later version.
 */
#ifndef QVM_X87_STACK_H
#define QVM_X87_STACK_H

/* Bits 0-7: the registers ST(0)..ST(7) the instruction reads, relative to
 * TOP before it. */
#define X87_STACK_READS(mask)   ((mask) & 0xff)
#define X87_STACK_ST0           X87_STACK_READS(1)
#define X87_STACK_ST0_ST(i)     X87_STACK_READS(1 | (1 << (i)))
/* Bit 8: it pushes; ST(7) must be empty. */
#define X87_STACK_PUSHES        (1 << 8)
/* Bits 9-10: registers popped after the response, when IE is masked. */
#define X87_STACK_POPS(n)       ((n) << 9)
/* Bits 11-13: what the instruction leaves on a fault, IE masked. */
#define X87_STACK_RESPONSE(r)   ((r) << 11)
enum {
    X87_STACK_TO_ST = 1,    /* the QNaN indefinite in ST(dest) */
    X87_STACK_TO_PUSH,      /* the indefinite pushed */
    X87_STACK_TO_ST0_PUSH,  /* FPTAN, FSINCOS, FXTRACT: in ST(0), pushed */
    X87_STACK_TO_CC,        /* C3 C2 C0 = 111 (unordered), even unmasked */
    X87_STACK_TO_EFLAGS,    /* ZF PF CF = 111, OF SF AF = 0, even unmasked */
    X87_STACK_TO_MEMORY,    /* the operand's indefinite stored */
    X87_STACK_TO_XCHG,      /* each empty one of ST(0), ST(dest) gets the
                             * indefinite, then they are exchanged */
};
/* Bits 14-16: dest for X87_STACK_TO_ST and X87_STACK_TO_XCHG. */
#define X87_STACK_DEST(i)       ((i) << 14)
/* Bits 17-20: the memory operand, read or written even when the stack
 * faults, so that a bad address faults first as on the CPU. */
#define X87_STACK_MEM(m)        ((m) << 17)
enum {
    X87_STACK_LOAD16 = 1,
    X87_STACK_LOAD32,
    X87_STACK_LOAD64,
    X87_STACK_LOAD80,       /* FLD m80 */
    X87_STACK_LOAD_BCD,     /* FBLD */
    X87_STACK_STORE_F32,
    X87_STACK_STORE_F64,
    X87_STACK_STORE_F80,
    X87_STACK_STORE_I16,
    X87_STACK_STORE_I32,
    X87_STACK_STORE_I64,
    X87_STACK_STORE_BCD,
};

/* Bit 21: a fault clears C2 (FSIN, FCOS, FSINCOS, FPTAN, FPREM, FPREM1,
 * which report in C2); other instructions leave it. */
#define X87_STACK_CLEARS_C2     (1 << 21)

#define X87_STACK_READS_OF(d)   ((d) & 0xff)
#define X87_STACK_POPS_OF(d)    (((d) >> 9) & 3)
#define X87_STACK_RESPONSE_OF(d) (((d) >> 11) & 7)
#define X87_STACK_DEST_OF(d)    (((d) >> 14) & 7)
#define X87_STACK_MEM_OF(d)     (((d) >> 17) & 15)

#endif
