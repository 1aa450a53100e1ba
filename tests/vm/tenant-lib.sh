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

# ---- writes acknowledged under faults ----
# A background writer of 4 KiB blocks, one O_DIRECT dd each, at random
# block numbers below BLOCKS; DIR/log gets "<block> <seq> ok|err" for every
# write in order, so that after a fault every write the device
# acknowledged (and that no later write to the block overwrote) can be
# read back.
#   ack_writer_start DEV BLOCKS DIR    start it (stopped at exit)
#   ack_writer_stop DIR                stop it, wait for its last write
#   ack_writer_count DIR ok|err        writes so far with that outcome
#   ack_writer_wait DIR ok|err N SECS  until N writes had that outcome
#   ack_verify DEV DIR                 the acknowledged blocks read back

# ack_block BLOCK SEQ: the 4 KiB written by write SEQ to BLOCK
ack_block() {
	yes "tenant block $1 write $2" | head -c 4096
}

ack_writer_start() {
	local dev=$1 blocks=$2 dir=$3
	mkdir -p "$dir"
	: >"$dir/log"
	rm -f "$dir/stop"
	(
		seq=0
		while [ ! -e "$dir/stop" ]; do
			seq=$((seq + 1))
			b=$((RANDOM % blocks))
			if ack_block $b $seq | dd of="$dev" bs=4096 seek=$b \
				count=1 iflag=fullblock oflag=direct conv=notrunc \
				2>/dev/null; then
				echo "$b $seq ok" >>"$dir/log"
			else
				echo "$b $seq err" >>"$dir/log"
			fi
		done
	) &
	echo $! >"$dir/pid"
	on_exit "ack_writer_stop '$dir'"
}

ack_writer_stop() {
	[ -f "$1/pid" ] || return 0
	touch "$1/stop"
	wait "$(cat "$1/pid")" 2>/dev/null || true
	rm -f "$1/pid"
}

ack_writer_count() {
	grep -c " $2\$" "$1/log" || true
}

ack_writer_wait() {
	local i=0
	while [ "$(ack_writer_count "$1" "$2")" -lt "$3" ]; do
		i=$((i + 1))
		[ $i -le $(($4 * 5)) ] ||
			fail "after ${4}s: $(ack_writer_count "$1" "$2") writes $2, want $3"
		sleep 0.2
	done
}

ack_verify() {
	local dev=$1 dir=$2 b seq st n=0
	while read -r b seq st; do
		[ "$st" = ok ] || continue
		dd if="$dev" bs=4096 skip="$b" count=1 iflag=direct 2>/dev/null |
			cmp -s - <(ack_block "$b" "$seq") ||
			fail "block $b: acknowledged write $seq does not read back"
		n=$((n + 1))
	done < <(awk '{ last[$1] = $2 " " $3 } END { for (b in last) print b, last[b] }' "$dir/log")
	[ $n -gt 0 ] || fail "no acknowledged block to verify"
	info "  $n blocks: their last (acknowledged) writes read back"
}
