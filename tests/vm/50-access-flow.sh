#!/bin/bash
# Just-in-time access end to end (Documentation/jit-access.md), tenantd in
# the VM as root, every role its own uid:
#   operator 0, hypervisor 1001 (vm1), support 1002 (also tenant admin of
#   acme: it still may not approve its own request), support 1005,
#   tenant admins 1003 (acme) and 1004 (globex).
# Support is refused without a grant; a request is approved ro although rw
# was asked, by an admin of the tenant and by nobody else (self, other
# tenant's admin, operator); double approve, open before approval, rw on an
# ro grant, open by another uid are refused; the mapping is read-only,
# owned by the requester (0400) and unreadable by others; the hypervisor
# cannot attach the volume meanwhile; the window ends by itself while a
# reader runs (reader fails, device gone).  Then revoke during fio reads
# of an rw grant (fio fails, device and key gone, the kernel log clean),
# open/close after revoke refused, a pending request expiring, deny,
# close by the requester; every step audited with reason, approver and
# times; the chain verifies; no key bytes in outputs, logs or audit.
# The second factor: approve, deny and open are refused without an
# enrolment (hint: mfa enroll), without a code, with a wrong or replayed
# code; they work with a code from oathtool (codes on standard input, as
# from the prompt); a grant opened with a code still ends at its window;
# the audit chain names the enrolment, never the code or the seed.
# vm-timeout: 1200
# vm-disks: 2x48M
. "$DMT_LIB"

require_cmd tenantd tenantctl sqlite3 dmt-libtest setpriv fio oathtool
need_module dm-mod
need_module ecb
need_module xts
set -- $DMT_DISKS
[ $# -ge 2 ] || skip "needs 2 virtio disks"
D1=$1 D2=$2

# shellcheck source=tests/vm/tenantd-lib.sh
. "$DMT_ROOT/tests/vm/tenantd-lib.sh"

cat > "$CONF" <<EOF
operator uid=0
hypervisor uid=1001 vms=vm1
support uid=1002
support uid=1005
tenant-admin uid=1002 tenant=acme
tenant-admin uid=1003 tenant=acme
tenant-admin uid=1004 tenant=globex
access-pending-ttl 20
access-max-duration 600
EOF
start_td

JIT=jit+acme+vol1
grant_id() { printf '%s\n' "$TC_OUT" | sed -n 's/^access request \([0-9]*\):.*/\1/p' | head -n1; }
state_of() {	# ID: its state, as the operator sees it
	tc 0 --json access list --all > /dev/null || fail "access list"
	printf '%s\n' "$TC_OUT" | tr -d ' \n' | sed 's/},{/}\n{/g' |
		sed -n "s/.*\"id\":$1,.*\"state\":\"\([a-z]*\)\".*/\1/p"
}
want_state() { local s; s=$(state_of "$1"); [ "$s" = "$2" ] || fail "grant $1 is '$s', want '$2'"; }
dev_exists() { dmsetup info "$JIT" > /dev/null 2>&1; }
as() { local u=$1; shift; setpriv --reuid="$u" --regid="$u" --clear-groups -- "$@"; }
# Second factor: oathtool is each uid's authenticator.  A code is taken
# once, so code UID waits for a 30 s step after the one UID used last
# (kept in a file: code runs in command substitutions).
declare -A SEED
enrol() {	# UID: mfa enroll + confirm, seed kept in SEED[UID]
	ok "$1" mfa enroll
	SEED[$1]=$(printf '%s\n' "$TC_OUT" | sed -n 's/.*secret=\([A-Z2-7]*\).*/\1/p')
	[ -n "${SEED[$1]}" ] || fail "no seed in the enrolment of uid $1"
	ok "$1" mfa confirm <<<"$(code "$1")"
}
last_step() { cat "$W/step.$1" 2>/dev/null || echo 0; }
code() {	# UID: a fresh code of UID's enrolment
	local u=$1 step
	step=$(($(date +%s) / 30))
	while [ "$step" -le "$(last_step "$u")" ]; do
		sleep 1
		step=$(($(date +%s) / 30))
	done
	echo "$step" > "$W/step.$u"
	oathtool --totp -b "${SEED[$u]}" --now "@$((step * 30))"
}

# --- a volume with known data ----------------------------------------------------------
info "tenant, volume, data written by the hypervisor"
ok 0 tenant create acme
ok 0 tenant create globex
ok 0 volume create acme vol1 --leg local:$D1 --vm vm1
ok 0 volume create globex db --leg local:$D2
ok 0 --json volume status acme vol1
UUID1=$(printf '%s' "$TC_OUT" | tr -d ' \n' | sed -n 's/.*"uuid":"\([0-9a-f-]*\)".*/\1/p')
ok 1001 volume attach acme vol1
DEV=$(dm_dev_path 'tenant+acme+vol1')
dd if=/dev/urandom of="$W/data" bs=1M count=8 status=none
chmod 644 "$W/data"
SUM=$(sha256sum < "$W/data")
as 1001 dd if="$W/data" of="$DEV" bs=1M oflag=direct status=none || fail "hv write"
ok 1001 volume detach acme vol1

# --- no access by default ---------------------------------------------------------------
info "support without a grant"
refused 3 1002 volume attach acme vol1
refused 4 1002 access open 99
refused 3 1001 access request --tenant acme --volume vol1 --reason x --duration 10
refused 2 1002 access request --tenant acme --volume vol1 --reason x --duration 601
refused 2 1002 access request --tenant acme --volume vol1 --reason "$(printf 'a\tb')" --duration 10
refused 4 1002 access request --tenant acme --volume nosuch --reason x --duration 10

# --- second factor: enrolments -----------------------------------------------------------
info "second factor: refused without an enrolment, the hint names mfa enroll"
ok 1002 access request --tenant acme --volume vol1 --reason "ticket 4710: before enrolment" --duration 60
G0=$(grant_id)
refused 3 1003 access approve "$G0" < /dev/null
case $TC_OUT in *"tenantctl mfa enroll"*) ;; *) fail "no hint naming 'tenantctl mfa enroll'" ;; esac
enrol 1003
enrol 1002
enrol 1005
ok 0 mfa list
# from the next step on, every uid has a fresh code at once
while [ $(($(date +%s) / 30)) -le "$(last_step 1005)" ]; do sleep 1; done

