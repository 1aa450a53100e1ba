#!/bin/bash
# Crash of the primary while streaming to a remote leg (remote).
# Boot 1: an ext4 filesystem on a volume with a local leg (/dev/vda) and a
# remote leg (/dev/vdb exported by nvmet over TCP, 20 ms round trip) takes
# fsync-heavy writes; power is cut (sysrq b) while the stream is behind.
# Boot 2: the remote leg alone, opened with stock dm-crypt, holds a
# filesystem that e2fsck finds clean after its journal replay (the remote
# is consistent as of some flush).  Then the volume is reassembled: the
# remote leg catches up on the regions dirty at the crash and ends
# byte-identical to the local leg.
# vm-boots: 2
# vm-disks: 2x140M,1x64M
# vm-long: yes
# vm-timeout: 1200
. "$DMT_LIB"
. "$DMT_ROOT/tests/vm/tenant-lib.sh"
. "$DMT_ROOT/tests/vm/remote-lib.sh"

tenant_setup
require_cmd fio
require_cmd tc
META=2048
LEN=262144			# 128 MiB: 256 regions of 512 KiB
AUX=/dev/vdc
NQN=nqn.2026-11.io.dm-tenant:remote82
PORT=4420
REF=:64:logon:dm-tenant:acme:c2
mkdir -p /aux /mnt/c2
TENANT_KEYDIR=/aux/keys

remote_up() {
	nvmet_export $NQN /dev/vdb $PORT
	netem_setup $PORT
	netem_set delay 10ms
	nvme_attach $NQN $PORT
	# A budget above what boot 1 writes: the leg streams at the crash.
	TABLE="0 $LEN tenant acme c2 aes-xts-plain64 $REF 0 2 local /dev/vda $META remote $NVME_DEV $META 3 metadata:$META nosync remote_budget:268435456"
}

if [ "$DMT_BOOT" = 1 ]; then
	check mkfs.ext4 -q "$AUX"
	check mount -t ext4 "$AUX" /aux
	mkdir -p "$TENANT_KEYDIR"
	tenant_key_new acme c2 64
	sync -f /aux/keys
	remote_up
	check dmsetup create c2 --table "$TABLE"
	dev=$(dm_dev_path c2)
	check mkfs.ext4 -q -E lazy_itable_init=0,lazy_journal_init=0 "$dev"
	check mount -t ext4 "$dev" /mnt/c2
	info "volume: $(dmsetup status c2)"
	# fsync-heavy file writes, plus directories created and removed.
	fio --name=fs --directory=/mnt/c2 --rw=randwrite --bs=4k --size=4M \
		--nrfiles=8 --numjobs=4 --fsync=4 --ioengine=psync \
		--time_based --runtime=300 >/dev/null 2>&1 &
	(
		n=0
		while :; do
			mkdir -p /mnt/c2/d$n && cp -r /etc /mnt/c2/d$n/ 2>/dev/null
			[ $n -lt 3 ] || rm -rf /mnt/c2/d$((n - 3))
			sync -f /mnt/c2 2>/dev/null
			n=$((n + 1))
		done
	) &
	sleep 20
	s=$(dmsetup status c2)
	echo "$s" >/aux/status
	sync -f /aux/status
	info "before the crash: $s"
	[ "$(remote_field c2 1 mode)" = streaming ] || fail "not streaming before the crash: $s"
	echo b >/proc/sysrq-trigger
	sleep 10
	fail "power cut did not happen"
fi

check mount -t ext4 "$AUX" /aux
on_exit "umount /aux"
info "status before the crash: $(cat /aux/status)"
tenant_key_load acme c2 "$(tenant_keyfile acme c2)"

# The remote leg alone, with stock dm-crypt: a clean filesystem.
check dmsetup create rescue --table "0 $LEN crypt aes-xts-plain64 $REF 0 /dev/vdb $META"
on_exit "dmsetup remove --retry rescue 2>/dev/null || true"
rdev=$(dm_dev_path rescue)
e2fsck -E journal_only -y "$rdev" >/tmp/e2j.out 2>&1
rc=$?
[ $rc -le 1 ] || { cat /tmp/e2j.out; fail "journal replay on the remote copy failed (rc $rc)"; }
e2fsck -fn "$rdev" >/tmp/e2.out 2>&1 || { cat /tmp/e2.out; fail "the remote copy alone is not a clean filesystem"; }
info "remote leg alone: journal replayed, e2fsck -fn clean"
check dmsetup remove rescue

# Reassembled: the remote catches up on what was in flight at the crash.
remote_up
tenant_create c2 "$TABLE"
info "reassembled: $(dmsetup status c2)"
dmesg | grep -q "acme/c2: remote leg 1 behind" || fail "remote leg not caught up after the crash"
remote_wait c2 1 streaming 300
[ "$(remote_field c2 1 consistent)" = yes ] || fail "not consistent after catch-up"
check mount -t ext4 "$(dm_dev_path c2)" /mnt/c2
check umount /mnt/c2
# Suspend drains and flushes the stream before the disks are compared.
check dmsetup suspend c2
assert_legs_identical $META $LEN /dev/vda /dev/vdb
check dmsetup resume c2
e2fsck -fn "$(dm_dev_path c2)" >/tmp/e2.out 2>&1 || { cat /tmp/e2.out; fail "volume not clean after the crash"; }
info "remote leg caught up, byte-identical; volume clean: $(dmsetup status c2)"
