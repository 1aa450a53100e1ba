#!/bin/bash
# tenantd + tenantctl end to end, tenantd running in the VM as root and
# every role as its own uid (setpriv):
#   operator 0, hypervisor hv 1001 (vm1, vm2), hypervisor hv2 1005 (vm3),
#   support 1002, tenant admins tadm1 1003 (acme) and tadm2 1004 (globex),
#   nobody 65534 (not configured).
# Two tenants, four volumes (one of two legs), attach for a VM with the
# node owned by the hypervisor, I/O, detach; every role's forbidden actions
# refused (exit 3) AND audited; malformed, truncated, oversized, ill-typed
# and slow requests refused without side effects; KEK rotation during I/O;
# daemon restart (reconcile keeps the live device, notices the one removed
# behind its back) then detach / attach again with the rotated KEK; the
# audit chain verified live and offline, and tampering detected (edited,
# deleted, reordered records; truncated tail); the volume key and the
# derived passphrase absent from the logs, the replies and the database.
# vm-timeout: 900
# vm-disks: 6x48M
. "$DMT_LIB"

require_cmd tenantd tenantctl sqlite3 dmt-libtest setpriv
need_module dm-mod
need_module ecb
need_module xts
set -- $DMT_DISKS
[ $# -ge 6 ] || skip "needs 6 virtio disks"
D1=$1 D2=$2 D3=$3 D4=$4 D5=$5 D6=$6

# shellcheck source=tests/vm/tenantd-lib.sh
. "$DMT_ROOT/tests/vm/tenantd-lib.sh"

cat > "$CONF" <<EOF
# tenantd roles for the e2e test
timeout-ms 3000
operator uid=0
hypervisor uid=1001 vms=vm1,vm2
hypervisor uid=1005 vms=vm3
support uid=1002
tenant-admin uid=1003 tenant=acme
tenant-admin uid=1004 tenant=globex
EOF

start_td

# --- tenants and volumes (operator) ----------------------------------------------
info "tenants and volumes"
ok 0 tenant create acme
ok 0 tenant create globex
refused 5 0 tenant create acme
refused 2 0 tenant create 'bad/name'
ok 0 volume create acme vol1 --leg local:$D1 --vm vm1
ok 0 volume create acme vol2 --leg local:$D2
ok 0 volume create globex db --leg local:$D3 --vm vm3
ok 0 volume create acme multi --leg local:$D4 --leg zone:$D5
refused 5 0 volume create globex dup --leg local:$D1	# leg in use
refused 2 0 volume create globex bad --preset lrs --devices $D6
ok 0 volume list
ok 0 --json volume status acme vol1
UUID1=$(printf '%s' "$TC_OUT" | sed -n 's/.*"uuid":"\([0-9a-f-]*\)".*/\1/p' | head -n1)
[ -n "$UUID1" ] || UUID1=$(printf '%s\n' "$TC_OUT" | sed -n 's/.*"uuid": *"\([0-9a-f-]*\)".*/\1/p' | head -n1)
[ -n "$UUID1" ] || fail "no uuid in volume status"

# --- attach / I/O / detach -----------------------------------------------------------
info "attach for VMs"
ok 1001 volume attach acme vol1			# hv, vm1 is its own
DEV1=$(dm_dev_path 'tenant+acme+vol1')
[ "$(stat -c %u "$DEV1")" = 1001 ] || fail "$DEV1 not owned by the hypervisor"
ok 0 volume attach acme vol2 --vm vm2		# operator, for hv's vm2
DEV2=$(dm_dev_path 'tenant+acme+vol2')
[ "$(stat -c %u "$DEV2")" = 1001 ] || fail "operator attach: node owned by $(stat -c %u "$DEV2"), want 1001"
ok 1005 volume attach globex db			# hv2, vm3
rc=0; tc 0 volume attach acme multi --vm vm1 || rc=$?
case $rc in
0) info "2-leg volume attached: the kernel accepts 2 legs"
   ok 0 volume detach acme multi ;;
6) info "2-leg volume refused with 'unsupported', as the kernel target said" ;;
*) fail "2-leg attach: exit $rc, want 0 or 6" ;;
esac

