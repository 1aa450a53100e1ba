#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# `make demo`: the dm-tenant story, told inside the test VM.
# vm-timeout: 600
. "$DMT_LIB"
. "$DMT_ROOT/tests/vm/tenant-lib.sh"

say() { printf '\n==> %s\n' "$*"; }
run() { printf '    $ %s\n' "$*"; "$@" 2>&1 | sed 's/^/      /'; return "${PIPESTATUS[0]}"; }

tenant_setup
brd_setup 1 64
LEG=/dev/ram0

say "A host with one shared disk ($LEG, 64 MiB). Tenant 'acme' gets a volume 'books' on its first 32 MiB."
say "acme's volume key (512 random bits) enters the kernel keyring as a 'logon' key."
echo "    No process can read a logon key back; only the kernel can use it."
tenant_key_new acme books 64
run keyctl show @u
echo "    Reading it back fails, as it must:"
run keyctl print "$(keyctl search @u logon dm-tenant:acme:books)" || true

TABLE=$(tenant_table acme books $LEG 0 65536 allow_discards)
say "The volume is mapped by the 'tenant' target. The table names the key, never holds it:"
echo "    $TABLE"
run dmsetup create acme-books --table "$TABLE"
on_exit "dmsetup remove --force acme-books 2>/dev/null || true"
echo "    The keyring copy is unlinked: from now on only the target holds the key."
tenant_key_unlink acme books
run dmsetup table --showkeys acme-books
run dmsetup status acme-books

say "acme writes a filesystem and a confidential file on its volume."
DEV=$(dm_dev_path acme-books)
run mkfs.ext4 -q "$DEV"
mkdir -p /mnt/books
run mount "$DEV" /mnt/books
for i in $(seq 1 2000); do echo "ACME CONFIDENTIAL: quarterly results line $i"; done >/mnt/books/results.txt
sync
run ls -l /mnt/books
echo "    Through the volume the file reads as written:"
run grep -c "ACME CONFIDENTIAL" /mnt/books/results.txt

say "What the shared disk itself holds: only ciphertext."
echo 3 >/proc/sys/vm/drop_caches
n=$(dd if=$LEG bs=1M count=32 2>/dev/null | strings | grep -c "ACME CONFIDENTIAL")
echo "    lines of 'ACME CONFIDENTIAL' found on the raw disk: $n"
[ "$n" = 0 ] || fail "plaintext found on the leg"
echo "    first bytes of the volume's area on the disk:"
dd if=$LEG bs=64 count=1 2>/dev/null | od -An -tx1 | sed 's/^/     /'

say "Tenant 'globex' tries to map acme's extent with its own key: refused."
tenant_key_new globex spy 64
run dmsetup create globex-spy --table "$(tenant_table globex spy $LEG 0 65536)" && fail "overlap accepted"
dmesg | grep "overlaps volume" | tail -1 | sed 's/^/    kernel: /'
say "globex tries to open acme's volume with globex's key: refused, the key is bound to its tenant."
run dmsetup create stolen --table "0 65536 tenant acme books aes-xts-plain64 :64:logon:dm-tenant:globex:spy 0 1 local $LEG 0" && fail "foreign key accepted"
dmesg | grep "another tenant" | tail -1 | sed 's/^/    kernel: /'
echo "    globex's own volume on the free half of the disk works:"
run dmsetup create globex-spy --table "$(tenant_table globex spy $LEG 65536 65536)"
on_exit "dmsetup remove globex-spy 2>/dev/null || true"

say "acme ends its contract: the key is wiped from the kernel and I/O stops."
run umount /mnt/books
run dmsetup suspend acme-books
run dmsetup message acme-books 0 key wipe
run dmsetup status acme-books
echo "    Resume is refused without a key:"
run dmsetup resume acme-books && fail "resume without a key"
echo "    A reader now waits on a suspended device that can never resume;"
echo "    removing the device fails its I/O:"
( dd if="$DEV" of=/dev/null bs=4k count=1 iflag=direct 2>&1 | sed 's/^/      reader: /' ) &
reader=$!
sleep 2
run dmsetup remove --force acme-books
wait $reader || true
echo "    The key exists nowhere on this host any more, and the disk holds only ciphertext."
say "Demo finished."
