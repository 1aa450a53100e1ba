# SPDX-License-Identifier: GPL-2.0
# Helpers for VM tests of the tenant target; source after lib.sh.
# Key material lives only in files under $TENANT_KEYDIR and the kernel
# keyring; helpers never print it.

TENANT_KEYDIR=${TENANT_KEYDIR:-/tmp/tenant-keys}

tenant_setup() {
	need_module dm-mod
	need_module ecb
	need_module xts
	need_module dm-tenant
	mkdir -p "$TENANT_KEYDIR"
	chmod 700 "$TENANT_KEYDIR"
	on_exit "rm -rf '$TENANT_KEYDIR'"
}

# tenant_keyfile TENANT VOLUME -> path of the volume's key file
tenant_keyfile() {
	echo "$TENANT_KEYDIR/$1.$2.key"
}

# tenant_key_new TENANT VOLUME [BYTES]: random key, added as the logon key
# dm-tenant:TENANT:VOLUME; a key with that description is replaced.
tenant_key_new() {
	local f
	f=$(tenant_keyfile "$1" "$2")
	head -c "${3:-64}" /dev/urandom >"$f"
	tenant_key_load "$1" "$2" "$f"
}

# tenant_key_load TENANT VOLUME FILE: (re)add FILE as the volume's key
tenant_key_load() {
	keyctl padd logon "dm-tenant:$1:$2" @u <"$3" >/dev/null ||
		fail "keyctl padd logon dm-tenant:$1:$2 failed"
}

tenant_key_unlink() {
	local id
	id=$(keyctl search @u logon "dm-tenant:$1:$2" 2>/dev/null) || return 0
	keyctl unlink "$id" @u >/dev/null
}

# tenant_key_hex TENANT VOLUME: hex of the key, for leak checks only
tenant_key_hex() {
	od -An -v -tx1 "$(tenant_keyfile "$1" "$2")" | tr -d ' \n'
}

# tenant_table TENANT VOLUME DEV OFFSET SECTORS [OPT...]: one-leg table
tenant_table() {
	local t=$1 v=$2 dev=$3 off=$4 len=$5 ks
	shift 5
	ks=$(stat -c %s "$(tenant_keyfile "$t" "$v")")
	local opts=""
	[ $# -gt 0 ] && opts=" $# $*"
	echo "0 $len tenant $t $v aes-xts-plain64 :$ks:logon:dm-tenant:$t:$v 0 1 local $dev $off$opts"
}

# tenant_create NAME TABLE: create a device, remove it at exit
tenant_create() {
	dmsetup create "$1" --table "$2" || fail "dmsetup create $1 failed"
	on_exit "dmsetup remove --retry $1 2>/dev/null || true"
}

# assert_no_key_leak TENANT VOLUME TEXT...: fail if any 8-byte run of
# the key appears (as hex) in the texts or the kernel log.
assert_no_key_leak() {
	local hex i chunk hay
	hex=$(tenant_key_hex "$1" "$2")
	shift 2
	hay=$(printf '%s\n' "$@"; dmesg)
	hay=$(printf '%s' "$hay" | tr 'A-F' 'a-f')
	i=0
	while [ $i -lt ${#hex} ]; do
		chunk=${hex:$i:16}
		[ ${#chunk} -eq 16 ] || break
		case $hay in
		*"$chunk"*) fail "key bytes leaked (offset $((i / 2)))" ;;
		esac
		i=$((i + 16))
	done
}

# expect_create_fail NAME TABLE REGEX: table must be refused and the kernel
# log must say why (REGEX, grep -E) after the mark.
expect_create_fail() {
	local name=$1 table=$2 re=$3 mark
	mark="dmt-mark-$RANDOM$RANDOM"
	echo "$mark" >/dev/kmsg
	if dmsetup create "$name" --table "$table" 2>/dev/null; then
		dmsetup remove "$name" 2>/dev/null
		fail "table for $name was accepted but must be refused"
	fi
	dmsetup remove "$name" 2>/dev/null || true
	if [ -n "$re" ] &&
		! dmesg | sed -n "/$mark/,\$p" | grep -Eq "$re"; then
		dmesg | tail -5
		fail "kernel log does not explain the refusal (want /$re/)"
	fi
}

# ---- replication ----

# mirror_status_field NAME FIELD: FIELD of the sync part of the status:
#   insync (e.g. 128/128), action, progress, mismatches
mirror_status_field() {
	local s n
	s=$(dmsetup status "$1") || return 1
	set -- $s "$2"
	local want=${!#}
	# 3 dm + 4 fixed, 3 per leg, 6 counters, then the sync fields.
	n=$((7 + 3 * $7 + 6 + 1))
	case $want in
	insync) echo "${!n}" ;;
	action) n=$((n + 1)); echo "${!n}" ;;
	progress) n=$((n + 2)); echo "${!n}" ;;
	mismatches) n=$((n + 3)); echo "${!n}" ;;
	esac
}

# mirror_leg_states NAME: the state characters of the legs, e.g. "AADA"
mirror_leg_states() {
	local s i out=""
	s=$(dmsetup status "$1") || return 1
	set -- $s
	local nl=$7
	shift 7
	for ((i = 0; i < nl; i++)); do
		out="$out$3"
		shift 3
	done
	echo "$out"
}

# mirror_wait_idle NAME [SECONDS]: wait for resync/check/repair to end
mirror_wait_idle() {
	local i=0 limit=${2:-120}
	while [ "$(mirror_status_field "$1" action)" != idle ]; do
		i=$((i + 1))
		[ $i -le $((limit * 5)) ] ||
			fail "$1 still busy after ${limit}s: $(dmsetup status "$1")"
		sleep 0.2
	done
}

# leg_data_sum DEV OFFSET SECTORS: sha256 of a leg's data area
leg_data_sum() {
	dd if="$1" bs=1M skip=$(($2 * 512)) count=$(($3 * 512)) \
		iflag=direct,skip_bytes,count_bytes 2>/dev/null |
		sha256sum | cut -d' ' -f1
}

# assert_legs_identical OFFSET SECTORS DEV...: data areas byte-identical
assert_legs_identical() {
	local off=$1 len=$2 first="" d s
	shift 2
	for d in "$@"; do
		s=$(leg_data_sum "$d" "$off" "$len")
		[ -n "$first" ] || first=$s
		[ "$s" = "$first" ] || fail "leg $d differs from $1"
	done
}
