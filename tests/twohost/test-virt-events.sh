#!/bin/bash
# test-virt-events.sh: drbdmigd's libvirt module (plugin/libvirt/) against two real libvirtds.
#
# Two libvirt hosts on this machine (twohost.sh); tests/twohost/virtwatch (a small program
# on the module) watches each host's events and runs the module's queries.  A hook
# qemu.d/virtwatch-capture on both hosts keeps the XML libvirt gives `migrate begin` on
# stdin (and prints nothing, so the XML stays as it is).  No drbdmig hook or daemon here.
#   1. B's watcher starts while B's libvirtd is down: it comes up anyway, connects once
#      libvirtd is there and says "reconnected"; the failure is logged once, not per try.
#   2. an annotated guest starts on A: A's watcher prints started/booted; `state` and
#      `annotated` see it (and not a guest without the annotation).
#   3. `stamp` writes the source stamp: the LIVE XML has it (virsh metadata), the policy
#      element is unchanged, `dumpxml --inactive` has no stamp.
#   4. A's libvirtd stops for 5 s and starts again under the watcher: it retries every 2 s,
#      logs one "lost" line and one "connected" line (not one per attempt), prints a
#      reconnected event, and later events (suspend/resume) still arrive.
#   5. `virsh migrate --live --p2p` A->B: A's watcher prints stopped/migrated, B's prints
#      started/migrated then resumed/migrated.
#   6. the XML B's hook got for `migrate begin` carries the stamp, and
#      dmg_virt_parse_stamp (virtwatch parse-stamp) reads hostA's endpoint from it.
#
# Run as root:  DRBDMIG_BUILDDIR=<build dir> tests/twohost/test-virt-events.sh
#   (or `make check-twohost`).  Env, exit codes and the last output line as in
#   test-hook-migration.sh: 0 passed, 1 a case failed, 77 cannot run here, 99 harness error;
#   "N passed, N failed".
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
top=$(cd "$here/../.." && pwd)
export DRBDMIG_BUILDDIR=${DRBDMIG_BUILDDIR:-$top}
VW=$DRBDMIG_BUILDDIR/tests/twohost/virtwatch

pass=0 fail=0 why="" have_hosts=0
declare -A WATCH_PID=()
skip() { echo "SKIP: $*"; exit 77; }
hard() { echo "ERROR: $*"; exit 99; }
info() { echo "# $*"; }

stop_watchers() {
	local h
	for h in "${!WATCH_PID[@]}"; do
		th_kill "${WATCH_PID[$h]}" virtwatch 5 || true
	done
	WATCH_PID=()
}

finish() {
	local rc=$?
	trap - EXIT INT TERM
	if ((have_hosts)); then
		stop_watchers
		if ((fail > 0 || rc != 0)) && [[ ${TWOHOST_KEEP:-0} != 1 ]]; then
			export TWOHOST_KEEP=1
			info "keeping $TWOHOST_BASE for inspection (watchers: watchX.out/.err; libvirt: hostX/log-libvirt/)"
		fi
		twohost_cleanup 2>&1 || info "cleanup reported problems"
	fi
	echo "$pass passed, $fail failed"
	exit "$rc"
}
trap finish EXIT
trap 'echo "interrupted"; exit 130' INT TERM

((EUID == 0)) || skip "must run as root"
for c in libvirtd virsh qemu-system-x86_64 nasm ip unshare losetup mknod timeout; do
	command -v "$c" >/dev/null || skip "$c not installed"
done
[[ -e /dev/loop-control ]] || skip "no loop device support (/dev/loop-control)"
unshare --net --mount --uts true 2>/dev/null || skip "cannot create network/mount/UTS namespaces"
[[ -x $VW ]] || hard "$VW missing: make tests/twohost/virtwatch (or make check) first"

if [[ -z ${TWOHOST_BASE:-} ]]; then
	TWOHOST_BASE=$(mktemp -d "${TMPDIR:-/tmp}/drbdmig-twohost-virt.XXXXXX")
fi
export TWOHOST_BASE
# shellcheck source-path=SCRIPTDIR source=twohost.sh
source "$here/twohost.sh"
export TWOHOST_QUIET=1

