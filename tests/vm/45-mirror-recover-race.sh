#!/bin/bash
# Replication: "leg <i> recover" while a resync is copying.  The resync
# worker copies one region at a time to the legs that are destinations
# when the copy starts; a leg recovered during that copy must still get
# that region (it used to be marked in sync behind the newcomer's back,
# leaving one stale region on a leg shown as A).  Three local legs on brd:
# leg 2 fails and misses a full overwrite, leg 1 is failed and recovered
# (a throttled resync of every region), and leg 2 is recovered in the
# middle of it.  At the end every leg must be byte-identical.
# vm-timeout: 600
. "$DMT_LIB"
. "$DMT_ROOT/tests/vm/tenant-lib.sh"

tenant_setup
brd_setup 3 72
META=2048
LEN=131072			# 64 MiB: 128 regions of 512 KiB
P=/sys/module/dm_tenant/parameters/resync_throttle
tenant_key_new acme rr 64
REF=:64:logon:dm-tenant:acme:rr
TABLE="0 $LEN tenant acme rr aes-xts-plain64 $REF 0 3 local /dev/ram0 $META local /dev/ram1 $META local /dev/ram2 $META 2 metadata:$META nosync"
tenant_create rr "$TABLE"
dev=$(dm_dev_path rr)
[ -w $P ] || fail "no resync_throttle parameter"
old=$(cat $P)
on_exit "echo $old >$P"

check dd if=/dev/urandom of="$dev" bs=1M count=64 oflag=direct status=none
assert_legs_identical $META $LEN /dev/ram0 /dev/ram1 /dev/ram2

check dmsetup message rr 0 leg 2 fail
check dd if=/dev/urandom of="$dev" bs=1M count=64 oflag=direct status=none
[ "$(mirror_leg_states rr)" = AAD ] || fail "states: $(dmsetup status rr)"

# A slow resync of every region to leg 1.
echo 5 >$P
check dmsetup message rr 0 leg 1 fail
check dmsetup message rr 0 leg 1 recover
end=$((SECONDS + 120))
while :; do
	p=$(mirror_status_field rr progress)
	[ "${p%/*}" -ge 8 ] && break
	[ "$(mirror_status_field rr action)" != idle ] ||
		fail "resync ended before leg 2 could join: $(dmsetup status rr)"
	[ $SECONDS -le $end ] || fail "resync does not progress: $(dmsetup status rr)"
	sleep 0.1
done
info "resync at $p: recovering leg 2 now"
check dmsetup message rr 0 leg 2 recover
[ "$(mirror_status_field rr action)" != idle ] ||
	fail "resync ended too early to test the race: $(dmsetup status rr)"
echo "$old" >$P
mirror_wait_idle rr 300
[ "$(mirror_leg_states rr)" = AAA ] || fail "states: $(dmsetup status rr)"
info "after resync: $(dmsetup status rr)"
assert_legs_identical $META $LEN /dev/ram0 /dev/ram1 /dev/ram2
check dmsetup message rr 0 check
mirror_wait_idle rr 300
[ "$(mirror_status_field rr mismatches)" = 0 ] ||
	fail "check finds mismatches: $(dmsetup status rr)"
info "a leg recovered during a resync copy ends byte-identical"
