//! The self-test guest `--backend auto` relies on. Needs a working
//! /dev/kvm: ignored otherwise, run by ci/kvm-in-qemu.sh inside its VM.
#![cfg(all(target_os = "linux", target_arch = "x86_64"))]

#[test]
#[ignore = "needs a working /dev/kvm: ci/kvm-in-qemu.sh runs it in a nested VM"]
fn kvm_self_test_guest_runs() {
    qvm_engine_kvm::probe().expect("the self-test guest must run on a working /dev/kvm");
}