# --- request, approval rules --------------------------------------------------------------
info "request rw, approve ro"
ok 1002 access request --tenant acme --volume vol1 --reason "ticket 4711: fsck after crash" --duration 60 --mode rw
G1=$(grant_id); [ -n "$G1" ] || fail "no request id"
want_state "$G1" pending
info "enrolled: no code, a malformed, a wrong code are refused; the grant stays pending"
refused 3 1003 access approve "$G1" < /dev/null
case $TC_OUT in *"one-time code"*) ;; *) fail "no word of the missing code" ;; esac
refused 2 1003 access approve "$G1" <<<"12345"
BAD=$(oathtool --totp -b "${SEED[1003]}"); BAD=$(printf '%06d' $(((10#$BAD + 1) % 1000000)))
refused 3 1003 access approve "$G1" <<<"$BAD"
want_state "$G1" pending
refused 3 1002 access approve "$G1"		# self, although tenant admin of acme
refused 3 1004 access approve "$G1"		# admin of another tenant
refused 3 0 access approve "$G1"		# the operator
refused 3 1001 access approve "$G1"		# the hypervisor
refused 5 1002 access open "$G1"		# not approved yet
refused 3 1005 access open "$G1"		# someone else's request
refused 2 1003 access approve "$G1" --mode wx
C1003=$(code 1003)
ok 1003 access approve "$G1" --mode ro --note "read-only is enough" <<<"$C1003"
want_state "$G1" approved
info "a code is never taken twice, even inside its window"
ok 1002 access request --tenant acme --volume vol1 --reason "ticket 4716: replay" --duration 60
G6=$(grant_id)
refused 3 1003 access deny "$G6" <<<"$C1003"
case $TC_OUT in *"already used"*) ;; *) fail "replayed code not named as such" ;; esac
want_state "$G6" pending
refused 5 1003 access approve "$G1"		# double approve
refused 5 1003 access deny "$G1"
refused 3 1002 access open "$G1" --mode rw	# ro was approved
refused 3 1005 access open "$G1"

info "open: refused without a code, then a read-only mapping owned by the requester"
refused 3 1002 access open "$G1" < /dev/null
dev_exists && fail "$JIT mapped without a second factor"
ok 1002 access open "$G1" <<<"$(code 1002)"
dev_exists || fail "$JIT not created"
JDEV=$(dm_dev_path "$JIT")
[ "$(stat -Lc %u "$JDEV")" = 1002 ] || fail "$JDEV owned by $(stat -Lc %u "$JDEV"), want 1002"
[ "$(stat -Lc %a "$JDEV")" = 400 ] || fail "$JDEV mode $(stat -Lc %a "$JDEV"), want 400"
[ "$(blockdev --getro "$JDEV")" = 1 ] || fail "$JDEV is not read-only"
[ "$(as 1002 dd if="$JDEV" bs=1M count=8 iflag=direct status=none | sha256sum)" = "$SUM" ] ||
	fail "the requester does not read the volume's data"
expect_fail as 1002 dd if=/dev/zero of="$JDEV" bs=4k count=1 oflag=direct status=none
expect_fail dd if=/dev/zero of="$JDEV" bs=4k count=1 oflag=direct status=none	# root: EROFS
expect_fail as 1001 dd if="$JDEV" of=/dev/null bs=4k count=1 status=none
expect_fail as 1005 dd if="$JDEV" of=/dev/null bs=4k count=1 status=none
[ "$(dd if="$JDEV" bs=1M count=8 status=none | sha256sum)" = "$SUM" ] || fail "data changed"
refused 5 1001 volume attach acme vol1		# the grant holds the volume
refused 5 1002 access open "$G1"		# already open

info "the window ends by itself while a reader runs"
( while as 1002 dd if="$JDEV" of=/dev/null bs=64k count=64 iflag=direct status=none; do :; done ) &
READER=$!
on_exit "kill $READER 2>/dev/null; true"
t0=$(date +%s)
while dev_exists && [ $(($(date +%s) - t0)) -lt 120 ]; do sleep 1; done
dev_exists && fail "$JIT still there 120 s after the reader started (window 60 s)"
wait $READER 2>/dev/null || true
info "mapping gone $(($(date +%s) - t0)) s after the reader started"
want_state "$G1" completed
refused 5 1002 access open "$G1"
refused 5 1003 access revoke "$G1"

# --- revoke during fio reads (rw grant) ---------------------------------------------------
info "revoke an rw grant while fio reads"
C2=$(code 1003)		# codes first: a request is pending for 20 s only
ok 1002 access request --tenant acme --volume vol1 --reason "ticket 4712: restore a file" --duration 300 --mode rw
G2=$(grant_id)
ok 1003 access approve "$G2" <<<"$C2"
ok 1002 access open "$G2" --mode rw <<<"$(code 1002)"
JDEV=$(dm_dev_path "$JIT")
[ "$(stat -Lc %a "$JDEV")" = 600 ] || fail "rw grant: mode $(stat -Lc %a "$JDEV"), want 600"
[ "$(blockdev --getro "$JDEV")" = 0 ] || fail "rw grant mapped read-only"
as 1002 dd if=/dev/urandom of="$JDEV" bs=1M seek=16 count=1 oflag=direct status=none ||
	fail "rw grant: write refused"
dmsetup status "$JIT" > "$W/status.before"
cat "$W/status.before"
grep -q "dm-tenant:acme:vol1" /proc/keys && fail "logon key left in a keyring after open"
as 1002 fio --name=jit --filename="$JDEV" --rw=randread --bs=4k --direct=1 \
	--ioengine=psync --iodepth=1 --numjobs=2 --time_based --runtime=120 \
	> "$W/fio.out" 2>&1 &
FIO=$!
on_exit "kill $FIO 2>/dev/null; true"
sleep 4
kill -0 $FIO 2>/dev/null || { cat "$W/fio.out"; fail "fio stopped before the revoke"; }
kmsg_mark "revoke with fio running"
ok 1003 access revoke "$G2" --note "incident closed"
[ -e "/dev/mapper/$JIT" ] && fail "/dev/mapper/$JIT still there after the revoke (no new open may succeed)"
rc=0
t0=$(date +%s)
while kill -0 $FIO 2>/dev/null && [ $(($(date +%s) - t0)) -lt 30 ]; do sleep 0.5; done
kill -0 $FIO 2>/dev/null && fail "fio still running 30 s after the revoke"
wait $FIO || rc=$?
[ $rc -ne 0 ] || fail "fio succeeded: I/O did not fail after the revoke"
grep -iE 'err|error' "$W/fio.out" | head -n 3
info "fio exited with $rc after the revoke"
sleep 1
dev_exists && fail "$JIT still there after its last user left"
[ -e "/dev/mapper/$JIT" ] && fail "stale node /dev/mapper/$JIT left behind"
grep -q "dm-tenant:acme:vol1" /proc/keys && fail "the volume key is still in a kernel keyring"
dmesg | sed -n '/dmt-mark: revoke with fio running/,$p' | grep -q 'tenant: acme/vol1: key wiped' ||
	fail "the target did not report its key wiped after the revoke"
want_state "$G2" revoked
refused 5 1002 access open "$G2"		# open after revoke
refused 5 1002 access close "$G2"
refused 5 1003 access revoke "$G2"

# --- a pending request expires; deny; close by the requester ----------------------------------
info "pending request expires, deny, close"
ok 1002 access request --tenant acme --volume vol1 --reason "ticket 4713" --duration 60
G3=$(grant_id)
sleep 22
refused 5 1003 access approve "$G3" < /dev/null	# approve after expiry: no code spent
want_state "$G3" expired
C4=$(code 1003)
ok 1002 access request --tenant acme --volume vol1 --reason "ticket 4714" --duration 60
G4=$(grant_id)
ok 1003 access deny "$G4" --note "use the backup instead" <<<"$C4"
want_state "$G4" denied
refused 5 1002 access open "$G4"
C5=$(code 1003)
ok 1005 access request --tenant acme --volume vol1 --reason "ticket 4715" --duration 60
G5=$(grant_id)
ok 1003 access approve "$G5" <<<"$C5"
refused 3 1002 access close "$G5"		# not its grant
ok 1005 access open "$G5" <<<"$(code 1005)"
dev_exists || fail "grant $G5 not open"
ok 1005 access close "$G5"
dev_exists && fail "$JIT still there after close"
want_state "$G5" completed
tc 1005 access list --all
case $TC_OUT in *4711*|*4712*) fail "support 1005 sees the requests of 1002" ;; esac
tc 1004 access list --all
case $TC_OUT in *acme*) fail "globex admin sees acme requests" ;; esac
ok 1001 volume attach acme vol1			# the volume is free again
[ "$(dd if="$(dm_dev_path 'tenant+acme+vol1')" bs=1M count=8 status=none | sha256sum)" = "$SUM" ] ||
	fail "data changed through the grants"
