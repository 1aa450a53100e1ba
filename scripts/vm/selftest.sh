#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
#
# Self-test of the VM harness (scripts/vm/run.sh):
#  1. host only, instant: the kernel-log scanner catches every forbidden
#     pattern in sample lines and passes clean logs; the per-boot verdict
#     logic judges fake boot results (pass, skip, crash, timeout, warnings,
#     multi-boot) correctly; the VM boots the kernel dm-tenant.ko was built
#     for (its vermagic), and a missing module or one built for a kernel
#     that is not installed FAILs every test (never SKIPs).
#  2. in real VMs (three short boots, ~1.5 min): a test exiting 0 after
#     planting "WARNING:" in the kernel log FAILs; a test sleeping past its
#     timeout FAILs (timeout) through the in-VM timeout; a test that also
#     stops the in-VM timeout FAILs (timeout) when the host kills QEMU.
# Usage: scripts/vm/selftest.sh [--host-only]
# Ends with "N passed, N failed"; exit status 0 iff nothing failed.
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
cd "$ROOT"
# shellcheck source=scripts/vm/common.sh
. "$ROOT/scripts/vm/common.sh"

HOST_ONLY=0
[ "${1:-}" != --host-only ] || HOST_ONLY=1

PASS=0
FAIL=0
ok() { PASS=$((PASS + 1)); echo "ok   $*"; }
ko() { FAIL=$((FAIL + 1)); echo "FAIL $*"; }

TMP=$(mktemp -d "${TMPDIR:-/tmp}/dmt-selftest.XXXXXX")
trap 'rm -rf "$TMP"' EXIT

# --- 1a. scanner --------------------------------------------------------------------
# One realistic kernel line per forbidden pattern.
BAD_SAMPLES=(
'[   12.345678] WARNING: CPU: 1 PID: 321 at drivers/md/dm-tenant-target.c:42 tenant_map+0x1f/0x80 [dm_tenant]'
'[    3.100000] BUG: kernel NULL pointer dereference, address: 0000000000000008'
'[    3.100100] Oops: 0000 [#1] PREEMPT SMP NOPTI'
'[    5.000000] general protection fault, probably for non-canonical address 0xdead000000000122: 0000 [#1] PREEMPT SMP NOPTI'
'[    6.000000] Kernel panic - not syncing: Fatal exception'
'[  245.000000] INFO: task kworker/u4:2:87 blocked for more than 120 seconds.'
'[    7.000000] WARNING: possible circular locking dependency detected'
'[    7.000000] possible circular locking dependency detected'
'[    7.000000] possible recursive locking detected'
'[    7.000000] inconsistent lock state'
'[    8.000000] UBSAN: shift-out-of-bounds in drivers/md/dm-tenant-crypt.c:77:12'
'[    8.000000] KASAN: null-ptr-deref in range [0x0000000000000008-0x000000000000000f]'
'[    9.000000] stack segment: 0000 [#1] PREEMPT SMP NOPTI'
'[    9.500000] kernel BUG at drivers/md/dm-tenant-target.c:99!'
'[   10.000000] Call Trace:'
'[   10.000000]  <TASK> Call Trace'
)
GOOD_LOG='[    0.000000] Linux version 6.1.0-56-amd64 (debian-kernel@lists.debian.org)
[    0.030427] calibrate_delay_direct() failed to get a good estimate for loops_per_jiffy.
[    0.110326] random: crng init done
[    1.440487] acpi PNP0A03:00: fail to add MMCONFIG information, can'"'"'t access extended PCI configuration space under this bridge.
[    5.966069] device-mapper: ioctl: 4.47.0-ioctl (2022-07-28) initialised: dm-devel@redhat.com
[    6.000000] dm-tenant: loading out-of-tree module taints kernel.
[    6.000001] dm_tenant: module verification failed: signature and/or required key missing - tainting kernel
[    8.328229] sysrq: Resetting
[    9.000000] dmt: start tests/vm/00-harness-smoke.sh boot 1/1
[    9.100000] device-mapper: table: 253:0: crypt: Error allocating crypto tfm (-ENOENT)'

