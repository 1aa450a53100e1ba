#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# tenantd's metrics on a real volume (Documentation/tenantd.md, "Metrics"):
# a volume of two legs (local, zone) attached by the hypervisor and
# written; the textfile (metrics-textfile, every second) passes
# `promtool check metrics`, shows both legs up to date, the write counter
# and the attach latency; `tenantctl metrics` gives the same families
# (operator; the hypervisor is refused, exit 3); a leg failed through
# tenantd shows as failed, and after
# `leg recover` `volume status --watch` returns once the volume is idle,
# in sync again.  Bad input: a full disk and then a file where the
# directory should be: each logged once, tenantd keeps serving, and the
# file is written again once the directory is usable.
# vm-timeout: 600
# vm-disks: 2x48M
# shellcheck source=tests/vm/lib.sh
. "$DMT_LIB"
# shellcheck source=tests/vm/tenant-lib.sh
. "$DMT_ROOT/tests/vm/tenant-lib.sh"

require_cmd tenantd tenantctl setpriv promtool
need_module dm-mod
need_module ecb
need_module xts
need_module dm-tenant
set -- $DMT_DISKS
[ $# -ge 2 ] || skip "needs 2 virtio disks"
D1=$1 D2=$2

# shellcheck source=tests/vm/tenantd-lib.sh
. "$DMT_ROOT/tests/vm/tenantd-lib.sh"
NAME=tenant+acme+m
PD=/tmp/prom			# node_exporter's textfile directory
PROM=$PD/dm-tenant.prom
mkdir -p "$PD"
mount -t tmpfs -o size=256k tmpfs "$PD" || fail "cannot mount a tmpfs"
on_exit "umount '$PD' 2>/dev/null; rm -rf '$PD'"

cat > "$CONF" <<EOF
operator uid=0
hypervisor uid=1001 vms=vm1
metrics-textfile $PROM
metrics-interval 1
EOF

as_hv() { setpriv --reuid=1001 --regid=1001 --clear-groups -- "$@"; }
# sample NAME LABELS: the value of the sample whose labels start so
sample() {
	grep -F "$1{$2" "$PROM" | head -1 | awk '{print $NF}'
}
# wait_sample NAME LABELS WANT [SECONDS]: until the file shows it
wait_sample() {
	local i=0 v
	while v=$(sample "$1" "$2"); [ "$v" != "$3" ]; do
		i=$((i + 1))
		[ $i -le $((${4:-60} * 5)) ] ||
			fail "$1{$2...} is '$v', want $3: $(grep -F "$1{" "$PROM")"
		sleep 0.2
	done
}
promcheck() {
	promtool check metrics < "$1" || fail "promtool: $1 is not valid"
}

start_td

info "a volume of two legs, attached by the hypervisor, written"
ok 0 tenant create acme
ok 0 volume create acme m --leg local:$D1 --leg zone:$D2 --vm vm1
ok 1001 volume attach acme m
DEV=$(dm_dev_path "$NAME")
mirror_wait_idle "$NAME" 600
as_hv dd if=/dev/urandom of="$DEV" bs=1M count=4 oflag=direct conv=notrunc \
	status=none || fail "hypervisor write failed"
# <writes>: after 3 dm fields, 4 fixed, 3 per leg and <reads>
W4=$(set -- $(dmsetup status "$NAME"); n=$((7 + 3 * $7 + 2)); echo "${!n}")
[ "$W4" -gt 0 ] || fail "no writes counted: $(dmsetup status "$NAME")"

info "the textfile: valid, leg states, counters, attach latency"
L='tenant="acme",volume="m"'
wait_sample dmtenant_device_writes_total "$L" "$W4"
promcheck "$PROM"
wait_sample dmtenant_leg_state "$L,leg=\"0\",class=\"local\",state=\"up_to_date\"" 1
wait_sample dmtenant_leg_state "$L,leg=\"1\",class=\"zone\",state=\"up_to_date\"" 1
wait_sample dmtenant_volume_attached "$L" 1
wait_sample dmtenant_device_outofsync_regions "$L" 0
wait_sample dmtenant_device_sync_action "$L,action=\"idle\"" 1
wait_sample dmtenant_status_errors "$L" 0
wb=$(sample dmtenant_device_written_bytes_total "$L")
[ "${wb:-0}" -ge $((4 << 20)) ] || fail "written bytes '$wb' < 4 MiB"
lat=$(sample dmtenant_attach_last_duration_seconds "$L")
awk -v l="$lat" 'BEGIN { exit !(l > 0 && l < 600) }' ||
	fail "attach latency '$lat'"
info "attach took $lat s"
[ "$(stat -c %a "$PROM")" = 644 ] || fail "textfile mode $(stat -c %a "$PROM")"
[ "$(find "$PD" -name '.*' -type f | wc -l)" = 0 ] ||
	fail "temporary files left: $(ls -a "$PD")"

info "tenantctl metrics: the operator's, refused for the hypervisor"
ok 0 metrics
printf '%s\n' "$TC_OUT" > "$W/metrics.txt"
promcheck "$W/metrics.txt"
grep -q "^dmtenant_leg_state{$L,leg=\"1\",class=\"zone\",state=\"up_to_date\",host=\".*\"} 1$" \
	"$W/metrics.txt" || fail "tenantctl metrics lacks the zone leg"
refused 3 1001 metrics

info "a failed leg, then recovered and watched"
ok 0 leg fail acme m 1
as_hv dd if=/dev/urandom of="$DEV" bs=1M count=4 seek=8 oflag=direct \
	conv=notrunc status=none || fail "hypervisor write failed"
wait_sample dmtenant_leg_state "$L,leg=\"1\",class=\"zone\",state=\"failed\"" 1
wait_sample dmtenant_leg_state "$L,leg=\"1\",class=\"zone\",state=\"up_to_date\"" 0
oos=$(sample dmtenant_device_outofsync_regions "$L")
[ "$oos" -ge 0 ] 2>/dev/null || fail "regions out of sync: '$oos'"
promcheck "$PROM"
ok 0 leg recover acme m 1
ok 0 volume status acme m --watch
printf '%s\n' "$TC_OUT" | grep -Eq '^sync: +[0-9]+/[0-9]+ regions in sync, (idle|resync|recover)' ||
	fail "volume status shows no sync line"
mirror_wait_idle "$NAME" 600
[ "$(mirror_leg_states "$NAME")" = AA ] ||
	fail "--watch returned, legs $(mirror_leg_states "$NAME")"
wait_sample dmtenant_leg_state "$L,leg=\"1\",class=\"zone\",state=\"up_to_date\"" 1
wait_sample dmtenant_device_outofsync_regions "$L" 0

info "bad input: a full disk, logged once, still serving"
n0=$(grep -c 'metrics: cannot write' "$LOG" || true)
[ "$n0" = 0 ] || fail "metrics errors before the test: $(grep metrics "$LOG")"
dd if=/dev/zero of="$PD/fill" bs=4k status=none 2>/dev/null || true
sleep 4				# four intervals
[ "$(grep -c 'metrics: cannot write' "$LOG")" = 1 ] ||
	fail "want one log line: $(grep metrics "$LOG")"
grep 'metrics: cannot write' "$LOG" | grep -q 'No space left' ||
	fail "the log does not say why: $(grep metrics "$LOG")"
ok 0 volume status acme m
promcheck "$PROM"		# the last good file stays whole
[ "$(find "$PD" -name '.*' -type f | wc -l)" = 0 ] ||
	fail "temporary files left on a full disk: $(ls -a "$PD")"
rm -f "$PD/fill"
i=0
until grep -q 'metrics: .* written again' "$LOG"; do
	i=$((i + 1)); [ $i -le 150 ] || fail "not written again after space came back"
	sleep 0.2
done

info "bad input: a file where the directory was, logged once, still serving"
umount "$PD"
rmdir "$PD"
echo junk > "$PD"
sleep 4
[ "$(grep -c 'metrics: cannot write' "$LOG")" = 2 ] ||
	fail "want one more log line: $(grep metrics "$LOG")"
grep 'metrics: cannot write' "$LOG" | tail -1 | grep -q 'Not a directory' ||
	fail "the log does not say why: $(grep metrics "$LOG" | tail -1)"
ok 0 volume status acme m
ok 0 metrics
rm -f "$PD"
mkdir -p "$PD"
i=0
until [ -s "$PROM" ]; do
	i=$((i + 1)); [ $i -le 150 ] || fail "not written after the directory came back"
	sleep 0.2
done
promcheck "$PROM"

ok 1001 volume detach acme m
wait_sample dmtenant_volume_attached "$L" 0
stop_td
info "metrics: ok"
