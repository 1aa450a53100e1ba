# SPDX-License-Identifier: GPL-2.0
# shellcheck shell=bash
#
# Helpers for VM tests (run by bash inside the test VM; see
# scripts/vm/run.sh).  Source it first:   . "$DMT_LIB"
# (or . "$(dirname "$0")/lib.sh").  Works with or without `set -eu`.
#
#   info MSG...            progress line on the test output
#   fail MSG...            loud failure, exit 1 (cleanups still run)
#   skip MSG...            "SKIP: MSG", exit 77
#   check CMD...           run CMD; fail with the command line if non-zero
#   expect_fail CMD...     run CMD; fail if it succeeds
#   on_exit 'CMD'          push a cleanup; all run in reverse order at exit,
#                          always (pass, fail, skip, error, SIGTERM)
#   need_module NAME [PARAM=V...]  modprobe NAME or skip; dm-tenant itself
#                          fails instead (the harness puts it in every VM)
#   require_cmd CMD...     skip unless every CMD is in PATH
#   brd_setup N SIZE_MB    (re)load brd with N ram disks /dev/ram0.. of SIZE_MB
#   wait_for_file PATH [SECONDS=10]  wait until PATH exists; 1 on timeout
#   key_file NAME [BYTES=64]  random key in /tmp/dmt-keys/NAME (mode 600),
#                          prints the path, never the key
#   key_add_logon DESC FILE   add FILE as logon key DESC to @u, print serial
#   key_unlink SERIAL|DESC    remove a logon key from @u
#   dm_dev_path NAME       /dev/mapper/NAME, else /dev/dm-N
#   dm_remove NAME         dmsetup remove with retries (no error if absent)
#   kmsg_mark MSG          write "dmt-mark: MSG" to the kernel log
#   run_as USER CMD...     run CMD as hv/support/... (setpriv)
# Environment from the harness: DMT_BOOT, DMT_BOOTS, DMT_MODE, DMT_DISKS,
# DMT_ROOT, DMT_LIB, DMT_TEST, DMT_VERBOSE (set it with run.sh -e).

[ -z "${_DMT_LIB_LOADED:-}" ] || return 0
_DMT_LIB_LOADED=1

_DMT_T0=$(date +%s)
_dmt_cleanups=()

info() {
	echo "-- [$(($(date +%s) - _DMT_T0))s] $*"
}

fail() {
	{
		echo "!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!"
		echo "FAIL: $*"
		local i=1
		while [ -n "${FUNCNAME[$i]:-}" ] && [ "$i" -lt 6 ]; do
			echo "  at ${FUNCNAME[$i]}() ${BASH_SOURCE[$i]:-?}:${BASH_LINENO[$((i - 1))]}"
			i=$((i + 1))
		done
		echo "!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!"
	} >&2
	exit 1
}

skip() {
	echo "SKIP: $*"
	exit 77
}

check() {
	local rc=0
	[ -z "${DMT_VERBOSE:-}" ] || echo "+ $*" >&2
	"$@" || rc=$?
	[ "$rc" -eq 0 ] || fail "command failed (exit $rc): $*"
}

expect_fail() {
	local rc=0
	[ -z "${DMT_VERBOSE:-}" ] || echo "+ (must fail) $*" >&2
	"$@" || rc=$?
	[ "$rc" -ne 0 ] || fail "command succeeded but must fail: $*"
	return 0
}

on_exit() {
	_dmt_cleanups+=("$1")
}

_dmt_run_cleanups() {
	local rc=$? i
	set +e
	trap - EXIT
	for ((i = ${#_dmt_cleanups[@]} - 1; i >= 0; i--)); do
		[ -z "${DMT_VERBOSE:-}" ] || echo "+ cleanup: ${_dmt_cleanups[$i]}" >&2
		eval "${_dmt_cleanups[$i]}" || echo "warning: cleanup failed: ${_dmt_cleanups[$i]}" >&2
	done
	_dmt_cleanups=()
	exit "$rc"
}
trap _dmt_run_cleanups EXIT
trap 'exit 143' TERM
trap 'exit 130' INT

need_module() {
	local m=$1 err
	shift
	err=$(modprobe "$m" "$@" 2>&1) && return 0
	# A suite that skips because our own module is missing tested nothing.
	[ "$m" != dm-tenant ] || fail "dm-tenant.ko does not load in this kernel ($(uname -r)): $err"
	skip "kernel module $m not available"
}

require_cmd() {
	local c
	for c in "$@"; do
		command -v "$c" > /dev/null 2>&1 || skip "command $c not available"
	done
}

wait_for_file() {
	local path=$1 secs=${2:-10} i=0
	while [ ! -e "$path" ]; do
		[ "$i" -lt $((secs * 10)) ] || { echo "timeout waiting for $path" >&2; return 1; }
		sleep 0.1
		i=$((i + 1))
	done
	return 0
}

brd_setup() {
	local n=${1:?brd_setup N SIZE_MB} mb=${2:?brd_setup N SIZE_MB}
	if [ -d /sys/module/brd ]; then
		rmmod brd 2>/dev/null || fail "brd is loaded and busy; cannot reload it"
	fi
	modprobe brd rd_nr="$n" rd_size=$((mb * 1024)) max_part=0 ||
		skip "kernel module brd not available"
	wait_for_file "/dev/ram$((n - 1))" || fail "/dev/ram$((n - 1)) did not appear"
	on_exit "rmmod brd 2>/dev/null || true"
}

key_file() {
	local name=${1:?key_file NAME [BYTES]} bytes=${2:-64} f
	mkdir -p /tmp/dmt-keys
	chmod 700 /tmp/dmt-keys
	f=/tmp/dmt-keys/$name
	(umask 077; head -c "$bytes" /dev/urandom > "$f") || fail "cannot write $f"
	echo "$f"
}

key_add_logon() {
	local desc=${1:?key_add_logon DESC FILE} file=${2:?key_add_logon DESC FILE} id
	id=$(keyctl padd logon "$desc" @u < "$file") ||
		fail "keyctl padd logon $desc @u failed"
	echo "$id"
}

key_unlink() {
	local k=${1:?key_unlink SERIAL|DESC} id
	case "$k" in
	*[!0-9]*) id=$(keyctl search @u logon "$k" 2>/dev/null) || return 0 ;;
	*) id=$k ;;
	esac
	keyctl unlink "$id" @u > /dev/null 2>&1 || true
}

dm_dev_path() {
	local name=${1:?dm_dev_path NAME} minor
	if [ -b "/dev/mapper/$name" ]; then
		echo "/dev/mapper/$name"
		return 0
	fi
	minor=$(dmsetup info -c --noheadings -o minor "$name" 2>/dev/null | tr -d ' ') ||
		fail "no device-mapper device $name"
	[ -n "$minor" ] || fail "no device-mapper device $name"
	wait_for_file "/dev/dm-$minor" 5 || fail "/dev/dm-$minor for $name missing"
	echo "/dev/dm-$minor"
}

dm_remove() {
	local name=${1:?dm_remove NAME}
	dmsetup info "$name" > /dev/null 2>&1 || return 0
	dmsetup remove --retry "$name"
}

kmsg_mark() {
	echo "dmt-mark: $*" > /dev/kmsg
}

run_as() {
	local user=${1:?run_as USER CMD...}
	shift
	setpriv --reuid="$user" --regid="$user" --init-groups -- "$@"
}
