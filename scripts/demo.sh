#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# `make demo`: the dm-tenant story, told inside the test VM.
# vm-timeout: 1500
. "$DMT_LIB"
. "$DMT_ROOT/tests/vm/tenant-lib.sh"

say() { printf '\n==> %s\n' "$*"; }
# run CMD...: show and run a step that must succeed; refused CMD...: one
# that must fail.  Either way a surprise stops the demo loudly.
show() { printf '    $ %s\n' "$*"; "$@" 2>&1 | sed 's/^/      /'; return "${PIPESTATUS[0]}"; }
run() { show "$@" || fail "demo step failed: $*"; }
refused() { ! show "$@" || fail "demo step should have been refused: $*"; }

tenant_setup
need_module loop
brd_setup 1 64
LEG=/dev/ram0

say "A host with one shared disk ($LEG, 64 MiB). Tenant 'acme' gets a volume 'books' on its first 32 MiB."
say "acme's volume key (512 random bits) enters the kernel keyring as a 'logon' key."
echo "    No process can read a logon key back; only the kernel can use it."
tenant_key_new acme books 64
run keyctl show @u
echo "    Reading it back fails, as it must:"
refused keyctl print "$(keyctl search @u logon dm-tenant:acme:books)"

TABLE=$(tenant_table acme books $LEG 0 65536 allow_discards)
say "The volume is mapped by the 'tenant' target. The table names the key, never holds it:"
echo "    $TABLE"
run dmsetup create acme-books --table "$TABLE"
on_exit "dmsetup remove --force acme-books 2>/dev/null || true"
echo "    The keyring copy is unlinked: from now on only the target holds the key."
tenant_key_unlink acme books
run dmsetup table --showkeys acme-books
run dmsetup status acme-books

say "acme writes a filesystem and a confidential file on its volume."
DEV=$(dm_dev_path acme-books)
run mkfs.ext4 -q "$DEV"
mkdir -p /mnt/books
run mount -t ext4 "$DEV" /mnt/books
for i in $(seq 1 2000); do echo "ACME CONFIDENTIAL: quarterly results line $i"; done >/mnt/books/results.txt
sync
run ls -l /mnt/books
echo "    Through the volume the file reads as written:"
run grep -c "ACME CONFIDENTIAL" /mnt/books/results.txt

say "What the shared disk itself holds: only ciphertext."
echo 3 >/proc/sys/vm/drop_caches
n=$(dd if=$LEG bs=1M count=32 2>/dev/null | strings | grep -c "ACME CONFIDENTIAL")
echo "    lines of 'ACME CONFIDENTIAL' found on the raw disk: $n"
[ "$n" = 0 ] || fail "plaintext found on the leg"
echo "    first bytes of the volume's area on the disk:"
dd if=$LEG bs=64 count=1 2>/dev/null | od -An -tx1 | sed 's/^/     /'

say "Tenant 'globex' tries to map acme's extent with its own key: refused."
tenant_key_new globex spy 64
refused dmsetup create globex-spy --table "$(tenant_table globex spy $LEG 0 65536)"
dmesg | grep "overlaps volume" | tail -1 | sed 's/^/    kernel: /'
say "globex tries to open acme's volume with globex's key: refused, the key is bound to its tenant."
refused dmsetup create stolen --table "0 65536 tenant acme books aes-xts-plain64 :64:logon:dm-tenant:globex:spy 0 1 local $LEG 0"
dmesg | grep "another tenant" | tail -1 | sed 's/^/    kernel: /'
echo "    globex's own volume on the free half of the disk works:"
run dmsetup create globex-spy --table "$(tenant_table globex spy $LEG 65536 65536)"
on_exit "dmsetup remove globex-spy 2>/dev/null || true"


say "Redundancy: acme's second volume 'ledger' has two local legs and one in another zone."
need_module dm-flakey
META=2048 LEN=65536
for i in 1 2 3; do
	truncate -s 40M /tmp/zone$i.img
	loop=$(losetup -f --show /tmp/zone$i.img) || fail "losetup"
	on_exit "losetup -d $loop"
	eval "LOOP$i=$loop"
	run dmsetup create disk$i --table "0 $((META + LEN)) linear $loop 0"
	on_exit "dmsetup remove --retry disk$i 2>/dev/null || true"
done
tenant_key_new acme ledger 64
LTABLE="0 $LEN tenant acme ledger aes-xts-plain64 :64:logon:dm-tenant:acme:ledger 0 3 local /dev/mapper/disk1 $META local /dev/mapper/disk2 $META zone /dev/mapper/disk3 $META 1 metadata:$META"
echo "    Every write is encrypted once and lands on all three disks; a write-intent"
echo "    bitmap on each disk remembers which regions may differ after a crash."
run dmsetup create acme-ledger --table "$LTABLE"
on_exit "umount /mnt/ledger 2>/dev/null; dmsetup remove --retry acme-ledger 2>/dev/null || true"
tenant_key_unlink acme ledger
mirror_wait_idle acme-ledger 300
run dmsetup status acme-ledger
LDEV=$(dm_dev_path acme-ledger)
run mkfs.ext4 -q "$LDEV"
mkdir -p /mnt/ledger
run mount -t ext4 "$LDEV" /mnt/ledger
seq 1 20000 >/mnt/ledger/before.txt
sync

