# SPDX-License-Identifier: GPL-2.0
# dm-tenant top-level build.  Newcomers need two commands: `make demo` and
# `make check` (README.md).  Both install missing Debian packages as root.

KVER ?= $(shell uname -r)
# The running kernel's build dir, else the Debian headers installed here
# (the host kernel of a build machine may have none).
KDIR ?= $(firstword $(wildcard /lib/modules/$(KVER)/build/Makefile) \
		    $(wildcard /usr/src/linux-headers-*-amd64/Makefile))
KDIR := $(patsubst %/Makefile,%,$(KDIR))
# The kernel the VM boots: the one matching KDIR.
VM_KVER ?= $(patsubst linux-headers-%,%,$(notdir $(KDIR)))

CC ?= cc
CFLAGS ?= -O2 -g
CFLAGS += -std=c11 -D_GNU_SOURCE -Wall -Wextra -Werror -Iinclude/uapi -Ikernel
BUILD := build

export KDIR VM_KVER

.PHONY: all module userspace deps check check-unit check-fuzz check-style \
	check-vm check-long demo bench clean install

all: module userspace

deps:
	@scripts/install-deps.sh

module:
	@test -n "$(KDIR)" || { echo "no kernel headers: run 'make deps' as root" >&2; exit 1; }
	$(MAKE) -C $(KDIR) M=$(CURDIR) W=1 modules

# make install [DESTDIR=...] [PREFIX=/usr]: what a host running dm-tenant
# needs.  Each .mk adds SRC:DEST:MODE[:config] entries to INSTALL_FILES
# (scripts/install.sh).  The module goes to /lib/modules/$(VM_KVER)/updates;
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

INSTALL_FILES += kernel/dm-tenant.ko:/lib/modules/$(VM_KVER)/updates/dm-tenant.ko:0644

install: all
	@scripts/install.sh "$(DESTDIR)" $(INSTALL_FILES)

check: deps all
	@scripts/check-all.sh

demo: deps all
	@scripts/vm/run.sh --demo scripts/demo.sh

# Benchmarks, not tests: each boots one VM and prints ratios
# (Documentation/benchmarks.md).
bench: deps all
	@scripts/vm/run.sh --bench scripts/bench.sh
	@if [ -f scripts/bench-mirror.sh ]; then \
		scripts/vm/run.sh --bench scripts/bench-mirror.sh; fi
	@if [ -f scripts/bench-remote.sh ]; then \
		scripts/vm/run.sh --bench scripts/bench-remote.sh; fi

# Long runs kept out of `make check`: the VM tests marked "vm-long: yes"
# (a second transport, crash and restart variants, dm-log-writes; ~10 min)
# and FUZZ_RUNS (10 million) executions of every fuzz harness, one after
# the other (Documentation/testing.md: hours of CPU; FUZZERS=... picks).
check-long: deps all
	@scripts/vm/run.sh $$(grep -l '^# vm-long: yes' tests/vm/[0-9][0-9]-*.sh)
	@$(MAKE) --no-print-directory fuzz-long

clean:
	-$(MAKE) -C $(KDIR) M=$(CURDIR) clean 2>/dev/null
	rm -rf $(BUILD)
