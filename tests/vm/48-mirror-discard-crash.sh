#!/bin/bash
# Discards are in the write-intent bitmap like writes: a discard that
# reached one leg but not the other when power was cut is resynced at the
# next assembly, so the legs end byte-identical.
# Two legs on virtio disks (discard=unmap: a discarded range reads back as
# zeros).  Boot 1: data is written, the bitmap goes clean, then leg 1 is
# put behind dm-flakey drop_writes (it loses everything from now on, as a
# disk loses its volatile cache at a power cut), 4 MiB are discarded, and
# power is cut.  Leg 0 then holds zeros there, leg 1 the old data.
# Boot 2: the volume is assembled on the bare disks; the discarded regions
# must be dirty in leg 0's bitmap, resynced, and the legs identical.
# vm-boots: 2
# vm-disks: 2x64M,1x64M
# vm-timeout: 900
. "$DMT_LIB"
. "$DMT_ROOT/tests/vm/tenant-lib.sh"

tenant_setup
require_cmd blkdiscard
META=2048
LEN=65536			# 32 MiB: 64 regions of 512 KiB
LEGSZ=$((META + LEN))
DISCARD_MB=4			# 8 regions from the volume's start
AUX=/dev/vdc
mkdir -p /aux
TENANT_KEYDIR=/aux/keys

TABLE() {	# TABLE LEG1
	echo "0 $LEN tenant acme dc aes-xts-plain64 :64:logon:dm-tenant:acme:dc 0 2 local /dev/vda $META local $1 $META 3 metadata:$META nosync allow_discards"
}
# range_sum DEV: sha256 of the discarded range of a leg's data area
range_sum() {
	dd if="$1" bs=1M skip=$((META * 512)) count=$((DISCARD_MB << 20)) \
		iflag=direct,skip_bytes,count_bytes 2>/dev/null |
		sha256sum | cut -d' ' -f1
}
ZEROS=$(head -c $((DISCARD_MB << 20)) /dev/zero | sha256sum | cut -d' ' -f1)

if [ "$DMT_BOOT" = 1 ]; then
	need_module dm-flakey
	check mkfs.ext4 -q "$AUX"
	check mount -t ext4 "$AUX" /aux
	mkdir -p "$TENANT_KEYDIR"
	tenant_key_new acme dc 64
	sync -f /aux/keys
	check dmsetup create dl1 --table "0 $LEGSZ linear /dev/vdb 0"
	check dmsetup create dc --table "$(TABLE /dev/mapper/dl1)"
	dev=$(dm_dev_path dc)
	dd if=/dev/urandom of="$dev" bs=1M count=16 oflag=direct status=none ||
		fail "write to the volume failed"
	# Wait for the cleaner: leg 0's on-disk bitmap (block 1 of the
	# metadata area) all clear, so only the discard can dirty it.
	for ((i = 0; i < 120; i++)); do
		[ "$(dd if=/dev/vda bs=4096 skip=1 count=1 iflag=direct 2>/dev/null |
			tr -d '\0' | wc -c)" = 0 ] && break
		sleep 0.5
	done
	[ "$i" -lt 120 ] || fail "the bitmap never went clean"
	[ "$(range_sum /dev/vda)" = "$(range_sum /dev/vdb)" ] ||
		fail "legs differ before the discard"
	check dmsetup suspend dl1
	check dmsetup load dl1 --table "0 $LEGSZ flakey /dev/vdb 0 0 1 1 drop_writes"
	check dmsetup resume dl1
	check blkdiscard -o 0 -l $((DISCARD_MB << 20)) "$dev"
	# The test sees a lost discard only if the legs now differ.
	[ "$(range_sum /dev/vda)" = "$ZEROS" ] ||
		fail "leg 0 (virtio, discard=unmap) does not read zeros after a discard"
	[ "$(range_sum /dev/vdb)" != "$ZEROS" ] ||
		fail "leg 1 took the discard despite drop_writes"
	info "discarded ${DISCARD_MB} MiB: leg 0 zeros, leg 1 lost it; power is cut"
	echo b > /proc/sysrq-trigger
	sleep 60
	fail "power cut did not happen"
fi

check mount -t ext4 "$AUX" /aux
on_exit "umount /aux"
tenant_key_load acme dc "$(tenant_keyfile acme dc)"
tenant_create dc "$(TABLE /dev/vdb)"
info "after the crash: $(dmsetup status dc)"
mirror_wait_idle dc 300
[ "$(mirror_leg_states dc)" = AA ] || fail "legs: $(dmsetup status dc)"
assert_legs_identical $META $LEN /dev/vda /dev/vdb
[ "$(range_sum /dev/vdb)" = "$ZEROS" ] || fail "leg 1 does not hold the discard"
info "the discarded regions were resynced: legs byte-identical"
