#!/bin/bash
# Discards reach an asynchronous remote leg in stream order (remote).
# A local leg and a remote leg (class remote: asynchronous),
# loop devices on tmpfs (brd has no discard in 6.1; a loop device punches
# holes), allow_discards.  A discarded range reads zeros on a leg that got
# the discard:
#  - after a discard the remote's range reads zeros too and the legs are
#    byte-identical (without it the remote keeps the old ciphertext);
#  - a write into the discarded range right after the discard lands after
#    it on the remote (overlap ordering);
#  - a discard across many regions and a flush in between keep the legs
#    identical; the discard counter counts.
# vm-timeout: 600
. "$DMT_LIB"
. "$DMT_ROOT/tests/vm/tenant-lib.sh"
. "$DMT_ROOT/tests/vm/remote-lib.sh"

tenant_setup
need_module loop
for l in p r; do
	truncate -s 40M /tmp/dz-$l.img
	eval "L$l=\$(losetup -f --show /tmp/dz-$l.img)" || fail "losetup failed"
done
on_exit "losetup -d $Lp; losetup -d $Lr; rm -f /tmp/dz-p.img /tmp/dz-r.img"
META=2048
LEN=65536			# 32 MiB: 64 regions of 512 KiB
tenant_key_new acme dz 64
REF=:64:logon:dm-tenant:acme:dz
TABLE="0 $LEN tenant acme dz aes-xts-plain64 $REF 0 2 local $Lp $META remote $Lr $META 3 allow_discards metadata:$META nosync"
tenant_create dz "$TABLE"
dev=$(dm_dev_path dz)

check dd if=/dev/urandom of="$dev" bs=1M count=32 oflag=direct status=none
remote_wait dz 1 streaming 60
assert_legs_identical $META $LEN $Lp $Lr

# zeros LEG OFFSET_MIB MIB: the leg's data area reads zeros there
zeros() {
	local z
	z=$(dd if="$1" bs=1M skip=$(($2 * 1048576 + META * 512)) count=$(($3 * 1048576)) \
		iflag=direct,skip_bytes,count_bytes status=none | tr -d '\0' | wc -c)
	[ "$z" -eq 0 ] || fail "$1 does not read zeros at $2 MiB (+$3 MiB)"
}

info "discard 4..12 MiB"
check blkdiscard -o $((4 << 20)) -l $((8 << 20)) "$dev"
zeros $Lp 4 8
remote_wait dz 1 streaming 60
zeros $Lr 4 8
assert_legs_identical $META $LEN $Lp $Lr

info "discard 16..24 MiB, then at once a write into it"
check dd if=/dev/urandom of=/tmp/dz bs=1M count=1 status=none
on_exit "rm -f /tmp/dz"
check blkdiscard -o $((16 << 20)) -l $((8 << 20)) "$dev"
check dd if=/tmp/dz of="$dev" bs=1M seek=18 oflag=direct status=none
remote_wait dz 1 streaming 60
assert_legs_identical $META $LEN $Lp $Lr
check dd if="$dev" of=/tmp/dz.back bs=1M skip=18 count=1 iflag=direct status=none
on_exit "rm -f /tmp/dz.back"
cmp -s /tmp/dz /tmp/dz.back || fail "the write after the discard is lost"

info "discards and writes interleaved with flushes"
for i in 0 1 2 3 4 5 6 7; do
	check blkdiscard -o $((i * (4 << 20))) -l $((2 << 20)) "$dev"
	check dd if=/dev/urandom of="$dev" bs=512K seek=$((i * 8 + 1)) count=1 \
		oflag=direct conv=fsync status=none
done
remote_wait dz 1 streaming 60
assert_legs_identical $META $LEN $Lp $Lr
set -- $(dmsetup status dz)
[ "${16}" -gt 0 ] || fail "discard counter: $(dmsetup status dz)"
info "status: $(dmsetup status dz)"
