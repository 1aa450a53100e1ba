#!/bin/bash
# Malformed tables are refused cleanly: no device left behind, a reason in
# the kernel log, and no kernel warning (the harness checks the log).
# vm-timeout: 240
. "$DMT_LIB"
. "$DMT_ROOT/tests/vm/tenant-lib.sh"

tenant_setup
brd_setup 1 16
tenant_key_new t v 64
R=":64:logon:dm-tenant:t:v"
H="tenant t v aes-xts-plain64 $R 0"	# head up to iv_offset
L="1 local /dev/ram0 0"

n=0
bad() {	# bad TABLE-AFTER-START-LENGTH [SECTORS [LOG-REGEX]]
	n=$((n + 1))
	expect_create_fail "bad$n" "0 ${2:-8192} $1" "${3:-tenant: [A-Za-z]}"
	dmsetup info "bad$n" >/dev/null 2>&1 && fail "device bad$n left behind"
	return 0
}

bad "tenant"
bad "tenant t"
bad "tenant t v"
bad "tenant t v aes-xts-plain64"
bad "tenant t v aes-xts-plain64 $R"
bad "$H"
bad "$H 1"
bad "$H 1 local"
bad "$H 1 local /dev/ram0"
bad "tenant '' v aes-xts-plain64 $R 0 $L"
bad "tenant t/x v aes-xts-plain64 $R 0 $L"
bad "tenant t:x v aes-xts-plain64 $R 0 $L"
bad "tenant -t v aes-xts-plain64 $R 0 $L"
bad "tenant abcdefghijklmnopqrstuvwx v aes-xts-plain64 $R 0 $L"
bad "tenant t v aes-cbc-essiv:sha256 $R 0 $L"
bad "tenant t v aes-xts-plain $R 0 $L"
bad "tenant t v aes-xts-plain64 : 64:logon:dm-tenant:t:v 0 $L"
bad "tenant t v aes-xts-plain64 :+64:logon:dm-tenant:t:v 0 $L"
bad "tenant t v aes-xts-plain64 :60+4:logon:dm-tenant:t:v 0 $L"
bad "tenant t v aes-xts-plain64 :64:logonA:dm-tenant:t:v 0 $L"
bad "tenant t v aes-xts-plain64 :64:logon: 0 $L"
bad "tenant t v aes-xts-plain64 :64::dm-tenant:t:v 0 $L"
bad "tenant t v aes-xts-plain64 ::logon:dm-tenant:t:v 0 $L"
bad "tenant t v aes-xts-plain64 :064:logon:dm-tenant:t:v 0 $L"
bad "tenant t v aes-xts-plain64 :16:logon:dm-tenant:t:v 0 $L"
bad "tenant t v aes-xts-plain64 :4294967360:logon:dm-tenant:t:v 0 $L"
bad "tenant t v aes-xts-plain64 :64:logon:dm-tenant:t:v: 0 $L"
bad "tenant t v aes-xts-plain64 :64:logon:dm-tenant:t 0 $L"
bad "$H -1 $L"
bad "tenant t v aes-xts-plain64 $R 0x10 $L"
bad "tenant t v aes-xts-plain64 $R 18446744073709551616 $L"
bad "$H 0"
bad "$H 9 local /dev/ram0 0"
bad "$H 2 local /dev/ram0 0 zone /dev/ram0 4096" 8192 "two legs of the volume overlap"
bad "$H 1 nearby /dev/ram0 0"
bad "$H 1 local /dev/nonexistent 0"
bad "$H 1 local /dev/ram0 -8"
bad "$H 1 local /dev/ram0 18446744073709551615"
bad "$H 1 local /dev/ram0 32768" 8192 "too small for target"
bad "$H $L 1"
bad "$H $L 2 allow_discards"
bad "$H $L 1 allow_discard"
bad "$H $L 2 allow_discards allow_discards"
bad "$H $L 1 sector_size:1024"
bad "$H $L 1 sector_size:"
bad "$H 1 local /dev/ram0 4 1 sector_size:4096"
bad "$H $L 1 sector_size:4096" 8191
bad "tenant t v aes-xts-plain64 $R 4 $L 1 sector_size:4096"
bad "$H $L 0 extra"

info "$n malformed tables refused"
[ "$n" -ge 30 ] || fail "only $n cases"
[ -z "$(dmsetup ls --target tenant 2>/dev/null | grep -v 'No devices')" ] ||
	fail "devices left: $(dmsetup ls)"
