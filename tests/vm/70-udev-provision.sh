#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# udev provisioning and hypervisor attach, with Debian's systemd-udevd
# running our rules (69-dm-tenant.rules + dmt-udev) and tenantd:
#  - the legs of a three-leg volume are scsi_debug disks (one host and one
#    RAM store each), so they can vanish (sysfs delete: a real remove
#    event, even while the volume holds them) and come back (host rescan:
#    a real add event, under a new device number while the old one is
#    still held);
#  - all legs gone, auto-attach on, legs plugged back one by one (in
#    reverse order: they come back under each other's device names):
#    nothing until the last one, then the volume is attached for its VM: the
#    /dev/disk/by-tenant link appears, node owned by the VM's hypervisor
#    (uid 1001), mode 0600;
#  - qemu-io as uid 1001 writes and reads it; as the other hypervisor
#    (uid 1005, VM vm2) it is refused (EACCES);
#  - a leg vanishes: tenantd fails it at once (ADA), writes go on; it
#    comes back: table reloaded with the new device, leg recovered, AAA,
#    legs byte-identical, data intact; owner and link survive the reload;
#  - two legs vanish (ADD) and return one at a time: the first waits
#    (a reload needs every leg), the second brings the reload that
#    recovers both;
#  - a leg of a volume tenantd does not know is reported (audited
#    not-found, logged) and never used;
#  - `tenantctl attach --libvirt` prints a <disk> for the by-tenant link;
#    the libvirt hook ("release") detaches the VM's volumes: link gone;
#  - tenantd restarts while a process of uid 1001 (the "VM") holds the
#    disk, the owner file and the attachment record lost meanwhile: the
#    volume is adopted, its owner file written again, and after a change
#    event the node is still the hypervisor's;
#  - leg reports from a non-root uid are refused; the audit chain verifies.
# vm-timeout: 1500
# shellcheck source=tests/vm/lib.sh
. "$DMT_LIB"
# shellcheck source=tests/vm/tenant-lib.sh
. "$DMT_ROOT/tests/vm/tenant-lib.sh"

require_cmd tenantd tenantctl setpriv udevadm qemu-io dmt-libtest losetup sqlite3
UDEVD=/usr/lib/systemd/systemd-udevd
[ -x "$UDEVD" ] || skip "no systemd-udevd in the image"
[ -x /usr/lib/udev/dmt-udev ] || skip "dmt-udev not installed in the image"
[ -f /usr/lib/udev/rules.d/69-dm-tenant.rules ] || skip "69-dm-tenant.rules missing"
need_module dm-mod
need_module ecb
need_module xts
need_module dm-tenant
need_module loop

# With udev running, libdevmapper syncs with it (cookies) and 55-dm.rules
# makes /dev/mapper; the VM's default is "no udev".
unset DM_DISABLE_UDEV

NAME=tenant+acme+rep
LINK=/dev/disk/by-tenant/acme/rep
DATA_OFF=16384

# --- udevd ---------------------------------------------------------------------
"$UDEVD" --daemon 2> /tmp/udevd.err || { cat /tmp/udevd.err; fail "systemd-udevd did not start"; }
on_exit 'udevadm control --exit 2>/dev/null; true'
udevadm control --log-level=info 2>/dev/null || true
settle() { udevadm settle -t 120 || fail "udev did not settle"; }
udevadm trigger --action=add --subsystem-match=block
settle
info "systemd-udevd runs with $(ls /usr/lib/udev/rules.d | tr '\n' ' ')"

# --- legs: three scsi_debug hosts, each with its own RAM store ---------------------
# no 80-drivers.rules here: load the disk driver ourselves
modprobe sd_mod || skip "sd_mod not available"
# delay=0: commands complete in the submitting thread.  With the default
# delay scsi_debug queues them and, when its queue is full (easily, under
# emulation), fails writes with DID_ABORT / TASK SET FULL, which fails legs.
modprobe scsi_debug dev_size_mb=40 per_host_store=1 add_host=3 delay=0 ||
	skip "scsi_debug not available"
