# SPDX-License-Identifier: GPL-2.0
# Shared helpers for scripts/vm/*.sh (sourced by bash scripts).
# shellcheck shell=bash

# vm_bootable_kvers: the kernels with /boot/vmlinuz-VER and /lib/modules/VER,
#   oldest first.
vm_bootable_kvers() {
	local k
	for k in /boot/vmlinuz-*; do
		[ -f "$k" ] || continue
		k=${k#/boot/vmlinuz-}
		[ -f "/lib/modules/$k/modules.dep" ] && echo "$k"
	done | sort -V
}

# vm_kmod: print the dm-tenant.ko the VM loads: VM_KMOD if set, else the
#   module `make module` builds for KVER (scripts/kmod.sh ko; KVER empty: the
#   default kernel).  VM_KMOD=none: no module (harness selftests only).
vm_kmod() {
	if [ -n "${VM_KMOD:-}" ]; then
		echo "$VM_KMOD"
		return 0
	fi
	"$(dirname "${BASH_SOURCE[0]}")/../kmod.sh" ko ${KVER:-}
}

# vm_kver KMOD: print the kernel version the VM boots: the one the module was
#   built for (its vermagic), so that a test never runs without it.  A missing
#   module, or VM_KVER naming another kernel, is an error (a FAIL, never a
#   SKIP).  With KMOD "none": VM_KVER, else the default kernel, else the
#   newest one in /boot.
vm_kver() {
	local ko=$1 v=""
	if [ "$ko" != none ]; then
		if [ ! -f "$ko" ]; then
			echo "error: dm-tenant.ko not built: $ko (run 'make module', or 'make module KVER=...' for another kernel)" >&2
			return 1
		fi
		v=$(modinfo -F vermagic "$ko" 2>/dev/null | cut -d' ' -f1)
		if [ -z "$v" ]; then
			echo "error: $ko has no vermagic: not a kernel module (rebuild it: make module)" >&2
			return 1
		fi
		if [ -n "${VM_KVER:-}" ] && [ "$VM_KVER" != "$v" ]; then
			echo "error: $ko is built for $v, VM_KVER asks for $VM_KVER (make module KVER=$VM_KVER, or unset VM_KVER)" >&2
			return 1
		fi
	fi
	[ -n "$v" ] || v=${VM_KVER:-}
	[ -n "$v" ] || v=$("$(dirname "${BASH_SOURCE[0]}")/../kmod.sh" kver ${KVER:-} 2>/dev/null) || v=""
	[ -n "$v" ] || v=$(vm_bootable_kvers | tail -n1)
	if [ -z "$v" ]; then
		echo "error: no kernel for the VM: install linux-image-amd64 (scripts/install-deps.sh)" >&2
		return 1
	fi
	if [ ! -f "/boot/vmlinuz-$v" ] || [ ! -f "/lib/modules/$v/modules.dep" ]; then
		echo "error: VM kernel $v: /boot/vmlinuz-$v or /lib/modules/$v missing (install linux-image-$v)" >&2
		return 1
	fi
	echo "$v"
}

# vm_kernel KVER OUTDIR: print the kernel image to boot.
# Under TCG, decompressing the (xz) bzImage costs the guest seconds per boot,
# so the uncompressed ELF vmlinux is extracted once and booted through its
# PVH entry point (CONFIG_PVH).  Falls back to /boot/vmlinuz-KVER.
vm_kernel() {
	local kver=$1 dir=$2 img="/boot/vmlinuz-$1" out off magic tool
	out=$dir/vmlinux-$kver
	if [ -s "$out" ] && [ "$out" -nt "$img" ]; then
		echo "$out"
		return 0
	fi
	mkdir -p "$dir"
	for magic in 'xz:\xfd7zXZ\x00' 'zstd:\x28\xb5\x2f\xfd' 'gzip:\x1f\x8b\x08' \
		     'lz4:\x02\x21\x4c\x18'; do
		tool=${magic%%:*}
		command -v "$tool" > /dev/null || continue
		for off in $(LC_ALL=C grep -obUaP "${magic#*:}" "$img" 2>/dev/null |
			     cut -d: -f1 | head -n 3); do
			case "$tool" in
			xz) tail -c +"$((off + 1))" "$img" | xz -dc --single-stream ;;
			*) tail -c +"$((off + 1))" "$img" | "$tool" -dc ;;
			esac > "$out.tmp" 2>/dev/null
			if [ "$(head -c 4 "$out.tmp" | od -An -c | tr -d ' ')" = '177ELF' ] &&
			   readelf -n "$out.tmp" 2>/dev/null |
			   grep -Eq 'Unknown note type: \(0x00000012\)|PHYS32_ENTRY'; then
				mv -f "$out.tmp" "$out"
				echo "$out"
				return 0
			fi
		done
	done
	rm -f "$out.tmp"
	echo "$img"
}

