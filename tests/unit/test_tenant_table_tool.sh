#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# Tests of the tenant-table tool; TAP output.  Run by `make check-unit`
# with UNIT_TOOLS_DIR set to the directory holding the tool build to test
# and UNIT_TOOL_WRAPPER optionally set to a command prefix (valgrind ...).
set -u

TOOL="${UNIT_TOOLS_DIR:-build/bin}/tenant-table"
read -ra WRAP <<<"${UNIT_TOOL_WRAPPER:-}"
tool() { "${WRAP[@]}" "$TOOL" "$@"; }
TMP=$(mktemp -d)
trap 'rm -rf "$TMP"' EXIT

n=0
failed=0
ok() { n=$((n + 1)); echo "ok $n - $1"; }
not_ok() { n=$((n + 1)); failed=$((failed + 1)); echo "not ok $n - $1"; }

# run NAME WANT_RC WANT_STDOUT WANT_STDERR [--stdin TEXT] -- ARGS...
# WANT_STDOUT/WANT_STDERR: exact text, or "*" for anything.
run() {
	local name=$1 want_rc=$2 want_out=$3 want_err=$4 input='' use_stdin=0
	shift 4
	if [ "$1" = --stdin ]; then
		use_stdin=1
		input=$2
		shift 2
	fi
	[ "$1" = -- ] && shift
	local rc=0
	if [ $use_stdin = 1 ]; then
		printf '%s' "$input" | tool "$@" >"$TMP/out" 2>"$TMP/err" || rc=$?
	else
		tool "$@" >"$TMP/out" 2>"$TMP/err" </dev/null || rc=$?
	fi
	local out err
	out=$(cat "$TMP/out")
	err=$(cat "$TMP/err")
	if [ "$rc" != "$want_rc" ]; then
		not_ok "$name (exit $rc, want $want_rc; stderr: $err)"
	elif [ "$want_out" != "*" ] && [ "$out" != "$want_out" ]; then
		not_ok "$name (stdout '$out', want '$want_out')"
	elif [ "$want_err" != "*" ] && [ "$err" != "$want_err" ]; then
		not_ok "$name (stderr '$err', want '$want_err')"
	else
		ok "$name"
	fi
}

echo "1..18"

if [ ! -x "$TOOL" ]; then
	for _ in $(seq 18); do not_ok "tool $TOOL not built"; done
	exit 1
fi

K=":32:logon:dm-tenant:t1:v1"
T="t1 v1 aes-xts-plain64 $K 0 1 local /dev/sdb 0"
HEX=bb21158c733229347bd4e681891e213d94c685be6a5b84818afe7a78a6de7a1a
E_HEX="tenant-table: hex keys are not accepted: the key must be a keyring reference :<size>:logon:<description>"
E_BIND="tenant-table: key belongs to another tenant or volume: description must be dm-tenant:<tenant>:<volume>"

# shellcheck disable=SC2086 # word splitting of $T is intended
run "check valid args" 0 "$T" "" -- check $T
# shellcheck disable=SC2086
run "check canonicalizes options" 0 \
	"t1 v1 aes-xts-plain64 $K 8 2 local /dev/a 8 zone 8:16 0 2 allow_discards sector_size:4096" "" \
	-- check t1 v1 aes-xts-plain64 $K 8 2 local /dev/a 8 zone 8:16 0 2 sector_size:4096 allow_discards
# shellcheck disable=SC2086
run "check omits default options" 0 "$T" "" -- check $T 1 sector_size:512
run "check hex key refused, not echoed" 2 "" "$E_HEX" \
	-- check t1 v1 aes-xts-plain64 $HEX 0 1 local /dev/sdb 0
run "check binding mismatch" 2 "" "$E_BIND" \
	-- check t1 v1 aes-xts-plain64 :32:logon:dm-tenant:t2:v1 0 1 local /dev/sdb 0
run "check user key refused" 2 "" \
	"tenant-table: key type must be logon (user and other key types are refused)" \
	-- check t1 v1 aes-xts-plain64 :32:user:dm-tenant:t1:v1 0 1 local /dev/sdb 0
run "check without table" 2 "" "tenant-table: not enough arguments" -- check
run "check - valid" 0 "$T" "" --stdin "$T"$'\n' -- check -
run "check - blanks, tabs, CRLF" 0 "$T" "" \
	--stdin $'  t1\tv1  aes-xts-plain64 '"$K"$' 0 1 local /dev/sdb 0\r\n\n' -- check -
run "check - hex key refused" 2 "" "$E_HEX" \
	--stdin "t1 v1 aes-xts-plain64 $HEX 0 1 local /dev/sdb 0" -- check -
run "check - empty stdin" 2 "" "tenant-table: no table line on stdin" \
	--stdin "" -- check -
run "check - two lines refused" 2 "" \
	"tenant-table: more than one table line on stdin" \
	--stdin "$T"$'\n'"$T"$'\n' -- check -
run "check - overlong line refused" 2 "" \
	"tenant-table: table line too long or contains NUL" \
	--stdin "$(head -c 70000 /dev/zero | tr '\0' 'a')" -- check -
run "--help" 0 "*" "" -- --help
run "no arguments is a usage error" 1 "" "*" --
run "unknown command is a usage error" 1 "" "*" -- frobnicate

# The canonical output reparses to itself.
# shellcheck disable=SC2086
out=$(tool check t1 v1 aes-xts-plain64 $K 16 3 remote 8:0 8 zone /d 0 local /e 24 1 allow_discards)
run "canonical output is a fixed point" 0 "$out" "" --stdin "$out" -- check -
if tool --help | grep -q "check -"; then
	ok "--help documents check -"
else
	not_ok "--help documents check -"
fi

[ $failed = 0 ]
