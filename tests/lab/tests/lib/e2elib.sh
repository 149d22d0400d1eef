# shellcheck shell=bash
# Shared by the lab's migration tests (migrate-*): drbdmig from the .deb configured and
# started on both hosts as an admin would, the annotated record guest on host A, the
# record console, background migrations, fault-case bookkeeping (log offsets, expected
# outcome), and a cleanup that leaves both hosts as found.
# The caller sets DOM, LV, UUID and W (host side of the shared work dir) first, and may
# set E2E_CONF_EXTRA (lines for drbdmig.conf).

# Every user needs drbdmig installed from the .deb (run-tests.sh's lab stage passes it).
if [ -z "${LAB_DEB:-}" ] || [ ! -f "$LAB_DEB" ]; then
	log "SKIP: no LAB_DEB (build one with tests/deb/build-deb.sh)"
	exit 77
fi
VG=$LAB_VG
LV_MB=${LV_MB:-8}
G_W=/lab/shared/${W##*/}
PIDF=/run/drbdmig/drbdmigd.pid
CONF=/etc/drbdmig/drbdmig.conf
DLOG=/var/log/drbdmig/drbdmigd.log
ip_of() { [ "$1" = A ] && echo "$LAB_IP_A" || echo "$LAB_IP_B"; }
other() { [ "$1" = A ] && echo B || echo A; }
MIG_PID=

# The last record number on the console (0 if none yet).
last_rec() {
	local line
	line=$(grep -a -o 'REC [0-9A-F]\{8\}' "$W/${CONSOLE:-console.log}" 2>/dev/null | tail -n1 || true)
	[ -n "$line" ] && echo $((16#${line#REC })) || echo 0
}
wait_recs() {   # wait_recs MORE_THAN SECONDS
	local t=$SECONDS
	while [ "$(last_rec)" -le "$1" ]; do
		grep -q DISKERR "$W/${CONSOLE:-console.log}" 2>/dev/null && fail "the guest reports a disk error"
		[ $((SECONDS - t)) -lt "$2" ] || fail "no record above $1 within $2 s (last $(last_rec))"
		sleep 1
	done
}
# daemon_start HOST [STEP:SECONDS]: drbdmigd as an admin starts it (with the crash-test
# pause DRBDMIG_TEST_PAUSE when given); it recovers whatever its journals hold.
daemon_start() {
	# shellcheck disable=SC2016  # expanded by the host's sh
	on "$1" sh -c 'ulimit -c unlimited && exec "$@"' - env ${2:+DRBDMIG_TEST_PAUSE=$2} drbdmigd -p $PIDF -L $DLOG
	on "$1" drbdmig ping
}
daemon_kill9() {   # a daemon crash: SIGKILL, nothing cleaned up
	on "$1" sh -c "kill -9 \$(cat $PIDF)"   # pid and socket files stay, as after a crash
	log "drbdmigd on $1 killed with SIGKILL (record $(last_rec))"
}
# By name, not --exec: a daemon started before a reinstall runs a deleted binary.
daemon_stop() {
	try "$1" sh -c "test ! -e $PIDF || start-stop-daemon --stop --quiet --retry TERM/30/KILL/5 \
		--pidfile $PIDF --name drbdmigd"
}
# restart_libvirtd HOST [always]: libvirtd on HOST stopped (SIGTERM, its guests keep
# running), started again and waited for (up to 60 s). The package's postinst asks for
# it: libvirtd finds hooks at start. Without "always" only when the hook is newer than
# the running libvirtd (the lab's init installs the .deb before it starts libvirtd;
# deb-install reinstalls it); migrate-faults restarts it always, as its fault.
restart_libvirtd() {
	# shellcheck disable=SC2016  # expanded by the host's bash
	sh_on "$1" 'h=/etc/libvirt/hooks/qemu.d/drbdmig
		if [ "$1" != always ] && [ -e /run/libvirtd.pid ] && [ -L $h ] &&
		   [ "$(stat -c %Z $h)" -lt "$(stat -c %Y /run/libvirtd.pid)" ]; then
			echo "libvirtd started after the hook was installed: no restart"; exit 0; fi
		kill "$(cat /run/libvirtd.pid)"; for i in $(seq 100); do
		[ -e /proc/"$(cat /run/libvirtd.pid 2>/dev/null)" ] || break; sleep 0.1; done
		libvirtd -d -l; for i in $(seq 120); do
		timeout 10 virsh -c qemu:///system version >/dev/null 2>&1 && exit 0; sleep 0.5; done; exit 1' \
		"${2:-}"
}
# Both hosts clean: no session, verify clean, no minor, overlay device or metadata LV.
check_clean() {   # check_clean HOST
	local h=$1 out
	for _ in $(seq 60); do
		[ -z "$(val "$h" drbdmig -m status)" ] && break
		sleep 2
	done
	# One round trip for all of it: each line printed is something left over.
	out=$(val "$h" sh -c "drbdmig -m status; drbdmig verify >/dev/null 2>&1 || drbdmig verify;
		grep -E '^ *[0-9]+:' /proc/drbd; dmsetup ls | grep '^drbdmig-';
		lvs --noheadings -o lv_name $VG | grep drbdmig-; true")
	[ -z "$out" ] || printf '%s\n' "$out" | sed "s/^/    [$h] /"
	check "$h is clean: no session, drbdmig verify clean, no DRBD minor, overlay dm device or metadata LV" [ -z "$out" ]
}

# What a failed test shows of both hosts before anything is cleaned up.
e2e_failed_state() {
	for h in A B; do
		try "$h" sh -c "drbdmig status; drbdmig verify;
			grep -av -e 'call state' -e 'cli status' $DLOG | tail -n 60; cat /proc/drbd;
			dmsetup ls; lvs; virsh list --all"
		guest_diag "$h"
	done
	[ -f "$W/console.log" ] && { log "guest console (tail):"; tail -n 3 "$W/console.log" | tr -d '\r'; }
}
# Where the guest is on HOST, what it is doing: a guest that stops reporting records is
# told apart as paused by QEMU (I/O error policy), stuck in a disk request (QEMU's threads
# waiting in the kernel, the dm device suspended), lost in its own code (the registers:
# running, no thread waiting, the records on its LV stand still) or writing on with a
# silent console (the records on its LV go on).  The dm name is LVM's: dashes in VG and
# LV names doubled.
guest_diag() {
	# shellcheck disable=SC2016  # expanded by the host's bash
	try "$1" sh -c 'd=$1 lv=$2 rc=$3
		virsh domstate --reason "$d" 2>/dev/null || exit 0
		virsh qemu-monitor-command --hmp "$d" "info block" 2>&1 | head -n 4
		virsh qemu-monitor-command --hmp "$d" "info registers" 2>&1 | grep -E "^(EAX|ESI|EIP|CS |SS )"
		p=$(pgrep -f "guest=$d," | head -n 1)
		[ -z "$p" ] || for t in /proc/$p/task/*; do   # thread: state, where it sleeps
			echo "$(cat $t/comm): $(sed "s/.*) //" $t/stat | cut -d" " -f1) $(cat $t/wchan)"; done
		dmsetup info -c "$lv"; dmsetup table "$lv"
		for i in 1 2; do $rc "/dev/mapper/$lv" 2>&1 | tail -n 1; sleep 2; done' \
		- "$DOM" "${VG//-/--}-${LV//-/--}" "$G_W/reccheck"
}
# hold_on_fail RC: with LAB_HOLD_ON_FAIL set and RC not 0, shows the hosts' state, leaves
# everything as the failure left it (guests, daemons, DRBD, LVs) for an admin to look at,
# tells lab.sh check to keep the hosts up, and returns 0: the caller then exits RC
# without its cleanup. Otherwise returns 1.
hold_on_fail() {
	[ "$1" -ne 0 ] && [ -n "${LAB_HOLD_ON_FAIL:-}" ] || return 1
	trap - EXIT
	e2e_failed_state
	: >"$LAB_RUN/held"
	log "LAB_HOLD_ON_FAIL: nothing cleaned up; the hosts stay up (LAB_RUN=$LAB_RUN tests/lab/lab.sh shell A)"
	return 0
}

e2e_cleanup() {   # e2e_cleanup [RC]: the EXIT trap, or called by a test's own with its $?
	local rc=${1:-$?}
	set +e
	trap - EXIT
	hold_on_fail "$rc" && exit "$rc"
	[ "$rc" -eq 0 ] || e2e_failed_state
	both_run e2e_clean_host || true
	exit "$rc"
}
e2e_clean_host() {   # e2e_clean_host HOST: e2e_cleanup's part on one host (both at once)
	local h=$1 d
	for d in $DOM ${EXTRA_DOMS:-}; do
		try "$h" sh -c "virsh destroy $d; virsh undefine $d"
	done
	try "$h" sh -c "tc qdisc del dev $LAB_LINK_DEV root 2>/dev/null; true"
	daemon_stop "$h"
	# the guests' LVs may still map onto DRBD, which holds the overlay: them first
	try "$h" sh -c "lvs --noheadings -o lv_name $VG | awk '{print \$1}' |
		grep -E 'drbdmig-|$LV${EXTRA_LVS:+|$EXTRA_LVS}' >/tmp/e2e-lvs; for l in \$(cat /tmp/e2e-lvs);
		do dmsetup remove $VG-\$(echo \$l | sed s/-/--/g) 2>/dev/null; done;
		for r in \$(drbdsetup show 2>/dev/null | awk '/^resource/ {print \$2}');
		do drbdsetup down \$r; done; for d in \$(dmsetup ls | awk '/^drbdmig-/ {print \$1}');
		do dmsetup remove \$d; done; xargs -r -I{} lvremove -qy $VG/{} </tmp/e2e-lvs; rm -f /tmp/e2e-lvs /etc/drbd.d/drbdmig-*.res /var/lib/drbdmig/*;
		test ! -e $CONF.e2e-saved || mv $CONF.e2e-saved $CONF"
	# a test's own volumes the guests' LVs live in (thin pools), after them
	[ -z "${E2E_CLEAN_EXTRA:-}" ] || try "$h" sh -c "$E2E_CLEAN_EXTRA"
}

# e2e_daemons: drbdmig configured and started on both hosts as an admin would.
e2e_daemons() {
	local key
	rm -rf "$W"
	mkdir -p "$W"
	log "== build the record guest and its checker"
	"$LAB_SRC/tests/guest/build.sh" "$W" >/dev/null
	cc -std=c11 -O2 -o "$W/reccheck" "$LAB_SRC/tests/guest/reccheck.c" || fail "cannot build reccheck"
	# The pair's key (psktool's format), on each host on a line named after
	# the other host as its peers lists it; mode 0600 on the hosts.  Each
	# host's own name for its peer is its peer_listen address.
	key=$(head -c 32 /dev/urandom | od -An -tx1 | tr -d ' \n')
	printf '%s:%s\n' "$(ip_of B)" "$key" >"$W/peer-A.psk"
	printf '%s:%s\n' "$(ip_of A)" "$key" >"$W/peer-B.psk"
	printf '%s\n' "log_level = debug" "peer_auth = psk" "peer_psk_file = /etc/drbdmig/peer.psk" \
		"sync_timeout = 600" ${E2E_CONF_EXTRA:+"$E2E_CONF_EXTRA"} >"$W/drbdmig.conf"

	log "== both hosts: drbdmig configured and started as an admin would"
	both e2e_daemon
}
e2e_daemon() {   # e2e_daemon HOST: e2e_daemons' part on one host
	local h=$1
	on "$h" test -x /usr/sbin/drbdmigd
	on "$h" modprobe drbd
	restart_libvirtd "$h"
	# shellcheck disable=SC2016  # $1.. are the host's bash's arguments
	sh_on "$h" 'test ! -e "$1" || cp -p "$1" "$1.e2e-saved"
		install -m 600 "$2/peer-$5.psk" /etc/drbdmig/peer.psk
		{ cat "$2/drbdmig.conf"; echo "peer_listen = $3"; echo "peers = $4"; } >"$1"
		drbdmigd --check-config >/dev/null' "$CONF" "$G_W" "$(ip_of "$h")" \
		"$(ip_of "$(other "$h")")" "$h"
	daemon_stop "$h"   # one a failed test before may have left
	daemon_start "$h"
}

# e2e_guest HOST [POLICY-DISKS]: the annotated record guest DOM on a fresh LV (LV, LV_MB)
# on HOST, console $W/$CONSOLE, running with WANT records.  POLICY-DISKS: the policy's
# <drbdmig:disk> elements (default: hda).  Set EXTRA_DISKS for more <disk> devices,
# THIN_POOL for a thin LV in that thin pool of VG.
# disk_src HOST: the path the guest's XML names its disk by; a test may redefine it
# (any path that resolves to the LV is accepted, or pool:POOL/VOLUME for a volume of
# a libvirt 'logical' pool, which is refreshed here once the LV exists).
disk_src() { echo "/dev/$VG/$LV"; }
e2e_guest() {
	local h=$1 disks=${2:-<drbdmig:disk target=\"hda\"/>}
	log "== $h: the guest's LV and the annotated domain $DOM"
	if val "$h" virsh list --all --name | grep -qx "$DOM"; then fail "domain $DOM already exists on $h"; fi
	rec_lv "$h" "$VG" "$LV" "$LV_MB" "$G_W/recguest.bin" "${THIN_POOL:-}"
	case $(disk_src "$h") in
	pool:*/*) local v; v=$(disk_src "$h"); v=${v#pool:}; on "$h" virsh pool-refresh "${v%%/*}" ;;
	esac
	rec_xml "$DOM" "$(disk_src "$h")" "$G_W/${CONSOLE:-console.log}" "<uuid>$UUID</uuid>
  <metadata>
    <drbdmig:policy xmlns:drbdmig=\"urn:drbdmig:1\" resync-rate=\"200M\">
      $disks
    </drbdmig:policy>
  </metadata>" >"$W/$DOM.xml"
	if [ -n "${EXTRA_DISKS:-}" ]; then
		awk -v extra="$EXTRA_DISKS" '{ print } /<\/disk>/ && !done { print extra; done = 1 }' \
			"$W/$DOM.xml" >"$W/$DOM.xml.new" && mv "$W/$DOM.xml.new" "$W/$DOM.xml"
	fi
	on "$h" virsh define "$G_W/$DOM.xml"
	on "$h" virsh start "$DOM"
	wait_recs "${WANT:-64}" 240
	log "guest $DOM writing: record $(last_rec)"
}

# e2e_setup: daemons on both hosts, the annotated guest running on A with WANT records.
e2e_setup() {
	e2e_daemons
	e2e_guest A
}

# ---- fault cases ---------------------------------------------------------------------------

# Where the guest runs now (A or B; fails if on neither or both).
guest_host() {
	local a b
	a=$(val A sh -c "virsh domstate $DOM 2>/dev/null || echo absent")
	b=$(val B sh -c "virsh domstate $DOM 2>/dev/null || echo absent")
	if [ "$a" = running ] && [ "$b" != running ]; then echo A
	elif [ "$b" = running ] && [ "$a" != running ]; then echo B
	else fail "the guest runs on neither or both hosts (A: $a, B: $b)"; fi
}

# case_begin NAME: a new fault case; daemon log lines from here on are this case's.
case_begin() {
	CASE=$1
	CASE_T0=$SECONDS
	LOGOFF_A=$(($(val A sh -c "wc -l <$DLOG") + 1))
	LOGOFF_B=$(($(val B sh -c "wc -l <$DLOG") + 1))
	log "==== case $CASE"
}
logoff() { [ "$1" = A ] && echo "$LOGOFF_A" || echo "$LOGOFF_B"; }
# case_log HOST REGEX: the daemon log on HOST has a line matching REGEX in this case.
case_log() { probe "$1" sh -c "tail -n +$(logoff "$1") $DLOG | grep -Eq \"\$0\"" "$2"; }
# wait_log HOST REGEX SECS: waits for such a line (fails after SECS, or when the
# background migration ended first unless ANYWAY=1).
wait_log() {
	local t=$SECONDS
	until case_log "$1" "$2"; do
		if [ -z "${ANYWAY:-}" ] && [ -e "$W/migrate.rc" ]; then
			fail "the migration ended before '$2' on $1: $(tr '\n' ' ' <"$W/migrate.out")"
		fi
		[ $((SECONDS - t)) -lt "$3" ] || fail "no '$2' in $1's daemon log within $3 s"
		sleep 0.5
	done
}
show_log() {   # show_log HOST [REGEX]: this case's daemon log lines on HOST
	sh_on "$1" "tail -n +$(logoff "$1") $DLOG | grep -av -e 'call state' -e 'cli status' |
		grep -aE \"\${1:-.}\" | tail -n 40" "${2:-.}" | sed 's/^/    /' || true
}

# mig_start SRC [VIRSH-ARGS...]: `virsh migrate --live --p2p` of the guest from SRC to
# the other host, in the background; mig_wait waits and sets MIG_RC and MIG_OUT.
mig_start() {
	local src=$1 dst
	dst=$(other "$1")
	shift
	rm -f "$W/migrate.rc" "$W/migrate.out"
	log "virsh migrate --live --p2p $* $DOM: $src -> $dst (record $(last_rec))"
	("$LAB" exec "$src" -t 900 -- virsh migrate --live --p2p "$@" "$DOM" \
		"qemu+tcp://$(ip_of "$dst")/system" --migrateuri "tcp://$(ip_of "$dst")" \
		>"$W/migrate.out" 2>&1; echo $? >"$W/migrate.rc") &
	MIG_PID=$!
}
mig_wait() {
	[ -n "$MIG_PID" ] && { wait "$MIG_PID" || true; }
	MIG_PID=
	MIG_RC=$(cat "$W/migrate.rc" 2>/dev/null || echo 255)
	MIG_OUT=$(tr '\n' ' ' <"$W/migrate.out" 2>/dev/null)
	log "virsh migrate ended with $MIG_RC (record $(last_rec)): $MIG_OUT"
}
mig_kill() { [ -z "$MIG_PID" ] || kill "$MIG_PID" 2>/dev/null || true; MIG_PID=; }

# The guest stopped for a moment on HOST: every record its console reported is on its
# LV, and the last lap of the ring is intact (and, with RECCHECK_SPREAD set, every copy
# a SPREAD guest wrote after the ring).  Then it goes on.
records_ok() {
	local p
	on "$1" virsh suspend "$DOM"
	sleep 1
	p=$(last_rec)
	on "$1" "$G_W/reccheck" --min-seq "$p" ${RECCHECK_SPREAD:+--spread "$RECCHECK_SPREAD"} "/dev/$VG/$LV"
	on "$1" virsh resume "$DOM"
}

# expect_outcome HOST [keep]: the guest runs on HOST only and goes on writing, every
# record it reported is there, both hosts are clean, and the guest's LV exists on HOST
# only (on both with keep: source-after="keep" after a completed migration).
expect_outcome() {
	local h=$1 o before here there
	o=$(other "$1")
	# Sessions closed first: the destination's teardown (untag) may still run.
	both check_clean
	# here: state, DRBD in the LV's table, the LV's tags; there: state, the LV
	here=$(val "$h" sh -c "{ virsh domstate $DOM 2>/dev/null || echo absent; } | tr ' ' _;
		dmsetup table $VG-$LV | grep -c ' 147:'; lvs --noheadings -o lv_tags $VG/$LV | tr -d ' '" | xargs)
	there=$(val "$o" sh -c "{ virsh domstate $DOM 2>/dev/null || echo absent; } | tr ' ' _;
		lvs --noheadings -o lv_name $VG/$LV 2>/dev/null | tr -d ' '; true" | xargs)
	check "the guest runs on $h, its LV there is its own (no DRBD in the table, untagged) [$here]" \
		[ "$here" = "running 0" ]
	check "the guest does not run on $o [$there]" [ "${there%% *}" != running ]
	if [ "${2:-}" = keep ]; then
		check "the LV is kept on $o (source-after=keep)" [ "${there#* }" = "$LV" ]
	else
		check "no LV of the guest's left on $o" [ "${there#* }" = "$there" ]
	fi
	before=$(last_rec)
	wait_recs "$before" 120
	records_ok "$h"
	log "case $CASE: ok, guest on $h ($((SECONDS - CASE_T0)) s)"
}
