#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# scripts/kmod.sh: compile probes and one object tree per kernel; TAP
# output.  Two fake kbuild trees stand in for two kernels' headers: each
# "compiles" only the probe objects its kernel has (it touches them) and
# records every call.
#   - dm-tenant-probes.h has HAVE_<NAME> exactly for the probes that built;
#   - each kernel gets its own build/kmod/<kver>/ (objects never shared);
#   - probes are not rerun while nothing they depend on changed;
#   - every probe names the upstream change it tests for.
set -u
# shellcheck source=tests/unit/tap.sh
. "$(dirname "$0")/tap.sh"
# Run as a fresh user would, not with the flags of the make running us.
unset MAKEFLAGS MFLAGS MAKELEVEL KVER

export DMT_KHEADERS="$TMP/src/linux-headers-%"
export DMT_KMOD_DIR=$TMP/kmod
RECORD=$TMP/calls

fake_kernel() {	# fake_kernel KVER PROBE...: headers whose kbuild has PROBEs
	local d=$TMP/src/linux-headers-$1
	shift
	mkdir -p "$d"
	cat > "$d/Makefile" <<EOF
HAVE := $*
%.o:
	@echo "probe \$(CURDIR) \$@" >> $RECORD
	@if echo " \$(HAVE) " | grep -q " \$(basename \$@) "; then touch \$(M)/\$@; else exit 1; fi
modules:
	@echo "modules \$(CURDIR) M=\$(M)" >> $RECORD
EOF
}
fake_kernel 1.0.0-old
fake_kernel 2.0.0-new crypto_completion_data shrinker_alloc

kmod() { "$ROOT/scripts/kmod.sh" "$@" > "$TMP/out" 2>&1; }
hdr() { echo "$TMP/kmod/$1/compat/dm-tenant-probes.h"; }

check "build for the old kernel" kmod build 1.0.0
check "... has no HAVE_ for probes that did not compile" \
	bash -c "! grep -q '^#define HAVE_' '$(hdr 1.0.0-old)'"
check "... and lists them as undefined" \
	grep -qx '/\* #undef HAVE_SHRINKER_ALLOC \*/' "$(hdr 1.0.0-old)"
check "build for the new kernel" kmod build 2.0.0
check "... HAVE_SHRINKER_ALLOC where its probe compiled" \
	grep -qx '#define HAVE_SHRINKER_ALLOC 1' "$(hdr 2.0.0-new)"
check "... HAVE_CRYPTO_COMPLETION_DATA too" \
	grep -qx '#define HAVE_CRYPTO_COMPLETION_DATA 1' "$(hdr 2.0.0-new)"
check "each kernel builds in its own directory" \
	grep -qx "modules $TMP/src/linux-headers-1.0.0-old M=$TMP/kmod/1.0.0-old/kernel" "$RECORD"
check "... the other kernel in its own" \
	grep -qx "modules $TMP/src/linux-headers-2.0.0-new M=$TMP/kmod/2.0.0-new/kernel" "$RECORD"
check "the module's sources are linked, not copied" \
	[ "$(readlink "$TMP/kmod/2.0.0-new/kernel/dm-tenant-target.c")" = "$ROOT/kernel/dm-tenant-target.c" ]

: > "$RECORD"
check "rebuild" kmod build 2.0.0
check "... does not probe again when nothing changed" \
	bash -c "! grep -q '^probe ' '$RECORD'"
echo 'CONFIG_CHANGED=y' > "$TMP/src/linux-headers-2.0.0-new/.config"
check "rebuild after the kernel's config changed" kmod build 2.0.0
check "... probes again" grep -q '^probe ' "$RECORD"

for p in "$ROOT"/kernel/compat/probes/*.c; do
	check "probe $(basename "$p") names the kernel version of its change" \
		grep -Eq 'v[0-9]+\.[0-9]+' "$p"
done
tap_done