POLICY='<drbdmig:policy xmlns:drbdmig="urn:drbdmig:1"><drbdmig:disk target="hda"/></drbdmig:policy>'
STAMP_NS=urn:drbdmig:host:1

# --- helpers (each returns non-zero and sets $why on failure) --------------------------

twohost_hdir() { echo "$TWOHOST_BASE/host$1"; }
wout() { echo "$TWOHOST_BASE/watch$1.out"; }
werr() { echo "$TWOHOST_BASE/watch$1.err"; }
# virtwatch VERB on HOST: its stdout; its log and errors go to BASE/vw.err
vw() { timeout -k 5 30 "$VW" -c "$(twohost_uri "$1")" "${@:2}" 2>>"$TWOHOST_BASE/vw.err"; }

start_watcher() {  # start_watcher HOST: virtwatch watch in the background (debug log)
	"$VW" -c "$(twohost_uri "$1")" -v watch >"$(wout "$1")" 2>"$(werr "$1")" &
	WATCH_PID[$1]=$!
	th_wait 10 grep -qs '^watching connected=' "$(wout "$1")" ||
		hard "watcher on $1 did not start: $(cat "$(werr "$1")")"
}
has_line() { grep -qxF -- "$2" "$1"; }
expect_line() {  # expect_line HOST LINE [SECONDS]: the watcher on HOST printed LINE
	th_wait "${3:-15}" has_line "$(wout "$1")" "$2" && return 0
	why="watcher on $1 did not print '$2'"
	return 1
}
line_no() { grep -nxF -- "$2" "$1" | head -1 | cut -d: -f1; }
count() { grep -cF -- "$2" "$1" || true; }
expect_count() {  # expect_count FILE STRING N
	local n
	n=$(count "$1" "$2")
	((n == $3)) && return 0
	why="$(basename "$1") has $n lines with '$2', expected $3"
	return 1
}
domstate() {
	local out
	out=$(twohost_virsh "$1" domstate --reason "$2" 2>&1) || true
	sed -n '/./{p;q}' <<<"$out"
}
rec_lines() {
	local n
	n=$(grep -ac '^REC ' "$(twohost_serial_log "$1" "$2")" 2>/dev/null) || true
	echo "${n:-0}"
}
more_lines() { (($(rec_lines "$1" "$2") > $3)); }
start_guest() {  # start_guest HOST DOMAIN DISK [METADATA]: defined, running and writing
	local xml="$TWOHOST_BASE/$2.xml" out lines
	lines=$(rec_lines "$1" "$2")
	twohost_xml "$2" "$3" "${4:-}" >"$xml"
	out=$(twohost_virsh "$1" define "$xml" 2>&1) || { why="define $2 on $1: $out"; return 1; }
	out=$(twohost_virsh "$1" start "$2" 2>&1) || { why="start $2 on $1: $out"; return 1; }
	th_wait 30 more_lines "$1" "$2" "$lines" && return 0
	why="host $1: $2 printed no record within 30 s"
	return 1
}
uuid_of() { twohost_virsh "$1" domuuid "$2" 2>/dev/null | sed -n '/./{p;q}'; }

run_case() {
	local t0=$SECONDS
	why=""
	if "$2"; then
		echo "PASS: $1"
		pass=$((pass + 1))
	else
		echo "FAIL: $1 (${why:-no reason recorded})"
		fail=$((fail + 1))
	fi
	info "case took $((SECONDS - t0)) s"
}

# --- the cases -----------------------------------------------------------------------

case_late_connect() {
	has_line "$(wout B)" "watching connected=0" ||
		{ why="watcher on B was connected before libvirtd started"; return 1; }
	expect_line B "event - - reconnected" || return 1
	expect_count "$(werr B)" "cannot connect" 1 || return 1
	expect_count "$(werr B)" "libvirt: connected to" 1
}

