#!/bin/bash
# Storage benchmarks in the kernel lab (issue: storage primitives), side by side in one
# run on the same hosts:
#   1. guest-visible stall of a dm table swap: write latency of an O_DIRECT|O_DSYNC 4 KiB
#      writer on an LV, without swaps vs while drbdmig's dmg_dm_swap() flips the LV's
#      table every 2 s between its extents and an equivalent table (through a DRBD
#      device, Primary and StandAlone, over a copy of the LV's table: the real overlay);
#   2. initial DRBD sync throughput vs a raw TCP stream over the same lab link.
# Prints the figures and the ratios. Needs a running lab (tests/lab/lab.sh up) and a
# build tree (DRBDMIG_BUILDDIR) with bench/wlat and tests/storage/stortool.
#   DRBDMIG_BUILDDIR=_build/ci bench/lab-storage.sh
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
LAB=${LAB:-$here/../tests/lab/lab.sh}
B=${DRBDMIG_BUILDDIR:-$here/..}
SECS=${BENCH_SECS:-20}
SYNC_MB=${BENCH_SYNC_MB:-256}
ST=/usr/local/sbin/stortool
# shellcheck source=../tests/lab/lib/consts.sh
. "$here/../tests/lab/lib/consts.sh"    # LAB_IP_A, LAB_VG, ...
VG=$LAB_VG
ex() { "$LAB" exec "$@"; }
for f in bench/wlat tests/storage/stortool; do
	[ -x "$B/$f" ] || { echo "bench: $B/$f not built (make check TESTS=)"; exit 1; }
done
for h in A B; do
	"$LAB" put "$h" "$B/bench/wlat" /usr/local/sbin/wlat >/dev/null
	"$LAB" put "$h" "$B/tests/storage/stortool" $ST >/dev/null
	ex "$h" -- sh -c 'modprobe drbd; echo /sbin/drbdadm > /sys/module/drbd/parameters/usermode_helper'
done
cleanup() {
	for h in A B; do
		ex "$h" -- sh -c "touch /run/bench-stop; $ST drbd-down drbdmig-bench; $ST remove drbdmig-bench-copy;
			$ST resfile-remove /etc/drbd.d drbdmig-bench; lvremove -qy $VG/bench $VG/bench.meta" >/dev/null 2>&1 || true
	done
}
trap cleanup EXIT

echo "== 1. table swap stall (writer ${SECS}s each, 4 KiB O_DIRECT|O_DSYNC)"
ex A -- sh -c "lvcreate -qy -L 64M -n bench $VG && lvcreate -qy -L 4M -n bench.meta $VG && \
	$ST create-md 0 /dev/$VG/bench.meta >/dev/null && \
	$ST copy /dev/$VG/bench drbdmig-bench-copy DRBDMIG-bench-copy && \
	$ST resfile /etc/drbd.d drbdmig-bench x $LAB_HOSTNAME_A $LAB_IP_A 7797 0 /dev/mapper/drbdmig-bench-copy /dev/$VG/bench.meta \
		$LAB_HOSTNAME_B $LAB_IP_B 7797 0 /dev/mapper/drbdmig-bench-copy /dev/$VG/bench.meta && \
	$ST drbd-new-resource drbdmig-bench && $ST drbd-new-minor drbdmig-bench 0 0 && \
	$ST drbd-attach 0 /dev/mapper/drbdmig-bench-copy /dev/$VG/bench.meta 0 fixed && $ST drbd-primary 0 force"
base=$(ex A -- wlat "/dev/$VG/bench" "$SECS")
# swapper: every 2 s onto DRBD and back, timing each dmg_dm_swap() call
swaps=$(ex A -t $((SECS + 60)) -- bash -c "
	rm -f /run/bench-stop; wlat /dev/$VG/bench $SECS > /run/bench-wlat & w=\$!
	$ST table $VG-bench > /run/t-orig; n=0; tot=0; max=0
	while kill -0 \$w 2>/dev/null; do
		sleep 1
		s=\$(date +%s%N); $ST swap-to $VG-bench /dev/drbd0 > /dev/null; e=\$(date +%s%N)
		$ST table $VG-bench > /run/t-drbd
		sleep 1
		s2=\$(date +%s%N); $ST swap $VG-bench /run/t-orig /run/t-drbd; e2=\$(date +%s%N)
		for d in \$(( (e - s) / 1000000 )) \$(( (e2 - s2) / 1000000 )); do
			n=\$((n + 1)); tot=\$((tot + d)); [ \$d -gt \$max ] && max=\$d
		done
	done
	wait \$w; cat /run/bench-wlat; echo \"swaps \$n  mean_swap_call_ms \$((tot / (n > 0 ? n : 1)))  max_swap_call_ms \$max\"")
