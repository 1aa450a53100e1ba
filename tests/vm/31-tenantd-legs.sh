#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# Replication through tenantd: a volume of three legs (local, local, zone)
# created with tenantctl, attached by the hypervisor (uid 1001), written;
# the initial sync reaches idle; `tenantctl leg fail` / `leg recover` (the
# operator; refused for the hypervisor, exit 3) change the kernel's leg
# states, writes during the failure are copied back on recovery, every leg
# holds the same ciphertext afterwards; each leg action is audited and the
# chain verifies.  Detach / attach again: data intact, no new initial sync,
# and a leg failed before the detach is still failed after the attach (the
# write-intent metadata, `metadata:8192`, remembers it); failing the last
# leg in sync is refused (conflict); two legs recovered at once.
# vm-timeout: 900
# vm-disks: 3x48M
# shellcheck source=tests/vm/lib.sh
. "$DMT_LIB"
# shellcheck source=tests/vm/tenant-lib.sh
. "$DMT_ROOT/tests/vm/tenant-lib.sh"

require_cmd tenantd tenantctl setpriv
need_module dm-mod
need_module ecb
need_module xts
need_module dm-tenant
set -- $DMT_DISKS
[ $# -ge 3 ] || skip "needs 3 virtio disks"
D1=$1 D2=$2 D3=$3

# shellcheck source=tests/vm/tenantd-lib.sh
. "$DMT_ROOT/tests/vm/tenantd-lib.sh"
NAME=tenant+acme+rep
DATA_OFF=16384		# libdmtenant: LUKS2 data offset (8 MiB)

cat > "$CONF" <<EOF
operator uid=0
hypervisor uid=1001 vms=vm1
EOF

as_hv() { setpriv --reuid=1001 --regid=1001 --clear-groups -- "$@"; }
states() { mirror_leg_states "$NAME"; }
want_states() {
	local s
	s=$(states)
	[ "$s" = "$1" ] || fail "leg states $s, want $1: $(dmsetup status "$NAME")"
	info "leg states $s"
}
# hv_write FILE MIB_OFFSET: the hypervisor writes FILE at that offset
hv_write() {
	as_hv dd if="$1" of="$DEV" bs=1M seek="$2" oflag=direct conv=notrunc \
		status=none || fail "hypervisor write failed"
}
check_data() {
	[ "$(dd if="$DEV" bs=1M count=16 iflag=direct status=none | sha256sum)" = "$SUM" ] ||
		fail "volume data differs ($1)"
}

start_td

info "a volume of three legs, attached by the hypervisor"
ok 0 tenant create acme
ok 0 volume create acme rep --leg local:$D1 --leg local:$D2 --leg zone:$D3 --vm vm1
ok 1001 volume attach acme rep
DEV=$(dm_dev_path "$NAME")
dmsetup table "$NAME" | grep -q ' 3 local .* local .* zone .*metadata:8192' ||
	fail "unexpected table: $(dmsetup table "$NAME")"
LEN=$(blockdev --getsz "$DEV")
info "initial sync of $LEN sectors"
mirror_wait_idle "$NAME" 600
want_states AAA
[ "$(mirror_status_field "$NAME" insync | cut -d/ -f1)" = "$(mirror_status_field "$NAME" insync | cut -d/ -f2)" ] ||
	fail "idle but not in sync: $(dmsetup status "$NAME")"

dd if=/dev/urandom of="$W/a" bs=1M count=8 status=none
dd if=/dev/urandom of="$W/b" bs=1M count=8 status=none
chmod 644 "$W/a" "$W/b"
hv_write "$W/a" 0
hv_write "$W/b" 8

info "leg fail / recover: operator only"
refused 3 1001 leg fail acme rep 1
refused 3 1001 leg recover acme rep 1
rc=0; tc 0 leg fail acme rep 7 || rc=$?
[ $rc -ne 0 ] || fail "leg 7 of a 3-leg volume accepted"
want_states AAA
ok 0 leg fail acme rep 1
want_states ADA
ok 0 volume status acme rep
case $TC_OUT in *"leg states ADA"*) ;; *) fail "volume status does not show leg 1 failed" ;; esac
info "writes while leg 1 is out"
dd if=/dev/urandom of="$W/b" bs=1M count=8 status=none
hv_write "$W/b" 8
SUM=$(cat "$W/a" "$W/b" | sha256sum)
check_data "leg 1 failed"
ok 0 leg recover acme rep 1
mirror_wait_idle "$NAME" 600
want_states AAA
check_data "after recovery"
s1=$(leg_data_sum "$D1" $DATA_OFF "$LEN")
s2=$(leg_data_sum "$D2" $DATA_OFF "$LEN")
s3=$(leg_data_sum "$D3" $DATA_OFF "$LEN")
[ "$s1" = "$s2" ] && [ "$s2" = "$s3" ] || fail "legs differ after recovery: $s1 $s2 $s3"
info "the three legs hold identical ciphertext"
[ "$(dd if="$D3" bs=1M skip=8 count=8 status=none | sha256sum)" != "$(sha256sum < "$W/a")" ] ||
	fail "plaintext on a leg"