ok 1001 volume detach acme vol1

# --- audit ---------------------------------------------------------------------------
info "audit"
tenantctl audit export > "$W/audit.jsonl" || fail "audit export"
grep '"action":"access\.' "$W/audit.jsonl" | sed 's/"prev_hash.*//' | head -n 60
need() { grep -q "$1" "$W/audit.jsonl" || fail "audit lacks: $1"; }
need "\"uid\":1002,[^}]*\"action\":\"access.request\",\"object\":\"acme/vol1/grant$G1\",\"result\":\"ok\",\"detail\":\"grant $G1 pending, rw 60s, reason: ticket 4711: fsck after crash\""
need "\"uid\":1002,[^}]*\"action\":\"access.approve\",\"object\":\"acme/vol1/grant$G1\",\"result\":\"denied\""
need "\"uid\":1004,[^}]*\"action\":\"access.approve\",\"object\":\"acme/vol1/grant$G1\",\"result\":\"denied\""
need "\"uid\":1003,[^}]*\"action\":\"access.approve\",\"object\":\"acme/vol1/grant$G1\",\"result\":\"ok\",\"detail\":\"grant $G1 approved ro (asked rw) for uid 1002 until 20[0-9-]*T[0-9:]*Z: read-only is enough\""
need "\"action\":\"access.open\",\"object\":\"acme/vol1/grant$G1\",\"result\":\"ok\",\"detail\":\"grant $G1 opened: $JIT ro for uid 1002 until "
need "\"role\":\"daemon\",\"action\":\"access.expire\",\"object\":\"acme/vol1/grant$G1\",\"result\":\"ok\",\"detail\":\"grant $G1 active -> completed (window ended): $JIT suspended, key wiped"
# "removed" or "error table; removed at last close": fio may be gone already
need "\"uid\":1003,[^}]*\"action\":\"access.revoke\",\"object\":\"acme/vol1/grant$G2\",\"result\":\"ok\",\"detail\":\"grant $G2 active -> revoked: $JIT suspended, key wiped, [a-z ;]*removed[a-z ]*; note: incident closed\""
need "\"action\":\"access.expire\",\"object\":\"acme/vol1/grant$G3\",\"result\":\"ok\",\"detail\":\"grant $G3 pending -> expired (no decision in time)\""
need "\"action\":\"access.deny\",\"object\":\"acme/vol1/grant$G4\",\"result\":\"ok\""
need "\"action\":\"access.close\",\"object\":\"acme/vol1/grant$G5\",\"result\":\"ok\""
need "\"uid\":1003,[^}]*\"action\":\"mfa.verify\",\"object\":\"acme/vol1/grant$G1\",\"result\":\"ok\",\"detail\":\"second factor for access.approve: enrolment [0-9]* (totp) checked\""
need "\"uid\":1002,[^}]*\"action\":\"mfa.verify\",\"object\":\"acme/vol1/grant$G1\",\"result\":\"ok\",\"detail\":\"second factor for access.open: enrolment [0-9]* (totp) checked\""
need "\"uid\":1003,[^}]*\"action\":\"mfa.verify\",\"object\":\"acme/vol1/grant$G6\",\"result\":\"denied\",\"detail\":\"second factor for access.deny: enrolment [0-9]*: code already used\""
need "\"uid\":1003,[^}]*\"action\":\"mfa.verify\",\"object\":\"acme/vol1/grant$G1\",\"result\":\"denied\",\"detail\":\"second factor for access.approve: enrolment [0-9]*: wrong code\""
need "\"uid\":1003,[^}]*\"action\":\"mfa.confirm\",\"object\":\"uid1003\",\"result\":\"ok\",\"detail\":\"enrolment [0-9]* active\""
ok 0 audit verify

