#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# Replication benchmark: a tenant volume with three local legs against the
# stock stacks that give the same thing (three-way mirror + encryption):
# dm-crypt on dm-raid1 (dm-mirror, core log) and dm-crypt on md raid1, all
# on the SAME three brd ram disks with the same 64-byte logon key,
# aes-xts-plain64 and 512-byte sectors, created one at a time.  Then the
# time a full resync of the tenant volume takes.  Runs inside the test VM:
#
#   scripts/vm/run.sh --bench scripts/bench-mirror.sh
#   scripts/vm/run.sh -e BENCH_REPS=1 --bench scripts/bench-mirror.sh
#
# Environment (pass with run.sh -e VAR=VALUE):
#   BENCH_REPS=N        repetitions (default 2)
#   BENCH_RUNTIME=S     measured seconds per fio run (default 3)
#   BENCH_RAMP=S        fio ramp_time before measuring (default 1)
#   BENCH_JOBS="..."    subset of the job names below (default: all)
#   BENCH_RESYNC_MB="." volume sizes (MiB) whose full resync is timed
#                       (default "64 256")
#   BENCH_TENANT_OPTS="..." extra optional parameters of the tenant table,
#                       e.g. "region_size:131072" (default none)
#   BENCH_EXTRA="..."   extra tenant contenders, measured in the same run
#                       (default none): tenant/nola (seq_lookahead_kb=0: no
#                       bitmap look-ahead), tenant/64M (region_size:131072),
#                       tenant/wq (write_inline_max=1: every write queued)
#   BENCH_RESYNC_CAP=S  stop timing a resync after S seconds and report the
#                       rate from its progress (default 120)
#   BENCH_DEVICES=D     the three legs: brd (default: ram disks, every I/O
#                       done and completed inside the submitter's call) or
#                       nullb (memory-backed null_blk, completion by a
#                       timer after BENCH_NULLB_NSEC ns, default 20000: legs
#                       that complete asynchronously, like real disks)
#
# Contenders (each on /dev/ram0..2, data at sector 2048 of every disk):
#   tenant      3 local legs, metadata:2048 (superblock + write-intent
#               bitmap on every leg), nosync; writes over 64 KiB encrypted
#               on an unbound workqueue (module default)
#   tenant/inl  the same with write_inline_max=0: every write encrypted
#               inline in the submitter (shows what the workqueue buys)
#   tenant/nola (BENCH_EXTRA) tenant with seq_lookahead_kb=0
#   tenant/64M  (BENCH_EXTRA) tenant with 64 MiB regions
#   tenant/wq   (BENCH_EXTRA) tenant with every write encrypted on the
#               workqueue, as dm-crypt does by default
#   crypt/dmr   dm-crypt (default flags) on dm-mirror: core log, nosync,
#               handle_errors, region 1024 sectors (= tenant's region)
#   nowq/dmr    the same, dm-crypt with no_read_workqueue no_write_workqueue
#   nowq/md     dm-crypt (no-wq flags) on md raid1, metadata 1.2, internal
#               bitmap, --assume-clean, data offset 1 MiB
# The dm-mirror core log is in memory only (no persistent dirty log): it is
# the fastest dm-mirror configuration and gives it an advantage, since
# tenant and md keep an on-disk write-intent bitmap.
#
# Every repetition runs every job on every contender, the device created
# before and removed after each run, the contender order rotated per
# repetition.  Per contender and job the median over repetitions is
# reported; the ratio tenant / best stack is paired: within each
# repetition, tenant over the best stack of that repetition, then the
# median over repetitions.  Absolute figures under TCG mean nothing.
# Wall time (2-core host, TCG): ~8 min at the defaults.
#
# This is a benchmark, not a test: a missed goal prints MISS and the script
# still exits 0.  It fails only when something breaks (setup, fio error).
# vm-timeout: 2400
# vm-mem: 4096
# vm-smp: 2
# Clocks from the TSC, not the emulated HPET (Documentation/design.md):
# vm-append: tsc=reliable
# shellcheck source=tests/vm/lib.sh
. "$DMT_LIB"
# shellcheck source=tests/vm/tenant-lib.sh
. "$DMT_ROOT/tests/vm/tenant-lib.sh"
# shellcheck source=scripts/bench-lib.sh
. "$DMT_ROOT/scripts/bench-lib.sh"

