#!/bin/bash
# Migration benchmark in the kernel lab: drbdmig against libvirt's own
# `virsh migrate --live --p2p --copy-storage-all` (destination LV pre-created), side by
# side in one run, same hosts, same link, same nested guest on the same size of LV
# (BENCH_LV_MB, default 1024), per load of BENCH_LOADS (default: all four):
#   idle         a guest that halts, on an LV of zeros
#   writing      the record guest (250 records/s at most), on an LV of zeros
#   mostly-zero  the idle guest, 1 MiB of random data in every 10 MiB of the LV (10 %)
#   random       the idle guest, random data over the whole LV
# Per case: total migration time, guest downtime (libvirt's completed job info), bytes
# sent over the link by both hosts, and the guest's write rate during the migration
# (records per second on its console) against its rate before, and the ratios of the
# two methods; drbdmig's phases (build, initial sync, window, teardown) and its fixed
# cost per migration (build + teardown), the daemons' CPU seconds per migration and
# their peak RSS. Each case runs BENCH_RUNS times (default 3), the two methods
# alternating which goes first; the table shows each figure's median with its min and
# max, and the ratios are of the medians. Also the initial DRBD sync's average rate
# against TCP on the same link (iperf3 -Z; dd | nc). Plots (PNG, gnuplot) of the
# guest's write latency across the first run's migration are written to BENCH_OUT
# (default: the lab run's shared dir), one per method.
# About 6 minutes per load and run on the 1 GiB LV: 75 minutes for the default.
#
# BENCH_MODE=scaling instead measures how the cost grows, both methods, idle guests on
# LVs of random data (every byte crosses the link; BENCH_SCALE_LOAD=mostly-zero or idle
# for the others): total time, link MiB, the daemons' CPU seconds and drbdmig's fixed
# cost against the LV size (BENCH_SIZES MiB, default 256 1024 4096, one guest) and
# against the number of guests migrating at once (BENCH_GUESTS, default 1 2 4, each on
# a BENCH_SCALE_MB LV, default 256), BENCH_RUNS runs per point (default 1 here), with
# PNG plots of each curve. The 4 GiB point needs LAB_VG_DISK=6G or more.
# BENCH_SIZES=256 BENCH_GUESTS="1 2" took 7 minutes, the default 39 (2026-12-04).
#
# Run through the lab (it needs LAB_DEB for drbdmig on the hosts):
#   make bench-lab-migrate         (builds the .deb, boots a lab, runs this)
# TCG emulation: compare the ratios, not the absolute figures.
# shellcheck source=../tests/lab/tests/lib/testlib.sh
. "$LAB_SRC/tests/lab/tests/lib/testlib.sh"

DOM=bench
LV=benchdisk
LV_MB=${BENCH_LV_MB:-1024}
UUID=5b7f6c52-6e11-4f0e-9d5e-0000000000b1
WANT=64
W=$LAB_SHARED/bench
OUT=${BENCH_OUT:-$W}
# shellcheck source=../tests/lab/tests/lib/e2elib.sh
. "$LAB_SRC/tests/lab/tests/lib/e2elib.sh"
SAMPLER=
bench_cleanup() {
	local rc=$?
	[ -z "$SAMPLER" ] || kill "$SAMPLER" 2>/dev/null || true
	(exit "$rc")
	e2e_cleanup
}
trap bench_cleanup EXIT

