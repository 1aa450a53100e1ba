#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# Harness multi-boot test: boot 1 writes a pattern with O_DIRECT and syncs,
# writes a second one without sync, then "loses power" (sysrq b).  Boot 2,
# on the same disk image, finds the synced pattern intact.
# vm-boots: 2
# vm-disks: 1x64M
# vm-timeout: 120
set -eu
# shellcheck source=tests/vm/lib.sh
. "$DMT_LIB"

disk=/dev/vda
[ -b "$disk" ] || fail "no $disk (DMT_DISKS='$DMT_DISKS')"

pattern() {	# pattern NAME: 1 MiB, the same in every boot
	awk -v n="$1" 'BEGIN { for (i = 1; i <= 40000; i++)
		printf "%s-%011d-dm-tenant-harness\n", n, i }' | head -c 1048576
}
pattern synced > /tmp/synced
pattern unsynced > /tmp/unsynced
[ "$(stat -c %s /tmp/synced)" = 1048576 ] || fail "pattern generator broken"

case "$DMT_BOOT" in
1)
	check dd if=/tmp/synced of="$disk" bs=1M seek=1 oflag=direct conv=fsync status=none
	sync
	# Keep the disk open: the last close of a block device writes its
	# dirty pages back, which would make this write synced after all.
	exec 3< "$disk"
	dd if=/tmp/unsynced of="$disk" bs=1M seek=8 status=none
	info "boot 1: synced pattern at 1 MiB, unsynced one at 8 MiB; power loss now"
	kmsg_mark "reboot test: sysrq b"
	echo b > /proc/sysrq-trigger
	sleep 30
	fail "still running after sysrq b"
	;;
2)
	check dd if="$disk" of=/tmp/back bs=1M skip=1 count=1 iflag=direct status=none
	cmp -s /tmp/synced /tmp/back || fail "synced pattern lost across the reboot"
	info "boot 2: synced pattern survived"
	dd if="$disk" of=/tmp/back2 bs=1M skip=8 count=1 iflag=direct status=none
	if cmp -s /tmp/unsynced /tmp/back2; then
		info "boot 2: unsynced pattern survived too (allowed)"
	else
		info "boot 2: unsynced pattern lost (page cache dropped at power loss)"
	fi
	;;
*) fail "unexpected DMT_BOOT=$DMT_BOOT" ;;
esac
