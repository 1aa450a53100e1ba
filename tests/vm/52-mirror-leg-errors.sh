#!/bin/bash
# The leg failure policy, with a writer logging which writes were
# acknowledged:
#   1. every leg fails writes at once (dm-flakey error_writes under both
#      legs): no leg is failed, the writer gets the errors, the regions
#      written stay dirty for resync; after the fault clears, every
#      acknowledged write reads back and resync makes the legs equal
#   2. the last leg in sync fails every I/O: reads and writes return the
#      error to the caller and the leg is never failed
#   3. a leg returns a transient error (BLK_STS_TIMEOUT: null_blk requests
#      that outlive the queue's io_timeout) for a while: the writes are
#      retried, the leg is not failed, no write fails, data verifies
# vm-timeout: 1500
. "$DMT_LIB"
. "$DMT_ROOT/tests/vm/tenant-lib.sh"

tenant_setup
need_module dm-flakey
need_module null_blk nr_devices=0
grep -q " /sys/kernel/config " /proc/mounts ||
	mount -t configfs none /sys/kernel/config || skip "configfs not available"
[ -d /sys/kernel/config/nullb ] || skip "null_blk configfs not available"
brd_setup 4 16
META=2048
LEN=8192			# 4 MiB
LEGSZ=$((META + LEN))
L=/dev/mapper
# Both legs lie on one device, "pool", whose table swap changes them at
# once: no write sees one leg faulty and the other not.
# pool_table TARGET0 TARGET1: the targets (without start and length) of
# the two halves
pool_table() {
	printf '0 %s %s\n%s %s %s\n' $LEGSZ "$1" $LEGSZ $LEGSZ "$2" >/tmp/pool.table
	check dmsetup suspend pool
	check dmsetup load pool /tmp/pool.table
	check dmsetup resume pool
}
healthy() { echo "linear /dev/ram$1 0"; }
printf '0 %s %s\n%s %s %s\n' $LEGSZ "$(healthy 0)" $LEGSZ $LEGSZ "$(healthy 1)" >/tmp/pool.table
check dmsetup create pool /tmp/pool.table
on_exit "dmsetup remove --retry pool"
for i in 0 1; do
	check dmsetup create eleg$i --table "0 $LEGSZ linear $L/pool $((i * LEGSZ))"
	on_exit "dmsetup remove --retry eleg$i"
done
insync_regions() { local s; s=$(mirror_status_field e1 insync); echo "${s%/*} ${s#*/}"; }
# all_in_sync: after recovery, resync what waits for it; then both legs
# are in sync and identical, and the acknowledged writes read back
all_in_sync() {
	mirror_wait_idle e1 300
	set -- $(insync_regions)
	if [ "$1" -lt "$2" ]; then
		check dmsetup message e1 0 resync
		mirror_wait_idle e1 300
	fi
	[ "$(mirror_leg_states e1)" = AA ] || fail "legs after recovery: $(dmsetup status e1)"
	[ "$(mirror_status_field e1 insync)" = "64/64" ] ||
		fail "regions still out of sync after resync: $(dmsetup status e1)"
	assert_legs_identical $META $LEN $L/eleg0 $L/eleg1
	ack_verify "$dev" $W
}

tenant_key_new acme e1 64
# 64 KiB regions: the writer's 1 MiB spans 16 of them.
tenant_create e1 "0 $LEN tenant acme e1 aes-xts-plain64 :64:logon:dm-tenant:acme:e1 0 2 local $L/eleg0 $META local $L/eleg1 $META 3 metadata:$META region_size:128 nosync"
dev=$(dm_dev_path e1)

info "case 1: every leg fails writes (dm-flakey error_writes on both)"
W=/tmp/ack-all
ack_writer_start "$dev" 256 $W
ack_writer_wait $W ok 20 300
kmsg_mark "all legs fail writes"
pool_table "flakey /dev/ram0 0 0 3600 1 error_writes" \
	"flakey /dev/ram1 0 0 3600 1 error_writes"
ack_writer_wait $W err 5 300
states=$(mirror_leg_states e1)
[ "$states" = AA ] ||
	fail "writes failed on every leg at once, and legs were failed: $(dmsetup status e1)"
dd if="$dev" of=/dev/null bs=64k iflag=direct 2>/dev/null ||
	fail "reads failed while the legs only fail writes"
