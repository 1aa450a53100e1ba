# SPDX-License-Identifier: GPL-2.0
# Userspace unit tests of the kernel-neutral sources (cmocka) and of the
# tools (TAP shell scripts).  Included from tests/tests.mk; paths are
# relative to the top of the tree.
#
#   make check-unit    build and run every tests/unit/test_*.c (cmocka) and
#                      tests/unit/test_*.sh (TAP), each twice: ASan+UBSan
#                      build natively, plain build under valgrind; the last
#                      line is "N passed, N failed"
#
# Adding a test: drop tests/unit/test_foo.c in; it is picked up by the
# wildcard.  If it needs sources besides its own file, list them as
#   test_foo_SRCS := kernel/foo.c
# (the same files the kernel module compiles, never a copy), and extra
# libraries as  test_foo_LDLIBS := -lfoo.  A test that defines
# __wrap_foo() is linked with -Wl,--wrap=foo: the flags come from the
# test's source (as multipath-tools' tests/Makefile does), never a list.
# Store and handler tests share tests/unit/td_fixture.h: a fresh temporary
# store, or a tenantd on one with a master key (td_inproc.h adds requests).
# Shell tests find the tools in $UNIT_TOOLS_DIR and prefix them with
# $UNIT_TOOL_WRAPPER.

UNIT_BUILD := $(BUILD)/unit
UNIT_CC ?= $(CC)
# The top Makefile's flags, again in case CFLAGS came from the command line.
UNIT_REQ_CFLAGS := -std=c11 -D_GNU_SOURCE -Wall -Wextra -Werror \
		   -Iinclude/uapi -Ikernel
UNIT_CFLAGS = $(CFLAGS) $(filter-out $(CFLAGS),$(UNIT_REQ_CFLAGS)) \
	      -Itests/unit -MMD -MP
UNIT_SAN := -fsanitize=address,undefined -fno-omit-frame-pointer \
	    -fno-sanitize-recover=all
UNIT_LDLIBS := -lcmocka

# Per-test extra sources.
test_table_SRCS := kernel/tenant-table.c
test_gen_SRCS := kernel/tenant-gen.c

# libdmtenant (userspace/lib/lib.mk): every test_lib_*.c links the library
# sources.
UNIT_CFLAGS += $(LIBDMT_UNIT_CFLAGS)
LIBDMT_UNIT_TESTS := $(patsubst tests/unit/%.c,%,$(wildcard tests/unit/test_lib_*.c))
$(foreach t,$(LIBDMT_UNIT_TESTS),$(eval $(t)_SRCS := $$(LIBDMT_SRCS))\
  $(eval $(t)_LDLIBS := $$(LIBDMT_LDLIBS)))

# Tools the shell tests exercise: <tool>_UNIT_SRCS.
UNIT_TOOLS := tenant-table
tenant-table_UNIT_SRCS := userspace/tools/tenant-table.c kernel/tenant-table.c

UNIT_TESTS := $(sort $(patsubst tests/unit/%.c,%,$(wildcard tests/unit/test_*.c)))
UNIT_SH_TESTS := $(sort $(wildcard tests/unit/test_*.sh))

# unit_wraps TEST: -Wl,--wrap=foo for every __wrap_foo in tests/unit/TEST.c.
comma := ,
unit_wraps = $(addprefix -Wl$(comma)--wrap=,$(sort $(patsubst __wrap_%,%,\
	$(shell grep -o '__wrap_[A-Za-z_0-9]*' tests/unit/$(1).c))))
$(foreach t,$(UNIT_TESTS),$(eval $(t)_WRAP := $(call unit_wraps,$(t))))

# unit_objs CONFIG, SOURCES
unit_objs = $(patsubst %.c,$(UNIT_BUILD)/$(1)/obj/%.o,$(2))

UNIT_BINS :=
UNIT_OBJS :=

# unit_link CONFIG, BINARY, SOURCES, EXTRA_FLAGS, LDLIBS
define unit_link
$(UNIT_BUILD)/$(1)/$(2): $(call unit_objs,$(1),$(3))
	@mkdir -p $$(@D)
	$$(UNIT_CC) $$(UNIT_CFLAGS) $(4) -o $$@ $$^ $(5)
UNIT_BINS += $(UNIT_BUILD)/$(1)/$(2)
UNIT_OBJS += $(call unit_objs,$(1),$(3))
endef

$(foreach t,$(UNIT_TESTS),\
  $(eval $(call unit_link,asan,$(t),tests/unit/$(t).c $($(t)_SRCS),$$(UNIT_SAN),$$(UNIT_LDLIBS) $$($(t)_LDLIBS) $$($(t)_WRAP)))\
  $(eval $(call unit_link,vg,$(t),tests/unit/$(t).c $($(t)_SRCS),,$$(UNIT_LDLIBS) $$($(t)_LDLIBS) $$($(t)_WRAP))))
$(foreach t,$(UNIT_TOOLS),\
  $(eval $(call unit_link,asan,$(t),$($(t)_UNIT_SRCS),$$(UNIT_SAN),))\
  $(eval $(call unit_link,vg,$(t),$($(t)_UNIT_SRCS),,)))

$(UNIT_BUILD)/asan/obj/%.o: %.c
	@mkdir -p $(@D)
	$(UNIT_CC) $(UNIT_CFLAGS) $(UNIT_SAN) -c $< -o $@

$(UNIT_BUILD)/vg/obj/%.o: %.c
	@mkdir -p $(@D)
	$(UNIT_CC) $(UNIT_CFLAGS) -c $< -o $@

-include $(UNIT_OBJS:.o=.d)

.PHONY: check-unit unit-build
# The shell tests check the built library and tools (test_lib_symbols,
# the flood test's tenantd): build them too, so check-unit stands alone.
unit-build: $(UNIT_BINS) userspace

check-unit: unit-build
	@tests/unit/run-unit.sh $(UNIT_BUILD) \
		$(addprefix cmocka:,$(UNIT_TESTS)) \
		$(addprefix shell:,$(UNIT_SH_TESTS))

include tests/fuzz/fuzz.mk
