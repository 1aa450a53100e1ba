#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# `make bench-attach`: how fast tenantd makes a volume usable, against
# `cryptsetup open` of a LUKS2 device with cryptsetup's default PBKDF
# (argon2id, cost chosen by cryptsetup's own benchmark in this VM), plus
# tenantd's request rate.  One VM boot:
#
#   scripts/vm/run.sh --bench scripts/bench-attach.sh   (or: make bench-attach)
#   scripts/vm/run.sh -e BENCH_N=3 -e BENCH_REQS=50 --bench scripts/bench-attach.sh
#
# Environment (run.sh -e VAR=VALUE):
#   BENCH_N=N       attach/detach and open/close cycles (default 10)
#   BENCH_REQS=N    `tenantctl volume status` requests (default 200)
#
# Attach latency = from the request to a usable device: `tenantctl volume
# attach` returning plus the first 4 KiB O_DIRECT read succeeding; the same
# for `cryptsetup open` (key file) + first read.  Detach / close are not
# timed.  Requests per second: sequential `tenantctl volume status` calls,
# each a new process and connection (client start-up included), as the
# operator.  Medians over the cycles; absolute figures under TCG emulation
# mean little, the ratio is the point.  Goal: attach at least 10x faster
# than cryptsetup open (PASS/MISS; a MISS is not a failure).
# vm-timeout: 1500
# vm-mem: 3072
# vm-smp: 2
# Clocks from the TSC, not the emulated HPET (Documentation/design.md):
# vm-append: tsc=reliable
# vm-disks: 2x64M
# shellcheck source=tests/vm/lib.sh
. "$DMT_LIB"