info "I/O as the hypervisor"
dd if=/dev/urandom of="$W/data" bs=1M count=8 status=none
chmod 644 "$W/data"
setpriv --reuid=1001 --regid=1001 --clear-groups -- \
	dd if="$W/data" of="$DEV1" bs=1M oflag=direct status=none ||
	fail "hypervisor cannot write its volume"
SUM=$(sha256sum < "$W/data")
[ "$(dd if="$DEV1" bs=1M count=8 status=none | sha256sum)" = "$SUM" ] || fail "read back differs"
[ "$(dd if=$D1 bs=1M skip=8 count=8 status=none | sha256sum)" != "$SUM" ] ||
	fail "plaintext on the leg"
expect_fail setpriv --reuid=1002 --regid=1002 --clear-groups -- \
	dd if="$DEV1" of=/dev/null bs=4k count=1 status=none

# --- forbidden actions, each refused with exit 3 -------------------------------------
info "forbidden actions"
for u in 1002 65534; do			# support, unknown uid: nothing
	refused 3 $u tenant list
	refused 3 $u volume list
	refused 3 $u volume status acme vol1
	refused 3 $u volume attach acme vol2
	refused 3 $u tenant create evil
	refused 3 $u audit verify
	refused 3 $u audit export
done
refused 3 1001 tenant create evil		# hypervisor
refused 3 1001 volume create acme x --leg local:$D6
refused 3 1001 volume delete acme vol2
refused 3 1001 tenant rotate-kek acme
refused 3 1001 volume attach globex db		# vm3 is hv2's
refused 3 1001 volume status globex db
refused 3 1001 volume attach acme vol2 --vm vm1	# assigned to vm2, asks vm1
refused 3 1001 audit export
refused 3 1005 volume detach acme vol1		# hv2 may not touch vm1
refused 3 1003 tenant rotate-kek globex		# tenant admins
refused 3 1003 volume status globex db
refused 3 1003 volume attach acme vol1
refused 3 1003 volume detach acme vol1
refused 3 1003 volume delete acme vol2
refused 3 1004 volume status acme vol1
refused 3 1004 tenant delete globex
refused 4 1003 volume status acme nosuch	# its own tenant: not found
rc=0
tc 1003 volume list || rc=$?
[ $rc -eq 0 ] || fail "tenant admin cannot list its volumes"
case $TC_OUT in *globex*) fail "tenant admin of acme sees globex volumes" ;; esac
tc 1001 volume list || fail "hypervisor cannot list"
case $TC_OUT in *" db "*) fail "hv sees a volume of vm3" ;; esac
# The operator never gets a plaintext mapping for itself.
ok 0 volume create acme op --leg local:$D6
refused 2 0 volume attach acme op		# no VM: refused
refused 2 0 volume attach acme op --vm vm9	# VM nobody serves

# --- malformed requests --------------------------------------------------------------
info "malformed, truncated, oversized, ill-typed, slow requests"
raw() { printf '%s' "$1" | tenantctl raw; }
r=$(raw '{"verb":"tenant.create","args":{"tenant":"trunc"') ; echo "    $r"
case $r in *bad-request*truncated*) ;; *) fail "truncated JSON: $r" ;; esac
r=$(raw 'this is not json
'); echo "    $r"
case $r in *bad-request*) ;; *) fail "garbage: $r" ;; esac
r=$(raw '{"verb":"volume.status","args":{"tenant":5,"volume":"vol1"}}
'); echo "    $r"
case $r in *invalid-argument*) ;; *) fail "wrong type: $r" ;; esac
r=$(raw '{"verb":"tenant.create","args":{"tenant":"x","extra":1}}
'); echo "    $r"
case $r in *invalid-argument*) ;; *) fail "unknown argument: $r" ;; esac
r=$(raw '{"verb":"format.everything"}
'); echo "    $r"
case $r in *unknown-verb*) ;; *) fail "unknown verb: $r" ;; esac
r=$(dd if=/dev/zero bs=1000 count=70 status=none | tr '\0' 'a' | tenantctl raw); echo "    $r"
case $r in *too-large*) ;; *) fail "oversized: $r" ;; esac
# A slow client holds a connection open; others are served meanwhile.
{ printf '{"verb":"tenant.create","args":{"tenant":"slow"'; sleep 6; } |
	tenantctl raw > "$W/slow.out" &
