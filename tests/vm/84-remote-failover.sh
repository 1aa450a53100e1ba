#!/bin/bash
# Failover to the remote copy and rejoin of the old primary (remote
# legs), decided by the data generations in the superblocks
# (Documentation/remote-legs.md, "Failover and rejoin").  P = the primary
# site's local leg (/dev/ram0), R = the remote leg (/dev/ram1, class
# remote: written asynchronously; no network is needed for the decision).
#  A. a volume P + R streams pattern A; removed cleanly.
#  B. failover: R assembled alone (one-leg table) takes pattern B.
#  C. the old primary's original table (P local, R remote) is refused:
#     the newest data is on the remote leg; nothing on either leg changes.
#  D. rejoin at the secondary (R local, P remote): P is failed as an older
#     copy (D, never S), reads return B, "leg 1 recover" copies R over P,
#     legs byte-identical.
#  E. split brain: each side writes without the other (R with P failed,
#     then P assembled alone).  Reassembled either way round, the other
#     side's leg is S (diverged), its data untouched; a plain "leg recover"
#     is refused (EPERM), "leg recover force" copies over it.
# vm-timeout: 900
. "$DMT_LIB"
. "$DMT_ROOT/tests/vm/tenant-lib.sh"
. "$DMT_ROOT/tests/vm/remote-lib.sh"

tenant_setup
brd_setup 2 40
META=2048
LEN=65536			# 32 MiB: 64 regions of 512 KiB
P=/dev/ram0
R=/dev/ram1
T=acme
V=geo
tenant_key_new $T $V 64
KS=":64:logon:dm-tenant:$T:$V"
two_legs() {	# two_legs FIRST SECOND: FIRST local, SECOND remote
	echo "0 $LEN tenant $T $V aes-xts-plain64 $KS 0 2 local $1 $META remote $2 $META 1 metadata:$META"
}
one_leg() {
	echo "0 $LEN tenant $T $V aes-xts-plain64 $KS 0 1 local $1 $META 1 metadata:$META"
}
on_exit "dmsetup remove --retry geo 2>/dev/null || true"

check dd if=/dev/urandom of=/tmp/patA bs=1M count=8 status=none
check dd if=/dev/urandom of=/tmp/patB bs=1M count=2 status=none
check dd if=/dev/urandom of=/tmp/patC bs=1M count=1 status=none
check dd if=/dev/urandom of=/tmp/patD bs=1M count=1 status=none
on_exit "rm -f /tmp/pat[ABCD] /tmp/readback"

# put NAME PATTERN OFFSET_MIB
put() {
	check dd if="$2" of="$(dm_dev_path "$1")" bs=1M seek="$3" \
		oflag=direct conv=fsync status=none
}
# has NAME PATTERN OFFSET_MIB: the volume reads PATTERN at the offset
has() {
	local n
	n=$(stat -c %s "$2")
	dd if="$(dm_dev_path "$1")" of=/tmp/readback bs=1M skip="$3" \
		iflag=direct count=$((n / 1048576)) status=none ||
		fail "cannot read $1"
	cmp -s "$2" /tmp/readback ||
		fail "$1 does not read $(basename "$2") at ${3} MiB"
}
sum() { leg_data_sum "$1" $META $LEN; }
states() { mirror_leg_states geo; }

# ---- A: streaming volume --------------------------------------------------
info "A: P local + R remote, pattern A streamed"
check dmsetup create geo --table "$(two_legs $P $R)"
mirror_wait_idle geo
put geo /tmp/patA 0
remote_wait geo 1 streaming 60
check dmsetup remove geo
assert_legs_identical $META $LEN $P $R

# ---- B: failover ------------------------------------------------------------
info "B0: a read-only look at R alone records nothing"
kmsg_mark readonly
check dmsetup create --readonly geo --table "$(one_leg $R)"
has geo /tmp/patA 0
check dmsetup remove geo
! dmesg | sed -n '/dmt-mark: readonly/,$p' | grep -q "assembled alone" ||
	fail "a read-only table started a new generation"
