#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
#
# Install the Debian packages dm-tenant needs to build and test (Debian 12).
# Idempotent and silent when everything is present.  As root, installs what
# is missing; otherwise prints the missing list and the command, exits 1.
set -euo pipefail

# The one list.  Keep it sorted by purpose; every entry is a Debian package.
PACKAGES=(
	# build: module and userspace
	gcc make pkg-config clang libclang-rt-14-dev
	# the two kernels the module is built and tested for (README.md):
	# Debian 12's default 6.1 and 6.12 from its security archive
	linux-headers-amd64 linux-headers-6.12-amd64
	# dkms.conf is tested with Debian's dkms (make check-kernels)
	dkms
	libdevmapper-dev libcryptsetup-dev libkmod-dev libjson-c-dev
	libsqlite3-dev libssl-dev libkeyutils-dev
	# second factor: TOTP codes (liboath), QR codes on a terminal; oathtool
	# makes codes in the tests and the demo
	liboath-dev libqrencode-dev oathtool
	# unit tests
	libcmocka-dev valgrind
	# style: checkpatch.pl comes from the kernel source tarball
	linux-source-6.1 perl xz-utils
	# VM harness: kernel to boot, emulator, initramfs contents
	linux-image-amd64 linux-image-6.12-amd64 qemu-system-x86 busybox-static cpio kmod
	coreutils util-linux binutils gzip bash iproute2
	dmsetup cryptsetup-bin keyutils fio e2fsprogs sqlite3
	# udev provisioning tests (70-udev-*): Debian's udevd, qemu-io
	udev qemu-utils
	# remote legs over NBD (tests/vm/81-remote-nbd.sh)
	nbd-server nbd-client
	# benchmarks
	mdadm
	# promtool (metrics format check in tests/unit/test_daemon_metrics.c
	# and tests/vm/30-tenantd-e2e.sh): Debian ships it only with the
	# prometheus server package (~96 MB installed)
	prometheus
)

missing=()
for p in "${PACKAGES[@]}"; do
	[ "$(dpkg-query -W -f='${db:Status-Status}' "$p" 2>/dev/null)" = installed ] ||
		missing+=("$p")
done
[ ${#missing[@]} -eq 0 ] && exit 0

if [ "$(id -u)" -ne 0 ]; then
	echo "missing Debian packages: ${missing[*]}" >&2
	echo "install them as root with:" >&2
	echo "  apt-get update && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends ${missing[*]}" >&2
	exit 1
fi

echo "install-deps: installing ${missing[*]}" >&2
apt-get update -q >&2
DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends \
	"${missing[@]}" < /dev/null >&2