for line in "${BAD_SAMPLES[@]}"; do
	if printf '%s\n' "$GOOD_LOG" "$line" > "$TMP/k" && vm_scan_kernel_log "$TMP/k" > /dev/null; then
		ok "scanner catches: ${line#*] }"
	else
		ko "scanner misses: $line"
	fi
done
# Every pattern has at least one sample.
while read -r pat; do
	[ -n "$pat" ] || continue
	if printf '%s\n' "${BAD_SAMPLES[@]}" | grep -Eq -- "$pat"; then
		ok "pattern has a sample: $pat"
	else
		ko "pattern without a sample in selftest.sh: $pat"
	fi
done <<< "$VM_BAD_PATTERNS"
printf '%s\n' "$GOOD_LOG" > "$TMP/k"
if hits=$(vm_scan_kernel_log "$TMP/k"); then
	ko "scanner flags a clean log: $hits"
else
	ok "scanner passes a clean log"
fi

# --- 1b. verdicts on fake boots ------------------------------------------------------
# fake DIR BOOT RC|- KERNEL-EXTRA [TIMEOUT-MARKER] : write one boot's files
fake() {
	local d=$1 b=$2 rc=$3 kextra=$4 tmark=${5:-}
	mkdir -p "$d"
	{
		echo "@@DMT-START t.sh boot=$b/2 uptime=6.0@@"
		echo "-- [0s] some test output saying WARNING: this is only text"
		[ -z "$tmark" ] || echo "@@DMT-TIMEOUT@@"
		if [ "$rc" != - ]; then
			echo "@@DMT-RESULT $rc@@"
			echo "@@DMT-DMESG-BEGIN@@"
			printf '%s\n' "$GOOD_LOG"
			echo "@@DMT-DMESG-END@@"
		fi
	} | sed 's/$/\r/' > "$d/out.$b"
	{ printf '%s\n' "$GOOD_LOG"; [ -z "$kextra" ] || echo "$kextra"; } > "$d/kcon.$b"
	echo 0 > "$d/qrc.$b"
}

# expect NAME WANT-VERDICT WANT-REASON-REGEX -- vm_verdict args
expect() {
	local name=$1 want=$2 re=$3
	shift 4
	vm_verdict "$@"
	if [ "$VERDICT" = "$want" ] && [[ "$REASON" =~ $re ]]; then
		ok "verdict $name: $VERDICT${REASON:+ ($REASON)}"
	else
		ko "verdict $name: got $VERDICT ($REASON), want $want /$re/"
	fi
}

D=$TMP/v
fake "$D/pass" 1 0 ""
expect "clean exit 0" PASS '^$' -- "$D/pass" 1 1 0 300
fake "$D/warn" 1 0 '[   12.0] WARNING: CPU: 0 PID: 1 at x.c:1 f+0x0/0x1'
expect "exit 0 + kernel WARNING" FAIL '^kernel: WARNING: CPU' -- "$D/warn" 1 1 0 300
fake "$D/dump" 1 0 ""
sed -i 's/^@@DMT-DMESG-END@@/[ 13.0] BUG: sleeping function called from invalid context\r\n&/' "$D/dump/out.1"
expect "warning only in the dmesg dump" FAIL '^kernel: BUG: sleeping' -- "$D/dump" 1 1 0 300
fake "$D/textwarn" 1 0 ""
expect "WARNING only in test output" PASS '^$' -- "$D/textwarn" 1 1 0 300
fake "$D/exit1" 1 1 ""
expect "exit 1" FAIL '^exit 1$' -- "$D/exit1" 1 1 0 300
fake "$D/skip" 1 77 ""
expect "exit 77" SKIP '^$' -- "$D/skip" 1 1 0 300
fake "$D/crash" 1 - '[    9.0] sysrq: Resetting'
expect "no result marker" FAIL '^no result' -- "$D/crash" 1 1 0 300
fake "$D/panic" 1 - '[    9.0] Kernel panic - not syncing: Attempted to kill init! exitcode=0x00000100'
expect "panic" FAIL '^kernel: Kernel panic' -- "$D/panic" 1 1 0 300
fake "$D/hosttimeout" 1 - ""
expect "host timeout" FAIL '^timeout after 300s, VM killed' -- "$D/hosttimeout" 1 1 1 300
fake "$D/vmtimeout" 1 124 "" timeout
expect "in-VM timeout" FAIL '^timeout after 300s$' -- "$D/vmtimeout" 1 1 0 300
fake "$D/vmtimeout-trace" 1 124 '[  300.0] Call Trace:' timeout
expect "in-VM timeout with blocked tasks" FAIL '^timeout after 300s; kernel: Call Trace' -- "$D/vmtimeout-trace" 1 1 0 300
fake "$D/multi" 1 - '[    9.0] sysrq: Resetting'
fake "$D/multi" 2 0 ""
expect "boot 1/2 rebooted" NEXT '^$' -- "$D/multi" 1 2 0 300
expect "boot 2/2 exit 0" PASS '^$' -- "$D/multi" 2 2 0 300
fake "$D/multi-warn" 1 - '[    9.0] WARNING: CPU: 1 PID: 9 at y.c:2 g+0x0/0x1'
expect "boot 1/2 warning" FAIL '^kernel: WARNING' -- "$D/multi-warn" 1 2 0 300
fake "$D/multi-fail" 1 3 ""
expect "boot 1/2 exit 3" FAIL '^boot 1/2 exited 3$' -- "$D/multi-fail" 1 2 0 300
fake "$D/multi-last" 2 - ""
expect "boot 2/2 without result" FAIL '^no result.*in boot 2' -- "$D/multi-last" 2 2 0 300