on_exit 'timeout 30 modprobe -r scsi_debug 2>/dev/null; true'
settle
HOSTS=$(ls -d /sys/bus/pseudo/drivers/scsi_debug/adapter*/host* | sed 's|.*/host||' | sort -n)
set -- $HOSTS
[ $# -eq 3 ] || fail "want 3 scsi_debug hosts, have: $HOSTS"
H0=$1 H1=$2 H2=$3
# disk_of HOST: /dev/sdX of that scsi host (empty when it has none)
disk_of() {
	local b
	for b in /sys/class/scsi_host/host$1/device/target*/*/block/*; do
		[ -e "$b" ] && { echo "/dev/${b##*/}"; return; }
	done
}
unplug() {	# unplug HOST: the disk vanishes (remove event)
	local d
	d=$(disk_of "$1")
	echo 1 > "/sys/block/${d#/dev/}/device/delete" || fail "cannot delete $d"
	settle
	[ -z "$(disk_of "$1")" ] || fail "$d still there"
	info "unplugged $d (host $1)"
}
plug() {	# plug HOST: rescan, the disk comes back (add event)
	echo "- - -" > "/sys/class/scsi_host/host$1/scan"
	settle
	[ -n "$(disk_of "$1")" ] || fail "host $1 has no disk after rescan"
	info "plugged $(disk_of "$1") (host $1)"
}
D0=$(disk_of "$H0") D1=$(disk_of "$H1") D2=$(disk_of "$H2")
[ -b "$D0" ] && [ -b "$D1" ] && [ -b "$D2" ] ||
	fail "scsi_debug disks missing: '$D0' '$D1' '$D2' ($(ls /sys/block))"
info "legs on $D0 $D1 $D2"

# Sourced after udevd and scsi_debug: its cleanups (remove tenant devices,
# stop tenantd) then run before theirs (cleanups run last-in first-out;
# scsi_debug cannot go while a volume holds its disks).
# shellcheck source=tests/vm/tenantd-lib.sh
. "$DMT_ROOT/tests/vm/tenantd-lib.sh"
cat > "$CONF" <<EOF
operator uid=0
hypervisor uid=1001 vms=vm1
hypervisor uid=1005 vms=vm2
EOF
start_td
audit_has() {	# audit_has REGEX: some audit record matches
	rm -f "$W/audit.jsonl"
	tenantctl audit export -o "$W/audit.jsonl" > /dev/null 2>&1 || fail "audit export"
	grep -qE "$1" "$W/audit.jsonl"
}
as_hv() { setpriv --reuid=1001 --regid=1001 --clear-groups -- "$@"; }
as_hv2() { setpriv --reuid=1005 --regid=1005 --clear-groups -- "$@"; }

info "a three-leg volume for vm1; udev reports its legs as they are formatted"
ok 0 tenant create acme
ok 0 volume create acme rep --leg local:$D0 --leg local:$D1 --leg zone:$D2 --vm vm1
udevadm trigger --action=change --subsystem-match=block --sysname-match='sd*'
settle
for i in 0 1 2; do
	audit_has "\"uid\":0,.*\"action\":\"leg.seen\",\"object\":\"acme/rep/leg$i\",\"result\":\"ok\"" ||
		{ cat "$LOG"; fail "leg $i of acme/rep not reported by udev"; }
done
[ ! -e "$LINK" ] || fail "attached without auto-attach"

info "only root may report legs (udev runs as root)"
refused 3 1001 leg seen "$D0"
refused 3 1005 leg gone "$D0"
refused 3 1001 volume auto acme rep on

info "all legs unplugged, auto-attach on, legs plugged back one by one"
unplug "$H0"; unplug "$H1"; unplug "$H2"
for i in 0 1 2; do
	audit_has "\"action\":\"leg.gone\",\"object\":\"acme/rep/leg$i\",\"result\":\"ok\"" ||
		fail "unplugged leg $i not reported gone"
done
ok 0 volume auto acme rep on
case $TC_OUT in *"0/3 legs present"*) ;; *) fail "volume auto: $TC_OUT" ;; esac
# In reverse order, so the disks come back under each other's names
# (leg 2 on the name leg 0 had): tenantd follows the headers, not names.
plug "$H2"
plug "$H1"
[ ! -e "$LINK" ] && ! dmsetup info "$NAME" > /dev/null 2>&1 ||
	fail "assembled with two of three legs"
