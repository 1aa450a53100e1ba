#!/bin/bash
# Fault matrix under a volume with three local legs and a zone leg: after
# each fault the data reads back intact (fio verify), the status tells the
# truth, and after recovery every leg is byte-identical.
#   - a leg that fails every I/O (dm-error, as a pulled disk)
#   - a leg that fails reads only for a while (dm-flakey, all I/O down):
#     reads are retried on another leg
#   - a zone leg that silently drops writes (dm-flakey drop_writes): not
#     visible to I/O, found by check, fixed by repair
# vm-timeout: 900
. "$DMT_LIB"
. "$DMT_ROOT/tests/vm/tenant-lib.sh"

tenant_setup
need_module dm-flakey
require_cmd fio
brd_setup 4 40
META=2048
LEN=65536			# 32 MiB: 64 regions
LEGSZ=$((META + LEN))
L=/dev/mapper
for i in 0 1 2 3; do
	check dmsetup create leg$i --table "0 $LEGSZ linear /dev/ram$i 0"
	on_exit "dmsetup remove --retry leg$i"
done
tenant_key_new acme f1 64
tenant_create f1 "0 $LEN tenant acme f1 aes-xts-plain64 :64:logon:dm-tenant:acme:f1 0 4 local $L/leg0 $META local $L/leg1 $META local $L/leg2 $META zone $L/leg3 $META 2 metadata:$META nosync"
dev=$(dm_dev_path f1)

leg_table() {	# leg_table I TABLE: swap the table under leg I
	check dmsetup suspend "leg$1"
	check dmsetup load "leg$1" --table "$2"
	check dmsetup resume "leg$1"
}
healthy() { echo "0 $LEGSZ linear /dev/ram$1 0"; }
write_verify() {
	fio --name="$1" --filename="$dev" --direct=1 --ioengine=libaio \
		--rw=randwrite --bs=4k --size=32M --iodepth=8 --verify=crc32c \
		--verify_fatal=1 --verify_backlog=64 --output-format=terse \
		>/tmp/fio.out 2>&1 || { cat /tmp/fio.out; fail "fio $1 failed"; }
}
read_verify() {	# whole device equals the reference copy
	dd if="$dev" of=/tmp/now bs=1M iflag=direct 2>/dev/null
	cmp -s /tmp/now /tmp/ref || fail "$1: data read back differs"
}
recover_leg() {	# recover_leg I
	leg_table "$1" "$(healthy "$1")"
	check dmsetup message f1 0 leg "$1" recover
	mirror_wait_idle f1 300
	[ "$(mirror_leg_states f1)" = AAAA ] || fail "not recovered: $(dmsetup status f1)"
	assert_legs_identical $META $LEN $L/leg0 $L/leg1 $L/leg2 $L/leg3
}

write_verify base
dd if="$dev" of=/tmp/ref bs=1M iflag=direct 2>/dev/null

info "fault 1: leg 2 fails every I/O (dm-error)"
leg_table 2 "0 $LEGSZ error"
read_verify "dm-error leg"
write_verify e1
[ "$(mirror_leg_states f1)" = AADA ] || fail "status: $(dmsetup status f1)"
dd if="$dev" of=/tmp/ref bs=1M iflag=direct 2>/dev/null
recover_leg 2
read_verify "after recovery from dm-error"
info "  leg failed (D), data intact, recovered, legs identical"

info "fault 2: leg 0 fails reads (all I/O down for a while): reads retried"
# Let the bitmap go clean first (two cleaner passes), so no bitmap write
# fails the leg before the reads have seen it.
sleep 8
leg_table 0 "0 $LEGSZ flakey /dev/ram0 0 0 30"
before=$(dmesg | grep -c "read error on leg 0" || true)
read_verify "read errors on leg 0"
after=$(dmesg | grep -c "read error on leg 0" || true)
[ "$after" -gt "$before" ] || fail "no read was retried (leg 0 never read?)"
set -- $(dmsetup status f1)
info "  $((after - before)) reads retried on another leg"
# Reads do not fail a leg; the next write does.
write_verify e2
[ "$(mirror_leg_states f1)" = DAAA ] || fail "status: $(dmsetup status f1)"
dd if="$dev" of=/tmp/ref bs=1M iflag=direct 2>/dev/null
recover_leg 0
read_verify "after recovery from read errors"
info "  retried reads returned good data; leg failed on write, recovered"

info "fault 3: zone leg 3 silently drops writes (dm-flakey drop_writes)"
leg_table 3 "0 $LEGSZ flakey /dev/ram3 0 0 30 1 drop_writes"
write_verify d1
dd if="$dev" of=/tmp/ref bs=1M iflag=direct 2>/dev/null
read_verify "drop_writes on the zone leg"
[ "$(mirror_leg_states f1)" = AAAA ] || fail "dropped writes are invisible: $(dmsetup status f1)"
leg_table 3 "$(healthy 3)"
check dmsetup message f1 0 check
mirror_wait_idle f1 300
mm=$(mirror_status_field f1 mismatches)
[ "$mm" -gt 0 ] || fail "check found no mismatch on the leg that dropped writes"
info "  check found $mm regions where the zone leg lost writes"
check dmsetup message f1 0 repair
mirror_wait_idle f1 300
assert_legs_identical $META $LEN $L/leg0 $L/leg1 $L/leg2 $L/leg3
read_verify "after repair"
info "  repair made every leg identical again"
