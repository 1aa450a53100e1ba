#!/bin/bash
# Extent claims: a volume cannot be mapped over another volume's extent on
# the same disk (-EBUSY, the log names the volume); adjacent extents and
# reloads of the same device work; one volume lives in one device only.
# vm-timeout: 180
. "$DMT_LIB"
. "$DMT_ROOT/tests/vm/tenant-lib.sh"

tenant_setup
brd_setup 2 16

tenant_key_new acme a 64
tenant_key_new acme b 64
tenant_key_new beta c 64

# acme/a on ram0 [0, 8M), acme/b adjacent on [8M, 16M)
tenant_create va "$(tenant_table acme a /dev/ram0 0 16384)"
tenant_create vb "$(tenant_table acme b /dev/ram0 16384 16384)"
info "adjacent extents on one disk coexist"

# beta/c overlapping the last sector of a / first sector of b
expect_create_fail vc "$(tenant_table beta c /dev/ram0 16383 2)" "overlaps volume acme/(a|b)"
expect_create_fail vc "$(tenant_table beta c /dev/ram0 8 8)" "overlaps volume acme/a"
expect_create_fail vc "$(tenant_table beta c /dev/ram0 0 32768)" "overlaps volume acme/a"
out=$(dmsetup create vc --table "$(tenant_table beta c /dev/ram0 100 8)" 2>&1) && fail "overlap accepted"
case $out in *"busy"*|*"Busy"*) ;; *) fail "overlap error is not EBUSY: $out" ;; esac
info "overlapping extents refused with EBUSY naming the owner"

# The same extent on another disk is fine.
tenant_create vc "$(tenant_table beta c /dev/ram1 0 16384)"

# The same volume in a second device is refused, even on a free extent.
expect_create_fail va2 "$(tenant_table acme a /dev/ram1 16384 16384)" "already live in another device"

# Reload of the same device over its own extent works (old and new table
# coexist until resume), and so does moving it within its claim.
check dmsetup reload va --table "$(tenant_table acme a /dev/ram0 0 16384)"
check dmsetup resume va
check dmsetup reload va --table "$(tenant_table acme a /dev/ram0 0 8192)"
check dmsetup resume va
info "reloads of the owning device succeed"

# After removal the extent is free for another volume.
check dmsetup remove vb
tenant_key_new beta d 64
tenant_create vd "$(tenant_table beta d /dev/ram0 16384 16384)"
info "released extents can be claimed again"
