#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
#
# Run kernel tests inside throw-away QEMU VMs (TCG software emulation; never
# KVM, and the host kernel never loads our module).  One VM per test, booting
# Debian's kernel /boot/vmlinuz-$VM_KVER with the initramfs from
# scripts/vm/mkinitramfs.sh.
#
# Usage:
#   scripts/vm/run.sh [options] [TEST...]     tests (default: tests/vm/NN-*.sh)
#   scripts/vm/run.sh [options] --demo SCRIPT  one VM, output streamed live
#   scripts/vm/run.sh [options] --bench SCRIPT one VM, output streamed live
# TEST is a file, or a name in tests/vm/ with or without the NN- prefix and
# the .sh suffix (00-harness-smoke.sh = 00-harness-smoke = harness-smoke),
# or just the number (00).
#
# Options:
#   -t NAME       add a test (same as a TEST argument); repeatable
#   -e VAR=VALUE  extra environment for the script; repeatable.  Variables
#                 named DMT_* in run.sh's own environment are passed too.
#   -v            stream test output live (always on with --demo/--bench)
#   -k            keep each test's work dir (disk images, raw logs)
#   -m MB         VM memory (default: header, else $VM_MEM, else 3072;
#                 4096 for --demo/--bench)
#   -T SECONDS    default per-test timeout (default $VM_TIMEOUT, else 300;
#                 1800 for --demo/--bench)
#   -l            list the tests and exit
#   -h            this help
#
# Test header keys (comment lines anywhere in the script):
#   # vm-timeout: 300      whole-test timeout in seconds, all boots together
#   # vm-disks: 3x256M     virtio disks (sparse files) -> /dev/vda, vdb, ...
#                          also "64M 1G" or "2x64M,1x1G"
#   # vm-boots: 2          run the script again after the VM reboots, on the
#                          same disks; DMT_BOOT=1,2,... tells which boot
#   # vm-mem: 4096         memory in MB
#   # vm-smp: 2            virtual CPUs
#   # vm-append: tsc=reliable  extra kernel parameters (before VM_APPEND)
#   # vm-modules: a b      modules modprobe'd at boot before the test
#   # vm-long: yes         left out of the default set (make check) unless
#                          VM_LONG=1; named tests always run (make check-long)
# Environment seen by the script: DMT_BOOT, DMT_BOOTS, DMT_MODE
# (test|demo|bench), DMT_TEST, DMT_DISKS ("/dev/vda /dev/vdb"), DMT_ROOT
# (/dmt: repository layout with tests/vm and scripts), DMT_LIB (lib.sh),
# DMT_TIMEOUT, DM_DISABLE_UDEV=1, plus -e / DMT_* variables.  Exit code 77
# means SKIP.
#
# A test passes iff its last boot exits 0 and no boot's kernel log shows a
# warning, BUG, oops, panic, lockdep report, hung task or call trace.  A boot
# before the last may end without a result (crash, sysrq reboot); its exit
# status, when it has one, must be 0 (77 skips the test).
#
# Kernel: the VM boots the kernel dm-tenant.ko was built for (its vermagic):
# VM_KMOD (default: the module `make module` builds for KVER, empty KVER: the
# default kernel; scripts/kmod.sh).  A missing module, or VM_KVER naming
# another kernel, FAILs every test.
# Host environment: KVER, VM_KMOD, VM_KVER (must match the module), VM_MEM, VM_SMP (2), VM_TIMEOUT (300),
# VM_TOTAL_TIMEOUT (whole run: default 2400 s, 3600 s for --demo/--bench),
# VM_LONG=1 (the default set includes "vm-long: yes" tests),
# VM_QEMU, VM_APPEND (extra kernel parameters), VM_KEEP=1 (as -k),
# VM_VERBOSE=1 (as -v).
# Logs: build/vm/logs/<name>.log (always kept; <name>@<kver>.log for a kernel
# other than the default).  Exit status: 0 iff no FAIL.
set -euo pipefail