REPS=${BENCH_REPS:-2} RUNTIME=${BENCH_RUNTIME:-3} RAMP=${BENCH_RAMP:-1}
RESYNC_MB=${BENCH_RESYNC_MB:-64 256}
RESYNC_CAP=${BENCH_RESYNC_CAP:-120}
[[ "$REPS" =~ ^[1-9][0-9]*$ && "$RUNTIME" =~ ^[1-9][0-9]*$ &&
   "$RAMP" =~ ^[0-9]+$ && "$RESYNC_CAP" =~ ^[1-9][0-9]*$ ]] ||
	fail "bad BENCH_REPS/BENCH_RUNTIME/BENCH_RAMP/BENCH_RESYNC_CAP"

RAM_MB=288			# per brd disk
DATA_MB=256
SECTORS=$((DATA_MB * 2048))
OFF=2048			# data offset on every disk (1 MiB)
META=2048			# tenant metadata:<sectors>, right before OFF
DEVICES=${BENCH_DEVICES:-brd}
NULLB_NSEC=${BENCH_NULLB_NSEC:-20000}
case "$DEVICES" in
brd) DISKS="/dev/ram0 /dev/ram1 /dev/ram2" ;;
nullb) DISKS="/dev/nullb0 /dev/nullb1 /dev/nullb2"
	[[ "$NULLB_NSEC" =~ ^[0-9]+$ ]] || fail "bad BENCH_NULLB_NSEC" ;;
*) fail "BENCH_DEVICES: unknown '$DEVICES' (brd, nullb)" ;;
esac
KEYREF=":64:logon:dm-tenant:bench:vol"
SEQ_QD=4			# queue depth of the 1 MiB jobs
FIO_SIZE_MB=$DATA_MB

ALL_JOBS="seq-write-1M seq-read-1M rand-write-4k-qd16 rand-read-4k-qd16 rand-write-4k-qd1"
JOBS=${BENCH_JOBS:-$ALL_JOBS}
check_jobs "$JOBS"

CONTENDERS=(tenant tenant/inl crypt/dmr nowq/dmr nowq/md)
STACKS=(crypt/dmr nowq/dmr nowq/md)
NAME=bm				# top device
MNAME=bm-mirror			# dm-mirror under dm-crypt
MD=/dev/md0

# --- setup ------------------------------------------------------------------
need_module cryptd
need_module crypto_simd
need_module aesni_intel
need_module ecb
need_module xts
need_module dm-mod
need_module dm-crypt
need_module dm-mirror
tenant_setup
INLINE_PARAM=/sys/module/dm_tenant/parameters/write_inline_max
[ -w "$INLINE_PARAM" ] || fail "dm-tenant has no write_inline_max parameter"
INLINE_DEFAULT=$(cat "$INLINE_PARAM")
LA_PARAM=/sys/module/dm_tenant/parameters/seq_lookahead_kb
LA_DEFAULT=$(cat "$LA_PARAM" 2>/dev/null)
for c in ${BENCH_EXTRA:-}; do
	case "$c" in
	tenant/nola) [ -w "$LA_PARAM" ] || fail "dm-tenant has no seq_lookahead_kb parameter" ;;
	tenant/64M|tenant/wq) ;;
	*) fail "BENCH_EXTRA: unknown contender $c (tenant/nola, tenant/64M, tenant/wq)" ;;
	esac
done
require_cmd fio
HAVE_MD=1
if ! modprobe raid1 2>/dev/null || ! command -v mdadm >/dev/null 2>&1; then
	HAVE_MD=0
	info "md raid1 or mdadm missing: the nowq/md contender is skipped"
	CONTENDERS=(tenant tenant/inl crypt/dmr nowq/dmr)
	STACKS=(crypt/dmr nowq/dmr)
