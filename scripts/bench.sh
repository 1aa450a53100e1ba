#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# `make bench`: throughput and latency of the tenant target against stock
# dm-crypt (default, and with no_read_workqueue/no_write_workqueue) and the
# raw device, all on the same brd ram disk with the same 64-byte logon key,
# aes-xts-plain64 and 512-byte sectors.  Runs inside the test VM:
#
#   scripts/vm/run.sh --bench scripts/bench.sh      (or: make bench)
#   scripts/vm/run.sh -e BENCH_QUICK=1 --bench scripts/bench.sh
#
# Environment (pass with run.sh -e VAR=VALUE):
#   BENCH_REPS=N      repetitions (default 3; 1 with BENCH_QUICK=1)
#   BENCH_RUNTIME=S   measured seconds per fio run (default 10; 3 quick)
#   BENCH_RAMP=S      fio ramp_time before measuring (default 2; 1 quick)
#   BENCH_QUICK=1     development mode: R=1 and short runs
#   BENCH_JOBS="..."  subset of the job names below (default: all)
#
# Every repetition runs every job on every contender, one device at a time,
# the contender order rotated per repetition so slow drift (host load, other
# VMs on the host) spreads evenly.  Per contender and job the median over
# the repetitions is reported; ratios are paired: tenant / dm-crypt within
# each repetition, then the median over repetitions.  Absolute figures under
# TCG emulation mean nothing; only ratios within one run do.
# Wall time (2-core host, TCG): ~18 min at the defaults, ~3 min quick.
# Results and how to read them: Documentation/benchmarks.md.
#
# This is a benchmark, not a test: a missed goal prints MISS and the script
# still exits 0.  It fails only when something breaks (setup, fio error).
# vm-timeout: 3300
# vm-mem: 3072
# vm-smp: 2
# Clocks from the TSC, not the emulated HPET (Documentation/design.md):
# vm-append: tsc=reliable
# shellcheck source=tests/vm/lib.sh
. "$DMT_LIB"
# shellcheck source=tests/vm/tenant-lib.sh
. "$DMT_ROOT/tests/vm/tenant-lib.sh"
# shellcheck source=scripts/bench-lib.sh
. "$DMT_ROOT/scripts/bench-lib.sh"

if [ "${BENCH_QUICK:-0}" = 1 ]; then
	REPS=${BENCH_REPS:-1} RUNTIME=${BENCH_RUNTIME:-3} RAMP=${BENCH_RAMP:-1}
else
	REPS=${BENCH_REPS:-3} RUNTIME=${BENCH_RUNTIME:-10} RAMP=${BENCH_RAMP:-2}
fi
[[ "$REPS" =~ ^[1-9][0-9]*$ && "$RUNTIME" =~ ^[1-9][0-9]*$ &&
   "$RAMP" =~ ^[0-9]+$ ]] || fail "bad BENCH_REPS/BENCH_RUNTIME/BENCH_RAMP"

DISK_MB=512
SECTORS=$((DISK_MB * 2048))
LEG=/dev/ram0
KEYREF=":64:logon:dm-tenant:bench:vol"
SEQ_QD=4			# queue depth of the 1 MiB jobs
FIO_SIZE_MB=$DISK_MB

# job name -> fio arguments; the unit of the primary figure follows from
# the block size: MiB/s for 1 MiB jobs, IOPS for 4 KiB jobs.
ALL_JOBS="seq-read-1M seq-write-1M rand-read-4k-qd1 rand-write-4k-qd1 rand-read-4k-qd16 rand-write-4k-qd16"
JOBS=${BENCH_JOBS:-$ALL_JOBS}
check_jobs "$JOBS"

CONTENDERS=(raw crypt crypt-nowq tenant)
DEVNAME=bench-dev

# --- setup ------------------------------------------------------------------
need_module cryptd
need_module crypto_simd
need_module aesni_intel
need_module ecb
need_module xts
need_module dm-mod
need_module dm-crypt
tenant_setup
modprobe af_alg 2>/dev/null || true
modprobe algif_skcipher 2>/dev/null || true
require_cmd fio
brd_setup 1 "$DISK_MB"
tenant_key_new bench vol 64
on_exit "dmsetup remove --retry $DEVNAME 2>/dev/null || true"

OUT=/tmp/bench
mkdir -p $OUT
RESULTS=$OUT/results		# rep job contender + parse_fio fields
: >$RESULTS

table_of() {	# table_of CONTENDER -> dm table (empty for raw)
	case "$1" in
	raw) ;;
	crypt) echo "0 $SECTORS crypt aes-xts-plain64 $KEYREF 0 $LEG 0" ;;
	crypt-nowq) echo "0 $SECTORS crypt aes-xts-plain64 $KEYREF 0 $LEG 0 2 no_read_workqueue no_write_workqueue" ;;
	tenant) echo "0 $SECTORS tenant bench vol aes-xts-plain64 $KEYREF 0 1 local $LEG 0" ;;
	esac
}

