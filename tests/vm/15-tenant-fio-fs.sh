#!/bin/bash
# fio with crc32c verification (and a verify backlog) and ext4 with fsck on
# the tenant device, with 512 and 4096-byte cipher sectors.
# vm-long: yes
# vm-timeout: 600
. "$DMT_LIB"
. "$DMT_ROOT/tests/vm/tenant-lib.sh"

tenant_setup
require_cmd fio
require_cmd mkfs.ext4
require_cmd e2fsck
brd_setup 2 160

run_fio() {	# run_fio DEV NAME ARGS...
	local dev=$1 name=$2
	shift 2
	fio --name="$name" --filename="$dev" --direct=1 --ioengine=libaio \
		--verify=crc32c --verify_fatal=1 --do_verify=1 --output-format=terse \
		--minimal "$@" >/tmp/fio.out 2>&1 || {
		cat /tmp/fio.out
		fail "fio $name failed verification"
	}
}

for ss in 512 4096; do
	case $ss in
	512) leg=/dev/ram0 opts="" v=v512 ;;
	4096) leg=/dev/ram1 opts="sector_size:4096" v=v4096 ;;
	esac
	tenant_key_new acme $v 64
	# shellcheck disable=SC2086
	tenant_create $v "$(tenant_table acme $v $leg 0 327680 $opts)"
	dev=$(dm_dev_path $v)
	[ "$(blockdev --getss "$dev")" = "$ss" ] || fail "logical block size is not $ss"

	run_fio "$dev" rw4k --rw=randwrite --bs=4k --size=48M --iodepth=16 \
		--verify_backlog=512
	run_fio "$dev" seq1m --rw=write --bs=1M --size=64M --iodepth=4
	run_fio "$dev" mixed --rw=randrw --bsrange=4k-256k --size=64M --iodepth=8 \
		--verify_backlog=64
	info "fio crc32c verify passed ($ss-byte sectors)"

	check mkfs.ext4 -q -F "$dev"
	check e2fsck -fn "$dev"
	mkdir -p /mnt/$v
	check mount -t ext4 "$dev" /mnt/$v
	on_exit "umount /mnt/$v 2>/dev/null || true"
	head -c 8388608 /dev/urandom >/tmp/f
	cp /tmp/f /mnt/$v/f
	mkdir /mnt/$v/d && i=0 && while [ $i -lt 200 ]; do echo $i >/mnt/$v/d/$i; i=$((i + 1)); done
	sync
	check umount /mnt/$v
	check e2fsck -fn "$dev"
	check mount -t ext4 "$dev" /mnt/$v
	cmp -s /tmp/f /mnt/$v/f || fail "file changed across remount"
	[ "$(cat /mnt/$v/d/199)" = 199 ] || fail "small file lost"
	check umount /mnt/$v
	info "ext4 + e2fsck clean ($ss-byte sectors)"
done