fi
# shellcheck disable=SC2206
CONTENDERS+=(${BENCH_EXTRA:-})
mkdir -p /run/mdadm
export MDADM_NO_SYSTEMCTL=1 MDADM_NO_UDEV=1
if [ "$DEVICES" = brd ]; then
	brd_setup 3 $RAM_MB
	DEV_DESC="brd, $RAM_MB MiB each"
else
	[ ! -d /sys/module/null_blk ] || rmmod null_blk || fail "null_blk is busy"
	modprobe null_blk nr_devices=3 gb=1 memory_backed=1 queue_mode=2 \
		irqmode=2 completion_nsec="$NULLB_NSEC" ||
		fail "modprobe null_blk failed"
	wait_for_file /dev/nullb2 || fail "/dev/nullb2 did not appear"
	on_exit "rmmod null_blk 2>/dev/null || true"
	DEV_DESC="null_blk, memory-backed, completion after $NULLB_NSEC ns by timer"
fi
tenant_key_new bench vol 64
on_exit "dmsetup remove --retry $NAME 2>/dev/null || true"
on_exit "dmsetup remove --retry $MNAME 2>/dev/null || true"
on_exit "mdadm --stop $MD >/dev/null 2>&1 || true"

OUT=/tmp/bench
mkdir -p $OUT
RESULTS=$OUT/results		# rep job contender + parse_fio fields
: >$RESULTS

tenant_tbl() {	# tenant_tbl SECTORS [OPT...]
	local t="0 $1 tenant bench vol aes-xts-plain64 $KEYREF 0 3" d
	for d in $DISKS; do t+=" local $d $OFF"; done
	shift
	# shellcheck disable=SC2086
	set -- metadata:$META nosync ${BENCH_TENANT_OPTS:-} "$@"
	echo "$t $# $*"
}
crypt_tbl() {	# crypt_tbl DEV nowq?
	local f=""
	[ "$2" = 1 ] && f=" 2 no_read_workqueue no_write_workqueue"
	echo "0 $SECTORS crypt aes-xts-plain64 $KEYREF 0 $1 0$f"
}
# dm-mirror: <log type> <#log args> <region> nosync <#legs> (<dev> <off>)...
# <#features> handle_errors
mirror_tbl() {
	local t="0 $SECTORS mirror core 2 1024 nosync 3" d
	for d in $DISKS; do t+=" $d $OFF"; done
	echo "$t 1 handle_errors"
}

# Clear every metadata area (tenant superblock/bitmap, md superblock and
# bitmap): each contender starts from the same blank metadata and none
# mistakes another's leftovers for its own.  The data areas stay: all
# three disks always hold the same bytes there (every contender mirrors).
wipe_meta() {
	local d
	for d in $DISKS; do
		dd if=/dev/zero of="$d" bs=1M count=1 oflag=direct status=none ||
			fail "wiping the metadata of $d failed"
	done
}

md_up() {
	# shellcheck disable=SC2086
	mdadm --create $MD --run --quiet --level=1 --raid-devices=3 \
		--assume-clean --metadata=1.2 --bitmap=internal \
		--data-offset=1M --size=$((DATA_MB * 1024)) $DISKS \
		>$OUT/mdadm.out 2>&1 || { cat $OUT/mdadm.out >&2; fail "mdadm --create failed"; }
	[ "$(blockdev --getsz $MD)" -ge $SECTORS ] || fail "$MD too small"
}
md_down() {
	mdadm --stop $MD >/dev/null 2>&1 || fail "mdadm --stop failed"
	# shellcheck disable=SC2086
	mdadm --zero-superblock $DISKS 2>/dev/null || true
}

