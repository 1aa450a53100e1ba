#!/bin/bash
# Replication: the shape of the I/O the legs see, and the write paths that
# only performance chooses between.
#   1. Large writes reach the legs whole, cut only at region boundaries:
#      1 MiB writes give 512 KiB leg writes (512 KiB regions), not the
#      255-sector pieces dm core would make with ti->max_io_len on legs
#      that set no max_sectors (brd), which split every page in two.
#      Counted on dm-linear legs over brd (/sys/block/dm-N/stat counts
#      bios).  1 MiB writes that straddle two regions verify.
#   2. Which path small writes take, counted with the workqueue tracepoint
#      (tenant_encrypt_work items): on legs that complete inside submit_bio
#      (brd), QD1 writes stay inline but for the periodic probe, and a
#      QD16 writer, found by a probe, goes to the workqueue.  On legs that
#      complete asynchronously (null_blk, timer) the same; all verify, and
#      the legs end identical.
#   3. Bounce pages are reused through a per-CPU stash that a shrinker
#      empties: writes verify while drop_caches runs the shrinker over and
#      over, and the module unloads cleanly afterwards.
# vm-timeout: 600
# vm-mem: 1024
. "$DMT_LIB"
. "$DMT_ROOT/tests/vm/tenant-lib.sh"

tenant_setup
require_cmd fio
need_module null_blk
brd_setup 3 80
META=2048
LEN=131072			# 64 MiB: 128 regions of 512 KiB
LEGSZ=$((META + LEN))
L=/dev/mapper
tenant_key_new acme io 64
REF=:64:logon:dm-tenant:acme:io

fio_verify() {	# fio_verify DEV NAME ARGS...
	local d=$1 n=$2
	shift 2
	fio --name="$n" --filename="$d" --direct=1 --ioengine=libaio \
		--verify=crc32c --verify_fatal=1 --do_verify=1 --output-format=terse \
		"$@" >/tmp/fio.out 2>&1 || { cat /tmp/fio.out; fail "fio $n failed"; }
}
# leg_writes DM_NAME -> "<write bios> <sectors written>" (block/stat fields 5, 7)
leg_writes() {
	local minor
	minor=$(dmsetup info -c --noheadings -o minor "$1" | tr -d ' ')
	[ -r "/sys/block/dm-$minor/stat" ] || fail "no /sys/block/dm-$minor/stat for $1"
	awk '{ print $5, $7 }' "/sys/block/dm-$minor/stat"
}

# queued_writes NAME ARGS...: fio_verify NAME ARGS... on $dev; QUEUED is set
# to how many writes went through the write workqueue (-1: no tracepoint)
TR=/sys/kernel/tracing
[ -d $TR/events ] || mount -t tracefs nodev $TR 2>/dev/null || true
queued_writes() {
	local ev=$TR/events/workqueue/workqueue_queue_work
	QUEUED=-1
	if [ ! -e "$ev/enable" ]; then
		fio_verify "$dev" "$@"
		return
	fi
	echo 8192 >$TR/buffer_size_kb
	echo >$TR/trace
	echo 1 >"$ev/enable"
	fio_verify "$dev" "$@"
	echo 0 >"$ev/enable"
	# A full buffer drops events: the count would be too low.
	if grep -q '^overrun: [1-9]' $TR/per_cpu/cpu*/stats; then
		fail "trace buffer overran while counting $1"
	fi
	QUEUED=$(grep -c 'function=tenant_encrypt_work' $TR/trace)
}
# check_paths QD1_QUEUED QD16_QUEUED WRITES WHERE
check_paths() {
	if [ "$1" -lt 0 ]; then
		info "$4: no workqueue tracepoint, write paths not counted"
		return
	fi
	info "$4: $3 QD1 writes, $1 queued; $(($3 * 2)) QD16 writes, $2 queued"
	if [ "$1" -lt 8 ] || [ "$1" -gt 24 ]; then
		fail "$4: $1 of $3 QD1 writes queued (expected 8-24: probes only)"
	fi
	# Up to 4096 go inline before the first probe, and the volume drops
	# back inline for a while when the workers keep up (about 70% were
	# queued on brd, all on null_blk); without the probe none on brd.
	[ "$2" -ge $(($3 / 2)) ] ||
		fail "$4: only $2 of $(($3 * 2)) QD16 writes queued (expected a quarter or more)"
}

# --- 1: leg writes are whole regions ------------------------------------------
for i in 0 1 2; do
	check dmsetup create b$i --table "0 $LEGSZ linear /dev/ram$i 0"
	on_exit "dmsetup remove --retry b$i"
