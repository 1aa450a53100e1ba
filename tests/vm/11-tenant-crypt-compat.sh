#!/bin/bash
# The tenant target writes exactly what stock dm-crypt writes with the same
# key, IV mode, sector size and iv_offset, and each reads the other's data:
# 512 and 4096-byte sectors, 256 and 512-bit keys, IVs crossing 2^32.
# vm-timeout: 400
. "$DMT_LIB"
. "$DMT_ROOT/tests/vm/tenant-lib.sh"

tenant_setup
need_module dm-crypt
brd_setup 1 16
SECTORS=16384			# 8 MiB
BYTES=$((SECTORS * 512))
on_exit 'dmsetup remove cmp-t 2>/dev/null; dmsetup remove cmp-c 2>/dev/null; true'

# compat_case SECTOR_SIZE IV_OFFSET KEY_BYTES
compat_case() {
	local ss=$1 ivoff=$2 kb=$3 topts="" copts="" ref
	tenant_key_new t1 v1 "$kb"
	ref=":$kb:logon:dm-tenant:t1:v1"
	if [ "$ss" = 4096 ]; then
		topts=" 1 sector_size:4096"
		copts=" 2 sector_size:4096 iv_large_sectors"
	fi
	local ttab="0 $SECTORS tenant t1 v1 aes-xts-plain64 $ref $ivoff 1 local /dev/ram0 0$topts"
	local ctab="0 $SECTORS crypt aes-xts-plain64 $ref $ivoff /dev/ram0 0$copts"

	head -c $BYTES /dev/urandom >/tmp/p1
	head -c $BYTES /dev/urandom >/tmp/p2

	# 1. same plaintext through each target: identical ciphertext.
	check dmsetup create cmp-t --table "$ttab"
	check dd if=/tmp/p1 of="$(dm_dev_path cmp-t)" bs=1M oflag=direct status=none
	check dmsetup remove cmp-t
	dd if=/dev/ram0 of=/tmp/c-tenant bs=1M count=8 status=none
	cmp -s /tmp/c-tenant /tmp/p1 && fail "leg holds plaintext"

	check dmsetup create cmp-c --table "$ctab"
	# 2. dm-crypt reads what tenant wrote.
	check dd if="$(dm_dev_path cmp-c)" of=/tmp/r bs=1M iflag=direct status=none
	cmp -s /tmp/r /tmp/p1 || fail "dm-crypt cannot read tenant data ($ss/$ivoff/$kb)"
	check dd if=/tmp/p1 of="$(dm_dev_path cmp-c)" bs=1M oflag=direct status=none
	dd if=/dev/ram0 of=/tmp/c-crypt bs=1M count=8 status=none
	cmp -s /tmp/c-tenant /tmp/c-crypt ||
		fail "ciphertext differs from dm-crypt ($ss/$ivoff/$kb)"

	# 3. tenant reads what dm-crypt wrote.
	check dd if=/tmp/p2 of="$(dm_dev_path cmp-c)" bs=1M oflag=direct status=none
	check dmsetup remove cmp-c
	check dmsetup create cmp-t --table "$ttab"
	check dd if="$(dm_dev_path cmp-t)" of=/tmp/r bs=1M iflag=direct status=none
	cmp -s /tmp/r /tmp/p2 || fail "tenant cannot read dm-crypt data ($ss/$ivoff/$kb)"
	check dmsetup remove cmp-t
	tenant_key_unlink t1 v1
	info "byte-identical to dm-crypt: sector $ss, iv_offset $ivoff, ${kb}-byte key"
}

# With the large offsets the IV (in cipher sectors) crosses 2^32 mid-device.
compat_case 512 0 64
compat_case 512 0 32
compat_case 512 $((4294967296 - 1024 * 8)) 64
compat_case 4096 0 64
compat_case 4096 $(((4294967296 - 1024) * 8)) 64
compat_case 4096 $(((4294967296 - 1024) * 8)) 32
