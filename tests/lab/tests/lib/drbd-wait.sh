#!/bin/bash
# Guest side: wait for a DRBD 8.4 minor to reach a state, reading /proc/drbd (the real
# state; `drbdsetup wait-sync` was seen returning before the resync had even started).
#   drbd-wait.sh MINOR connected|uptodate TIMEOUT_S
# connected: cs is Connected or a resync state; uptodate: cs:Connected and
# ds:UpToDate/UpToDate. Prints the sync progress every 5 s; rc 1 on timeout.
set -u
minor=$1 want=$2 timeout=$3
t0=$SECONDS
last=-5
while :; do
	line=$(grep -A2 "^ *$minor: cs:" /proc/drbd 2>/dev/null | tr -s ' \n' ' ')
	case $want in
	connected) [[ $line =~ cs:(Connected|SyncSource|SyncTarget|WFBitMap|WFSyncUUID|PausedSync) ]] && break ;;
	uptodate) [[ $line =~ cs:Connected\ .*ds:UpToDate/UpToDate ]] && break ;;
	*) echo "drbd-wait.sh: unknown state $want" >&2; exit 2 ;;
	esac
	if [ $((SECONDS - t0)) -ge "$timeout" ]; then
		echo "drbd-wait.sh: minor $minor not $want after $timeout s: $line" >&2
		exit 1
	fi
	if [ $((SECONDS - last)) -ge 5 ]; then
		echo "minor $minor: $line"
		last=$SECONDS
	fi
	sleep 0.2
done
echo "minor $minor $want after $((SECONDS - t0)) s: $line"
