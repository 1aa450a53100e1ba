# SPDX-License-Identifier: GPL-2.0
# dm-tenant top-level build.  Newcomers need two commands: `make demo` and
# `make check` (README.md).  Both install missing Debian packages as root.

# The kernel to build for: empty means the default (Debian 12's 6.1, else the
# running kernel); KVER=6.12 or a full version picks another.  Headers are
# looked up by scripts/kmod.sh when a recipe runs, never when this file is
# read: `make check` installs them first (deps) on a fresh machine.
KVER ?=
KMOD := scripts/kmod.sh
# Lazily expanded: only recipes that need the module's path or version pay
# for the lookup.
KVER_FULL = $(shell $(KMOD) kver $(KVER))
KMOD_KO = $(shell $(KMOD) ko $(KVER))
# How `make deps` installs the packages (tests replace it with a stub).
DEPS_CMD ?= scripts/install-deps.sh
CHECK_ALL ?= scripts/check-all.sh

CC ?= cc
CFLAGS ?= -O2 -g
CFLAGS += -std=c11 -D_GNU_SOURCE -Wall -Wextra -Werror -Iinclude/uapi -Ikernel
BUILD := build

.PHONY: all module userspace deps check check-unit check-fuzz check-style \
	check-vm check-long check-kernels demo bench clean install

all: module userspace

deps:
	@$(DEPS_CMD)

# build/kmod/<kver>/kernel/dm-tenant.ko (W=1), after the compile probes.
module:
	+@$(KMOD) build $(KVER)

# make install [DESTDIR=...] [PREFIX=/usr]: what a host running dm-tenant
# needs.  Each .mk adds SRC:DEST:MODE[:config] entries to INSTALL_FILES
# (scripts/install.sh).  The module goes to /lib/modules/<kver>/updates;
# run depmod on the target afterwards.
PREFIX ?= /usr
DESTDIR ?=
SBINDIR ?= $(PREFIX)/sbin
LIBDIR ?= $(PREFIX)/lib/x86_64-linux-gnu
INCLUDEDIR ?= $(PREFIX)/include
MANDIR ?= $(PREFIX)/share/man
SYSCONFDIR ?= /etc
UNITDIR ?= /lib/systemd/system
INSTALL_FILES :=

include userspace/userspace.mk
include tests/tests.mk

install: all
	@scripts/install.sh "$(DESTDIR)" $(INSTALL_FILES) \
		$(KMOD_KO):/lib/modules/$(KVER_FULL)/updates/dm-tenant.ko:0644

# The targets below install missing packages first (deps), then build in a
# second make: nothing is looked up before the packages are in place.
# make check: the whole VM suite on the default kernel (6.1) and a subset on
# 6.12 (scripts/check-all.sh names it); check-kernels: the whole suite on
# both, and dkms builds for both.
check: deps
	@$(CHECK_ALL)

check-kernels: deps
	@CHECK_SECOND_TESTS=all CHECK_DKMS=1 $(CHECK_ALL)

demo: deps
	@$(MAKE) --no-print-directory all
	@scripts/vm/run.sh --demo scripts/demo.sh

# Benchmarks, not tests: each boots one VM and prints ratios
# (Documentation/benchmarks.md).
bench: deps
	@$(MAKE) --no-print-directory all
	@scripts/vm/run.sh --bench scripts/bench.sh
	@if [ -f scripts/bench-mirror.sh ]; then \
		scripts/vm/run.sh --bench scripts/bench-mirror.sh; fi
	@if [ -f scripts/bench-remote.sh ]; then \
		scripts/vm/run.sh --bench scripts/bench-remote.sh; fi

# Long runs kept out of `make check`: the VM tests marked "vm-long: yes"
# (a second transport, crash and restart variants, dm-log-writes; ~10 min)
# and FUZZ_RUNS (10 million) executions of every fuzz harness, one after
# the other (Documentation/testing.md: hours of CPU; FUZZERS=... picks).
check-long: deps
	@$(MAKE) --no-print-directory all
	@scripts/vm/run.sh $$(grep -l '^# vm-long: yes' tests/vm/[0-9][0-9]-*.sh)
	@$(MAKE) --no-print-directory fuzz-long

clean:
	rm -rf $(BUILD)
