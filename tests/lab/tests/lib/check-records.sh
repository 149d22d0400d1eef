#!/bin/bash
# Guest side: check that every record logged by record-writer.sh is on a device.
#   check-records.sh DEV LOG...
# Reads DEV with O_DIRECT, finds the records at 4 KiB boundaries and checks that each seq
# listed in the LOG files sits in its slot (seq mod slots). Prints a summary; rc 1 if any
# logged record is missing.
set -euo pipefail
dev=$1
shift
nslots=$(($(blockdev --getsize64 "$dev") / 4096))
dd if="$dev" bs=1M iflag=direct status=none | grep -a -b -o 'DRBDMIG-LAB-REC [0-9]\{10\}' |
	awk -F'[: ]' -v nslots="$nslots" '
		FILENAME == "-" { if ($1 % 4096 == 0) found[$3 + 0] = $1 / 4096; next }
		{ n++; s = $1 + 0
		  if (!(s in found) || found[s] != s % nslots) { miss++; if (miss <= 10) print "missing record " s } }
		END { printf "%d logged records checked, %d missing\n", n, miss; exit (miss > 0 || n == 0) }
	' - "$@"
