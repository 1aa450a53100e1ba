#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# Destruction (Documentation/destruction.md) through tenantd, as an
# attacker with host root would check it.  Before each wipe the test
# recovers the volume's DEK from a leg's keyslot with the master key and
# the database (dmt-wipetest dek; key bytes stay in 0600 files, never
# printed) and proves it opens the leg with stock cryptsetup.  After:
#   - delete of an attached volume is refused (conflict), nothing changed;
#   - volume delete --wipe zero --verify full on two legs: no leg holds the
#     DEK, the KEK, the wrapped KEK, a LUKS2 magic, the dm-tenant token or
#     the label; every byte of the legs is zero; the database and its WAL
#     hold neither DEK nor KEK; the attacker's recovery fails; attach is
#     refused; the certificate verifies (via tenantd and offline against an
#     audit export); a tampered certificate and a tampered audit record fail;
#   - discard / secure-discard refused up front where the disk lacks them
#     (nothing changed), else done and verified;
#   - overwrite (1 random pass + zeros) interrupted by kill -9 of tenantd
#     resumes at the saved offset after the restart, and finishes verified;
#   - tenant delete --force (crypto-shred only): the wrapped KEK is gone
#     from the database file and its WAL (secure_delete, VACUUM,
#     checkpoint TRUNCATE); the tenant admin exported its audit records
#     before, and the export verifies offline while a tampered one fails.
# vm-timeout: 900
# vm-disks: 5x48M
. "$DMT_LIB"

