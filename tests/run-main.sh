#!/bin/bash
# drbdmig's main job, on this one machine (Debian 12, as root): install the
# dependencies, build, start two libvirt hosts (network + mount namespaces
# joined by a veth pair, tests/twohost/), install the drbdmig hook and start
# drbdmigd on both, annotate a running guest with `virsh metadata` the way an
# admin would, live-migrate it A -> B and back with `virsh migrate --live
# --p2p`, and show what each daemon was told.  Everything is torn down at the
# end (TWOHOST_KEEP=1 keeps the state directory).
set -euo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
build=${DRBDMIG_BUILD:-$top/_build}/main
phase() { printf '\n\033[1m== %s\033[0m\n' "$*"; }

((EUID == 0)) || { echo "run-main: must run as root" >&2; exit 1; }
phase "1/6 dependencies"
"$top/tests/setup-deps.sh"

phase "2/6 build"
(cd "$top" && ./autogen.sh >/dev/null)
mkdir -p "$build"
cd "$build"
[ -f Makefile ] || "$top/configure" --prefix=/usr --sysconfdir=/etc --localstatedir=/var \
	--runstatedir=/run >/dev/null
make -j"$(nproc)" >/dev/null
echo "built in $build"

phase "3/6 two libvirt hosts"
export DRBDMIG_BUILDDIR=$build
TWOHOST_BASE=$(mktemp -d "${TMPDIR:-/tmp}/drbdmig-main.XXXXXX")
export TWOHOST_BASE TWOHOST_QUIET=1
# shellcheck source=twohost/twohost.sh
source "$top/tests/twohost/twohost.sh"
trap 'phase "cleanup"; twohost_cleanup' EXIT
twohost_setup "$TWOHOST_BASE"
twohost_install_hook "$build/hooks/drbdmig-hook"
twohost_start
twohost_daemon_start A
twohost_daemon_start B
for h in A B; do
	printf 'host %s: ' "$h"; twohost_nsrun "$h" "$build/plugin/drbdmig" ping
done

phase "4/6 guest on host A, annotated with virsh metadata"
twohost_xml web1 rec0 > "$TWOHOST_BASE/web1.xml"
twohost_virsh A define "$TWOHOST_BASE/web1.xml"
twohost_virsh A start web1
twohost_virsh A metadata web1 urn:drbdmig:1 --key drbdmig --config --live --set \
	'<policy><disk target="hda"/></policy>'
echo "annotation now in the live XML:"
twohost_virsh A dumpxml web1 | sed -n '/<metadata>/,/<\/metadata>/p'
sleep 3
echo "guest progress on A: record $(twohost_last_rec A web1)"

phase "5/6 virsh migrate --live --p2p web1 A -> B, then B -> A"
state_of() {   # state_of HOST: web1's state there, or "gone (transient)"
	local s
	s=$(twohost_virsh "$1" domstate --reason web1 2>/dev/null | sed -n '/./{p;q}') || true
	echo "${s:-gone (transient)}"
}
for hop in "A B" "B A"; do
	set -- $hop
	t0=$EPOCHREALTIME
	twohost_virsh "$1" migrate --live --p2p --verbose web1 "$(twohost_migrate_uri "$2")"
	echo "migrated $1 -> $2 in $(awk -v a="$t0" -v b="$EPOCHREALTIME" 'BEGIN{printf "%.1f", b-a}') s;" \
	     "on $2: $(state_of "$2"); on $1: $(state_of "$1")"
	sleep 3
	echo "guest progress on $2: record $(twohost_last_rec "$2" web1)"
done

phase "6/6 what the daemons were told"
for h in A B; do
	echo "--- drbdmigd on host $h"
	grep -h -E 'hook-request|policy-disk|policy-error' "$(twohost_daemon_log "$h")" || echo "(nothing)"
done
grep -q "hook-request domain=web1 op=migrate sub=begin" "$(twohost_daemon_log B)"
grep -q "hook-request domain=web1 op=migrate sub=begin" "$(twohost_daemon_log A)"
echo
echo "main job done: both migrations went through the drbdmig hook and daemon."
echo "(The DRBD overlay itself is not built yet; see README, Status.)"
