#!/bin/bash
# Asynchronous remote leg over NBD (remote): the same scenarios as
# 80-remote-nvme-tcp with Debian's nbd-server on 127.0.0.1 as the remote
# site and the kernel's nbd client; tc netem delays only its port (10 ms
# each way: 20 ms round trip).  A local leg plus the remote leg:
#  A. streaming: QD1 writes complete at local speed (p50 far below the
#     round trip), the lag is shown, the remote ends byte-identical;
#  B. link cut (netem loss 100%) during writes: writes go on at local
#     speed, the budget overflows, the leg catches up in the background,
#     RPO grows in status; after the link returns: streaming, consistent,
#     byte-identical;
#  C. the remote device fails writes: the leg fails, writes go on;
#     "leg 1 recover" catches it up;
# vm-long: yes
# vm-timeout: 1200
. "$DMT_LIB"
. "$DMT_ROOT/tests/vm/tenant-lib.sh"
. "$DMT_ROOT/tests/vm/remote-lib.sh"

tenant_setup
require_cmd fio
require_cmd tc
require_cmd nbd-server
require_cmd nbd-client
brd_setup 2 80
META=2048
LEN=131072			# 64 MiB: 128 regions of 512 KiB
LEGSZ=$((META + LEN))
BUDGET=8388608
PORT=10809

check dmsetup create rbk --table "0 $LEGSZ linear /dev/ram1 0"
on_exit "dmsetup remove --retry rbk"
nbd_export /dev/mapper/rbk $PORT
netem_setup $PORT
nbd_attach $PORT
R=$NBD_DEV
info "remote leg: $R (nbd-server exporting /dev/mapper/rbk)"

remote_scenarios n1 "$R"

