#!/bin/bash
# Crash consistency: power is cut (sysrq b, no sync) while fio writes to a
# volume with four legs on virtio disks; the next boot reassembles it on
# the same disk images.  Only the regions that were being written are
# resynced (far fewer than the volume has), fio's verify state from before
# the crash verifies, and the legs end byte-identical.
# vm-boots: 2
# vm-disks: 4x260M,1x64M
# vm-timeout: 1200
. "$DMT_LIB"
. "$DMT_ROOT/tests/vm/tenant-lib.sh"

tenant_setup
require_cmd fio
META=2048
LEN=524288			# 256 MiB: 512 regions of 512 KiB
AUX=/dev/vde
mkdir -p /aux
TENANT_KEYDIR=/aux/keys

TABLE() {
	echo "0 $LEN tenant acme c1 aes-xts-plain64 :64:logon:dm-tenant:acme:c1 0 4 local /dev/vda $META local /dev/vdb $META local /dev/vdc $META zone /dev/vdd $META 2 metadata:$META $1"
}
FIO=(--name=crash --filename=/dev/mapper/c1 --direct=1 --ioengine=libaio
     --rw=randwrite --bs=4k --size=32M --iodepth=8 --verify=crc32c
     --aux-path=/aux)

if [ "$DMT_BOOT" = 1 ]; then
	check mkfs.ext4 -q "$AUX"
	check mount -t ext4 "$AUX" /aux
	mkdir -p "$TENANT_KEYDIR"
	tenant_key_new acme c1 64
	# Fresh sparse disks are identical: no initial sync needed.
	check dmsetup create c1 --table "$(TABLE nosync)"
	[ "$(mirror_status_field c1 insync)" = 512/512 ] ||
		fail "new volume not in sync: $(dmsetup status c1)"
	sync -f /aux/keys
	info "writing; power is cut in 15 s"
	# do_verify=0: no read-back phases, so the crash lands during writes
	# (a read-back phase of 3-6 s lets the cleaner clear every region).
	fio "${FIO[@]}" --time_based --runtime=300 --verify_state_save=1 \
		--do_verify=0 \
		--trigger-timeout=15 \
		--trigger="sync -f /aux/keys; echo b > /proc/sysrq-trigger" \
		--output-format=terse >/dev/null 2>&1
	fail "power cut did not happen"
fi

check mount -t ext4 "$AUX" /aux
on_exit "umount /aux"
ls /aux/*verify.state >/dev/null 2>&1 || fail "fio left no verify state"
tenant_key_load acme c1 "$(tenant_keyfile acme c1)"
tenant_create c1 "$(TABLE nosync)"
# The resync starts at once: its total was fixed at assembly.
progress=$(mirror_status_field c1 progress)
dirty=${progress#*/}
info "after the crash: $dirty of 512 regions to resync ($(dmsetup status c1))"
[ "$dirty" -gt 0 ] || fail "no region marked dirty after a crash during writes"
# fio wrote only the first 32 MiB (64 regions): nothing else may be dirty
# but the sequential look-ahead (seq_lookahead_kb) past region 63.
la=$(($(cat /sys/module/dm_tenant/parameters/seq_lookahead_kb) * 2 / 1024))
[ "$dirty" -le $((64 + la)) ] ||
	fail "$dirty regions to resync, at most 64 (+ $la look-ahead) were written"
dmesg | grep -q "acme/c1: $dirty of 512 regions to resync" || fail "resync not logged"
mirror_wait_idle c1 600
[ "$(mirror_leg_states c1)" = AAAA ] || fail "legs: $(dmsetup status c1)"
assert_legs_identical $META $LEN /dev/vda /dev/vdb /dev/vdc /dev/vdd
info "resync done, legs byte-identical"

cd /aux
fio "${FIO[@]}" --verify_state_load=1 --verify_only=1 --verify_fatal=1 \
	--output-format=terse >/tmp/fio.out 2>&1 || { cat /tmp/fio.out; fail "fio verify after the crash failed"; }
vkb=$(cut -d';' -f6 /tmp/fio.out | head -1)
[ "${vkb:-0}" -gt 0 ] || { cat /tmp/fio.out; fail "fio verified nothing"; }
info "fio verified every write it completed before the crash ($vkb KiB read back)"
