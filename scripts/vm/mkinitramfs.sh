#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
#
# Build the base initramfs the test VM boots: build/vm/initramfs.cpio.
#
# Contents: busybox-static (applet symlinks), a few real host tools with
# their shared libraries (ldd closure + dynamic loader), the kernel modules
# the tests need (with their dependency closure, depmod'ed so modprobe works
# in the VM), dm-tenant.ko (lib/modules/KVER/extra/; its vermagic picks KVER),
# everything in build/bin/ (in /usr/local/bin) and build/lib/*.so* (in
# /usr/local/lib, on the VM's LD_LIBRARY_PATH), /etc (users root, hv 1001,
# support 1002, tadm1 1003, tadm2 1004, hv2 1005) and the init (scripts/vm/init).
#
# The scripts (tests/vm/*.sh, scripts/demo.sh, scripts/bench.sh) are not in
# this archive: scripts/vm/run.sh appends a small second archive per run with
# them and the run's environment (the kernel unpacks concatenated archives),
# so editing a test never rebuilds the image.
#
# The archive is NOT compressed on purpose: under TCG the guest needs ~1 s
# per 10 MB to gunzip it at every boot, while loading 100 MB raw is cheap.
#
# The image is rebuilt only when an input changed: a manifest of every input
# (path, size, mtime, and content hash for the project's own files) is hashed
# and compared with the one stored next to the image.
#
# Usage: scripts/vm/mkinitramfs.sh [-f] [-o OUT] [-q]
#   -f      rebuild even when up to date
#   -o OUT  output file (default build/vm/initramfs.cpio)
#   -q      quiet: no "up to date" / "built" message
# Env: VM_KMOD, KVER, VM_KVER: which module, and so which kernel (run.sh -h),
#      VM_EXTRA_MODULES, VM_EXTRA_BINS: space-separated additions.
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
cd "$ROOT"

die() { echo "mkinitramfs: error: $*" >&2; exit 1; }
msg() { [ "$QUIET" = 1 ] || echo "mkinitramfs: $*" >&2; }

FORCE=0
QUIET=0
OUT=build/vm/initramfs.cpio
while [ $# -gt 0 ]; do
	case "$1" in
	-f) FORCE=1 ;;
	-q) QUIET=1 ;;
	-o) OUT=${2:?-o needs a file}; shift ;;
	-h|--help) awk 'NR > 2 && /^#/ { print; next } NR > 2 { exit }' "$0"; exit 0 ;;
	*) die "unknown option '$1'" ;;
	esac
	shift
done

# shellcheck source=scripts/vm/common.sh
. "$ROOT/scripts/vm/common.sh"
DMT_KO=$(vm_kmod) || exit 1
KVER=$(vm_kver "$DMT_KO") || exit 1
MODDIR=/lib/modules/$KVER
[ -f "$MODDIR/modules.dep" ] || die "no modules for $KVER in $MODDIR (install linux-image-$KVER; see scripts/install-deps.sh)"

# Kernel modules wanted in the VM (name as modprobe knows it).  Missing or
# built-in ones are skipped silently.  Extend here, or with VM_EXTRA_MODULES.
MODULES="cryptd crypto_simd aesni-intel ecb xts cbc essiv sha256_generic
	af_alg algif_skcipher algif_hash
	dm-mod dm-crypt dm-flakey dm-delay dm-log-writes dm-bufio
	dm-region-hash dm-log dm-mirror dm-snapshot dm-zero dm-integrity
	md-mod raid1 brd loop null_blk
	virtio_pci virtio_blk virtio_net
	ext4 crc32c_generic crc32c-intel
	nvme-tcp nvmet nvmet-tcp nbd veth sch_netem sch_prio cls_u32
	scsi_debug sd_mod
	${VM_EXTRA_MODULES:-}"

# Host programs copied with their libraries; they replace busybox applets of
# the same name.  Missing ones are skipped (mdadm is optional).
BINS="bash dmsetup cryptsetup keyctl fio mkfs.ext4 mke2fs e2fsck blockdev
	losetup blkdiscard setpriv timeout dd flock kmod mdadm ip tc
	sqlite3 udevadm qemu-io nbd-server nbd-client promtool oathtool ${VM_EXTRA_BINS:-}"

