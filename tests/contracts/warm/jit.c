/* Code written at run time, called warm with other arguments
 * (tests/warm.rs): each call must run the code IT wrote, never a
 * translation left from an earlier call.
 *
 * Four places hold code: an RWX anonymous mmap (unmapped between calls),
 * `image_code`, a page of the image's own RWX segment (it stays mapped
 * between calls, so only forgetting changed pages keeps it right), the
 * executable stack (linked with -z execstack; also part of the image),
 * and a .data page made RWX with mprotect.
 *
 *   jit write N   writes `mov eax, N+k; ret` into each place and runs it
 *   jit stale N   runs each place without writing it first: the image's
 *                 initial code (`mov eax, 0x1111; ret`), and what a fresh
 *                 mmap and a fresh stack hold (zeros: they fault, or not,
 *                 as a cold call does)
 *   jit stdin N   runs `image_code` as loaded, then reads new code for it
 *                 from stdin (the kernel writes it, not the contract) and
 *                 runs it again */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

typedef int (*fn)(void);

/* A page of code in a section the linker puts in a writable and
 * executable segment: `mov eax, 0x1111; ret`, then int3 padding. */
__asm__(".section .qvm_rwx,\"awx\",@progbits\n"
        ".p2align 12\n"
        ".globl image_code\n"
        "image_code:\n"
        "  mov $0x1111, %eax\n"
        "  ret\n"
        "  .fill 4090, 1, 0xcc\n"
        ".previous\n");
extern unsigned char image_code[4096];

static unsigned char data_page[8192] __attribute__((aligned(4096))) = {1};

/* mov eax, value; ret */
static void emit(unsigned char *at, int value)
{
    unsigned char code[] = {0xb8, 0, 0, 0, 0, 0xc3};
    memcpy(code + 1, &value, 4);
    memcpy(at, code, sizeof code);
}

static __attribute__((noinline)) int run_on_stack(int value, int write)
{
    unsigned char buf[64] __attribute__((aligned(16)));
    if (write)
        emit(buf, value);
    __asm__ volatile("" ::"r"(buf) : "memory");
    return ((fn)buf)();
}

int main(int argc, char **argv)
{
    if (argc != 3)
        return 2;
    const char *mode = argv[1];
    int n = atoi(argv[2]);
    setvbuf(stdout, NULL, _IONBF, 0);
    if (strcmp(mode, "stdin") == 0) {
        printf("image code as loaded: %#x\n", ((fn)image_code)());
        ssize_t got = read(0, image_code, 64);
        printf("read %zd bytes of code\n", got);
        printf("image code from stdin: %#x\n", ((fn)image_code)());
        return 0;
    }
    int write = strcmp(mode, "write") == 0;
    if (!write && strcmp(mode, "stale") != 0)
        return 3;
    printf("image code as loaded: %#x\n", ((fn)image_code)());
    if (write) {
        emit(image_code, n + 1);
        emit(image_code + 2048, n + 2);
        printf("image code: %#x %#x\n", ((fn)image_code)(), ((fn)(image_code + 2048))());
        /* Rewritten in place, in the same call. */
        emit(image_code, n + 3);
        printf("image code rewritten: %#x\n", ((fn)image_code)());
    }
    unsigned char *page = (unsigned char *)((unsigned long)(data_page + 4095) & ~4095UL);
    if (mprotect(page, 4096, PROT_READ | PROT_WRITE | PROT_EXEC) != 0)
        return 4;
    if (write)
        emit(page + 100, n + 4);
    else
        emit(page + 100, 0x2222);
    printf("data page code: %#x\n", ((fn)(page + 100))());
    printf("stack code: %#x\n", write ? run_on_stack(n + 5, 1) : run_on_stack(0, 1));
    unsigned char *rwx = mmap(NULL, 4096, PROT_READ | PROT_WRITE | PROT_EXEC, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (rwx == MAP_FAILED)
        return 5;
    printf("mmap at %p\n", (void *)rwx);
    if (write) {
        emit(rwx, n + 6);
        printf("mmap code: %#x\n", ((fn)rwx)());
    } else {
        /* What a fresh page holds: zeros, `add [rax], al` over and over. */
        printf("mmap code, not written: about to run\n");
        printf("mmap code: %#x\n", ((fn)rwx)());
    }
    return 0;
}
