#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# Remote-leg benchmark (remote): 4 KiB random writes at QD1 (psync:
# the latency is the whole write), p50 and p99, with a 20 ms round trip
# (tc netem, 10 ms each way) on the remote link only, for:
#   local       tenant, one local leg (no remote)
#   async       tenant, local leg + remote leg over NVMe/TCP, asynchronous
#   sync-dmr    dm-crypt on dm-raid1 (dm-mirror, core log) of the local
#               disk and the NVMe/TCP device: every write pays the trip
# The remote site is the kernel's nvmet target on 127.0.0.1 exporting a brd
# disk.  During the async run the status is sampled every 0.5 s: the
# largest unreplicated bytes and RPO seen.  Those runs write as fast as QD1
# allows, more than the emulated remote site carries, so the leg may go
# catching-up (by design).  A last phase then holds a steady load the link
# carries (fio rate_iops, BENCH_STEADY_IOPS) for BENCH_STEADY_S seconds and
# checks the lag stays within the budget: mode streaming throughout, the
# largest unreplicated bytes <= remote_budget.  Runs inside the test VM:
#
#   scripts/vm/run.sh --bench scripts/bench-remote.sh
#   scripts/vm/run.sh -e BENCH_REPS=1 -e BENCH_RUNTIME=5 --bench scripts/bench-remote.sh
#
# Environment: BENCH_REPS (default 3), BENCH_RUNTIME (seconds, default 10),
# BENCH_BUDGET (remote_budget bytes, default 16777216), BENCH_STEADY_IOPS
# (default 400: 1.6 MB/s of 4 KiB writes), BENCH_STEADY_S (default 30).
# Goal: async p50 within 1.2x of local; the synchronous stack
# pays the full round trip.  A missed goal prints MISS; the script fails
# only when something breaks.
# vm-timeout: 1800
# vm-mem: 3072
# vm-smp: 2
# Clocks from the TSC, not the emulated HPET (Documentation/design.md):
# vm-append: tsc=reliable
. "$DMT_LIB"
. "$DMT_ROOT/tests/vm/tenant-lib.sh"
. "$DMT_ROOT/tests/vm/remote-lib.sh"

REPS=${BENCH_REPS:-3} RUNTIME=${BENCH_RUNTIME:-10}
BUDGET=${BENCH_BUDGET:-16777216}
STEADY_IOPS=${BENCH_STEADY_IOPS:-400} STEADY_S=${BENCH_STEADY_S:-30}
[[ "$REPS" =~ ^[1-9][0-9]*$ && "$RUNTIME" =~ ^[1-9][0-9]*$ &&
   "$BUDGET" =~ ^[1-9][0-9]*$ && "$STEADY_IOPS" =~ ^[1-9][0-9]*$ &&
   "$STEADY_S" =~ ^[1-9][0-9]*$ ]] ||
	fail "bad BENCH_REPS/BENCH_RUNTIME/BENCH_BUDGET/BENCH_STEADY_IOPS/BENCH_STEADY_S"
need_module cryptd
need_module crypto_simd
need_module aesni_intel
need_module dm-crypt
need_module dm-mirror
tenant_setup
require_cmd fio
require_cmd tc

META=2048
LEN=524288			# 256 MiB
NQN=nqn.2026-11.io.dm-tenant:bench
PORT=4420
brd_setup 2 272
nvmet_export $NQN /dev/ram1 $PORT
netem_setup $PORT
netem_set delay 10ms
nvme_attach $NQN $PORT
R=$NVME_DEV
tenant_key_new bench rv 64
REF=:64:logon:dm-tenant:bench:rv
NAME=br
on_exit "dmsetup remove --retry $NAME 2>/dev/null || true"
on_exit "dmsetup remove --retry br-mirror 2>/dev/null || true"

dev_up() {
	case "$1" in
	local) dmsetup create $NAME --table "0 $LEN tenant bench rv aes-xts-plain64 $REF 0 1 local /dev/ram0 $META" ;;
	async) dmsetup create $NAME --table "0 $LEN tenant bench rv aes-xts-plain64 $REF 0 2 local /dev/ram0 $META remote $R $META 3 metadata:$META nosync remote_budget:$BUDGET" ;;
	sync-dmr)
		dmsetup create br-mirror --table "0 $LEN mirror core 2 1024 nosync 2 /dev/ram0 $META $R $META 1 handle_errors" &&
		dmsetup create $NAME --table "0 $LEN crypt aes-xts-plain64 $REF 0 /dev/mapper/br-mirror 0 2 no_read_workqueue no_write_workqueue" ;;
	esac || fail "dmsetup create ($1) failed"
	dev=$(dm_dev_path $NAME)
}
dev_down() {
	if [ "$1" = async ]; then
		remote_wait $NAME 1 streaming 300
	fi
	dmsetup remove --retry $NAME || fail "remove ($1) failed"
	[ "$1" != sync-dmr ] || dmsetup remove --retry br-mirror || fail "remove br-mirror failed"
	# Blank tenant metadata so every run starts alike.
	dd if=/dev/zero of=/dev/ram0 bs=1M count=1 oflag=direct status=none
	dd if=/dev/zero of=/dev/ram1 bs=1M count=1 oflag=direct status=none
}

