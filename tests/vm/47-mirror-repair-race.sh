#!/bin/bash
# A read repair and a write to the same range never leave the legs apart.
# Two local legs, each behind dm-delay: reads are immediate, writes land
# 1 s late, so a write is in flight on both legs for a whole second.  Leg
# 0 reads its first 4 KiB from dm-error (a bad sector no write heals:
# every read of it is retried on leg 1 and repaired).
# Each round: a write to that range starts, and while it is in flight a
# read of the same range fails on leg 0, is retried on leg 1 and repaired.
# The repair must wait for the write: a repair that copies leg 1 before the
# write reached it, and lands on leg 0 after the write did, leaves leg 0
# with the old data and leg 1 with the new one (silently: reads go on).
# After every round the legs' data areas are compared.
# vm-timeout: 600
. "$DMT_LIB"
. "$DMT_ROOT/tests/vm/tenant-lib.sh"

tenant_setup
need_module dm-delay
brd_setup 2 40
META=2048
LEN=65536			# 32 MiB: 64 regions of 512 KiB
LEGSZ=$((META + LEN))
BAD=8				# sectors of leg 0 that fail reads (target offset 0)
DELAY_MS=1000
for i in 0 1; do
	check dmsetup create w$i --table "0 $LEGSZ linear /dev/ram$i 0"
	on_exit "dmsetup remove --retry w$i"
done
# Reads of leg 0: the bad sectors fail, everything else is ram0.
check dmsetup create r0 --table "0 $META linear /dev/ram0 0
$META $BAD error
$((META + BAD)) $((LEN - BAD)) linear /dev/ram0 $((META + BAD))"
on_exit "dmsetup remove --retry r0"
check dmsetup create leg0 --table "0 $LEGSZ delay /dev/mapper/r0 0 0 /dev/mapper/w0 0 $DELAY_MS"
on_exit "dmsetup remove --retry leg0"
check dmsetup create leg1 --table "0 $LEGSZ delay /dev/ram1 0 0 /dev/mapper/w1 0 $DELAY_MS"
on_exit "dmsetup remove --retry leg1"

tenant_key_new acme rr 64
tenant_create rr "0 $LEN tenant acme rr aes-xts-plain64 :64:logon:dm-tenant:acme:rr 0 2 local /dev/mapper/leg0 $META local /dev/mapper/leg1 $META 2 metadata:$META nosync"
dev=$(dm_dev_path rr)

retries() { dmesg | grep -c "rr: read error on leg 0, retrying on leg 1" || true; }

for round in 1 2 3 4; do
	# Dirty the region first (its bitmap bit is then on disk, and the
	# racing write goes to the legs at once); the cleaner waits 3 s.
	dd if=/dev/urandom of="$dev" bs=4k seek=16 count=1 oflag=direct \
		status=none || fail "round $round: write to the region failed"
	before=$(retries)
	dd if=/dev/urandom of="$dev" bs=4k count=1 oflag=direct status=none &
	wpid=$!
	sleep 0.3
	dd if="$dev" of=/dev/null bs=4k count=1 iflag=direct status=none ||
		fail "round $round: read of the bad range failed"
	wait $wpid || fail "round $round: write of the bad range failed"
	[ "$(retries)" -gt "$before" ] ||
		fail "round $round: the read was not retried (leg 0 never read?)"
	# Whatever the repair still has in flight lands within the delay.
	sleep 3
	[ "$(mirror_leg_states rr)" = AA ] || fail "round $round: $(dmsetup status rr)"
	assert_legs_identical $META $LEN /dev/ram0 /dev/ram1
	info "round $round: read repaired during a write, legs identical"
done
