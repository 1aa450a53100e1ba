#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# Suspend is bounded on a dead remote link.  A local leg plus an
# asynchronous remote leg over NVMe/TCP (nvmet on 127.0.0.1; the host
# waits across link loss: no fast_io_fail).  The link is cut (netem loss
# 100%) while writes are queued for the remote; "dmsetup suspend" must
# return within remote_suspend_timeout_ms (set to 5 s here) plus slack,
# with the remote leg failed, and the volume resumes and works.  Once the
# link is back, "leg 1 recover" copies what the leg missed: the remote
# ends byte-identical to the local leg.
# vm-timeout: 900
. "$DMT_LIB"
. "$DMT_ROOT/tests/vm/tenant-lib.sh"
. "$DMT_ROOT/tests/vm/remote-lib.sh"

tenant_setup
require_cmd tc
brd_setup 2 80
META=2048
LEN=65536			# 32 MiB
LEGSZ=$((META + LEN))
BUDGET=16777216
NQN=nqn.2026-12.io.dm-tenant:remote86
PORT=4486
BOUND_MS=5000
SLACK_S=40			# a slow, shared VM: far below "forever"
PARAM=/sys/module/dm_tenant/parameters/remote_suspend_timeout_ms

check dmsetup create rbk --table "0 $LEGSZ linear /dev/ram1 0"
on_exit "dmsetup remove --retry rbk"
nvmet_export $NQN /dev/mapper/rbk $PORT
netem_setup $PORT
nvme_attach $NQN $PORT
R=$NVME_DEV

if [ -w $PARAM ]; then
	old_bound=$(cat $PARAM)
	echo $BOUND_MS > $PARAM
	on_exit "echo $old_bound > $PARAM"
else
	info "no $PARAM: this module waits for the remote without a bound"
fi

tenant_key_new acme sd 64
tenant_create sd "0 $LEN tenant acme sd aes-xts-plain64 :64:logon:dm-tenant:acme:sd 0 2 local /dev/ram0 $META remote $R $META 3 metadata:$META nosync remote_budget:$BUDGET"
# Registered after the volume: runs before its removal, so a suspend
# still stuck on the old code finishes and the device can go.
on_exit "tc qdisc change dev lo parent 1:4 handle 40: netem limit 100000 loss 0%"
dev=$(dm_dev_path sd)
[ "$(remote_field sd 1 mode)" = streaming ] || fail "remote leg not streaming: $(dmsetup status sd)"

info "cutting the link (netem loss 100%), then writing"
netem_set loss 100%
dd if=/dev/urandom of=/tmp/ref1 bs=1M count=4 status=none
dd if=/tmp/ref1 of="$dev" bs=64k oflag=direct status=none || fail "write failed"
[ "$(remote_field sd 1 mode)" = streaming ] || fail "leg left streaming: $(dmsetup status sd)"
[ "$(remote_field sd 1 bytes)" -gt 0 ] || fail "nothing queued for the remote: $(dmsetup status sd)"
info "queued for the remote: $(remote_field sd 1 bytes) bytes"

t0=$SECONDS
dmsetup suspend sd &
spid=$!
while kill -0 $spid 2>/dev/null && [ $((SECONDS - t0)) -le $((BOUND_MS / 1000 + SLACK_S)) ]; do
	sleep 0.5
done
if kill -0 $spid 2>/dev/null; then
	info "suspend still waiting after $((SECONDS - t0)) s: restoring the link"
	netem_set loss 0%
	wait $spid
	fail "dmsetup suspend hung on the dead remote link"
fi
wait $spid || fail "dmsetup suspend failed"
info "suspend returned after $((SECONDS - t0)) s (bound ${BOUND_MS} ms)"
[ "$(remote_field sd 1 mode)" = failed ] || fail "remote leg not failed: $(dmsetup status sd)"
dmesg | grep -q "acme/sd: leg 1 (remote .*) failed: remote link did not drain" ||
	fail "the failure is not logged with its reason"
[ "$(mirror_leg_states sd)" = AD ] || fail "leg states: $(dmsetup status sd)"

check dmsetup resume sd
dd if=/dev/urandom of=/tmp/ref2 bs=1M count=2 status=none
dd if=/tmp/ref2 of="$dev" bs=64k seek=128 oflag=direct status=none || fail "write after resume failed"
dd if="$dev" bs=1M count=4 iflag=direct status=none | cmp -s - /tmp/ref1 ||
	fail "data written before the suspend reads back wrong"
dd if="$dev" bs=1M skip=8 count=2 iflag=direct status=none | cmp -s - /tmp/ref2 ||
	fail "data written after the resume reads back wrong"
# A second suspend does not wait for the failed leg again.
t0=$SECONDS
check dmsetup suspend sd
[ $((SECONDS - t0)) -le $SLACK_S ] || fail "second suspend took $((SECONDS - t0)) s"
check dmsetup resume sd
info "volume suspended and resumed without the remote leg; data verified"

netem_set loss 0%
info "link back: recovering the remote leg"
# The writes stuck on the link complete once NVMe/TCP reconnects.
end=$((SECONDS + 120))
until dmsetup message sd 0 leg 1 recover 2>/dev/null; do
	[ $SECONDS -le $end ] || fail "leg 1 recover refused: $(dmsetup status sd)"
	sleep 1
done
remote_wait sd 1 streaming 300
[ "$(remote_field sd 1 consistent)" = yes ] || fail "not consistent after recovery"
assert_legs_identical $META $LEN /dev/ram0 /dev/mapper/rbk
info "the remote leg caught up on what it missed: byte-identical"