dev_up() {	# dev_up CONTENDER -> prints the device to benchmark
	local t
	t=$(table_of "$1")
	if [ -z "$t" ]; then
		echo $LEG
		return
	fi
	dmsetup create $DEVNAME --table "$t" >&2 || fail "dmsetup create ($1) failed"
	dm_dev_path $DEVNAME
}

dev_down() {
	[ "$1" = raw ] && return 0
	dmsetup remove --retry $DEVNAME || fail "dmsetup remove ($1) failed"
}

# xts(aes) implementations in /proc/crypto: "driver priority refcnt"
xts_drivers() {
	awk -F' *: ' '
		function out() { if (n == "xts(aes)") print d, p, r; n = "" }
		$1 == "name" { out(); n = $2 }
		$1 == "driver" { d = $2 }
		$1 == "priority" { p = $2 }
		$1 == "refcnt" { r = $2 }
		END { out() }' /proc/crypto
}

# Which xts(aes) driver a contender's table actually holds: the one whose
# refcnt rises while the device is live.
driver_in_use() {
	local before after
	before=$(xts_drivers)
	dev_up "$1" >/dev/null
	after=$(xts_drivers)
	dev_down "$1"
	awk 'NR == FNR { r[$1] = $3; next } $3 > r[$1] + 0 { printf "%s%s", s, $1; s = " " }' \
		<(echo "$before") <(echo "$after")
}


# --- environment and crypto ceiling ------------------------------------------
bench_env "dm-tenant benchmark"
echo "dm-tenant: md5 $(md5sum <"$(modinfo -n dm-tenant)" | cut -c1-12)," \
	"target $(dmsetup targets | awk '$1 == "tenant" { print $2 }')," \
	"crypt $(dmsetup targets | awk '$1 == "crypt" { print $2 }')"
echo "device:    $LEG (brd, $DISK_MB MiB), 512-byte sectors, key $KEYREF"
echo "runs:      $REPS repetition(s) x $(echo "$JOBS" | wc -w) jobs x ${#CONTENDERS[@]} contenders," \
	"${RUNTIME}s measured + ${RAMP}s ramp each"
echo
echo "xts(aes) implementations (driver priority refcnt):"
xts_drivers | sed 's/^/  /'
best=$(xts_drivers | sort -k2,2nr | head -n1 | cut -d' ' -f1)
echo "highest priority xts(aes): ${best:-none}"
for c in crypt crypt-nowq tenant; do
	used=$(driver_in_use $c) || exit 1
	echo "xts(aes) driver held by $c: ${used:-?}"
done
echo
echo "crypto ceiling: cryptsetup benchmark -c aes-xts-plain64 -s 512"
cryptsetup benchmark -c aes-xts-plain64 -s 512 2>&1 | sed 's/^/  /' ||
	echo "  (cryptsetup benchmark failed; AF_ALG missing?)"
echo

# --- precondition -------------------------------------------------------------
# Write the whole disk once through dm-crypt: brd allocates every page (it
# returns zeroes for never-written pages without touching memory) and the
# encrypted contenders read valid ciphertext of their own key.
t0=$(date +%s)
dev=$(dev_up crypt) || exit 1
dd if=/dev/zero of="$dev" bs=1M count=$DISK_MB oflag=direct status=none ||
	fail "preconditioning write failed"
dev_down crypt
info "preconditioned $DISK_MB MiB in $(($(date +%s) - t0))s"