# The idle guest: a boot sector that halts forever.
idle_sector() {
	printf '\xf4\xeb\xfd' >"$W/idle.bin"
	truncate -s 510 "$W/idle.bin"
	printf '\x55\xaa' >>"$W/idle.bin"
}
tx_bytes() { val "$1" cat "/sys/class/net/$LAB_LINK_DEV/statistics/tx_bytes"; }
# Samples the last console record every 0.25 s: "seconds record" lines.
sample_start() {
	local f=$1 t0
	t0=$(date +%s.%N)
	(while :; do
		printf '%s %s\n' "$(echo "$(date +%s.%N) - $t0" | bc)" "$(last_rec)"
		sleep 0.25
	done >"$f") &
	SAMPLER=$!
}
sample_stop() { kill "$SAMPLER" 2>/dev/null || true; wait "$SAMPLER" 2>/dev/null || true; SAMPLER=; }
downtime_ms() {   # from the source's completed job
	val "$1" virsh domjobinfo --completed "$DOM" 2>/dev/null |
		awk -F: '/Total downtime/ { gsub(/[^0-9]/, "", $2); print $2 }'
}
define_guest() {   # define_guest HOST BOOTSECTOR ANNOTATED(0/1) LOAD
	local extra="<uuid>$UUID</uuid>"
	rec_lv "$1" "$VG" "$LV" "$LV_MB" "$2"
	# the data past the first 4 MiB (the record guest's ring ends at 2 MiB)
	case $4 in
	mostly-zero)
		sh_on "$1" "i=4; while [ \$i -lt $LV_MB ]; do dd if=/dev/urandom of=/dev/$VG/$LV bs=1M \
			seek=\$i count=1 oflag=direct status=none || exit 1; i=\$((i + 10)); done" ;;
	random)
		on "$1" dd if=/dev/urandom of="/dev/$VG/$LV" bs=1M seek=4 count=$((LV_MB - 4)) \
			oflag=direct status=none ;;
	esac
	[ "$3" = 1 ] && extra="$extra
  <metadata>
    <drbdmig:policy xmlns:drbdmig=\"urn:drbdmig:1\" resync-rate=\"1G\">
      <drbdmig:disk target=\"hda\"/>
    </drbdmig:policy>
  </metadata>"
	rec_xml "$DOM" "/dev/$VG/$LV" "$G_W/console.log" "$extra" >"$W/$DOM.xml"
	on "$1" virsh define "$G_W/$DOM.xml"
	on "$1" virsh start "$DOM"
}
undefine_all() {
	for h in A B; do
		try "$h" sh -c "virsh destroy $DOM; virsh undefine $DOM; lvremove -qy $VG/$LV"
	done
}

