#!/usr/bin/env bash
# Run the workspace's KVM-backed tests for real, also on machines without /dev/kvm.
#
#   ci/kvm-in-qemu.sh [--no-build] [--list FILE]
#
# The KVM variant of a test is a libtest test whose name contains "kvm" and which
# is #[ignore]d, so each test binary runs as `<bin> --ignored --test-threads=1 kvm`.
#
# 1. Unless --no-build: `cargo test --workspace --no-run --message-format=json`
#    and write the test executables to the list (default
#    target/kvm-in-qemu/test-binaries.txt). One line per binary: its path,
#    optionally a TAB and the directory to run it in (cargo runs a package's
#    tests in the package's directory; a hand-written list may give just paths,
#    which then run in the repository root).
# 2. If this host has a usable /dev/kvm, run the tests here directly (not if
#    it is kvm-pvm, which qvm's KVM backend refuses).
# 3. Otherwise boot a QEMU VM under TCG with an emulated AMD EPYC (nested SVM),
#    whose Linux loads kvm-amd and so has a working /dev/kvm (see
#    /work/shared/kvm-in-qemu.md). The VM mounts this host's root filesystem
#    read-only over 9p, the target directory writable on top, chroots into it
#    and runs the same binaries (they link the host's glibc). Everything the VM
#    needs (Debian kernel, vmlinux, initramfs) is cached in target/kvm-in-qemu/.
# 4. Print each binary's output, then as the last line `N passed, M failed`
#    summed over libtest's `test result:` lines. Exit status is non-zero if a
#    test failed, a binary exited non-zero, the VM timed out or gave no
#    results, or no test ran at all.
#
# KVM does not meter instructions, so a contract that hangs on it would hang
# the VM until KVM_QEMU_TIMEOUT: every call the tests make carries
# `--timeout` (runner::CALL_TIMEOUT, 300 s), which ends it and fails the
# test instead.
#
# Options and environment:
#   --no-build          use the existing list instead of building
#   --list FILE         list of test binaries (also KVM_TEST_LIST)
#   --smoke             run only ci/kvm-smoke.c (built with gcc -static) instead of the list
#   KVM_TEST_ARGS       arguments for every binary, word-split
#                       (default: --ignored --test-threads=1 kvm)
#   KVM_QEMU_TIMEOUT    seconds before the VM is killed (default 2400)
#   QVM_RANDOM_*        the random-instruction test's switches, passed into the VM
#   KVM_FORCE_QEMU=1    use the VM even when this host has /dev/kvm
#   KVM_9P_HOSTROOT_OPTS, KVM_9P_TARGET_OPTS
#                       extra 9p mount options in the VM for the host root and
#                       the target share (default cache=loose for both: nothing
#                       else changes them during a run, and it made a test binary
#                       that spawns target/debug/qvm 2.5x faster; set to empty for
#                       uncached 9p)
set -euo pipefail
CALLER_DIR=$PWD
cd "$(dirname "${BASH_SOURCE[0]}")/.."
REPO=$(pwd -P)

build=1
smoke=0
list=${KVM_TEST_LIST:-}
while [ $# -gt 0 ]; do
    case "$1" in
        --no-build) build=0 ;;
        --smoke) smoke=1 ;;
        --list) list=${2:?--list needs a file}; shift ;;
        --list=*) list=${1#--list=} ;;
        -h|--help) sed -n '2,/^set -euo/{/^set -euo/d;s/^# \{0,1\}//;p}' "$0"; exit 0 ;;
        *) echo "kvm-in-qemu: unknown argument: $1 (try --help)" >&2; exit 2 ;;
    esac
    shift
done