ORIG_PWD=$PWD
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
cd "$ROOT"
# shellcheck source=scripts/vm/common.sh
. "$ROOT/scripts/vm/common.sh"

die() { echo "run.sh: error: $*" >&2; exit 2; }
usage() { awk 'NR < 3 { next } /^#/ { sub(/^# ?/, ""); print; next } { exit }' "$0"; }

MODE="test"
TESTS=()
EXTRA_ENV=()
VERBOSE=${VM_VERBOSE:-0}
KEEP=${VM_KEEP:-0}
MEM_OPT=""
DEF_TIMEOUT=${VM_TIMEOUT:-}
LIST=0
while [ $# -gt 0 ]; do
	case "$1" in
	--demo|--bench)
		MODE=${1#--}
		[ $# -ge 2 ] || die "$1 needs a script"
		TESTS+=("$2"); shift ;;
	-t) [ $# -ge 2 ] || die "-t needs a name"; TESTS+=("$2"); shift ;;
	-e) [ $# -ge 2 ] || die "-e needs VAR=VALUE"
	    case "$2" in [A-Za-z_]*=*) ;; *) die "-e wants VAR=VALUE, got '$2'" ;; esac
	    EXTRA_ENV+=("$2"); shift ;;
	-v) VERBOSE=1 ;;
	-k) KEEP=1 ;;
	-m) [ $# -ge 2 ] || die "-m needs MB"; MEM_OPT=$2; shift ;;
	-T) [ $# -ge 2 ] || die "-T needs seconds"; DEF_TIMEOUT=$2; shift ;;
	-l) LIST=1 ;;
	-h|--help) usage; exit 0 ;;
	--) shift; TESTS+=("$@"); break ;;
	-*) die "unknown option '$1' (see -h)" ;;
	*) TESTS+=("$1") ;;
	esac
	shift
done
if [ "$MODE" = test ]; then
	DEF_TIMEOUT=${DEF_TIMEOUT:-300}
	TOTAL_TIMEOUT=${VM_TOTAL_TIMEOUT:-2400}
else
	VERBOSE=1
	DEF_TIMEOUT=${DEF_TIMEOUT:-1800}
	TOTAL_TIMEOUT=${VM_TOTAL_TIMEOUT:-3600}
fi

# --- which scripts -------------------------------------------------------------
all_tests() {	# all_tests [all]: the default set, or every test
	local f
	for f in tests/vm/[0-9][0-9]-*.sh; do
		[ -f "$f" ] || continue
		# Long tests (a second transport, crash and restart variants)
		# run in make check-long, keeping make check short.
		if [ "${1:-}" != all ] && [ "${VM_LONG:-0}" != 1 ] &&
		   grep -q '^#[[:space:]]*vm-long:[[:space:]]*yes' "$f"; then
			continue
		fi
		echo "$f"
	done
	return 0
}

