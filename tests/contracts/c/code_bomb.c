/* A JIT-style bomb: generates argv[1] MiB (default 64) of fresh code,
 * `xor eax, eax`, then `add eax, [rdi]` over and over, then `ret`, and
 * runs it once with rdi pointing at a 1. Every byte is new code, and each
 * 2-byte load becomes tens of bytes of host code in the emulator (its TLB
 * check), so the emulator translates many times the guest's size: its
 * buffer of translated code must stay bounded (it flushes when full). */
#include <stdio.h>
#include <stdlib.h>
#include <sys/mman.h>

typedef unsigned (*fn)(const unsigned *one);

int main(int argc, char **argv)
{
    size_t size = (argc > 1 ? strtoul(argv[1], NULL, 10) : 64) << 20;
    unsigned char *code = mmap(NULL, size + 3, PROT_READ | PROT_WRITE | PROT_EXEC,
                               MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (code == MAP_FAILED) {
        perror("mmap");
        return 1;
    }
    size_t adds = size / 2;
    code[0] = 0x31; /* xor eax, eax */
    code[1] = 0xc0;
    for (size_t i = 0; i < adds; i++) {
        code[2 + 2 * i] = 0x03; /* add eax, [rdi] */
        code[3 + 2 * i] = 0x07;
    }
    code[2 + 2 * adds] = 0xc3; /* ret */
    static const unsigned one = 1;
    unsigned got = ((fn)code)(&one);
    printf("%u adds ran\n", got);
    return got == (unsigned)adds ? 0 : 2;
}