require_cmd tenantd tenantctl dmt-wipetest cryptsetup sqlite3 setpriv
need_module dm-mod
need_module ecb
need_module xts
need_module dm-tenant
set -- $DMT_DISKS
[ $# -ge 5 ] || skip "needs 5 virtio disks"
D1=$1 D2=$2 D3=$3 D4=$4 D5=$5

# shellcheck source=tests/vm/tenantd-lib.sh
. "$DMT_ROOT/tests/vm/tenantd-lib.sh"

cat > "$CONF" <<EOF
operator uid=0
hypervisor uid=1001 vms=vm1
tenant-admin uid=1003 tenant=acme
EOF
on_exit 'cryptsetup close wipe-attacker 2>/dev/null; true'

# attacker VOLUME DIR: recover the DEK (and the KEK) as host root would
attacker() {
	mkdir -p "$2" && chmod 700 "$2"
	dmt-wipetest dek "$ST/master.key" "$DB" acme "$1" "$2" ||
		fail "the DEK of acme/$1 could not be recovered before the wipe"
}
# proves the recovered DEK is the volume key: stock cryptsetup opens a leg
dek_opens() {
	cryptsetup open --type luks2 --volume-key-file "$2/dek" "$1" wipe-attacker ||
		fail "the recovered DEK does not open $1"
	cryptsetup close wipe-attacker
}
# clean DIR FILE...: none of the key material of DIR, no LUKS2 header, no
# token and no label in any FILE
clean() {
	local dir=$1 f o rc
	shift
	for f in "$@"; do
		[ -e "$f" ] || continue
		rc=0
		o=$(dmt-wipetest find "$f" "@$dir/dek" "@$dir/kek" luks dm-tenant acme/) || rc=$?
		[ "$rc" -eq 0 ] || fail "$f still holds key material or a header: $(echo $o)"
	done
	info "clean: $* ($(echo $o))"
}
# nokeys DIR FILE...: none of the key material of DIR in any FILE
nokeys() {
	local dir=$1 f o rc
	shift
	for f in "$@"; do
		[ -e "$f" ] || continue
		rc=0
		o=$(dmt-wipetest find "$f" "@$dir/dek" "@$dir/kek") || rc=$?
		[ "$rc" -eq 0 ] || fail "$f still holds key material: $(echo $o)"
	done
}
zeros() {
	cmp -s -n "$(blockdev --getsize64 "$1")" "$1" /dev/zero ||
		fail "$1 is not all zeros: $(cmp "$1" /dev/zero 2>&1 | head -1)"
}
job_of() { printf '%s\n' "$TC_OUT" | sed -n 's/.*wipe job \([0-9]*\) .*/\1/p' | head -1; }

start_td
ok 0 tenant create acme
ok 0 volume create acme v1 --leg local:$D1 --leg zone:$D2 --vm vm1
ok 0 volume create acme v2 --leg local:$D3
ok 0 volume create acme v3 --leg local:$D4
ok 0 volume create acme v4 --leg local:$D5

info "delete of an attached volume is refused, nothing changed"
ok 1001 volume attach acme v1
DEV=$(dm_dev_path tenant+acme+v1)
dd if=/dev/urandom of="$DEV" bs=1M count=4 oflag=direct status=none
refused 5 0 volume delete acme v1 --wipe zero
dmt-wipetest find "$D1" luks >/dev/null && fail "refused delete changed $D1"
ok 1001 volume detach acme v1

info "bad input changes nothing"
refused 2 0 volume delete acme v1 --wipe shred-it
refused 2 0 volume delete acme v1 --wipe zero --passes 3
refused 2 0 volume delete acme v1 --verify most
refused 3 1001 volume delete acme v1
refused 3 1003 volume delete acme v1
ok 0 volume status acme v1

info "the tenant admin exports its audit records before leaving"
ok 1003 tenant audit-export acme
printf '%s\n' "$TC_OUT" > "$W/acme-audit.jsonl"
ok 0 tenant audit-verify "$W/acme-audit.jsonl"
grep -q '"object":"acme/v1"' "$W/acme-audit.jsonl" || fail "export lacks acme/v1 records"
sed '2s/"uid":0/"uid":7/' "$W/acme-audit.jsonl" > "$W/acme-bad.jsonl"
cmp -s "$W/acme-audit.jsonl" "$W/acme-bad.jsonl" && fail "tamper had no effect"
refused 8 0 tenant audit-verify "$W/acme-bad.jsonl"
head -n -2 "$W/acme-audit.jsonl" > "$W/acme-short.jsonl"
tail -1 "$W/acme-audit.jsonl" >> "$W/acme-short.jsonl"
refused 8 0 tenant audit-verify "$W/acme-short.jsonl"

info "zero, full verification, two legs"
attacker v1 "$W/k1"
dek_opens "$D1" "$W/k1"
ok 0 volume delete acme v1 --wipe zero --verify full --wait --cert "$W/c1.json"
J1=$(job_of)
clean "$W/k1" "$D1" "$D2"
nokeys "$W/k1" "$DB" "$DB-wal"
zeros "$D1"
zeros "$D2"
if dmt-wipetest dek "$ST/master.key" "$DB" acme v1 "$W/k1b" 2>/dev/null; then
	fail "the DEK of v1 is still recoverable"
fi
refused 3 1001 volume attach acme v1
refused 4 0 volume attach acme v1 --vm vm1
grep -q "dm-tenant:acme:v1" /proc/keys && fail "a kernel key of acme/v1 remains"
grep -Eq '"result": ?"pass"' "$W/c1.json" || fail "certificate does not say pass"
for f in method_type method_used tool tool_version serial model completed operator; do
	grep -q "\"$f\"" "$W/c1.json" || fail "certificate lacks $f"
done
ok 0 cert verify "$W/c1.json"
ok 1003 cert verify "$W/c1.json"
ok 1003 wipe cert "$J1" --text
printf '%s\n' "$TC_OUT" | grep -q "CERTIFICATE OF SANITIZATION" || fail "no text certificate"
ok 0 audit export -o "$W/audit.jsonl"
ok 0 cert verify "$W/c1.json" --audit "$W/audit.jsonl"
ok 0 audit verify "$W/audit.jsonl"
sed -E 's/"bytes_read": ?([0-9])/"bytes_read":9\1/' "$W/c1.json" > "$W/c1-bad.json"
cmp -s "$W/c1.json" "$W/c1-bad.json" && fail "tamper had no effect"
refused 8 0 cert verify "$W/c1-bad.json"
refused 8 0 cert verify "$W/c1-bad.json" --audit "$W/audit.jsonl"
sed 's/\(cert-sha256 \)[0-9a-f]/\1x/' "$W/audit.jsonl" > "$W/audit-bad.jsonl"
refused 8 0 cert verify "$W/c1.json" --audit "$W/audit-bad.jsonl"

info "discard / secure discard: refused up front, or done and verified"
attacker v3 "$W/k3"
for m in secure-discard discard; do
	rc=0
	tc 0 volume delete acme v3 --wipe $m --wait --cert "$W/c3-$m.json" || rc=$?
	if [ "$rc" -eq 6 ]; then
		info "$m: not supported by $D4: refused, nothing changed"
		dmt-wipetest find "$D4" luks >/dev/null &&
			fail "refused $m changed $D4"
		continue
	fi
	[ "$rc" -eq 0 ] || fail "delete --wipe $m exited $rc"
	clean "$W/k3" "$D4"
	ok 0 cert verify "$W/c3-$m.json"
	break
done
if ! dmt-wipetest find "$D4" luks >/dev/null; then
	info "no discard at all on this disk: crypto-shred only"
	ok 0 volume delete acme v3 --wait --cert "$W/c3.json"
	clean "$W/k3" "$D4"
	ok 0 cert verify "$W/c3.json"
fi

info "overwrite, interrupted by kill -9 of tenantd, resumes"
attacker v2 "$W/k2"
dek_opens "$D3" "$W/k2"
ok 0 volume delete acme v2 --wipe overwrite --passes 1 --rate 6
J2=$(job_of)
[ -n "$J2" ] || fail "no job id"
for i in $(seq 1 120); do
	off=$(sqlite3 "$DB" "SELECT pass * 100000000000 + offset FROM wipes WHERE id = $J2")
	[ "${off:-0}" -gt 0 ] && break
	sleep 0.5
done
[ "${off:-0}" -gt 0 ] || fail "no progress recorded"
kill -KILL "$TD_PID"
wait "$TD_PID" 2>/dev/null || true
TD_PID=
state=$(sqlite3 "$DB" "SELECT state || ' ' || pass || ' ' || offset FROM wipes WHERE id = $J2")
info "killed at: $state"
case "$state" in running*) ;; *) fail "job not left running: $state" ;; esac
clean "$W/k2" "$D3"		# the crypto-shred was done before the kill
start_td
ok 0 wipe status --job "$J2" --wait
printf '%s\n' "$TC_OUT" | grep -q "resumed 1x" || fail "the job did not resume"
grep -Eq "resumes at leg 0 pass [12] byte [1-9]" "$LOG" || fail "tenantd did not resume at the saved offset"
ok 0 wipe cert "$J2" -o "$W/c2.json"
grep -Eq '"interruptions": ?1' "$W/c2.json" || fail "certificate does not count the interruption"
ok 0 cert verify "$W/c2.json"
clean "$W/k2" "$D3"
zeros "$D3"