TEST_ARGS=${KVM_TEST_ARGS:---ignored --test-threads=1 kvm}
TIMEOUT=${KVM_QEMU_TIMEOUT:-2400}
TARGET_DIR=${CARGO_TARGET_DIR:-$REPO/target}
mkdir -p "$TARGET_DIR"
TARGET_DIR=$(cd "$TARGET_DIR" && pwd -P)
WORK=$TARGET_DIR/kvm-in-qemu
RESULTS=$WORK/results
RUN=$WORK/run
mkdir -p "$WORK" "$RUN"
list=${list:-$WORK/test-binaries.txt}
case "$list" in /*) ;; *) list=$CALLER_DIR/$list ;; esac

log() { echo "kvm-in-qemu: $*"; }
# A failure before any test ran: say why, and still end with the summary line.
die() {
    echo "kvm-in-qemu: error: $*" >&2
    echo "0 passed, 0 failed"
    exit 1
}
# Quote a value for a POSIX shell.
shq() { printf "'%s'" "$(printf '%s' "$1" | sed "s/'/'\\\\''/g")"; }
now() { date +%s.%N; }
since() { awk -v a="$1" -v b="$(now)" 'BEGIN { printf "%.1f", b - a }'; }

case "$TARGET_DIR$REPO" in
    *[[:space:]]*) die "paths with whitespace are not supported: $TARGET_DIR" ;;
esac

# One run at a time: the results directory and the VM's files are shared.
exec 9>"$WORK/lock"
flock -n 9 || { log "waiting for another run to finish..."; flock 9; }

# --- 1. the list of test binaries ------------------------------------------
if [ "$smoke" = 1 ]; then
    command -v gcc >/dev/null || die "gcc is needed for --smoke"
    gcc -static -O2 -Wall -o "$WORK/kvm-smoke" ci/kvm-smoke.c || die "building ci/kvm-smoke.c failed"
    list=$RUN/smoke-list.txt
    printf '%s\n' "$WORK/kvm-smoke" >"$list"
elif [ "$build" = 1 ]; then
    cmd=(cargo test --workspace --no-run --message-format=json)
    if [ -f Cargo.lock ]; then
        cmd+=(--locked)
    fi
    log "${cmd[*]}"
    "${cmd[@]}" >"$WORK/cargo-test-no-run.json" || die "cargo test --no-run failed"
    python3 - "$WORK/cargo-test-no-run.json" >"$list.tmp" <<'EOF' || die "could not read cargo's JSON messages"
import json, os, sys
seen = set()
for line in open(sys.argv[1], encoding="utf-8"):
    line = line.strip()
    if not line.startswith("{"):
        continue
    msg = json.loads(line)
    if msg.get("reason") != "compiler-artifact" or not msg.get("profile", {}).get("test"):
        continue
    exe = msg.get("executable")
    if not exe or exe in seen:
        continue
    seen.add(exe)
    print(exe + "\t" + os.path.dirname(msg["manifest_path"]))
EOF
    mv "$list.tmp" "$list"
fi
[ -f "$list" ] || die "no test list at $list (run without --no-build, or give --list FILE / KVM_TEST_LIST)"

# The VM reads a normalized copy, with absolute paths.
bins=()
: >"$RUN/list.txt"
while IFS=$'\t' read -r bin dir; do
    [ -n "$bin" ] || continue
    case "$bin" in \#*) continue ;; esac
    case "$bin" in /*) ;; *) bin=$REPO/$bin ;; esac
    case "$dir" in ''|/*) ;; *) dir=$REPO/$dir ;; esac
    [ -x "$bin" ] || die "not an executable: $bin (from $list)"
    bins+=("$bin")
    printf '%s\t%s\n' "$bin" "$dir" >>"$RUN/list.txt"
done <"$list"
N=${#bins[@]}
[ "$N" -gt 0 ] || die "the list $list names no test binaries"

# The runner, executed inside the VM's chroot (or directly on a KVM host) by
# the host's /bin/sh. Its settings come from config.sh next to it.
cat >"$RUN/run-tests.sh" <<'EOF'
#!/bin/sh
# Generated by ci/kvm-in-qemu.sh: runs every binary of $LIST with $TEST_ARGS,
# saving output and exit status of binary number i in $RESULTS/i.{log,status}.
set -u
. "$1"
set -f
mkdir -p "$RESULTS"
[ -r "$LIST" ] || { echo "kvm-in-qemu: cannot read $LIST"; exit 2; }
total=$(grep -c . "$LIST")
up() { cut -d' ' -f1 /proc/uptime; }
i=0
overall=0
tab=$(printf '\t')
while IFS=$tab read -r bin dir; do
    [ -n "$bin" ] || continue
    i=$((i + 1))
    echo "$bin" >"$RESULTS/$i.bin"
    t0=$(up)
    (
        cd "${dir:-$REPO}" || exit 126
        [ -z "$dir" ] || export CARGO_MANIFEST_DIR="$dir"
        exec "$bin" $TEST_ARGS
    ) >"$RESULTS/$i.log" 2>&1 </dev/null
    st=$?
    echo "$st" >"$RESULTS/$i.status"
    [ "$st" = 0 ] || overall=1
    sync # with 9p cache=loose, so the host has it even if the VM is killed later
    echo "kvm-in-qemu: [$i/$total] exit $st after $(awk -v a="$t0" -v b="$(up)" 'BEGIN { printf "%.1f", b - a }') s: $bin"
done <"$LIST"
echo "$overall" >"$RESULTS/done"
exit "$overall"
EOF
chmod +x "$RUN/run-tests.sh"
{
    echo "REPO=$(shq "$REPO")"
    echo "TARGET_DIR=$(shq "$TARGET_DIR")"
    echo "REPO_DIR=$(shq "$REPO")"
    echo "RESULTS=$(shq "$RESULTS")"
    echo "LIST=$(shq "$RUN/list.txt")"
    echo "TEST_ARGS=$(shq "$TEST_ARGS")"
    echo "RUN_SCRIPT=$(shq "$RUN/run-tests.sh")"
    # The VM's environment: PATH, HOME=/tmp, CI only if set here (tests tell
    # unset from empty), and rustup's homes, which HOME=/tmp would hide.
    echo "GUEST_PATH=$(shq "$PATH")"
    # The random-instruction test's switches (QVM_RANDOM_KINDS=x87, ...;
    # values without spaces), forwarded to the tests in the VM.
    echo "GUEST_RANDOM_ENV=$(shq "$(env | grep '^QVM_RANDOM_' | tr '\n' ' ')")"
    if [ -n "${CI+set}" ]; then
        echo "GUEST_CI=$(shq "$CI")"
    fi
    echo "GUEST_RUSTUP_HOME=$(shq "${RUSTUP_HOME:-$(test -d "${HOME:-/}/.rustup" && echo "$HOME/.rustup")}")"
    echo "GUEST_CARGO_HOME=$(shq "${CARGO_HOME:-$(test -d "${HOME:-/}/.cargo" && echo "$HOME/.cargo")}")"
    echo "NBINS=$N"
    echo "HOSTROOT_9P_OPTS=$(shq "${KVM_9P_HOSTROOT_OPTS-cache=loose}")"
    echo "TARGET_9P_OPTS=$(shq "${KVM_9P_TARGET_OPTS-cache=loose}")"
} >"$RUN/config.sh"
rm -rf "$RESULTS"
mkdir -p "$RESULTS"

# --- 5. report ---------------------------------------------------------------
# Print every binary's output, sum libtest's counts, end with `N passed, M failed`.
report() {
    local vm_problem=$1 bad=0 i st
    for ((i = 1; i <= N; i++)); do
        if [ -f "$RESULTS/$i.status" ]; then
            st=$(cat "$RESULTS/$i.status")
        else
            st=missing
        fi
        echo "==== [$i/$N] ${bins[i - 1]} (exit $st)"
        if [ -f "$RESULTS/$i.log" ]; then
            cat "$RESULTS/$i.log"
        else
            echo "(no output saved)"
        fi
        [ "$st" = 0 ] || bad=$((bad + 1))
    done
    local counts passed failed
    counts=$(cat "$RESULTS"/*.log 2>/dev/null | tr -d '\r' | awk '
        /^test result: / {
            for (k = 1; k <= NF; k++) {
                if ($(k + 1) ~ /^passed;?$/) p += $k
                if ($(k + 1) ~ /^failed;?$/) f += $k
            }
        }
        END { print p + 0, f + 0 }' || true)
    read -r passed failed <<<"$counts"
    local status=0
    if [ -n "$vm_problem" ]; then
        echo "kvm-in-qemu: FAILED: $vm_problem"
        status=1
    fi
    if [ "$bad" -gt 0 ]; then
        echo "kvm-in-qemu: FAILED: $bad of $N test binaries exited non-zero or left no status"
        status=1
    fi
    if [ "$failed" -gt 0 ]; then
        echo "kvm-in-qemu: FAILED: $failed tests failed"
        status=1
    fi
    if [ "$passed" -eq 0 ]; then
        echo "kvm-in-qemu: FAILED: no KVM tests ran (no test passed in $N binaries with args: $TEST_ARGS)"
        status=1
    fi
    echo "$passed passed, $failed failed"
    exit "$status"
}

# --- 2. fast path: this host has KVM -----------------------------------------
# Not kvm-pvm (Pagetable-based Virtual Machine): it offers a /dev/kvm without
# hardware virtualization that runs only PVM-aware guests, and qvm's KVM
# backend refuses it (engine-kvm checks /sys/module/kvm_pvm the same way).
host_kvm=0
if [ -c /dev/kvm ] && (exec 3<>/dev/kvm) 2>/dev/null; then
    if [ -d /sys/module/kvm_pvm ]; then
        log "this host's /dev/kvm is kvm-pvm, which qvm's KVM backend cannot use; using a VM"
    elif [ "${KVM_FORCE_QEMU:-0}" = 1 ]; then
        log "KVM_FORCE_QEMU=1: using a VM although this host has /dev/kvm"
    else
        host_kvm=1
    fi
fi
if [ "$host_kvm" = 1 ]; then
    log "/dev/kvm is usable here; running $N test binaries directly..."
    t0=$(now)
    problem=
    CI=${CI:-} /bin/sh "$RUN/run-tests.sh" "$RUN/config.sh" || true
    log "tests took $(since "$t0") s"
    [ -f "$RESULTS/done" ] || problem="the runner left no results"
    report "$problem"
fi

# --- 3. prepare the VM (cached) ----------------------------------------------
as_root() {
    if [ "$(id -u)" = 0 ]; then
        "$@"
    elif command -v sudo >/dev/null; then
        sudo "$@"
    else
        die "need root (or sudo) to run: $*"
    fi
}
missing=()
command -v qemu-system-x86_64 >/dev/null || missing+=(qemu-system-x86)
[ "$(dpkg-query -W -f='${Status}' busybox-static 2>/dev/null)" = "install ok installed" ] || missing+=(busybox-static)
command -v cpio >/dev/null || missing+=(cpio)
if [ ${#missing[@]} -gt 0 ]; then
    log "installing ${missing[*]}..."
    export DEBIAN_FRONTEND=noninteractive
    if ! as_root apt-get install -y --no-install-recommends "${missing[@]}"; then
        as_root apt-get update
        as_root apt-get install -y --no-install-recommends "${missing[@]}" || die "could not install ${missing[*]}"
    fi
fi
BUSYBOX=/bin/busybox
[ -x "$BUSYBOX" ] || die "$BUSYBOX is missing"

# Modules, in load order. 9p first (the shares), then KVM.
MODULES=(virtio_ring virtio virtio_pci_modern_dev virtio_pci_legacy_dev virtio_pci
         netfs fscache 9pnet 9pnet_virtio 9p
         irqbypass kvm ccp kvm-amd)

# The kernel: the package linux-image-amd64 depends on, unpacked (not
# installed); we keep only vmlinux and the modules we need.
kpkg=$(apt-cache depends linux-image-amd64 2>/dev/null \
    | awk '$1 == "Depends:" && $2 ~ /^<?linux-image-/ { gsub(/[<>]/, "", $2); print $2; exit }') || true
if [ -z "$kpkg" ]; then
    kpkg=$(cd "$WORK" && ls -d kernel-linux-image-* 2>/dev/null | sed 's/^kernel-//' | tail -n 1) || true
    [ -n "$kpkg" ] || die "cannot tell which kernel linux-image-amd64 depends on (apt-get update?)"
    log "apt knows no linux-image-amd64; using the cached $kpkg"
fi
KDIR=$WORK/kernel-$kpkg
modules_key=$(printf '%s\n' "${MODULES[@]}" | sha256sum | cut -c1-12)
if [ ! -f "$KDIR/ready-$modules_key" ]; then
    log "fetching and unpacking kernel package $kpkg..."
    t0=$(now)
    rm -rf "$KDIR" "$WORK/download"
    mkdir -p "$WORK/download" "$KDIR/modules"
    (cd "$WORK/download" && apt-get download "$kpkg") \
        || { as_root apt-get update && (cd "$WORK/download" && apt-get download "$kpkg"); } \
        || die "apt-get download $kpkg failed"
    dpkg -x "$WORK/download/${kpkg}"_*.deb "$WORK/download/root"
    root=$WORK/download/root
    kv=$(ls "$root/lib/modules" | head -n 1)
    if [ -z "$kv" ] || [ ! -f "$root/boot/vmlinuz-$kv" ]; then
        die "unexpected layout in $kpkg"
    fi
    # The bzImage holds the kernel ELF as an XZ stream; booting that ELF
    # directly (PVH entry) skips the slow in-guest decompression under TCG.
    python3 - "$root/boot/vmlinuz-$kv" "$KDIR/vmlinux" <<'EOF' || die "could not extract vmlinux from vmlinuz-$kv"
import lzma, sys
data = open(sys.argv[1], "rb").read()
magic = b"\xfd7zXZ\x00"
pos = data.find(magic)
while pos >= 0:
    try:
        elf = lzma.LZMADecompressor(format=lzma.FORMAT_XZ).decompress(data[pos:])
    except lzma.LZMAError:
        elf = b""
    if elf[:4] == b"\x7fELF":
        open(sys.argv[2], "wb").write(elf)
        sys.exit(0)
    pos = data.find(magic, pos + 1)
sys.exit("no XZ-compressed ELF found")
EOF
    mdir=$root/lib/modules/$kv
    order=()
    for m in "${MODULES[@]}"; do
        f=$(find "$mdir/kernel" \( -name "$m.ko" -o -name "$m.ko.xz" -o -name "$m.ko.zst" \) -print -quit)
        if [ -z "$f" ]; then
            grep -q "/$m\.ko\$" "$mdir/modules.builtin" 2>/dev/null || die "module $m not found in $kpkg"
            continue # built into the kernel
        fi
        case "$f" in
            *.xz) python3 -c 'import lzma,sys; open(sys.argv[2],"wb").write(lzma.open(sys.argv[1]).read())' "$f" "$KDIR/modules/$m.ko" ;;
            *.zst) zstd -q -d -o "$KDIR/modules/$m.ko" "$f" ;;
            *) cp "$f" "$KDIR/modules/$m.ko" ;;
        esac
        order+=("$m")
    done
    printf '%s\n' "${order[@]}" >"$KDIR/modules/order"
    echo "$kv" >"$KDIR/version"
    rm -rf "$WORK/download"
    touch "$KDIR/ready-$modules_key"
    log "kernel $kv ready in $(since "$t0") s"
fi
kv=$(cat "$KDIR/version")

# The initramfs: static busybox, the modules and /init. Only /init's settings
# change from run to run, and those come from run/config.sh through the share.
INIT=$(cat <<'EOF'
#!/bin/busybox sh
/bin/busybox --install -s /bin
mount -t devtmpfs devtmpfs /dev
exec </dev/console >/dev/console 2>&1
mount -t proc proc /proc
mount -t sysfs sysfs /sys

# QEMU's isa-debug-exit device: writing byte N to port 0xf4 ends QEMU with
# status (N << 1) | 1. Power off the ordinary way if that fails.
vm_exit() {
    sync
    printf "\\$(printf %03o "$1")" | dd of=/dev/port bs=1 seek=244 count=1 2>/dev/null
    poweroff -f
}
fail() {
    echo "kvm-in-qemu(vm): error: $*"
    vm_exit 3
}
up() { cut -d' ' -f1 /proc/uptime; }

for m in $(cat /modules/order); do
    insmod "/modules/$m.ko" || fail "insmod $m"
done
opts=trans=virtio,version=9p2000.L,msize=512000
mkdir -p /target /host
mount -t 9p -o "$opts" target /target || fail "cannot mount the target share"
[ -f /target/kvm-in-qemu/run/config.sh ] || fail "no kvm-in-qemu/run/config.sh in the target share"
. /target/kvm-in-qemu/run/config.sh
mount -t 9p -o "ro,$opts${HOSTROOT_9P_OPTS:+,$HOSTROOT_9P_OPTS}" hostroot /host || fail "cannot mount the host root share"
# Scratch filesystems first, then the writable shares on top: the checkout
# may itself live under /tmp (a CI clone often does), and a tmpfs mounted
# later would hide it.
mount -t devtmpfs devtmpfs /host/dev || fail "cannot mount /host/dev"
mkdir -p /host/dev/shm /host/dev/pts
mount -t tmpfs tmpfs /host/dev/shm
mount -t devpts devpts /host/dev/pts
mount -t proc proc /host/proc || fail "cannot mount /host/proc"
mount -t sysfs sysfs /host/sys || fail "cannot mount /host/sys"
mount -t tmpfs tmpfs /host/tmp || fail "cannot mount /host/tmp"
# The repository, writable (tests read contract sources and write beside
# them); mkdir -p only creates the mount point where it is not on the
# read-only root (that is, under the new /tmp).
mkdir -p "/host$REPO_DIR" || fail "cannot create the mount point $REPO_DIR"
mount -t 9p -o "$opts${TARGET_9P_OPTS:+,$TARGET_9P_OPTS}" repo "/host$REPO_DIR" || fail "cannot mount the repository share at $REPO_DIR"
mkdir -p "/host$TARGET_DIR" || fail "cannot create the mount point $TARGET_DIR"
if [ -n "${TARGET_9P_OPTS:-}" ]; then
    umount /target
    mount -t 9p -o "$opts,$TARGET_9P_OPTS" target "/host$TARGET_DIR" || fail "cannot mount the target share at $TARGET_DIR"
else
    mount -o bind /target "/host$TARGET_DIR" || fail "cannot mount the target share at $TARGET_DIR"
fi
ls -l /host/dev/kvm || fail "no /dev/kvm in the VM"
echo "kvm-in-qemu: VM up after $(up) s (guest clock); running $NBINS test binaries inside the VM..."
# The VM runs under TCG: its "native" CPU is QEMU's (random_code::Oracle).
set -- PATH="$GUEST_PATH" HOME=/tmp QVM_HOST_CPU=qemu-tcg
[ -z "${GUEST_CI+set}" ] || set -- "$@" CI="$GUEST_CI"
for kv in ${GUEST_RANDOM_ENV:-}; do set -- "$@" "$kv"; done
[ -z "$GUEST_RUSTUP_HOME" ] || set -- "$@" RUSTUP_HOME="$GUEST_RUSTUP_HOME"
[ -z "$GUEST_CARGO_HOME" ] || set -- "$@" CARGO_HOME="$GUEST_CARGO_HOME"
chroot /host /usr/bin/env -i "$@" /bin/sh "$RUN_SCRIPT" "$TARGET_DIR/kvm-in-qemu/run/config.sh"
st=$?
echo "kvm-in-qemu: tests done at $(up) s (guest clock), runner status $st"
umount "/host$TARGET_DIR"
umount "/host$REPO_DIR"
umount /target 2>/dev/null
vm_exit "$st"
EOF
)
init_key=$( { printf '%s\n' "$INIT"; cat "$KDIR/modules/order"; sha256sum "$BUSYBOX"; } | sha256sum | cut -c1-12)
INITRD=$KDIR/initramfs-$init_key.cpio
if [ ! -f "$INITRD" ]; then
    log "building the initramfs..."
    stage=$WORK/initramfs-stage
    rm -rf "$stage" "$KDIR"/initramfs-*.cpio
    mkdir -p "$stage"/{bin,dev,proc,sys,modules}
    cp "$BUSYBOX" "$stage/bin/busybox"
    cp "$KDIR"/modules/*.ko "$KDIR/modules/order" "$stage/modules/"
    printf '%s\n' "$INIT" >"$stage/init"
    chmod +x "$stage/init"
    # Uncompressed: decompressing in the guest costs more under TCG than loading.
    (cd "$stage" && find . -mindepth 1 | LC_ALL=C sort | cpio -o -H newc --quiet) >"$INITRD.tmp"
    mv "$INITRD.tmp" "$INITRD"
    rm -rf "$stage"
fi

# --- 4. boot the VM and run the tests inside it --------------------------------
qemu_path() { printf '%s' "${1//,/,,}"; } # QEMU option values double their commas
# shellcheck disable=SC2054 # the commas are QEMU's
qemu=(qemu-system-x86_64
    -machine pc -accel tcg -cpu EPYC -smp 1 -m 2G
    -nographic -no-reboot -nodefaults -serial stdio
    -kernel "$KDIR/vmlinux" -initrd "$INITRD"
    -append 'console=ttyS0 quiet loglevel=1 panic=-1'
    -device isa-debug-exit,iobase=0xf4,iosize=0x04
    -fw_cfg name=etc/sercon-port,string=0
    -virtfs "local,path=/,mount_tag=hostroot,security_model=none,readonly=on,multidevs=remap,id=hostroot"
    -virtfs "local,path=$(qemu_path "$REPO"),mount_tag=repo,security_model=none,id=repo"
    -virtfs "local,path=$(qemu_path "$TARGET_DIR"),mount_tag=target,security_model=none,id=target")
log "booting VM (kernel $kv, QEMU TCG, -cpu EPYC, timeout ${TIMEOUT}s)..."
t0=$(now)
set +e
# QEMU's warnings about EPYC features TCG lacks and about the fw_cfg name
# (which silences SeaBIOS's serial console) go only to console.log.
# sed -u, not tr: tr's block buffering on a pipe would hide the progress lines.
timeout -k 10 "$TIMEOUT" "${qemu[@]}" </dev/null 2>&1 | sed -u 's/\r//g' | tee "$WORK/console.log" \
    | grep --line-buffered -v -e "TCG doesn't support requested feature" -e "name=etc/sercon-port"
qemu_status=${PIPESTATUS[0]}
set -e
log "VM finished after $(since "$t0") s (QEMU exit status $qemu_status)"

problem=
if [ "$qemu_status" = 124 ] || [ "$qemu_status" = 137 ]; then
    problem="the VM timed out after ${TIMEOUT}s (KVM_QEMU_TIMEOUT)"
elif [ $((qemu_status & 1)) = 0 ]; then
    problem="the VM did not report a status through isa-debug-exit (QEMU exit status $qemu_status)"
elif [ "$qemu_status" = 7 ]; then
    problem="the VM could not set up the tests (see the console output above)"
fi
if [ ! -f "$RESULTS/done" ] && [ -z "$problem" ]; then
    problem="the VM left no results in $RESULTS"
fi
report "$problem"
