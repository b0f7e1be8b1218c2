/*
 * x87 transcendental instructions in softfloat floatx80 arithmetic.
 *
 * This library is free software; you can redistribute it and/or
 * modify it under the terms of the GNU Lesser General Public
 * License as published by the Free Software Foundation; either
 * version 2.1 of the License, or (at your option) any later version.
 */
#ifndef X87_TRANSCENDENTAL_H
#define X87_TRANSCENDENTAL_H

/*
 * Each runs one instruction on env's register stack and status word,
 * flags included, as the instruction's helper in fpu_helper.c would.
 */
void x87_f2xm1(CPUX86State *env);
void x87_fyl2x(CPUX86State *env);
void x87_fyl2xp1(CPUX86State *env);
void x87_fpatan(CPUX86State *env);
void x87_fsin(CPUX86State *env);
void x87_fcos(CPUX86State *env);
void x87_fsincos(CPUX86State *env);
void x87_fptan(CPUX86State *env);

#endif
