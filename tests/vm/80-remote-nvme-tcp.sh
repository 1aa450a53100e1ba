#!/bin/bash
# Asynchronous remote leg over NVMe/TCP (remote, issue 4).  The remote site
# is the kernel's nvmet target on 127.0.0.1; tc netem delays only its port
# (10 ms each way: 20 ms round trip).  A local leg plus the remote leg:
#  A. streaming: QD1 writes complete at local speed (p50 far below the
#     round trip), the lag is shown, the remote ends byte-identical;
#  B. link cut (netem loss 100%) during writes: writes go on at local
#     speed, the budget overflows, the leg catches up in the background,
#     RPO grows in status; after the link returns: streaming, consistent,
#     byte-identical;
#  C. the remote device fails writes: the leg fails, writes go on;
#     "leg 1 recover" catches it up;
#  D. remote_sync: the same leg written synchronously pays the round trip.
# vm-timeout: 1200
. "$DMT_LIB"
. "$DMT_ROOT/tests/vm/tenant-lib.sh"
. "$DMT_ROOT/tests/vm/remote-lib.sh"

tenant_setup
require_cmd fio
require_cmd tc
brd_setup 2 80
META=2048
LEN=131072			# 64 MiB: 128 regions of 512 KiB
LEGSZ=$((META + LEN))
BUDGET=8388608
NQN=nqn.2026-11.io.dm-tenant:remote80
PORT=4420

check dmsetup create rbk --table "0 $LEGSZ linear /dev/ram1 0"
on_exit "dmsetup remove --retry rbk"
nvmet_export $NQN /dev/mapper/rbk $PORT
netem_setup $PORT
nvme_attach $NQN $PORT
R=$NVME_DEV
info "remote leg: $R (nvmet over TCP, exporting /dev/mapper/rbk)"

tenant_key_new acme g1 64
REF=:64:logon:dm-tenant:acme:g1
TABLE="0 $LEN tenant acme g1 aes-xts-plain64 $REF 0 2 local /dev/ram0 $META remote $R $META"
tenant_create g1 "$TABLE 3 metadata:$META nosync remote_budget:$BUDGET"
dev=$(dm_dev_path g1)
info "status: $(dmsetup status g1)"
[ "$(remote_field g1 1 mode)" = streaming ] || fail "remote leg not streaming: $(dmsetup status g1)"
[ "$(remote_field g1 1 consistent)" = yes ] || fail "remote leg not consistent"
dmsetup table g1 | grep -q "remote_budget:$BUDGET" || fail "table lost remote_budget: $(dmsetup table g1)"

# --- A: streaming behind a 20 ms round trip ---
netem_set delay 10ms
t0=${EPOCHREALTIME/./}
dd if="$R" of=/dev/null bs=4k count=1 iflag=direct 2>/dev/null
rtt=$((${EPOCHREALTIME/./} - t0))
info "one 4 KiB read of the remote device: ${rtt} us"
[ "$rtt" -ge 20000 ] || fail "netem delay not applied to the remote path (${rtt} us)"

fio_w a1 --rw=randwrite --bs=4k --size=32M --io_size=12M \
	--verify=crc32c --do_verify=1 --verify_fatal=1 &
fpid=$!
maxrpo=0
while kill -0 $fpid 2>/dev/null; do
	m=$(remote_field g1 1 mode)
	[ "$m" = streaming ] || { wait $fpid; fail "leg left streaming under load: $(dmsetup status g1)"; }
	r=$(remote_field g1 1 rpo)
	[ "$r" -le "$maxrpo" ] || maxrpo=$r
	sleep 0.5
done
wait $fpid || fail "fio a1 failed"
read -r p50 p99 < <(fio_clat /tmp/a1.fio)
info "async remote, QD1 4 KiB writes: p50 ${p50} us, p99 ${p99} us; max RPO seen ${maxrpo} ms"
[ "$p50" -lt 10000 ] || fail "async p50 ${p50} us: writes wait for the 20 ms round trip"
[ "$maxrpo" -gt 0 ] || fail "RPO never above 0 while streaming behind a 20 ms link"
remote_wait g1 1 streaming 120
[ "$(remote_field g1 1 rpo)" = 0 ] || fail "RPO not 0 once replicated: $(dmsetup status g1)"
[ "$(remote_field g1 1 consistent)" = yes ] || fail "not consistent"
assert_legs_identical $META $LEN /dev/ram0 /dev/mapper/rbk
info "A: remote byte-identical after streaming: $(dmsetup status g1)"

