#!/bin/bash
# Replication: a sequential writer costs few bitmap writes (group commit
# and the seq_lookahead_kb look-ahead, Documentation/design.md).  Each leg
# of a 3-leg volume is a dm-linear concatenation of a metadata device
# (its own dm-linear, whose /sys/block/dm-N/stat counts exactly the
# superblock and bitmap writes) and a data area.  A sequential writer over
# N = 64 fresh regions, 512 KiB writes at QD1 (one region per write):
#   - look-ahead off (seq_lookahead_kb=0): about one bitmap write per
#     region (>= 3N/4 required);
#   - look-ahead on (default): < N/4 bitmap writes;
#   - the bench's shape, 1 MiB writes at QD4, look-ahead on: < N/4;
#   - 1 MiB at QD4 with look-ahead off: a figure only (brd's FUA writes
#     are too fast for batches to form).
# Then the on-disk bitmap after writing 2 regions holds exactly 2 + K bits
# (K look-ahead regions), and the cleaner clears the unused ones.
# Group commit: with leg 0's metadata writes delayed 50 ms (dm-delay), 4 KiB
# random writes at QD16 over the N fresh regions (look-ahead off) must need
# fewer than N/2 bitmap writes (one per region without group commit).
# vm-timeout: 600
# vm-smp: 2
. "$DMT_LIB"
. "$DMT_ROOT/tests/vm/tenant-lib.sh"

tenant_setup
require_cmd fio
need_module dm-delay

PARAM=/sys/module/dm_tenant/parameters/seq_lookahead_kb
[ -w $PARAM ] || fail "$PARAM missing"
ORIG_KB=$(cat $PARAM)
on_exit "echo $ORIG_KB >$PARAM"
[ "$ORIG_KB" = 8192 ] || fail "seq_lookahead_kb default is $ORIG_KB, not 8192"

META=2048
RS=1024				# region: 512 KiB
N=64
LEN=$((N * RS))			# 32 MiB per leg
K=$((ORIG_KB * 2 / RS))		# look-ahead regions: 16
brd_setup 2 100			# ram0: the 3 metadata areas, ram1: the data
for i in 0 1 2; do
	check dmsetup create sbm$i --table "0 $META linear /dev/ram0 $((i * META))"
	on_exit "dmsetup remove --retry sbm$i"
	printf '0 %s linear /dev/mapper/sbm%s 0\n%s %s linear /dev/ram1 %s\n' \
		$META $i $META $LEN $((i * LEN)) | dmsetup create sbleg$i ||
		fail "dmsetup create sbleg$i failed"
	on_exit "dmsetup remove --retry sbleg$i"
done
MINOR=$(dmsetup info -c --noheadings -o minor sbm0 | tr -d ' ')
STAT=/sys/block/dm-$MINOR/stat
[ -r "$STAT" ] || fail "$STAT missing"

meta_writes() {	# writes completed on leg 0's metadata device
	awk '{ print $5 }' "$STAT"
}

tenant_key_new acme sbm 64
L=/dev/mapper
TABLE="0 $LEN tenant acme sbm aes-xts-plain64 :64:logon:dm-tenant:acme:sbm 0 3 local $L/sbleg0 $META local $L/sbleg1 $META local $L/sbleg2 $META 2 metadata:$META nosync"

vol_create() {	# fresh metadata: every region clean
	check dd if=/dev/zero of=/dev/ram0 bs=1M count=3 oflag=direct status=none
	check dmsetup create sbvol --table "$TABLE"
	[ "$(mirror_leg_states sbvol)" = AAA ] ||
		fail "legs not all alive: $(dmsetup status sbvol)"
}

vol_remove() {
	check dmsetup remove --retry sbvol
}
on_exit "dmsetup remove --retry sbvol 2>/dev/null || true"

# seq_run LOOKAHEAD_KB BS QD: WRITES = bitmap writes of a sequential pass
# over all N regions
seq_run() {
	local before after
	echo "$1" >$PARAM || fail "cannot set seq_lookahead_kb=$1"
	vol_create
	before=$(meta_writes)
	fio --name=seq --filename=$L/sbvol --rw=write --bs="$2" --iodepth="$3" \
		--ioengine=libaio --direct=1 --size=$((LEN * 512)) \
		--output-format=terse >/tmp/fio.out 2>&1 ||
		{ cat /tmp/fio.out; fail "fio failed"; }
	after=$(meta_writes)
	vol_remove
	assert_legs_identical $META $LEN $L/sbleg0 $L/sbleg1 $L/sbleg2
	WRITES=$((after - before))
}