SLOW=$!
sleep 1
t0=$(date +%s)
ok 0 tenant list
[ $(($(date +%s) - t0)) -le 2 ] || fail "a slow client blocked another"
wait $SLOW || true
cat "$W/slow.out"
grep -q '"timeout"' "$W/slow.out" || fail "slow request not timed out"
ok 0 tenant list
case $TC_OUT in *trunc*|*slow*|*evil*) fail "a refused request changed state" ;; esac

# --- KEK rotation during I/O (tenant admin) ---------------------------------------------
info "KEK rotation while the hypervisor writes"
dd if=/dev/urandom of="$W/data2" bs=1M count=16 status=none
chmod 644 "$W/data2"
setpriv --reuid=1001 --regid=1001 --clear-groups -- \
	dd if="$W/data2" of="$DEV1" bs=64k oflag=direct status=none &
DD=$!
ok 1003 tenant rotate-kek acme
wait $DD || fail "I/O failed during the rotation"
SUM2=$(sha256sum < "$W/data2")
[ "$(dd if="$DEV1" bs=1M count=16 status=none | sha256sum)" = "$SUM2" ] || fail "data changed by the rotation"
ok 0 tenant list
printf '%s\n' "$TC_OUT" | grep -Eq '^acme +2 ' || fail "acme not at KEK generation 2"
refused 3 1004 tenant rotate-kek acme

# --- restart: reconcile, detach, attach again ---------------------------------------------
info "restart tenantd"
stop_td
dmsetup remove 'tenant+globex+db' || fail "cannot remove globex db behind tenantd's back"
start_td
grep -q 'reconcile: kept 2, adopted 0, vanished 1' "$LOG" || {
	grep reconcile "$LOG"; fail "reconcile did not keep 2 and notice 1 vanished"; }
ok 0 volume status acme vol1
case $TC_OUT in *"attached:   /dev"*) ;; *) fail "vol1 not attached after restart" ;; esac
ok 0 volume status globex db
case $TC_OUT in *"attached:   no"*) ;; *) fail "vanished device still recorded" ;; esac
ok 1001 volume detach acme vol1
ok 0 volume detach acme vol2
refused 5 0 volume detach acme vol2
ok 1001 volume attach acme vol1			# with the generation-2 KEK
DEV1=$(dm_dev_path 'tenant+acme+vol1')
[ "$(dd if="$DEV1" bs=1M count=16 status=none | sha256sum)" = "$SUM2" ] || fail "data lost across rotation + restart"

# --- no key bytes anywhere ------------------------------------------------------------
info "key bytes: not in logs, replies, database"
sqlite3 "$DB" "SELECT writefile('$W/kek.blob', kek_wrapped) FROM tenants WHERE id = 'acme'" > /dev/null ||
	fail "cannot read the wrapped KEK"
check dmt-libtest export-dek -m "$ST/master.key" -t acme -k "$W/kek.blob" -u "$UUID1" "$D1" "$W/dek"
check dmt-libtest export-pass -m "$ST/master.key" -t acme -k "$W/kek.blob" -u "$UUID1" "$W/pass"
tenantctl audit export > "$W/audit.jsonl" || fail "audit export"
stop_td		# checkpoint the WAL into the database file
hexof() { od -An -v -tx1 "$1" | tr -d ' \n'; }
HAY=$W/hay
{ hexof "$DB"; for f in "$DB"-wal "$DB".audit-head; do [ -e "$f" ] && hexof "$f"; done
  echo; cat "$LOG" "$OUT" "$W/audit.jsonl"; dmesg; } | tr 'A-F' 'a-f' > "$HAY"
