#!/bin/bash
# Replication: the write-intent bitmap covers every write, checked on a
# dm-log-writes log of leg 0 of a 3-leg volume.  Random writes with
# fsyncs over a few regions, sequential writes, idle time so the cleaner
# (3 s passes) clears bits, then writes that dirty regions again.  After
# the volume is removed, dmt-logcheck replays the log: every data write
# must find its regions marked in the bitmap as written on the leg so far;
# bits must have been set and cleared.  The same log checked with a wrong
# metadata offset or region size must fail (the check is not vacuous).
#
# The last writes are never flushed by fio before the cleaner clears their
# regions: the cleaner's flush must make them durable before the clear
# (without it the log shows a clean region with a write still in the leg's
# cache; see dmt-logcheck.c).
# vm-long: yes
# vm-timeout: 300
# vm-smp: 2
. "$DMT_LIB"
. "$DMT_ROOT/tests/vm/tenant-lib.sh"

tenant_setup
need_module dm-log-writes
require_cmd fio dmt-logcheck

check dmt-logcheck --selftest >/tmp/selftest.out
info "dmt-logcheck --selftest passed"

brd_setup 4 96
META=2048
LEN=65536			# 32 MiB: 64 regions of 512 KiB
RS=1024
NREG=$((LEN / RS))
LEGSZ=$((META + LEN))
LOG=/dev/ram1
L=/dev/mapper
check dmsetup create leg0 --table "0 $LEGSZ log-writes /dev/ram0 $LOG"
on_exit "dmsetup remove --retry leg0 2>/dev/null || true"
check dmsetup create leg1 --table "0 $LEGSZ linear /dev/ram2 0"
on_exit "dmsetup remove --retry leg1"
check dmsetup create leg2 --table "0 $LEGSZ linear /dev/ram3 0"
on_exit "dmsetup remove --retry leg2"
check dmsetup message leg0 0 mark start

tenant_key_new acme lw 64
REF=:64:logon:dm-tenant:acme:lw
TABLE="0 $LEN tenant acme lw aes-xts-plain64 $REF 0 3 local $L/leg0 $META local $L/leg1 $META local $L/leg2 $META 2 metadata:$META nosync"
tenant_create lw "$TABLE"
dev=$(dm_dev_path lw)
info "status: $(dmsetup status lw)"

fio_run() {	# fio_run NAME ARGS...
	local n=$1
	shift
	fio --name="$n" --filename="$dev" --direct=1 --ioengine=libaio \
		--output-format=terse "$@" >/tmp/fio.out 2>&1 ||
		{ cat /tmp/fio.out; fail "fio $n failed"; }
}

# Random writes over regions 0-3 with a flush every 16 writes, sequential
# writes over regions 8-23; every job ends with a flush.
fio_run r1 --rw=randwrite --bs=4k --offset=0 --size=2M --io_size=6M \
	--iodepth=8 --fsync=16 --end_fsync=1
fio_run s1 --rw=write --bs=1M --offset=4M --size=8M --iodepth=4 --end_fsync=1
check dmsetup message leg0 0 mark idle1
sleep 8				# two cleaner passes: idle regions cleared
check dmsetup message leg0 0 mark again
# Regions cleared above are dirtied again; new ones too (40-47).
fio_run r2 --rw=randwrite --bs=8k --offset=0 --size=4M --io_size=4M \
	--iodepth=16 --fsync=8 --end_fsync=1
fio_run r3 --rw=randwrite --bs=64k --offset=20M --size=4M --io_size=6M \
	--iodepth=4 --numjobs=2 --fsync=4 --end_fsync=1
sleep 4
fio_run s2 --rw=write --bs=256k --offset=2M --size=4M --iodepth=2 --end_fsync=1
fio_run u1 --rw=randwrite --bs=4k --offset=28M --size=1M --io_size=1M \
	--iodepth=4
info "unflushed writes to regions 56-57, now idle"
sleep 7
info "status: $(dmsetup status lw)"
check dmsetup remove lw
# The log target logs its unflushed writes and an end mark when removed.
check dmsetup remove leg0
info "log: $(dd if=$LOG bs=512 count=1 2>/dev/null | od -An -tu8 -j16 -N8 | tr -d ' ') entries"

out=/tmp/logcheck.out
rc=0
dmt-logcheck 0 $META $RS $NREG $LOG >$out 2>&1 || rc=$?
cat $out
if [ $rc != 0 ]; then
	echo "--- log entries before the first violations:"
	dmt-logcheck -v 0 $META $RS $NREG $LOG | grep -B16 -m4 VIOLATION
	fail "dmt-logcheck found writes outside the bitmap (exit $rc)"
fi
field() {	# field FIELD: a number from the summary line
	tr ' ' '\n' <$out | grep -A1 -x "$1" | tail -1
}
[ "$(field data_writes)" -gt 100 ] || fail "too few data writes logged"
[ "$(field bitmap_writes)" -gt 0 ] || fail "no bitmap writes logged"
[ "$(field bits_set)" -ge 30 ] || fail "too few bits set: $(field bits_set)"
[ "$(field clearing_bitmap_writes)" -ge 2 ] ||
	fail "the cleaner never cleared a bit on the leg"
[ "$(field max_dirty_regions)" -ge 4 ] || fail "max dirty $(field max_dirty_regions)"
[ "$(field flushes)" -gt 10 ] || fail "too few flushes logged"
info "bitmap covered every write; bits set and cleared"

# Not vacuous: the same log read with a wrong layout must fail.
rc=0
dmt-logcheck -q 8 $META $RS $NREG $LOG >$out 2>&1 || rc=$?
[ $rc = 1 ] || { cat $out; fail "wrong metadata offset not caught (exit $rc)"; }
info "wrong metadata offset: $(field violations) violations, as expected"
rc=0
dmt-logcheck -q 0 $META $((RS / 2)) $((NREG * 2)) $LOG >$out 2>&1 || rc=$?
[ $rc = 1 ] || { cat $out; fail "wrong region size not caught (exit $rc)"; }
info "wrong region size: $(field violations) violations, as expected"
rc=0
dmt-logcheck -q 0 $((META + RS)) $RS $NREG $LOG >$out 2>&1 || rc=$?
[ $rc = 1 ] || { cat $out; fail "wrong data offset not caught (exit $rc)"; }
info "wrong data offset: $(field violations) violations, as expected"
