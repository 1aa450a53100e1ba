# SPDX-License-Identifier: GPL-2.0
# Shared by the VM benchmarks (scripts/bench*.sh): the fio jobs, running
# fio and reading its JSON, medians.  Sourced after tests/vm/lib.sh.
#
# The caller sets: OUT (scratch dir), RUNTIME, RAMP (seconds), SEQ_QD
# (queue depth of the 1 MiB jobs), FIO_SIZE_MB (span of the device fio
# uses), RESULTS (file of "rep job contender <parse_fio fields>" lines).

# job name -> fio arguments; the unit of the primary figure follows from
# the block size: MiB/s for 1 MiB jobs, IOPS for 4 KiB jobs.
BENCH_KNOWN_JOBS="seq-read-1M seq-write-1M rand-read-4k-qd1 rand-write-4k-qd1 rand-read-4k-qd16 rand-write-4k-qd16"
job_args() {
	case "$1" in
	seq-read-1M) echo "--rw=read --bs=1M --iodepth=$SEQ_QD" ;;
	seq-write-1M) echo "--rw=write --bs=1M --iodepth=$SEQ_QD" ;;
	rand-read-4k-qd1) echo "--rw=randread --bs=4k --iodepth=1" ;;
	rand-write-4k-qd1) echo "--rw=randwrite --bs=4k --iodepth=1" ;;
	rand-read-4k-qd16) echo "--rw=randread --bs=4k --iodepth=16" ;;
	rand-write-4k-qd16) echo "--rw=randwrite --bs=4k --iodepth=16" ;;
	*) return 1 ;;
	esac
}
job_dir() { case "$1" in *read*) echo read ;; *) echo write ;; esac; }
job_unit() { case "$1" in *-1M) echo MiB/s ;; *) echo IOPS ;; esac; }
check_jobs() {	# check_jobs "JOB..." -> fail on an unknown name
	local j
	for j in $1; do
		job_args "$j" >/dev/null ||
			fail "unknown job '$j' (jobs: $BENCH_KNOWN_JOBS)"
	done
}

# parse_fio JSON DIR -> "MiB/s IOPS lat_p50 lat_p99 clat_p50 clat_p99" (usec)
# lat is fio's total latency, submission to completion.  On a stack that
# does the work synchronously inside io_submit (brd, tenant, dm-crypt
# no-wq) clat ("completion latency") leaves that work out; lat doesn't.
parse_fio() {
	awk -v d="$2" '
		{ gsub(/[",]/, "") }
		/^      [a-z_]+ : [{]$/ { sec = $1; sub_ = "" }
		/^        [a-z_]+ : [{]$/ { sub_ = $1 }
		sec == d && $1 == "bw_bytes" { bw = $3 }
		sec == d && $1 == "iops" { iops = $3 }
		sec == d && $1 == "50.000000" { p50[sub_] = $3 }
		sec == d && $1 == "99.000000" { p99[sub_] = $3 }
		$1 == "error" && $3 != 0 { err = $3 }
		END {
			if (err || iops == "" || p99["lat_ns"] == "" || p99["clat_ns"] == "") exit 1
			printf "%.1f %.0f %.1f %.1f %.1f %.1f\n", bw / 1048576, iops,
				p50["lat_ns"] / 1000, p99["lat_ns"] / 1000,
				p50["clat_ns"] / 1000, p99["clat_ns"] / 1000
		}' "$1"
}

run_fio() {	# run_fio DEV JOB -> see parse_fio
	local dev=$1 job=$2 args
	args=$(job_args "$job")
	# shellcheck disable=SC2086
	fio --name="$job" --filename="$dev" --ioengine=libaio --direct=1 \
		--time_based --runtime="$RUNTIME" --ramp_time="$RAMP" \
		--size="${FIO_SIZE_MB}M" --norandommap --randrepeat=1 \
		--percentile_list=50:99 --lat_percentiles=1 --output-format=json \
		--output="$OUT/fio.json" $args >"$OUT/fio.err" 2>&1 || {
		cat "$OUT/fio.err" "$OUT/fio.json" >&2
		fail "fio $job on $dev failed"
	}
	parse_fio "$OUT/fio.json" "$(job_dir "$job")" || {
		cat "$OUT/fio.json" >&2
		fail "cannot parse fio output of $job"
	}
}

# CPU use of a run: cpu_ticks before and after, then cpu_busy.  Under TCG
# every stack is CPU-bound; one below 100% left a CPU idle.
cpu_ticks() { awk '/^cpu / { print $2 + $3 + $4 + $7 + $8 + $9, $5 + $6 }' /proc/stat; }
cpu_busy() {	# cpu_busy "BUSY IDLE" "BUSY IDLE" -> % of all CPUs busy
	# (busybox awk reads an unparenthesised ">" in printf as a redirection)
	awk -v a="$1" -v b="$2" 'BEGIN { split(a, x, " "); split(b, y, " ")
		bu = y[1] - x[1]; t = bu + y[2] - x[2]
		printf "%.0f\n", (t > 0 ? 100 * bu / t : 0) }'
}

# RESULTS columns: 4 MiB/s, 5 IOPS, 6/7 lat p50/p99, 8/9 clat p50/p99,
# 10 CPU busy % (bench-mirror.sh only)
col_of() { [ "$(job_unit "$1")" = IOPS ] && echo 5 || echo 4; }

median() {	# median JOB CONTENDER COL
	awk -v j="$1" -v c="$2" -v k="$3" '$2 == j && $3 == c { print $k }' "$RESULTS" |
		sort -n | awk '{ v[NR] = $1 } END {
			if (NR == 0) { print "-"; exit }
			if (NR % 2) print v[(NR + 1) / 2]; else printf "%.1f\n", (v[NR / 2] + v[NR / 2 + 1]) / 2 }'
}

bench_env() {	# bench_env TITLE: what the figures were measured on
	echo "=== $1 ==="
	echo "date:      $(date -u '+%Y-%m-%d %H:%M:%S UTC')"
	echo "kernel:    $(uname -r)"
	echo "cpus:      $(nproc) x $(awk -F': ' '/^model name/ { print $2; exit }' /proc/cpuinfo)"
	echo "memory:    $(awk '/^MemTotal/ { printf "%d MiB", $2 / 1024 }' /proc/meminfo)"
	echo "fio:       $(fio --version)"
}
