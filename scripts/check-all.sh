#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
#
# Every check of dm-tenant, in order, continuing after failures (`make check`
# runs this after `make deps`):
#   1. module build, for each kernel: a full W=1 rebuild prints no "warning:"
#   2. checkpatch --strict: one test per kernel/*.c / kernel/*.h file and
#      compile probe (kernel/compat/probes/*.c)
#   3. make check-unit, make check-fuzz (when those targets exist)
#   4. harness selftest (scripts/vm/selftest.sh)
#   5. make check-vm: every tests/vm/NN-*.sh in its own VM, on the default
#      kernel (Debian 12's 6.1); then, on the second kernel (6.12), the tests
#      in CHECK_SECOND_TESTS
#   6. with CHECK_DKMS=1: dkms builds the module for both kernels
#      (scripts/test-dkms.sh)
# Ends with the totals: "N passed, N failed" (", N skipped" when some were).
# Exit status 0 iff nothing failed.  Needs no terminal and no stdin.
# Env: CHECK_SKIP_VM=1 skips steps 4-5 (quick local runs; never in CI).
#      CHECK_SECOND_KVER: the second kernel (default 6.12; empty: none).
#      CHECK_SECOND_TESTS: its VM tests, "all" for the whole suite (make
#      check-kernels).  The default subset keeps make check within CI's
#      time: the smoke test, the data path (10, 11, 16), tenantd (30),
#      mirror and crash (40, 42) and a remote leg (80): 7m43s on the
#      2-core host at load ~2.5 (455 s in the VMs, the rest initramfs).
set -uo pipefail

# checkpatch message types to ignore, comma-separated (checkpatch --ignore),
# e.g. "LINUX_VERSION_CODE,FILE_PATH_CHANGES".  Say why next to each entry.
CHECKPATCH_IGNORE=""

SECOND_KVER=${CHECK_SECOND_KVER-6.12}
SECOND_TESTS=${CHECK_SECOND_TESTS:-00 10 11 16 30 40 42 80}

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$ROOT" || exit 2
exec < /dev/null
LOGS=build/check
mkdir -p "$LOGS"
MAKE=(make --no-print-directory)

TOTAL_P=0
TOTAL_F=0
TOTAL_S=0
SUMMARY=()
T_ALL=$(date +%s)

section() { echo; echo "=== $* ==="; }

record() {	# record NAME PASSED FAILED SKIPPED SECONDS
	TOTAL_P=$((TOTAL_P + $2))
	TOTAL_F=$((TOTAL_F + $3))
	TOTAL_S=$((TOTAL_S + $4))
	local s="$2 passed, $3 failed"
	[ "$4" -eq 0 ] || s+=", $4 skipped"
	SUMMARY+=("$(printf '%-16s %-34s %5ss' "$1" "$s" "$5")")
}

# parse_counts FILE -> "P F S" from "N passed, N failed[, N skipped]" lines:
# the last "total:" line if there is one, else the sum of all such lines.
parse_counts() {
	tr -d '\r' < "$1" | awk '
		match($0, /^([A-Za-z0-9_.-]+: )?[0-9]+ passed, [0-9]+ failed(, [0-9]+ skipped)?$/) {
			line = $0
			is_total = (line ~ /^[Tt]otal: /)
			sub(/^[A-Za-z0-9_.-]+: /, "", line)
			n = split(line, w, /[ ,]+/)
			p = w[1]; f = w[3]; s = (n >= 5) ? w[5] : 0
			if (is_total) { tp = p; tf = f; ts = s; have_total = 1 }
			sp += p; sf += f; ss += s; found = 1
		}
		END {
			if (have_total) print tp, tf, ts
			else if (found) print sp, sf, ss
		}'
}

# run_suite NAME LOG CMD...: run a sub-runner, add its counts
run_suite() {
	local name=$1 log=$2 t0 rc=0 counts p f s
	shift 2
	t0=$(date +%s)
	"$@" 2>&1 | tee "$log"
	rc=${PIPESTATUS[0]}
	if grep -q "Nothing to be done for '$name'\|No rule to make target '$name'" "$log" &&
	   [ -z "$(parse_counts "$log")" ]; then
		echo "($name: no such target yet, not counted)"
		return 0
	fi
	counts=$(parse_counts "$log")
	if [ -n "$counts" ]; then
		read -r p f s <<< "$counts"
	elif [ "$rc" -eq 0 ]; then
		echo "($name printed no 'N passed, N failed' line; counted as one passing test)"
		p=1; f=0; s=0
	else
		p=0; f=0; s=0
	fi
	if [ "$rc" -ne 0 ] && [ "$f" -eq 0 ]; then
		echo "$name: exited $rc without reporting a failed test: counted as one failure"
		f=1
	fi
	record "$name" "$p" "$f" "$s" $(($(date +%s) - t0))
}

# --- 1. module build warnings --------------------------------------------------------
# build_module NAME KVER: a full W=1 build for one kernel, no warnings
build_module() {
	local name=$1 kver=$2 log=$LOGS/$1.log rc t0
	section "module build for ${kver:-the default kernel}: make module (W=1), full rebuild, no warnings"
	t0=$(date +%s)
	# Force every object to compile again so that warnings are printed
	# even when the tree was already built.
	scripts/kmod.sh clean $kver 2>/dev/null
	"${MAKE[@]}" module KVER="$kver" > "$log" 2>&1
	rc=$?
	if [ "$rc" -ne 0 ]; then
		tail -n 40 "$log"
		echo "FAIL module build (make module KVER=$kver exited $rc; log: $log)"
		record "$name" 0 1 0 $(($(date +%s) - t0))
	elif grep -qi 'warning:' "$log"; then
		grep -i -A3 'warning:' "$log" | head -n 60
		echo "FAIL module build ($(grep -ci 'warning:' "$log") warnings; log: $log)"
		record "$name" 0 1 0 $(($(date +%s) - t0))
	else
		echo "PASS module build for $(scripts/kmod.sh kver $kver) (no warnings)"
		record "$name" 1 0 0 $(($(date +%s) - t0))
	fi
}
build_module module-build "${KVER:-}"
[ -z "$SECOND_KVER" ] || build_module "module-$SECOND_KVER" "$SECOND_KVER"

