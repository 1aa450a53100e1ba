# SPDX-License-Identifier: GPL-2.0
# Helpers for the remote-leg VM tests (remote); source after
# tenant-lib.sh.  The remote site is the kernel's NVMe/TCP target (nvmet)
# or nbd-server on 127.0.0.1; tc netem delays (or cuts) only the remote
# port's traffic on lo.

NVMET=/sys/kernel/config/nvmet
REMOTE_HOSTID=00000000-0000-4000-8000-00000000d317
REMOTE_HOSTNQN=nqn.2014-08.org.nvmexpress:uuid:$REMOTE_HOSTID

# nvmet_export NQN DEV PORT: export DEV as namespace 1 of subsystem NQN on
# TCP 127.0.0.1:PORT (configfs port id = PORT)
nvmet_export() {
	local nqn=$1 dev=$2 port=$3
	need_module nvmet
	ip link set lo up || fail "cannot bring lo up"
	need_module nvmet-tcp
	[ -d /sys/kernel/config/nvmet ] ||
		mount -t configfs none /sys/kernel/config 2>/dev/null
	[ -d $NVMET ] || skip "nvmet configfs not available"
	check mkdir $NVMET/subsystems/$nqn
	on_exit "rmdir $NVMET/subsystems/$nqn"
	echo 1 >$NVMET/subsystems/$nqn/attr_allow_any_host
	check mkdir $NVMET/subsystems/$nqn/namespaces/1
	on_exit "rmdir $NVMET/subsystems/$nqn/namespaces/1"
	echo -n "$dev" >$NVMET/subsystems/$nqn/namespaces/1/device_path
	echo 1 >$NVMET/subsystems/$nqn/namespaces/1/enable ||
		fail "nvmet cannot enable namespace on $dev"
	on_exit "echo 0 >$NVMET/subsystems/$nqn/namespaces/1/enable"
	check mkdir $NVMET/ports/$port
	on_exit "rmdir $NVMET/ports/$port"
	echo tcp >$NVMET/ports/$port/addr_trtype
	echo ipv4 >$NVMET/ports/$port/addr_adrfam
	echo 127.0.0.1 >$NVMET/ports/$port/addr_traddr
	echo "$port" >$NVMET/ports/$port/addr_trsvcid
	nvmet_port_link "$nqn" "$port"
	on_exit "nvmet_port_unlink $nqn $port"
}

nvmet_port_link() {
	ln -s $NVMET/subsystems/$1 $NVMET/ports/$2/subsystems/$1 ||
		fail "cannot link subsystem $1 to port $2"
}

nvmet_port_unlink() {
	rm -f $NVMET/ports/$2/subsystems/$1
}

# nvme_attach NQN PORT [OPTIONS]: connect over TCP; sets NVME_DEV to the
# namespace block device.  The host ID goes with the host NQN: 6.12 refuses
# a host NQN that differs from the one already seen with the default ID.  I/O waits across link loss (no fast_io_fail) unless
# OPTIONS say otherwise.
nvme_attach() {
	local nqn=$1 port=$2 opts=${3:-} out ctrl i
	need_module nvme-tcp
	[ -c /dev/nvme-fabrics ] || fail "/dev/nvme-fabrics missing"
	exec 9<>/dev/nvme-fabrics
	echo "transport=tcp,traddr=127.0.0.1,trsvcid=$port,nqn=$nqn,hostnqn=$REMOTE_HOSTNQN,hostid=$REMOTE_HOSTID,reconnect_delay=1,ctrl_loss_tmo=600$opts" >&9 ||
		{ exec 9>&-; fail "nvme connect to $nqn failed"; }
	read -r out <&9
	exec 9>&-
	ctrl=$(echo "$out" | sed -n 's/.*instance=\([0-9]*\).*/\1/p')
	[ -n "$ctrl" ] || fail "nvme connect: unexpected answer '$out'"
	on_exit "echo 1 >/sys/class/nvme/nvme$ctrl/delete_controller"
	# With native multipath the user device is the head nvme<subsys>n1
	# (hidden path nvme<s>c<ctrl>n1), else nvme<ctrl>n1.
	for ((i = 0; i < 200; i++)); do
		for out in /sys/class/nvme/nvme$ctrl/nvme*n1; do
			[ -e "$out" ] || continue
			out=${out##*/}
			case $out in
			*c*n1) out=${out%%c*}n1 ;;
			esac
			if [ -b "/dev/$out" ]; then
				NVME_DEV=/dev/$out
				return 0
			fi
		done
		sleep 0.1
	done
	fail "no namespace device for controller nvme$ctrl"
}

