# SPDX-License-Identifier: GPL-2.0
# Demo act (remote), sourced by scripts/demo.sh: a GRS volume
# whose remote leg is 50 ms away; writes stay fast; the lag is shown.
. "$DMT_ROOT/tests/vm/remote-lib.sh"

say "GRS: a volume with a local leg here and a remote leg in another region, 50 ms away."
echo "    The remote site exports a disk with the kernel's NVMe/TCP target; tc netem"
echo "    puts 25 ms each way on that port only. dm-tenant speaks no network protocol."
need_module loop
truncate -s 72M /tmp/grs-local.img /tmp/grs-remote.img
GL=$(losetup -f --show /tmp/grs-local.img) || fail "losetup failed"
on_exit "losetup -d $GL; rm -f /tmp/grs-local.img"
GR=$(losetup -f --show /tmp/grs-remote.img) || fail "losetup failed"
on_exit "losetup -d $GR; rm -f /tmp/grs-remote.img"
nvmet_export nqn.2026-11.io.dm-tenant:demo "$GR" 4420
netem_setup 4420
netem_set delay 25ms
nvme_attach nqn.2026-11.io.dm-tenant:demo 4420
tenant_key_new acme geo 64
GTABLE="0 131072 tenant acme geo aes-xts-plain64 :64:logon:dm-tenant:acme:geo 0 2 local $GL 2048 remote $NVME_DEV 2048 3 metadata:2048 nosync remote_budget:16777216"
echo "    $GTABLE"
run dmsetup create acme-geo --table "$GTABLE"
on_exit "dmsetup remove --retry acme-geo 2>/dev/null || true"
tenant_key_unlink acme geo
dev=$(dm_dev_path acme-geo)
echo "    The status ends with the remote leg: <#remote> <leg> <mode> <unreplicated bytes> <RPO ms> <consistent>"
run dmsetup status acme-geo

say "acme writes 4 KiB blocks one at a time: each completes when the local leg has it."
fio_w geo --rw=randwrite --bs=4k --size=64M --time_based --runtime=6 &
fpid=$!
sleep 3
echo "    while writing, the lag is visible:"
run dmsetup status acme-geo
wait $fpid || fail "fio failed"
read -r p50 p99 < <(fio_clat /tmp/geo.fio)
echo "    write latency: p50 ${p50} us, p99 ${p99} us (the round trip to the remote is 50000 us)"
remote_wait acme-geo 1 streaming 120
echo "    a moment later everything is on the remote, in flush order:"
run dmsetup status acme-geo

say "The link to the remote region breaks while acme writes."
fio_w geo2 --rw=randwrite --bs=4k --size=64M --time_based --runtime=10 &
fpid=$!
sleep 2
netem_set loss 100%
sleep 5
echo "    writes go on at local speed; the remote leg falls behind, and says so:"
run dmsetup status acme-geo
netem_set delay 25ms
wait $fpid || fail "fio failed"
echo "    the link is back: the remote catches up in the background..."
remote_wait acme-geo 1 streaming 300
run dmsetup status acme-geo
dmesg | grep "acme/geo: remote leg" | tail -1 | sed 's/^/      /'
echo "    ...and is consistent again. The remote region only ever held ciphertext."
run dmsetup remove acme-geo
