#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# tenantd retries a failed remote leg by itself (remote): a volume
# made with tenantctl of legs local (/dev/ram0), remote (/dev/mapper/rbk
# over /dev/ram1: no network, the leg only has to be of class remote) and
# local (/dev/mapper/lbk over /dev/ram2), tenantd running with
# "monitor-interval 1".
#  1. a remote leg failed through tenantd (leg fail) is held: not retried
#     until the operator's leg recover;
#  2. rbk swapped to an error table, writes: the leg fails (D); tenantd
#     retries it with back-off (each retry re-fails it: 2..5 retries in
#     12 s, not one a second), volume status shows the retry; rbk healed:
#     without any operator action the leg is caught up (a, then streaming
#     and A) within 60 s; "daemon.leg-retry" records in the audit chain,
#     which verifies; the three data areas byte-identical (cmp);
#  3. a failed LOCAL leg (lbk on an error table) is never retried.
# vm-timeout: 900
# shellcheck source=tests/vm/lib.sh
. "$DMT_LIB"
# shellcheck source=tests/vm/tenant-lib.sh
. "$DMT_ROOT/tests/vm/tenant-lib.sh"
# shellcheck source=tests/vm/remote-lib.sh
. "$DMT_ROOT/tests/vm/remote-lib.sh"

require_cmd tenantd tenantctl setpriv cmp dmsetup
tenant_setup
brd_setup 3 40
LEGSZ=$(blockdev --getsz /dev/ram1)
check dmsetup create rbk --table "0 $LEGSZ linear /dev/ram1 0"
on_exit "dmsetup remove --retry rbk"
check dmsetup create lbk --table "0 $LEGSZ linear /dev/ram2 0"
on_exit "dmsetup remove --retry lbk"

# shellcheck source=tests/vm/tenantd-lib.sh
. "$DMT_ROOT/tests/vm/tenantd-lib.sh"
NAME=tenant+acme+rr
DATA_OFF=16384		# libdmtenant: LUKS2 data offset (8 MiB)

cat > "$CONF" <<EOF
operator uid=0
hypervisor uid=1001 vms=vm1
monitor-interval 1
EOF

states() { mirror_leg_states "$NAME"; }
# swap DEV TABLE: load a new table under a leg
swap() {
	check dmsetup suspend "$1"
	check dmsetup load "$1" --table "$2"
	check dmsetup resume "$1"
}
# write MIB SEEK_MIB: random data through the volume, flushed
write() {
	dd if=/dev/urandom of="$DEV" bs=1M count="$1" seek="$2" oflag=direct \
		conv=fsync status=none || fail "write to $DEV failed"
}
# retries LEG: daemon.leg-retry records of that leg in the audit chain
retries() {
	tenantctl audit export > "$W/audit.jsonl" || fail "audit export"
	grep -c "\"action\":\"daemon.leg-retry\",\"object\":\"acme/rr/leg$1\"" \
		"$W/audit.jsonl" || true
}
# wait_state LEG STATE SECONDS
wait_state() {
	local end=$((SECONDS + $3))
	while [ "$(states | cut -c$(($1 + 1)))" != "$2" ]; do
		[ $SECONDS -le $end ] ||
			fail "leg $1 not $2 after $3 s: $(dmsetup status "$NAME")"
		sleep 0.2
	done
}
# cmp_legs: the data areas of the three legs byte-identical
cmp_legs() {
	local d
	for d in /dev/mapper/rbk /dev/mapper/lbk; do
		cmp <(dd if=/dev/ram0 bs=1M skip=$((DATA_OFF * 512)) \
			count=$((LEN * 512)) iflag=direct,skip_bytes,count_bytes status=none) \
		    <(dd if="$d" bs=1M skip=$((DATA_OFF * 512)) \
			count=$((LEN * 512)) iflag=direct,skip_bytes,count_bytes status=none) ||
			fail "data area of $d differs from /dev/ram0 ($1)"
	done
	info "data areas of the three legs identical (cmp, $LEN sectors): $1"
}

start_td
grep -q "leg monitor: every 1 s" "$LOG" || fail "tenantd did not start the monitor: $(cat "$LOG")"

ok 0 tenant create acme
ok 0 volume create acme rr --leg local:/dev/ram0 --leg remote:/dev/mapper/rbk \
	--leg local:/dev/mapper/lbk --vm vm1
ok 1001 volume attach acme rr
DEV=$(dm_dev_path "$NAME")
LEN=$(blockdev --getsz "$DEV")
mirror_wait_idle "$NAME" 300
remote_wait "$NAME" 1 streaming 120
[ "$(states)" = AAA ] || fail "legs $(states) after the initial sync"
write 8 0
remote_wait "$NAME" 1 streaming 60
info "attached, in sync: $(dmsetup status "$NAME")"

# --- 1: a leg the operator failed through tenantd is held ---
ok 0 leg fail acme rr 1
[ "$(remote_field "$NAME" 1 mode)" = failed ] || fail "leg fail: $(dmsetup status "$NAME")"
write 2 8
sleep 4
[ "$(remote_field "$NAME" 1 mode)" = failed ] ||
	fail "a remote leg failed by the operator was retried: $(dmsetup status "$NAME")"
