# SPDX-License-Identifier: GPL-2.0
# libdmtenant (userspace/lib), included from userspace/userspace.mk.
#
#   build/lib/libdmtenant.so.1   shared library, soname libdmtenant.so.1,
#                                symbols versioned DMTENANT_1.0
#                                (userspace/lib/libdmtenant.sym)
#   build/lib/libdmtenant.so     link-time symlink
#   build/lib/libdmtenant.a      static archive (tests, test helpers)
#   build/bin/dmt-libtest        VM test helper (userspace/tools/dmt-libtest.c)
#
# Linking a program against the library, from another makefile fragment:
#   $(CC) ... -I$(LIBDMT_INCLUDE) ... $(LIBDMT_SHARED_LINK)
#     (the rpath points at build/lib, so the VM initramfs builder, which
#      copies each build/bin program's ldd closure, picks the library up)
#   or statically: ... $(LIBDMT_STATIC_LINK)
# with $(LIBDMT_SO) or $(LIBDMT_A) as a prerequisite.

LIBDMT_DIR := userspace/lib
LIBDMT_INCLUDE := $(LIBDMT_DIR)/include
LIBDMT_BUILD := $(BUILD)/lib
LIBDMT_SRCS := $(addprefix $(LIBDMT_DIR)/,ctx.c keys.c status.c table.c dm.c \
		keyring.c leg.c volume.c volume-reload.c wipe.c) kernel/tenant-table.c
LIBDMT_HDRS := $(LIBDMT_INCLUDE)/dmtenant.h $(LIBDMT_DIR)/dmt-internal.h \
	       kernel/tenant-table.h include/uapi/linux/dm-tenant.h
LIBDMT_PKGS := devmapper libcryptsetup libkmod libcrypto json-c
LIBDMT_PKG_CFLAGS := $(shell pkg-config --cflags $(LIBDMT_PKGS) 2>/dev/null)
LIBDMT_LDLIBS := $(shell pkg-config --libs $(LIBDMT_PKGS) 2>/dev/null) -lkeyutils
LIBDMT_CFLAGS = $(USERSPACE_CFLAGS) -I$(LIBDMT_INCLUDE) -I$(LIBDMT_DIR) \
		$(LIBDMT_PKG_CFLAGS)

LIBDMT_SO := $(LIBDMT_BUILD)/libdmtenant.so.1
LIBDMT_A := $(LIBDMT_BUILD)/libdmtenant.a
LIBDMT_SHARED_LINK = -L$(LIBDMT_BUILD) -ldmtenant \
		     -Wl,-rpath,$(abspath $(LIBDMT_BUILD))
LIBDMT_STATIC_LINK = $(LIBDMT_A) $(LIBDMT_LDLIBS)

LIBDMT_PIC_OBJS := $(patsubst %.c,$(LIBDMT_BUILD)/pic/%.o,$(LIBDMT_SRCS))
LIBDMT_OBJS := $(patsubst %.c,$(LIBDMT_BUILD)/obj/%.o,$(LIBDMT_SRCS))

userspace: $(LIBDMT_SO) $(LIBDMT_BUILD)/libdmtenant.so $(LIBDMT_A) \
	   $(USERSPACE_BIN)/dmt-libtest $(USERSPACE_BIN)/dmt-wipetest

$(LIBDMT_BUILD)/pic/%.o: %.c $(LIBDMT_HDRS)
	@mkdir -p $(@D)
	$(CC) $(LIBDMT_CFLAGS) -fPIC -c $< -o $@

$(LIBDMT_BUILD)/obj/%.o: %.c $(LIBDMT_HDRS)
	@mkdir -p $(@D)
	$(CC) $(LIBDMT_CFLAGS) -c $< -o $@

$(LIBDMT_SO): $(LIBDMT_PIC_OBJS) $(LIBDMT_DIR)/libdmtenant.sym
	$(CC) $(LIBDMT_CFLAGS) -shared -Wl,-soname,libdmtenant.so.1 \
		-Wl,--version-script=$(LIBDMT_DIR)/libdmtenant.sym \
		-Wl,--no-undefined -Wl,-z,relro,-z,now \
		-o $@ $(LIBDMT_PIC_OBJS) $(LIBDMT_LDLIBS)

$(LIBDMT_BUILD)/libdmtenant.so: $(LIBDMT_SO)
	ln -sf libdmtenant.so.1 $@

$(LIBDMT_A): $(LIBDMT_OBJS)
	@rm -f $@
	$(AR) rcs $@ $^

# Test helper for tests/vm/20-lib-attach.sh: static, so it runs anywhere.
$(USERSPACE_BIN)/dmt-libtest: userspace/tools/dmt-libtest.c $(LIBDMT_A) \
			      $(LIBDMT_HDRS)
	@mkdir -p $(@D)
	$(CC) $(LIBDMT_CFLAGS) -o $@ $< $(LIBDMT_STATIC_LINK)

# Test helper for tests/vm/60-wipe.sh (wipe): the attacker with
# host root (DEK from a leg with the master key and the database), and a
# byte-pattern search of legs and database files.
$(USERSPACE_BIN)/dmt-wipetest: userspace/tools/dmt-wipetest.c $(LIBDMT_A) \
			       $(LIBDMT_HDRS)
	@mkdir -p $(@D)
	$(CC) $(LIBDMT_CFLAGS) -o $@ $< $(LIBDMT_STATIC_LINK) -lsqlite3

# Unit tests (tests/unit/test_lib_*.c): sources and libraries.
LIBDMT_UNIT_CFLAGS := -I$(LIBDMT_INCLUDE) -I$(LIBDMT_DIR) $(LIBDMT_PKG_CFLAGS)
# tests/unit/test_lib_symbols.sh inspects the shared library.
unit-build: $(LIBDMT_SO)
