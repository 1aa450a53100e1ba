#!/bin/bash
# Two concurrent "leg <i> fail" messages on a two-leg volume never fail
# both legs: the check "is this the last leg in sync?" and the failure are
# one step under the volume's state lock.
#
# The race is widened without touching the target: the legs delay writes
# (dm-delay), and each round starts a "resync", which holds the state lock
# while it writes the bitmap.  Both fail messages then arrive while the
# lock is held; checked outside the lock, both would see the other leg in
# sync and both legs would be failed.  Between rounds the failed leg is
# recovered.
# vm-timeout: 1200
# vm-smp: 2
. "$DMT_LIB"
. "$DMT_ROOT/tests/vm/tenant-lib.sh"

tenant_setup
need_module dm-delay
brd_setup 2 16
META=2048
LEN=8192			# 4 MiB: 8 regions
LEGSZ=$((META + LEN))
DELAY_MS=400
ROUNDS=${DMT_RACE_ROUNDS:-20}
L=/dev/mapper
for i in 0 1; do
	check dmsetup create rleg$i --table \
		"0 $LEGSZ delay /dev/ram$i 0 0 /dev/ram$i 0 $DELAY_MS"
	on_exit "dmsetup remove --retry rleg$i"
done
tenant_key_new acme r1 64
tenant_create r1 "0 $LEN tenant acme r1 aes-xts-plain64 :64:logon:dm-tenant:acme:r1 0 2 local $L/rleg0 $META local $L/rleg1 $META 2 metadata:$META nosync"
dev=$(dm_dev_path r1)
dd if=/dev/urandom of="$dev" bs=1M count=4 oflag=direct 2>/dev/null ||
	fail "initial write failed"

refused=0
for ((round = 1; round <= ROUNDS; round++)); do
	[ "$(mirror_leg_states r1)" = AA ] ||
		fail "round $round starts with legs $(mirror_leg_states r1)"
	# The resync holds the state lock for a bitmap write (DELAY_MS).
	dmsetup message r1 0 resync 2>/dev/null &
	rs=$!
	sleep 0.1
	dmsetup message r1 0 leg 0 fail 2>/dev/null &
	f0=$!
	dmsetup message r1 0 leg 1 fail 2>/dev/null &
	f1=$!
	ok0=0 ok1=0
	wait $f0 && ok0=1
	wait $f1 && ok1=1
	wait $rs || true
	states=$(mirror_leg_states r1)
	case $states in
	DD) fail "round $round: both legs failed (messages ok: $ok0 $ok1): $(dmsetup status r1)" ;;
	AA) fail "round $round: no leg failed, both messages refused? ($ok0 $ok1)" ;;
	DA) dead=0 ;;
	AD) dead=1 ;;
	*) fail "round $round: unexpected leg states $states" ;;
	esac
	[ $((ok0 + ok1)) = 1 ] ||
		fail "round $round: $((ok0 + ok1)) fail messages succeeded, legs $states"
	refused=$((refused + 1))
	mirror_wait_idle r1 300
	check dmsetup message r1 0 leg $dead recover
	mirror_wait_idle r1 300
done
[ "$(mirror_leg_states r1)" = AA ] || fail "legs not recovered: $(dmsetup status r1)"
assert_legs_identical $META $LEN $L/rleg0 $L/rleg1
info "$ROUNDS rounds of two concurrent fail messages: one leg failed, the other refused ($refused times)"
