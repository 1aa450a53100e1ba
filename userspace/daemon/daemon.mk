# SPDX-License-Identifier: GPL-2.0
# tenantd, the control daemon (userspace/daemon), included from
# userspace/userspace.mk after lib.mk.
#
#   build/bin/tenantd   linked with the static libdmtenant, so the VM
#                       initramfs (ldd closure of build/bin/*) needs no
#                       build/lib; json-c, SQLite and libcrypto are shared.
#
# Unit tests (tests/unit/test_daemon_*.c): the sources and libraries each
# needs, in the test_<name>_SRCS / _LDLIBS form of tests/unit/unit.mk.

TENANTD_DIR := userspace/daemon
TENANTD_CORE := $(addprefix $(TENANTD_DIR)/,proto.c roles.c store.c \
		  auditchain.c log.c)
TENANTD_OPS := $(TENANTD_DIR)/ops.c
# Feature handlers (ops-*.c), one line each.
# -- access --
TENANTD_OPS += $(TENANTD_DIR)/ops-access.c $(TENANTD_DIR)/access.c
# -- wipe --
TENANTD_OPS += $(TENANTD_DIR)/ops-wipe.c $(TENANTD_DIR)/cert.c
# -- udev --
TENANTD_OPS += $(TENANTD_DIR)/ops-udev.c
# -- remote --
TENANTD_OPS += $(TENANTD_DIR)/monitor.c
# -- metrics --
TENANTD_OPS += $(TENANTD_DIR)/ops-metrics.c $(TENANTD_DIR)/metrics.c
# -- mfa --
TENANTD_OPS += $(TENANTD_DIR)/ops-mfa.c $(TENANTD_DIR)/mfa.c
TENANTD_SRCS := $(TENANTD_DIR)/tenantd.c $(TENANTD_OPS) $(TENANTD_CORE)
TENANTD_HDRS := $(wildcard $(TENANTD_DIR)/*.h) $(LIBDMT_INCLUDE)/dmtenant.h
TENANTD_LDLIBS := -ljson-c -lsqlite3 -lcrypto -loath

userspace: $(USERSPACE_BIN)/tenantd

$(USERSPACE_BIN)/tenantd: $(TENANTD_SRCS) $(TENANTD_HDRS) $(LIBDMT_A)
	@mkdir -p $(@D)
	$(CC) $(USERSPACE_CFLAGS) -I$(LIBDMT_INCLUDE) -o $@ $(TENANTD_SRCS) \
		$(LIBDMT_STATIC_LINK) $(TENANTD_LDLIBS)

test_daemon_proto_SRCS := $(TENANTD_DIR)/proto.c
test_daemon_proto_LDLIBS := -ljson-c
test_daemon_roles_SRCS := $(TENANTD_DIR)/roles.c $(TENANTD_DIR)/proto.c
test_daemon_roles_LDLIBS := -ljson-c
test_daemon_audit_SRCS := $(TENANTD_DIR)/auditchain.c $(TENANTD_DIR)/store.c
test_daemon_audit_LDLIBS := -ljson-c -lsqlite3 -lcrypto
test_daemon_store_SRCS := $(TENANTD_DIR)/store.c $(TENANTD_DIR)/auditchain.c
test_daemon_store_LDLIBS := -ljson-c -lsqlite3 -lcrypto
# wipe: certificate binding
test_daemon_cert_SRCS := $(TENANTD_DIR)/cert.c $(TENANTD_DIR)/auditchain.c
test_daemon_cert_LDLIBS := -ljson-c -lcrypto
# The request handlers with libdmtenant replaced by fakes in the test
# (its __wrap_ functions; tests/unit/unit.mk adds the --wrap flags).
test_daemon_ops_SRCS = $(TENANTD_OPS) $(TENANTD_CORE) $(LIBDMT_SRCS)
test_daemon_ops_LDLIBS = -ljson-c -lsqlite3 -lcrypto -loath $(LIBDMT_LDLIBS)
# -- access -- the grant state machine and table
test_daemon_access_SRCS := $(TENANTD_DIR)/access.c $(TENANTD_DIR)/store.c \
			   $(TENANTD_DIR)/auditchain.c $(TENANTD_DIR)/proto.c \
			   $(TENANTD_DIR)/roles.c
test_daemon_access_LDLIBS := -ljson-c -lsqlite3 -lcrypto
# the access.* handlers in-process with --no-dm (real store, real library)
test_daemon_access_ops_SRCS = $(TENANTD_OPS) $(TENANTD_CORE) $(LIBDMT_SRCS)
test_daemon_access_ops_LDLIBS = $(LIBDMT_LDLIBS) -ljson-c -lsqlite3 -lcrypto \
	-loath
# tenantd itself, flooded by a uid with no role while the operator and a
# hypervisor make requests (runs build/bin/tenantd --no-dm; root only)
test_tenantd_flood_LDLIBS := -lsqlite3
unit-build: $(USERSPACE_BIN)/tenantd
# -- mfa -- enrolments and checks (codes from oathtool at fixed times), and
# the handlers in-process with --no-dm
test_daemon_mfa_SRCS = $(TENANTD_OPS) $(TENANTD_CORE) $(LIBDMT_SRCS)
test_daemon_mfa_LDLIBS = $(LIBDMT_LDLIBS) -ljson-c -lsqlite3 -lcrypto -loath
# -- remote -- the leg monitor: schedule, decision, scans with
# the kernel's status and messages faked
test_monitor_SRCS = $(TENANTD_OPS) $(TENANTD_CORE) $(LIBDMT_SRCS)
test_monitor_LDLIBS = $(LIBDMT_LDLIBS) -ljson-c -lsqlite3 -lcrypto -loath

# -- metrics -- the format, the atomic write (write() wrapped: a full
# disk), the textfile from a real store (td_log wrapped: logged once)
test_daemon_metrics_SRCS = $(TENANTD_OPS) $(TENANTD_CORE) $(LIBDMT_SRCS)
test_daemon_metrics_LDLIBS = $(LIBDMT_LDLIBS) -ljson-c -lsqlite3 -lcrypto -loath

# make bench-attach: in one test VM, tenantd's attach latency (request to
# a usable device) against `cryptsetup open` of a LUKS2 device with the
# default PBKDF, and `volume status` requests per second
# (scripts/bench-attach.sh; results in Documentation/tenantd.md).
.PHONY: bench-attach
bench-attach: deps all
	@scripts/vm/run.sh --bench scripts/bench-attach.sh