say "Disk 2 dies while the filesystem is busy: every write to it now fails."
( i=0; while [ $i -lt 200 ]; do echo "entry $i" >>/mnt/ledger/during.txt; sync; i=$((i + 1)); done ) &
writer=$!
run dmsetup suspend disk2
run dmsetup load disk2 --table "0 $((META + LEN)) error"
run dmsetup resume disk2
wait $writer || fail "the filesystem saw an error"
echo "    The volume carried on; the status names the failed disk (D) and the kernel log says why:"
run dmsetup status acme-ledger
dmesg | grep "failed:" | tail -1 | sed 's/^/    kernel: /'
run tail -1 /mnt/ledger/during.txt
run sha256sum /mnt/ledger/before.txt

say "The disk is replaced by a working one; the operator puts the leg back."
run dmsetup suspend disk2
run dmsetup load disk2 --table "0 $((META + LEN)) linear $LOOP2 0"
run dmsetup resume disk2
echo "    A failed leg never returns on its own: it stays D until the operator says so."
run dmsetup message acme-ledger 0 leg 1 recover
mirror_wait_idle acme-ledger 300
echo "    Only the regions written while it was away were copied back:"
run dmsetup status acme-ledger
run umount /mnt/ledger
run e2fsck -fn "$LDEV"
a=$(leg_data_sum /dev/mapper/disk1 $META $LEN)
b=$(leg_data_sum /dev/mapper/disk2 $META $LEN)
c=$(leg_data_sum /dev/mapper/disk3 $META $LEN)
echo "    sha256 of the three disks' data areas:"
printf '      %s\n      %s\n      %s\n' "$a" "$b" "$c"
[ "$a" = "$b" ] && [ "$b" = "$c" ] || fail "legs differ after recovery"
echo "    Identical: the volume is whole again, and each disk alone holds only ciphertext."

say "The control plane: operators never hand-write tables or touch keys; they ask tenantd."
need_module loop
TD_CONF=/etc/dm-tenant/tenantd.conf TD_ST=/var/lib/dm-tenant TD_W=/tmp/tenantd-demo
export TENANTD_SOCKET=/run/tenantd/tenantd.sock
mkdir -p /etc/dm-tenant "$TD_ST" "$TD_W"
cat >"$TD_CONF" <<EOF
# who may do what: the caller's uid decides (SO_PEERCRED)
operator uid=0
hypervisor uid=1001 vms=vm1
support uid=1002
EOF
echo "    Roles: root is the operator, uid 1001 the hypervisor running vm1, uid 1002 support."
run cat "$TD_CONF"
tenantd -c "$TD_CONF" -d "$TD_ST/tenantd.db" -k "$TD_ST/master.key" \
	-s "$TENANTD_SOCKET" 2>>"$TD_W/tenantd.log" &
TD_PID=$!
on_exit 'kill -TERM $TD_PID 2>/dev/null; wait $TD_PID 2>/dev/null; true'
wait_for_file "$TENANTD_SOCKET" 20 || { cat "$TD_W/tenantd.log"; fail "tenantd did not start"; }
echo "    tenantd is up (pid $TD_PID); it holds the tenants' keys, wrapped by a host master key."
# hypervisor / support CMD...: CMD run as that role's uid
as_uid() { local u=$1; shift; setpriv --reuid="$u" --regid="$u" --clear-groups -- "$@"; }
hypervisor() { as_uid 1001 "$@"; }
support() { as_uid 1002 "$@"; }
# refused_with CODE CMD...: must fail with exit code CODE; shows it
refused_with() {
	local want=$1 rc=0
	shift
	show "$@" || rc=$?
	echo "      (exit code $rc)"
	[ "$rc" = "$want" ] || fail "demo step exited $rc, want $want: $*"
}

say "The operator creates tenant 'initech' and a volume with two legs: one local, one in another zone."
for z in local zone; do
	truncate -s 40M "$TD_W/$z.img"
	loop=$(losetup -f --show "$TD_W/$z.img") || fail "losetup"
	on_exit "losetup -d $loop"
	eval "TD_${z^^}=$loop"
done
echo "    (the two legs are loop devices $TD_LOCAL and $TD_ZONE over files on tmpfs)"
run tenantctl tenant create initech
run tenantctl volume create initech web --leg "local:$TD_LOCAL" --leg "zone:$TD_ZONE"
on_exit 'tenantctl volume detach initech web >/dev/null 2>&1; dmsetup remove --retry tenant+initech+web 2>/dev/null; true'

