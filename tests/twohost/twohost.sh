#!/bin/bash
# twohost.sh: two libvirt hosts on one machine, for drbdmig's integration tests.
#
# Each "host" is a network namespace (dmA / dmB, joined by a veth pair on 10.77.0.0/24)
# plus a private mount and UTS namespace per command, in which directories under
# BASE/hostX/ are bind-mounted over the host's state:
#   /etc/libvirt /run/libvirt /var/lib/libvirt /var/log/libvirt /var/cache/libvirt
#   /etc/drbdmig /run/drbdmig /var/lib/drbdmig /var/log/drbdmig  /etc/hosts /etc/resolv.conf
# (plus drbdmig's compiled-in configuration directory if that is not /etc/drbdmig).
# A monolithic libvirtd runs in each, listening on TCP (auth none) on its veth address only.
# Each host has block devices /var/lib/libvirt/images/<disk> (TWOHOST_DISKS, default
# "rec0 rec1"): a device node onto that host's own loop device (--direct-io=on) whose
# backing file starts as the record guest's disk image (tests/guest/).
#
#   host A: netns dmA, 10.77.0.1, hostname hostA     host B: netns dmB, 10.77.0.2, hostB
#
# CLI:
#   twohost.sh setup [BASE]        create everything (BASE default: $TWOHOST_BASE or
#                                  ${TMPDIR:-/tmp}/drbdmig-twohost)
#   twohost.sh install-hook FILE [NAME]   copy FILE to both hosts as
#                                  /etc/libvirt/hooks/qemu.d/NAME (default drbdmig; before
#                                  `start`: libvirtd looks for hooks when it starts)
#   twohost.sh start | stop        start / stop both libvirtds (stop: destroys guests, stops
#                                  drbdmigd too)
#   twohost.sh restart A|B [SECS]  restart one libvirtd (down for SECS, default 0); its
#                                  guests keep running
#   twohost.sh daemon-start A|B | daemon-stop A|B     drbdmigd from $DRBDMIG_BUILDDIR
#                                  (extra options in $TWOHOST_DAEMON_ARGS; its pid in
#                                  BASE/hostX/run-drbdmig/drbdmigd.pid)
#   twohost.sh cleanup             stop everything, remove netns, loop devices, mount points
#                                  it created and BASE (kept if TWOHOST_KEEP=1)
#   twohost.sh status
#   twohost.sh virsh A|B ARGS...   virsh connected to that host's libvirtd
#   twohost.sh nsrun A|B CMD...    run CMD inside that host (e.g. `nsrun A bash`)
#   twohost.sh uri A|B             the libvirt URI to reach that host from outside
#   twohost.sh xml NAME DISK [METADATA]   a record-guest domain XML
# Commands other than setup find BASE through $TWOHOST_BASE (or the default).
#
# As a library: `source twohost.sh`, set TWOHOST_BASE (or pass BASE to twohost_setup),
# then call the twohost_* functions.  Sourcing changes no shell options; the functions
# return non-zero with a message on stderr on failure.
#
# Only the processes this file starts are ever signalled (by recorded PID, after checking
# the command name).  Every wait is bounded.

TWOHOST_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
TWOHOST_TOP=$(cd "$TWOHOST_DIR/../.." && pwd)
TWOHOST_BASE=${TWOHOST_BASE:-${TMPDIR:-/tmp}/drbdmig-twohost}
TWOHOST_DISKS=${TWOHOST_DISKS:-rec0 rec1}
TWOHOST_CAPS_CACHE=${TWOHOST_CAPS_CACHE-${TMPDIR:-/tmp}/drbdmig-twohost-capscache}
DRBDMIG_BUILDDIR=${DRBDMIG_BUILDDIR:-$TWOHOST_TOP}

# Addresses, namespace and host names, UUIDs: TWOHOST_IP, TWOHOST_NETNS, ...
# shellcheck source=consts.sh
source "$TWOHOST_DIR/consts.sh"
TWOHOST_SOCK=/run/drbdmig/drbdmigd.sock
TWOHOST_DAEMON_LOG=/var/log/drbdmig/drbdmigd.log