info "two of three legs present: not assembled"
T0=${EPOCHREALTIME/./}
plug "$H0"
wait_for_file "$LINK" 60 || { cat "$LOG"; fail "$LINK did not appear"; }
info "last disk plugged to /dev/disk/by-tenant link: $(((${EPOCHREALTIME/./} - T0) / 1000)) ms (scan, udev, tenantd attach)"
D0=$(disk_of "$H0") D1=$(disk_of "$H1") D2=$(disk_of "$H2")
info "assembled: $LINK -> $(readlink -f "$LINK")"
audit_has '"role":"daemon","action":"volume.auto-attach","object":"acme/rep","result":"ok"' ||
	fail "auto-attach not audited"
DEV=$(readlink -f "$LINK")
owner_ok() {
	local s
	s=$(stat -L -c '%u:%g %a' "$LINK")
	[ "$s" = "1001:1001 600" ] || fail "$LINK is $s, want 1001:1001 600 ($1)"
}
owner_ok "after auto-attach"
[ -e /run/dm-tenant/owner/$NAME ] || fail "no owner file for udev"
dmsetup table "$NAME" | grep -q ' 3 local .* local .* zone ' || fail "table: $(dmsetup table "$NAME")"
mirror_wait_idle "$NAME" 600
[ "$(mirror_leg_states "$NAME")" = AAA ] || fail "states $(mirror_leg_states "$NAME")"

info "qemu-io as the hypervisor of vm1 writes and reads; vm2's hypervisor is refused"
as_hv qemu-io -f raw -c 'write -P 0xab 0 1M' -c 'write -P 0x5c 4M 2M' "$LINK" > "$W/q1" 2>&1 ||
	{ cat "$W/q1"; fail "qemu-io write as uid 1001"; }
as_hv qemu-io -f raw -c 'read -P 0xab 0 1M' -c 'read -P 0x5c 4M 2M' "$LINK" > "$W/q2" 2>&1 ||
	{ cat "$W/q2"; fail "qemu-io read as uid 1001"; }
grep -q "Pattern verification failed" "$W/q2" && fail "read back other data"
rc=0
as_hv2 qemu-io -f raw -c 'read 0 4k' "$LINK" > "$W/q3" 2>&1 || rc=$?
[ $rc -ne 0 ] && grep -q "Permission denied" "$W/q3" ||
	{ cat "$W/q3"; fail "qemu-io as uid 1005 (vm2) was not refused with EACCES"; }
info "uid 1005: $(head -n1 "$W/q3")"
rc=0
as_hv2 qemu-io -f raw -c 'write -P 0xee 0 4k' "$DEV" > "$W/q4" 2>&1 || rc=$?
[ $rc -ne 0 ] || fail "uid 1005 wrote vm1's device $DEV"

info "leg 1 vanishes: failed at once, the volume runs degraded"
unplug "$H1"
audit_has '"action":"leg.gone","object":"acme/rep/leg1","result":"ok","detail":"[^"]*degraded' ||
	{ cat "$LOG"; fail "leg.gone did not degrade the volume"; }
[ "$(mirror_leg_states "$NAME")" = ADA ] || fail "states $(mirror_leg_states "$NAME"), want ADA"
as_hv qemu-io -f raw -c 'write -P 0xcd 1M 2M' "$LINK" > "$W/q5" 2>&1 ||
	{ cat "$W/q5"; fail "write while degraded"; }
info "written while degraded"

info "leg 1 comes back: reloaded with its new device, recovered"
plug "$H1"
D1=$(disk_of "$H1")
audit_has '"action":"leg.seen","object":"acme/rep/leg1","result":"ok","detail":"[^"]*recovering' ||
	{ cat "$LOG"; fail "returning leg not recovered"; }
DN=$(printf '%d:%d' "0x$(stat -c %t "$D1")" "0x$(stat -c %T "$D1")")
dmsetup table "$NAME" | grep -q " $DN " ||
	fail "table does not use $D1 ($DN): $(dmsetup table "$NAME")"