# Per run, keyed METHOD/LOAD/RUN: total s, downtime ms, link MiB, records/s before and
# during; drbdmig's phases (BUILD SYNC WIN TEARDOWN, s) and both daemons' CPU seconds.
declare -A SECS DOWN MIB BEFORE DURING BUILD SYNC WIN TEARDOWN DCPU
RUNS=${BENCH_RUNS:-3}
# Seconds since midnight of a daemon log line's time stamp ("2026-12-01 19:51:23.123 ...").
log_secs() { awk '{ split($2, t, ":"); printf "%.3f\n", t[1] * 3600 + t[2] * 60 + t[3] }'; }
# drbdmig's phases on the destination for the last session, into BUILD, SYNC, WIN and
# TEARDOWN[K] (s): building to syncing, syncing to ready, ready to the switchover, the
# switchover to done (the teardown of both hosts, driven by the destination).
phase_times() {
	local k=$1 sid lines b s r w d
	sid=$(val B sh -c "grep -a -o 'session=[0-9a-f]* domain=$DOM role=dst phase=building' $DLOG | tail -n1 | cut -d' ' -f1")
	lines=$(val B sh -c "grep -a '$sid' $DLOG")
	b=$(grep -m1 'phase=building' <<<"$lines" | log_secs)
	s=$(grep -m1 'phase=syncing' <<<"$lines" | log_secs)
	r=$(grep -m1 'phase=ready' <<<"$lines" | log_secs)
	w=$(grep -m1 '(switchover)' <<<"$lines" | log_secs)
	d=$(grep -m1 'phase=done' <<<"$lines" | log_secs)
	BUILD[$k]=$(echo "$s - $b" | bc)
	SYNC[$k]=$(echo "$r - $s" | bc)
	WIN[$k]=$(echo "${w:-$r} - $r" | bc)
	TEARDOWN[$k]=$(echo "${d:-${w:-$r}} - ${w:-$r}" | bc)
}
# drbdmigd's CPU seconds so far (user + system) on HOST, and its peak RSS (KiB).
daemon_cpu() {
	# shellcheck disable=SC2016  # expanded by the host's shell
	val "$1" sh -c 'p=$(cat "$1") &&
		awk -v t="$(getconf CLK_TCK)" "{ printf \"%.2f\n\", (\$14 + \$15) / t }" /proc/$p/stat' sh "$PIDF"
}
# shellcheck disable=SC2016  # expanded by the host's shell
daemon_rss_kib() { val "$1" sh -c 'awk "/^VmHWM/ { print \$2 }" /proc/$(cat "$1")/status' sh "$PIDF"; }
run_case() {   # run_case METHOD LOAD RUN
	local method=$1 load=$2 run=$3 sector=$G_W/recguest.bin t0 t1 tx0 tx1 r0 r1 c0 c1 k=$1/$2/$3
	[ "$load" = writing ] || sector=$G_W/idle.bin
	: >"$W/console.log"
	define_guest A "$sector" "$([ "$method" = drbdmig ] && echo 1 || echo 0)" "$load"
	if [ "$load" = writing ]; then wait_recs "$WANT" 240; fi
	sleep 5
	r0=$(last_rec)
	sleep 5
	BEFORE[$k]=$(( ($(last_rec) - r0) / 5 ))
	[ "$method" = copy-storage-all ] && on B lvcreate -qy -L "${LV_MB}M" -n "$LV" "$VG"
	tx0=$(( $(tx_bytes A) + $(tx_bytes B) ))
	c0=$(echo "$(daemon_cpu A) + $(daemon_cpu B)" | bc)
	r0=$(last_rec)
	sample_start "$W/rate-$method-$load-$run.dat"
	t0=$(date +%s.%N)
	if [ "$method" = drbdmig ]; then
		ON_TIMEOUT=1800 on A virsh migrate --live --p2p "$DOM" "qemu+tcp://$LAB_IP_B/system" \
			--migrateuri "tcp://$LAB_IP_B"
	else
		ON_TIMEOUT=1800 on A virsh migrate --live --p2p --copy-storage-all "$DOM" \
			"qemu+tcp://$LAB_IP_B/system" --migrateuri "tcp://$LAB_IP_B"
	fi
	t1=$(date +%s.%N)
	r1=$(last_rec)
	sleep 3
	sample_stop
	tx1=$(( $(tx_bytes A) + $(tx_bytes B) ))
	SECS[$k]=$(echo "$t1 - $t0" | bc)
	DOWN[$k]=$(downtime_ms A)
	MIB[$k]=$(echo "($tx1 - $tx0) / 1048576" | bc -l)
	DURING[$k]=$(echo "($r1 - $r0) / ${SECS[$k]}" | bc)
	if [ "$method" = drbdmig ]; then
		check_clean A   # waits for both sessions to close: the teardown is over
		check_clean B
		phase_times "$k"
	fi
	c1=$(echo "$(daemon_cpu A) + $(daemon_cpu B)" | bc)
	DCPU[$k]=$(echo "$c1 - $c0" | bc)
	log "result: $method $load run $run: ${SECS[$k]} s, downtime ${DOWN[$k]:-?} ms," \
		"$(printf '%.1f' "${MIB[$k]}") MiB on the link, ${BEFORE[$k]} rec/s before," \
		"${DURING[$k]} rec/s during, daemons' CPU ${DCPU[$k]} s" \
		"$([ "$method" = drbdmig ] && echo "; build ${BUILD[$k]} s, initial sync ${SYNC[$k]} s," \
			"window ${WIN[$k]} s, teardown ${TEARDOWN[$k]} s")"
	undefine_all
}