# Private directory (under BASE/hostX) -> path inside the host.
TWOHOST_BINDS=(
	etc-libvirt:/etc/libvirt
	run-libvirt:/run/libvirt
	lib-libvirt:/var/lib/libvirt
	log-libvirt:/var/log/libvirt
	cache-libvirt:/var/cache/libvirt
	etc-drbdmig:/etc/drbdmig
	run-drbdmig:/run/drbdmig
	lib-drbdmig:/var/lib/drbdmig
	log-drbdmig:/var/log/drbdmig
)

th_err() { echo "twohost: $*" >&2; }
th_log() { [[ ${TWOHOST_QUIET:-0} == 1 ]] || echo "twohost: $*" >&2; }

th_host() {  # validates a host letter
	[[ ${1:-} == A || ${1:-} == B ]] || { th_err "host must be A or B, not '${1:-}'"; return 1; }
}
th_hdir() { echo "$TWOHOST_BASE/host$1"; }

# th_running PID: PID exists and is not a zombie (a multi-threaded process whose main
# thread has already exited shows Z while its other threads still run: that counts).
th_running() {
	local pid=$1 stat
	local -a tasks
	[[ $pid =~ ^[0-9]+$ ]] || return 1
	stat=$(cat "/proc/$pid/stat" 2>/dev/null) || return 1
	stat=${stat##*) }
	[[ ${stat%% *} != Z ]] && return 0
	tasks=("/proc/$pid/task"/*)
	((${#tasks[@]} > 1))
}

# th_alive PID COMM: th_running, and the command name is COMM.
th_alive() {
	th_running "$1" && [[ $(cat "/proc/$1/comm" 2>/dev/null) == "$2" ]]
}

# th_kill PID COMM SECONDS: SIGTERM, wait up to SECONDS, then SIGKILL (only if still COMM).
th_kill() {
	local pid=$1 comm=$2 secs=$3 i
	th_alive "$pid" "$comm" || return 0
	kill -TERM "$pid" 2>/dev/null || true
	for ((i = 0; i < secs * 10; i++)); do
		th_alive "$pid" "$comm" || return 0
		sleep 0.1
	done
	th_err "$comm (pid $pid) ignored SIGTERM for ${secs}s: SIGKILL"
	kill -KILL "$pid" 2>/dev/null || true
	for ((i = 0; i < 50; i++)); do
		th_alive "$pid" "$comm" || return 0
		sleep 0.1
	done
	th_err "$comm (pid $pid) survived SIGKILL"
	return 1
}

# th_netns_exists NAME (what `ip netns add` creates; no `ip netns list | grep -q` race)
th_netns_exists() { [[ -e /run/netns/$1 ]]; }

# th_wait SECONDS CMD...: retries CMD every 0.2 s until it succeeds or time runs out.
th_wait() {
	local secs=$1 end
	shift
	end=$((SECONDS + secs))
	while ! "$@"; do
		((SECONDS < end)) || return 1
		sleep 0.2
	done
}

twohost_uri() {
	th_host "$1" || return 1
	echo "qemu+unix:///system?socket=$(th_hdir "$1")/run-libvirt/libvirt-sock"
}
twohost_ip() { th_host "$1" && echo "${TWOHOST_IP[$1]}"; }
# URI the *source* libvirtd uses to reach host X for p2p migration.
twohost_migrate_uri() { th_host "$1" && echo "qemu+tcp://${TWOHOST_IP[$1]}/system"; }

# twohost_virsh A|B ARGS...: virsh against host X, bounded by TWOHOST_VIRSH_TIMEOUT
# (default 180 s; 0 = no limit, for interactive use such as `console`).
twohost_virsh() {
	local h=${1:-} uri t=${TWOHOST_VIRSH_TIMEOUT:-180}
	th_host "$h" || return 1
	shift
	uri=$(twohost_uri "$h")
	if [[ $t == 0 ]]; then
		virsh -c "$uri" "$@"
	else
		timeout --foreground -k 5 "$t" virsh -c "$uri" "$@"
	fi
}

# The command run inside the namespaces: bind-mount the table, set the hostname, exec.
# shellcheck disable=SC2016  # expanded by the inner bash
TWOHOST_ENTER='
set -e
hostdir=$1 hostname=$2
shift 2
while IFS=$'"'"'\t'"'"' read -r src dst; do
	mount --bind "$hostdir/$src" "$dst" ||
		{ echo "twohost: cannot bind $hostdir/$src on $dst" >&2; exit 125; }
done < "$hostdir/mounts"
hostname "$hostname"
exec "$@"'

# th_enter A|B: sets TH_ENTER to the command prefix that runs a command inside host X
# (ip netns exec, unshare and bash all exec: the final PID is the command's).
th_enter() {
	local h=${1:-} d
	th_host "$h" || return 1
	d=$(th_hdir "$h")
	[[ -f $d/mounts ]] || { th_err "host $h is not set up (no $d/mounts)"; return 1; }
	TH_ENTER=(ip netns exec "${TWOHOST_NETNS[$h]}" unshare --mount --uts --propagation private
		bash -c "$TWOHOST_ENTER" twohost-enter "$d" "${TWOHOST_HOSTNAME[$h]}")
}

# twohost_nsexec A|B CMD...: REPLACES the calling (sub)shell with CMD running inside
# host X, so `( twohost_nsexec A daemon ... ) &` makes $! the daemon's PID.
twohost_nsexec() {
	th_enter "${1:-}" || return 1
	shift
	(($#)) || { th_err "nsexec: no command"; return 1; }
	exec "${TH_ENTER[@]}" "$@"
}

# twohost_nsrun A|B CMD...: runs CMD inside host X and returns its status.
twohost_nsrun() {
	(twohost_nsexec "$@")
}

# twohost_nsrun_timeout SECONDS A|B CMD...: the same, killed after SECONDS.
twohost_nsrun_timeout() {
	local secs=$1
	shift
	th_enter "${1:-}" || return 1
	shift
	timeout -k 5 "$secs" "${TH_ENTER[@]}" "$@"
}

# Records a created mount point (so cleanup can remove exactly those).
th_mkmountpoint() {
	local dst=$1 p="" part
	local -a parts
	IFS=/ read -ra parts <<<"${dst#/}"
	for part in "${parts[@]}"; do
		p+=/$part
		[[ -e $p ]] && continue
		mkdir "$p" || return 1
		echo "$p" >>"$TWOHOST_BASE/created-dirs"
	done
}

# drbdmig's compiled-in configuration directory, from `drbdmigd --help`.
th_drbdmig_confdir() {
	local bin=$DRBDMIG_BUILDDIR/plugin/drbdmigd line
	[[ -x $bin ]] || return 0
	line=$("$bin" --help 2>/dev/null | grep -- '--config' || true)
	[[ $line =~ \(default\ (/[^\)]*)/[^/\)]*\) ]] && echo "${BASH_REMATCH[1]}"
}

# libvirtd probes every QEMU binary when it starts with an empty cache (~15 s here, for both
# hosts at once).  Its capabilities cache is kept between runs in TWOHOST_CAPS_CACHE
# (empty = off); libvirtd itself validates each entry (versions, ctimes, host CPU) and
# re-probes a stale one.
th_caps_seed() {
	local dst=$1/cache-libvirt/qemu/capabilities
	[[ -n $TWOHOST_CAPS_CACHE && -d $TWOHOST_CAPS_CACHE ]] || return 0
	mkdir -p "$dst" || return 0
	cp "$TWOHOST_CAPS_CACHE"/*.xml "$dst/" 2>/dev/null || true
}
th_caps_save() {
	local src=$1/cache-libvirt/qemu/capabilities tmp
	[[ -n $TWOHOST_CAPS_CACHE ]] || return 0
	compgen -G "$src/*.xml" >/dev/null || return 0
	tmp=$(mktemp -d "$TWOHOST_CAPS_CACHE.XXXXXX") || return 0
	if cp "$src"/*.xml "$tmp/"; then
		rm -rf "$TWOHOST_CAPS_CACHE"
		mv "$tmp" "$TWOHOST_CAPS_CACHE" && return 0
	fi
	rm -rf "$tmp"
}

th_write_libvirt_conf() {
	local h=$1 d=$2
	mkdir -p "$d/etc-libvirt/hooks/qemu.d" "$d/etc-libvirt/qemu/networks"
	cat >"$d/etc-libvirt/libvirtd.conf" <<-EOF
	# generated by twohost.sh for host $h
	listen_tls = 0
	listen_tcp = 1
	listen_addr = "${TWOHOST_IP[$h]}"
	auth_tcp = "none"
	auth_unix_ro = "none"
	auth_unix_rw = "none"
	host_uuid = "${TWOHOST_UUID[$h]}"
	log_level = 3
	log_filters = "1:util.hook 1:qemu.qemu_hook 1:qemu.qemu_migration 2:qemu.qemu_process"
	log_outputs = "1:file:/var/log/libvirt/libvirtd.log"
	EOF
	cat >"$d/etc-libvirt/qemu.conf" <<-EOF
	# generated by twohost.sh for host $h
	user = "+0"
	group = "+0"
	dynamic_ownership = 0
	remember_owner = 0
	security_driver = "none"
	cgroup_controllers = [ ]
	namespaces = [ ]
	stdio_handler = "file"
	migration_address = "${TWOHOST_IP[$h]}"
	migration_host = "${TWOHOST_IP[$h]}"
	EOF
	touch "$d/etc-libvirt/libvirt.conf"
}

th_setup_host() {
	local h=$1 d b dst disk loop mm confdir
	d=$(th_hdir "$h")
	mkdir -p "$d/disks"
	for b in "${TWOHOST_BINDS[@]}"; do
		mkdir -p "$d/${b%%:*}"
	done
	mkdir -p "$d/lib-libvirt/images" "$d/lib-libvirt/qemu" "$d/log-libvirt/qemu"
	th_caps_seed "$d"
	th_write_libvirt_conf "$h" "$d"
	{
		for b in "${TWOHOST_BINDS[@]}"; do
			printf '%s\t%s\n' "${b%%:*}" "${b#*:}"
		done
		confdir=$(th_drbdmig_confdir)
		if [[ -n $confdir && $confdir != /etc/drbdmig ]]; then
			printf '%s\t%s\n' etc-drbdmig "$confdir"
		fi
		printf '%s\t%s\n' ../hosts /etc/hosts ../resolv.conf /etc/resolv.conf
	} >"$d/mounts"
	while IFS=$'\t' read -r _ dst; do
		[[ -e $dst ]] || th_mkmountpoint "$dst" || return 1
	done <"$d/mounts"

	for disk in $TWOHOST_DISKS; do
		cp "$TWOHOST_BASE/guest/disk.img" "$d/disks/$disk.img"
		loop=$(losetup --find --show --direct-io=on "$d/disks/$disk.img") ||
			{ th_err "losetup failed for $d/disks/$disk.img"; return 1; }
		printf '%s %s\n' "$loop" "$d/disks/$disk.img" >>"$d/loops"
		mm=$(stat -c '%t %T' "$loop")
		mknod -m 0600 "$d/lib-libvirt/images/$disk" b $((16#${mm% *})) $((16#${mm#* }))
	done
}

# twohost_setup [BASE]: builds the guest image, the two hosts and the network.
twohost_setup() {
	local h
	if [[ -n ${1:-} ]]; then TWOHOST_BASE=$1; fi
	[[ $TWOHOST_BASE == /* && $TWOHOST_BASE =~ ^[A-Za-z0-9._/+-]+$ && $TWOHOST_BASE != / ]] ||
		{ th_err "BASE must be an absolute path of [A-Za-z0-9._/+-] (got '$TWOHOST_BASE')"; return 1; }
	((EUID == 0)) || { th_err "must run as root"; return 1; }
	for h in A B; do
		if th_netns_exists "${TWOHOST_NETNS[$h]}"; then
			th_err "netns ${TWOHOST_NETNS[$h]} exists: another twohost setup is live (twohost.sh cleanup with its TWOHOST_BASE)"
			return 1
		fi
	done
	if [[ -e $TWOHOST_BASE ]]; then
		if [[ -e $TWOHOST_BASE/.twohost ]]; then
			th_log "reusing $TWOHOST_BASE (an old twohost BASE): cleaning it up first"
			TWOHOST_KEEP=0 twohost_cleanup || return 1
		elif [[ -n $(ls -A "$TWOHOST_BASE") ]]; then
			th_err "$TWOHOST_BASE exists, is not empty and is not a twohost BASE"
			return 1
		fi
	fi
	mkdir -p "$TWOHOST_BASE" && touch "$TWOHOST_BASE/.twohost" || return 1
	printf '127.0.0.1\tlocalhost\n::1\tlocalhost\n%s\t%s\n%s\t%s\n' \
		"${TWOHOST_IP[A]}" "${TWOHOST_HOSTNAME[A]}" "${TWOHOST_IP[B]}" "${TWOHOST_HOSTNAME[B]}" >"$TWOHOST_BASE/hosts"
	echo 'nameserver 127.0.0.1' >"$TWOHOST_BASE/resolv.conf"
	DISK_MB=${DISK_MB:-4} "$TWOHOST_TOP/tests/guest/build.sh" "$TWOHOST_BASE/guest" || return 1

	ip netns add "${TWOHOST_NETNS[A]}" && ip netns add "${TWOHOST_NETNS[B]}" &&
	ip link add name "${TWOHOST_VETH[A]}" netns "${TWOHOST_NETNS[A]}" type veth \
		peer name "${TWOHOST_VETH[B]}" netns "${TWOHOST_NETNS[B]}" || return 1
	for h in A B; do
		ip -n "${TWOHOST_NETNS[$h]}" addr add "${TWOHOST_IP[$h]}/$TWOHOST_NETMASK" dev "${TWOHOST_VETH[$h]}" &&
		ip -n "${TWOHOST_NETNS[$h]}" link set lo up &&
		ip -n "${TWOHOST_NETNS[$h]}" link set "${TWOHOST_VETH[$h]}" up || return 1
	done
	for h in A B; do
		th_setup_host "$h" || return 1
	done
	th_log "set up in $TWOHOST_BASE"
}

# twohost_install_hook FILE [NAME]: installs FILE as the qemu.d/NAME hook (default
# drbdmig) of both hosts.
twohost_install_hook() {
	local f=${1:-} name=${2:-drbdmig} h
	[[ -f $f && -x $f ]] || { th_err "install-hook: '$f' is not an executable file"; return 1; }
	[[ $name =~ ^[A-Za-z0-9._-]+$ ]] || { th_err "install-hook: bad hook name '$name'"; return 1; }
	for h in A B; do
		install -m 0755 "$f" "$(th_hdir "$h")/etc-libvirt/hooks/qemu.d/$name" || return 1
		if th_alive "$(cat "$(th_hdir "$h")/libvirtd.ourpid" 2>/dev/null)" libvirtd; then
			th_log "host $h: libvirtd is running; restart it (stop/start) to pick up a new hook"
		fi
	done
}

th_libvirtd_up() { twohost_virsh "$1" -q version >/dev/null 2>&1; }

# th_launch_libvirtd A|B: starts host X's libvirtd in the background (no wait).
th_launch_libvirtd() {
	local h=$1 d
	d=$(th_hdir "$h")
	if th_alive "$(cat "$d/libvirtd.ourpid" 2>/dev/null)" libvirtd; then
		th_log "host $h: libvirtd already running"
		return 0
	fi
	rm -f "$d/run-libvirt/libvirtd.pid"
	(twohost_nsexec "$h" /usr/sbin/libvirtd --listen \
		--pid-file /run/libvirt/libvirtd.pid </dev/null >>"$d/libvirtd.out" 2>&1) &
	echo $! >"$d/libvirtd.ourpid"
}

# th_wait_libvirtd A|B DEADLINE: waits (until $SECONDS reaches DEADLINE) for host X's
# libvirtd to answer.
th_wait_libvirtd() {
	local h=$1 end=$2 d pid
	d=$(th_hdir "$h")
	pid=$(cat "$d/libvirtd.ourpid" 2>/dev/null) || { th_err "host $h: libvirtd not started"; return 1; }
	until TWOHOST_VIRSH_TIMEOUT=10 th_libvirtd_up "$h"; do
		if ! th_running "$pid"; then
			th_err "host $h: libvirtd exited; its output:"
			tail -20 "$d/libvirtd.out" >&2
			return 1
		fi
		if ((SECONDS >= end)); then
			th_err "host $h: libvirtd not answering after ${TWOHOST_START_TIMEOUT:-90}s"
			tail -20 "$d/libvirtd.out" >&2
			return 1
		fi
		sleep 0.5
	done
	th_alive "$pid" libvirtd || { th_err "host $h: pid $pid is not libvirtd"; return 1; }
	th_log "host $h: libvirtd up (pid $pid)"
}

# twohost_start: starts both libvirtds (in parallel) and waits until both answer.
twohost_start() {
	local end=$((SECONDS + ${TWOHOST_START_TIMEOUT:-90}))
	th_launch_libvirtd A && th_launch_libvirtd B &&
	th_wait_libvirtd A "$end" && th_wait_libvirtd B "$end" || return 1
	th_caps_save "$(th_hdir A)"
}

# twohost_restart A|B [SECONDS]: stops host X's libvirtd (SIGTERM: its guests keep running,
# as on a real host), leaves it down for SECONDS (default 0) and starts it again, waiting
# until it answers.
twohost_restart() {
	local h=${1:-} down=${2:-0} d pid
	th_host "$h" || return 1
	d=$(th_hdir "$h")
	pid=$(cat "$d/libvirtd.ourpid" 2>/dev/null) || pid=""
	th_alive "$pid" libvirtd || { th_err "host $h: libvirtd is not running"; return 1; }
	[[ $down =~ ^[0-9]+$ ]] || { th_err "restart: bad seconds '$down'"; return 1; }
	th_kill "$pid" libvirtd 30 || return 1
	rm -f "$d/libvirtd.ourpid"
	sleep "$down"
	th_launch_libvirtd "$h" &&
	th_wait_libvirtd "$h" $((SECONDS + ${TWOHOST_START_TIMEOUT:-90}))
}

# Kills QEMU processes our libvirtd left behind (pid files in the host's /run/libvirt/qemu).
th_kill_guests() {
	local d=$1 f pid cmd
	for f in "$d"/run-libvirt/qemu/*.pid; do
		[[ -f $f ]] || continue
		pid=$(cat "$f" 2>/dev/null) || continue
		th_alive "$pid" qemu-system-x86 || continue
		cmd=$(tr '\0' ' ' <"/proc/$pid/cmdline" 2>/dev/null) || continue
		if [[ $cmd == *"guest=$(basename "$f" .pid)"* ]]; then
			th_log "killing leftover QEMU pid $pid ($(basename "$f" .pid))"
			th_kill "$pid" qemu-system-x86 10 || true
		fi
	done
}

th_stop_host() {
	local h=$1 d pid dom
	d=$(th_hdir "$h")
	[[ -d $d ]] || return 0
	twohost_daemon_stop "$h" || true
	pid=$(cat "$d/libvirtd.ourpid" 2>/dev/null) || pid=""
	if th_alive "$pid" libvirtd; then
		for dom in $(TWOHOST_VIRSH_TIMEOUT=20 twohost_virsh "$h" list --name 2>/dev/null); do
			TWOHOST_VIRSH_TIMEOUT=30 twohost_virsh "$h" destroy "$dom" >/dev/null 2>&1 ||
				th_err "host $h: could not destroy $dom"
		done
		th_kill "$pid" libvirtd 30 || true
	fi
	rm -f "$d/libvirtd.ourpid"
	th_kill_guests "$d"
}

twohost_stop() {
	th_stop_host A
	th_stop_host B
}

# twohost_daemon_start A|B: drbdmigd from $DRBDMIG_BUILDDIR inside host X, foreground,
# logging to BASE/hostX/log-drbdmig/drbdmigd.log (= /var/log/drbdmig/drbdmigd.log inside).
twohost_daemon_start() {
	local h=${1:-} d bin cli pid
	th_host "$h" || return 1
	d=$(th_hdir "$h")
	bin=$DRBDMIG_BUILDDIR/plugin/drbdmigd
	cli=$DRBDMIG_BUILDDIR/plugin/drbdmig
	[[ -x $bin ]] || { th_err "no $bin (build drbdmig, or set DRBDMIG_BUILDDIR)"; return 1; }
	if th_alive "$(cat "$d/drbdmigd.ourpid" 2>/dev/null)" drbdmigd; then
		th_log "host $h: drbdmigd already running"
		return 0
	fi
	rm -f "$d/run-drbdmig/${TWOHOST_SOCK##*/}"
	# TWOHOST_DAEMON_ARGS: extra options (word-split), e.g. --dry-run-storage
	# shellcheck disable=SC2086  # TWOHOST_DAEMON_ARGS is an option list
	(twohost_nsexec "$h" "$bin" -d -s "$TWOHOST_SOCK" -L "$TWOHOST_DAEMON_LOG" \
		-p "${TWOHOST_SOCK%/*}/drbdmigd.pid" ${TWOHOST_DAEMON_ARGS:-} \
		</dev/null >>"$d/drbdmigd.out" 2>&1) &
	pid=$!
	echo "$pid" >"$d/drbdmigd.ourpid"
	local end=$((SECONDS + ${TWOHOST_DAEMON_TIMEOUT:-20}))
	while :; do
		if [[ -S $d/run-drbdmig/${TWOHOST_SOCK##*/} ]]; then
			if [[ ! -x $cli ]] ||
			   twohost_nsrun_timeout 10 "$h" "$cli" -s "$TWOHOST_SOCK" ping >/dev/null 2>&1; then
				break
			fi
		fi
		if ! th_running "$pid"; then
			th_err "host $h: drbdmigd exited; its output:"
			tail -20 "$d/drbdmigd.out" >&2
			return 1
		fi
		if ((SECONDS >= end)); then
			th_err "host $h: drbdmigd not ready after ${TWOHOST_DAEMON_TIMEOUT:-20}s"
			tail -20 "$d/drbdmigd.out" >&2
			return 1
		fi
		sleep 0.2
	done
	th_alive "$pid" drbdmigd || { th_err "host $h: pid $pid is not drbdmigd"; return 1; }
	th_log "host $h: drbdmigd up (pid $pid)"
}

twohost_daemon_stop() {
	local h=${1:-} d pid
	th_host "$h" || return 1
	d=$(th_hdir "$h")
	pid=$(cat "$d/drbdmigd.ourpid" 2>/dev/null) || return 0
	th_kill "$pid" drbdmigd 10 || return 1
	rm -f "$d/drbdmigd.ourpid"
}

# Path (outside) of host X's drbdmigd log file.
twohost_daemon_log() { th_host "$1" && echo "$(th_hdir "$1")/log-drbdmig/${TWOHOST_DAEMON_LOG##*/}"; }
# Path (outside) of a domain's serial console log on host X (see twohost_xml).
twohost_serial_log() { th_host "$1" && echo "$(th_hdir "$1")/log-libvirt/qemu/$2-serial.log"; }

# twohost_last_rec A|B NAME: the last seq (decimal) the record guest printed on host X, or 0.
twohost_last_rec() {
	local f hex
	f=$(twohost_serial_log "$1" "$2") || return 1
	hex=$(grep -a -o 'REC [0-9A-F]\{8\}' "$f" 2>/dev/null | tail -1 | cut -d' ' -f2) || true
	echo $((16#${hex:-0}))
}

# twohost_xml NAME DISK [METADATA]: domain XML of a record guest on
# /var/lib/libvirt/images/DISK; METADATA (optional) goes inside <metadata>.
twohost_xml() {
	local name=$1 disk=$2 meta=${3:-}
	cat <<-EOF
	<domain type='qemu'>
	  <name>$name</name>
	  ${meta:+<metadata>$meta</metadata>}
	  <memory unit='MiB'>32</memory>
	  <vcpu>1</vcpu>
	  <os><type arch='x86_64' machine='pc'>hvm</type><boot dev='hd'/></os>
	  <features><tcg><tb-cache unit='MiB'>64</tb-cache></tcg></features>
	  <clock offset='utc'/>
	  <on_poweroff>destroy</on_poweroff>
	  <on_reboot>destroy</on_reboot>
	  <on_crash>destroy</on_crash>
	  <devices>
	    <emulator>/usr/bin/qemu-system-x86_64</emulator>
	    <disk type='block' device='disk'>
	      <driver name='qemu' type='raw' cache='none' io='native'/>
	      <source dev='/var/lib/libvirt/images/$disk'/>
	      <target dev='hda' bus='ide'/>
	    </disk>
	    <controller type='usb' model='none'/>
	    <serial type='file'>
	      <source path='/var/log/libvirt/qemu/$name-serial.log' append='on'/>
	      <target port='0'/>
	    </serial>
	    <video><model type='none'/></video>
	    <memballoon model='none'/>
	  </devices>
	</domain>
	EOF
}

th_remove_base() {
	[[ -e $TWOHOST_BASE/.twohost ]] || return 0
	if [[ ${TWOHOST_KEEP:-0} == 1 ]]; then
		th_log "keeping $TWOHOST_BASE (TWOHOST_KEEP=1)"
		return 0
	fi
	rm -rf --one-file-system "$TWOHOST_BASE"
}

# twohost_cleanup: stops our processes, detaches our loop devices, deletes dmA/dmB,
# removes the mount points setup created, then BASE (unless TWOHOST_KEEP=1).
twohost_cleanup() {
	local h d loop file rc=0 back
	twohost_stop || rc=1
	for h in A B; do
		d=$(th_hdir "$h")
		[[ -f $d/loops ]] || continue
		while read -r loop file; do
			back=$(losetup -n -O BACK-FILE "$loop" 2>/dev/null || true)
			if [[ ${back% (deleted)} == "$file" ]]; then
				losetup -d "$loop" || { th_err "cannot detach $loop"; rc=1; }
			fi
		done <"$d/loops"
		rm -f "$d/loops"
	done
	for h in A B; do
		if th_netns_exists "${TWOHOST_NETNS[$h]}"; then
			ip netns del "${TWOHOST_NETNS[$h]}" || { th_err "cannot delete netns ${TWOHOST_NETNS[$h]}"; rc=1; }
		fi
	done
	if [[ -f $TWOHOST_BASE/created-dirs ]]; then
		# Newest first; a directory someone else has since filled is left alone.
		tac "$TWOHOST_BASE/created-dirs" | while read -r d; do
			rmdir "$d" 2>/dev/null || th_log "left $d (not empty or busy)"
		done
		rm -f "$TWOHOST_BASE/created-dirs"
	fi
	th_remove_base || rc=1
	return $rc
}

twohost_status() {
	local h d pid
	echo "BASE=$TWOHOST_BASE"
	for h in A B; do
		d=$(th_hdir "$h")
		echo "== host $h (netns ${TWOHOST_NETNS[$h]}, ${TWOHOST_IP[$h]})"
		[[ -d $d ]] || { echo "   not set up"; continue; }
		pid=$(cat "$d/libvirtd.ourpid" 2>/dev/null || true)
		if th_alive "$pid" libvirtd; then
			echo "   libvirtd pid $pid"
			TWOHOST_VIRSH_TIMEOUT=10 twohost_virsh "$h" list --all 2>&1 | sed 's/^/   /'
		else
			echo "   libvirtd not running"
		fi
		pid=$(cat "$d/drbdmigd.ourpid" 2>/dev/null || true)
		if th_alive "$pid" drbdmigd; then echo "   drbdmigd pid $pid"; else echo "   drbdmigd not running"; fi
		if [[ -f $d/loops ]]; then sed "s/^/   loop /" "$d/loops"; fi
	done
}

twohost_main() {
	set -euo pipefail
	local cmd=${1:-}
	(($#)) && shift
	case $cmd in
	setup) twohost_setup "$@" &&
		{ [[ $TWOHOST_BASE == "${TMPDIR:-/tmp}/drbdmig-twohost" ]] ||
		  echo "twohost: use 'export TWOHOST_BASE=$TWOHOST_BASE' for the other commands" >&2; } ;;
	install-hook) twohost_install_hook "$@" ;;
	start) twohost_start ;;
	stop) twohost_stop ;;
	restart) twohost_restart "$@" ;;
	daemon-start) twohost_daemon_start "$@" ;;
	daemon-stop) twohost_daemon_stop "$@" ;;
	cleanup) twohost_cleanup ;;
	status) twohost_status ;;
	virsh) TWOHOST_VIRSH_TIMEOUT=${TWOHOST_VIRSH_TIMEOUT:-0} twohost_virsh "$@" ;;
	nsrun) twohost_nsexec "$@" ;;
	uri) twohost_uri "$@" ;;
	xml) twohost_xml "$@" ;;
	*)
		sed -n '/^# CLI:/,/^# Commands other/p' "${BASH_SOURCE[0]}" | sed 's/^# \{0,1\}//' >&2
		return 2 ;;
	esac
}

if [[ ${BASH_SOURCE[0]} == "$0" ]]; then
	twohost_main "$@"
fi