# --- 2. checkpatch ----------------------------------------------------------------------
section "checkpatch --strict on kernel/*.c kernel/*.h kernel/compat/probes/*.c"
t0=$(date +%s)
find_checkpatch() {
	local f tarball
	for f in /usr/src/linux-source-*/scripts/checkpatch.pl \
		 build/checkpatch/*/scripts/checkpatch.pl; do
		[ -f "$f" ] && { echo "$f"; return 0; }
	done
	tarball=$(printf '%s\n' /usr/src/linux-source-*.tar.xz | grep -v '\*' |
		sort -V | tail -n1)
	[ -n "$tarball" ] || return 1
	echo "extracting checkpatch.pl from $tarball (once)..." >&2
	mkdir -p build/checkpatch
	tar -C build/checkpatch -xf "$tarball" --wildcards '*/scripts/checkpatch.pl' \
		'*/scripts/spelling.txt' '*/scripts/const_structs.checkpatch' >&2 || return 1
	for f in build/checkpatch/*/scripts/checkpatch.pl; do
		[ -f "$f" ] && { echo "$f"; return 0; }
	done
	return 1
}
if ! CHECKPATCH=$(find_checkpatch); then
	echo "FAIL checkpatch: not found (install linux-source-6.1: scripts/install-deps.sh)"
	record checkpatch 0 1 0 $(($(date +%s) - t0))
else
	cp_args=(--no-tree --strict --terse -f)
	[ -z "$CHECKPATCH_IGNORE" ] || cp_args+=(--ignore "$CHECKPATCH_IGNORE")
	p=0; f=0
	for src in kernel/*.c kernel/*.h kernel/compat/probes/*.c; do
		[ -f "$src" ] || continue
		case "$src" in *.mod.c) continue ;; esac	# generated by modpost
		out=$(perl "$CHECKPATCH" "${cp_args[@]}" "$src" 2>&1)
		if printf '%s\n' "$out" | grep -Eq ': (ERROR|WARNING|CHECK):'; then
			printf '%s\n' "$out" | grep -E ': (ERROR|WARNING|CHECK):'
			echo "FAIL checkpatch $src"
			f=$((f + 1))
		else
			echo "PASS checkpatch $src"
			p=$((p + 1))
		fi
	done
	[ $((p + f)) -gt 0 ] || echo "(no kernel sources yet)"
	record checkpatch "$p" "$f" 0 $(($(date +%s) - t0))
fi

# --- 3. unit and fuzz tests ------------------------------------------------------------
for t in check-unit check-fuzz; do
	section "make $t"
	run_suite "$t" "$LOGS/$t.log" "${MAKE[@]}" "$t"
done

if [ "${CHECK_SKIP_VM:-0}" = 1 ]; then
	section "VM checks skipped (CHECK_SKIP_VM=1)"
else
	# --- 4. harness selftest ---------------------------------------------------------------
	section "VM harness selftest"
	run_suite vm-selftest "$LOGS/vm-selftest.log" scripts/vm/selftest.sh

	# --- 5. VM tests -----------------------------------------------------------------------------
	section "make check-vm"
	t0=$(date +%s)
	# The module was built in step 1; userspace tools go into the VM too.
	if ! "${MAKE[@]}" userspace > "$LOGS/userspace.log" 2>&1; then
		tail -n 30 "$LOGS/userspace.log"
		echo "FAIL userspace build (log: $LOGS/userspace.log); VM tests use what exists"
		record userspace-build 0 1 0 $(($(date +%s) - t0))
	fi
	run_suite check-vm "$LOGS/check-vm.log" "${MAKE[@]}" check-vm VM_BUILD_DEPS=
	if [ -n "$SECOND_KVER" ]; then
		section "make check-vm KVER=$SECOND_KVER (tests: $SECOND_TESTS)"
		[ "$SECOND_TESTS" != all ] || SECOND_TESTS=
		run_suite "check-vm-$SECOND_KVER" "$LOGS/check-vm-$SECOND_KVER.log" \
			"${MAKE[@]}" check-vm VM_BUILD_DEPS= KVER="$SECOND_KVER" T="$SECOND_TESTS"
	fi
fi

if [ "${CHECK_DKMS:-0}" = 1 ]; then
	section "dkms build for every installed kernel (scripts/test-dkms.sh)"
	run_suite dkms "$LOGS/dkms.log" scripts/test-dkms.sh
fi

# --- totals -------------------------------------------------------------------------------
section "summary ($(($(date +%s) - T_ALL))s)"
printf '%s\n' "${SUMMARY[@]}"
if [ "$TOTAL_S" -gt 0 ]; then
	echo "$TOTAL_P passed, $TOTAL_F failed, $TOTAL_S skipped"
else
	echo "$TOTAL_P passed, $TOTAL_F failed"
fi
[ "$TOTAL_F" -eq 0 ]
