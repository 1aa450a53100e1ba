#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# The front door: `make check` as the first command on a fresh machine;
# TAP output.  Runs the top Makefile with a stubbed `make deps` that
# "installs" kernel headers into a temp dir (DMT_KHEADERS points the header
# lookup there) and a fake kbuild tree that records how it was called.
#   - `make check`: the module step sees the headers that deps installed in
#     the same run (they did not exist when make started);
#   - `make module KVER=<start>` picks the matching headers;
#   - without any headers, `make module` names the packages to install.
set -u
# shellcheck source=tests/unit/tap.sh
. "$(dirname "$0")/tap.sh"
# Run as a fresh user would, not with the flags of the make running us.
unset MAKEFLAGS MFLAGS MAKELEVEL KVER

KV=9.9.0-1-amd64
HDRS=$TMP/src
RECORD=$TMP/kbuild-calls
export DMT_KHEADERS="$HDRS/linux-headers-%"
export DMT_KMOD_DIR=$TMP/kmod
mkdir -p "$HDRS"

# The stub of `make deps`: installs fake headers for $KV.  Their Makefile
# stands in for kbuild: it records its directory and M=, builds nothing.
cat > "$TMP/fake-deps" <<EOF
#!/bin/sh
mkdir -p "$HDRS/linux-headers-$KV"
cat > "$HDRS/linux-headers-$KV/Makefile" <<'MK'
%:
	@echo "kbuild \$(CURDIR) M=\$(M) \$@" >> $RECORD
MK
EOF
chmod +x "$TMP/fake-deps"

mk() { make -C "$ROOT" --no-print-directory "$@" > "$TMP/out" 2>&1; }

rm -f "$RECORD"
mk check DEPS_CMD="$TMP/fake-deps" CHECK_ALL='$(MAKE) module'
check "make check: deps installs headers, then the module step finds them" \
	grep -qx "kbuild $HDRS/linux-headers-$KV M=$TMP/kmod/$KV/kernel modules" "$RECORD"

rm -f "$RECORD"
check "make module KVER=9.9 picks the installed 9.9.0-1-amd64 headers" mk module KVER=9.9
check "... and builds in the kernel's own directory" \
	grep -qx "kbuild $HDRS/linux-headers-$KV M=$TMP/kmod/$KV/kernel modules" "$RECORD"

rm -rf "${HDRS:?}"/*
check "make module without headers fails" bash -c "! make -C '$ROOT' --no-print-directory module > '$TMP/out' 2>&1"
check "... naming Debian's header packages" \
	grep -q 'install linux-headers-amd64 .*linux-headers-6.12-amd64' "$TMP/out"
check "... and the running kernel's" grep -q "linux-headers-$(uname -r)" "$TMP/out"

tap_done
