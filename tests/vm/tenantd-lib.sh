# SPDX-License-Identifier: GPL-2.0
# tenantd fixture for VM tests; source after lib.sh, then write "$CONF"
# and call start_td.  tenantd runs as root; tc runs tenantctl as any uid.

W=/tmp/td
ST=/var/lib/dm-tenant
CONF=/etc/dm-tenant/tenantd.conf
SOCK=/run/tenantd/tenantd.sock
DB=$ST/tenantd.db
LOG=$W/tenantd.log
OUT=$W/outputs		# every tenantctl output, for leak checks
mkdir -p "$W" /etc/dm-tenant "$ST"
chmod 755 "$W"
: > "$OUT"
on_exit "rm -rf '$W'"
export TENANTD_SOCKET=$SOCK

TD_PID=
start_td() {
	rm -f "$SOCK"
	tenantd -c "$CONF" -d "$DB" -k "$ST/master.key" -s "$SOCK" \
		2>> "$LOG" &
	TD_PID=$!
	wait_for_file "$SOCK" 20 || { cat "$LOG"; fail "tenantd did not start"; }
}
# stop_td: SIGTERM must end tenantd cleanly, socket removed
stop_td() {
	[ -n "$TD_PID" ] || return 0
	kill -TERM "$TD_PID"
	local rc=0
	wait "$TD_PID" || rc=$?
	TD_PID=
	[ "$rc" -eq 0 ] || fail "tenantd exited with $rc on SIGTERM"
	[ ! -e "$SOCK" ] || fail "tenantd left its socket behind"
}
on_exit 'if [ -n "$TD_PID" ]; then kill -TERM $TD_PID; wait $TD_PID; fi 2>/dev/null; true'
on_exit 'for d in $(dmsetup ls --target tenant 2>/dev/null | cut -f1); do dmsetup remove --retry "$d"; done 2>/dev/null; true'

# tc USER ARGS...: tenantctl as USER (0 = root); output kept in $OUT and
# printed on the test output; returns tenantctl's exit code.
tc() {
	local u=$1 rc=0 o
	shift
	if [ "$u" = 0 ]; then
		o=$(tenantctl "$@" 2>&1) || rc=$?
	else
		o=$(setpriv --reuid="$u" --regid="$u" --clear-groups -- \
			env TENANTD_SOCKET="$SOCK" tenantctl "$@" 2>&1) || rc=$?
	fi
	printf '%s\n' "$o" >> "$OUT"
	printf '%s\n' "$o" | sed "s/^/    [$u rc=$rc] /"
	TC_OUT=$o
	return "$rc"
}
# ok USER ARGS...: must succeed
ok() { tc "$@" || fail "tenantctl as uid $1 failed: ${*:2}"; }
# refused CODE USER ARGS...: must exit CODE
refused() {
	local want=$1 rc=0
	shift
	tc "$@" || rc=$?
	[ "$rc" -eq "$want" ] || fail "uid $1: '${*:2}' exited $rc, want $want"
}