# busybox: prefer the static one (busybox-static); a dynamic one works too
# since its libraries are added like any other binary's.
BUSYBOX=$(command -v busybox || true)
[ -n "$BUSYBOX" ] || die "busybox not found (install busybox-static)"

find_bin() {
	PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin \
		command -v "$1" 2>/dev/null || true
}

# --- manifest: everything that influences the image -------------------------
manifest() {
	echo "kver $KVER"
	echo "modules $MODULES"
	echo "bins $BINS"
	local f
	{
		echo "$BUSYBOX"
		for f in $BINS; do find_bin "$f"; done
		echo "$MODDIR/modules.dep"
	} | while read -r f; do
		if [ -n "$f" ]; then stat -L -c '%n %s %Y' "$f"; fi
	done
	# Project files: content hashes (cheap, and immune to mtime games).
	{
		echo scripts/vm/mkinitramfs.sh
		echo scripts/vm/init
		echo scripts/vm/common.sh
		echo userspace/udev/69-dm-tenant.rules
		echo userspace/hooks/libvirt-qemu
		if [ -f "$DMT_KO" ]; then echo "$DMT_KO"; fi
		if [ -d build/bin ]; then
			find build/bin -maxdepth 1 -type f | LC_ALL=C sort
		fi
		if [ -d build/lib ]; then
			find build/lib -maxdepth 1 -name '*.so*' | LC_ALL=C sort
		fi
	} | while read -r f; do
		if [ -n "$f" ]; then sha256sum "$f"; fi
	done
}

mkdir -p "$(dirname "$OUT")"
# One builder at a time (two runs may share the build tree).
exec 9> "$OUT.lock"
flock 9
STAMP=$OUT.manifest
NEW_MANIFEST=$(manifest)
NEW_HASH=$(printf '%s\n' "$NEW_MANIFEST" | sha256sum | cut -d' ' -f1)
if [ "$FORCE" = 0 ] && [ -s "$OUT" ] && [ -f "$STAMP" ] &&
   [ "$(head -n1 "$STAMP")" = "$NEW_HASH" ]; then
	msg "$OUT up to date"
	exit 0
fi

T0=$(date +%s.%N)
STAGE=$(mktemp -d "${OUT%/*}/staging.XXXXXX")
trap 'rm -rf "$STAGE"' EXIT

# Merged-/usr layout like Debian 12: one place per program name.
mkdir -p "$STAGE"/usr/bin "$STAGE"/usr/sbin "$STAGE"/usr/lib "$STAGE"/usr/lib64 \
	"$STAGE"/usr/local/bin "$STAGE"/etc "$STAGE"/proc "$STAGE"/sys \
	"$STAGE"/dev "$STAGE"/tmp "$STAGE"/run "$STAGE"/root "$STAGE"/home \
	"$STAGE"/mnt "$STAGE"/var "$STAGE"/dmt
ln -s usr/bin "$STAGE/bin"
ln -s usr/sbin "$STAGE/sbin"
ln -s usr/lib "$STAGE/lib"
ln -s usr/lib64 "$STAGE/lib64"
ln -s ../run "$STAGE/var/run"
ln -s ../tmp "$STAGE/var/tmp"
chmod 1777 "$STAGE/tmp"

# --- busybox --------------------------------------------------------------------
cp "$BUSYBOX" "$STAGE/usr/bin/busybox"
"$BUSYBOX" --list-full | while read -r applet; do
	name=${applet##*/}
	case "$applet" in
	sbin/*|usr/sbin/*) dst=usr/sbin/$name ;;
	*) dst=usr/bin/$name ;;
	esac
	[ -e "$STAGE/usr/bin/$name" ] || [ -e "$STAGE/usr/sbin/$name" ] ||
		ln -s /usr/bin/busybox "$STAGE/$dst"
done

# --- host programs + shared libraries ---------------------------------------
copy_file() {	# copy_file SRC [DST-in-stage]: dereference symlinks, keep path
	local src=$1 dst=${2:-$1}
	[ -e "$STAGE$dst" ] && return 0
	mkdir -p "$STAGE$(dirname "$dst")"
	cp -L "$src" "$STAGE$dst"
}

copy_libs() {	# ldd closure (ldd already resolves transitively) + loader
	local bin=$1 lib
	ldd "$bin" 2>/dev/null | awk '
		$2 == "=>" && $3 ~ /^\// { print $3; next }
		$1 ~ /^\// { print $1 }' |
	while read -r lib; do
		copy_file "$lib"
		# A project library (build/lib/...): also where the VM's
		# LD_LIBRARY_PATH (/usr/local/lib) finds it.
		case "$lib" in
		/lib/*|/lib64/*|/usr/lib/*|/usr/lib64/*) ;;
		*) copy_file "$lib" "/usr/local/lib/${lib##*/}" ;;
		esac
	done
}

