#!/bin/bash
# Self-test of the record guest and reccheck: boot recguest under QEMU (TCG) for a few
# seconds, SIGKILL it, then check the disk with `reccheck --min-seq <last seq on the console>`,
# and check that reccheck rejects a damaged copy; then the same with the guest built
# SPREAD (records copied all over the disk) and reccheck --spread.
#   tests/guest/selftest.sh [OUTDIR]      (default: a temporary directory, removed after)
# Env: RECCHECK (a built reccheck; default: compiled into OUTDIR with cc), RUN_SECONDS (5).
# Exit: 0 ok, 1 failed, 77 nasm/qemu/cc missing.
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
run=${RUN_SECONDS:-5}
for c in nasm qemu-system-x86_64; do
	command -v "$c" >/dev/null || { echo "SKIP: $c not installed"; exit 77; }
done
if [[ -n ${1:-} ]]; then
	out=$1
	mkdir -p "$out"
else
	out=$(mktemp -d "${TMPDIR:-/tmp}/recguest-selftest.XXXXXX")
	trap 'rm -rf "$out"' EXIT
fi

"$here/build.sh" "$out"
reccheck=${RECCHECK:-}
if [[ -z $reccheck ]]; then
	command -v cc >/dev/null || { echo "SKIP: no cc to build reccheck"; exit 77; }
	cc -std=c11 -Wall -Wextra -Werror -O2 -o "$out/reccheck" "$here/reccheck.c"
	reccheck=$out/reccheck
fi

# boot_guest: runs the guest on disk.img for $run s, kills it; sets last (the last
# seq its console reported).
boot_guest() {
	local qpid hex
	rm -f "$out/serial.log"
	qemu-system-x86_64 -accel tcg -m 16 -nodefaults -display none -no-reboot -monitor none \
		-drive "file=$out/disk.img,format=raw,if=ide,cache=writeback" \
		-serial "file:$out/serial.log" &
	qpid=$!
	sleep "$run"
	kill -KILL "$qpid" 2>/dev/null || true
	wait "$qpid" 2>/dev/null || true
	grep -aq '^RECGUEST' "$out/serial.log" || { echo "FAIL: no boot banner on the console"; exit 1; }
	hex=$(grep -ao 'REC [0-9A-F]\{8\}' "$out/serial.log" | tail -1 | cut -d' ' -f2) || true
	[[ -n $hex ]] || { echo "FAIL: the guest printed no record in ${run}s"; exit 1; }
	last=$((16#$hex))
	echo "console: last reported seq $last"
}
# flip FILE OFFSET: inverts one byte
flip() {
	local byte
	byte=$(od -An -tu1 -j "$2" -N1 "$1")
	# shellcheck disable=SC2059  # the format is the octal escape
	printf "\\$(printf %03o $((255 - byte)))" | dd of="$1" bs=1 seek="$2" conv=notrunc status=none
}

boot_guest
"$reccheck" --min-seq "$last" "$out/disk.img" || { echo "FAIL: reccheck rejected the disk"; exit 1; }

# reccheck must notice damage: one inverted byte in a record's filler.
cp "$out/disk.img" "$out/damaged.img"
flip "$out/damaged.img" $((512 * 7 + 100))
if "$reccheck" "$out/damaged.img" 2>/dev/null; then
	echo "FAIL: reccheck accepted a damaged disk"
	exit 1
fi
ring_last=$last

# The guest that writes all over its disk: each record again at a random sector of the
# 4095 after the ring (the rest of the 4 MiB disk); reccheck --spread checks those too.
RECGUEST_SPREAD=4095 "$here/build.sh" "$out"
boot_guest
res=$("$reccheck" --min-seq "$last" --spread 4095 "$out/disk.img") ||
	{ echo "FAIL: reccheck --spread rejected the disk: $res"; exit 1; }
echo "$res"
copies=$(sed -n 's/.* copies=\([0-9]*\).*/\1/p' <<<"$res")
[[ ${copies:-0} -gt 0 ]] || { echo "FAIL: no record copies after the ring"; exit 1; }
# damage in a copy: the first non-empty sector after the ring
first=$(od -An -tu1 -v -w512 -j $((512 * 4097)) "$out/disk.img" |
	awk '!f && !/^( +0)+$/ { f = NR } END { print f }')
cp "$out/disk.img" "$out/damaged.img"
flip "$out/damaged.img" $((512 * (4096 + first) + 100))
if "$reccheck" --spread 4095 "$out/damaged.img" >/dev/null 2>&1; then
	echo "FAIL: reccheck --spread accepted a damaged copy"
	exit 1
fi
echo "PASS: recguest wrote a consistent ring in ${run}s (seq >= $ring_last), and with SPREAD $copies whole copies after it; damage detected in both"
