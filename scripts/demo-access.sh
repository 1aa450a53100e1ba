# SPDX-License-Identifier: GPL-2.0
# shellcheck shell=bash
# `make demo`, act "Just-in-time access" (Documentation/jit-access.md).
# Sourced by scripts/demo.sh after the control-plane act: uses its helpers
# (say, run, show, refused_with, as_uid, support), its tenantd files
# ($TD_CONF, $TD_ST, $TD_W) and the volume initech/web, detached.

say "Just-in-time access: support gets nothing by default, only an approved, time-boxed grant."
cat >>"$TD_CONF" <<EOF
# initech's own administrator approves access to initech's data
tenant-admin uid=1003 tenant=initech
# a request nobody decides within 60 s expires; no grant lasts over 8 h
access-pending-ttl 60
access-max-duration 28800
EOF
echo "    initech's tenant admin is uid 1003; tenantd starts again with it configured:"
run tail -n 4 "$TD_CONF"
tenantd -c "$TD_CONF" -d "$TD_ST/tenantd.db" -k "$TD_ST/master.key" \
	-s "$TENANTD_SOCKET" 2>>"$TD_W/tenantd.log" &
TD_PID=$!
wait_for_file "$TENANTD_SOCKET" 20 || { cat "$TD_W/tenantd.log"; fail "tenantd did not start"; }
tenant_admin() { as_uid 1003 "$@"; }

say "A support engineer (uid 1002) must look at vm1's boot disk. Without a grant: refused."
refused_with 3 support tenantctl volume attach initech web

say "So they ask: one volume, a reason, 20 seconds, read-only (the default)."
out=$(support tenantctl access request --tenant initech --volume web \
	--reason "case 1234: vm1 does not boot, check its boot sector" \
	--duration 20 2>&1) || fail "access request: $out"
printf '%s\n' "$out" | sed 's/^/      /'
GID=$(printf '%s\n' "$out" | sed -n 's/^access request \([0-9]*\):.*/\1/p')
echo "    Support cannot approve it (nor could the requester's uid if it also were a tenant admin):"
refused_with 3 support tenantctl access approve "$GID"
echo "    Nor may they open it before a tenant admin said yes:"
refused_with 5 support tenantctl access open "$GID"

say "initech's tenant admin (uid 1003) approves it - but approving needs a second factor."
echo "    A stolen shell of the admin's uid must not be enough. Without an enrolled authenticator:"
refused_with 3 tenant_admin tenantctl access approve "$GID" </dev/null
# The demo runs unattended: oathtool stands in for the phone's authenticator app.
authenticator() { oathtool --totp -b "$1"; }
# enrol UID: tenantctl mfa enroll + confirm as UID; prints the seed
enrol() {
	local u=$1 out seed
	out=$(as_uid "$u" tenantctl mfa enroll 2>&1) || fail "mfa enroll: $out"
	printf '%s\n' "$out" | sed 's/secret=[A-Z2-7]*/secret=<seed, shown once>/; s/^/      /' >&2
	seed=$(printf '%s\n' "$out" | sed -n 's/.*secret=\([A-Z2-7]*\).*/\1/p')
	[ -n "$seed" ] || fail "no seed in the enrolment"
	echo "      (on a terminal: a QR code to scan, then the prompt 'One-time code for mfa.confirm:')" >&2
	out=$(authenticator "$seed" | as_uid "$u" tenantctl mfa confirm 2>&1) ||
		fail "mfa confirm: $out"
	printf '%s\n' "$out" | sed 's/^/      /' >&2
	printf '%s\n' "$seed"
}
# wait_step STEP: a code is accepted once; wait for a 30 s step after STEP
wait_step() { while [ $(($(date +%s) / 30)) -le "$1" ]; do sleep 1; done; }
say "The admin enrols an authenticator (TOTP): shown once, stored wrapped by tenantd."
ADMIN_SEED=$(enrol 1003)
echo "    (support enrols too, for opening the grant later)"
SUPPORT_SEED=$(enrol 1002)
SUPPORT_STEP=$(($(date +%s) / 30))
wait_step "$SUPPORT_STEP"	# both codes fresh from here on
echo "    Now tenantd asks for a code. Without one (no terminal, nothing on standard input):"
refused_with 3 tenant_admin tenantctl access approve "$GID" </dev/null
echo "    A wrong code:"
refused_with 3 tenant_admin tenantctl access approve "$GID" --code 000000
CODE=$(authenticator "$ADMIN_SEED")
echo "    The authenticator shows $CODE; the admin types it at the prompt (here: on standard input):"
run tenant_admin tenantctl access approve "$GID" --note "read-only, 20 s, go ahead" <<<"$CODE"
echo "    The same code again is refused, even inside its 30 s window (never twice):"
out=$(support tenantctl access request --tenant initech --volume web \
	--reason "case 1235: second look" --duration 20 2>&1) || fail "access request: $out"