# --- 1c. which kernel: the module's ----------------------------------------------------
# fake_ko FILE VERMAGIC: a file modinfo reads like a module built for VERMAGIC
fake_ko() {
	printf 'vermagic=%s SMP preempt mod_unload modversions \0name=dm_tenant\0' "$2" > "$TMP/modinfo"
	objcopy -I binary -O elf64-x86-64 -B i386:x86-64 \
		--rename-section .data=.modinfo "$TMP/modinfo" "$1"
}
oldest=$(vm_bootable_kvers | head -n1)
if [ -z "$oldest" ]; then
	ko "no kernel in /boot to boot (install linux-image-amd64)"
else
	fake_ko "$TMP/old.ko" "$oldest"
	if [ "$(VM_KVER='' vm_kver "$TMP/old.ko" 2>/dev/null)" = "$oldest" ]; then
		ok "the VM kernel is the module's vermagic ($oldest), not the newest in /boot"
	else
		ko "vm_kver does not follow the module's vermagic ($oldest)"
	fi
	if ! VM_KVER=9.9.9-other vm_kver "$TMP/old.ko" > /dev/null 2>&1; then
		ok "VM_KVER naming another kernel than the module's is an error"
	else
		ko "VM_KVER=9.9.9-other accepted with a module built for $oldest"
	fi
fi
echo '# vm-timeout: 30' > "$TMP/st-nomod.sh"
# run_kmod KO: run.sh on one test with module KO; its output in $TMP/kmod.out
run_kmod() {
	local rc=0
	VM_KVER='' VM_KMOD=$1 scripts/vm/run.sh "$TMP/st-nomod.sh" > "$TMP/kmod.out" 2>&1 || rc=$?
	sed 's/^/  > /' "$TMP/kmod.out"
	[ "$rc" -ne 0 ] && grep -q '^FAIL st-nomod (' "$TMP/kmod.out" &&
		grep -qx '0 passed, 1 failed' "$TMP/kmod.out" && ! grep -q SKIP "$TMP/kmod.out"
}
if run_kmod "$TMP/missing.ko" && grep -q 'dm-tenant.ko not built' "$TMP/kmod.out"; then
	ok "a missing module FAILs the test, booting nothing"
else
	ko "a missing module does not FAIL the test (run.sh output above)"
fi
fake_ko "$TMP/other.ko" 9.9.9-notinstalled
if run_kmod "$TMP/other.ko" && grep -q 'install linux-image-9.9.9-notinstalled' "$TMP/kmod.out"; then
	ok "a module built for a kernel that is not installed FAILs the test"