info "the table uses $D1 ($DN) for leg 1"
mirror_wait_idle "$NAME" 600
[ "$(mirror_leg_states "$NAME")" = AAA ] || fail "states $(mirror_leg_states "$NAME"), want AAA"
as_hv qemu-io -f raw -c 'read -P 0xab 0 1M' -c 'read -P 0xcd 1M 2M' -c 'read -P 0x5c 4M 2M' \
	"$LINK" > "$W/q6" 2>&1 || { cat "$W/q6"; fail "read after recovery"; }
grep -q "Pattern verification failed" "$W/q6" && fail "data changed"
owner_ok "after the reload"
LEN=$(blockdev --getsz "$DEV")
s0=$(leg_data_sum "$D0" $DATA_OFF "$LEN")
s1=$(leg_data_sum "$D1" $DATA_OFF "$LEN")
s2=$(leg_data_sum "$D2" $DATA_OFF "$LEN")
[ "$s0" = "$s1" ] && [ "$s1" = "$s2" ] || fail "legs differ after recovery: $s0 $s1 $s2"
info "legs byte-identical after the resync"

info "legs 1 and 2 vanish, then return one at a time: both recovered by the reload the second brings"
unplug "$H1"
unplug "$H2"
[ "$(mirror_leg_states "$NAME")" = ADD ] || fail "states $(mirror_leg_states "$NAME"), want ADD"
as_hv qemu-io -f raw -c 'write -P 0x77 3M 1M' "$LINK" > "$W/q7" 2>&1 ||
	{ cat "$W/q7"; fail "write on one leg"; }
plug "$H1"
audit_has '"action":"leg.seen","object":"acme/rep/leg1","result":"ok","detail":"[^"]*waiting' ||
	{ cat "$LOG"; fail "leg 1 back while leg 2 is missing: not 'waiting'"; }
[ "$(mirror_leg_states "$NAME")" = ADD ] || fail "states $(mirror_leg_states "$NAME") while leg 2 is missing"
plug "$H2"
audit_has '"action":"leg.seen","object":"acme/rep/leg2","result":"ok","detail":"[^"]*recovering' ||
	{ cat "$LOG"; fail "leg 2 back: not recovering"; }
mirror_wait_idle "$NAME" 600
[ "$(mirror_leg_states "$NAME")" = AAA ] || fail "states $(mirror_leg_states "$NAME"), want AAA (leg 1 pending?)"
as_hv qemu-io -f raw -c 'read -P 0xab 0 1M' -c 'read -P 0xcd 1M 2M' -c 'read -P 0x77 3M 1M' \
	-c 'read -P 0x5c 4M 2M' "$LINK" > "$W/q8" 2>&1 || { cat "$W/q8"; fail "read after the second recovery"; }
grep -q "Pattern verification failed" "$W/q8" && fail "data changed"
D0=$(disk_of "$H0") D1=$(disk_of "$H1") D2=$(disk_of "$H2")
s0=$(leg_data_sum "$D0" $DATA_OFF "$LEN")
s1=$(leg_data_sum "$D1" $DATA_OFF "$LEN")
s2=$(leg_data_sum "$D2" $DATA_OFF "$LEN")
[ "$s0" = "$s1" ] && [ "$s1" = "$s2" ] || fail "legs differ after the second recovery: $s0 $s1 $s2"
owner_ok "after the second reload"
info "AAA, data intact, legs byte-identical"

info "a leg of a volume tenantd does not know: reported, never used"
dd if=/dev/zero of="$W/ghost.img" bs=1M count=20 status=none
GL=$(losetup -f --show "$W/ghost.img") || fail "losetup"
on_exit "losetup -d $GL 2>/dev/null; true"
dmt-libtest master-create "$W/g.master" > /dev/null || fail "master"
dmt-libtest kek-new -m "$W/g.master" -t ghost "$W/g.kek" > /dev/null || fail "kek"
dmt-libtest create -m "$W/g.master" -t ghost -k "$W/g.kek" -v g1 local:"$GL" > /dev/null ||
	fail "formatting the foreign leg"
