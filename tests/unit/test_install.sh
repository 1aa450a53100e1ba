#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# Tests of scripts/install.sh (`make install`); TAP output.
set -u

INSTALL=scripts/install.sh
inst() { "$INSTALL" "$@" >/dev/null; }
# shellcheck source=tests/unit/tap.sh
. "$(dirname "$0")/tap.sh"
mode_is() { [ "$(stat -c %a "$1")" = "$2" ]; }

src=$TMP/src
mkdir -p "$src"
echo bin >"$src/tool"
echo conf1 >"$src/tool.conf"
D=$TMP/root

check "installs files with their modes" \
	inst "$D" "$src/tool:/usr/sbin/tool:0755" \
	"$src/tool.conf:/etc/t/tool.conf:0600:config" \
	"link:tool:/usr/sbin/tool-alias"
check "binary mode 0755" mode_is "$D/usr/sbin/tool" 755
check "config mode 0600" mode_is "$D/etc/t/tool.conf" 600
check "symlink points at its target" \
	[ "$(readlink "$D/usr/sbin/tool-alias")" = tool ]

echo edited >"$D/etc/t/tool.conf"
echo conf2 >"$src/tool.conf"
$INSTALL "$D" "$src/tool.conf:/etc/t/tool.conf:0600:config" >/dev/null
check "an edited config is kept" grep -qx edited "$D/etc/t/tool.conf"
check "the new config lands next to it as .dist" \
	grep -qx conf2 "$D/etc/t/tool.conf.dist"

D2=$TMP/root2
check "a missing source is refused" \
	bash -c "! $INSTALL '$D2' '$src/tool:/usr/sbin/tool:0755' '$src/nope:/usr/sbin/nope:0755' 2>/dev/null"
check "and nothing was installed" [ ! -e "$D2" ]
check "a relative destination is refused" \
	bash -c "! $INSTALL '$D2' '$src/tool:usr/sbin/tool:0755' 2>/dev/null"
check "an unknown flag is refused" \
	bash -c "! $INSTALL '$D2' '$src/tool:/usr/sbin/tool:0755:bogus' 2>/dev/null"
check "a malformed entry is refused" \
	bash -c "! $INSTALL '$D2' '$src/tool' 2>/dev/null"

tap_done