else
	ko "a module for an absent kernel does not FAIL the test (run.sh output above)"
fi

# --- 2. real VMs ----------------------------------------------------------------------
if [ "$HOST_ONLY" = 0 ]; then
	ST=$ROOT/build/vm/selftest
	mkdir -p "$ST"
	cat > "$ST/st-warn.sh" <<'EOF'
#!/bin/bash
# Harness selftest: exits 0, but the kernel log gets a WARNING.
# vm-timeout: 60
# vm-append: dmt.selftest=appended
grep -qw dmt.selftest=appended /proc/cmdline && echo "vm-append header on the kernel command line"
echo "planting a warning"
echo "WARNING: CPU: 0 PID: 1 at selftest/planted.c:1 dmt_selftest+0x0/0x1" > /dev/kmsg
exit 0
EOF
	cat > "$ST/st-hang.sh" <<'EOF'
#!/bin/bash
# Harness selftest: sleeps past its timeout (the in-VM timeout ends it).
# vm-timeout: 35
echo "sleeping forever"
sleep 100000
EOF
	cat > "$ST/st-hardhang.sh" <<'EOF'
#!/bin/bash
# Harness selftest: stops the in-VM timeout, then sleeps: only the host's
# timeout (killing QEMU) can end this.
# vm-timeout: 30
kill -STOP "$PPID"
echo "stopped the in-VM timeout (pid $PPID), sleeping forever"
sleep 100000
EOF
	echo "running 3 harness selftest VMs (~1.5 min)..."
	rc=0
	# These scripts need no module: VM_KMOD=none boots the default kernel.
	VM_KMOD=none VM_TOTAL_TIMEOUT=600 scripts/vm/run.sh "$ST/st-warn.sh" "$ST/st-hang.sh" \
		"$ST/st-hardhang.sh" > "$TMP/run.out" 2>&1 || rc=$?
	sed 's/^/  > /' "$TMP/run.out"
	if [ "$rc" -ne 0 ]; then ok "run.sh exits non-zero ($rc) when tests fail"
	else ko "run.sh exited 0 although every selftest VM must fail"; fi
	if grep -Eq '^FAIL st-warn \(kernel: WARNING: CPU: 0 PID: 1 at selftest' "$TMP/run.out"; then
		ok "test exiting 0 with a kernel WARNING is reported FAIL"
	else
		ko "test exiting 0 with a kernel WARNING not reported FAIL (kernel: WARNING ...)"
	fi
	if grep -Eq '^FAIL st-hang \(timeout after 35s\)' "$TMP/run.out"; then
		ok "hung test is reported FAIL (timeout) by the in-VM timeout"
	else
		ko "hung test not reported 'FAIL st-hang (timeout after 35s)'"
	fi
	if grep -Eq '^FAIL st-hardhang \(timeout after 30s, VM killed\)' "$TMP/run.out"; then
		ok "hard-hung VM is killed by the host and reported FAIL (timeout)"
	else
		ko "hard-hung VM not reported 'FAIL st-hardhang (timeout after 30s, VM killed)'"
	fi
	if grep -qx '0 passed, 3 failed' "$TMP/run.out"; then
		ok "summary line '0 passed, 3 failed'"
	else
		ko "summary line '0 passed, 3 failed' missing"
	fi
	if grep -q '^vm-append header on the kernel command line' build/vm/logs/st-warn.log; then
		ok "vm-append header reaches the guest kernel command line"
	else
		ko "vm-append header not on the guest kernel command line (build/vm/logs/st-warn.log)"
	fi
	for n in st-warn st-hang st-hardhang; do
		if [ -s "build/vm/logs/$n.log" ] &&
		   grep -q '^==== boot 1/1: kernel console' "build/vm/logs/$n.log"; then
			ok "log kept: build/vm/logs/$n.log"
		else
			ko "log missing: build/vm/logs/$n.log"
		fi
	done
fi

echo "harness selftest: $PASS passed, $FAIL failed"
echo "$PASS passed, $FAIL failed"
[ "$FAIL" -eq 0 ]