info "detach / attach: data intact, no new initial sync"
ok 1001 volume detach acme rep
[ ! -e "$DEV" ] || fail "$DEV still there after detach"
kmsg_mark "reattach 1"
ok 1001 volume attach acme rep
DEV=$(dm_dev_path "$NAME")
mirror_wait_idle "$NAME" 600
want_states AAA
! dmesg | sed -n '/dmt-mark: reattach 1/,$p' | grep -q 'new metadata' ||
	fail "the re-attached volume started a new initial sync"
check_data "after re-attach"

info "a leg failed before detach stays failed after attach"
ok 0 leg fail acme rep 2
want_states AAD
ok 1001 volume detach acme rep
ok 1001 volume attach acme rep
DEV=$(dm_dev_path "$NAME")
want_states AAD
check_data "re-attached with leg 2 failed"

info "the last leg in sync cannot be failed (conflict, exit 5)"
ok 0 leg fail acme rep 1
want_states ADD
refused 5 0 leg fail acme rep 0
want_states ADD
check_data "one leg left"
ok 0 leg recover acme rep 1
ok 0 leg recover acme rep 2
mirror_wait_idle "$NAME" 600
want_states AAA
check_data "after recovering legs 1 and 2"
s1=$(leg_data_sum "$D1" $DATA_OFF "$LEN")
s2=$(leg_data_sum "$D2" $DATA_OFF "$LEN")
s3=$(leg_data_sum "$D3" $DATA_OFF "$LEN")
[ "$s1" = "$s2" ] && [ "$s2" = "$s3" ] || fail "legs differ after recovery: $s1 $s2 $s3"

info "audit"
tenantctl audit export -o "$W/audit.jsonl" > /dev/null || fail "audit export"
for a in leg.fail leg.recover; do
	grep -q "\"uid\":0,.*\"action\":\"$a\",\"object\":\"acme/rep[^\"]*\",\"result\":\"ok\"" "$W/audit.jsonl" ||
		{ grep leg "$W/audit.jsonl"; fail "$a by the operator not audited"; }
	grep -q "\"uid\":1001,.*\"action\":\"$a\",.*\"result\":\"denied\"" "$W/audit.jsonl" ||
		fail "$a refused for the hypervisor not audited"
done
n=$(grep -c '"action":"leg\.[a-z]*".*"result":"ok"' "$W/audit.jsonl")
[ "$n" -eq 6 ] || fail "$n successful leg actions audited, want 6"
grep -q '"action":"leg.fail","object":"acme/rep/leg0","result":"conflict"' "$W/audit.jsonl" ||
	fail "refused fail of the last leg in sync not audited"
ok 0 audit verify

info "clean up"
ok 1001 volume detach acme rep
ok 0 volume delete acme rep
ok 0 tenant delete acme
stop_td
info "done"
