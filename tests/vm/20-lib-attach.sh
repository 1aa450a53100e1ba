#!/bin/bash
# libdmtenant end to end, through its test helper build/bin/dmt-libtest:
# master key, wrapped KEKs, a 2-leg volume of self-describing LUKS2 legs,
# attach (the library loads dm-tenant itself) / write / detach / re-attach /
# read back, the logon key gone from every keyring after attach, no key
# bytes in dmesg / table / status, THE EMERGENCY EXIT (stock cryptsetup on a
# single leg shows what the tenant device shows, with the volume key and
# with the derived passphrase), KEK rotation during I/O (new KEK attaches,
# old one fails), refusals (other tenant, wrong leg, busy device), erase.
# vm-timeout: 600
# vm-disks: 2x48M
. "$DMT_LIB"
. "$DMT_ROOT/tests/vm/tenant-lib.sh"

require_cmd dmt-libtest cryptsetup keyctl
T=dmt-libtest
W=/tmp/libtest
mkdir -p "$W" && chmod 700 "$W"
TENANT_KEYDIR=$W/keys
mkdir -p "$TENANT_KEYDIR" && chmod 700 "$TENANT_KEYDIR"
on_exit "rm -rf '$W'"
set -- $DMT_DISKS
[ $# -ge 2 ] || skip "needs 2 virtio disks"
L0=$1 L1=$2
NAME=acme-vol1
on_exit "$T detach -f $NAME 2>/dev/null; dmsetup remove $NAME 2>/dev/null; true"
on_exit "cryptsetup close rescue 2>/dev/null; cryptsetup close rescue1 2>/dev/null; true"

# A live (not invalidated/revoked/dead) dm-tenant key of acme/vol1 listed
# in /proc/keys (root sees every key it may view).
live_key() {
	awk '/dm-tenant:acme:vol1/ && $2 !~ /[iRD]/' /proc/keys | grep -q .
}

# --- keys ------------------------------------------------------------------
M=$W/master.key
check $T master-create "$M"
[ "$(stat -c '%a %s' "$M")" = "600 32" ] || fail "master key file: $(stat -c '%a %s' "$M")"
expect_fail $T master-create "$M"
check $T kek-new -m "$M" -t acme "$W/kek1"
check $T kek-new -m "$M" -t acme "$W/kek2"
check $T kek-new -m "$M" -t other "$W/kek-other"
[ "$(stat -c %s "$W/kek1")" = 61 ] || fail "wrapped KEK size"
# A blob wrapped for acme does not unwrap for another tenant.
out=$($T fingerprint -m "$M" -t other -k "$W/kek1" 2>&1) && fail "KEK of acme unwrapped as other"
case $out in *EBADMSG*) ;; *) fail "wrong-tenant unwrap: $out" ;; esac
info "master key, KEKs wrapped; fingerprint kek1 $($T fingerprint -m "$M" -t acme -k "$W/kek1")"

# --- create: two self-describing legs ------------------------------------------
UUID=$($T create -m "$M" -t acme -k "$W/kek1" -v vol1 local:$L0 zone:$L1) ||
	fail "volume create failed"
info "volume acme/vol1 uuid $UUID"
for leg in $L0 $L1; do
	dump=$(cryptsetup luksDump "$leg") || fail "luksDump $leg"
	echo "$dump" | grep -Eq '^Label:[[:space:]]+acme/vol1$' || fail "$leg: label"
	echo "$dump" | grep -Eq '^Subsystem:[[:space:]]+dm-tenant$' || fail "$leg: subsystem"
	echo "$dump" | grep -q 'dm-tenant' || fail "$leg: token"
	echo "$dump" | grep -Eq 'offset:[[:space:]]+8388608 \[bytes\]' || fail "$leg: data offset"
	echo "$dump" | grep -q 'aes-xts-plain64' || fail "$leg: cipher"
	echo "$dump" | grep -q 'PBKDF:[[:space:]]*pbkdf2' || fail "$leg: pbkdf"
	# the metadata area [4 MiB, 8 MiB) is zero
	dd if="$leg" bs=1M skip=4 count=4 status=none | tr -d '\0' | head -c1 | grep -q . &&
		fail "$leg: metadata area not zeroed"
done
$T info "$L1" > "$W/info1" || fail "info $L1"
grep -qx "uuid=$UUID" "$W/info1" && grep -qx "class=zone" "$W/info1" &&
	grep -qx "leg=1" "$W/info1" && grep -qx "data_offset=16384" "$W/info1" ||
	fail "leg identity: $(cat "$W/info1")"
SIZE=$(sed -n 's/^size=//p' "$W/info1")
info "legs formatted: $SIZE sectors of data each"

# The DEK, exported only for the leak checks and the emergency exit.
check $T export-dek -m "$M" -t acme -k "$W/kek1" -u "$UUID" "$L0" "$(tenant_keyfile acme vol1)"
check $T export-pass -m "$M" -t acme -k "$W/kek1" -u "$UUID" "$W/pass1"
[ "$($T open-dek -m "$M" -t acme -k "$W/kek1" -u "$UUID" "$L0")" = \
  "$($T open-dek -m "$M" -t acme -k "$W/kek1" -u "$UUID" "$L1")" ] ||
	fail "legs have different DEKs"