pool_table "$(healthy 0)" "$(healthy 1)"
ok=$(ack_writer_count $W ok)
ack_writer_wait $W ok $((ok + 10)) 300
ack_writer_stop $W
info "  legs $states during the fault; writer: $(ack_writer_count $W ok) acknowledged, $(ack_writer_count $W err) failed"
set -- $(insync_regions)
# A data write that no leg in sync took leaves its region to resync (a
# write to a clean region may fail earlier, at its bitmap write: nothing
# was written then).
if dmesg | sed -n '/dmt-mark: all legs fail writes/,$p' |
	grep -q ": write error on legs .*the last in sync, not failed"; then
	[ "$1" -lt "$2" ] ||
		fail "a write failed on every leg in sync, yet no region waits for resync: $(dmsetup status e1)"
fi
info "  no leg failed; $(($2 - $1)) regions wait for resync"
ack_verify "$dev" $W
all_in_sync
info "  after resync the legs are identical"

info "case 2: the last leg in sync fails every I/O"
check dmsetup message e1 0 leg 0 fail
pool_table "$(healthy 0)" "flakey /dev/ram1 0 0 3600"
expect_fail dd if="$dev" of=/dev/null bs=4096 count=1 iflag=direct
[ "$(mirror_leg_states e1)" = DA ] || fail "a read error failed the last leg: $(dmsetup status e1)"
expect_fail dd if=/dev/zero of="$dev" bs=4096 count=1 oflag=direct
[ "$(mirror_leg_states e1)" = DA ] || fail "a write error failed the last leg: $(dmsetup status e1)"
pool_table "$(healthy 0)" "$(healthy 1)"
check dd if="$dev" of=/dev/null bs=64k iflag=direct
check dmsetup message e1 0 leg 0 recover
all_in_sync
info "  the reader and the writer got the errors; the leg stayed in service"
check dmsetup remove e1

info "case 3: a leg returns BLK_STS_TIMEOUT for a while"
NB=/sys/kernel/config/nullb/tleg
mkdir $NB || fail "cannot create a null_blk device"
on_exit "rmdir $NB"
echo 16 >$NB/size
echo 1 >$NB/memory_backed
# Completions by timer after 2 s: with io_timeout cut to 1 ms, the block
# layer's timeout (checked on a whole-second timer) fires first, and the
# request completes with BLK_STS_TIMEOUT.
echo 2 >$NB/irqmode
echo 2000000000 >$NB/completion_nsec
echo 1 >$NB/power
on_exit "echo 0 >$NB/power"
# The disk is named after the configfs directory (or nullbN).
NBDEV=/dev/tleg
wait_for_file $NBDEV 5 || NBDEV=/dev/nullb$(cat $NB/index)
wait_for_file $NBDEV || fail "$NBDEV did not appear"
TMO=/sys/block/${NBDEV#/dev/}/queue/io_timeout
normal_tmo=$(cat $TMO)
tenant_key_new acme t1 64
tenant_create t1 "0 $LEN tenant acme t1 aes-xts-plain64 :64:logon:dm-tenant:acme:t1 0 3 local $NBDEV $META local /dev/ram2 $META local /dev/ram3 $META 2 metadata:$META nosync"
dev=$(dm_dev_path t1)
# Metadata writes are not retried (dm-io gives no status), so none may
# fall into the fault: with a leg failed the cleaner keeps every dirty
# bit, and the writer stays in one region (512 KiB), dirty from its first
# write on.
check dmsetup message t1 0 leg 2 fail
W=/tmp/ack-transient
ack_writer_start "$dev" 64 $W
ack_writer_wait $W ok 2 300
kmsg_mark "transient fault on"
echo 1 >$TMO
i=0
until dmesg | sed -n '/dmt-mark: transient fault on/,$p' | grep -q "transient write error"; do
	[ "$(mirror_leg_states t1)" = AAD ] ||
		fail "a transient error failed a leg: $(dmsetup status t1)"
	i=$((i + 1))
	[ $i -le 600 ] || fail "no transient write error seen in 120s"
	sleep 0.2
done
echo "$normal_tmo" >$TMO
ok=$(ack_writer_count $W ok)
ack_writer_wait $W ok $((ok + 3)) 300
ack_writer_stop $W
retries=$(dmesg | sed -n '/dmt-mark: transient fault on/,$p' | grep -c "transient write error" || true)
[ "$(mirror_leg_states t1)" = AAD ] || fail "a transient error failed a leg: $(dmsetup status t1)"
[ "$(ack_writer_count $W err)" = 0 ] || fail "$(ack_writer_count $W err) writes failed on a transient error"
ack_verify "$dev" $W
assert_legs_identical $META $LEN $NBDEV /dev/ram2
info "  $retries retries logged; leg not failed, no write failed, legs identical"