resolve_test() {	# NAME -> path, or fail
	local want=$1 f b
	case "$want" in
	/*) f=$want ;;
	*) f=$ORIG_PWD/$want ;;
	esac
	if [ -f "$f" ]; then
		readlink -f "$f"
		return 0
	fi
	want=${want%.sh}
	while read -r f; do
		b=$(basename "$f" .sh)
		if [ "$b" = "$want" ] || [ "${b#[0-9][0-9]-}" = "$want" ] ||
		   [ "${b%%-*}" = "$want" ]; then
			echo "$f"
			return 0
		fi
	done < <(all_tests all)
	return 1
}

if [ "$LIST" = 1 ]; then
	all_tests all | xargs -r -n1 basename | sed 's/\.sh$//'
	exit 0
fi

SCRIPTS=()
if [ ${#TESTS[@]} -eq 0 ]; then
	[ "$MODE" = test ] || die "--$MODE needs a script"
	mapfile -t SCRIPTS < <(all_tests)
	[ ${#SCRIPTS[@]} -gt 0 ] || die "no tests in tests/vm/ (NN-*.sh)"
else
	for t in "${TESTS[@]}"; do
		# make check-vm T="a b" passes one word with spaces
		for w in ${t//,/ }; do
			p=$(resolve_test "$w") ||
				die "no test '$w' (tests: $(all_tests | xargs -r -n1 basename | tr '\n' ' '))"
			SCRIPTS+=("$p")
		done
	done
fi

# --- environment checks ----------------------------------------------------------
QEMU=${VM_QEMU:-qemu-system-x86_64}
command -v "$QEMU" > /dev/null ||
	die "$QEMU not found: install qemu-system-x86 (scripts/install-deps.sh)"
command -v cpio > /dev/null || die "cpio not found (scripts/install-deps.sh)"
# The VM boots the kernel the module was built for; without a module that
# loads there, every test FAILs (a suite of SKIPs would have tested nothing).
fail_all() {	# fail_all REASON: every test FAILs, nothing boots
	local s
	for s in "${SCRIPTS[@]}"; do
		echo "FAIL $(basename "$s" .sh) ($1)"
	done
	[ "$MODE" != test ] || echo "0 passed, ${#SCRIPTS[@]} failed"
	exit 1
}
KMOD=$(vm_kmod 2>&1) || fail_all "$KMOD"
KVER=$(vm_kver "$KMOD" 2>&1) || fail_all "${KVER#error: }"
export VM_KVER=$KVER VM_KMOD=$KMOD

VMDIR=$ROOT/build/vm
LOGDIR=$VMDIR/logs
# Logs of the default kernel are <test>.log; another kernel's <test>@KVER.log
LOG_SUFFIX=@$KVER
[ "$KVER" != "$(scripts/kmod.sh kver 2>/dev/null)" ] || LOG_SUFFIX=
mkdir -p "$VMDIR" "$LOGDIR" "$VMDIR/work"

# One image per kernel: switching kernels does not rebuild each time.
BASE_IMG=$VMDIR/initramfs-$KVER.cpio
scripts/vm/mkinitramfs.sh -q -o "$BASE_IMG" ||
	die "building the initramfs failed"
KERNEL=$(vm_kernel "$KVER" "$VMDIR")

# --- per-run archive: scripts + environment ----------------------------------
shq() {	# single-quote for sh
	printf "'%s'" "$(printf '%s' "$1" | sed "s/'/'\\\\''/g")"
}

make_overlay() {	# make_overlay OUT SCRIPT MODULES -> writes OUT, prints in-VM path
	local out=$1 script=$2 modules=$3 st rel kv
	st=$(mktemp -d "$WORK/overlay.XXXXXX")
	mkdir -p "$st/dmt/tests/vm" "$st/dmt/scripts" "$st/etc"
	for f in tests/vm/*.sh scripts/*.sh; do
		[ -f "$f" ] && cp "$f" "$st/dmt/$f"
	done
	case "$(readlink -f "$script")" in
	"$ROOT"/*) rel=$(realpath --relative-to="$ROOT" "$script") ;;
	*) rel=ext/$(basename "$script") ;;
	esac
	mkdir -p "$st/dmt/$(dirname "$rel")"
	cp "$script" "$st/dmt/$rel"
	{
		echo "# generated by scripts/vm/run.sh"
		[ -z "$modules" ] || echo "DMT_VM_MODULES=$(shq "$modules")"
		while read -r kv; do
			[ -n "$kv" ] || continue
			case "${kv%%=*}" in
			DMT_BOOT|DMT_BOOTS|DMT_MODE|DMT_TEST|DMT_DISKS|DMT_ROOT|DMT_LIB|DMT_TIMEOUT) continue ;;
			esac
			echo "export ${kv%%=*}=$(shq "${kv#*=}")"
		done < <(env | grep -E '^DMT_[A-Za-z0-9_]*=' | LC_ALL=C sort
			 [ ${#EXTRA_ENV[@]} -eq 0 ] || printf '%s\n' "${EXTRA_ENV[@]}")
	} > "$st/etc/dmt-env"
	(cd "$st" && find . -mindepth 1 | LC_ALL=C sort | cpio -o -H newc -R 0:0 --quiet) > "$out"
	rm -rf "$st"
	echo "$rel"
}

header() {	# header SCRIPT KEY -> value or nothing
	sed -n "s/^#[[:space:]]*vm-$2:[[:space:]]*\\(.*[^[:space:]]\\)[[:space:]]*\$/\\1/p" "$1" | head -n1
}

make_disks() {	# make_disks SPEC -> qemu args, one per line
	local spec=$1 item n size i idx=0
	for item in ${spec//,/ }; do
		case "$item" in
		*x*) n=${item%%x*}; size=${item#*x} ;;
		*) n=1; size=$item ;;
		esac
		if ! [[ "$n" =~ ^[0-9]+$ ]] || ! [[ "$size" =~ ^[0-9]+[KMGT]?$ ]]; then
			echo "bad vm-disks item '$item'" >&2
			return 1
		fi
		for ((i = 0; i < n; i++)); do
			truncate -s "$size" "$WORK/disk$idx.img"
			echo "-drive"
			echo "file=$WORK/disk$idx.img,format=raw,if=virtio,cache=unsafe,discard=unmap"
			idx=$((idx + 1))
		done
	done
}

# Live view of the test output: drop markers and the kernel log dump.
stream_filter() {
	# mawk (Debian's awk) buffers a pipe's input unless told otherwise.
	local awk=(awk)
	awk -W interactive 'BEGIN{}' </dev/null >/dev/null 2>&1 &&
		awk=(awk -W interactive)
	"${awk[@]}" '
		{ sub(/\r$/, "") }
		/^@@DMT-DMESG-BEGIN@@$/ { skip = 1; next }
		/^@@DMT-DMESG-END@@$/ { skip = 0; next }
		skip { next }
		/^@@DMT-START / { next }
		/^@@DMT-[A-Z]+.*@@$/ { next }
		{ print; fflush() }'
}

QPID=""
WORK=""
cleanup_all() {
	[ -z "$QPID" ] || kill "$QPID" 2>/dev/null || true
	[ -z "$QPID" ] || wait "$QPID" 2>/dev/null || true
	if [ -n "$WORK" ] && [ "$KEEP" != 1 ]; then rm -rf "$WORK"; fi
}
trap 'cleanup_all; echo; echo "run.sh: interrupted" >&2; exit 130' INT TERM

# run_boot BOOT BOOTS SECONDS -> sets BOOT_HOST_TIMEOUT; output in $WORK
run_boot() {
	local b=$1 n=$2 secs=$3 guest_secs rc=0
	# The in-VM timeout fires first (boot ~10 s, log dump) so that a hung
	# test still gets its kernel log and blocked-task dump.
	guest_secs=$((secs - 25))
	[ "$guest_secs" -ge 5 ] || guest_secs=5
	local append="console=ttyS0 panic=-1 oops=panic mitigations=off"
	append+=" cryptomgr.notests=1 dmt.test=$VM_REL dmt.boot=$b dmt.boots=$n"
	append+=" dmt.mode=$MODE dmt.timeout=$guest_secs ${APPEND_HDR:-} ${VM_APPEND:-}"
	local cmd=("$QEMU" -accel tcg -cpu max -smp "$SMP" -m "$MEM"
		-nodefaults -no-user-config -display none -no-reboot
		-kernel "$KERNEL" -initrd "$WORK/initrd.img" -append "$append"
		-serial "file:$WORK/kcon.$b" -serial "file:$WORK/out.$b"
		"${DISK_ARGS[@]}")
	printf '%q ' "${cmd[@]}" > "$WORK/cmd.$b"
	: > "$WORK/out.$b"
	timeout -k 5 "$secs" "${cmd[@]}" < /dev/null > "$WORK/qemu.$b" 2>&1 &
	QPID=$!
	if [ "$VERBOSE" = 1 ]; then
		tail -n +1 -f --pid="$QPID" "$WORK/out.$b" 2>/dev/null | stream_filter &
		local tpid=$!
		wait "$QPID" || rc=$?
		wait "$tpid" 2>/dev/null || true
	else
		wait "$QPID" || rc=$?
	fi
	QPID=""
	BOOT_HOST_TIMEOUT=0
	[ "$rc" -ne 124 ] && [ "$rc" -ne 137 ] || BOOT_HOST_TIMEOUT=1
	BOOT_QEMU_RC=$rc
}

# --- one test ----------------------------------------------------------------------
PASSED=0
FAILED=0
SKIPPED=0
RUN_START=$(date +%s)

print_tail() {	# the end of the failing boot's output, and the kernel trouble
	local b=$1 bad=$2
	if [ "$VERBOSE" = 1 ]; then
		echo "  --- full log: ${LOG#"$ROOT"/} ---"
	else
		echo "  --- last lines of test output (boot $b; full log: ${LOG#"$ROOT"/}) ---"
		vm_test_output "$WORK/out.$b" | tail -n 60 | sed 's/^/  | /'
	fi
	if [ -s "$WORK/qemu.$b" ]; then
		echo "  --- qemu stderr (exit $(cat "$WORK/qrc.$b" 2>/dev/null)) ---"
		tail -n 20 "$WORK/qemu.$b" | sed 's/^/  | /'
	fi
	if [ -n "$bad" ]; then
		echo "  --- kernel log trouble ---"
		local f first
		for f in "$WORK"/kcon.*; do
			first=$(tr -d '\r' < "$f" |
				grep -n -E -f <(printf '%s\n' "$VM_BAD_PATTERNS") |
				head -n1 | cut -d: -f1)
			if [ -n "$first" ]; then
				echo "  [${f##*/}]"
				tr -d '\r' < "$f" | tail -n +"$((first > 5 ? first - 5 : 1))" |
					head -n 45 | sed 's/^/  | /'
				break
			fi
		done
	fi
	echo "  ---"
}

