# SPDX-License-Identifier: GPL-2.0
# TAP helpers for the shell unit tests (sourced; not a test itself).
#   ROOT                   the top of the tree
#   TMP                    a temp dir, removed at exit
#   check NAME COMMAND...  "ok N - NAME" if COMMAND succeeds, else "not ok"
#                          and the end of $TMP/out (where tests keep the
#                          output of the command under test)
#   tap_done               prints the plan; exit status 0 iff all passed
# shellcheck shell=bash
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
TMP=$(mktemp -d)
trap 'rm -rf "$TMP"' EXIT
n=0
failed=0
check() {
	local name=$1
	shift
	n=$((n + 1))
	if "$@"; then
		echo "ok $n - $name"
	else
		failed=$((failed + 1))
		echo "not ok $n - $name"
		[ ! -f "$TMP/out" ] || sed 's/^/# /' "$TMP/out" | tail -n 15
	fi
}
tap_done() {
	echo "1..$n"
	[ "$failed" = 0 ]
}