RECVM_UUID=""
case_started() {
	local out
	start_guest A plainvm rec1 || return 1
	start_guest A recvm rec0 "$POLICY" || return 1
	RECVM_UUID=$(uuid_of A recvm)
	[[ -n $RECVM_UUID ]] || { why="no uuid for recvm"; return 1; }
	expect_line A "event recvm $RECVM_UUID started/booted" || return 1
	out=$(vw A state recvm) || { why="state failed: $(tail -1 "$TWOHOST_BASE/vw.err")"; return 1; }
	[[ $out == "state recvm $RECVM_UUID running "* ]] || { why="state said '$out'"; return 1; }
	out=$(vw A state nosuchvm) || { why="state nosuchvm failed: $(tail -1 "$TWOHOST_BASE/vw.err")"; return 1; }
	[[ $out == "state nosuchvm - absent 0" ]] || { why="state nosuchvm said '$out'"; return 1; }
	out=$(vw A annotated) || { why="annotated failed: $(tail -1 "$TWOHOST_BASE/vw.err")"; return 1; }
	[[ $out == "annotated $RECVM_UUID recvm"$'\n'"annotated-count 1" ]] ||
		{ why="annotated said '$(tr '\n' '|' <<<"$out")'"; return 1; }
}

case_stamp() {
	local before after out live inactive
	before=$(twohost_virsh A metadata recvm urn:drbdmig:1 2>&1) ||
		{ why="metadata urn:drbdmig:1: $before"; return 1; }
	out=$(vw A stamp recvm "${TWOHOST_HOSTNAME[A]}" "$(twohost_ip A)" "$TWOHOST_PEER_PORT") ||
		{ why="stamp failed: $(tail -1 "$TWOHOST_BASE/vw.err")"; return 1; }
	live=$(twohost_virsh A metadata --live recvm "$STAMP_NS" 2>&1) ||
		{ why="no live $STAMP_NS metadata: $live"; return 1; }
	info "live stamp: $live"
	[[ $live == *"host=\"${TWOHOST_HOSTNAME[A]}\""*"addr=\"$(twohost_ip A)\""*"port=\"$TWOHOST_PEER_PORT\""* ]] ||
		{ why="live stamp is '$live'"; return 1; }
	after=$(twohost_virsh A metadata recvm urn:drbdmig:1 2>&1)
	[[ $after == "$before" ]] || { why="policy changed: '$before' -> '$after'"; return 1; }
	inactive=$(twohost_virsh A dumpxml --inactive recvm 2>&1)
	[[ $inactive == *urn:drbdmig:1* ]] || { why="inactive XML lost the policy"; return 1; }
	[[ $inactive != *"$STAMP_NS"* ]] || { why="the stamp reached the persistent XML"; return 1; }
	twohost_virsh A dumpxml recvm >"$TWOHOST_BASE/recvm-live.xml"
	out=$("$VW" parse-stamp "$TWOHOST_BASE/recvm-live.xml" 2>&1) || { why="parse live XML: $out"; return 1; }
	[[ $out == "stamp host=${TWOHOST_HOSTNAME[A]} addr=$(twohost_ip A) port=$TWOHOST_PEER_PORT" ]] || { why="parse-stamp said '$out'"; return 1; }
	printf '%s\n' "$inactive" >"$TWOHOST_BASE/recvm-inactive.xml"
	if out=$("$VW" parse-stamp "$TWOHOST_BASE/recvm-inactive.xml" 2>&1); then
		why="parse-stamp found a stamp in the inactive XML: $out"
		return 1
	fi
	[[ $out == *"no <drbdmig-host"* ]] || { why="parse-stamp of inactive XML said '$out'"; return 1; }
}

case_restart() {
	local plain_uuid tries0 tries
	plain_uuid=$(uuid_of A plainvm)
	tries0=$(count "$(werr A)" "libvirt: connecting to")
	# Down for 5 s: the watcher tries (at least twice) in vain meanwhile.
	twohost_restart A 5 || { why="libvirtd on A did not come back"; return 1; }
	expect_line A "event - - reconnected" 20 || return 1
	tries=$(($(count "$(werr A)" "libvirt: connecting to") - tries0))
	info "watcher on A: $tries connection attempts across the restart"
	((tries >= 3)) || { why="only $tries connection attempts while libvirtd was down"; return 1; }
	# Logged once per state change, not per attempt.
	expect_count "$(werr A)" "lost" 1 || return 1
	expect_count "$(werr A)" "cannot connect" 0 || return 1
	expect_count "$(werr A)" "libvirt: connected to" 2 || return 1
	[[ $(domstate A recvm) == running* ]] || { why="recvm is '$(domstate A recvm)' after the restart"; return 1; }
	twohost_virsh A suspend plainvm >/dev/null || { why="suspend plainvm failed"; return 1; }
	expect_line A "event plainvm $plain_uuid suspended/paused" || return 1
	twohost_virsh A resume plainvm >/dev/null || { why="resume plainvm failed"; return 1; }
	expect_line A "event plainvm $plain_uuid resumed/unpaused"
}