say "The operator may not map the volume for itself: a plaintext device is for a VM's hypervisor only."
echo "    The volume belongs to no VM yet; asking for a mapping on the host is refused:"
refused_with 2 tenantctl volume attach initech web
echo "    The operator's part is to assign the volume to a VM:"
run tenantctl volume assign initech web --vm vm1

say "The hypervisor (uid 1001) attaches the volume for vm1 and gets a device only it may open."
echo "    (below, 'hypervisor CMD' and 'support CMD' run CMD as uid 1001 and uid 1002)"
run hypervisor tenantctl volume attach initech web
WDEV=$(dm_dev_path tenant+initech+web)
run ls -l "$WDEV"
printf 'INITECH GUEST DATA: vm1 boot sector %.0s' $(seq 1 120) | head -c 4096 >"$TD_W/guest"
chmod 644 "$TD_W/guest"
run hypervisor dd if="$TD_W/guest" of="$WDEV" bs=4k count=1 oflag=direct status=none
echo "    The hypervisor reads it back through the volume:"
run hypervisor head -c 72 "$WDEV"
echo
cmp -s "$TD_W/guest" <(dd if="$WDEV" bs=4k count=1 iflag=direct status=none) || fail "read back differs"
sync
n=$(cat "$TD_LOCAL" "$TD_ZONE" | strings | grep -c "INITECH GUEST DATA" || true)
echo "    lines of 'INITECH GUEST DATA' on the two legs: $n"
[ "$n" = 0 ] || fail "plaintext found on a leg"
run tenantctl volume status initech web

say "Support (uid 1002) may look at nothing and open nothing."
refused_with 3 support tenantctl volume status initech web
refused support dd if="$WDEV" of=/dev/null bs=4k count=1 status=none

say "Everything above is in tenantd's audit log, a hash chain: who asked, what, and the answer."
run tenantctl audit export -o "$TD_W/audit.jsonl"
echo "    seq  uid   role        action         object       result"
sed -E 's/.*"seq":([0-9]+).*"uid":([0-9]+).*"role":"([^"]*)".*"action":"([^"]*)".*"object":"([^"]*)".*"result":"([^"]*)".*/\1 \2 \3 \4 \5 \6/' \
	"$TD_W/audit.jsonl" | grep -v ' daemon\.' |
	awk '{ printf "    %-4s %-5s %-11s %-14s %-12s %s\n", $1, $2, $3, $4, $5, $6 }'
echo "    (daemon start records left out)  Each record carries the hash of the one before:"
tail -n3 "$TD_W/audit.jsonl" | while read -r rec; do
	seq=$(printf '%s' "$rec" | grep -o '"seq":[0-9]*' | cut -d: -f2)
	prev=$(printf '%s' "$rec" | grep -o '"prev_hash":"[0-9a-f]*"' | cut -d'"' -f4)
	hash=$(printf '%s' "$rec" | grep -o '"hash":"[0-9a-f]*"' | cut -d'"' -f4)
	echo "    seq $seq  prev_hash ${prev:0:16}...  hash ${hash:0:16}..."
done
run tenantctl audit verify

say "vm1 shuts down: the hypervisor detaches; the key is wiped from the kernel."
run hypervisor tenantctl volume detach initech web
[ ! -e "$WDEV" ] || fail "$WDEV still there after detach"
kill -TERM "$TD_PID"; wait "$TD_PID" || fail "tenantd exited with an error"
TD_PID=

say "acme ends its contract: the key is wiped from the kernel and I/O stops."
run umount /mnt/books
run dmsetup suspend acme-books
run dmsetup message acme-books 0 key wipe
run dmsetup status acme-books
echo "    Resume is refused without a key:"
refused dmsetup resume acme-books
echo "    A reader now waits on a suspended device that can never resume."
echo "    Forcing the removal turns the device into an error target: the reader"
echo "    gets an I/O error, then the device is gone."
( dd if="$DEV" of=/dev/null bs=4k count=1 iflag=direct 2>&1 | sed 's/^/      reader: /' ) &
reader=$!
sleep 2
show dmsetup remove --force acme-books || true
wait $reader || true
# The forced remove fails while the reader still holds the device open.
if dmsetup info acme-books >/dev/null 2>&1; then
	run dmsetup remove acme-books
fi
[ ! -e "$DEV" ] || fail "device node still there"
echo "    The key exists nowhere on this host any more, and the disk holds only ciphertext."
# Later acts, one sourced file each (scripts/demo-<name>.sh).
# -- act: access --
. "$DMT_ROOT/scripts/demo-access.sh" || fail "demo act scripts/demo-access.sh failed"
# -- act: wipe --
. "$DMT_ROOT/scripts/demo-wipe.sh" || fail "demo act scripts/demo-wipe.sh failed"
# -- act: udev --
. "$DMT_ROOT/scripts/demo-udev.sh" || fail "demo act scripts/demo-udev.sh failed"
# -- act: remote --
. "$DMT_ROOT/scripts/demo-remote.sh" || fail "demo act scripts/demo-remote.sh failed"
say "Demo finished."
