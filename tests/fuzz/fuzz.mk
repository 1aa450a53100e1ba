# SPDX-License-Identifier: GPL-2.0
# libFuzzer targets for every parser that takes outside input (included
# from tests/unit/unit.mk, after the userspace .mk files that name the
# product sources).  Each harness is tests/fuzz/fuzz_<name>.c linked with
# the product's own sources, compiled again here with clang and
# -fsanitize=fuzzer-no-link,address,undefined; seeds are in
# tests/fuzz/corpus-<name>/ (the table parser's in tests/fuzz/corpus/),
# an optional dictionary in tests/fuzz/fuzz_<name>.dict
# (Documentation/testing.md, "Fuzzing").
#
#   make check-fuzz               smoke: each harness over its seeds, up to
#                                 FUZZ_SMOKE_RUNS executions in all (~20 s
#                                 of CPU)
#   make fuzz-long FUZZ_RUNS=N    N executions of each harness, one after
#                                 the other (make check-long: 10 million)
#   make fuzz FUZZ_TIME=3600      FUZZ_TIME seconds of each harness
#   FUZZERS="status token"        any of these: only those harnesses
#
# The working corpus of each harness, build/fuzz/corpus-<name>, keeps
# growing across runs; crash reproducers land in build/fuzz/artifacts-<name>.

FUZZ_CC ?= clang
FUZZ_BUILD := $(BUILD)/fuzz
FUZZ_SMOKE_RUNS ?= 3000
# The request harness costs ~7 ms of CPU per input (a fresh store each).
FUZZ_SMOKE_RUNS_request ?= 600
FUZZ_TIME ?= 600
FUZZ_RUNS ?= 10000000
FUZZ_SAN := -fsanitize=address,undefined -fno-sanitize-recover=all \
	    -fno-omit-frame-pointer
FUZZ_CFLAGS := -g -O1 -std=c11 -D_GNU_SOURCE -Wall -Wextra -Werror \
	       -Iinclude/uapi -Ikernel -Itests/unit -Itests/fuzz \
	       -I$(LIBDMT_INCLUDE) -I$(LIBDMT_DIR) $(LIBDMT_PKG_CFLAGS) \
	       -MMD -MP $(FUZZ_SAN)

ALL_FUZZERS := table status token config audit udev cli_udev request
FUZZERS ?= $(ALL_FUZZERS)

# fuzz_<name>_SRCS: the product sources besides the harness (never a copy);
# fuzz_<name>_LDLIBS: libraries and -Wl,--wrap flags.
fuzz_table_SRCS := kernel/tenant-table.c
fuzz_status_SRCS = $(LIBDMT_SRCS)
fuzz_status_LDLIBS = $(LIBDMT_LDLIBS)
fuzz_token_SRCS = $(LIBDMT_SRCS)
fuzz_token_LDLIBS = $(LIBDMT_LDLIBS)
fuzz_config_SRCS = $(TENANTD_DIR)/roles.c $(TENANTD_DIR)/proto.c
fuzz_config_LDLIBS := -ljson-c
# The offline verifiers live in tenantctl (audit verify, tenant
# audit-verify); tc_call() is the harness's (never reached).
fuzz_audit_SRCS = $(TENANTCTL_LIB_SRCS)
fuzz_audit_LDLIBS = $(TENANTCTL_LIBS)
# dmt-udev's main() becomes dmt_udev_main() (FUZZ_CFLAGS_udev); the
# harness fakes the leg's header, the owner file and tenantd's reply.
fuzz_udev_SRCS = userspace/udev/dmt-udev.c $(TENANTD_DIR)/proto.c \
		 $(LIBDMT_SRCS)
fuzz_udev_LDLIBS = $(LIBDMT_LDLIBS) -ljson-c \
	$(addprefix -Wl$(comma)--wrap=,dmt_leg_read_info fopen \
	  openlog syslog)
fuzz_cli_udev_SRCS = $(TENANTCTL_LIB_SRCS)
fuzz_cli_udev_LDLIBS = $(TENANTCTL_LIBS)
# tenantd's request handlers against a fresh in-memory SQLite store per
# input; the device calls are faked, file system calls outside the store
# are no-ops while a request runs (fuzz_request.c).
FUZZ_REQUEST_WRAP := dmt_volume_attach dmt_volume_detach dmt_volume_erase \
	dmt_volume_create dmt_volume_reload dmt_volume_rewrap dmt_dev_info \
	dmt_dev_status dmt_dev_message dmt_dev_list dmt_dev_suspend \
	dmt_dev_resume dmt_leg_read_info dmt_leg_erase dmt_leg_shred \
	dmt_leg_wipe dmt_leg_verify dmt_wipe_supported dmt_keyring_count \
	pthread_create stat open chown chmod fchmod mkdir rename unlink fopen
fuzz_request_SRCS = $(TENANTD_OPS) $(TENANTD_CORE) $(LIBDMT_SRCS)
fuzz_request_LDLIBS = $(LIBDMT_LDLIBS) -ljson-c -lsqlite3 -lcrypto -loath \
	$(addprefix -Wl$(comma)--wrap=,$(FUZZ_REQUEST_WRAP))

FUZZ_CFLAGS_udev := -Dmain=dmt_udev_main

fuzz_objs = $(patsubst %.c,$(FUZZ_BUILD)/obj-$(1)/%.o,$(2))
FUZZ_BINS := $(addprefix $(FUZZ_BUILD)/fuzz_,$(ALL_FUZZERS))
FUZZ_OBJS :=

# One object directory per harness: the udev one compiles dmt-udev.c with
# a renamed main(); the rest share nothing but the compiler flags.
define fuzz_target
$(FUZZ_BUILD)/obj-$(1)/%.o: %.c
	@mkdir -p $$(@D)
	$$(FUZZ_CC) $$(FUZZ_CFLAGS) $$(FUZZ_CFLAGS_$(1)) -fsanitize=fuzzer-no-link -c $$< -o $$@
$(FUZZ_BUILD)/fuzz_$(1): $(call fuzz_objs,$(1),tests/fuzz/fuzz_$(1).c $(fuzz_$(1)_SRCS))
	@mkdir -p $$(@D)
	$$(FUZZ_CC) $$(FUZZ_SAN) -fsanitize=fuzzer -o $$@ $$^ $$(fuzz_$(1)_LDLIBS)
FUZZ_OBJS += $(call fuzz_objs,$(1),tests/fuzz/fuzz_$(1).c $(fuzz_$(1)_SRCS))
endef
$(foreach f,$(ALL_FUZZERS),$(eval $(call fuzz_target,$(f))))

-include $(FUZZ_OBJS:.o=.d)

FUZZ_RUN := tests/fuzz/run-fuzz.sh $(FUZZ_BUILD)
FUZZ_SEL := $(addprefix $(FUZZ_BUILD)/fuzz_,$(FUZZERS))

.PHONY: check-fuzz fuzz fuzz-long fuzz-build
fuzz-build: $(FUZZ_SEL)

check-fuzz: $(FUZZ_SEL)
	@$(FUZZ_RUN) runs=$(FUZZ_SMOKE_RUNS) \
		$(foreach f,$(FUZZERS),$(f)$(if $(FUZZ_SMOKE_RUNS_$(f)),=$(FUZZ_SMOKE_RUNS_$(f))))

fuzz: $(FUZZ_SEL)
	@$(FUZZ_RUN) time=$(FUZZ_TIME) $(FUZZERS)

fuzz-long: $(FUZZ_SEL)
	@$(FUZZ_RUN) runs=$(FUZZ_RUNS) $(FUZZERS)