GID2=$(printf '%s\n' "$out" | sed -n 's/^access request \([0-9]*\):.*/\1/p')
refused_with 3 tenant_admin tenantctl access deny "$GID2" <<<"$CODE"

say "Support opens the grant, with its own second factor: a read-only mapping only uid 1002 may open."
wait_step "$SUPPORT_STEP"
t_open=$(date +%s)
run support tenantctl access open "$GID" <<<"$(authenticator "$SUPPORT_SEED")"
JDEV=$(dm_dev_path jit+initech+web)
run ls -lL "$JDEV"
echo "    Support reads the boot sector:"
run support head -c 72 "$JDEV"
echo
echo "    Writing is refused (the mapping is read-only, the node mode 0400):"
refused support dd if=/dev/zero of="$JDEV" bs=4k count=1 oflag=direct status=none
echo "    The hypervisor cannot use this mapping, and cannot attach the volume meanwhile:"
refused hypervisor dd if="$JDEV" of=/dev/null bs=4k count=1 status=none
refused_with 5 hypervisor tenantctl volume attach initech web

say "Support keeps reading. When the 20 seconds are up tenantd suspends the mapping,"
echo "    wipes its key in the kernel and removes it, with the reader still running."
( while support dd if="$JDEV" of=/dev/null bs=64k count=16 iflag=direct status=none 2>/dev/null
  do sleep 0.2; done
  echo "      reader: $(date +%T) read failed, the reader stops" ) &
reader=$!
while dmsetup info jit+initech+web >/dev/null 2>&1 &&
	[ $(($(date +%s) - t_open)) -lt 90 ]; do
	sleep 2
	echo "      $(date +%T) still mapped"
done
wait $reader || true
dmsetup info jit+initech+web >/dev/null 2>&1 && fail "the grant's mapping outlived the grant"
echo "    The mapping is gone $(($(date +%s) - t_open)) s after it was opened:"
refused support head -c 72 "$JDEV"
run tenantctl access list --all
echo "    Opening it again is refused: a grant is used once, within its window."
refused_with 5 support tenantctl access open "$GID"

say "Every step is in the audit chain, with the reason, the approver, the times and the second factor (never the code)."
tenantctl audit export -o "$TD_W/audit2.jsonl" || fail "audit export"
grep -E '"action":"(access|mfa)\.' "$TD_W/audit2.jsonl" |
	sed -E 's/.*"time":"([^".]*)[^"]*".*"uid":([0-9]+).*"role":"([^"]*)".*"action":"([^"]*)".*"result":"([^"]*)","detail":"([^"]*)".*/\1 \2 \3 \4 \5 \6/' |
	awk '{ t = $1; u = $2; r = $3; a = $4; res = $5; $1 = $2 = $3 = $4 = $5 = "";
	       sub(/^ +/, ""); printf "    %s uid %-4s %-12s %-15s %-7s %s\n", t, u, r, a, res, $0 }'
run tenantctl audit verify
kill -TERM "$TD_PID"; wait "$TD_PID" || fail "tenantd exited with an error"
TD_PID=
