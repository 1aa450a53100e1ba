#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
#
# dkms.conf works: Debian's dkms adds the source and builds dm-tenant.ko for
# every kernel whose headers are installed (Debian 12: 6.1 and 6.12), and
# the module it makes is built for that kernel (vermagic).  Uses private
# dkms and source trees under a temp dir: the host's /var/lib/dkms and
# /usr/src are not touched.  `make check-kernels` runs it.
# Ends with "N passed, N failed"; exit status 0 iff nothing failed.
set -uo pipefail
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$ROOT" || exit 2
exec < /dev/null

PASS=0
FAIL=0
ok() { PASS=$((PASS + 1)); echo "PASS $*"; }
ko() { FAIL=$((FAIL + 1)); echo "FAIL $*"; }

if ! command -v dkms > /dev/null; then
	echo "FAIL dkms not installed (install dkms: scripts/install-deps.sh)"
	echo "0 passed, 1 failed"
	exit 1
fi
TMP=$(mktemp -d "${TMPDIR:-/tmp}/dmt-dkms.XXXXXX")
trap 'rm -rf "$TMP"' EXIT
VER=$(sed -n 's/^PACKAGE_VERSION="\(.*\)"$/\1/p' dkms.conf)
SRC=$TMP/src/dm-tenant-$VER
mkdir -p "$SRC/scripts" "$TMP/dkms"
# What a source package ships: the module's sources and its build script.
cp -r dkms.conf kernel include "$SRC/"
cp scripts/kmod.sh "$SRC/scripts/"
DKMS=(dkms --sourcetree "$TMP/src" --dkmstree "$TMP/dkms" -m dm-tenant -v "$VER")

if "${DKMS[@]}" add > "$TMP/add.log" 2>&1; then
	ok "dkms add"
else
	sed 's/^/  | /' "$TMP/add.log"
	ko "dkms add"
fi
kvers=$(for d in /usr/src/linux-headers-*-amd64; do
		[ -f "$d/Makefile" ] && echo "${d#/usr/src/linux-headers-}"
	done | sort -V)
[ -n "$kvers" ] || ko "no kernel headers installed (make deps)"
for kv in $kvers; do
	t0=$(date +%s)
	if ! "${DKMS[@]}" build -k "$kv" > "$TMP/build-$kv.log" 2>&1; then
		tail -n 30 "$TMP/build-$kv.log" | sed 's/^/  | /'
		find "$TMP/dkms" -name make.log -path "*$kv*" -exec tail -n 30 {} \; | sed 's/^/  | /'
		ko "dkms build -k $kv"
		continue
	fi
	ko_file=$(find "$TMP/dkms/dm-tenant/$VER/$kv" -name 'dm-tenant.ko*' | head -n1)
	magic=$(modinfo -F vermagic "$ko_file" 2>/dev/null | cut -d' ' -f1)
	if [ "$magic" = "$kv" ]; then
		ok "dkms build -k $kv ($(($(date +%s) - t0))s; vermagic $magic)"
	else
		ko "dkms build -k $kv: module '$ko_file' has vermagic '$magic'"
	fi
done
echo "$PASS passed, $FAIL failed"
[ "$FAIL" -eq 0 ]
