#!/bin/bash
# drbdmig's main job, on this one machine (Debian 12, as root): install the
# dependencies, build drbdmig's Debian package, boot the kernel lab (two
# Debian hosts under QEMU with real device-mapper, LVM, DRBD 8.4 and
# libvirtd, joined by a private link; tests/lab/README), install the package
# on both and start drbdmigd there as an admin would, then live-migrate an
# annotated guest that writes numbered, checksummed records to its LV with
# plain `virsh migrate --live --p2p`: A -> B, B -> A, A -> B.  After each hop
# the guest runs on the target, nothing of drbdmig is left on either host and
# the source's LV is gone; at the end every record of the last lap, written
# on both sides of the last switchover, is checked on the final LV
# (tests/lab/tests/migrate-e2e.sh).  Everything is powered off at the end.
#
#   tests/run-main.sh                 (E2E_HOPS="A:B B:A" for fewer hops)
set -euo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
build=${DRBDMIG_BUILD:-$top/_build}
phase() { printf '\n\033[1m== %s\033[0m\n' "$*"; }

((EUID == 0)) || { echo "run-main: must run as root" >&2; exit 1; }
phase "1/3 dependencies"
"$top/tests/setup-deps.sh"

phase "2/3 drbdmig's Debian package (built from HEAD, unit tests included)"
deb=$("$top/tests/deb/build-deb.sh" "$build/deb")
echo "package: $deb"

phase "3/3 the kernel lab: virsh migrate --live --p2p A -> B -> A -> B on real DRBD"
rc=0
LAB_DEB=$deb LAB_TESTS=migrate-e2e "$top/tests/lab/lab.sh" check || rc=$?
if [ "$rc" -eq 0 ]; then
	echo
	echo "main job done: the annotated guest went A -> B -> A -> B over temporary DRBD overlays,"
	echo "with nothing left over and every record it wrote on the final LV."
elif [ "$rc" -eq 77 ]; then
	echo "run-main: this machine cannot run the kernel lab (see above)" >&2
fi
exit "$rc"
