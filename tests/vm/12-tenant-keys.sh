#!/bin/bash
# Keys are bound to their tenant and volume, must be logon keys of the
# right size, never appear anywhere, and follow dm-crypt's key wipe / key
# set / resume rules; a failed key set leaves the previous state intact.
# vm-timeout: 240
. "$DMT_LIB"
. "$DMT_ROOT/tests/vm/tenant-lib.sh"

tenant_setup
brd_setup 1 16
LEN=16384
KEYS=""

tab() {	# tab KEYREF
	echo "0 $LEN tenant acme vol1 aes-xts-plain64 $1 0 1 local /dev/ram0 0"
}
REF=":64:logon:dm-tenant:acme:vol1"

tenant_key_new acme vol1 64
tenant_key_new other vol1 64
tenant_key_new acme vol2 64

info "refusals at table load"
expect_create_fail k1 "$(tab :64:logon:dm-tenant:other:vol1)" "another tenant or volume"
expect_create_fail k2 "$(tab :64:logon:dm-tenant:acme:vol2)" "another tenant or volume"
expect_create_fail k3 "$(tab :64:user:dm-tenant:acme:vol1)" "logon"
expect_create_fail k4 "$(tab :48:logon:dm-tenant:acme:vol1)" "size"
hexkey=$(tenant_key_hex acme vol1)
expect_create_fail k5 "$(tab "$hexkey")" "hex|keyring reference"
expect_create_fail k6 "$(tab -)" "keyring reference"
# A key of the right description but of type user is not a logon key.
tenant_key_unlink acme vol1
keyctl padd user dm-tenant:acme:vol1 @u <"$(tenant_keyfile acme vol1)" >/dev/null
expect_create_fail k7 "$(tab $REF)" "not found"
keyctl unlink "$(keyctl search @u user dm-tenant:acme:vol1)" @u >/dev/null
expect_create_fail k8 "$(tab $REF)" "not found"
# A 32-byte key where the table says 64.
head -c 32 /dev/urandom >/tmp/short.key
tenant_key_load acme vol1 /tmp/short.key
expect_create_fail k9 "$(tab $REF)" "size"
tenant_key_load acme vol1 "$(tenant_keyfile acme vol1)"

info "key wipe / key set / resume"
tenant_create kv "$(tab $REF)"
dev=$(dm_dev_path kv)
head -c 1048576 /dev/urandom >/tmp/data
check dd if=/tmp/data of="$dev" bs=64k oflag=direct status=none

expect_fail dmsetup message kv 0 key wipe
expect_fail dmsetup message kv 0 key set "$REF"

check dmsetup suspend kv
expect_fail dmsetup message kv 0 key bogus
check dmsetup message kv 0 key wipe
set -- $(dmsetup status kv)
[ "$6" = wiped ] || fail "status after wipe: $*"
expect_fail dmsetup resume kv
dmesg | grep -q "resume refused: no key loaded" || fail "resume refusal not logged"

# Failed key sets leave the key wiped.
expect_fail dmsetup message kv 0 key set ":64:logon:dm-tenant:other:vol1"
expect_fail dmsetup message kv 0 key set ":32:logon:dm-tenant:acme:vol1"
expect_fail dmsetup message kv 0 key set "$hexkey"
head -c 32 /dev/urandom >/tmp/half
cat /tmp/half /tmp/half >/tmp/weak.key
tenant_key_load acme vol1 /tmp/weak.key
expect_fail dmsetup message kv 0 key set "$REF"
set -- $(dmsetup status kv)
[ "$6" = wiped ] || fail "a failed key set changed the key state: $6"
expect_fail dmsetup resume kv

tenant_key_load acme vol1 "$(tenant_keyfile acme vol1)"
check dmsetup message kv 0 key set "$REF"
set -- $(dmsetup status kv)
[ "$6" = loaded ] || fail "status after key set: $6"
check dmsetup resume kv
check dd if="$dev" of=/tmp/back bs=64k iflag=direct count=16 status=none
cmp -s /tmp/data /tmp/back || fail "data differs after wipe/set/resume"
info "wipe, refused resume, refused key sets, key set, resume: data intact"

# With a key loaded, a failed key set keeps the old key working.
tenant_key_unlink acme vol1
check dmsetup suspend kv
expect_fail dmsetup message kv 0 key set "$REF"
check dmsetup resume kv
check dd if="$dev" of=/tmp/back bs=64k iflag=direct count=16 status=none
cmp -s /tmp/data /tmp/back || fail "failed key set disturbed the live key"
info "failed key set while loaded: old key still serves the data"

assert_no_key_leak acme vol1 "$(dmsetup table kv)" "$(dmsetup table --showkeys kv)" "$(dmsetup status kv)"
assert_no_key_leak other vol1