dev_up() {	# dev_up CONTENDER -> prints the device to benchmark
	wipe_meta
	case "$1" in
	tenant|tenant/*)
		case "$1" in
		tenant/inl) echo 0 ;;
		tenant/wq) echo 1 ;;
		*) echo "$INLINE_DEFAULT" ;;
		esac >"$INLINE_PARAM" || fail "cannot set write_inline_max"
		if [ "$1" = tenant/nola ]; then
			echo 0 >"$LA_PARAM" || fail "cannot set seq_lookahead_kb"
		fi
		# shellcheck disable=SC2046
		dmsetup create $NAME --table "$(tenant_tbl $SECTORS \
			$([ "$1" = tenant/64M ] && echo region_size:131072))" >&2 ;;
	crypt/dmr|nowq/dmr)
		dmsetup create $MNAME --table "$(mirror_tbl)" >&2 ||
			fail "dmsetup create $MNAME failed"
		dmsetup create $NAME --table "$(crypt_tbl /dev/mapper/$MNAME \
			"$([ "$1" = nowq/dmr ] && echo 1)")" >&2 ;;
	nowq/md)
		md_up
		dmsetup create $NAME --table "$(crypt_tbl $MD 1)" >&2 ;;
	esac || fail "dmsetup create ($1) failed"
	dm_dev_path $NAME
}

dev_down() {
	dmsetup remove --retry $NAME || fail "dmsetup remove ($1) failed"
	echo "$INLINE_DEFAULT" >"$INLINE_PARAM"
	[ -z "$LA_DEFAULT" ] || echo "$LA_DEFAULT" >"$LA_PARAM"
	case "$1" in
	*/dmr) dmsetup remove --retry $MNAME || fail "dmsetup remove $MNAME failed" ;;
	*/md) md_down ;;
	esac
}


# --- environment ---------------------------------------------------------------
bench_env "dm-tenant replication benchmark"
echo "mdadm:     $( ((HAVE_MD)) && mdadm --version 2>&1 | head -n1 || echo none)"
echo "dm-tenant: md5 $(md5sum <"$(modinfo -n dm-tenant)" | cut -c1-12)," \
	"target $(dmsetup targets | awk '$1 == "tenant" { print $2 }')," \
	"crypt $(dmsetup targets | awk '$1 == "crypt" { print $2 }')," \
	"mirror $(dmsetup targets | awk '$1 == "mirror" { print $2 }')"
echo "devices:   $DISKS ($DEV_DESC), data $DATA_MB MiB at sector $OFF, key $KEYREF"
echo "runs:      $REPS repetition(s) x $(echo "$JOBS" | wc -w) jobs x ${#CONTENDERS[@]} contenders," \
	"${RUNTIME}s measured + ${RAMP}s ramp each"
echo "tables:"
echo "  tenant:   $(tenant_tbl $SECTORS)"
echo "  dmr:      $(mirror_tbl)"
echo "  crypt:    $(crypt_tbl /dev/mapper/$MNAME 0)"
echo "  crypt-nowq on md: $(crypt_tbl $MD 1)"
echo "  md:       mdadm --create $MD --level=1 --raid-devices=3 --assume-clean --metadata=1.2" \
	"--bitmap=internal --data-offset=1M --size=$((DATA_MB * 1024)) $DISKS"
if ((HAVE_MD)); then
	dev_up nowq/md >/dev/null
	echo "  md bitmap: $(grep -o 'bitmap:.*' /proc/mdstat | head -n1)"
	dev_down nowq/md
fi
echo

# --- precondition -------------------------------------------------------------
# Write the three disks whole once: brd allocates every page (it returns
# zeroes for never-written pages without touching memory), and the disks
# then hold identical bytes, as every mirror here assumes (nosync).
t0=$(date +%s)
for d in $DISKS; do
	dd if=/dev/zero of="$d" bs=1M count=$RAM_MB oflag=direct status=none ||
		fail "preconditioning $d failed"
done
info "preconditioned 3 x $RAM_MB MiB in $(($(date +%s) - t0))s"