# Kernel log lines that fail a test.  Extended regular expressions, one per
# line.  Matched against the kernel log only, never against test output.
VM_BAD_PATTERNS='WARNING:
BUG:
Oops
general protection fault
Kernel panic
INFO: task .* blocked for more than
possible circular locking
possible recursive locking
inconsistent lock state
UBSAN:
KASAN:
stack segment
kernel BUG
Call Trace'

# Known-harmless kernel lines that would match the above (ERE, one per line).
# Empty for now: add with a comment saying why, never to hide our bugs.
VM_BENIGN_PATTERNS=''

# vm_scan_kernel_log FILE...: print the offending kernel log lines (at most
# 20); exit status 0 iff something bad was found.
vm_scan_kernel_log() {
	local hits
	hits=$(cat -- "$@" 2>/dev/null | tr -d '\r' |
		grep -E -f <(printf '%s\n' "$VM_BAD_PATTERNS") |
		{ if [ -n "$VM_BENIGN_PATTERNS" ]; then
			grep -v -E -f <(printf '%s\n' "$VM_BENIGN_PATTERNS")
		  else cat; fi; } | head -n 20)
	[ -n "$hits" ] || return 1
	printf '%s\n' "$hits"
}

# vm_dmesg_section FILE: the kernel log the init dumped into the test output.
vm_dmesg_section() {
	tr -d '\r' < "$1" | sed -n '/^@@DMT-DMESG-BEGIN@@$/,/^@@DMT-DMESG-END@@$/p'
}

# vm_test_output FILE: test output alone (markers and kernel log removed).
vm_test_output() {
	tr -d '\r' < "$1" | sed -e '/^@@DMT-DMESG-BEGIN@@$/,/^@@DMT-DMESG-END@@$/d' \
		-e '/^@@DMT-[A-Z]*.*@@$/d'
}

# vm_result FILE: the exit code from the result marker, or nothing.
vm_result() {
	tr -d '\r' < "$1" | sed -n 's/^@@DMT-RESULT \([0-9]*\)@@$/\1/p' | tail -n1
}

# vm_verdict WORKDIR BOOT BOOTS HOST_TIMED_OUT TIMEOUT_SECONDS
# Judge one boot from WORKDIR/out.BOOT (test output, ttyS1), kcon.BOOT
# (kernel console, ttyS0) and qrc.BOOT (qemu's exit status).  Sets
#   VERDICT  PASS | FAIL | SKIP | NEXT (an earlier boot went fine: go on)
#   REASON   why, for FAIL
# shellcheck disable=SC2034  # VERDICT and REASON are for the caller
vm_verdict() {
	local w=$1 b=$2 n=$3 host_to=$4 to=$5 res bad qrc in=""
	VERDICT=FAIL
	REASON=""
	[ "$n" -eq 1 ] || in=" in boot $b"
	res=$(vm_result "$w/out.$b")
	qrc=$(cat "$w/qrc.$b" 2>/dev/null || echo '?')
	bad=$({ cat "$w/kcon.$b" 2>/dev/null; vm_dmesg_section "$w/out.$b"; } |
		vm_scan_kernel_log /dev/stdin | head -n1) || true
	[ -z "$bad" ] || bad="kernel: $(printf '%s' "$bad" | sed 's/^\[[ 0-9.]*\] //' | cut -c1-100)"
	if [ "$host_to" = 1 ]; then
		REASON="timeout after ${to}s, VM killed$in${bad:+; $bad}"
		return 0
	fi
	if tr -d '\r' < "$w/out.$b" | grep -qx '@@DMT-TIMEOUT@@'; then
		REASON="timeout after ${to}s$in${bad:+; $bad}"
		return 0
	fi
	if [ -n "$bad" ]; then
		REASON=$bad
		[ -z "$res" ] || [ "$res" = 0 ] || REASON="exit $res; $REASON"
		return 0
	fi
	if [ "$b" -lt "$n" ]; then
		# Boots before the last may crash or reboot on purpose.
		case "$res" in
		''|0) VERDICT=NEXT ;;
		77) VERDICT=SKIP ;;
		*) REASON="boot $b/$n exited $res" ;;
		esac
		return 0
	fi
	case "$res" in
	'') REASON="no result: VM crashed, rebooted or hung$in (qemu exit $qrc)" ;;
	0) VERDICT=PASS ;;
	77) VERDICT=SKIP ;;
	*) REASON="exit $res" ;;
	esac
	return 0
}