N=${BENCH_N:-10}
REQS=${BENCH_REQS:-200}
[[ "$N" =~ ^[1-9][0-9]*$ && "$REQS" =~ ^[1-9][0-9]*$ ]] || fail "bad BENCH_N/BENCH_REQS"
require_cmd tenantd tenantctl cryptsetup
need_module dm-mod
need_module ecb
need_module xts
need_module dm-tenant
set -- $DMT_DISKS
[ $# -ge 2 ] || fail "needs 2 virtio disks"
DT=$1 DC=$2

W=/tmp/bench-attach
ST=/var/lib/dm-tenant
CONF=/etc/dm-tenant/tenantd.conf
export TENANTD_SOCKET=/run/tenantd/tenantd.sock
mkdir -p "$W" /etc/dm-tenant "$ST"
on_exit "rm -rf '$W'"
printf 'operator uid=0\nhypervisor uid=1001 vms=vm1\n' > "$CONF"

now_us() { echo "${EPOCHREALTIME/./}"; }
# median < numbers (one per line), printed with 1 decimal
median() {
	sort -n | awk '{ v[NR] = $1 } END {
		if (NR == 0) exit 1
		m = (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2
		printf "%.1f\n", m }'
}
first_read() {
	dd if="$1" of=/dev/null bs=4k count=1 iflag=direct status=none
}

# -v: debug log with the phase times of every attach and request.
tenantd -v -c "$CONF" -d "$ST/tenantd.db" -k "$ST/master.key" -s "$TENANTD_SOCKET" \
	2>> "$W/tenantd.log" &
TD_PID=$!
on_exit 'kill -TERM $TD_PID 2>/dev/null; wait $TD_PID 2>/dev/null; true'
wait_for_file "$TENANTD_SOCKET" 20 || { cat "$W/tenantd.log"; fail "tenantd did not start"; }
on_exit 'dmsetup remove --retry tenant+bench+vol 2>/dev/null; cryptsetup close bench-luks 2>/dev/null; true'
tenantctl tenant create bench > /dev/null || fail "tenant create"
tenantctl volume create bench vol --leg "local:$DT" --vm vm1 > /dev/null || fail "volume create"

info "tenantd: $N x (volume attach + first 4 KiB read), detach untimed"
: > "$W/attach.ms"
: > "$W/request.ms"
for i in $(seq 1 "$N"); do
	t0=$(now_us)
	tenantctl volume attach bench vol --vm vm1 > /dev/null || fail "attach $i"
	tm=$(now_us)
	first_read /dev/mapper/tenant+bench+vol || fail "first read $i"
	t1=$(now_us)
	awk -v a="$t0" -v b="$tm" 'BEGIN { printf "%.1f\n", (b - a) / 1000 }' >> "$W/request.ms"
	awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.1f\n", (b - a) / 1000 }' >> "$W/attach.ms"
	tenantctl volume detach bench vol > /dev/null || fail "detach $i"
done
echo "    attach ms: $(tr '\n' ' ' < "$W/attach.ms")"

info "cryptsetup: luksFormat (LUKS2, default PBKDF), then $N x (open + first 4 KiB read)"
head -c 64 /dev/urandom > "$W/luks.key"
chmod 600 "$W/luks.key"
t0=$(now_us)
cryptsetup luksFormat --type luks2 -q --key-file "$W/luks.key" "$DC" ||
	fail "luksFormat"
t1=$(now_us)
echo "    luksFormat took $(( (t1 - t0) / 1000 )) ms; keyslot 0:"
cryptsetup luksDump "$DC" | sed -n '/^Keyslots:/,/^Tokens:/p' |
	grep -E 'PBKDF|Time cost|Memory|Threads|Cipher:' | sed 's/^[[:space:]]*/      /'
: > "$W/open.ms"
for i in $(seq 1 "$N"); do
	t0=$(now_us)
	cryptsetup open --key-file "$W/luks.key" "$DC" bench-luks || fail "open $i"
	first_read /dev/mapper/bench-luks || fail "first read $i (luks)"
	t1=$(now_us)
	awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.1f\n", (b - a) / 1000 }' >> "$W/open.ms"
	cryptsetup close bench-luks || fail "close $i"
done
echo "    open ms: $(tr '\n' ' ' < "$W/open.ms")"

info "tenantd: $REQS x volume status (sequential, one tenantctl process each)"
t0=$(now_us)
for i in $(seq 1 "$REQS"); do
	tenantctl volume status bench vol > /dev/null || fail "status $i"
done
t1=$(now_us)
RPS=$(awk -v n="$REQS" -v a="$t0" -v b="$t1" 'BEGIN { printf "%.1f", n / ((b - a) / 1e6) }')
# The client's own start-up (exec, dynamic linking, no connection).
t2=$(now_us)
for i in $(seq 1 "$REQS"); do
	tenantctl --help > /dev/null 2>&1 || fail "tenantctl --help"
done
t3=$(now_us)
REQ_MS=$(awk -v n="$REQS" -v a="$t0" -v b="$t1" 'BEGIN { printf "%.1f", (b - a) / 1000 / n }')
EXEC_MS=$(awk -v n="$REQS" -v a="$t2" -v b="$t3" 'BEGIN { printf "%.1f", (b - a) / 1000 / n }')

# phase FIELD: median of "FIELD X ms" over the daemon's attach timing lines
phase() {
	grep -o "attach timing: .*" "$W/tenantd.log" |
		grep -o "$1 [0-9.]* ms" | awk '{ print $2 }' | median
}
P_LEGS=$(phase legs) P_DEK=$(phase dek) P_DEV=$(phase device) P_LIB=$(phase total)
P_REQ=$(grep -o 'request timing: volume.attach [^:]*: [0-9.]* ms' "$W/tenantd.log" |
	awk '{ print $(NF - 1) }' | median)
A=$(median < "$W/attach.ms")
AR=$(median < "$W/request.ms")
O=$(median < "$W/open.ms")
R=$(awk -v a="$A" -v o="$O" 'BEGIN { printf "%.1f", o / a }')
GOAL=$(awk -v r="$R" 'BEGIN { print (r >= 10) ? "PASS" : "MISS" }')
kill -TERM "$TD_PID"; wait "$TD_PID" || fail "tenantd exited with an error"
TD_PID=
cat <<EOF

==== bench-attach results (N=$N, medians; TCG emulation: compare ratios) ====
  tenantd volume attach + first read   $A ms
    of which the attach request         $AR ms (tenantctl start-up included)
      in tenantd (request to reply)      $P_REQ ms, of which libdmtenant $P_LIB ms:
        leg headers checked              $P_LEGS ms
        DEK from a keyslot               $P_DEK ms
        table load + resume              $P_DEV ms
  cryptsetup open (LUKS2) + first read $O ms
  ratio cryptsetup / tenantd           ${R}x
  goal: attach at least 10x faster     $GOAL
  volume status                        $RPS requests/s ($REQS sequential)
    per request $REQ_MS ms, of which tenantctl start-up alone $EXEC_MS ms
EOF
