#!/bin/bash
# Self-test of the record guest and reccheck: boot recguest under QEMU (TCG) for a few
# seconds, SIGKILL it, then check the disk with `reccheck --min-seq <last seq on the console>`,
# and check that reccheck rejects a damaged copy.
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
"$reccheck" --min-seq "$last" "$out/disk.img" || { echo "FAIL: reccheck rejected the disk"; exit 1; }

# reccheck must notice damage: one inverted byte in a record's filler.
cp "$out/disk.img" "$out/damaged.img"
off=$((512 * 7 + 100))
byte=$(od -An -tu1 -j "$off" -N1 "$out/damaged.img")
# shellcheck disable=SC2059  # the format is the octal escape
printf "\\$(printf %03o $((255 - byte)))" |
	dd of="$out/damaged.img" bs=1 seek="$off" conv=notrunc status=none
if "$reccheck" "$out/damaged.img" 2>/dev/null; then
	echo "FAIL: reccheck accepted a damaged disk"
	exit 1
fi
echo "PASS: recguest wrote a consistent ring in ${run}s (seq >= $last); damage detected"
