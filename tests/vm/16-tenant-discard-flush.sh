#!/bin/bash
# Flush and FUA reach the leg; discards pass only with allow_discards.
# vm-timeout: 180
# vm-disks: 1x64M
. "$DMT_LIB"
. "$DMT_ROOT/tests/vm/tenant-lib.sh"

tenant_setup
need_module loop
tenant_key_new acme d 64
tenant_key_new acme nd 64

# Discards: allowed on one volume, refused on another.  brd has no discard
# in 6.1; a loop device on tmpfs has (hole punching).
truncate -s 16M /tmp/leg.img
loopdev=$(losetup -f --show /tmp/leg.img) || fail "losetup failed"
on_exit "losetup -d $loopdev"
tenant_create vd "$(tenant_table acme d "$loopdev" 0 8192 allow_discards)"
tenant_create vnd "$(tenant_table acme nd "$loopdev" 8192 8192)"
dmname=$(dmsetup info -c --noheadings -o blkdevname vd)
[ "$(cat "/sys/block/$dmname/queue/discard_max_bytes")" -gt 0 ] ||
	fail "allow_discards does not advertise discard"
check blkdiscard "$(dm_dev_path vd)"
expect_fail blkdiscard "$(dm_dev_path vnd)"
set -- $(dmsetup status vd)
[ "${13}" -ge 1 ] || fail "discard counter did not move: $*"
info "discard passes with allow_discards only"

# Flush and FUA on a leg with a volatile write cache.
leg=/dev/vda
[ -b $leg ] || skip "no virtio disk"
[ "$(cat /sys/block/vda/queue/write_cache)" = "write back" ] ||
	skip "virtio disk has no write cache"
tenant_key_new acme f 64
tenant_create vf "$(tenant_table acme f $leg 0 65536)"
flushes() { awk '{ print $16 }' /sys/block/vda/stat; }
before=$(flushes)
check dd if=/dev/zero of="$(dm_dev_path vf)" bs=4k count=16 conv=fsync status=none
after=$(flushes)
[ "$after" -gt "$before" ] || fail "fsync on the volume sent no flush to the leg"
before=$after
check fio --name=fua --filename="$(dm_dev_path vf)" --rw=write --bs=4k --size=64k \
	--direct=1 --sync=1 --output-format=terse >/dev/null
after=$(flushes)
[ "$after" -gt "$before" ] || fail "O_SYNC writes on the volume did not reach stable storage"
info "flush and FUA reach the leg (flushes $before -> $after)"
