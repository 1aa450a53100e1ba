#!/bin/bash
# Replication: three local legs and a zone leg.  Initial sync, I/O with
# verification, byte-identical legs that each open with stock dm-crypt, a
# leg failing on writes (volume goes on, status and a dm event tell),
# recovery, and check / repair of a planted mismatch.
# vm-timeout: 600
. "$DMT_LIB"
. "$DMT_ROOT/tests/vm/tenant-lib.sh"

tenant_setup
need_module dm-flakey
need_module dm-crypt
require_cmd fio
brd_setup 4 80
META=2048
LEN=131072			# 64 MiB: 128 regions of 512 KiB
LEGSZ=$((META + LEN))
for i in 0 1 2 3; do
	check dmsetup create leg$i --table "0 $LEGSZ linear /dev/ram$i 0"
	on_exit "dmsetup remove --retry leg$i"
done
L=/dev/mapper
tenant_key_new acme m1 64
REF=:64:logon:dm-tenant:acme:m1
TABLE="0 $LEN tenant acme m1 aes-xts-plain64 $REF 0 4 local $L/leg0 $META local $L/leg1 $META local $L/leg2 $META zone $L/leg3 $META 1 metadata:$META"
tenant_create m1 "$TABLE"
dev=$(dm_dev_path m1)
info "status: $(dmsetup status m1)"
mirror_wait_idle m1 300
[ "$(mirror_status_field m1 insync)" = 128/128 ] || fail "not in sync: $(dmsetup status m1)"
[ "$(mirror_leg_states m1)" = AAAA ] || fail "legs: $(mirror_leg_states m1)"
info "initial sync done: $(dmsetup status m1)"

fio_verify() {	# fio_verify NAME ARGS...
	local n=$1
	shift
	fio --name="$n" --filename="$dev" --direct=1 --ioengine=libaio \
		--verify=crc32c --verify_fatal=1 --do_verify=1 --output-format=terse \
		"$@" >/tmp/fio.out 2>&1 || { cat /tmp/fio.out; fail "fio $n failed"; }
}

fio_verify w1 --rw=randwrite --bs=4k --size=32M --iodepth=16 --verify_backlog=256
fio_verify w2 --rw=write --bs=1M --size=64M --iodepth=4
assert_legs_identical $META $LEN $L/leg0 $L/leg1 $L/leg2 $L/leg3
info "after writes: all legs byte-identical"

# Any single leg opens with stock dm-crypt and shows the same data.
check dmsetup create rescue --table "0 $LEN crypt aes-xts-plain64 $REF 0 $L/leg2 $META"
on_exit "dmsetup remove rescue 2>/dev/null || true"
a=$(dd if="$dev" bs=1M count=64 iflag=direct 2>/dev/null | sha256sum)
b=$(dd if=$L/rescue bs=1M count=64 iflag=direct 2>/dev/null | sha256sum)
[ "$a" = "$b" ] || fail "dm-crypt on one leg shows other data"
check dmsetup remove rescue
info "leg 2 alone opens with stock dm-crypt: same data"

# Leg 1 starts failing writes; a dm event must fire.
ev=$(dmsetup info -c --noheadings -o events m1 | tr -d ' ')
( timeout 60 dmsetup wait m1 "$ev" >/dev/null 2>&1; echo $? >/tmp/wait.rc ) &
waiter=$!
check dmsetup suspend leg1
check dmsetup load leg1 --table "0 $LEGSZ flakey /dev/ram1 0 0 1 1 error_writes"
check dmsetup resume leg1
fio_verify w3 --rw=randwrite --bs=4k --size=16M --iodepth=8 --verify_backlog=128
wait $waiter
[ "$(cat /tmp/wait.rc)" = 0 ] || fail "no dm event for the failed leg"
[ "$(mirror_leg_states m1)" = ADAA ] || fail "leg 1 not failed: $(dmsetup status m1)"
dmesg | grep -Eq "leg 1 .* failed: (write|bitmap write|superblock write) error" || fail "failure not logged"
info "leg 1 failed on write errors, volume went on: $(dmsetup status m1)"
fio_verify w4 --rw=randrw --bs=8k --size=32M --iodepth=8
[ "$(mirror_leg_states m1)" = ADAA ] || fail "legs changed: $(mirror_leg_states m1)"

# The failed leg does not come back by itself, even when the disk does.
check dmsetup suspend leg1
check dmsetup load leg1 --table "0 $LEGSZ linear /dev/ram1 0"
check dmsetup resume leg1
sleep 4
[ "$(mirror_leg_states m1)" = ADAA ] || fail "failed leg returned silently"
check dmsetup message m1 0 leg 1 recover
mirror_wait_idle m1 300
[ "$(mirror_leg_states m1)" = AAAA ] || fail "leg 1 not recovered: $(dmsetup status m1)"
assert_legs_identical $META $LEN $L/leg0 $L/leg1 $L/leg2 $L/leg3
fio_verify w5 --rw=randwrite --bs=16k --size=48M --iodepth=8 --verify_backlog=64
info "leg 1 recovered: legs identical"

# Refusals: failing the last leg in sync, recovering a healthy leg.
expect_fail dmsetup message m1 0 leg 9 fail
expect_fail dmsetup message m1 0 leg 0 recover

# check finds a planted mismatch and changes nothing; repair fixes it.
head -c 4096 /dev/urandom | dd of=$L/leg2 bs=4096 seek=$(((META * 512 + 5 * 524288) / 4096)) oflag=direct 2>/dev/null
check dmsetup message m1 0 check
mirror_wait_idle m1 300
mm=$(mirror_status_field m1 mismatches)
[ "$mm" = 1 ] || fail "check found $mm mismatched regions, want 1"
s0=$(leg_data_sum $L/leg0 $META $LEN)
[ "$(leg_data_sum $L/leg2 $META $LEN)" != "$s0" ] || fail "check changed the legs"
check dmsetup message m1 0 repair
mirror_wait_idle m1 300
assert_legs_identical $META $LEN $L/leg0 $L/leg1 $L/leg2 $L/leg3
check dmsetup message m1 0 check
mirror_wait_idle m1 300
[ "$(mirror_status_field m1 mismatches)" = 0 ] || fail "mismatch after repair"
info "check found 1 mismatched region, repair fixed it"
info "final: $(dmsetup status m1)"
