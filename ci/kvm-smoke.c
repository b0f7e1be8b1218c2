/*
 * Smoke test for ci/kvm-in-qemu.sh --smoke: proves /dev/kvm works where the
 * script runs its tests, without needing any of the workspace's KVM tests.
 *
 * Opens /dev/kvm, checks KVM_GET_API_VERSION == 12, creates a VM, then runs a
 * vCPU in real mode over four bytes of code ("out 0x10, al; hlt") and checks
 * it exits to us with the port write and then the halt. Prints libtest-style
 * lines so the script's `test result:` parsing counts it; arguments (the
 * libtest flags the script passes) are ignored.
 *
 * Build: gcc -static -O2 -o kvm-smoke ci/kvm-smoke.c
 */
#include <errno.h>
#include <fcntl.h>
#include <linux/kvm.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <unistd.h>

static int fail(const char *what)
{
    printf("test kvm_smoke ... FAILED\n\n");
    printf("kvm_smoke: %s: %s\n\n", what, errno ? strerror(errno) : "unexpected value");
    printf("test result: FAILED. 0 passed; 1 failed; 0 ignored; 0 measured; 0 filtered out\n");
    return 101; /* libtest's status when a test fails */
}

int main(int argc, char **argv)
{
    (void)argc;
    (void)argv;
    setvbuf(stdout, NULL, _IONBF, 0);
    printf("\nrunning 1 test\n");

    errno = 0;
    int kvm = open("/dev/kvm", O_RDWR | O_CLOEXEC);
    if (kvm < 0)
        return fail("open /dev/kvm");
    errno = 0;
    int api = ioctl(kvm, KVM_GET_API_VERSION, 0);
    if (api != 12) {
        fprintf(stdout, "KVM_GET_API_VERSION returned %d, expected 12\n", api);
        return fail("KVM_GET_API_VERSION");
    }
    int vm = ioctl(kvm, KVM_CREATE_VM, 0);
    if (vm < 0)
        return fail("KVM_CREATE_VM");

    /* One page of guest memory at guest physical 0x1000 holding the code. */
    uint8_t *mem = mmap(NULL, 0x1000, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
    if (mem == MAP_FAILED)
        return fail("mmap guest memory");
    static const uint8_t code[] = {0xe6, 0x10, /* out 0x10, al */
                                   0xf4};      /* hlt */
    memcpy(mem, code, sizeof code);
    struct kvm_userspace_memory_region region = {
        .slot = 0, .guest_phys_addr = 0x1000, .memory_size = 0x1000, .userspace_addr = (uintptr_t)mem};
    if (ioctl(vm, KVM_SET_USER_MEMORY_REGION, &region) < 0)
        return fail("KVM_SET_USER_MEMORY_REGION");

    int vcpu = ioctl(vm, KVM_CREATE_VCPU, 0);
    if (vcpu < 0)
        return fail("KVM_CREATE_VCPU");
    int run_size = ioctl(kvm, KVM_GET_VCPU_MMAP_SIZE, 0);
    if (run_size < (int)sizeof(struct kvm_run))
        return fail("KVM_GET_VCPU_MMAP_SIZE");
    struct kvm_run *run = mmap(NULL, run_size, PROT_READ | PROT_WRITE, MAP_SHARED, vcpu, 0);
    if (run == MAP_FAILED)
        return fail("mmap kvm_run");

    struct kvm_sregs sregs;
    if (ioctl(vcpu, KVM_GET_SREGS, &sregs) < 0)
        return fail("KVM_GET_SREGS");
    sregs.cs.base = 0;
    sregs.cs.selector = 0;
    if (ioctl(vcpu, KVM_SET_SREGS, &sregs) < 0)
        return fail("KVM_SET_SREGS");
    struct kvm_regs regs = {.rip = 0x1000, .rax = 0x42, .rflags = 0x2};
    if (ioctl(vcpu, KVM_SET_REGS, &regs) < 0)
        return fail("KVM_SET_REGS");

    errno = 0;
    if (ioctl(vcpu, KVM_RUN, 0) < 0)
        return fail("first KVM_RUN");
    if (run->exit_reason != KVM_EXIT_IO || run->io.direction != KVM_EXIT_IO_OUT || run->io.port != 0x10 ||
        run->io.size != 1 || ((uint8_t *)run)[run->io.data_offset] != 0x42) {
        printf("first exit: reason %u (expected KVM_EXIT_IO out 0x10 = 0x42)\n", run->exit_reason);
        return fail("first KVM_RUN exit");
    }
    if (ioctl(vcpu, KVM_RUN, 0) < 0)
        return fail("second KVM_RUN");
    if (run->exit_reason != KVM_EXIT_HLT) {
        printf("second exit: reason %u (expected KVM_EXIT_HLT)\n", run->exit_reason);
        return fail("second KVM_RUN exit");
    }

    printf("test kvm_smoke ... ok\n\n");
    printf("test result: ok. 1 passed; 0 failed; 0 ignored; 0 measured; 0 filtered out\n\n");
    return 0;
}