write_log() {	# write_log BOOTS RESULTLINE
	local n=$1 line=$2 b
	{
		echo "# dm-tenant VM test: $line"
		echo "# kernel $KVER, mode $MODE, script ${SCRIPT#"$ROOT"/}"
		for ((b = 1; b <= n; b++)); do
			[ -f "$WORK/cmd.$b" ] || continue
			echo "==== boot $b/$n: qemu command ===="
			cat "$WORK/cmd.$b"; echo
			echo "==== boot $b/$n: test output (ttyS1) ===="
			tr -d '\r' < "$WORK/out.$b"
			echo "==== boot $b/$n: kernel console (ttyS0) ===="
			tr -d '\r' < "$WORK/kcon.$b" 2>/dev/null || true
			if [ -s "$WORK/qemu.$b" ]; then
				echo "==== boot $b/$n: qemu stderr (exit $(cat "$WORK/qrc.$b" 2>/dev/null)) ===="
				cat "$WORK/qemu.$b"
			fi
		done
	} > "$LOG"
}

run_test() {
	SCRIPT=$1
	local name t0 timeout boots disks modules smp b rem bad reason=""
	local status="" boots_run=0
	name=$(basename "$SCRIPT" .sh)
	LOG=$LOGDIR/$name$LOG_SUFFIX.log
	t0=$(date +%s)

	timeout=$(header "$SCRIPT" timeout)
	timeout=${timeout:-$DEF_TIMEOUT}
	boots=$(header "$SCRIPT" boots); boots=${boots:-1}
	disks=$(header "$SCRIPT" disks)
	modules=$(header "$SCRIPT" modules)
	APPEND_HDR=$(header "$SCRIPT" append)
	MEM=${MEM_OPT:-$(header "$SCRIPT" mem)}
	if [ -z "$MEM" ]; then
		if [ "$MODE" = test ]; then MEM=${VM_MEM:-3072}; else MEM=${VM_MEM:-4096}; fi
	fi
	smp=$(header "$SCRIPT" smp); SMP=${smp:-${VM_SMP:-2}}
	if ! [[ "$timeout" =~ ^[0-9]+$ ]] || ! [[ "$boots" =~ ^[1-9][0-9]*$ ]] ||
	   ! [[ "$MEM" =~ ^[0-9]+$ ]] || ! [[ "$SMP" =~ ^[1-9][0-9]*$ ]]; then
		echo "FAIL $name (bad vm-* header: timeout='$timeout' boots='$boots' mem='$MEM' smp='$SMP')"
		FAILED=$((FAILED + 1))
		return
	fi

	# The whole run has a budget too.
	local left=$((TOTAL_TIMEOUT - (t0 - RUN_START)))
	if [ "$left" -le 10 ]; then
		echo "FAIL $name (not run: global timeout of ${TOTAL_TIMEOUT}s reached)"
		FAILED=$((FAILED + 1)); return
	fi
	[ "$timeout" -le "$left" ] || timeout=$left

	WORK=$(mktemp -d "$VMDIR/work/$name.XXXXXX")
	DISK_ARGS=()
	if [ -n "$disks" ]; then
		mapfile -t DISK_ARGS < <(make_disks "$disks")
		if [ ${#DISK_ARGS[@]} -eq 0 ]; then
			echo "FAIL $name (bad vm-disks header '$disks')"
			FAILED=$((FAILED + 1))
			rm -rf "$WORK"
			return
		fi
	fi
	VM_REL=$(make_overlay "$WORK/overlay.cpio" "$SCRIPT" "$modules")
	cat "$BASE_IMG" "$WORK/overlay.cpio" > "$WORK/initrd.img"

	local deadline=$((t0 + timeout))
	for ((b = 1; b <= boots; b++)); do
		rem=$((deadline - $(date +%s)))
		if [ "$rem" -le 0 ]; then
			status=FAIL; reason="timeout after ${timeout}s before boot $b"; break
		fi
		if [ "$VERBOSE" = 1 ]; then
			if [ "$boots" -eq 1 ]; then
				echo "--- $name: booting the VM ($KVER, TCG) ---"
			else
				echo "--- $name: boot $b/$boots ($KVER, TCG) ---"
			fi
		fi
		run_boot "$b" "$boots" "$rem"
		echo "$BOOT_QEMU_RC" > "$WORK/qrc.$b"
		boots_run=$b
		vm_verdict "$WORK" "$b" "$boots" "$BOOT_HOST_TIMEOUT" "$timeout"
		status=$VERDICT
		reason=$REASON
		[ "$status" = NEXT ] || break
	done
	local secs=$(($(date +%s) - t0)) line
	case "$status" in
	PASS) line="PASS $name (${secs}s)"; PASSED=$((PASSED + 1)) ;;
	SKIP) reason=$(vm_test_output "$WORK/out.$boots_run" | sed -n 's/^SKIP: //p' | tail -n1)
	      line="SKIP $name${reason:+ ($reason)}"; SKIPPED=$((SKIPPED + 1)) ;;
	*) line="FAIL $name ($reason)"; FAILED=$((FAILED + 1)) ;;
	esac
	write_log "$boots" "$line"
	echo "$line"
	if [ "$status" = FAIL ] && [ "$boots_run" -gt 0 ]; then
		case "$reason" in kernel:*|*"; kernel:"*) bad=1 ;; *) bad="" ;; esac
		print_tail "$boots_run" "$bad"
	fi
	if [ "$KEEP" = 1 ]; then
		echo "  (kept ${WORK#"$ROOT"/})"
	else
		rm -rf "$WORK"
	fi
}

for s in "${SCRIPTS[@]}"; do
	run_test "$s"
done

if [ "$MODE" = test ]; then
	if [ "$SKIPPED" -gt 0 ]; then
		echo "$PASSED passed, $FAILED failed, $SKIPPED skipped"
	else
		echo "$PASSED passed, $FAILED failed"
	fi
fi
[ "$FAILED" -eq 0 ]