# runstat ARRAY METHOD LOAD: "median min max" of ARRAY[METHOD/LOAD/1..RUNS] (the median of an
# even count is the mean of the middle two); "- - -" when no run recorded it.
runstat() {
	local -n a=$1
	local r v=()
	for ((r = 1; r <= RUNS; r++)); do
		[ -n "${a[$2/$3/$r]:-}" ] && v+=("${a[$2/$3/$r]}")
	done
	[ ${#v[@]} -gt 0 ] || { echo "- - -"; return; }
	printf '%s\n' "${v[@]}" | sort -g | awk '{ x[NR] = $1 } END {
		m = NR % 2 ? x[(NR + 1) / 2] : (x[NR / 2] + x[NR / 2 + 1]) / 2
		printf "%g %g %g\n", m, x[1], x[NR] }'
}
med() { local m; read -r m _ <<<"$(runstat "$@")"; echo "$m"; }
# cell ARRAY METHOD LOAD FORMAT: "median (min-max)" printed with FORMAT.
cell() {
	local m lo hi
	read -r m lo hi <<<"$(runstat "$1" "$2" "$3")"
	[ "$m" = - ] && { echo -; return; }
	# shellcheck disable=SC2059  # FORMAT is the caller's
	printf "$4 ($4-$4)" "$m" "$lo" "$hi"
}

# The link's TCP rate: iperf3 with zero-copy sends for 10 s (the best user space
# gets through TCG), and a plain dd | nc stream for comparison.
sync_vs_tcp() {
	local t0 t1 mb=256
	log "== TCP on the link: iperf3 -Z for 10 s, then $mb MiB dd | nc"
	on B sh -c "iperf3 -s -1 -D -p 7998"
	sleep 1
	IPERF_RATE=$(val A sh -c "iperf3 -c $LAB_IP_B -p 7998 -Z -t 10 -f M" |
		awk '/sender/ { for (i = 1; i <= NF; i++) if ($i == "MBytes/sec") print $(i - 1) }')
	on B sh -c "setsid -f sh -c 'nc -l -p 7999 > /dev/null' </dev/null >/dev/null 2>&1"
	sleep 1
	t0=$(date +%s.%N)
	on A sh -c "dd if=/dev/zero bs=1M count=$mb status=none | nc -q 1 -N $LAB_IP_B 7999"
	t1=$(date +%s.%N)
	NC_RATE=$(echo "$mb / ($t1 - $t0)" | bc -l)
}

# The guest writes its records one after another and prints every 256th, so between two
# console changes the mean latency of one record write is the time between them over
# the records written in it (a stall -- a table swap, the switchover -- shows as one high
# point). One plot per method and one with both; the migration starts at 0, the dashed
# line is where virsh migrate returned.
plot() {
	command -v gnuplot >/dev/null || { log "no gnuplot: plots skipped"; return 0; }
	local m both=""
	for m in drbdmig copy-storage-all; do
		[ -s "$W/rate-$m-writing-1.dat" ] || continue
		awk 'NR == 1 { tc = $1; rc = $2; next }
			$2 > rc { printf "%.2f %.3f\n", $1, ($1 - tc) * 1000 / ($2 - rc); tc = $1; rc = $2 }' \
			"$W/rate-$m-writing-1.dat" >"$W/lat-$m.dat"
		gnuplot <<-EOF
		set terminal png size 900,420
		set output '$OUT/write-latency-$m.png'
		set title 'Guest write latency across the migration: $m (lab, TCG)'
		set xlabel 'seconds from the start of virsh migrate'
		set ylabel 'mean ms per record write (256-record batches)'
		set logscale y
		set arrow from ${SECS[$m/writing/1]}, graph 0 to ${SECS[$m/writing/1]}, graph 1 nohead dt 2
		plot '$W/lat-$m.dat' using 1:2 with linespoints pt 7 ps 0.5 title '$m'
		EOF
		both+="${both:+, }'$W/lat-$m.dat' using 1:2 with linespoints pt 7 ps 0.5 title '$m'"
		log "plot: $OUT/write-latency-$m.png"
	done
	[ -n "$both" ] || return 0
	gnuplot <<-EOF
	set terminal png size 900,420
	set output '$OUT/write-latency-both.png'
	set title 'Guest write latency across the migration, both methods (lab, TCG)'
	set xlabel 'seconds from the start of virsh migrate'
	set ylabel 'mean ms per record write (256-record batches)'
	set logscale y
	plot $both
	EOF
	log "plot: $OUT/write-latency-both.png"
}

# ---- the scaling mode ------------------------------------------------------------------
# scale_case METHOD MIB GUESTS RUN: GUESTS idle guests (bench1..), each on an LV of MIB
# MiB, migrated A -> B at the same time; total time is until the last `virsh migrate`
# returned. Keyed METHOD/POINT/RUN with POINT "MIBxGUESTS".
scale_case() {
	local method=$1 mb=$2 n=$3 run=$4 k=$1/$2x$3/$4 i t0 t1 tx0 tx1 c0 c1 failed=0
	local -a pids=()
	local DOM LV UUID LV_MB=$mb
	for ((i = 1; i <= n; i++)); do
		DOM=bench$i LV=benchdisk$i UUID=5b7f6c52-6e11-4f0e-9d5e-0000000000c$i
		define_guest A "$G_W/idle.bin" "$([ "$method" = drbdmig ] && echo 1 || echo 0)" "$SCALE_LOAD"
		[ "$method" = copy-storage-all ] && on B lvcreate -qy -L "${mb}M" -n "$LV" "$VG"
	done
	tx0=$(( $(tx_bytes A) + $(tx_bytes B) ))
	c0=$(echo "$(daemon_cpu A) + $(daemon_cpu B)" | bc)
	t0=$(date +%s.%N)
	for ((i = 1; i <= n; i++)); do
		# shellcheck disable=SC2046  # the flag or nothing
		("$LAB" exec A -t 3600 -- virsh migrate --live --p2p \
			$([ "$method" = copy-storage-all ] && echo --copy-storage-all) "bench$i" \
			"qemu+tcp://$LAB_IP_B/system" --migrateuri "tcp://$LAB_IP_B" >"$W/scale-$i.out" 2>&1) &
		pids+=($!)
	done
	for ((i = 1; i <= n; i++)); do
		wait "${pids[i - 1]}" || { failed=1; log "bench$i: $(tr '\n' ' ' <"$W/scale-$i.out")"; }
	done
	t1=$(date +%s.%N)
	[ "$failed" = 0 ] || fail "$method of $n guest(s) on ${mb} MiB LVs: a migration failed"
	tx1=$(( $(tx_bytes A) + $(tx_bytes B) ))
	SECS[$k]=$(echo "$t1 - $t0" | bc)
	MIB[$k]=$(echo "($tx1 - $tx0) / 1048576" | bc -l)
	if [ "$method" = drbdmig ]; then
		check_clean A
		check_clean B
		DOM=bench1 phase_times "$k"
	fi
	c1=$(echo "$(daemon_cpu A) + $(daemon_cpu B)" | bc)
	DCPU[$k]=$(echo "$c1 - $c0" | bc)
	log "result: $method ${mb} MiB x $n run $run: ${SECS[$k]} s, $(printf '%.1f' "${MIB[$k]}") MiB" \
		"on the link, daemons' CPU ${DCPU[$k]} s$([ "$method" = drbdmig ] &&
		echo "; bench1: build ${BUILD[$k]} s, initial sync ${SYNC[$k]} s, window ${WIN[$k]} s," \
			"teardown ${TEARDOWN[$k]} s")"
	for ((i = 1; i <= n; i++)); do
		DOM=bench$i LV=benchdisk$i undefine_all
	done
}
# scale_plot FILE TITLE XLABEL YLABEL ARRAY POINTS...: one curve per method, x from
# each point ("MIBxGUESTS": the field that varies).
scale_plot() {
	command -v gnuplot >/dev/null || return 0
	local f=$1 title=$2 xl=$3 yl=$4 arr=$5 field m p x
	shift 5
	[ "$xl" = "guests at once" ] && field=2 || field=1
	for m in drbdmig copy-storage-all; do
		for p in "$@"; do
			x=$(echo "$p" | cut -dx -f"$field")
			echo "$x $(med "$arr" "$m" "$p")"
		done >"$W/scale-$m-$f.dat"
	done
	gnuplot <<-EOF
	set terminal png size 800,420
	set output '$OUT/$f.png'
	set title '$title (lab, TCG)'
	set xlabel '$xl'
	set ylabel '$yl'
	set key top left
	plot '$W/scale-drbdmig-$f.dat' using 1:2 with linespoints pt 7 title 'drbdmig', \
		'$W/scale-copy-storage-all-$f.dat' using 1:2 with linespoints pt 5 title 'copy-storage-all'
	EOF
	log "plot: $OUT/$f.png"
}
scaling() {
	local sizes=${BENCH_SIZES:-256 1024 4096} guests=${BENCH_GUESTS:-1 2 4} smb=${BENCH_SCALE_MB:-256}
	local -a size_pts=() guest_pts=() pts=()
	local p mb n run order method
	for p in $sizes $smb; do [[ $p =~ ^[1-9][0-9]{1,5}$ ]] || fail "BENCH_SIZES/BENCH_SCALE_MB: '$p' is not a size in MiB"; done
	for p in $guests; do [[ $p =~ ^[1-9]$ ]] || fail "BENCH_GUESTS: '$p' is not a number of guests (1-9)"; done
	# the guests for e2e_cleanup (their LVs match benchdisk already)
	EXTRA_DOMS=$(seq -f 'bench%g' -s ' ' 1 9)
	case $SCALE_LOAD in idle | mostly-zero | random) ;; *) fail "BENCH_SCALE_LOAD: unknown load $SCALE_LOAD" ;; esac
	for mb in $sizes; do size_pts+=("${mb}x1"); done
	for n in $guests; do guest_pts+=("${smb}x$n"); done
	# each point once, even where the two curves share one (256 MiB x 1)
	mapfile -t pts < <(printf '%s\n' "${size_pts[@]}" "${guest_pts[@]}" | awk '!seen[$0]++')
	for p in "${pts[@]}"; do
		mb=${p%x*} n=${p#*x}
		for ((run = 1; run <= RUNS; run++)); do
			order="drbdmig copy-storage-all"
			((run % 2)) || order="copy-storage-all drbdmig"
			for method in $order; do
				log "== $method, $n idle guest(s) on ${mb} MiB LVs ($SCALE_LOAD), run $run of $RUNS"
				scale_case "$method" "$mb" "$n" "$run"
			done
		done
	done
	echo
	echo "==== how the cost grows ($SCALE_LOAD LVs, idle guests, $RUNS runs per point; median" \
		"(min-max); lab under TCG: compare ratios)"
	printf '%-17s %-14s %-24s %-24s %-20s %-10s %s\n' method "LV MiB x n" "total s" "link MiB" \
		"daemons' CPU s" "fixed s" "total / copy-storage-all"
	for p in "${pts[@]}"; do
		for m in drbdmig copy-storage-all; do
			printf '%-17s %-14s %-24s %-24s %-20s %-10s %s\n' "$m" "${p/x/ x }" \
				"$(cell SECS "$m" "$p" %.1f)" "$(cell MIB "$m" "$p" %.1f)" "$(cell DCPU "$m" "$p" %.2f)" \
				"$([ "$m" = drbdmig ] && printf '%.1f' "$(echo "$(med BUILD $m "$p") + $(med TEARDOWN $m "$p")" | bc)" || echo -)" \
				"$([ "$m" = drbdmig ] && ratio "$(med SECS $m "$p")" "$(med SECS copy-storage-all "$p")" || echo -)"
		done
	done
	printf "drbdmigd's peak RSS over the whole run: A %s KiB, B %s KiB\n" "$(daemon_rss_kib A)" "$(daemon_rss_kib B)"
	scale_plot time-vs-size "Total migration time against LV size" "LV MiB" seconds SECS "${size_pts[@]}"
	scale_plot link-vs-size "Bytes on the link against LV size" "LV MiB" MiB MIB "${size_pts[@]}"
	scale_plot time-vs-guests "Total time against guests migrating at once (${smb} MiB each)" \
		"guests at once" seconds SECS "${guest_pts[@]}"
	scale_plot link-vs-guests "Bytes on the link against guests at once (${smb} MiB each)" \
		"guests at once" MiB MIB "${guest_pts[@]}"
}

