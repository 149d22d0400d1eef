#!/bin/bash
# Builds the record-writing boot-sector guest.
#   tests/guest/build.sh OUTDIR
# -> OUTDIR/recguest.bin (the 512-byte boot sector; env RECGUEST_PACE, RECGUEST_SPREAD)
#    OUTDIR/disk.img     (DISK_MB MiB, default 4; boot sector at LBA 0, the rest zero)
# Needs nasm.  An existing OUTDIR/disk.img is replaced (a fresh ring for every run).
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
out=${1:?usage: build.sh OUTDIR}
disk_mb=${DISK_MB:-4}

die() { echo "build.sh: $*" >&2; exit 1; }
command -v nasm >/dev/null || die "nasm not found (apt-get install nasm)"
if ! [[ $disk_mb =~ ^[0-9]+$ ]] || ((disk_mb < 3)); then
	die "DISK_MB must be an integer >= 3 (the ring needs 2 MiB after the boot sector)"
fi

mkdir -p "$out"
# RECGUEST_PACE: PIT ticks between records (default in recguest.asm: 4 ms; 0: flat out)
if [[ -n ${RECGUEST_PACE:-} ]] && ! [[ $RECGUEST_PACE =~ ^[0-9]+$ && $RECGUEST_PACE -lt 65536 ]]; then
	die "RECGUEST_PACE must be an integer 0-65535"
fi
# RECGUEST_SPREAD: sectors after the ring that get a copy of each record at random (0: off)
if [[ -n ${RECGUEST_SPREAD:-} ]] && ! [[ $RECGUEST_SPREAD =~ ^[0-9]+$ && $RECGUEST_SPREAD -le 16773119 ]]; then
	die "RECGUEST_SPREAD must be an integer 0-16773119 (LBA28: 24 bits of sectors after the ring)"
fi
nasm -f bin ${RECGUEST_PACE:+-DPACE=$RECGUEST_PACE} ${RECGUEST_SPREAD:+-DSPREAD=$RECGUEST_SPREAD} \
	-o "$out/recguest.bin.tmp" "$here/recguest.asm"
size=$(stat -c %s "$out/recguest.bin.tmp")
[[ $size -eq 512 ]] || die "recguest.bin is $size bytes, expected 512"
mv -f "$out/recguest.bin.tmp" "$out/recguest.bin"

rm -f "$out/disk.img"
truncate -s "${disk_mb}M" "$out/disk.img"
dd if="$out/recguest.bin" of="$out/disk.img" conv=notrunc status=none
