# SPDX-License-Identifier: GPL-2.0
# Kernel tests in QEMU VMs (TCG emulation, never KVM; the host never loads
# our module).  Included from tests/tests.mk.
#
#   make check-vm             every tests/vm/NN-*.sh, one VM each
#   make check-vm T=name      only these (space/comma separated); a name is
#                             the file name with or without NN- and .sh
#   make check-vm-selftest    the harness's own self-test
#   make check-vm T=name VM_RUN_FLAGS='-v -e DMT_VERBOSE=1'   live output
#   make check-vm KVER=6.12 T=name   on another kernel: the VM boots the
#                             kernel the module was built for
# Logs: build/vm/logs/<name>.log.  See scripts/vm/run.sh -h for the rest.
#
# check-vm builds the module (when kernel/ has sources) and the userspace
# tools first; VM_BUILD_DEPS= skips that (check-all.sh has built them).

VM_BUILD_DEPS ?= $(if $(wildcard kernel/*.c),module) userspace
VM_RUN_FLAGS ?=

.PHONY: check-vm check-vm-selftest

check-vm: $(VM_BUILD_DEPS)
	@scripts/vm/run.sh $(VM_RUN_FLAGS) $(if $(T),-t '$(T)')

check-vm-selftest:
	@scripts/vm/selftest.sh