# --- measure --------------------------------------------------------------------
T_START=$(date +%s)
n=${#CONTENDERS[@]}
info "measuring; expect about $((REPS * $(echo "$JOBS" | wc -w) * n * (RUNTIME + RAMP + 3) / 60 + 1)) min"
for ((r = 1; r <= REPS; r++)); do
	order=()
	for ((i = 0; i < n; i++)); do order+=("${CONTENDERS[$(((r - 1 + i) % n))]}"); done
	info "repetition $r/$REPS, order: ${order[*]}"
	for job in $JOBS; do
		line="  $(printf '%-19s' "$job")"
		for c in "${order[@]}"; do
			dev=$(dev_up "$c") || exit 1
			cpu0=$(cpu_ticks)
			res=$(run_fio "$dev" "$job") || exit 1
			cpu1=$(cpu_ticks)
			dev_down "$c"
			echo "$r $job $c $res $(cpu_busy "$cpu0" "$cpu1")" >>$RESULTS
			# shellcheck disable=SC2086
			set -- $res
			if [ "$(job_unit "$job")" = IOPS ]; then v=$2; else v=$1; fi
			line+=" $c=$v"
		done
		echo "$line"
	done
done
T_MEAS=$(($(date +%s) - T_START))

# --- resync ---------------------------------------------------------------------
# Full resync of an idle, in-sync tenant volume (`dmsetup message resync`)
# timed until the action is idle again, or cut at RESYNC_CAP seconds and
# reported from its progress.
RESYNC_LINES=()
for mb in $RESYNC_MB; do
	[ "$mb" -le $DATA_MB ] || fail "BENCH_RESYNC_MB: $mb > $DATA_MB"
	wipe_meta
	dmsetup create $NAME --table "$(tenant_tbl $((mb * 2048)))" || fail "resync volume"
	[ "$(mirror_status_field $NAME action)" = idle ] || fail "new volume busy: $(dmsetup status $NAME)"
	t0=$EPOCHREALTIME
	check dmsetup message $NAME 0 resync
	cut=0
	while [ "$(mirror_status_field $NAME action)" != idle ]; do
		if awk -v a="$t0" -v b="$EPOCHREALTIME" -v c="$RESYNC_CAP" 'BEGIN { exit !(b - a >= c) }'; then
			cut=1
			break
		fi
		sleep 0.1
	done
	t1=$EPOCHREALTIME
	prog=$(mirror_status_field $NAME progress)
	info "resync of $mb MiB: $(dmsetup status $NAME)"
	dmsetup remove --retry $NAME || fail "remove resync volume"
	line=$(awk -v a="$t0" -v b="$t1" -v p="$prog" -v mb="$mb" -v cut="$cut" 'BEGIN {
		split(p, x, "/"); s = b - a
		done_mb = mb * x[1] / x[2]
		rate = s > 0 ? done_mb / s : 0
		full = rate > 0 ? mb / rate : 0
		printf "%-8s %-10s %9.1f %9.1f %11.1f %s\n", mb " MiB", p, s, rate, full,
			cut ? "(cut at cap; full time extrapolated)" : "" }')
	RESYNC_LINES+=("$line")
	# shellcheck disable=SC2086
	set -- $line
	RATE_LAST=$5
done

# --- report ------------------------------------------------------------------------

# rep_ratios JOB -> per repetition "ratio best-stack", sorted by ratio:
# tenant over the best stack of the same repetition.
rep_ratios() {
	local k
	k=$(col_of "$1")
	awk -v j="$1" -v k="$k" -v stacks="${STACKS[*]}" '
		BEGIN { split(stacks, s, " "); for (i in s) isst[s[i]] = 1 }
		$2 == j && $3 == "tenant" { t[$1] = $k }
		$2 == j && ($3 in isst) && $k > b[$1] { b[$1] = $k; bn[$1] = $3 }
		END { for (r in t) if (b[r] > 0) printf "%.4f %s\n", t[r] / b[r], bn[r] }' $RESULTS | sort -n
}
ratio_med() {
	rep_ratios "$1" | awk '{ v[NR] = $1 } END {
		if (NR == 0) { print "-"; exit }
		printf "%.2f\n", (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2 }'
}
ratio_range() {
	rep_ratios "$1" | awk 'NR == 1 { mn = $1 } { mx = $1 }
		END { printf "%.2f-%.2f\n", mn, mx }'
}
best_names() {	# which stack was best, per repetition
	rep_ratios "$1" | awk '{ n[$2]++ } END { for (x in n) { printf "%s%s", s, x; s = "," } }'
}

echo
echo "=== results: median of $REPS repetition(s), ${RUNTIME}s each (kernel $(uname -r)) ==="
echo "Throughput (MiB/s for 1M jobs, IOPS for 4k jobs), median per contender;"
echo "t/best: tenant over the best stack of each repetition, median [min-max]."
hdr=$(printf '%-19s %-5s' job unit)
for c in "${CONTENDERS[@]}"; do hdr+=$(printf ' %9s' "$c"); done
hdr+=$(printf '  %-16s %s' "t/best" "best stack")
echo "$hdr"
for job in $JOBS; do
	k=$(col_of "$job")
	row=$(printf '%-19s %-5s' "$job" "$(job_unit "$job")")
	for c in "${CONTENDERS[@]}"; do row+=$(printf ' %9s' "$(median "$job" "$c" "$k")"); done
	row+=$(printf '  %-16s %s' "$(ratio_med "$job") [$(ratio_range "$job")]" "$(best_names "$job")")
	echo "$row"
done
# job_table WIDTH CELL: one row per job, one column per contender; CELL is
# a function "CELL JOB CONTENDER" printing the cell.
job_table() {
	local w=$1 cell=$2 hdr row job c
	hdr=$(printf '%-19s' job)
	for c in "${CONTENDERS[@]}"; do hdr+=$(printf " %${w}s" "$c"); done
	echo "$hdr"
	for job in $JOBS; do
		row=$(printf '%-19s' "$job")
		for c in "${CONTENDERS[@]}"; do row+=$(printf " %${w}s" "$("$cell" "$job" "$c")"); done
		echo "$row"
	done
}
# shellcheck disable=SC2317  # called through job_table
latency_cell() { echo "$(median "$1" "$2" 6) / $(median "$1" "$2" 7)"; }
# shellcheck disable=SC2317
cpu_cell() { median "$1" "$2" 10; }
echo
echo "Latency p50 / p99 in usec, fio total latency, medians over repetitions:"
job_table 17 latency_cell
echo
echo "CPU busy during the run (% of $(nproc) CPUs, fio included), medians over repetitions:"
job_table 9 cpu_cell
echo
echo "Per-repetition figures (rep job contender MiB/s IOPS lat-p50 lat-p99 clat-p50 clat-p99 (usec) cpu%):"
sed 's/^/  /' $RESULTS
echo
echo "=== resync (tenant, 3 local legs, options: metadata:$META nosync ${BENCH_TENANT_OPTS:-}; resync_throttle default) ==="
echo "measured: full resync from idle via 'dmsetup message resync'"
printf '%-8s %-10s %9s %9s %11s\n' volume progress seconds "MiB/s" "full (s)"
for l in "${RESYNC_LINES[@]}"; do echo "$l"; done
echo "derived (not measured): after a crash only the dirty regions are copied;"
echo "at ${RATE_LAST:-?} MiB/s, 64 of 512 regions (32 MiB, as in 42-mirror-crash) take" \
	"$(awk -v r="${RATE_LAST:-0}" 'BEGIN { if (r > 0) printf "%.1f s", 32 / r; else print "?" }')"
echo
echo "=== goals ==="
goal() {	# goal JOB MIN TEXT
	local job=$1 min=$2 med range verdict note=""
	med=$(ratio_med "$job")
	range=$(ratio_range "$job")
	verdict=$(awk -v a="$med" -v b="$min" -v r="$range" 'BEGIN {
		split(r, x, "-")
		v = (a != "-" && a + 0 >= b) ? "PASS" : "MISS"
		if (x[1] + 0 < b && x[2] + 0 >= b) v = v " straddle"
		print v }')
	case "$verdict" in
	*straddle) note="  (per-rep ratios straddle ${min}x: within noise)" ;;
	esac
	echo "${verdict%% *}  tenant >= ${min}x best stack on $job: ${med}x [per rep $range]$note"
}
for job in $JOBS; do
	case "$job" in
	seq-write-1M|rand-write-4k-qd16) goal "$job" 1.2 ;;
	*read*) goal "$job" 1.0 ;;
	esac
done
echo
info "measurement took ${T_MEAS}s ($(awk -v s="$T_MEAS" 'BEGIN { printf "%.1f", s / 60 }') min)"
exit 0