# netem_setup PORT: everything to or from TCP PORT on lo goes through a
# netem qdisc (no delay yet); other traffic is untouched.
netem_setup() {
	local port=$1
	need_module sch_prio
	need_module sch_netem
	need_module cls_u32
	check tc qdisc add dev lo root handle 1: prio bands 4 priomap 1 2 2 2 1 2 0 0 1 1 1 1 1 1 1 1
	on_exit "tc qdisc del dev lo root"
	check tc qdisc add dev lo parent 1:4 handle 40: netem limit 100000
	check tc filter add dev lo parent 1: protocol ip prio 1 u32 match ip dport "$port" 0xffff flowid 1:4
	check tc filter add dev lo parent 1: protocol ip prio 1 u32 match ip sport "$port" 0xffff flowid 1:4
}

# netem_set ARGS...: e.g. "delay 10ms", "loss 100%" (each direction)
netem_set() {
	check tc qdisc change dev lo parent 1:4 handle 40: netem limit 100000 "$@"
}

# remote_field NAME LEG FIELD: FIELD of remote leg LEG's status entry:
#   mode (streaming|catching-up|failed|sync), bytes, rpo (ms), consistent
remote_field() {
	local s n nr j
	s=$(dmsetup status "$1") || return 1
	set -- $s "$2" "$3"
	local field=${!#} leg
	n=$(($# - 1))
	leg=${!n}
	# 3 dm + 4 fixed, 3 per leg, 6 counters, 4 sync fields, then ours.
	n=$((7 + 3 * $7 + 6 + 4 + 1))
	nr=${!n}
	for ((j = 0; j < nr; j++)); do
		local b=$((n + 1 + 5 * j))
		[ "${!b}" = "$leg" ] || continue
		case $field in
		mode) b=$((b + 1)) ;;
		bytes) b=$((b + 2)) ;;
		rpo) b=$((b + 3)) ;;
		consistent) b=$((b + 4)) ;;
		esac
		echo "${!b}"
		return 0
	done
	return 1
}

# remote_wait NAME LEG MODE [SECONDS]: wait for a leg's mode (and, for
# streaming, nothing left to replicate)
remote_wait() {
	local end=$((SECONDS + ${4:-120}))
	while :; do
		if [ "$(remote_field "$1" "$2" mode)" = "$3" ]; then
			[ "$3" != streaming ] || [ "$(remote_field "$1" "$2" bytes)" = 0 ] &&
				return 0
		fi
		[ $SECONDS -le $end ] ||
			fail "leg $2 of $1 not $3 after ${4:-120}s: $(dmsetup status "$1")"
		sleep 0.2
	done
}

# fio_clat FILE: "<p50> <p99>" write completion latency in microseconds
# from fio's terse v3 output run with --percentile_list=50:99
fio_clat() {
	local v
	v=$(awk -F';' 'NF > 60 { sub(/.*=/, "", $59); sub(/.*=/, "", $60); print $59, $60; exit }' "$1")
	[ -n "$v" ] || { cat "$1"; fail "no fio latency in $1"; }
	echo "$v"
}

# fio_w NAME ARGS...: fio on $dev, terse v3 with p50/p99; output in
# /tmp/NAME.fio.  psync: the completion latency is the whole write (with
# libaio, encryption and a local write happen inside io_submit).
fio_w() {
	local n=$1
	shift
	fio --name="$n" --filename="$dev" --direct=1 --ioengine=psync \
		--group_reporting \
		--output-format=terse --terse-version=3 --percentile_list=50:99 \
		"$@" >/tmp/$n.fio 2>&1 || { cat /tmp/$n.fio; fail "fio $n failed"; }
}

# nbd_export DEV PORT: Debian's nbd-server exports DEV as "rleg" on
# 127.0.0.1:PORT (flush and FUA passed through)
nbd_export() {
	local dev=$1 port=$2
	ip link set lo up || fail "cannot bring lo up"
	cat >/tmp/nbd-server.conf <<EOC
[generic]
listenaddr = 127.0.0.1
port = $port
[rleg]
exportname = $dev
flush = true
fua = true
EOC
	nbd-server -C /tmp/nbd-server.conf -p /tmp/nbd-server.pid ||
		fail "nbd-server did not start"
	on_exit 'kill $(cat /tmp/nbd-server.pid) 2>/dev/null; sleep 1'
	sleep 1
}

