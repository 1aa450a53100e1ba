# shellcheck shell=bash
# SPDX-License-Identifier: GPL-2.0
# Demo act (sourced by scripts/demo.sh): udev provisioning and hypervisor
# attach.  Plugging in a tenant's disks brings its volume up for its VM,
# with no hand work: Debian's systemd-udevd runs our rules, tenantd
# assembles.  Uses demo.sh's say/run/show, TD_CONF/TD_ST/TD_W, and the
# hypervisor helper.  Documentation/udev-hypervisor.md.

say "Provisioning by udev: tenant disks that appear are reported to tenantd, which brings their volume up."
UDEVD=/usr/lib/systemd/systemd-udevd
if [ ! -x "$UDEVD" ] || [ ! -f /usr/lib/udev/rules.d/69-dm-tenant.rules ]; then
	echo "    (no systemd-udevd or no dm-tenant rules in this image: act skipped)"
else
	# With udev, libdevmapper leaves /dev/mapper to udev's rules (and waits
	# for udev at every device change).  Everything this act set up is torn
	# down by udev_act_end, in order, before udevd stops; then libdevmapper
	# goes back to making nodes itself (earlier acts' cleanups need that).
	unset DM_DISABLE_UDEV
	"$UDEVD" --daemon 2>/dev/null || fail "systemd-udevd did not start"
	udev_act_end() {
		tenantctl detach hooli db > /dev/null 2>&1
		if [ -n "$TD_PID" ]; then
			kill -TERM "$TD_PID"; wait "$TD_PID"
		fi 2>/dev/null
		TD_PID=
		for d in ${DISK_db0:-} ${DISK_db1:-}; do
			losetup -d "$d" 2>/dev/null
		done
		DISK_db0='' DISK_db1=''
		udevadm settle -t 60 2>/dev/null
		udevadm control --exit 2>/dev/null
		export DM_DISABLE_UDEV=1
		true
	}
	on_exit udev_act_end
	udevadm trigger --action=add --subsystem-match=block
	udevadm settle -t 60
	echo "    systemd-udevd runs with 69-dm-tenant.rules; the rule's helper reads each LUKS2"
	echo "    header (udev's blkid does not say which subsystem it belongs to) and reports legs."
	run grep -v '^#' /usr/lib/udev/rules.d/69-dm-tenant.rules
	tenantd -c "$TD_CONF" -d "$TD_ST/tenantd.db" -k "$TD_ST/master.key" \
		-s "$TENANTD_SOCKET" 2>>"$TD_W/tenantd.log" &
	TD_PID=$!
	wait_for_file "$TENANTD_SOCKET" 20 || { cat "$TD_W/tenantd.log"; fail "tenantd did not start"; }
	settle() { udevadm settle -t 120; }
	# plug NAME: the disk NAME (a file) appears as a loop device
	plug() {
		local l
		l=$(losetup -f --show "$TD_W/$1.img") || fail "losetup"
		eval "DISK_$1=$l"
		settle
		echo "    plugged in $1 as $l"
	}
	unplug() {
		local l
		eval "l=\$DISK_$1"
		losetup -d "$l" || fail "losetup -d $l"
		settle
		echo "    unplugged $1 ($l)"
	}
	LINK=/dev/disk/by-tenant/hooli/db

	say "A new tenant, hooli: the operator creates its volume 'db' on two disks, for vm1."
	run tenantctl tenant create hooli
	for d in db0 db1; do
		truncate -s 40M "$TD_W/$d.img"
		plug "$d"
	done
	run tenantctl volume create hooli db --leg "local:$DISK_db0" --leg "zone:$DISK_db1" --vm vm1
	settle
	echo "    udev saw the new legs and told tenantd. The disks go away (the host is recabled):"
	unplug db0
	unplug db1
	echo "    The operator marks the volume for automatic attach; no leg is present now:"
	run tenantctl volume auto hooli db on

	say "Plugging hooli's disks back in, one at a time."
	plug db1
	echo "    one of two legs is present: tenantd records it and waits."
	[ ! -e "$LINK" ] || fail "assembled with one leg"
	plug db0
	wait_for_file "$LINK" 60 || { tail "$TD_W/tenantd.log"; fail "$LINK did not appear"; }
	settle
	echo "    both legs are present: the volume is up for vm1, owned by vm1's hypervisor (uid 1001):"
	run ls -lL "$LINK"
	run tenantctl volume status hooli db
	echo "    What tenantd wrote down (its log, then the audit records of the legs):"
	grep -E 'leg .* moved|all 2 legs present' "$TD_W/tenantd.log" | sed 's/^/      /'
	rm -f "$TD_W/audit-udev.jsonl"
	tenantctl audit export -o "$TD_W/audit-udev.jsonl" >/dev/null 2>&1
	grep -E '"object":"hooli/db' "$TD_W/audit-udev.jsonl" | grep -E 'leg\.(seen|gone)|auto-attach' |
		sed -E 's/.*"uid":([0-9]+).*"role":"([^"]*)".*"action":"([^"]*)".*"object":"([^"]*)".*"result":"([^"]*)".*"detail":"([^"]*)".*/\1 \2 \3 \4 \5 \6/' |
		awk '{ d = $6; for (i = 7; i <= NF; i++) d = d " " $i; printf "      uid %-4s %-8s %-18s %-16s %-3s %s\n", $1, $2, $3, $4, $5, d }'

	say "The hypervisor uses the device with QEMU's own tool; nobody else may open it."
	run hypervisor qemu-io -f raw -c 'write -P 0x42 0 1M' -c 'read -P 0x42 0 1M' "$LINK"
	refused support qemu-io -f raw -c 'read 0 4k' "$LINK"

	say "vm1 stops: libvirt's hook detaches its volumes; it starts again: the hypervisor attaches for libvirt."
	run /usr/share/dm-tenant/libvirt-qemu-hook vm1 release end -
	settle
	[ ! -e "$LINK" ] || fail "$LINK still there after the hook"
	echo "    the by-tenant link is gone with the device."
	run hypervisor tenantctl attach hooli db --vm vm1 --libvirt
	echo "    (this element goes to 'virsh attach-device vm1 disk.xml --live'; the hypervisor never saw a key)"
	run hypervisor tenantctl detach --vm vm1
	kill -TERM "$TD_PID"; wait "$TD_PID" || fail "tenantd exited with an error"
	TD_PID=
	udev_act_end
fi
