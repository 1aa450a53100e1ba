# SPDX-License-Identifier: GPL-2.0
# tenantctl, the command-line client (userspace/cli), included from
# userspace/userspace.mk.  It shares the protocol and audit-chain code with
# tenantd (userspace/daemon/proto.c, auditchain.c).
#
# Unit tests (tests/unit/test_cli_*.c) link everything but transport.c and
# main.c: the test provides tc_call() and checks the requests it gets.

TENANTCTL_LIB_SRCS := userspace/cli/tenantctl.c userspace/daemon/proto.c \
		      userspace/daemon/auditchain.c
# Feature verbs (tc-*.c), one line each.
# -- access --
TENANTCTL_LIB_SRCS += userspace/cli/tc-access.c
# -- wipe --
TENANTCTL_LIB_SRCS += userspace/cli/tc-wipe.c userspace/daemon/cert.c
# -- udev --
TENANTCTL_LIB_SRCS += userspace/cli/tc-udev.c
# -- remote --
# -- metrics --
TENANTCTL_LIB_SRCS += userspace/cli/tc-progress.c
# -- mfa --
TENANTCTL_LIB_SRCS += userspace/cli/tc-mfa.c
TENANTCTL_LIBS := -ljson-c -lcrypto -lqrencode
TENANTCTL_SRCS := userspace/cli/main.c userspace/cli/transport.c \
		  $(TENANTCTL_LIB_SRCS)
TENANTCTL_HDRS := userspace/cli/tenantctl.h userspace/daemon/proto.h \
		  userspace/daemon/auditchain.h

userspace: $(USERSPACE_BIN)/tenantctl

$(USERSPACE_BIN)/tenantctl: $(TENANTCTL_SRCS) $(TENANTCTL_HDRS)
	@mkdir -p $(@D)
	$(CC) $(USERSPACE_CFLAGS) -o $@ $(TENANTCTL_SRCS) $(TENANTCTL_LIBS)

test_cli_args_SRCS := $(TENANTCTL_LIB_SRCS)
test_cli_args_LDLIBS := $(TENANTCTL_LIBS)
# -- access --
test_cli_access_SRCS := $(TENANTCTL_LIB_SRCS)
test_cli_access_LDLIBS := $(TENANTCTL_LIBS)
# -- metrics -- progress bar / plain lines, watch, wait, metrics
test_cli_progress_SRCS := $(TENANTCTL_LIB_SRCS)
test_cli_progress_LDLIBS := $(TENANTCTL_LIBS)