[ "$(sum $R)" = "$(sum $P)" ] || fail "the read-only table changed R"
info "B: failover: R alone takes pattern B"
kmsg_mark failover
check dmsetup create geo --table "$(one_leg $R)"
dmesg | sed -n '/dmt-mark: failover/,$p' | grep -q "assembled alone" ||
	fail "the one-leg assembly did not start a new generation: $(dmesg | tail -3)"
put geo /tmp/patB 16
has geo /tmp/patA 0
has geo /tmp/patB 16
check dmsetup remove geo
sumP=$(sum $P)
sumR=$(sum $R)
[ "$sumP" != "$sumR" ] || fail "failover writes did not reach R"

# ---- C: the old primary's table is refused -----------------------------------
info "C: the old primary's original table (P local, R remote)"
expect_create_fail geo "$(two_legs $P $R)" \
	"newest data is on leg 1"
[ "$(sum $P)" = "$sumP" ] || fail "the refused assembly changed P"
[ "$(sum $R)" = "$sumR" ] || fail "the refused assembly changed R"

# ---- D: rejoin at the secondary ----------------------------------------------
info "D: rejoin: R local, P remote"
kmsg_mark rejoin
check dmsetup create geo --table "$(two_legs $R $P)"
mirror_wait_idle geo
[ "$(states)" = AD ] || fail "old primary not failed as older: $(dmsetup status geo)"
dmesg | sed -n '/dmt-mark: rejoin/,$p' | grep -q "older generation" ||
	fail "kernel log does not say why P is failed"
has geo /tmp/patB 16
[ "$(sum $P)" = "$sumP" ] || fail "P changed before 'leg 1 recover'"
check dmsetup message geo 0 leg 1 recover
remote_wait geo 1 streaming 120
[ "$(states)" = AA ] || fail "rejoin did not end in sync: $(dmsetup status geo)"
check dmsetup remove geo
assert_legs_identical $META $LEN $R $P
[ "$(sum $P)" = "$sumR" ] || fail "P does not hold R's data after the rejoin"

# ---- E: split brain -------------------------------------------------------------
info "E: split brain: R goes on without P, P goes on alone"
check dmsetup create geo --table "$(two_legs $R $P)"
mirror_wait_idle geo
[ "$(states)" = AA ] || fail "rejoined volume not in sync: $(dmsetup status geo)"
check dmsetup message geo 0 leg 1 fail
put geo /tmp/patC 10
check dmsetup remove geo
check dmsetup create geo --table "$(one_leg $P)"
put geo /tmp/patD 12
check dmsetup remove geo
sumP=$(sum $P)
sumR=$(sum $R)

info "E1: P's side assembles first (P local, R remote): R diverged"
check dmsetup create geo --table "$(two_legs $P $R)"
[ "$(states)" = AS ] || fail "R not shown diverged: $(dmsetup status geo)"
has geo /tmp/patD 12
expect_fail dmsetup message geo 0 leg 1 recover
[ "$(states)" = AS ] || fail "refused recover changed the state: $(dmsetup status geo)"
check dmsetup remove geo
[ "$(sum $R)" = "$sumR" ] || fail "R was overwritten"

info "E2: R's side assembles first (R local, P remote): P diverged"
check dmsetup create geo --table "$(two_legs $R $P)"
[ "$(states)" = AS ] || fail "P not shown diverged: $(dmsetup status geo)"
has geo /tmp/patC 10
expect_fail dmsetup message geo 0 leg 1 recover
sleep 1
[ "$(sum $P)" = "$sumP" ] || fail "P was overwritten without force"
check dmsetup message geo 0 leg 1 recover force
remote_wait geo 1 streaming 120
[ "$(states)" = AA ] || fail "forced recover did not end in sync: $(dmsetup status geo)"
has geo /tmp/patC 10
check dmsetup remove geo
assert_legs_identical $META $LEN $R $P

# Reassembled once more: one generation, both legs in service.
check dmsetup create geo --table "$(two_legs $R $P)"
mirror_wait_idle geo
[ "$(states)" = AA ] || fail "after the forced rejoin: $(dmsetup status geo)"
check dmsetup remove geo
info "failover, rejoin and split brain decided by generations"
