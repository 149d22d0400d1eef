#!/bin/bash
# test-hook-migration.sh: the drbdmig hook and daemon under two real libvirtds.
#
# Two libvirt hosts on this machine (twohost.sh), the real hook installed as
# /etc/libvirt/hooks/qemu.d/drbdmig on both, drbdmigd running inside each host, and real
# `virsh migrate --live --p2p` of the record-writing boot-sector guest (tests/guest/):
#   1. an annotated guest migrates A -> B; B's daemon saw `migrate begin` and the parsed
#      policy disk, A's daemon saw `stopped end` and `release end`; the guest runs on B.
#   2. a guest without the annotation migrates A -> B; neither daemon ever hears of it.
#   3. with B's daemon stopped, migrating the annotated guest fails with a `drbdmig:`
#      message and the guest keeps running on A.
# and the session engine end to end, with the storage steps in dry-run (no dm or DRBD
# here; the kernel lab proves those): the daemons authenticate each other with a PSK,
# B finds A through the stamp in the domain XML, both journal every step, the session
# closes as done after the switchover (also back B -> A), and it rolls back, leaving the
# guest on A, when the source daemon is down, or when either daemon is killed -9 in the
# middle of a step and restarted (it recovers from its journal).
#
# Run as root:  DRBDMIG_BUILDDIR=<build dir> tests/twohost/test-hook-migration.sh
#   (or `make check-twohost`).  DRBDMIG_BUILDDIR defaults to the source tree's top.
# Env: TWOHOST_BASE (state dir; default a fresh ${TMPDIR:-/tmp}/drbdmig-twohost-test.XXXXXX),
#      TWOHOST_KEEP=1 (keep BASE with all logs even on success; it is kept on failure).
# Exit: 0 all cases passed, 1 a case failed, 77 this machine cannot run the test,
#       99 the harness itself failed (setup, binaries missing, netns dmA/dmB taken).
# The last line of the output is always "N passed, N failed".
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
top=$(cd "$here/../.." && pwd)
export DRBDMIG_BUILDDIR=${DRBDMIG_BUILDDIR:-$top}

pass=0 fail=0 why="" have_hosts=0
skip() { echo "SKIP: $*"; exit 77; }
hard() { echo "ERROR: $*"; exit 99; }
info() { echo "# $*"; }

