#!/bin/bash
# Just-in-time access across tenantd restarts (Documentation/jit-access.md):
#   - a pending request survives a restart and is approved afterwards;
#   - an active grant survives a restart: the mapping stays readable by
#     the requester, and the restarted daemon ends it on time (device gone,
#     key wiped, audited) while a reader holds it open;
#   - a grant whose window ended while tenantd was down is closed at start
#     (mapping removed before the socket listens);
#   - a grant mapping that no active grant holds (database edited behind
#     tenantd's back) is removed at start; reconcile never adopts it as a
#     VM attachment.
# vm-long: yes
# vm-timeout: 600
# vm-disks: 1x48M
. "$DMT_LIB"

require_cmd tenantd tenantctl sqlite3 setpriv
need_module dm-mod
need_module ecb
need_module xts
set -- $DMT_DISKS
[ $# -ge 1 ] || skip "needs 1 virtio disk"
D1=$1

# shellcheck source=tests/vm/tenantd-lib.sh
. "$DMT_ROOT/tests/vm/tenantd-lib.sh"

cat > "$CONF" <<EOF
operator uid=0
hypervisor uid=1001 vms=vm1
support uid=1002
tenant-admin uid=1003 tenant=acme
# restarts, not the second factor (50-access-flow tests that)
mfa-required none
EOF
start_td

JIT=jit+acme+vol1
grant_id() { printf '%s\n' "$TC_OUT" | sed -n 's/^access request \([0-9]*\):.*/\1/p' | head -n1; }
state_of() {
	tc 0 --json access list --all > /dev/null || fail "access list"
	printf '%s\n' "$TC_OUT" | tr -d ' \n' | sed 's/},{/}\n{/g' |
		sed -n "s/.*\"id\":$1,.*\"state\":\"\([a-z]*\)\".*/\1/p"
}
want_state() { local s; s=$(state_of "$1"); [ "$s" = "$2" ] || fail "grant $1 is '$s', want '$2'"; }
dev_exists() { dmsetup info "$JIT" > /dev/null 2>&1; }
as() { local u=$1; shift; setpriv --reuid="$u" --regid="$u" --clear-groups -- "$@"; }

ok 0 tenant create acme
ok 0 volume create acme vol1 --leg local:$D1 --vm vm1

info "a pending request survives a restart"
ok 1002 access request --tenant acme --volume vol1 --reason "ticket 1: restart check" --duration 30
G1=$(grant_id)
stop_td
start_td
want_state "$G1" pending
ok 1003 access approve "$G1"
ok 1002 access open "$G1"
JDEV=$(dm_dev_path "$JIT")

info "an active grant survives a restart and ends on time"
stop_td
dev_exists || fail "stopping tenantd removed the grant's mapping"
start_td
want_state "$G1" active
dev_exists || fail "restarting tenantd removed an active grant's mapping"
as 1002 dd if="$JDEV" of=/dev/null bs=64k count=16 iflag=direct status=none ||
	fail "requester cannot read after the restart"
tc 0 volume status acme vol1
case $TC_OUT in *"attached:   no"*) ;; *) fail "reconcile adopted the grant mapping as an attachment" ;; esac
( while as 1002 dd if="$JDEV" of=/dev/null bs=64k count=64 iflag=direct status=none; do :; done ) &
READER=$!
on_exit "kill $READER 2>/dev/null; true"
t0=$(date +%s)
while dev_exists && [ $(($(date +%s) - t0)) -lt 60 ]; do sleep 1; done
dev_exists && fail "$JIT still there 60 s after the window"
wait $READER 2>/dev/null || true
want_state "$G1" completed

info "a window that ends while tenantd is down is closed at start"
ok 1002 access request --tenant acme --volume vol1 --reason "ticket 2: down" --duration 12
G2=$(grant_id)
ok 1003 access approve "$G2"
ok 1002 access open "$G2"
dev_exists || fail "grant $G2 not open"
stop_td
sleep 14
dev_exists || fail "the mapping vanished without tenantd"
start_td		# the socket appears only after the startup sweep
dev_exists && fail "an expired grant's mapping survived the start"
want_state "$G2" completed

info "a mapping no grant holds is removed at start"
ok 1002 access request --tenant acme --volume vol1 --reason "ticket 3: orphan" --duration 300
G3=$(grant_id)
ok 1003 access approve "$G3"
ok 1002 access open "$G3"
stop_td
sqlite3 "$DB" "UPDATE access_grants SET state = 'revoked' WHERE id = $G3" || fail "edit"
start_td
dev_exists && fail "a mapping without an active grant survived the start"

info "audit"
tenantctl audit export > "$W/audit.jsonl" || fail "audit export"
grep '"action":"access\.' "$W/audit.jsonl" | sed 's/"prev_hash.*//'
need() { grep -q "$1" "$W/audit.jsonl" || fail "audit lacks: $1"; }
need "\"action\":\"access.expire\",\"object\":\"acme/vol1/grant$G1\",\"result\":\"ok\",\"detail\":\"grant $G1 active -> completed (window ended): $JIT suspended, key wiped"
need "\"action\":\"access.expire\",\"object\":\"acme/vol1/grant$G2\",\"result\":\"ok\",\"detail\":\"grant $G2 active -> completed (window ended): $JIT suspended, key wiped, removed\""
need "\"action\":\"access.startup\",\"object\":\"\",\"result\":\"ok\",\"detail\":\"closed 1 due, 0 active kept"
need "\"action\":\"access.orphan\",\"object\":\"$JIT\",\"result\":\"ok\",\"detail\":\"no active grant holds it: $JIT suspended, key wiped, removed\""
# the startup records come after daemon.start and before any request
awk -F'"action":"' '{ split($2, a, "\""); print a[1] }' "$W/audit.jsonl" |
	grep -n . | grep -E 'daemon.start|access.startup' | tail -n 2
ok 0 audit verify
stop_td
info "done"