OUT=/tmp/bench-remote
mkdir -p $OUT
: >$OUT/results
CONT=(local async sync-dmr)
for ((rep = 1; rep <= REPS; rep++)); do
	for ((k = 0; k < 3; k++)); do
		c=${CONT[$(((k + rep) % 3))]}
		dev_up $c
		maxb=0 maxr=0
		fio_w $c --rw=randwrite --bs=4k --size=256M --time_based \
			--runtime=$RUNTIME --ramp_time=1 &
		fpid=$!
		while kill -0 $fpid 2>/dev/null; do
			if [ $c = async ]; then
				b=$(remote_field $NAME 1 bytes) r=$(remote_field $NAME 1 rpo)
				m=$(remote_field $NAME 1 mode)
				[ "$m" = streaming ] || info "async: remote leg $m"
				[ "$b" -le "$maxb" ] || maxb=$b
				[ "$r" -le "$maxr" ] || maxr=$r
			fi
			sleep 0.5
		done
		wait $fpid || fail "fio $c failed"
		read -r p50 p99 < <(fio_clat /tmp/$c.fio)
		iops=$(awk -F';' '{print $49; exit}' /tmp/$c.fio)
		echo "$rep $c $p50 $p99 $iops $maxb $maxr" >>$OUT/results
		info "rep $rep $c: p50 ${p50} us, p99 ${p99} us, ${iops} IOPS$([ $c = async ] && echo ", max unreplicated ${maxb} B, max RPO ${maxr} ms")"
		dev_down $c
	done
done

# Steady load the link carries: the lag must stay within the budget.
dev_up async
sb=0 sr=0 smodes=""
fio_w steady --rw=randwrite --bs=4k --size=256M --time_based \
	--runtime=$STEADY_S --rate_iops=$STEADY_IOPS &
fpid=$!
while kill -0 $fpid 2>/dev/null; do
	b=$(remote_field $NAME 1 bytes) r=$(remote_field $NAME 1 rpo)
	m=$(remote_field $NAME 1 mode)
	case " $smodes " in *" $m "*) ;; *) smodes="$smodes $m" ;; esac
	[ "$b" -le "$sb" ] || sb=$b
	[ "$r" -le "$sr" ] || sr=$r
	sleep 0.5
done
wait $fpid || fail "fio steady failed"
siops=$(awk -F';' '{print $49; exit}' /tmp/steady.fio)
dev_down async

median() { sort -n | awk '{ a[NR] = $1 } END { print a[int((NR + 1) / 2)] }'; }
echo
echo "=== 4 KiB random writes, QD1, 20 ms round trip to the remote ($REPS reps x ${RUNTIME}s, medians) ==="
printf '%-10s %10s %10s %8s\n' contender p50_us p99_us IOPS
for c in "${CONT[@]}"; do
	printf '%-10s %10s %10s %8s\n' $c \
		"$(awk -v c=$c '$2 == c { print $3 }' $OUT/results | median)" \
		"$(awk -v c=$c '$2 == c { print $4 }' $OUT/results | median)" \
		"$(awk -v c=$c '$2 == c { print $5 }' $OUT/results | median)"
done
ratio() {	# ratio A B FIELD: median over reps of A/B
	awk -v a=$1 -v b=$2 -v f=$3 '$2 == a { x[$1] = $f } $2 == b { y[$1] = $f }
		END { for (r in x) if (y[r] > 0) printf "%.2f\n", x[r] / y[r] }' $OUT/results | median
}
r50=$(ratio async local 3)
rs50=$(ratio sync-dmr local 3)
mb=$(awk '$2 == "async" { print $6 }' $OUT/results | sort -n | tail -1)
mr=$(awk '$2 == "async" { print $7 }' $OUT/results | sort -n | tail -1)
echo "async/local p50: ${r50}x   sync-dmr/local p50: ${rs50}x"
echo "async p99/local p99: $(ratio async local 4)x"
echo "unthrottled QD1: largest unreplicated ${mb} bytes (budget ${BUDGET}); largest RPO ${mr} ms"
echo "steady load ${siops} IOPS for ${STEADY_S}s: modes seen:${smodes}; largest unreplicated ${sb} bytes (budget ${BUDGET}); largest RPO ${sr} ms"
awk -v r=$r50 'BEGIN { exit !(r <= 1.2) }' && echo "goal async p50 <= 1.2x local: OK" ||
	echo "goal async p50 <= 1.2x local: MISS"
[ "$sb" -le "$BUDGET" ] && [ "$smodes" = " streaming" ] &&
	echo "goal lag within the budget under steady load: OK" ||
	echo "goal lag within the budget under steady load: MISS"
