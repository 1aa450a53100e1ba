#!/bin/bash
# Data written through a tenant volume reads back; the leg holds only
# ciphertext; status and table tell the truth; the table reloads as printed.
# vm-timeout: 240
. "$DMT_LIB"
. "$DMT_ROOT/tests/vm/tenant-lib.sh"

tenant_setup
brd_setup 1 64
tenant_key_new acme vol1 64

table=$(tenant_table acme vol1 /dev/ram0 2048 65536)
tenant_create acme-vol1 "$table"
dev=$(dm_dev_path acme-vol1)

head -c 16777216 /dev/urandom >/tmp/plain
check dd if=/tmp/plain of="$dev" bs=1M oflag=direct status=none
check dd if="$dev" of=/tmp/back bs=1M iflag=direct count=16 status=none
check cmp /tmp/plain /tmp/back
info "16 MiB round trip through the tenant device"

# The leg must not hold the plaintext: compare the first MiB.
dd if=/dev/ram0 of=/tmp/leg bs=512 skip=2048 count=2048 status=none
head -c 1048576 /tmp/plain >/tmp/plain1m
cmp -s /tmp/leg /tmp/plain1m && fail "leg holds plaintext"
# Nor anything under the data offset.
dd if=/dev/ram0 bs=512 count=2048 status=none | tr -d '\0' | head -c 1 | grep -q . &&
	fail "sectors before the leg offset were written"

# Unaligned-offset reads and writes through the page cache work too.
printf 'hello tenant' | dd of="$dev" bs=1 seek=12345 conv=notrunc status=none
sync
echo 3 >/proc/sys/vm/drop_caches
got=$(dd if="$dev" bs=1 skip=12345 count=12 status=none)
[ "$got" = "hello tenant" ] || fail "buffered write/read mismatch: '$got'"
printf 'hello tenant' | dd of=/tmp/plain bs=1 seek=12345 conv=notrunc status=none
head -c 1048576 /tmp/plain >/tmp/plain1m

status=$(dmsetup status acme-vol1)
info "status: $status"
set -- $status
[ "$3" = tenant ] || fail "status target is $3"
[ "$4 $5 $6 $7 $8" = "acme vol1 loaded 1 local" ] || fail "status fields: $status"
[ "${10}" = A ] || fail "leg state ${10}"
reads=${11} writes=${12}
[ "$reads" -gt 0 ] && [ "$writes" -gt 0 ] || fail "I/O counters did not move"
[ "${14} ${15} ${16}" = "0 0 0" ] || fail "error counters not zero: $status"

live=$(dmsetup table acme-vol1)
info "table: $live"
case $live in
*":64:logon:dm-tenant:acme:vol1 0 1 local "*) ;;
*) fail "table does not show the key reference: $live" ;;
esac
showkeys=$(dmsetup table --showkeys acme-vol1)
[ "$live" = "$showkeys" ] || fail "--showkeys shows something else"
assert_no_key_leak acme vol1 "$status" "$live" "$showkeys"

# The printed table reloads, and the reloaded device serves the same data.
check dmsetup reload acme-vol1 --table "$live"
check dmsetup resume acme-vol1
[ "$(dmsetup table acme-vol1)" = "$live" ] || fail "reloaded table differs"
check dd if="$dev" of=/tmp/back bs=1M iflag=direct count=16 status=none
check cmp /tmp/plain /tmp/back
info "printed table reloads"

# Removing the key from the keyring does not disturb a live device.
tenant_key_unlink acme vol1
check dd if="$dev" of=/tmp/back bs=1M iflag=direct count=1 status=none
cmp -s /tmp/back /tmp/plain1m || fail "data changed after key unlink"
info "device keeps working after the keyring copy is unlinked"