for k in dek pass; do
	hex=$(hexof "$W/$k")
	for i in 0 16 32 48 64 80 96 112; do
		chunk=${hex:$i:16}
		[ ${#chunk} -eq 16 ] || break
		! grep -q "$chunk" "$HAY" || fail "bytes of the $k leaked (hex offset $i)"
	done
done
rm -f "$W/dek" "$W/pass"
start_td

# --- audit: every refusal recorded; the chain verifies; tampering detected ------------------
info "audit chain"
tenantctl audit export > "$W/audit.jsonl" || fail "audit export"
for u in 1002 1001 1005 1003 1004; do
	n=$(grep -c "\"uid\":$u,.*\"result\":\"denied\"" "$W/audit.jsonl")
	[ "$n" -ge 1 ] || fail "no denied record for uid $u"
	info "uid $u: $n denied request(s) audited"
done
# A uid with no role is refused at the door: its refusals are summarised
# (written at the latest when tenantd stops), never audited one by one.
grep -q '"action":"daemon.refused","object":"uid 65534","result":"denied","detail":"uid 65534: [0-9]* refused requests in' \
	"$W/audit.jsonl" || fail "no refusal summary for uid 65534"
! grep -q '"uid":65534,' "$W/audit.jsonl" ||
	fail "requests of a uid with no role audited one by one"
grep -q '"result":"bad-request"' "$W/audit.jsonl" || fail "malformed request not audited"
grep -q '"result":"too-large"' "$W/audit.jsonl" || fail "oversized request not audited"
grep -q '"result":"timeout"' "$W/audit.jsonl" || fail "slow request not audited"
grep -q '"action":"tenant.rotate-kek".*"result":"ok"' "$W/audit.jsonl" || fail "rotation not audited"
ok 0 audit verify
ok 0 audit verify "$W/audit.jsonl"
HEAD=$(tail -n1 "$W/audit.jsonl" | sed 's/.*"hash":"\([0-9a-f]*\)".*/\1/')
ok 0 audit verify "$W/audit.jsonl" --head "$HEAD"

# offline: edit, delete, swap, truncate an export
sed '5s/"uid":0/"uid":7/' "$W/audit.jsonl" > "$W/edit.jsonl"
refused 8 0 audit verify "$W/edit.jsonl"
sed '7d' "$W/audit.jsonl" > "$W/del.jsonl"
refused 8 0 audit verify "$W/del.jsonl"
awk 'NR == 5 { held = $0; next } { print } NR == 6 { print held }' \
	"$W/audit.jsonl" > "$W/swap.jsonl"
refused 8 0 audit verify "$W/swap.jsonl"
head -n -2 "$W/audit.jsonl" > "$W/trunc.jsonl"
refused 8 0 audit verify "$W/trunc.jsonl" --head "$HEAD"

# live database: an edited record, then a removed tail
stop_td
cp "$DB" "$W/db.orig"
cp "$DB".audit-head "$W/head.orig"
SEQ=$(sqlite3 "$DB" "SELECT min(seq) FROM audit WHERE result = 'denied'")
sqlite3 "$DB" "UPDATE audit SET result = 'ok' WHERE seq = $SEQ" || fail "tamper"
start_td
refused 8 0 audit verify
case $TC_OUT in *"record $SEQ"*edited*) ;; *) fail "edit of record $SEQ not pinpointed" ;; esac
stop_td
cp "$W/db.orig" "$DB"; cp "$W/head.orig" "$DB".audit-head; rm -f "$DB"-wal "$DB"-shm
sqlite3 "$DB" "DELETE FROM audit WHERE seq > (SELECT max(seq) - 3 FROM audit);
	UPDATE audit_head SET seq = (SELECT max(seq) FROM audit),
	hash = (SELECT hash FROM audit ORDER BY seq DESC LIMIT 1)" || fail "tamper"
start_td
refused 8 0 audit verify				# head file disagrees
stop_td
cp "$W/db.orig" "$DB"; cp "$W/head.orig" "$DB".audit-head; rm -f "$DB"-wal "$DB"-shm
start_td
ok 0 audit verify

# --- clean up through the daemon ---------------------------------------------------
info "detach, delete"
ok 1001 volume detach acme vol1
refused 5 0 tenant delete acme
ok 0 volume delete acme vol2
ok 0 tenant delete acme --force
ok 0 tenant delete globex --force
ok 0 tenant list
stop_td
info "done"