ratio() { [ "$1" = - ] || [ "$2" = - ] && { echo -; return; }; printf '%.2f\n' "$(echo "$1 / $2" | bc -l)"; }
e2e_daemons
undefine_all
idle_sector
case ${BENCH_MODE:-quick} in
quick) ;;
scaling)
	RUNS=${BENCH_RUNS:-1}
	[[ $RUNS =~ ^[1-9][0-9]?$ ]] || fail "BENCH_RUNS: '$RUNS' is not a number of runs (1-99)"
	SCALE_LOAD=${BENCH_SCALE_LOAD:-random}
	scaling
	exit 0 ;;
*) fail "BENCH_MODE: '$BENCH_MODE' is neither quick nor scaling" ;;
esac
LOADS=${BENCH_LOADS:-idle writing mostly-zero random}
for load in $LOADS; do
	case $load in idle | writing | mostly-zero | random) ;; *) fail "BENCH_LOADS: unknown load $load" ;; esac
done
[[ $RUNS =~ ^[1-9][0-9]?$ ]] || fail "BENCH_RUNS: '$RUNS' is not a number of runs (1-99)"
for load in $LOADS; do
	for ((run = 1; run <= RUNS; run++)); do
		# alternate which method goes first, so drift in the lab favours neither
		order="drbdmig copy-storage-all"
		((run % 2)) || order="copy-storage-all drbdmig"
		for method in $order; do
			log "== $method, $load guest, ${LV_MB} MiB LV, run $run of $RUNS"
			run_case "$method" "$load" "$run"
		done
	done
