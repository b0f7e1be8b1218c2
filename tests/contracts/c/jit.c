/* Self-modifying code, as a JIT does it: code written into an RWX page and
 * rewritten in place, and code written while a page is RW, then made RX,
 * then rewritten through another RW/RX round. Every call must run the code
 * as last written: the emulator must drop translations of changed code. */
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>

typedef int (*fn)(void);

/* mov eax, imm32; ret */
static void emit(unsigned char *at, int value)
{
    unsigned char code[] = {0xb8, 0, 0, 0, 0, 0xc3};
    memcpy(code + 1, &value, 4);
    memcpy(at, code, sizeof code);
}

int main(void)
{
    unsigned char *rwx = mmap(NULL, 4096, PROT_READ | PROT_WRITE | PROT_EXEC,
                              MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    unsigned char *rw = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (rwx == MAP_FAILED || rw == MAP_FAILED)
        return 1;
    int sum = 0;
    for (int i = 1; i <= 50; i++) {
        emit(rwx, i);
        int got = ((fn)rwx)();
        emit(rwx + 64, 1000 + i); /* same page, other code */
        got += ((fn)(rwx + 64))();
        if (got != 1000 + 2 * i) {
            printf("rwx round %d: got %d\n", i, got);
            return 2;
        }
        sum += got;
    }
    for (int i = 1; i <= 20; i++) {
        if (mprotect(rw, 4096, PROT_READ | PROT_WRITE) != 0)
            return 3;
        emit(rw, 7 * i);
        if (mprotect(rw, 4096, PROT_READ | PROT_EXEC) != 0)
            return 4;
        int got = ((fn)rw)();
        if (got != 7 * i) {
            printf("rw/rx round %d: got %d\n", i, got);
            return 5;
        }
        sum += got;
    }
    printf("jit ok, sum %d\n", sum);
    return 0;
}
