#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# Volume export (Documentation/destruction.md, "Export before leaving"):
# the tenant admin streams a volume's plaintext through a pipe tenantd's
# worker writes into (the descriptor passed with SCM_RIGHTS): to a file
# and to stdout; the bytes are those the VM wrote, the size is the
# volume's, the SHA-256 tenantctl prints is the one audited in
# volume.export.done; no export mapping is left behind and no other user
# could open it while it ran (node root 0600); the operator, the
# hypervisor and another tenant's admin are refused (exit 3), an attached
# volume is refused (exit 5), a request without a descriptor is refused
# (exit 2).
# vm-long: yes
# vm-timeout: 600
# vm-disks: 2x40M
. "$DMT_LIB"

require_cmd tenantd tenantctl setpriv sha256sum
need_module dm-mod
need_module ecb
need_module xts
need_module dm-tenant
set -- $DMT_DISKS
[ $# -ge 2 ] || skip "needs 2 virtio disks"
D1=$1 D2=$2

# shellcheck source=tests/vm/tenantd-lib.sh
. "$DMT_ROOT/tests/vm/tenantd-lib.sh"

cat > "$CONF" <<EOF
operator uid=0
hypervisor uid=1001 vms=vm1
tenant-admin uid=1003 tenant=acme
tenant-admin uid=1004 tenant=globex
EOF
as() { local u=$1; shift; setpriv --reuid="$u" --regid="$u" --clear-groups -- env TENANTD_SOCKET="$SOCK" "$@"; }
mkdir -p "$W/acme" && chown 1003 "$W/acme" && chmod 700 "$W/acme"

start_td
ok 0 tenant create acme
ok 0 tenant create globex
ok 0 volume create acme v1 --leg local:$D1 --leg zone:$D2 --vm vm1
ok 1001 volume attach acme v1
DEV=$(dm_dev_path tenant+acme+v1)
SIZE=$(blockdev --getsize64 "$DEV")
dd if=/dev/urandom of="$W/data" bs=1M count=6 status=none
chmod 644 "$W/data"
as 1001 dd if="$W/data" of="$DEV" bs=1M oflag=direct conv=notrunc status=none ||
	fail "hypervisor write failed"

info "refused while attached, and for everyone but the tenant's admin"
refused 5 1003 volume export acme v1 -o "$W/acme/x"
[ ! -e "$W/acme/x" ] || fail "a refused export left its file"
ok 1001 volume detach acme v1
refused 3 0 volume export acme v1 -o "$W/op.img"
refused 3 1001 volume export acme v1 -o /tmp/hv.img
refused 3 1004 volume export acme v1 -o /tmp/globex.img
rc=0
echo '{"verb":"volume.export","args":{"tenant":"acme","volume":"v1"}}' |
	as 1003 tenantctl raw > "$W/raw.out" 2>&1 || rc=$?
grep -q '"invalid-argument"' "$W/raw.out" || fail "export without a descriptor: $(cat "$W/raw.out")"

info "export to a file"
ok 1003 volume export acme v1 -o "$W/acme/v1.img"
[ "$(stat -c %a "$W/acme/v1.img")" = 600 ] || fail "export file is not 0600"
[ "$(stat -c %s "$W/acme/v1.img")" = "$SIZE" ] || fail "export is $(stat -c %s "$W/acme/v1.img") bytes, volume $SIZE"
cmp -n $((6 << 20)) "$W/data" "$W/acme/v1.img" || fail "exported data differs from what the VM wrote"
SUM=$(sha256sum "$W/acme/v1.img" | cut -d' ' -f1)
printf '%s\n' "$TC_OUT" | grep -q "sha256 $SUM" || fail "tenantctl printed another sha256"
dmsetup ls | grep -q tenant-export && fail "export mapping left behind"

info "export to stdout (a pipe), and the audit record"
( as 1003 tenantctl volume export acme v1 2>"$W/err" | sha256sum > "$W/sum2" ) &
EXP=$!
node=
for i in $(seq 1 80); do
	node=$(ls /dev/mapper | grep '^tenant-export' || true)
	[ -n "$node" ] && break
	sleep 0.25
done
[ -n "$node" ] || fail "no export mapping seen while the export ran"
[ "$(stat -L -c '%a %u' "/dev/mapper/$node")" = "600 0" ] ||
	fail "export node is $(stat -L -c '%a %u' "/dev/mapper/$node"), want 600 root"
if as 1003 dd if="/dev/mapper/$node" of=/dev/null bs=512 count=1 status=none 2>/dev/null; then
	fail "the tenant admin could open the export mapping itself"
fi
info "while it ran: /dev/mapper/$node root 0600, not openable by uid 1003"
wait "$EXP" || fail "export to stdout failed: $(cat "$W/err")"
grep -q "exported acme/v1: $SIZE bytes" "$W/err" || fail "export to stdout incomplete: $(cat "$W/err")"
[ "$(cut -d' ' -f1 "$W/sum2")" = "$SUM" ] || fail "stdout export differs"
sleep 1
ok 0 audit export -o "$W/audit.jsonl"
n=$(grep '"action":"volume.export.done"' "$W/audit.jsonl" | grep -c "sha256 $SUM")
[ "$n" = 2 ] || fail "$n audited exports with the right sha256, want 2"
grep '"action":"volume.export"' "$W/audit.jsonl" | grep -q '"uid":1003,.*"result":"ok"' ||
	fail "export request not audited"
ok 0 audit verify
dmsetup ls | grep -q tenant-export && fail "export mapping left behind"

info "the volume still attaches and holds the data"
ok 1001 volume attach acme v1
cmp -n $((6 << 20)) "$W/data" "$DEV" || fail "volume data changed"
ok 1001 volume detach acme v1
stop_td
info "ok"
