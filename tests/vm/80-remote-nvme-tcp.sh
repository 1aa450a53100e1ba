#!/bin/bash
# Asynchronous remote leg over NVMe/TCP (remote).  The remote site
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

remote_scenarios g1 "$R"

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
