#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# Run the table fuzzer: run-fuzz.sh FUZZER BUILD_DIR SECONDS
# Seeds from tests/fuzz/corpus are copied into BUILD_DIR/corpus, which
# keeps growing across runs; crash reproducers land in BUILD_DIR/artifacts.
# The last line is "1 passed, 0 failed" or "0 passed, 1 failed".
set -u

FUZZER=$1
BUILD=$2
SECONDS_TO_RUN=$3
SRC=$(dirname "$0")

mkdir -p "$BUILD/corpus" "$BUILD/artifacts"
cp -n "$SRC"/corpus/* "$BUILD/corpus/" 2>/dev/null || true
LOG="$BUILD/fuzz_table.log"

rc=0
"$FUZZER" "$BUILD/corpus" -dict="$SRC/fuzz_table.dict" \
	-max_total_time="$SECONDS_TO_RUN" -timeout=10 -rss_limit_mb=2048 \
	-max_len=4096 -artifact_prefix="$BUILD/artifacts/" \
	-print_final_stats=1 >"$LOG" 2>&1 || rc=$?

execs=$(sed -nE 's/^stat::number_of_executed_units: *([0-9]+)/\1/p' "$LOG")
speed=$(sed -nE 's/^stat::average_exec_per_sec: *([0-9]+)/\1/p' "$LOG")
cov=$(grep -oE 'cov: [0-9]+ ft: [0-9]+ corp: [0-9]+/[0-9]+[a-zA-Z]*' "$LOG" |
      tail -n1)
echo "fuzz_table: ${execs:-?} execs, ${speed:-?} execs/s, $cov (${SECONDS_TO_RUN}s, log $LOG)"

if [ "$rc" != 0 ]; then
	grep -E 'ERROR|check failed|SUMMARY|Test unit written' "$LOG" |
		head -n 20 | sed 's/^/  /'
	echo "0 passed, 1 failed"
	exit 1
fi
echo "1 passed, 0 failed"
