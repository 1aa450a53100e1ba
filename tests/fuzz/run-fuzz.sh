#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# Run libFuzzer harnesses one after the other:
#   run-fuzz.sh BUILD_DIR runs=N|time=S NAME[=RUNS]...
# runs=N: N executions of each (make check-fuzz, make fuzz-long); the smoke
#   (N < 100000) starts from the seeds only, in a fresh directory, so that
#   its cost stays the same however big the working corpus grew.
# time=S: S seconds of each (make fuzz).
# NAME=RUNS: that harness runs RUNS executions instead (a slow one's smoke).
# Long runs read and grow BUILD_DIR/corpus-NAME (seeded from
# tests/fuzz/corpus-NAME, the table parser's from tests/fuzz/corpus).
# Crash reproducers land in BUILD_DIR/artifacts-NAME/.  One line of figures
# per harness; the last line is "N passed, N failed".
set -u

BUILD=$1
MODE=$2
shift 2
SRC=$(cd "$(dirname "$0")" && pwd)
pass=0
fail=0

case "$MODE" in
runs=*) limit=(-runs="${MODE#runs=}") ;;
time=*) limit=(-max_total_time="${MODE#time=}") ;;
*) echo "run-fuzz.sh: mode must be runs=N or time=S, not '$MODE'" >&2
   exit 2 ;;
esac
for arg in "$@"; do
	name=${arg%%=*}
	lim=("${limit[@]}")
	[ "$arg" != "$name" ] && lim=(-runs="${arg#*=}")
	smoke=0
	case "${lim[0]}" in
	-runs=*) [ "${lim[0]#-runs=}" -lt 100000 ] && smoke=1 ;;
	esac
	fuzzer=$BUILD/fuzz_$name
	seeds=$SRC/corpus-$name
	[ "$name" = table ] && seeds=$SRC/corpus
	dict=()
	[ -f "$SRC/fuzz_$name.dict" ] && dict=(-dict="$SRC/fuzz_$name.dict")
	log=$BUILD/fuzz_$name.log
	art=$BUILD/artifacts-$name
	mkdir -p "$art"
	if [ "$smoke" = 1 ]; then
		corpus=$(mktemp -d "$BUILD/smoke-$name.XXXXXX")
		dirs=("$corpus" "$seeds")
	else
		corpus=$BUILD/corpus-$name
		mkdir -p "$corpus"
		cp -n "$seeds"/* "$corpus"/ 2>/dev/null || true
		dirs=("$corpus")
	fi
	rc=0
	t0=$(date +%s.%N)
	# -timeout is a hang detector only: the CPU may be shared.
	TIMEFORMAT='%U %S'
	{ time "$fuzzer" "${dirs[@]}" "${dict[@]}" "${lim[@]}" \
		-timeout=30 -rss_limit_mb=2048 -max_len=4096 \
		-artifact_prefix="$art/" -print_final_stats=1 \
		>"$log" 2>&1 || rc=$?; } 2>"$log.cpu"
	wall=$(awk -v a="$t0" -v b="$(date +%s.%N)" 'BEGIN { print b - a }')
	cpu=$(awk '{ printf "%.1f", $1 + $2 }' "$log.cpu")
	[ "$smoke" = 1 ] && rm -rf "$corpus"
	execs=$(sed -nE 's/^stat::number_of_executed_units: *([0-9]+)/\1/p' "$log")
	speed=$(awk -v n="${execs:-0}" -v t="$wall" 'BEGIN { printf "%.0f", (t > 0 ? n / t : 0) }')
	cov=$(grep -oE 'cov: [0-9]+ ft: [0-9]+ corp: [0-9]+/[0-9]+[a-zA-Z]*' "$log" |
	      tail -n1)
	printf 'fuzz_%s: %s execs, %s execs/s, %s, %.0fs wall, %ss CPU (log %s)\n' \
		"$name" "${execs:-?}" "${speed:-?}" "${cov:-no coverage line}" \
		"$wall" "$cpu" "$log"
	if [ "$rc" != 0 ] || grep -qE '^==[0-9]+==ERROR|runtime error:|check failed' "$log"; then
		grep -E 'ERROR|runtime error|check failed|SUMMARY|Test unit written' "$log" |
			head -n 20 | sed 's/^/  /'
		echo "FAIL fuzz_$name (exit $rc)"
		fail=$((fail + 1))
	else
		pass=$((pass + 1))
	fi
done
echo "$pass passed, $fail failed"
[ "$fail" = 0 ]