# nbd_attach PORT: the kernel's nbd client on /dev/nbd0 (no timeout: I/O
# waits across link loss); sets NBD_DEV
nbd_attach() {
	need_module nbd
	wait_for_file /dev/nbd0 10 || fail "/dev/nbd0 missing"
	nbd-client 127.0.0.1 "$1" /dev/nbd0 -N rleg >/tmp/nbd-client.out 2>&1 ||
		{ cat /tmp/nbd-client.out; fail "nbd-client failed"; }
	on_exit "nbd-client -d /dev/nbd0 >/dev/null 2>&1"
	NBD_DEV=/dev/nbd0
	[ "$(blockdev --getsz $NBD_DEV)" -gt 0 ] || fail "$NBD_DEV has no size"
}

# vol_writes NAME: the volume's <writes> counter
vol_writes() {
	local s n
	s=$(dmsetup status "$1") || return 1
	set -- $s
	n=$((7 + 3 * $7 + 2))
	echo "${!n}"
}

# remote_scenarios NAME R: the volume NAME on a local leg (/dev/ram0) and the
# remote leg R (which exports /dev/mapper/rbk, backed by /dev/ram1), then
# the scenarios every transport must pass: A streaming behind the delayed
# link, B link cut during writes and catch-up, C the remote failing writes
# and "leg 1 recover".  Uses META, LEN, LEGSZ, BUDGET from the test; sets
# TABLE and dev.
remote_scenarios() {
	local V=$1 R=$2 REF t0 rtt fpid maxrpo m r p50 p99 w0 w1 r1 r2 b1 b2 iops maxlat i
	tenant_key_new acme $V 64
	REF=:64:logon:dm-tenant:acme:$V
	TABLE="0 $LEN tenant acme $V aes-xts-plain64 $REF 0 2 local /dev/ram0 $META remote $R $META"
	tenant_create $V "$TABLE 3 metadata:$META nosync remote_budget:$BUDGET"
	dev=$(dm_dev_path $V)
	info "status: $(dmsetup status $V)"
	[ "$(remote_field $V 1 mode)" = streaming ] || fail "remote leg not streaming: $(dmsetup status $V)"
	[ "$(remote_field $V 1 consistent)" = yes ] || fail "remote leg not consistent"
	dmsetup table $V | grep -q "remote_budget:$BUDGET" || fail "table lost remote_budget: $(dmsetup table $V)"

	# --- A: streaming behind a 20 ms round trip ---
	netem_set delay 10ms
	t0=${EPOCHREALTIME/./}
	dd if="$R" of=/dev/null bs=4k count=1 iflag=direct 2>/dev/null
	rtt=$((${EPOCHREALTIME/./} - t0))
	info "one 4 KiB read of the remote device: ${rtt} us"
	[ "$rtt" -ge 20000 ] || fail "netem delay not applied to the remote path (${rtt} us)"

	# At a rate the emulated link carries (bench-remote.sh: ~1500 IOPS
	# with a 16 MiB budget): unthrottled, a quiet host's writer can
	# outrun it and the leg rightly goes catching-up (scenario B's case).
	fio_w a1 --rw=randwrite --bs=4k --size=32M --io_size=12M \
		--rate_iops=500 --verify=crc32c --do_verify=1 --verify_fatal=1 &
	fpid=$!
	maxrpo=0
	while kill -0 $fpid 2>/dev/null; do
		m=$(remote_field $V 1 mode)
		[ "$m" = streaming ] || { wait $fpid; fail "leg left streaming under load: $(dmsetup status $V)"; }
		r=$(remote_field $V 1 rpo)
		[ "$r" -le "$maxrpo" ] || maxrpo=$r
		sleep 0.5
	done
	wait $fpid || fail "fio a1 failed"
	read -r p50 p99 < <(fio_clat /tmp/a1.fio)
	info "async remote, QD1 4 KiB writes: p50 ${p50} us, p99 ${p99} us; max RPO seen ${maxrpo} ms"
	[ "$p50" -lt 10000 ] || fail "async p50 ${p50} us: writes wait for the 20 ms round trip"
	[ "$maxrpo" -gt 0 ] || fail "RPO never above 0 while streaming behind a 20 ms link"
	remote_wait $V 1 streaming 120
	[ "$(remote_field $V 1 rpo)" = 0 ] || fail "RPO not 0 once replicated: $(dmsetup status $V)"
	[ "$(remote_field $V 1 consistent)" = yes ] || fail "not consistent"
	assert_legs_identical $META $LEN /dev/ram0 /dev/mapper/rbk
	info "A: remote byte-identical after streaming: $(dmsetup status $V)"

	# --- B: link cut during writes ---
	fio_w b1 --rw=randwrite --bs=4k --numjobs=4 --size=64M --time_based --runtime=24 &
	fpid=$!
	sleep 3
	info "cutting the link (netem loss 100%)"
	netem_set loss 100%
	sleep 1
	w0=$(vol_writes $V)
	sleep 6
	w1=$(vol_writes $V)
	m=$(remote_field $V 1 mode)
	r1=$(remote_field $V 1 rpo)
	b1=$(remote_field $V 1 bytes)
	info "link cut 7 s: $(dmsetup status $V)"
	[ "$m" = catching-up ] || fail "leg not catching-up while the link is cut: $m"
	info "writes during 6 s of the cut: $((w1 - w0))"
	[ $((w1 - w0)) -ge 300 ] || fail "only $((w1 - w0)) writes in 6 s: local writes stalled during the outage"
	[ "$(remote_field $V 1 consistent)" = no ] || fail "a catching-up leg claims to be consistent"
	sleep 3
	r2=$(remote_field $V 1 rpo)
	b2=$(remote_field $V 1 bytes)
	info "RPO ${r1} -> ${r2} ms, unreplicated ${b1} -> ${b2} bytes"
	[ "$r2" -gt "$r1" ] || fail "RPO does not grow while the link is cut"
	[ "$b2" -gt 0 ] || fail "no unreplicated bytes shown while the link is cut"
	kill -0 $fpid 2>/dev/null || fail "fio ended during the outage"
	netem_set delay 10ms
	info "link back"
	wait $fpid || fail "fio b1 failed"
	read -r p50 p99 < <(fio_clat /tmp/b1.fio)
	iops=$(awk -F';' '{print $49; exit}' /tmp/b1.fio)
	maxlat=$(awk -F';' '{print $56; exit}' /tmp/b1.fio)
	info "writes across the cut: ${iops} IOPS, p50 ${p50} us, p99 ${p99} us, max ${maxlat} us"
	[ "$maxlat" -lt 5000000 ] || fail "a write waited ${maxlat} us: local writes stalled during the outage"
	remote_wait $V 1 streaming 300
	[ "$(remote_field $V 1 consistent)" = yes ] || fail "not consistent after catch-up"
	dmesg | grep -q "acme/$V: remote leg 1 caught up" || fail "catch-up not logged"
	assert_legs_identical $META $LEN /dev/ram0 /dev/mapper/rbk
	info "B: caught up after the cut, byte-identical: $(dmsetup status $V)"

	# --- C: the remote device fails writes ---
	check dmsetup suspend rbk
	check dmsetup load rbk --table "0 $LEGSZ error"
	check dmsetup resume rbk
	fio_w c1 --rw=randwrite --bs=4k --numjobs=4 --size=64M --time_based --runtime=8
	i=0
	while [ "$(remote_field $V 1 mode)" != failed ]; do
		i=$((i + 1))
		[ $i -lt 300 ] || fail "remote leg did not fail on write errors: $(dmsetup status $V)"
		sleep 0.2
	done
	[ "$(mirror_leg_states $V)" = AD ] || fail "legs: $(mirror_leg_states $V)"
	maxlat=$(awk -F';' '{print $56; exit}' /tmp/c1.fio)
	info "remote failing: $(dmsetup status $V); max write latency ${maxlat} us"
	dmesg | grep -Eq "acme/$V: leg 1 .* failed: (remote write error|.*remote catch-up)" || fail "failure not logged"
	check dmsetup suspend rbk
	check dmsetup load rbk --table "0 $LEGSZ linear /dev/ram1 0"
	check dmsetup resume rbk
	sleep 2
	[ "$(remote_field $V 1 mode)" = failed ] || fail "failed leg came back by itself"
	check dmsetup message $V 0 leg 1 recover
	remote_wait $V 1 streaming 300
	assert_legs_identical $META $LEN /dev/ram0 /dev/mapper/rbk
	info "C: recovered, byte-identical: $(dmsetup status $V)"
}
