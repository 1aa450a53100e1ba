# SPDX-License-Identifier: GPL-2.0
# TAP helpers for the shell unit tests (sourced; not a test itself).
#   check NAME COMMAND...  "ok N - NAME" if COMMAND succeeds, else "not ok";
#                          then calls tap_on_fail, when the test defines it
#   tap_done               prints the plan; exit status 0 iff all passed
# shellcheck shell=bash
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
		! declare -F tap_on_fail > /dev/null || tap_on_fail
	fi
}
tap_done() {
	echo "1..$n"
	[ "$failed" = 0 ]
}