info "tenant delete: the KEK leaves the database file and its WAL"
attacker v4 "$W/k4"
o=$(dmt-wipetest find "$DB" "@$W/k4/wrapped-kek"; dmt-wipetest find "$DB-wal" "@$W/k4/wrapped-kek" 2>/dev/null) || true
info "before: wrapped KEK in db/wal: $(echo $o)"
ok 0 tenant delete acme --force --wait --cert "$W/c4.json"
ok 0 cert verify "$W/c4.json"
grep -Eq '"kek": ?"destroyed' "$W/c4.json" || fail "certificate does not record the KEK destroyed"
rc=0
o=$(dmt-wipetest find "$DB" "@$W/k4/wrapped-kek" "@$W/k4/kek" "@$W/k4/dek") || rc=$?
[ "$rc" -eq 0 ] || fail "database still holds the KEK: $(echo $o)"
if [ -s "$DB-wal" ]; then
	rc=0
	o=$(dmt-wipetest find "$DB-wal" "@$W/k4/wrapped-kek" "@$W/k4/kek") || rc=$?
	[ "$rc" -eq 0 ] || fail "WAL still holds the KEK: $(echo $o)"
fi
clean "$W/k4" "$D5"
refused 4 0 volume status acme v4
ok 0 audit verify

info "no key bytes in any output or log"
for k in "$W"/k1/dek "$W"/k2/dek "$W"/k4/kek; do
	hex=$(od -An -tx1 "$k" | tr -d ' \n')
	grep -qi "$hex" "$OUT" "$LOG" && fail "key bytes in the outputs"
done
stop_td
info "ok"