# --- attach: both legs, or leg 0 if this kernel maps one leg only -----------------
[ -d /sys/module/dm_tenant ] && rmmod dm_tenant 2>/dev/null
LEGS="local:$L0 zone:$L1"
attach() {	# attach KEKFILE [opts...] -> path on stdout
	local k=$1
	shift
	$T attach -m "$M" -t acme -k "$k" -v vol1 -u "$UUID" -n $NAME "$@" $LEGS
}
if ! DEV=$(attach "$W/kek1" 2>"$W/err"); then
	cat "$W/err" >&2
	grep -q EINVAL "$W/err" || fail "attach failed"
	LEGS="local:$L0"
	info "kernel refused 2 legs: attaching leg 0 only"
	DEV=$(attach "$W/kek1") || fail "1-leg attach failed"
fi
NLEGS=$(echo $LEGS | wc -w)
info "attached as $DEV ($NLEGS legs)"
[ -d /sys/module/dm_tenant ] || fail "library did not load dm-tenant"
ver=$($T version) || fail "target version"
case $ver in 1.*) info "tenant target $ver" ;; *) fail "target version '$ver'" ;; esac
[ -b "$DEV" ] || fail "$DEV is not a block device"
[ "$(dmsetup info -c --noheadings -o uuid $NAME)" = "TENANT-$UUID" ] || fail "DM UUID"
live_key && fail "logon key still live in /proc/keys: $(grep dm-tenant /proc/keys)"
keyctl search @u logon dm-tenant:acme:vol1 >/dev/null 2>&1 && fail "logon key in @u"
[ "$(blockdev --getsz "$DEV")" = "$SIZE" ] || fail "device size $(blockdev --getsz "$DEV") != $SIZE"
table=$(dmsetup table $NAME)
status=$(dmsetup status $NAME)
info "table: $table"
info "status: $status"
case $table in *":64:logon:dm-tenant:acme:vol1 0 $NLEGS local "*" 16384"*) ;;
*) fail "table: $table" ;; esac
$T status $NAME | grep -q "tenant=acme volume=vol1 key=loaded legs=$NLEGS" ||
	fail "library status: $($T status $NAME)"
[ "$($T list | cut -d' ' -f1,2)" = "$NAME $UUID" ] || fail "list: $($T list)"

# --- write, detach, re-attach, read back -------------------------------------------
head -c 8388608 /dev/urandom > "$W/plain"
check dd if="$W/plain" of="$DEV" bs=1M oflag=direct status=none
# Busy device: detach refused, nothing changes.
exec 7<"$DEV"
out=$($T detach $NAME 2>&1) && fail "detach of an open device succeeded"
case $out in *EBUSY*) ;; *) fail "busy detach: $out" ;; esac
exec 7<&-
$T status $NAME | grep -q key=loaded || fail "busy detach touched the key"
check $T detach $NAME
dmsetup info $NAME >/dev/null 2>&1 && fail "device still there after detach"
DEV=$(attach "$W/kek1") || fail "re-attach failed"
check cmp -n 8388608 "$W/plain" "$DEV"
info "8 MiB written, detached, re-attached, read back"
assert_no_key_leak acme vol1 "$(dmsetup table --showkeys $NAME)" "$(dmsetup status $NAME)" \
	"$(dmsetup table $NAME)" "$(cat /proc/keys)"
# ... and not the passphrase either
hex=$(od -An -v -tx1 "$W/pass1" | tr -d ' \n')
dmesg | tr 'A-F' 'a-f' | grep -q "${hex:0:16}" && fail "passphrase bytes in dmesg"

# --- THE EMERGENCY EXIT ----------------------------------------------------------
# What the tenant device shows (attached read-only: also tests that flag),
# then, with the module's device gone (cryptsetup wants the leg for itself),
# stock cryptsetup on a single leg must show the same bytes: with the volume
# key, and with the keyslot passphrase derived from the KEK.
check $T detach $NAME
DEV=$(attach "$W/kek1" -r) || fail "read-only attach failed"
[ "$(blockdev --getro "$DEV")" = 1 ] || fail "read-only attach is writable"
expect_fail dd if=/dev/zero of="$DEV" bs=4k count=1 oflag=direct status=none
check dd if="$DEV" of="$W/tenant.img" bs=1M iflag=direct status=none
[ "$(stat -c %s "$W/tenant.img")" = $((SIZE * 512)) ] || fail "tenant image size"
check cmp -n 8388608 "$W/plain" "$W/tenant.img"
check $T detach $NAME
emergency() {	# emergency LEG NAME cryptsetup-key-option...
	local leg=$1 name=$2
	shift 2
	check cryptsetup open --type luks2 --readonly "$@" "$leg" "$name"
	check cmp -n $((SIZE * 512)) "$W/tenant.img" /dev/mapper/$name
	check cryptsetup close $name
}
emergency $L0 rescue --volume-key-file "$(tenant_keyfile acme vol1)"
info "emergency exit: cryptsetup --volume-key-file on leg 0 == tenant device"
emergency $L0 rescue --key-file "$W/pass1"
info "emergency exit: cryptsetup --key-file (derived passphrase) on leg 0 == tenant device"
if [ "$NLEGS" = 2 ]; then
	# the second leg, once replication has copied everything to it
	i=0
	while ! cryptsetup open --type luks2 --readonly --key-file "$W/pass1" $L1 rescue1 ||
	      ! cmp -s -n $((SIZE * 512)) "$W/tenant.img" /dev/mapper/rescue1; do
		cryptsetup close rescue1 2>/dev/null
		# legs converge through the target's resync: attach to let it run
		[ $i -lt 3 ] || fail "leg 1 does not show the tenant device's data"
		DEV=$(attach "$W/kek1") || fail "attach for resync"
		sleep 5
		check $T detach $NAME
		i=$((i + 1))
	done
	check cryptsetup close rescue1
	emergency $L1 rescue1 --volume-key-file "$(tenant_keyfile acme vol1)"
	info "emergency exit on leg 1 too"
