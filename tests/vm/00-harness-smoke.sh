#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# Harness smoke test: the VM boots, the crypto and device-mapper modules
# load, and a dm-crypt device keyed from a logon key in the kernel keyring
# round-trips data on a ram disk.  Needs nothing from dm-tenant itself.
# vm-timeout: 180
set -eu
# shellcheck source=tests/vm/lib.sh
. "$DMT_LIB"

for m in dm-mod dm-crypt xts aesni-intel; do
	need_module "$m"
done
brd_setup 1 64
for m in dm_mod dm_crypt brd xts aesni_intel; do
	[ -d "/sys/module/$m" ] || fail "module $m is not loaded"
done
info "modules loaded: $(lsmod | awk 'NR > 1 { print $1 }' | sort | tr '\n' ' ')"
grep -q 'xts-aes-aesni' /proc/crypto || fail "xts(aes) has no aesni driver"
[ "$DM_DISABLE_UDEV" = 1 ] || fail "DM_DISABLE_UDEV is not set"

keyf=$(key_file smoke 64)
serial=$(key_add_logon test:smoke "$keyf")
on_exit "key_unlink $serial"
info "logon key test:smoke is key $serial"

sectors=$(blockdev --getsz /dev/ram0)
check dmsetup create dmt-smoke --table \
	"0 $sectors crypt aes-xts-plain64 :64:logon:test:smoke 0 /dev/ram0 0"
on_exit "dm_remove dmt-smoke"
# No udev here: libdevmapper must have made the node itself.
[ -b /dev/mapper/dmt-smoke ] || fail "/dev/mapper/dmt-smoke not created (udev fallback broken)"
dev=$(dm_dev_path dmt-smoke)
dmsetup table dmt-smoke | grep -q ':64:logon:test:smoke' ||
	fail "table does not reference the keyring key"

head -c 16777216 /dev/urandom > /tmp/pattern
check dd if=/tmp/pattern of="$dev" bs=1M oflag=direct conv=fsync status=none
check dd if="$dev" of=/tmp/readback bs=1M count=16 iflag=direct status=none
check cmp /tmp/pattern /tmp/readback
info "16 MiB written and read back through $dev"
if dd if=/dev/ram0 bs=1M count=16 status=none | cmp -s - /tmp/pattern; then
	fail "/dev/ram0 holds the plaintext"
fi

check dmsetup remove dmt-smoke
[ ! -e /dev/mapper/dmt-smoke ] || fail "/dev/mapper/dmt-smoke left behind"
key_unlink "$serial"
if keyctl search @u logon test:smoke > /dev/null 2>&1; then
	fail "key test:smoke still in @u"
fi
info "device and key removed"

# Informative only: crypto speed under emulation.
cryptsetup benchmark -c aes-xts-plain64 -s 512 2>&1 | tail -n 1 || true
