# SPDX-License-Identifier: GPL-2.0
# libFuzzer target for the table parser (included from tests/unit/unit.mk).
#
#   make check-fuzz             ~20 s smoke run (FUZZ_SMOKE_TIME seconds)
#   make fuzz FUZZ_TIME=3600    long run; the corpus in build/fuzz/corpus
#                               keeps growing across runs

FUZZ_CC ?= clang
FUZZ_BUILD := $(BUILD)/fuzz
FUZZ_SMOKE_TIME ?= 20
FUZZ_TIME ?= 600
FUZZ_CFLAGS := -g -O1 -std=c11 -D_GNU_SOURCE -Wall -Wextra -Werror \
	       -Iinclude/uapi -Ikernel -Itests/unit \
	       -fsanitize=fuzzer,address,undefined -fno-sanitize-recover=all \
	       -fno-omit-frame-pointer
FUZZ_SRCS := tests/fuzz/fuzz_table.c kernel/tenant-table.c

$(FUZZ_BUILD)/fuzz_table: $(FUZZ_SRCS) kernel/tenant-table.h \
			  include/uapi/linux/dm-tenant.h tests/unit/tt_helpers.h
	@mkdir -p $(@D)
	$(FUZZ_CC) $(FUZZ_CFLAGS) -o $@ $(FUZZ_SRCS)

.PHONY: check-fuzz fuzz
check-fuzz: $(FUZZ_BUILD)/fuzz_table
	@tests/fuzz/run-fuzz.sh $< $(FUZZ_BUILD) $(FUZZ_SMOKE_TIME)

fuzz: $(FUZZ_BUILD)/fuzz_table
	@tests/fuzz/run-fuzz.sh $< $(FUZZ_BUILD) $(FUZZ_TIME)
