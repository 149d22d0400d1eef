#!/bin/bash
# Runs inside a kernel-lab host: drives drbdsetup-84 through the operations
# drbdmig uses and records every netlink message it sends and receives
# (strace -xx), one file per command, into OUT (default /lab/shared/capture).
# Used once to make tests/data/drbd/*.trace; see tests/data/drbd/README.
set -euo pipefail
OUT=${1:-/lab/shared/capture}
D=/usr/lib/drbd/drbdsetup-84
mkdir -p "$OUT"
# No resource file here: keep DRBD's helper quiet for the capture only.
modprobe drbd 2>/dev/null || true
umh=$(cat /sys/module/drbd/parameters/usermode_helper)
echo /bin/true > /sys/module/drbd/parameters/usermode_helper
trap 'echo "$umh" > /sys/module/drbd/parameters/usermode_helper' EXIT
lvcreate -qy -L 8M -n cap vg0 >/dev/null
lvcreate -qy -L 4M -n cap.meta vg0 >/dev/null
drbdmeta --force 9 v08 /dev/vg0/cap.meta flex-external create-md >/dev/null 2>&1
run() {   # run NAME ARGS...
	local name=$1
	shift
	strace -f -e trace=write,sendto,sendmsg,recvmsg -xx -s 65536 -o "$OUT/$name.trace" "$D" "$@" || true
}
# the broadcast events of everything below, as `drbdsetup-84 events` receives them
strace -f -e trace=write,recvmsg -xx -s 65536 -o "$OUT/events.trace" "$D" events all >/dev/null 2>&1 &
ev=$!
sleep 1
run new-resource new-resource drbdmig-cap
run new-minor new-minor drbdmig-cap 9 0
run attach attach 9 /dev/vg0/cap /dev/vg0/cap.meta flexible --resync-rate=100M --c-plan-ahead=20 --c-max-rate=100M --c-fill-target=20480
run primary-force primary 9 --force
run connect connect drbdmig-cap ipv4:10.99.0.1:7795 ipv4:10.99.0.2:7795 --protocol=C --cram-hmac-alg=sha256 --shared-secret=s3cret --max-buffers=8192 --after-sb-0pri=disconnect --after-sb-1pri=disconnect --after-sb-2pri=disconnect --allow-two-primaries=no
run net-options-two net-options ipv4:10.99.0.1:7795 ipv4:10.99.0.2:7795 --allow-two-primaries=yes
run status-sh sh-status 9
run disconnect disconnect ipv4:10.99.0.1:7795 ipv4:10.99.0.2:7795
run secondary secondary 9
run primary primary 9
run secondary2 secondary 9
sleep 1
# strace detaches from its tracee on SIGTERM: end the listener itself
pkill -f "$D events all" 2>/dev/null || true
wait "$ev" 2>/dev/null || true
run detach detach 9
run del-minor del-minor 9
run down down drbdmig-cap
run del-resource del-resource drbdmig-cap
lvremove -qy vg0/cap vg0/cap.meta >/dev/null
ls "$OUT"
