#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# Unit test runner behind `make check-unit`.
#
#   run-unit.sh BUILD_DIR ITEM...
#
# ITEM is "cmocka:NAME" (binaries BUILD_DIR/asan/NAME and BUILD_DIR/vg/NAME)
# or "shell:PATH" (a TAP script; tools in BUILD_DIR/asan and BUILD_DIR/vg).
# Every item runs twice: the ASan+UBSan build natively, and the plain
# build under valgrind.  Each TAP result of each run counts once, so a
# test case counts in both configurations; a run that exits non-zero
# without reporting a failing case (crash, sanitizer or valgrind error
# after the last case, missing cases) adds one failure.
# The last line is always "N passed, N failed"; exit status 1 if N failed.
set -u

BUILD=$1
shift
LOGS="$BUILD/logs"
mkdir -p "$LOGS"

VALGRIND=(valgrind -q --error-exitcode=99 --leak-check=full
	  --errors-for-leak-kinds=definite,indirect,possible
	  --track-origins=yes)
export ASAN_OPTIONS="${ASAN_OPTIONS:-detect_leaks=1:abort_on_error=1}"
export UBSAN_OPTIONS="${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}"

total_pass=0
total_fail=0

# account LABEL LOG RC: count TAP results of one run
account() {
	local label=$1 log=$2 rc=$3 pass fail plan extra=0
	pass=$(grep -cE '^ok [0-9]+' "$log")
	fail=$(grep -cE '^not ok [0-9]+' "$log")
	plan=$(sed -nE 's/^1\.\.([0-9]+).*/\1/p' "$log" | head -n1)
	if [ -n "$plan" ] && [ $((pass + fail)) -lt "$plan" ]; then
		extra=$((plan - pass - fail))
		echo "  $label: $extra case(s) did not report (crash?)"
	fi
	if [ "$rc" != 0 ] && [ "$fail" = 0 ] && [ "$extra" = 0 ]; then
		extra=1
		echo "  $label: exit status $rc without a failing case"
	fi
	fail=$((fail + extra))
	printf '%-40s %d passed, %d failed\n' "$label" "$pass" "$fail"
	if [ "$fail" != 0 ]; then
		grep -E '^not ok' "$log" | sed 's/^/  /'
		echo "  --- last lines of $log:"
		tail -n 25 "$log" | sed 's/^/  | /'
	fi
	total_pass=$((total_pass + pass))
	total_fail=$((total_fail + fail))
}

have_valgrind=1
command -v valgrind >/dev/null 2>&1 || have_valgrind=0

for item in "$@"; do
	kind=${item%%:*}
	name=${item#*:}
	base=$(basename "$name" .sh)
	case $kind in
	cmocka)
		log="$LOGS/asan-$base.log"
		rc=0
		CMOCKA_MESSAGE_OUTPUT=TAP "$BUILD/asan/$name" >"$log" 2>&1 || rc=$?
		account "asan/$base" "$log" $rc

		log="$LOGS/valgrind-$base.log"
		if [ $have_valgrind = 0 ]; then
			echo "valgrind not installed (run 'make deps')" >"$log"
			account "valgrind/$base" "$log" 1
			continue
		fi
		rc=0
		CMOCKA_MESSAGE_OUTPUT=TAP "${VALGRIND[@]}" "$BUILD/vg/$name" \
			>"$log" 2>&1 || rc=$?
		account "valgrind/$base" "$log" $rc
		;;
	shell)
		log="$LOGS/asan-$base.log"
		rc=0
		UNIT_TOOLS_DIR="$BUILD/asan" UNIT_TOOL_WRAPPER="" \
			bash "$name" >"$log" 2>&1 || rc=$?
		account "asan/$base" "$log" $rc

		log="$LOGS/valgrind-$base.log"
		if [ $have_valgrind = 0 ]; then
			echo "valgrind not installed (run 'make deps')" >"$log"
			account "valgrind/$base" "$log" 1
			continue
		fi
		rc=0
		UNIT_TOOLS_DIR="$BUILD/vg" UNIT_TOOL_WRAPPER="${VALGRIND[*]}" \
			bash "$name" >"$log" 2>&1 || rc=$?
		account "valgrind/$base" "$log" $rc
		;;
	*)
		echo "run-unit.sh: unknown item $item" >&2
		total_fail=$((total_fail + 1))
		;;
	esac
done

echo "$total_pass passed, $total_fail failed"
[ "$total_fail" = 0 ]
