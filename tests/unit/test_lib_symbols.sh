#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# libdmtenant's ABI surface; TAP output.  Run by `make check-unit` (twice,
# like every shell test; nothing here runs under the wrapper).
#   - build/lib/libdmtenant.so.1 exports exactly the functions declared in
#     userspace/lib/include/dmtenant.h, all at version DMTENANT_1.0, and
#     the version script lists exactly those;
#   - soname libdmtenant.so.1;
#   - the public header compiles alone (C11 -pedantic, and as C++) and a
#     program links against the shared library.
set -u
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
SO=$ROOT/build/lib/libdmtenant.so.1
HDR=$ROOT/userspace/lib/include/dmtenant.h
SYM=$ROOT/userspace/lib/libdmtenant.sym
TMP=$(mktemp -d)
trap 'rm -rf "$TMP"' EXIT
n=0
ok() { n=$((n + 1)); echo "ok $n - $1"; }
not_ok() { n=$((n + 1)); echo "not ok $n - $1"; }
t() { local name=$1; shift; if "$@"; then ok "$name"; else not_ok "$name"; fi; }

echo "1..6"
if [ ! -f "$SO" ]; then
	for i in 1 2 3 4 5 6; do echo "ok $i # SKIP $SO not built (make userspace)"; done
	exit 0
fi
grep -oE '\bdmt_[a-z0-9_]+\(' "$HDR" | tr -d '(' | sort -u >"$TMP/header"
nm -D --defined-only "$SO" | awk '$2 == "T" { print $3 }' | sort >"$TMP/exported"
sed -n 's/^[[:space:]]*\(dmt_[a-z0-9_]*\);$/\1/p' "$SYM" | sort >"$TMP/sym"

t "exports == header declarations" diff -u "$TMP/header" <(sed 's/@.*//' "$TMP/exported")
t "version script == header declarations" diff -u "$TMP/header" "$TMP/sym"
t "every export is at DMTENANT_1.0" \
	bash -c "! grep -v '@@DMTENANT_1.0\$' '$TMP/exported' | grep -q ."
t "soname libdmtenant.so.1" \
	bash -c "objdump -p '$SO' | grep -qE 'SONAME +libdmtenant.so.1'"
cat >"$TMP/use.c" <<'EOC'
#include <dmtenant.h>
int main(void)
{
	struct dmt_ctx *ctx;
	int r = dmt_ctx_new(&ctx, DMT_CTX_NO_MODULE_LOAD);

	dmt_ctx_free(ctx);
	return r;
}
EOC
t "header alone: C11 -pedantic, link with -ldmtenant, run" bash -c \
	"cc -std=c11 -pedantic -Wall -Wextra -Werror -I'$(dirname "$HDR")' -o '$TMP/use' '$TMP/use.c' \
	 -L'$(dirname "$SO")' -ldmtenant -Wl,-rpath,'$(dirname "$SO")' && '$TMP/use'"
if command -v c++ >/dev/null 2>&1; then
	t "header compiles as C++" bash -c \
		"echo '#include <dmtenant.h>' | c++ -x c++ -Wall -Werror -I'$(dirname "$HDR")' -fsyntax-only -"
else
	echo "ok 6 # SKIP no C++ compiler"
fi
