# SPDX-License-Identifier: GPL-2.0
# Userspace tools, built into build/bin/ (included from the top Makefile).
#
#   tenant-table   validate a table with the kernel's own parser and print
#                  its canonical form (userspace/tools/tenant-table.c)

USERSPACE_BIN := $(BUILD)/bin
# The top Makefile's flags, again in case CFLAGS came from the command line.
USERSPACE_REQ_CFLAGS := -std=c11 -D_GNU_SOURCE -Wall -Wextra -Werror \
			-Iinclude/uapi -Ikernel
USERSPACE_CFLAGS = $(CFLAGS) $(filter-out $(CFLAGS),$(USERSPACE_REQ_CFLAGS))

TENANT_TABLE_SRCS := userspace/tools/tenant-table.c kernel/tenant-table.c
TENANT_TABLE_DEPS := $(TENANT_TABLE_SRCS) kernel/tenant-table.h \
		     include/uapi/linux/dm-tenant.h

userspace: $(USERSPACE_BIN)/tenant-table

$(USERSPACE_BIN)/tenant-table: $(TENANT_TABLE_DEPS)
	@mkdir -p $(@D)
	$(CC) $(USERSPACE_CFLAGS) -o $@ $(TENANT_TABLE_SRCS)

# libdmtenant: build/lib/libdmtenant.so.1 + .a, build/bin/dmt-libtest
include userspace/lib/lib.mk

# tenantd (build/bin/tenantd) and tenantctl (build/bin/tenantctl)
include userspace/daemon/daemon.mk
include userspace/cli/cli.mk
# dmt-udev and the udev rules (udev provisioning)
include userspace/udev/udev.mk

INSTALL_FILES += \
	$(USERSPACE_BIN)/tenantd:$(SBINDIR)/tenantd:0755 \
	$(USERSPACE_BIN)/tenantctl:$(SBINDIR)/tenantctl:0755 \
	$(LIBDMT_BUILD)/libdmtenant.so.1:$(LIBDIR)/libdmtenant.so.1:0644 \
	link:libdmtenant.so.1:$(LIBDIR)/libdmtenant.so \
	$(LIBDMT_A):$(LIBDIR)/libdmtenant.a:0644 \
	$(LIBDMT_INCLUDE)/dmtenant.h:$(INCLUDEDIR)/dmtenant.h:0644 \
	userspace/man/tenantd.8:$(MANDIR)/man8/tenantd.8:0644 \
	userspace/man/tenantctl.8:$(MANDIR)/man8/tenantctl.8:0644 \
	userspace/daemon/tenantd.service:$(UNITDIR)/tenantd.service:0644 \
	userspace/daemon/tenantd.conf.example:$(SYSCONFDIR)/dm-tenant/tenantd.conf:0600:config

# dmt-logcheck: check the write-intent bitmap on a dm-log-writes log of a
# leg (userspace/tools/dmt-logcheck.c; tests/vm/43-mirror-logwrites.sh)
userspace: $(USERSPACE_BIN)/dmt-logcheck

$(USERSPACE_BIN)/dmt-logcheck: userspace/tools/dmt-logcheck.c
	@mkdir -p $(@D)
	$(CC) $(USERSPACE_CFLAGS) -o $@ $<