# --- measure --------------------------------------------------------------------
T_START=$(date +%s)
n=${#CONTENDERS[@]}
info "measuring; expect about $((REPS * $(echo "$JOBS" | wc -w) * n * (RUNTIME + RAMP + 2) / 60 + 1)) min"
for ((r = 1; r <= REPS; r++)); do
	order=()
	for ((i = 0; i < n; i++)); do order+=("${CONTENDERS[$(((r - 1 + i) % n))]}"); done
	info "repetition $r/$REPS, order: ${order[*]}"
	for job in $JOBS; do
		line="  $(printf '%-19s' "$job")"
		for c in "${order[@]}"; do
			dev=$(dev_up "$c") || exit 1
			res=$(run_fio "$dev" "$job") || exit 1
			dev_down "$c"
			echo "$r $job $c $res" >>$RESULTS
			# shellcheck disable=SC2086
			set -- $res
			if [ "$(job_unit "$job")" = IOPS ]; then v=$2; else v=$1; fi
			line+=" $c=$v"
		done
		echo "$line"
	done
done
T_MEAS=$(($(date +%s) - T_START))

# --- report ------------------------------------------------------------------------
# col: 4 MiB/s, 5 IOPS, 6/7 lat p50/p99, 8/9 clat p50/p99

# Ratios are paired: tenant / C within each repetition (runs minutes
# apart at most, order rotated), then the median over repetitions.  Under
# drift (host load) that is steadier than a ratio of medians.
rep_ratios() {	# rep_ratios JOB C -> one ratio per repetition, sorted
	local k
	k=$(col_of "$1")
	awk -v j="$1" -v c="$2" -v k="$k" '
		$2 == j && $3 == "tenant" { t[$1] = $k }
		$2 == j && $3 == c { b[$1] = $k }
		END { for (r in t) if (b[r] > 0) printf "%.4f\n", t[r] / b[r] }' $RESULTS | sort -n
}

ratio_med() {	# ratio_med JOB C -> median of the paired ratios
	rep_ratios "$1" "$2" | awk '{ v[NR] = $1 } END {
		if (NR == 0) { print "-"; exit }
		printf "%.2f\n", (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2 }'
}

ratio_range() {	# ratio_range JOB C -> "min-max" of the paired ratios
	rep_ratios "$1" "$2" | awk 'NR == 1 { mn = $1 } { mx = $1 }
		END { printf "%.2f-%.2f\n", mn, mx }'
}

spread() {	# spread JOB C -> (max - min) / median of the primary figure, in %
	local k
	k=$(col_of "$1")
	awk -v j="$1" -v c="$2" -v k="$k" '$2 == j && $3 == c { print $k }' $RESULTS |
		sort -n | awk '{ v[NR] = $1 } END {
			m = (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2
			if (m > 0) printf "%.0f%%", 100 * (v[NR] - v[1]) / m; else print "-" }'
}

echo
echo "=== results: median of $REPS repetition(s), ${RUNTIME}s each (kernel $(uname -r)) ==="
echo "Throughput (MiB/s for 1M jobs, IOPS for 4k jobs), median per contender; ratios"
echo "tenant/dm-crypt: median of the per-repetition ratios [their min-max]."
printf '%-19s %-5s %9s %9s %10s %9s  %-18s %-18s\n' job unit raw dm-crypt crypt-nowq tenant \
	"t/dm-crypt" "t/crypt-nowq"
declare -A MED
for job in $JOBS; do
	k=$(col_of "$job")
	for c in "${CONTENDERS[@]}"; do MED[$job,$c]=$(median "$job" "$c" "$k"); done
	r1=$(ratio_med "$job" crypt)
	r2=$(ratio_med "$job" crypt-nowq)
	MED[$job,r1]=$r1
	MED[$job,r2]=$r2
	printf '%-19s %-5s %9s %9s %10s %9s  %-18s %-18s\n' "$job" "$(job_unit "$job")" \
		"${MED[$job,raw]}" "${MED[$job,crypt]}" "${MED[$job,crypt-nowq]}" \
		"${MED[$job,tenant]}" "$r1 [$(ratio_range "$job" crypt)]" \
		"$r2 [$(ratio_range "$job" crypt-nowq)]"
done
echo
echo "Latency p50 / p99 in usec, fio total latency (submission to completion),"
echo "medians over repetitions:"
printf '%-19s %17s %17s %17s %17s\n' job raw dm-crypt crypt-nowq tenant
for job in $JOBS; do
	row=$(printf '%-19s' "$job")
	for c in "${CONTENDERS[@]}"; do
		row+=$(printf ' %17s' "$(median "$job" "$c" 6) / $(median "$job" "$c" 7)")
	done
	echo "$row"
done
echo
echo "Spread between repetitions, (max - min) / median of the primary figure:"
printf '%-19s %9s %9s %10s %9s\n' job raw dm-crypt crypt-nowq tenant
for job in $JOBS; do
	printf '%-19s %9s %9s %10s %9s\n' "$job" "$(spread "$job" raw)" "$(spread "$job" crypt)" \
		"$(spread "$job" crypt-nowq)" "$(spread "$job" tenant)"
done
echo
echo "Per-repetition figures (rep job contender MiB/s IOPS lat-p50 lat-p99 clat-p50 clat-p99, usec):"
sed 's/^/  /' $RESULTS
echo
echo "=== goals ==="
# goal JOB C MIN TEXT: PASS/MISS on the median paired ratio; a per-rep
# range on both sides of MIN is flagged, since then the verdict is noise.
goal() {
	local job=$1 c=$2 min=$3 text=$4 med range verdict note=""
	med=$(ratio_med "$job" "$c")
	range=$(ratio_range "$job" "$c")
	verdict=$(awk -v a="$med" -v b="$min" -v r="$range" 'BEGIN {
		split(r, x, "-")
		v = (a != "-" && a + 0 >= b) ? "PASS" : "MISS"
		if (x[1] + 0 < b && x[2] + 0 >= b) v = v " straddle"
		print v }')
	case "$verdict" in
	*straddle) note="  (per-rep ratios straddle ${min}x: within noise)" ;;
	esac
	echo "${verdict%% *}  tenant >= ${min}x $text on $job: ${med}x [per rep $range]$note"
}
for job in $JOBS; do
	goal "$job" crypt-nowq 1.0 "dm-crypt no-wq"
done
case " $JOBS " in
*" rand-write-4k-qd1 "*) goal rand-write-4k-qd1 crypt 1.5 "dm-crypt default" ;;
esac
echo
info "measurement took ${T_MEAS}s ($(awk -v s="$T_MEAS" 'BEGIN { printf "%.1f", s / 60 }') min)"
exit 0
