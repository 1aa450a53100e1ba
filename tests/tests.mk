# SPDX-License-Identifier: GPL-2.0
# Test entry points; each sub-runner ends with "N passed, N failed".
include tests/unit/unit.mk
include tests/vm/vm.mk
