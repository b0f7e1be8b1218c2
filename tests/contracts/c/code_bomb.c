/* A JIT-style bomb: generates argv[1] MiB (default 64) of fresh code,
 * `xor eax, eax` then `add eax, 1` over and over and `ret`, and runs it
 * once. Every byte is new code, so the emulator translates all of it: its
 * buffer of translated code must stay bounded (it flushes when full). */
#include <stdio.h>
#include <stdlib.h>
#include <sys/mman.h>

typedef unsigned (*fn)(void);

int main(int argc, char **argv)
{
    size_t size = (argc > 1 ? strtoul(argv[1], NULL, 10) : 64) << 20;
    unsigned char *code = mmap(NULL, size + 3, PROT_READ | PROT_WRITE | PROT_EXEC,
                               MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (code == MAP_FAILED) {
        perror("mmap");
        return 1;
    }
    size_t adds = size / 3;
    code[0] = 0x31; /* xor eax, eax */
    code[1] = 0xc0;
    for (size_t i = 0; i < adds; i++) {
        code[2 + 3 * i] = 0x83; /* add eax, 1 */
        code[3 + 3 * i] = 0xc0;
        code[4 + 3 * i] = 0x01;
    }
    code[2 + 3 * adds] = 0xc3; /* ret */
    unsigned got = ((fn)code)();
    printf("%u adds ran\n", got);
    return got == (unsigned)adds ? 0 : 2;
}
