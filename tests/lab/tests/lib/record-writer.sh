#!/bin/bash
# Guest side: write numbered records to a block device, the way a guest's disk writes
# would arrive, and log each record whose write completed.
#   record-writer.sh DEV DIR FIRST [COUNT]
# Record seq (FIRST, FIRST+1, ...) is the text "DRBDMIG-LAB-REC <seq, 10 digits>\n" padded
# with zeros to 4 KiB, written with O_DIRECT (one dd per record) to 4 KiB slot
# seq mod (size of DEV / 4 KiB). After each completed write seq is appended to DIR/log.
# Runs until DIR/stop exists (COUNT 0, the default) or COUNT records are written; writes
# DIR/done at a clean end. A failed write is logged in DIR/errors and ends the writer (rc 1).
set -u
dev=$1 dir=$2 seq=$3 count=${4:-0}
mkdir -p "$dir"
bytes=$(blockdev --getsize64 "$dev") || exit 1
nslots=$((bytes / 4096))
n=0
echo $$ >"$dir/pid"
while :; do
	if [ "$count" -gt 0 ]; then
		[ "$n" -ge "$count" ] && break
	elif [ -e "$dir/stop" ]; then
		break
	fi
	if printf 'DRBDMIG-LAB-REC %010d\n' "$seq" |
		dd of="$dev" bs=4096 count=1 seek=$((seq % nslots)) conv=sync,notrunc oflag=direct \
			status=none 2>>"$dir/errors"; then
		echo "$seq" >>"$dir/log"
	else
		echo "write of record $seq failed" >>"$dir/errors"
		exit 1
	fi
	seq=$((seq + 1))
	n=$((n + 1))
done
echo "$n records, last $((seq - 1))" >"$dir/done"
