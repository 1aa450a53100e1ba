#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# Where the CPU goes: a perf profile of tenant (3 local legs) and of
# dm-crypt on dm-mirror (the best stack of bench-mirror.sh) on the same
# fio job, same brd disks, same VM.  Prints throughput, CPU busy and the
# top kernel symbols of each.  Needs perf on the host (Debian: linux-perf),
# copied into the VM:
#
#   VM_EXTRA_BINS=perf scripts/vm/run.sh --bench scripts/profile-mirror.sh
#   VM_EXTRA_BINS=perf scripts/vm/run.sh -e PROF_JOB=rand-write-4k-qd16 \
#       -e PROF_CALLERS=1 --bench scripts/profile-mirror.sh
#
# Environment: PROF_JOB (a bench-lib.sh job, default seq-write-1M),
# BENCH_RUNTIME (seconds, default 8), PROF_CALLERS=1 adds call chains of
# the symbols over 3%, PROF_LIMIT (default 1) the least share of a symbol
# listed, PROF_COMM=fio also lists the symbols of that thread alone (% of
# its own samples).  The profile is system-wide (-a), software clock
# samples: under TCG there are no hardware counters.
# vm-timeout: 900
# vm-mem: 2048
# vm-smp: 2
# Clocks from the TSC, not the emulated HPET (Documentation/design.md):
# vm-append: tsc=reliable
# shellcheck source=tests/vm/lib.sh
. "$DMT_LIB"
# shellcheck source=tests/vm/tenant-lib.sh
. "$DMT_ROOT/tests/vm/tenant-lib.sh"
# shellcheck source=scripts/bench-lib.sh
. "$DMT_ROOT/scripts/bench-lib.sh"

JOB=${PROF_JOB:-seq-write-1M} RUNTIME=${BENCH_RUNTIME:-8} RAMP=1 SEQ_QD=4
FIO_SIZE_MB=256
check_jobs "$JOB"
require_cmd fio
command -v perf >/dev/null || skip "no perf in the VM (VM_EXTRA_BINS=perf, host package linux-perf)"
OUT=/tmp/prof
mkdir -p $OUT
DISKS="/dev/ram0 /dev/ram1 /dev/ram2" OFF=2048 SECTORS=$((256 * 2048))
KEYREF=":64:logon:dm-tenant:bench:vol"
for m in cryptd crypto_simd aesni_intel ecb xts dm-mod dm-crypt dm-mirror; do need_module $m; done
tenant_setup
brd_setup 3 288
tenant_key_new bench vol 64
on_exit "dmsetup remove --retry bm 2>/dev/null || true"
on_exit "dmsetup remove --retry bm-mirror 2>/dev/null || true"
for d in $DISKS; do
	dd if=/dev/zero of="$d" bs=1M count=288 oflag=direct status=none || fail "preconditioning $d"
done

up() {
	local t d
	for d in $DISKS; do dd if=/dev/zero of="$d" bs=1M count=1 oflag=direct status=none; done
	case $1 in
	tenant)
		t="0 $SECTORS tenant bench vol aes-xts-plain64 $KEYREF 0 3"
		for d in $DISKS; do t+=" local $d $OFF"; done
		check dmsetup create bm --table "$t 2 metadata:2048 nosync" ;;
	crypt/dmr)
		t="0 $SECTORS mirror core 2 1024 nosync 3"
		for d in $DISKS; do t+=" $d $OFF"; done
		check dmsetup create bm-mirror --table "$t 1 handle_errors"
		check dmsetup create bm --table "0 $SECTORS crypt aes-xts-plain64 $KEYREF 0 /dev/mapper/bm-mirror 0" ;;
	esac
}
down() {
	check dmsetup remove --retry bm
	[ "$1" = tenant ] || check dmsetup remove --retry bm-mirror
}

bench_env "dm-tenant profile: $JOB, ${RUNTIME}s"
for c in tenant crypt/dmr; do
	up $c
	perf record -q -a -g -e cpu-clock -o $OUT/perf.data -- sleep $((RUNTIME + RAMP)) \
		>/dev/null 2>&1 &
	pp=$!
	a=$(cpu_ticks)
	res=$(run_fio /dev/mapper/bm "$JOB") || exit 1
	b=$(cpu_ticks)
	wait $pp
	down $c
	# shellcheck disable=SC2086
	set -- $res
	echo
	echo "=== $c: $1 MiB/s, $2 IOPS, CPU busy $(cpu_busy "$a" "$b")% ==="
	echo "top symbols (% of all samples, both CPUs, idle included):"
	perf report -i $OUT/perf.data --no-children --sort sym --stdio -g none \
		--percent-limit "${PROF_LIMIT:-1}" 2>/dev/null | grep -v '^#' | grep -v '^$' | head -40
	echo "by thread:"
	perf report -i $OUT/perf.data --no-children --sort comm --stdio -g none \
		--percent-limit 2 2>/dev/null | grep -v '^#' | grep -v '^$' | head -12
	if [ -n "${PROF_COMM:-}" ]; then
		echo "symbols of $PROF_COMM (% of its samples):"
		perf report -i $OUT/perf.data --no-children --comm "$PROF_COMM" \
			--sort dso,sym --stdio -g none --percentage relative \
			--percent-limit "${PROF_LIMIT:-1}" 2>/dev/null |
			grep -v '^#' | grep -v '^$' | head -50
	fi
	if [ "${PROF_CALLERS:-0}" = 1 ]; then
		echo "call chains:"
		perf report -i $OUT/perf.data --no-children --sort sym --stdio -G \
			--percent-limit 3 2>/dev/null | grep -v '^#' | grep -v '^$' | head -150
	fi
done
