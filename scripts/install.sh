#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# Install dm-tenant's built files (`make install`, DESTDIR-aware).
#
#   scripts/install.sh DESTDIR ENTRY...
#
# ENTRY is SRC:DEST:MODE[:config], or link:TARGET:DEST for a symlink.
#   - DEST is absolute; it lands under DESTDIR.
#   - "config" entries never replace a file that exists (an operator's
#     edited configuration): the new one goes next to it as DEST.dist.
#   - A missing SRC is an error: a half installation is worse than none,
#     so every SRC is checked before anything is copied.
set -euo pipefail

die() { echo "install.sh: $*" >&2; exit 1; }
[ $# -ge 1 ] || die "usage: install.sh DESTDIR ENTRY..."
destdir=${1%/}
shift

for e in "$@"; do
	IFS=: read -r src dest mode flag <<<"$e"
	[ -n "$src" ] && [ -n "$dest" ] && [ -n "$mode" ] ||
		die "bad entry '$e' (want SRC:DEST:MODE[:config] or link:TARGET:DEST)"
	[ "$src" != link ] || dest=$mode
	case $dest in /*) ;; *) die "'$dest' is not an absolute path" ;; esac
	[ "$src" = link ] || [ -f "$src" ] ||
		die "$src is missing: run 'make' first"
	[ -z "${flag:-}" ] || [ "$flag" = config ] ||
		die "unknown flag '$flag' in '$e'"
done

for e in "$@"; do
	IFS=: read -r src dest mode flag <<<"$e"
	if [ "$src" = link ]; then
		# link:TARGET:DEST  (mode field holds DEST)
		target=$dest
		dest=$mode
		mkdir -p "$destdir$(dirname "$dest")"
		ln -sfn "$target" "$destdir$dest"
		echo "  LINK    $dest -> $target"
		continue
	fi
	out=$destdir$dest
	if [ "${flag:-}" = config ] && [ -e "$out" ]; then
		if ! cmp -s "$src" "$out"; then
			install -D -m "$mode" "$src" "$out.dist"
			echo "  KEEP    $dest (new version: $dest.dist)"
		fi
		continue
	fi
	install -D -m "$mode" "$src" "$out"
	echo "  INSTALL $dest"
done