add_bin() {	# add_bin HOSTPATH [DSTDIR]: program replaces a busybox applet
	local src=$1 name dst
	name=${src##*/}
	if [ -n "${2:-}" ]; then
		dst=$2/$name
	else
		# merged /usr: /sbin/x and /usr/sbin/x are one place
		case "$src" in
		/sbin/*|/usr/sbin/*) dst=/usr/sbin/$name ;;
		/bin/*|/usr/bin/*) dst=/usr/bin/$name ;;
		*) dst=$src ;;
		esac
	fi
	rm -f "$STAGE/usr/bin/$name" "$STAGE/usr/sbin/$name"
	mkdir -p "$STAGE$(dirname "$dst")"
	cp -L "$src" "$STAGE$dst"
	chmod 0755 "$STAGE$dst"
	copy_libs "$src"
}

for b in $BINS; do
	p=$(find_bin "$b")
	[ -n "$p" ] || { msg "note: $b not found on host, skipped"; continue; }
	add_bin "$p"
done
# kmod is a multi-call binary: give it the usual names.
if [ -x "$STAGE/usr/bin/kmod" ]; then
	for n in modprobe insmod rmmod lsmod modinfo depmod; do
		rm -f "$STAGE/usr/bin/$n" "$STAGE/usr/sbin/$n"
		ln -s /usr/bin/kmod "$STAGE/usr/sbin/$n"
	done
fi
# mkfs.ext4 is mke2fs under another name; keep them both real files (the
# ldd copy above did it) so nothing depends on symlink names.

# Project executables (build/bin/*): first in PATH.
if [ -d build/bin ]; then
	find build/bin -maxdepth 1 -type f -perm -u+x | LC_ALL=C sort |
	while read -r f; do
		add_bin "$ROOT/$f" /usr/local/bin
	done
fi

# Project shared libraries (build/lib/*.so*), for programs that dlopen them
# or find them by $ORIGIN-relative RUNPATH.
if [ -d build/lib ]; then
	mkdir -p "$STAGE/usr/local/lib"
	find build/lib -maxdepth 1 -name '*.so*' | LC_ALL=C sort |
	while read -r f; do
		cp -L "$f" "$STAGE/usr/local/lib/"
	done
fi

# --- udev (tests/vm/70-udev-*.sh, the demo) ----------------------------------------
# Debian's systemd-udevd is udevadm under another name.  Only the rules the
# block tests need, plus ours and its helper where a package installs them.
# The init does not start udevd: a test that wants it starts it.
if [ -x "$STAGE/usr/bin/udevadm" ]; then
	mkdir -p "$STAGE/usr/lib/systemd" "$STAGE/usr/lib/udev/rules.d" \
		"$STAGE/etc/udev/rules.d"
	ln -sf /usr/bin/udevadm "$STAGE/usr/lib/systemd/systemd-udevd"
	for r in 50-udev-default 55-dm 60-block 60-persistent-storage \
		 60-persistent-storage-dm 95-dm-notify; do
		if [ -f "/lib/udev/rules.d/$r.rules" ]; then
			cp "/lib/udev/rules.d/$r.rules" "$STAGE/usr/lib/udev/rules.d/"
		fi
	done
	cp userspace/udev/69-dm-tenant.rules "$STAGE/usr/lib/udev/rules.d/"
	if [ -x build/bin/dmt-udev ]; then
		cp build/bin/dmt-udev "$STAGE/usr/lib/udev/dmt-udev"
	fi
	mkdir -p "$STAGE/usr/share/dm-tenant"
	cp userspace/hooks/libvirt-qemu "$STAGE/usr/share/dm-tenant/libvirt-qemu-hook"
fi

# --- kernel modules ------------------------------------------------------------
mkdir -p "$STAGE$MODDIR"
for f in modules.order modules.builtin modules.builtin.modinfo; do
	[ -f "$MODDIR/$f" ] && cp "$MODDIR/$f" "$STAGE$MODDIR/"
done

add_module() {	# add_module NAME: the module and its dependency closure
	modprobe -S "$KVER" --show-depends "$1" 2>/dev/null |
	while read -r kind path _; do
		[ "$kind" = insmod ] && copy_file "$path"
	done || true
}

DEPS=""
if [ -f "$DMT_KO" ]; then
	mkdir -p "$STAGE$MODDIR/extra"
	cp "$DMT_KO" "$STAGE$MODDIR/extra/"
	DEPS=$(modinfo -F depends "$DMT_KO" 2>/dev/null | tr ',' ' ')
fi
for m in $MODULES $DEPS; do
	add_module "$m"
done
depmod -b "$STAGE" "$KVER" || die "depmod failed"

# --- init ------------------------------------------------------------------------
cp scripts/vm/init "$STAGE/init"
chmod 0755 "$STAGE/init"

# --- /etc ------------------------------------------------------------------------
cat > "$STAGE/etc/passwd" <<'EOF'
root:x:0:0:root:/root:/bin/sh
hv:x:1001:1001:hypervisor agent:/home/hv:/bin/sh
support:x:1002:1002:support engineer:/home/support:/bin/sh
tadm1:x:1003:1003:tenant admin 1:/tmp:/bin/sh
tadm2:x:1004:1004:tenant admin 2:/tmp:/bin/sh
hv2:x:1005:1005:second hypervisor agent:/tmp:/bin/sh
nobody:x:65534:65534:nobody:/nonexistent:/usr/sbin/nologin
EOF
cat > "$STAGE/etc/group" <<'EOF'
root:x:0:
disk:x:6:
hv:x:1001:
support:x:1002:
tadm1:x:1003:
tadm2:x:1004:
hv2:x:1005:
nogroup:x:65534:
EOF
cat > "$STAGE/etc/shadow" <<'EOF'
root:*:19000:0:99999:7:::
hv:*:19000:0:99999:7:::
support:*:19000:0:99999:7:::
tadm1:*:19000:0:99999:7:::
tadm2:*:19000:0:99999:7:::
hv2:*:19000:0:99999:7:::
nobody:*:19000:0:99999:7:::
EOF
chmod 0600 "$STAGE/etc/shadow"
mkdir -p "$STAGE/home/hv" "$STAGE/home/support"	# chown'ed by the init
printf '127.0.0.1 localhost\n::1 localhost\n' > "$STAGE/etc/hosts"
echo dmt-vm > "$STAGE/etc/hostname"
ln -s /proc/self/mounts "$STAGE/etc/mtab"
# libdevmapper: never wait for udev (there is none); dmsetup makes nodes.
mkdir -p "$STAGE/etc/lvm"
cat > "$STAGE/etc/lvm/lvm.conf" <<'EOF'
activation {
	udev_sync = 0
	udev_rules = 0
	verify_udev_operations = 0
}
EOF
# The kernel opens /dev/console for init before devtmpfs is mounted.
if [ "$(id -u)" = 0 ]; then
	mknod -m 600 "$STAGE/dev/console" c 5 1
	mknod -m 666 "$STAGE/dev/null" c 1 3
fi

# --- archive -----------------------------------------------------------------------
TMP_OUT=$OUT.tmp.$$
(cd "$STAGE" && find . -mindepth 1 | LC_ALL=C sort |
	cpio -o -H newc -R 0:0 --quiet) > "$TMP_OUT"
mv -f "$TMP_OUT" "$OUT"
{ echo "$NEW_HASH"; printf '%s\n' "$NEW_MANIFEST"; } > "$STAMP"
T1=$(date +%s.%N)
msg "built $OUT ($(du -h "$OUT" | cut -f1), $(awk -v a="$T0" -v b="$T1" 'BEGIN{printf "%.1f", b-a}')s, kernel $KVER$([ -f "$DMT_KO" ] && echo ", with dm-tenant.ko"))"