done
sync_vs_tcp
plot
echo
echo "==== migration benchmark (${LV_MB} MiB LV, $RUNS runs per case; median (min-max);" \
	"lab under TCG: compare ratios)"
printf '%-17s %-11s %-22s %-22s %-25s %-16s %-16s %-18s\n' method load "total s" "downtime ms" \
	"link MiB" "writes before/s" "writes during/s" "daemons' CPU s"
for load in $LOADS; do
	for m in drbdmig copy-storage-all; do
		printf '%-17s %-11s %-22s %-22s %-25s %-16s %-16s %-18s\n' "$m" "$load" \
			"$(cell SECS "$m" "$load" %.1f)" "$(cell DOWN "$m" "$load" %.0f)" \
			"$(cell MIB "$m" "$load" %.1f)" "$(med BEFORE "$m" "$load")" \
			"$(med DURING "$m" "$load")" "$(cell DCPU "$m" "$load" %.2f)"
	done
done
for load in $LOADS; do
	d=drbdmig c=copy-storage-all
	printf 'drbdmig / copy-storage-all, %-11s (medians): total time %s, downtime %s, link bytes %s' \
		"$load" "$(ratio "$(med SECS $d "$load")" "$(med SECS $c "$load")")" \
		"$(ratio "$(med DOWN $d "$load")" "$(med DOWN $c "$load")")" \
		"$(ratio "$(med MIB $d "$load")" "$(med MIB $c "$load")")"
	if [ "$(med DURING $c "$load")" != 0 ]; then
		printf ', guest writes during the migration %s' \
			"$(ratio "$(med DURING $d "$load")" "$(med DURING $c "$load")")"
	fi
	printf '\n  drbdmig phases: build %s s, initial sync %s s, window %s s, teardown %s s;' \
		"$(cell BUILD $d "$load" %.1f)" "$(cell SYNC $d "$load" %.1f)" \
		"$(cell WIN $d "$load" %.1f)" "$(cell TEARDOWN $d "$load" %.1f)"
	printf ' fixed cost (build + teardown) %.1f s\n' \
		"$(echo "$(med BUILD $d "$load") + $(med TEARDOWN $d "$load")" | bc)"
done
printf "drbdmigd's peak RSS over the whole run: A %s KiB, B %s KiB\n" "$(daemon_rss_kib A)" "$(daemon_rss_kib B)"
printf 'TCP on the link: iperf3 -Z %.1f MiB/s, dd | nc %.1f MiB/s\n' "${IPERF_RATE:-0}" "$NC_RATE"
for load in $LOADS; do
	SYNC_S=$(med SYNC drbdmig "$load")
	[ "$SYNC_S" != - ] || continue
	SYNC_RATE=$(echo "$LV_MB / $SYNC_S" | bc -l)
	printf 'initial DRBD sync (%s, median) %.1f MiB/s on average (%s MiB in %.1f s); sync / iperf3 %.2f\n' \
		"$load" "$SYNC_RATE" "$LV_MB" "$SYNC_S" "$(echo "$SYNC_RATE / ${IPERF_RATE:-1}" | bc -l)"
done