else
	check cryptsetup open --type luks2 --test-passphrase --key-file "$W/pass1" "$L1"
fi

# --- refusals ----------------------------------------------------------------------
# Another tenant's KEK, claiming acme's legs: the legs say they are acme's.
out=$($T attach -m "$M" -t other -k "$W/kek-other" -v vol1 -u "$UUID" -n x $LEGS 2>&1) &&
	fail "other tenant attached acme's volume"
case $out in *EMEDIUMTYPE*) ;; *) fail "other tenant: $out" ;; esac
# Legs swapped (class/index do not match the headers).
out=$($T attach -m "$M" -t acme -k "$W/kek1" -v vol1 -u "$UUID" -n x local:$L1 2>&1) &&
	fail "leg 1 attached as leg 0"
case $out in *EMEDIUMTYPE*) ;; *) fail "swapped legs: $out" ;; esac
# The right legs, a KEK of acme that was never enrolled.
out=$($T attach -m "$M" -t acme -k "$W/kek2" -v vol1 -u "$UUID" -n x $LEGS 2>&1) &&
	fail "attach with a foreign KEK succeeded"
case $out in *EPERM*) ;; *) fail "foreign KEK: $out" ;; esac
dmsetup info x >/dev/null 2>&1 && fail "refused attach left a device"
live_key && fail "refused attach left a key"
info "refused: other tenant, swapped leg, foreign KEK"

# --- KEK rotation during I/O -----------------------------------------------------------
DEV=$(attach "$W/kek1") || fail "attach for rotation failed"
head -c 16777216 /dev/urandom > "$W/plain2"
# Writes run in a loop for the whole rotation.
(
	while [ ! -e "$W/stop" ]; do
		dd if="$W/plain2" of="$DEV" bs=64k oflag=direct status=none || exit 1
	done
) &
iopid=$!
sleep 0.5
check $T rewrap -m "$M" -t acme -k "$W/kek1" -K "$W/kek2" -v vol1 -u "$UUID" local:$L0 zone:$L1
kill -0 $iopid 2>/dev/null || fail "the I/O loop ended before the rotation did"
info "rewrap finished while I/O was running"
touch "$W/stop"
wait $iopid || fail "I/O during rewrap failed"
check cmp -n 16777216 "$W/plain2" "$DEV"
$T status $NAME | grep -q key=loaded || fail "rotation disturbed the device"
check $T detach $NAME
for leg in $L0 $L1; do
	n=$(cryptsetup luksDump "$leg" | grep -cE '^  [0-9]+: luks2')
	[ "$n" = 1 ] || fail "$leg: $n keyslots after rewrap"
done
out=$(attach "$W/kek1" 2>&1) && fail "old KEK still attaches after rotation"
case $out in *EPERM*) ;; *) fail "old KEK: $out" ;; esac
DEV=$(attach "$W/kek2") || fail "new KEK does not attach"
check cmp -n 16777216 "$W/plain2" "$DEV"
cryptsetup open --type luks2 --test-passphrase --key-file "$W/pass1" "$L0" 2>/dev/null &&
	fail "old passphrase still opens leg 0"
info "KEK rotated online: new KEK attaches, old KEK refused, data intact"
check $T detach $NAME

# --- erase ------------------------------------------------------------------------------
check $T erase $L0 $L1
for leg in $L0 $L1; do
	out=$($T info "$leg" 2>&1) && fail "$leg: identity survived erase"
	case $out in *ENODEV*) ;; *) fail "$leg after erase: $out" ;; esac
	cryptsetup isLuks "$leg" && fail "$leg: still LUKS"
	dd if="$leg" bs=1M count=8 status=none | tr -d '\0' | head -c1 | grep -q . &&
		fail "$leg: header area not zero"
	expect_fail cryptsetup open --type luks2 --readonly \
		--volume-key-file "$(tenant_keyfile acme vol1)" "$leg" rescue
done
info "erased: no header, no keyslot, no label on either leg"
exit 0