echo "without swaps: $base"
echo "with swaps:    $(echo "$swaps" | head -1)"
echo "               $(echo "$swaps" | tail -1)"
bmax=$(sed -n 's/.*max_us \([0-9]*\).*/\1/p' <<<"$base")
smax=$(sed -n 's/.*max_us \([0-9]*\).*/\1/p' <<<"$swaps")
bmed=$(sed -n 's/.*median_us \([0-9]*\).*/\1/p' <<<"$base")
smed=$(sed -n 's/.*median_us \([0-9]*\).*/\1/p' <<<"$swaps")
awk -v a="$bmax" -v b="$smax" -v c="$bmed" -v d="$smed" \
	'BEGIN { printf "ratio with/without swaps: max %.2f, median %.2f\n", b / a, d / c }'
ex A -- sh -c "$ST drbd-down drbdmig-bench && $ST remove drbdmig-bench-copy && lvremove -qy $VG/bench $VG/bench.meta" >/dev/null

echo "== 2. initial sync vs raw TCP over the lab link (${SYNC_MB} MiB)"
ex B -- sh -c "(timeout 120 nc -l $LAB_IP_B 7798 > /dev/null &) ; sleep 0.5"
# timed inside A: no exec round trip in the figure
ns=$(ex A -- sh -c "s=\$(date +%s%N); dd if=/dev/zero bs=1M count=$SYNC_MB status=none |
	timeout 120 nc -N $LAB_IP_B 7798; echo \$(( \$(date +%s%N) - s ))")
tcp=$(awk -v mb="$SYNC_MB" -v ns="$ns" 'BEGIN { printf "%.1f", mb / (ns / 1e9) }')
echo "raw TCP (dd | nc, user space): $tcp MiB/s"
for h in A B; do
	peer=$([ $h = A ] && echo B || echo A)
	me=$([ $h = A ] && echo $LAB_HOSTNAME_A || echo $LAB_HOSTNAME_B); pn=$([ $h = A ] && echo $LAB_HOSTNAME_B || echo $LAB_HOSTNAME_A)
	ip=$([ $h = A ] && echo $LAB_IP_A || echo $LAB_IP_B); pip=$([ $h = A ] && echo $LAB_IP_B || echo $LAB_IP_A)
	ex "$h" -- sh -c "lvcreate -qy -L ${SYNC_MB}M -n bench $VG && lvcreate -qy -L 8M -n bench.meta $VG && \
		$ST create-md 0 /dev/$VG/bench.meta >/dev/null && \
		$ST resfile /etc/drbd.d drbdmig-bench x $me $ip 7797 0 /dev/$VG/bench /dev/$VG/bench.meta \
			$pn $pip 7797 0 /dev/$VG/bench /dev/$VG/bench.meta && \
		$ST drbd-new-resource drbdmig-bench && $ST drbd-new-minor drbdmig-bench 0 0 && \
		$ST drbd-attach 0 /dev/$VG/bench /dev/$VG/bench.meta 4194304 fixed"
	: "$peer"
done
ex A -- $ST drbd-primary 0 force
ex A -- $ST drbd-connect drbdmig-bench "$LAB_IP_A:7797" "$LAB_IP_B:7797" x one
# the sync starts when B connects: timed inside B, from its connect to UpToDate
ns=$(ex B -t 600 -- sh -c "s=\$(date +%s%N); $ST drbd-connect drbdmig-bench $LAB_IP_B:7797 $LAB_IP_A:7797 x one &&
	$ST drbd-wait-synced 0 580 >/dev/null; echo \$(( \$(date +%s%N) - s ))")
sync=$(awk -v mb="$SYNC_MB" -v ns="$ns" 'BEGIN { printf "%.1f", mb / (ns / 1e9) }')
echo "DRBD initial sync: $sync MiB/s (connect to UpToDate, rate limit 4G)"
awk -v a="$sync" -v b="$tcp" 'BEGIN { printf "ratio sync/raw TCP: %.2f\n", a / b }'