[ "$(retries 1)" = 0 ] || fail "retry audited for a held leg"
ok 0 volume status acme rr
case $TC_OUT in *"leg 1 failed through tenantd: not retried"*) ;;
*) fail "volume status does not show the held leg" ;; esac
ok 0 leg recover acme rr 1
remote_wait "$NAME" 1 streaming 120
info "1: held leg not retried; the operator's recover caught it up"

# --- 2: the remote device fails writes, then comes back ---
swap rbk "0 $LEGSZ error"
write 4 12
wait_state 1 D 30
info "remote leg failed: $(dmsetup status "$NAME")"
# the monitor notices it at its next scan (1 s)
i=0
until tc 0 volume status acme rr >/dev/null && case $TC_OUT in *"retry:      leg 1 failed"*) true ;; *) false ;; esac; do
	i=$((i + 1))
	[ $i -lt 10 ] || fail "volume status does not show the retry state"
	sleep 0.5
done
write 2 16		# more to catch up on
sleep 12
n=$(retries 1)
info "retries of leg 1 in about 12 s of outage (interval 1 s): $n"
[ "$n" -ge 2 ] || fail "tenantd retried leg 1 $n times in 12 s (want >= 2)"
[ "$n" -le 5 ] || fail "tenantd retried leg 1 $n times in 12 s: no back-off"
grep "daemon.leg-retry" "$W/audit.jsonl" | tail -1
grep -q "\"action\":\"daemon.leg-retry\",\"object\":\"acme/rr/leg1\",\"result\":\"ok\",\"detail\":\"leg 1 recover: attempt 2," \
	"$W/audit.jsonl" || fail "second retry not audited as such"
grep -q "remote leg 1: leg 1 recover: attempt 1" "$LOG" || fail "retry not logged"
ok 0 volume status acme rr
case $TC_OUT in *"retry:      leg 1 failed "*" retries, next in "*) ;;
*) fail "volume status does not show the retries" ;; esac
[ "$(states)" = ADA ] || [ "$(states)" = AaA ] || fail "legs $(states) while the remote fails"

t0=$SECONDS
kmsg_mark "heal rbk"
swap rbk "0 $LEGSZ linear /dev/ram1 0"
info "remote device healed; no operator action from here"
seen_a=0
end=$((SECONDS + 60))
while :; do
	s=$(states)
	[ "$s" != AaA ] || seen_a=1
	[ "$s" = AAA ] && [ "$(remote_field "$NAME" 1 mode)" = streaming ] &&
		[ "$(remote_field "$NAME" 1 bytes)" = 0 ] && break
	[ $SECONDS -le $end ] || fail "leg 1 not back 60 s after the heal: $(dmsetup status "$NAME")"
	sleep 0.2
done
info "leg 1 streaming again $((SECONDS - t0)) s after the heal (caught up seen: $seen_a)"
[ "$(remote_field "$NAME" 1 consistent)" = yes ] || fail "not consistent after catch-up"
# the way back is the kernel's catch-up (a, then A), never a leg marked in sync
dmesg | sed -n '/dmt-mark: heal rbk/,$p' | grep -q "acme/rr: remote leg 1 catching up" ||
	fail "no catch-up started after the heal (kernel log)"
dmesg | sed -n '/dmt-mark: heal rbk/,$p' | grep -q "acme/rr: remote leg 1 caught up" ||
	fail "catch-up not in the kernel log"
sleep 2
grep -q "acme/rr: remote leg 1 in sync again" "$LOG" || fail "tenantd did not log the leg back"
ok 0 volume status acme rr
case $TC_OUT in *"retry:"*) fail "retry state kept after the leg is back" ;; esac
n1=$(retries 1)
cmp_legs "after the automatic catch-up"

# --- 3: a failed local leg is never retried ---
swap lbk "0 $LEGSZ error"
write 2 20
wait_state 2 D 30
sleep 5
[ "$(states | cut -c3)" = D ] || fail "local leg 2 came back by itself: $(states)"
[ "$(retries 2)" = 0 ] || fail "tenantd retried a local leg"
[ "$(retries 1)" = "$n1" ] || fail "leg 1 retried while in sync"
! grep -q "remote leg 2" "$LOG" || fail "the monitor acted on local leg 2"
info "3: local leg 2 stays failed, no retry"
swap lbk "0 $LEGSZ linear /dev/ram2 0"
ok 0 leg recover acme rr 2
mirror_wait_idle "$NAME" 300
[ "$(states)" = AAA ] || fail "legs $(states) after the operator's recover"
remote_wait "$NAME" 1 streaming 60
cmp_legs "after the operator recovered the local leg"

tenantctl audit export > "$W/audit.jsonl" || fail "audit export"
tenantctl audit verify "$W/audit.jsonl" > /dev/null || fail "audit chain does not verify"
grep "daemon.leg-retry" "$W/audit.jsonl" | grep -q '"role":"daemon"' ||
	fail "retries not recorded as daemon actions"
ok 1001 volume detach acme rr
stop_td
grep -q "leg monitor" "$LOG" || true
info "tenantd log:"
sed 's/^/    /' "$LOG" | grep -E "monitor|remote leg" | tail -20
