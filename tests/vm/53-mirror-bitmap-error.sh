#!/bin/bash
# A bitmap write that fails while a full resync starts fails that leg and
# the message returns.  The whole bitmap is written when "resync" (or the
# recover of a leg of unknown contents) marks every region; a write error
# there fails the leg, which takes the volume's state lock, so the bitmap
# must be written without that lock held (else the message hangs forever
# and the volume with it).
# vm-timeout: 300
. "$DMT_LIB"
. "$DMT_ROOT/tests/vm/tenant-lib.sh"

tenant_setup
brd_setup 2 16
META=2048
LEN=8192			# 4 MiB: 8 regions
LEGSZ=$((META + LEN))
L=/dev/mapper
for i in 0 1; do
	check dmsetup create bleg$i --table "0 $LEGSZ linear /dev/ram$i 0"
	on_exit "dmsetup remove --retry bleg$i"
done
tenant_key_new acme b1 64
tenant_create b1 "0 $LEN tenant acme b1 aes-xts-plain64 :64:logon:dm-tenant:acme:b1 0 2 local $L/bleg0 $META local $L/bleg1 $META 2 metadata:$META nosync"
dev=$(dm_dev_path b1)
check dd if=/dev/urandom of=/tmp/data bs=1M count=4 2>/dev/null
check dd if=/tmp/data of="$dev" bs=1M oflag=direct 2>/dev/null
mirror_wait_idle b1 120
[ "$(mirror_leg_states b1)" = AA ] || fail "legs before the fault: $(dmsetup status b1)"

# Leg 1 now fails every I/O.
check dmsetup suspend bleg1
check dmsetup load bleg1 --table "0 $LEGSZ error"
check dmsetup resume bleg1

# A full resync writes the whole bitmap first: leg 1 fails that write.
dmsetup message b1 0 resync 2>/tmp/resync.err &
msg=$!
for ((i = 0; i < 300; i++)); do
	kill -0 $msg 2>/dev/null || break
	sleep 0.2
done
kill -0 $msg 2>/dev/null &&
	fail "resync message still blocked after 60 s (bitmap write error under the state lock): $(dmsetup status b1)"
wait $msg || info "resync message answered: $(cat /tmp/resync.err)"
mirror_wait_idle b1 120
[ "$(mirror_leg_states b1)" = AD ] ||
	fail "leg 1 should be failed by its bitmap write error: $(dmsetup status b1)"

# The volume goes on from leg 0.
cmp -n $((4 << 20)) /tmp/data "$dev" || fail "data differs after the failed leg"
check dd if=/dev/urandom of="$dev" bs=64k count=16 oflag=direct 2>/dev/null

# Leg 1 returns and is caught up.
check dmsetup suspend bleg1
check dmsetup load bleg1 --table "0 $LEGSZ linear /dev/ram1 0"
check dmsetup resume bleg1
check dmsetup message b1 0 leg 1 recover
mirror_wait_idle b1 120
[ "$(mirror_leg_states b1)" = AA ] || fail "leg 1 not recovered: $(dmsetup status b1)"
assert_legs_identical $META $LEN $L/bleg0 $L/bleg1
info "bitmap write error at resync start: leg failed, message returned, leg recovered"