info "no key bytes in outputs, logs, audit"
sqlite3 "$DB" "SELECT writefile('$W/kek.blob', kek_wrapped) FROM tenants WHERE id = 'acme'" > /dev/null ||
	fail "cannot read the wrapped KEK"
check dmt-libtest export-dek -m "$ST/master.key" -t acme -k "$W/kek.blob" -u "$UUID1" "$D1" "$W/dek"
hex=$(od -An -v -tx1 "$W/dek" | tr -d ' \n')
rm -f "$W/dek"
{ cat "$LOG" "$OUT" "$W/audit.jsonl" "$W/status.before"; dmesg; } | tr 'A-F' 'a-f' > "$W/hay"
for i in 0 16 32 48 64 80 96 112; do
	chunk=${hex:$i:16}
	[ ${#chunk} -eq 16 ] || break
	! grep -q "$chunk" "$W/hay" || fail "bytes of the volume key leaked (hex offset $i)"
done
info "no seed in the daemon's log, the audit chain or the database; no code in the audit"
for u in 1002 1003 1005; do
	! grep -q "${SEED[$u]:0:16}" "$LOG" "$W/audit.jsonl" "$DB"* ||
		fail "the TOTP seed of uid $u leaked"
done
grep -q '"code"' "$W/audit.jsonl" && fail "a code argument reached the audit chain"
grep -q "$C1003" "$LOG" && fail "a code reached the daemon's log"
stop_td
info "done"