# Runs on every exit: tear the hosts down (only what this run created), then print the
# summary as the very last line.
finish() {
	local rc=$?
	trap - EXIT INT TERM
	if ((have_hosts)); then
		if ((fail > 0 || rc != 0)) && [[ ${TWOHOST_KEEP:-0} != 1 ]]; then
			export TWOHOST_KEEP=1
			info "keeping $TWOHOST_BASE for inspection (daemons: hostX/log-drbdmig/, hostX/drbdmigd.out; libvirt: hostX/log-libvirt/)"
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
for f in hooks/drbdmig-hook plugin/drbdmigd plugin/drbdmig; do
	[[ -x $DRBDMIG_BUILDDIR/$f ]] || hard "$DRBDMIG_BUILDDIR/$f missing: build drbdmig first (make) or set DRBDMIG_BUILDDIR"
done

if [[ -z ${TWOHOST_BASE:-} ]]; then
	TWOHOST_BASE=$(mktemp -d "${TMPDIR:-/tmp}/drbdmig-twohost-test.XXXXXX")
fi
export TWOHOST_BASE
# shellcheck source-path=SCRIPTDIR source=twohost.sh
source "$here/twohost.sh"
export TWOHOST_QUIET=1

POLICY='<drbdmig:policy xmlns:drbdmig="urn:drbdmig:1"><drbdmig:disk target="hda"/></drbdmig:policy>'
export TWOHOST_DAEMON_ARGS=--dry-run-storage
DISK_PATH=/var/lib/libvirt/images

# --- helpers (each returns non-zero and sets $why on failure) --------------------------

daemon_log() { twohost_daemon_log "$1"; }
twohost_hdir() { echo "$TWOHOST_BASE/host$1"; }
# The daemon's log file plus its stderr: everything it said.
daemon_files() { echo "$(daemon_log "$1")" "$(twohost_hdir "$1")/drbdmigd.out"; }
# (grep on the files, not `cat | grep -q`: under pipefail an early grep exit fails the pipe)
log_has() {
	local -a files
	read -ra files <<<"$(daemon_files "$1")"
	grep -sqF -- "$2" "${files[@]}"
}
log_count() {  # log_count HOST STRING: lines with STRING in HOST's daemon logs
	local -a files
	read -ra files <<<"$(daemon_files "$1")"
	cat -- "${files[@]}" 2>/dev/null | grep -cF -- "$2" || true
}
log_more() { (($(log_count "$1" "$2") > $3)); }
expect_log_new() {  # expect_log_new HOST STRING COUNT SECONDS: more than COUNT lines
	th_wait "$4" log_more "$1" "$2" "$3" && return 0
	why="host $1 daemon log has no new '$2'"
	return 1
}
log_line() {
	local -a files
	read -ra files <<<"$(daemon_files "$1")"
	grep -shF -m1 -- "$2" "${files[@]}" | head -1 || true
}
expect_log() {  # expect_log HOST STRING [SECONDS]
	th_wait "${3:-0}" log_has "$1" "$2" && return 0
	why="host $1 daemon log lacks '$2'"
	return 1
}
domstate() {  # first non-empty line of `virsh domstate --reason` (or its error)
	local out
	out=$(twohost_virsh "$1" domstate --reason "$2" 2>&1) || true
	sed -n '/./{p;q}' <<<"$out"
}
expect_state() {  # expect_state HOST DOMAIN "running (migrated)"
	local got
	got=$(domstate "$1" "$2")
	[[ $got == "$3" ]] && return 0
	why="host $1: $2 is '$got', expected '$3'"
	return 1
}
rec_lines() {  # number of "REC" lines in the guest's serial log on HOST (0 if none yet)
	local n
	n=$(grep -ac '^REC ' "$(twohost_serial_log "$1" "$2")" 2>/dev/null) || true
	echo "${n:-0}"
}
more_lines() { (($(rec_lines "$1" "$2") > $3)); }
expect_writing() {  # expect_writing HOST DOMAIN LINES SECONDS: more than LINES "REC" lines
	th_wait "$4" more_lines "$1" "$2" "$3" && return 0
	why="host $1: $2 printed no new record within $4 s"
	return 1
}
rec_above() { (($(twohost_last_rec "$1" "$2") > $3)); }
daemons_alive() {
	local h
	for h in A B; do
		th_alive "$(cat "$(twohost_hdir "$h")/drbdmigd.ourpid" 2>/dev/null)" drbdmigd ||
			{ why="drbdmigd on host $h is not running"; return 1; }
	done
}
libvirt_called_hook() {  # HOST DOMAIN OP SUBOP: libvirtd ran our hook for that event
	grep -qF "Calling hook /etc/libvirt/hooks/qemu.d/drbdmig id=$2 op=$3 subop=$4 " \
		"$(twohost_hdir "$1")/log-libvirt/libvirtd.log" && return 0
	why="host $1: libvirtd did not run the hook for $2 $3 $4"
	return 1
}
start_guest() {  # start_guest HOST DOMAIN DISK [METADATA]: defined, running and writing
	local xml="$TWOHOST_BASE/$2.xml" out lines
	lines=$(rec_lines "$1" "$2")
	twohost_xml "$2" "$3" "${4:-}" >"$xml"
	if ! twohost_virsh "$1" dominfo "$2" >/dev/null 2>&1; then
		out=$(twohost_virsh "$1" define "$xml" 2>&1) || { why="define $2 on $1: $out"; return 1; }
	fi
	if [[ $(domstate "$1" "$2") != running* ]]; then
		out=$(twohost_virsh "$1" start "$2" 2>&1) || { why="start $2 on $1: $out"; return 1; }
	fi
	expect_writing "$1" "$2" "$lines" 30
}
MIG_OUT="" MIG_RC=0 MIG_SECS=0
migrate() {  # migrate FROM TO DOMAIN: sets MIG_OUT, MIG_RC, MIG_SECS
	local t0=$EPOCHREALTIME
	MIG_RC=0
	MIG_OUT=$(TWOHOST_VIRSH_TIMEOUT=180 twohost_virsh "$1" migrate --live --p2p "$3" \
		"$(twohost_migrate_uri "$2")" 2>&1) || MIG_RC=$?
	MIG_SECS=$(awk -v a="$t0" -v b="$EPOCHREALTIME" 'BEGIN { printf "%.1f", b - a }')
}

# Each host's configuration: peer channel on its veth address, the other
# host as its one peer, and their pairwise PSK on a line named after the
# other host (this host's own name for it is its peer_listen address).
write_conf() {  # write_conf HOST
	local d="$TWOHOST_BASE/host$1/etc-drbdmig" other=B
	[[ $1 == B ]] && other=A
	mkdir -p "$d"
	(umask 077; printf '%s:%s\n' "${TWOHOST_IP[$other]}" "$(cat "$TWOHOST_BASE/pair.key")" >"$d/peer.psk")
	cat >"$d/drbdmig.conf" <<-EOF
	log_level = debug
	peer_listen = ${TWOHOST_IP[$1]}
	peers = ${TWOHOST_IP[$other]}
	peer_auth = psk
	peer_psk_file = /etc/drbdmig/peer.psk
	peer_timeout = 10
	hook_migrate_timeout = 120
	EOF
}
cli() {  # cli HOST ARGS...: the drbdmig CLI inside that host
	twohost_nsrun_timeout 30 "$1" "$DRBDMIG_BUILDDIR/plugin/drbdmig" -s "$TWOHOST_SOCK" "${@:2}"
}
sessions_closed() {  # no open session on either host, verify clean on both
	local h out
	for h in A B; do
		out=$(cli "$h" -m status 2>&1) || { why="host $h: status failed: $out"; return 1; }
		[[ -z $out ]] || { why="host $h: open session: $out"; return 1; }
		out=$(cli "$h" verify 2>&1) || { why="host $h: verify: $out"; return 1; }
	done
}
expect_closed() {  # wait up to 30 s for sessions_closed
	th_wait 30 sessions_closed && return 0
	sessions_closed
	return 1
}
journals() {  # journals HOST SUFFIX: how many journals with that suffix
	find "$TWOHOST_BASE/host$1/lib-drbdmig" -name "*.$2" 2>/dev/null | wc -l
}
daemon_pid() { cat "$(twohost_hdir "$1")/run-drbdmig/drbdmigd.pid" 2>/dev/null; }
kill9() {  # kill9 HOST: SIGKILL the drbdmigd this script started there
	local pid
	pid=$(daemon_pid "$1")
	th_alive "$pid" drbdmigd || { why="host $1: no drbdmigd to kill"; return 1; }
	kill -9 "$pid"
	th_wait 10 sh -c "! kill -0 $pid 2>/dev/null"
	info "killed drbdmigd on host $1 (pid $pid) with SIGKILL"
}
restart_daemon() {  # restart_daemon HOST [PAUSE]: restart, optionally pausing at a step
	twohost_daemon_stop "$1" >/dev/null 2>&1 || true
	DRBDMIG_TEST_PAUSE=${2:-} twohost_daemon_start "$1" || { why="drbdmigd did not start on $1"; return 1; }
}
MIG_PID=""
migrate_bg() {  # migrate_bg FROM TO DOMAIN: starts the migration, output in BASE/mig.out
	(TWOHOST_VIRSH_TIMEOUT=180 twohost_virsh "$1" migrate --live --p2p "$3" \
		"$(twohost_migrate_uri "$2")" >"$TWOHOST_BASE/mig.out" 2>&1; echo $? >"$TWOHOST_BASE/mig.rc") &
	MIG_PID=$!
}
migrate_wait() {
	wait "$MIG_PID" || true
	MIG_RC=$(cat "$TWOHOST_BASE/mig.rc")
	MIG_OUT=$(cat "$TWOHOST_BASE/mig.out")
	MIG_PID=""
}
on_a_only() {  # the guest runs on A (and writes), not on B
	local state
	state=$(domstate A recvm)
	[[ $state == running* ]] || { why="source: recvm is '$state', expected running"; return 1; }
	state=$(domstate B recvm)
	[[ $state != running* && $state != paused* ]] || { why="destination: recvm is '$state'"; return 1; }
	expect_writing A recvm "$(rec_lines A recvm)" 20
}

# After a failed case: what the background migration (if any) ended with and
# each daemon's last lines, then both daemons restarted without a test pause,
# so that one failure is explained and does not fail the cases after it.
after_failure() {
	local h f
	if [[ -n $MIG_PID ]] && kill -0 "$MIG_PID" 2>/dev/null; then
		th_wait 200 sh -c "! kill -0 $MIG_PID 2>/dev/null" || info "background migration still running"
	fi
	if [[ -n $MIG_PID ]] && ! kill -0 "$MIG_PID" 2>/dev/null; then
		wait "$MIG_PID" 2>/dev/null
		info "background migration: rc=$(cat "$TWOHOST_BASE/mig.rc" 2>/dev/null)" \
			"virsh said: $(tr '\n' ' ' <"$TWOHOST_BASE/mig.out" 2>/dev/null)"
	fi
	MIG_PID=""
	for h in A B; do
		for f in $(daemon_files "$h"); do
			info "host $h: last lines of ${f##*/}:"
			tail -n 25 "$f" 2>/dev/null | sed "s/^/#   [$h] /"
		done
		restart_daemon "$h" >/dev/null 2>&1 || info "host $h: drbdmigd did not restart"
	done
}
run_case() {  # run_case "description" function
	local t0=$SECONDS
	why=""
	MIG_PID=""
	if "$2"; then
		echo "PASS: $1"
		pass=$((pass + 1))
	else
		echo "FAIL: $1 (${why:-no reason recorded})"
		fail=$((fail + 1))
		after_failure
	fi
	info "case took $((SECONDS - t0)) s"
}

# --- the cases -----------------------------------------------------------------------

case_annotated() {
	local before
	start_guest A recvm rec0 "$POLICY" || return 1
	before=$(twohost_last_rec A recvm)
	migrate A B recvm
	info "recvm A->B: rc=$MIG_RC in $MIG_SECS s"
	((MIG_RC == 0)) || { why="virsh migrate failed: $(echo "$MIG_OUT" | tr '\n' ' ')"; return 1; }
	expect_log B "hook-request domain=recvm op=migrate sub=begin" || return 1
	expect_log B "policy-disk domain=recvm target=hda source=$DISK_PATH/rec0" || return 1
	expect_state B recvm "running (migrated)" || return 1
	expect_state A recvm "shut off (migrated)" || return 1
	expect_log A "hook-request domain=recvm op=stopped sub=end" 15 || return 1
	expect_log A "hook-request domain=recvm op=release sub=end" 15 || return 1
	# The same guest (its counter carried over) goes on writing on B.
	th_wait 20 rec_above B recvm "$before" ||
		{ why="host B: recvm printed no record above $before within 20 s (last $(twohost_last_rec B recvm))"; return 1; }
	# The session: B found A through the stamp, both built, synced, finished.
	expect_log B "role=dst source=${TWOHOST_IP[A]}:$TWOHOST_PEER_PORT" || return 1
	expect_log A "role=src peer=" || return 1
	expect_log B "phase=ready" || return 1
	expect_log B "phase=done" 30 || return 1
	expect_log A "phase=done" 30 || return 1
	expect_log B "dry-run step swap-to-drbd" || return 1
	expect_closed || return 1
	(($(journals A closed) == 1 && $(journals B closed) == 1)) ||
		{ why="expected one closed journal per host"; return 1; }
}

# Back B -> A: the roles swap; B's daemon stamped the guest when it arrived.
case_back() {
	local before
	before=$(twohost_last_rec B recvm)
	migrate B A recvm
	info "recvm B->A: rc=$MIG_RC in $MIG_SECS s"
	((MIG_RC == 0)) || { why="virsh migrate failed: $(echo "$MIG_OUT" | tr '\n' ' ')"; return 1; }
	expect_state A recvm "running (migrated)" || return 1
	expect_log A "role=dst source=${TWOHOST_IP[B]}:$TWOHOST_PEER_PORT" || return 1
	th_wait 20 rec_above A recvm "$before" || { why="host A: no new record"; return 1; }
	expect_closed || return 1
	(($(journals A closed) == 2 && $(journals B closed) == 2)) ||
		{ why="expected two closed journals per host"; return 1; }
}

# The source's daemon is down: B cannot build the source side and refuses.
case_source_down() {
	twohost_daemon_stop A || { why="cannot stop drbdmigd on A"; return 1; }
	migrate A B recvm
	info "recvm A->B with A's daemon down: rc=$MIG_RC in $MIG_SECS s; virsh said: $(echo "$MIG_OUT" | tr '\n' ' ')"
	((MIG_RC != 0)) || { why="virsh migrate succeeded"; return 1; }
	[[ $MIG_OUT == *drbdmig:* ]] || { why="virsh's error does not contain 'drbdmig:'"; return 1; }
	on_a_only || return 1
	# Refused while validating: no session was ever opened on B.
	expect_log B "migrate-begin domain=recvm refused: disk hda on the source: " || return 1
	restart_daemon A || return 1
	expect_closed
}

# Killed -9 mid-step, then restarted: the journal says what to undo.
case_kill_dst_syncing() {
	restart_daemon B wait-synced:60 || return 1
	migrate_bg A B recvm
	expect_log B "pausing 60 s before wait-synced" 60 || return 1
	kill9 B || return 1
	migrate_wait
	info "recvm A->B, B's daemon killed while syncing: rc=$MIG_RC; virsh said: $(echo "$MIG_OUT" | tr '\n' ' ')"
	((MIG_RC != 0)) || { why="virsh migrate succeeded"; return 1; }
	on_a_only || return 1
	restart_daemon B || return 1
	expect_log B "recovered in phase syncing" 10 || return 1
	expect_closed || return 1
	expect_log A "phase=rolled-back" || return 1
}

case_kill_src_building() {
	restart_daemon A swap-to-drbd:60 || return 1
	migrate_bg A B recvm
	expect_log A "pausing 60 s before swap-to-drbd" 60 || return 1
	kill9 A || return 1
	migrate_wait
	info "recvm A->B, A's daemon killed while building: rc=$MIG_RC; virsh said: $(echo "$MIG_OUT" | tr '\n' ' ')"
	((MIG_RC != 0)) || { why="virsh migrate succeeded"; return 1; }
	on_a_only || return 1
	restart_daemon A || return 1
	expect_log A "recovered in phase building" 10 || return 1
	expect_closed
}

# Killed after the switchover, in the teardown: the restarted daemon finishes it.
case_kill_dst_finishing() {
	restart_daemon B one-primary:60 || return 1
	migrate A B recvm
	info "recvm A->B: rc=$MIG_RC in $MIG_SECS s"
	((MIG_RC == 0)) || { why="virsh migrate failed: $(echo "$MIG_OUT" | tr '\n' ' ')"; return 1; }
	expect_log B "pausing 60 s before one-primary" 60 || return 1
	kill9 B || return 1
	expect_state B recvm "running (migrated)" || return 1
	restart_daemon B || return 1
	expect_log B "recovered in phase finishing" 10 || return 1
	expect_closed || return 1
	expect_state B recvm "running (migrated)"
}

# The admin aborts during the sync (virsh domjobabort): libvirt cancels once the
# destination's hook returns; both sides roll back, the guest stays where it was
# (on B, where the previous case left it).  Then `drbdmig cancel` on the
# destination during the sync: the build stops at once.
on_b_only() {  # the guest runs on B (and writes), not on A
	local state
	state=$(domstate B recvm)
	[[ $state == running* ]] || { why="source: recvm is '$state', expected running"; return 1; }
	state=$(domstate A recvm)
	[[ $state != running* && $state != paused* ]] || { why="destination: recvm is '$state'"; return 1; }
	expect_writing B recvm "$(rec_lines B recvm)" 20
}
case_abort_syncing() {
	restart_daemon A wait-synced:10 || return 1
	migrate_bg B A recvm
	expect_log A "pausing 10 s before wait-synced" 60 || return 1
	twohost_virsh B domjobabort recvm >/dev/null 2>&1 || { why="domjobabort refused"; return 1; }
	migrate_wait
	info "recvm B->A aborted while syncing: rc=$MIG_RC; virsh said: $(echo "$MIG_OUT" | tr '\n' ' ')"
	((MIG_RC != 0)) || { why="virsh migrate succeeded"; return 1; }
	on_b_only || return 1
	expect_closed || return 1
	expect_log B "phase=rolled-back" || return 1
}
case_cancel_syncing() {
	local n  # the log holds the previous case's same pause: wait for a new one
	restart_daemon A wait-synced:10 || return 1
	n=$(log_count A "pausing 10 s before wait-synced")
	migrate_bg B A recvm
	expect_log_new A "pausing 10 s before wait-synced" "$n" 60 || return 1
	cli A cancel recvm >/dev/null || { why="drbdmig cancel failed"; return 1; }
	migrate_wait
	info "recvm B->A cancelled while syncing: rc=$MIG_RC; virsh said: $(echo "$MIG_OUT" | tr '\n' ' ')"
	((MIG_RC != 0)) || { why="virsh migrate succeeded"; return 1; }
	[[ $MIG_OUT == *"cancelled by the admin"* ]] || { why="virsh does not say it was cancelled"; return 1; }
	on_b_only || return 1
	expect_closed || return 1
	restart_daemon A || return 1
}

case_plain() {
	start_guest A plainvm rec1 || return 1
	migrate A B plainvm
	info "plainvm A->B: rc=$MIG_RC in $MIG_SECS s"
	((MIG_RC == 0)) || { why="virsh migrate failed: $(echo "$MIG_OUT" | tr '\n' ' ')"; return 1; }
	expect_state B plainvm "running (migrated)" || return 1
	expect_state A plainvm "shut off (migrated)" || return 1
	# The hook did run for it (so the silence below means something) ...
	libvirt_called_hook B plainvm migrate begin || return 1
	libvirt_called_hook A plainvm release end || return 1
	daemons_alive || return 1
	# ... and never bothered either daemon.
	local h
	for h in A B; do
		if log_has "$h" "domain=plainvm"; then
			why="host $h daemon log mentions domain=plainvm: $(log_line "$h" domain=plainvm)"
			return 1
		fi
	done
}

case_daemon_down() {
	local before state
	# Start from recvm running on A only.
	if [[ $(domstate B recvm) == running* ]]; then
		twohost_virsh B destroy recvm >/dev/null 2>&1 || { why="cannot destroy recvm on B"; return 1; }
	fi
	start_guest A recvm rec0 "$POLICY" || return 1
	twohost_daemon_stop B || { why="cannot stop drbdmigd on B"; return 1; }
	before=$(rec_lines A recvm)
	migrate A B recvm
	info "recvm A->B with B's daemon down: rc=$MIG_RC in $MIG_SECS s"
	info "virsh said: $(echo "$MIG_OUT" | tr '\n' ' ')"
	((MIG_RC != 0)) || { why="virsh migrate succeeded"; return 1; }
	[[ $MIG_OUT == *drbdmig:* ]] || { why="virsh's error does not contain 'drbdmig:'"; return 1; }
	state=$(domstate A recvm)
	[[ $state == running* ]] || { why="source: recvm is '$state', expected running"; return 1; }
	state=$(domstate B recvm)
	[[ $state != running* && $state != paused* ]] ||
		{ why="destination: recvm is '$state'"; return 1; }
	expect_writing A recvm "$before" 20
}

# --- main ----------------------------------------------------------------------------

t_start=$SECONDS
have_hosts=1
info "BASE=$TWOHOST_BASE DRBDMIG_BUILDDIR=$DRBDMIG_BUILDDIR"
twohost_setup "$TWOHOST_BASE" || hard "twohost setup failed"
twohost_install_hook "$DRBDMIG_BUILDDIR/hooks/drbdmig-hook" || hard "cannot install the hook"
twohost_start || hard "libvirtd did not start"
(umask 077; head -c 32 /dev/urandom | od -An -tx1 | tr -d ' \n' >"$TWOHOST_BASE/pair.key")
for h in A B; do
	write_conf "$h"
	grep -qF "Found hook script /etc/libvirt/hooks/qemu.d/drbdmig" \
		"$TWOHOST_BASE/host$h/log-libvirt/libvirtd.log" ||
		hard "host $h: libvirtd did not find the hook in /etc/libvirt/hooks/qemu.d"
	twohost_daemon_start "$h" || hard "drbdmigd did not start on host $h"
done
info "hosts and daemons up after $((SECONDS - t_start)) s"

run_case "annotated guest migrates A->B: PSK peers, stamp, session built, finished, closed" case_annotated
run_case "guest without annotation migrates A->B, daemons never contacted" case_plain
run_case "annotated guest migrates back B->A, roles reversed" case_back
run_case "destination daemon down: migration refused with a drbdmig: message, guest stays on A" case_daemon_down
restart_daemon B >/dev/null || hard "drbdmigd did not restart on B"
run_case "source daemon down: refused before any session, guest stays on A" case_source_down
run_case "destination daemon killed -9 while syncing: refused; restarted, it rolls back both hosts" case_kill_dst_syncing
run_case "source daemon killed -9 while building: refused; restarted, it rolls back" case_kill_src_building
run_case "destination daemon killed -9 in the teardown: restarted, it finishes; guest on B" case_kill_dst_finishing
run_case "virsh domjobabort while syncing: refused, both roll back, guest stays on B" case_abort_syncing
run_case "drbdmig cancel on the destination while syncing: stops at once, guest stays on B" case_cancel_syncing

info "total $((SECONDS - t_start)) s"
((fail == 0))