udevadm trigger --action=change "$GL"
settle
audit_has '"action":"leg.seen","object":"ghost/g1/leg0","result":"not-found"' ||
	{ cat "$LOG"; fail "foreign leg not reported"; }
grep -q "leg 0 of unknown volume ghost/g1" "$LOG" || fail "foreign leg not logged"
ok 0 volume list
case $TC_OUT in *ghost*) fail "foreign leg adopted" ;; esac
dmsetup ls | grep -q ghost && fail "foreign leg mapped"
losetup -d "$GL"
settle

info "tenantctl attach --libvirt, the libvirt hook on VM stop"
ok 1001 detach --vm vm1
settle
[ ! -e "$LINK" ] || fail "$LINK left after detach"
[ ! -e /run/dm-tenant/owner/$NAME ] || fail "owner file left after detach"
ok 1001 attach acme rep --vm vm1 --libvirt --target vdc
settle
printf '%s\n' "$TC_OUT" | grep -q "<source dev='/dev/[^']*'/>" || fail "no <source> in: $TC_OUT"
printf '%s\n' "$TC_OUT" | grep -q "<target dev='vdc' bus='virtio'/>" || fail "no <target>"
[ -e "$LINK" ] || fail "$LINK missing after attach"
owner_ok "after tenantctl attach"
rc=0; tc 1005 attach acme rep --vm vm1 || rc=$?
[ $rc -eq 3 ] || fail "vm2's hypervisor attached vm1's volume (exit $rc)"

info "tenantd restarts while a VM holds its disk, then a change event"
# The "VM": a process of the hypervisor's uid with the disk open.
DEV=$(readlink -f "$LINK")
setpriv --reuid=1001 --regid=1001 --clear-groups -- \
	sh -c 'exec 3< "$1"; exec sleep 600' vm "$LINK" &
VM_PID=$!	# setpriv, then sh, then sleep: one process
on_exit "kill $VM_PID 2>/dev/null; true"
for _ in $(seq 100); do
	[ "$(readlink "/proc/$VM_PID/fd/3" 2>/dev/null)" = "$DEV" ] && break
	sleep 0.1
done
[ "$(readlink "/proc/$VM_PID/fd/3")" = "$DEV" ] || fail "the VM process did not open $DEV"
stop_td
# While tenantd was down, /run/dm-tenant was emptied and the attachment
# is not recorded: at the start it is adopted.
rm -f "/run/dm-tenant/owner/$NAME"
sqlite3 "$DB" "UPDATE attachments SET detached = 'x', detach_reason = 'test' WHERE detached IS NULL" ||
	fail "sqlite3"
start_td
grep -q "adopted 1" "$LOG" || fail "the live volume was not adopted"
[ -e "/run/dm-tenant/owner/$NAME" ] || fail "owner file not written again at the start"
udevadm trigger --action=change "$DEV"
settle
owner_ok "after a restart and a change event"
as_hv qemu-io -f raw -r -c 'read 0 64k' "$LINK" > "$W/q3" 2>&1 ||
	{ cat "$W/q3"; fail "the hypervisor cannot open its VM's disk after the restart"; }
kill "$VM_PID"
wait "$VM_PID" 2>/dev/null
ok 0 volume status acme rep
HOOK=/usr/share/dm-tenant/libvirt-qemu-hook
if [ -x "$HOOK" ]; then
	TENANTCTL_AS=hv "$HOOK" vm1 started begin - < /dev/null || fail "hook (started)"
	[ -e "$LINK" ] || fail "the hook detached on 'started'"
	TENANTCTL_AS=hv "$HOOK" vm1 release end - < /dev/null || fail "hook (release)"
	settle
	[ ! -e "$LINK" ] || fail "the hook did not detach vm1's volume"
	info "the libvirt hook detached vm1's volume"
else
	ok 1001 detach --vm vm1
	info "hook not in the image; detached with tenantctl"
fi
audit_has '"uid":1001,.*"action":"volume.detach","object":"acme/rep","result":"ok"' ||
	fail "detach not audited"

info "audit and leaks"
ok 0 audit verify
ok 0 volume delete acme rep
ok 0 tenant delete acme
stop_td
info "done"
