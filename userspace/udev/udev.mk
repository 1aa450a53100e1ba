# SPDX-License-Identifier: GPL-2.0
# udev provisioning and the hypervisor hook (Documentation/udev-hypervisor.md),
# included from userspace/userspace.mk after lib.mk and cli.mk.
#
#   build/bin/dmt-udev    helper of 69-dm-tenant.rules: probe a leg, name
#                         and owner of a tenant device, report legs to
#                         tenantd (static libdmtenant, like tenantd)
#
# INSTALL_FILES: src:dest:mode triples for the top-level `make install`.

DMT_UDEV_SRCS := userspace/udev/dmt-udev.c userspace/cli/transport.c \
		 userspace/daemon/proto.c

userspace: $(USERSPACE_BIN)/dmt-udev

$(USERSPACE_BIN)/dmt-udev: $(DMT_UDEV_SRCS) $(TENANTCTL_HDRS) $(LIBDMT_A)
	@mkdir -p $(@D)
	$(CC) $(USERSPACE_CFLAGS) -I$(LIBDMT_INCLUDE) -o $@ $(DMT_UDEV_SRCS) \
		$(LIBDMT_STATIC_LINK) -ljson-c

INSTALL_FILES += userspace/udev/69-dm-tenant.rules:/usr/lib/udev/rules.d/69-dm-tenant.rules:0644
INSTALL_FILES += $(USERSPACE_BIN)/dmt-udev:/usr/lib/udev/dmt-udev:0755
INSTALL_FILES += userspace/hooks/libvirt-qemu:/usr/share/dm-tenant/libvirt-qemu-hook:0755

# Unit test of the client side (tc-udev.c) and the udev verbs' parsing.
test_cli_udev_SRCS := $(TENANTCTL_LIB_SRCS)
test_cli_udev_LDLIBS := $(TENANTCTL_LIBS)