seq_run 0 512k 1
off=$WRITES
info "look-ahead off, 512 KiB QD1: $off bitmap writes for $N regions"
[ "$off" -ge $((N * 3 / 4)) ] ||
	fail "look-ahead off: $off bitmap writes, expected about $N (is the count blind?)"

seq_run "$ORIG_KB" 512k 1
on=$WRITES
info "look-ahead $ORIG_KB KiB, 512 KiB QD1: $on bitmap writes for $N regions"
[ "$on" -lt $((N / 4)) ] ||
	fail "look-ahead on: $on bitmap writes for $N regions, expected < $((N / 4))"

seq_run "$ORIG_KB" 1M 4
qd4=$WRITES
info "look-ahead $ORIG_KB KiB, 1 MiB QD4: $qd4 bitmap writes for $N regions"
[ "$qd4" -lt $((N / 4)) ] ||
	fail "look-ahead on, QD4: $qd4 bitmap writes for $N regions, expected < $((N / 4))"

seq_run 0 1M 4
gc=$WRITES	# a figure, not a check: on brd (fast FUA) batches rarely form
info "look-ahead off, 1 MiB QD4 (group commit only): $gc bitmap writes for $N regions"

# bitmap_weight: set bits in the first 16 bytes (128 regions) of leg 0's
# on-disk bitmap (block 1 of the metadata area).
bitmap_weight() {
	local b w=0
	for b in $(dd if=$L/sbm0 bs=4096 skip=1 count=1 iflag=direct status=none |
		   od -An -tu1 -v -N16); do
		while [ "$b" -gt 0 ]; do
			w=$((w + (b & 1)))
			b=$((b >> 1))
		done
	done
	echo $w
}

echo "$ORIG_KB" >$PARAM
vol_create
[ "$(bitmap_weight)" = 0 ] || fail "fresh nosync volume has dirty bits"
check fio --name=two --filename=$L/sbvol --rw=write --bs=512k --iodepth=1 \
	--ioengine=libaio --direct=1 --size=1M --output-format=terse >/tmp/fio.out
w=$(bitmap_weight)
info "on-disk bitmap after writing regions 0-1: $w bits (2 + $K expected)"
[ "$w" = $((2 + K)) ] || fail "bitmap holds $w bits after 2 regions, expected $((2 + K))"
i=0
while [ "$(bitmap_weight)" != 0 ]; do
	i=$((i + 1))
	[ $i -le 40 ] || fail "cleaner left $(bitmap_weight) bits after 20 s"
	sleep 0.5
done
info "cleaner cleared the look-ahead regions after ~$((i / 2)) s"
vol_remove

# Group commit: slow bitmap writes let deferred writes pile up.
check dmsetup load sbm0 --table "0 $META delay /dev/ram0 0 0 /dev/ram0 0 50"
check dmsetup suspend sbm0
check dmsetup resume sbm0
echo 0 >$PARAM
vol_create
before=$(meta_writes)
fio --name=gc --filename=$L/sbvol --rw=randwrite --bs=4k --iodepth=16 \
	--ioengine=libaio --direct=1 --size=$((LEN * 512)) --io_size=4M \
	--output-format=terse >/tmp/fio.out 2>&1 || { cat /tmp/fio.out; fail "fio gc failed"; }
gcw=$(($(meta_writes) - before))
w=$(bitmap_weight)
vol_remove
echo "$ORIG_KB" >$PARAM
assert_legs_identical $META $LEN $L/sbleg0 $L/sbleg1 $L/sbleg2
info "group commit, 50 ms bitmap writes, 4 KiB QD16 random: $gcw bitmap writes, $w of $N regions dirty"
[ "$w" -ge $((N / 2)) ] || fail "only $w regions dirtied: the check below would be vacuous"
[ "$gcw" -lt $((N / 2)) ] ||
	fail "group commit: $gcw bitmap writes for $w regions, expected < $((N / 2))"

info "sequential writes: $on bitmap writes with look-ahead, $off without, for $N regions"