done
info "brd max_sectors_kb: $(cat /sys/block/ram0/queue/max_sectors_kb)"
TABLE="0 $LEN tenant acme io aes-xts-plain64 $REF 0 3 local $L/b0 $META local $L/b1 $META local $L/b2 $META 2 metadata:$META nosync"
tenant_create io "$TABLE"
dev=$(dm_dev_path io)
# shellcheck disable=SC2046
set -- $(leg_writes b0)
w0=$1 s0=$2
# 48 MiB of aligned 1 MiB writes: 96 region-sized leg writes.
check dd if=/dev/urandom of=/tmp/data bs=1M count=48 status=none
check dd if=/tmp/data of="$dev" bs=1M count=48 oflag=direct status=none
# shellcheck disable=SC2046
set -- $(leg_writes b0)
nw=$(($1 - w0)) ns=$(($2 - s0))
info "48 x 1 MiB: leg 0 took $nw writes, $ns sectors"
[ $ns -ge $((48 * 2048)) ] || fail "leg 0 took only $ns sectors of 48 MiB"
# Data: 96 writes; metadata (bitmap blocks, superblock): a few more.
[ $nw -le $((96 + 24)) ] ||
	fail "leg 0 took $nw writes for 48 MiB: large writes are split below the region size"
a=$(dd if="$dev" bs=1M count=48 iflag=direct status=none | sha256sum)
b=$(sha256sum </tmp/data)
[ "$a" = "$b" ] || fail "48 MiB read back differs"
rm -f /tmp/data
# 1 MiB writes that start mid-region: every one straddles two regions.
fio_verify "$dev" straddle --rw=write --bs=1M --offset=256k --size=60M --iodepth=4
assert_legs_identical $META $LEN $L/b0 $L/b1 $L/b2
info "region-straddling 1 MiB writes verify; legs identical"

# --- 2 (on brd): which path small writes take --------------------------------------
# The writes before left a tail of queued writes (64): use it up first.
fio_verify "$dev" path-warmup --rw=randwrite --bs=4k --size=2M --iodepth=1
queued_writes path-qd1 --rw=randwrite --bs=4k --size=32M --iodepth=1
q1=$QUEUED
queued_writes path-qd16 --rw=randwrite --bs=4k --size=64M --iodepth=16 --verify_backlog=256
check_paths "$q1" "$QUEUED" 8192 "brd legs"

# --- 3 (on brd): the stash under the shrinker ----------------------------------
( for _ in $(seq 1 40); do echo 2 >/proc/sys/vm/drop_caches; sleep 0.2; done ) &
dropper=$!
on_exit "kill $dropper 2>/dev/null || true"
fio_verify "$dev" stash-seq --rw=write --bs=1M --size=64M --iodepth=4
fio_verify "$dev" stash-rand --rw=randwrite --bs=4k --size=32M --iodepth=16 --verify_backlog=256
wait $dropper
assert_legs_identical $META $LEN $L/b0 $L/b1 $L/b2
info "writes verify while the shrinker runs; legs identical"
check dmsetup remove io

# --- 2: asynchronous legs --------------------------------------------------------
[ ! -d /sys/module/null_blk ] || rmmod null_blk || fail "null_blk is busy"
check modprobe null_blk nr_devices=3 gb=1 memory_backed=1 queue_mode=2 \
	irqmode=2 completion_nsec=50000
on_exit "rmmod null_blk 2>/dev/null || true"
wait_for_file /dev/nullb2 || fail "/dev/nullb2 did not appear"
for i in 0 1 2; do
	check dmsetup create n$i --table "0 $LEGSZ linear /dev/nullb$i 0"
	on_exit "dmsetup remove --retry n$i"
done
TABLE="0 $LEN tenant acme io aes-xts-plain64 $REF 0 3 local $L/n0 $META local $L/n1 $META local $L/n2 $META 1 metadata:$META"
tenant_create io "$TABLE"
dev=$(dm_dev_path io)
mirror_wait_idle io 300
queued_writes async-qd16 --rw=randwrite --bs=4k --size=64M --iodepth=16 --verify_backlog=256
q16=$QUEUED
fio_verify "$dev" async-warmup --rw=randwrite --bs=4k --size=2M --iodepth=1
queued_writes async-qd1 --rw=randwrite --bs=4k --size=32M --iodepth=1
check_paths "$QUEUED" "$q16" 8192 "null_blk legs"
fio_verify "$dev" async-seq --rw=write --bs=1M --size=64M --iodepth=4
[ "$(mirror_leg_states io)" = AAA ] || fail "legs: $(dmsetup status io)"
assert_legs_identical $META $LEN $L/n0 $L/n1 $L/n2
info "asynchronous legs: QD16, QD1 and 1 MiB writes verify; legs identical"
check dmsetup remove io

# --- the stash is emptied on unload ---------------------------------------------
check rmmod dm_tenant
[ ! -d /sys/module/dm_tenant ] || fail "dm_tenant still loaded"
check modprobe dm_tenant
info "module unloaded and reloaded"