# --- B: link cut during writes ---
fio_w b1 --rw=randwrite --bs=4k --numjobs=4 --size=64M --time_based --runtime=24 &
fpid=$!
sleep 3
info "cutting the link (netem loss 100%)"
netem_set loss 100%
sleep 1
w0=$(vol_writes g1)
sleep 6
w1=$(vol_writes g1)
m=$(remote_field g1 1 mode)
r1=$(remote_field g1 1 rpo)
b1=$(remote_field g1 1 bytes)
info "link cut 7 s: $(dmsetup status g1)"
[ "$m" = catching-up ] || fail "leg not catching-up while the link is cut: $m"
info "writes during 6 s of the cut: $((w1 - w0))"
[ $((w1 - w0)) -ge 300 ] || fail "only $((w1 - w0)) writes in 6 s: local writes stalled during the outage"
[ "$(remote_field g1 1 consistent)" = no ] || fail "a catching-up leg claims to be consistent"
sleep 3
r2=$(remote_field g1 1 rpo)
b2=$(remote_field g1 1 bytes)
info "RPO ${r1} -> ${r2} ms, unreplicated ${b1} -> ${b2} bytes"
[ "$r2" -gt "$r1" ] || fail "RPO does not grow while the link is cut"
[ "$b2" -gt 0 ] || fail "no unreplicated bytes shown while the link is cut"
kill -0 $fpid 2>/dev/null || fail "fio ended during the outage"
netem_set delay 10ms
info "link back"
wait $fpid || fail "fio b1 failed"
read -r p50 p99 < <(fio_clat /tmp/b1.fio)
iops=$(awk -F';' '{print $49; exit}' /tmp/b1.fio)
maxlat=$(awk -F';' '{print $56; exit}' /tmp/b1.fio)
info "writes across the cut: ${iops} IOPS, p50 ${p50} us, p99 ${p99} us, max ${maxlat} us"
[ "$maxlat" -lt 5000000 ] || fail "a write waited ${maxlat} us: local writes stalled during the outage"
remote_wait g1 1 streaming 300
[ "$(remote_field g1 1 consistent)" = yes ] || fail "not consistent after catch-up"
dmesg | grep -q "acme/g1: remote leg 1 caught up" || fail "catch-up not logged"
assert_legs_identical $META $LEN /dev/ram0 /dev/mapper/rbk
info "B: caught up after the cut, byte-identical: $(dmsetup status g1)"

# --- C: the remote device fails writes ---
check dmsetup suspend rbk
check dmsetup load rbk --table "0 $LEGSZ error"
check dmsetup resume rbk
fio_w c1 --rw=randwrite --bs=4k --numjobs=4 --size=64M --time_based --runtime=8
i=0
while [ "$(remote_field g1 1 mode)" != failed ]; do
	i=$((i + 1))
	[ $i -lt 300 ] || fail "remote leg did not fail on write errors: $(dmsetup status g1)"
	sleep 0.2
done
[ "$(mirror_leg_states g1)" = AD ] || fail "legs: $(mirror_leg_states g1)"
maxlat=$(awk -F';' '{print $56; exit}' /tmp/c1.fio)
info "remote failing: $(dmsetup status g1); max write latency ${maxlat} us"
dmesg | grep -Eq "acme/g1: leg 1 .* failed: (remote write error|.*remote catch-up)" || fail "failure not logged"
check dmsetup suspend rbk
check dmsetup load rbk --table "0 $LEGSZ linear /dev/ram1 0"
check dmsetup resume rbk
sleep 2
[ "$(remote_field g1 1 mode)" = failed ] || fail "failed leg came back by itself"
check dmsetup message g1 0 leg 1 recover
remote_wait g1 1 streaming 300
assert_legs_identical $META $LEN /dev/ram0 /dev/mapper/rbk
info "C: recovered, byte-identical: $(dmsetup status g1)"

# --- D: remote_sync pays the round trip ---
check dmsetup suspend g1
check dmsetup load g1 --table "$TABLE 4 metadata:$META nosync remote_budget:$BUDGET remote_sync"
check dmsetup resume g1
[ "$(remote_field g1 1 mode)" = sync ] || fail "remote_sync leg mode: $(dmsetup status g1)"
fio_w d1 --rw=randwrite --bs=4k --size=32M --io_size=1M
read -r p50 p99 < <(fio_clat /tmp/d1.fio)
info "remote_sync, QD1 4 KiB writes: p50 ${p50} us, p99 ${p99} us"
[ "$p50" -ge 20000 ] || fail "remote_sync p50 ${p50} us is below the 20 ms round trip"
assert_legs_identical $META $LEN /dev/ram0 /dev/mapper/rbk
info "D: synchronous remote leg identical"