case_migrate() {
	local out rc=0 started resumed
	out=$(TWOHOST_VIRSH_TIMEOUT=120 twohost_virsh A migrate --live --p2p recvm \
		"$(twohost_migrate_uri B)" 2>&1) || rc=$?
	((rc == 0)) || { why="virsh migrate failed: $(tr '\n' ' ' <<<"$out")"; return 1; }
	expect_line A "event recvm $RECVM_UUID stopped/migrated" || return 1
	expect_line B "event recvm $RECVM_UUID started/migrated" || return 1
	expect_line B "event recvm $RECVM_UUID resumed/migrated" || return 1
	started=$(line_no "$(wout B)" "event recvm $RECVM_UUID started/migrated")
	resumed=$(line_no "$(wout B)" "event recvm $RECVM_UUID resumed/migrated")
	((started < resumed)) || { why="B printed resumed before started"; return 1; }
	[[ $(domstate B recvm) == "running (migrated)" ]] ||
		{ why="recvm on B is '$(domstate B recvm)'"; return 1; }
}

case_hook_stdin() {
	local f out
	f=$(twohost_hdir B)/lib-drbdmig/hook-recvm-migrate-begin.xml
	[[ -s $f ]] || { why="B's hook kept no migrate-begin XML ($f)"; return 1; }
	grep -qF "$STAMP_NS" "$f" || { why="the migrate-begin XML has no $STAMP_NS element"; return 1; }
	grep -qF "urn:drbdmig:1" "$f" || { why="the migrate-begin XML has no policy"; return 1; }
	out=$("$VW" parse-stamp "$f" 2>&1) || { why="parse-stamp: $out"; return 1; }
	info "destination hook stdin: $out"
	[[ $out == "stamp host=${TWOHOST_HOSTNAME[A]} addr=$(twohost_ip A) port=$TWOHOST_PEER_PORT" ]] ||
		{ why="parse-stamp said '$out'"; return 1; }
}
# --- main ----------------------------------------------------------------------------

t_start=$SECONDS
have_hosts=1
info "BASE=$TWOHOST_BASE DRBDMIG_BUILDDIR=$DRBDMIG_BUILDDIR"
twohost_setup "$TWOHOST_BASE" || hard "twohost setup failed"
cat >"$TWOHOST_BASE/capture-hook" <<'EOF'
#!/bin/sh
# Keeps the XML of `migrate begin` for test-virt-events.sh; prints nothing, so libvirt
# keeps the XML as it is.
if [ "$2" = migrate ] && [ "$3" = begin ]; then
	cat >"/var/lib/drbdmig/hook-$1-migrate-begin.xml"
else
	cat >/dev/null
fi
exit 0
EOF
chmod 0755 "$TWOHOST_BASE/capture-hook"
twohost_install_hook "$TWOHOST_BASE/capture-hook" virtwatch-capture || hard "cannot install the hook"
start_watcher B
twohost_start || hard "libvirtd did not start"
start_watcher A
has_line "$(wout A)" "watching connected=1" || hard "watcher on A is not connected: $(cat "$(werr A)")"
info "hosts and watchers up after $((SECONDS - t_start)) s"

run_case "watcher started with libvirtd down connects later, failure logged once" case_late_connect
run_case "annotated guest starts on A: started/booted, state, annotated" case_started
run_case "stamp lands in the live metadata only, policy untouched" case_stamp
run_case "libvirtd restart: reconnected, later events still arrive" case_restart
run_case "live p2p migration A->B: stopped/migrated on A, started+resumed/migrated on B" case_migrate
run_case "destination's migrate-begin hook stdin carries the stamp; parse-stamp reads it" case_hook_stdin

info "total $((SECONDS - t_start)) s"
((fail == 0))
