# shellcheck shell=bash
# Shared by the lab's migration tests (migrate-e2e, migrate-linkcut): drbdmig from the
# .deb configured and started on both hosts as an admin would, the annotated record guest
# on host A, the record console, and a cleanup that leaves both hosts as found.
# The caller sets DOM, LV, UUID and W (host side of the shared work dir) first, and may
# set E2E_CONF_EXTRA (lines for drbdmig.conf).

VG=vg0
LV_MB=${LV_MB:-8}
G_W=/lab/shared/${W##*/}
PIDF=/run/drbdmig/drbdmigd.pid
CONF=/etc/drbdmig/drbdmig.conf
DLOG=/var/log/drbdmig/drbdmigd.log
ip_of() { [ "$1" = A ] && echo 10.99.0.1 || echo 10.99.0.2; }

# The last record number on the console (0 if none yet).
last_rec() {
	local line
	line=$(grep -a -o 'REC [0-9A-F]\{8\}' "$W/console.log" 2>/dev/null | tail -n1 || true)
	[ -n "$line" ] && echo $((16#${line#REC })) || echo 0
}
wait_recs() {   # wait_recs MORE_THAN SECONDS
	local t=$SECONDS
	while [ "$(last_rec)" -le "$1" ]; do
		grep -q DISKERR "$W/console.log" 2>/dev/null && fail "the guest reports a disk error"
		[ $((SECONDS - t)) -lt "$2" ] || fail "no record above $1 within $2 s (last $(last_rec))"
		sleep 1
	done
}
daemon_stop() {
	try "$1" sh -c "test ! -e $PIDF || start-stop-daemon --stop --quiet --retry TERM/10 \
		--pidfile $PIDF --exec /usr/sbin/drbdmigd"
}
restart_libvirtd() {   # the package's postinst asks for it: libvirtd finds hooks at start
	# Only when the hook is newer than the running libvirtd (the lab's init
	# installs the .deb before it starts libvirtd; deb-install reinstalls it).
	sh_on "$1" 'h=/etc/libvirt/hooks/qemu.d/drbdmig
		if [ -e /run/libvirtd.pid ] && [ -L $h ] &&
		   [ "$(stat -c %Z $h)" -lt "$(stat -c %Y /run/libvirtd.pid)" ]; then
			echo "libvirtd started after the hook was installed: no restart"; exit 0; fi
		kill "$(cat /run/libvirtd.pid)"; for i in $(seq 100); do
		[ -e /proc/"$(cat /run/libvirtd.pid 2>/dev/null)" ] || break; sleep 0.1; done
		libvirtd -d -l; for i in $(seq 120); do
		timeout 10 virsh -c qemu:///system version >/dev/null 2>&1 && exit 0; sleep 0.5; done; exit 1'
}
# Both hosts clean: no session, verify clean, no minor, overlay device or metadata LV.
check_clean() {   # check_clean HOST
	local h=$1 i
	for i in $(seq 60); do
		[ -z "$(val "$h" drbdmig -m status)" ] && break
		sleep 2
	done
	check "no open drbdmig session on $h" [ -z "$(val "$h" drbdmig -m status)" ]
	on "$h" drbdmig verify
	check "no DRBD minor left on $h" [ -z "$(val "$h" sh -c "grep -E '^ *[0-9]+:' /proc/drbd || true")" ]
	check "no drbdmig dm device left on $h" [ -z "$(val "$h" sh -c "dmsetup ls | grep '^drbdmig-' || true")" ]
	check "no metadata LV left on $h" [ -z "$(val "$h" sh -c "lvs --noheadings -o lv_name $VG | grep drbdmig- || true")" ]
}

e2e_cleanup() {
	local rc=$?
	trap - EXIT
	if [ "$rc" -ne 0 ]; then
		for h in A B; do
			try "$h" sh -c "drbdmig status; drbdmig verify; tail -n 60 $DLOG; cat /proc/drbd;
				dmsetup ls; lvs; virsh list --all"
		done
		[ -f "$W/console.log" ] && { log "guest console (tail):"; tail -n 3 "$W/console.log" | tr -d '\r'; }
	fi
	for h in A B; do
		try "$h" sh -c "tc qdisc del dev eth0 root 2>/dev/null; virsh destroy $DOM; virsh undefine $DOM"
		daemon_stop "$h"
		try "$h" sh -c "for r in \$(drbdsetup show 2>/dev/null | awk '/^resource/ {print \$2}');
			do drbdsetup down \$r; done; for d in \$(dmsetup ls | awk '/^drbdmig-/ {print \$1}');
			do dmsetup remove \$d; done; lvs --noheadings -o lv_name $VG | grep -E 'drbdmig-|$LV' |
			xargs -r -I{} lvremove -qy $VG/{}; rm -f /etc/drbd.d/drbdmig-*.res /var/lib/drbdmig/*;
			test ! -e $CONF.e2e-saved || mv $CONF.e2e-saved $CONF"
	done
	exit "$rc"
}

# e2e_setup: daemons on both hosts, the annotated guest running on A with WANT records.
e2e_setup() {
	rm -rf "$W"
	mkdir -p "$W"
	log "== build the record guest and its checker"
	"$LAB_SRC/tests/guest/build.sh" "$W" >/dev/null
	cc -std=c11 -O2 -o "$W/reccheck" "$LAB_SRC/tests/guest/reccheck.c" || fail "cannot build reccheck"
	# One PSK for both daemons (psktool's format), mode 0600 on the hosts.
	printf 'lab:%s\n' "$(head -c 32 /dev/urandom | od -An -tx1 | tr -d ' \n')" >"$W/peer.psk"
	printf '%s\n' "log_level = debug" "peer_auth = psk" "peer_psk_file = /etc/drbdmig/peer.psk" \
		"sync_timeout = 600" ${E2E_CONF_EXTRA:+"$E2E_CONF_EXTRA"} >"$W/drbdmig.conf"

	log "== both hosts: drbdmig configured and started as an admin would"
	for h in A B; do
		on "$h" test -x /usr/sbin/drbdmigd
		on "$h" modprobe drbd
		restart_libvirtd "$h"
		sh_on "$h" 'test ! -e "$1" || cp -p "$1" "$1.e2e-saved"
			install -m 600 "$2/peer.psk" /etc/drbdmig/peer.psk
			{ cat "$2/drbdmig.conf"; echo "peer_listen = $3"; } >"$1"
			drbdmigd --check-config >/dev/null' "$CONF" "$G_W" "$(ip_of "$h")"
		on "$h" drbdmigd -p $PIDF -L $DLOG
		on "$h" drbdmig ping
	done

	log "== A: the guest's LV and the annotated domain"
	if val A virsh list --all --name | grep -qx "$DOM"; then fail "domain $DOM already exists on A"; fi
	rec_lv A "$VG" "$LV" "$LV_MB" "$G_W/recguest.bin"
	rec_xml "$DOM" "/dev/$VG/$LV" "$G_W/console.log" "<uuid>$UUID</uuid>
  <metadata>
    <drbdmig:policy xmlns:drbdmig=\"urn:drbdmig:1\" resync-rate=\"200M\">
      <drbdmig:disk target=\"hda\"/>
    </drbdmig:policy>
  </metadata>" >"$W/$DOM.xml"
	on A virsh define "$G_W/$DOM.xml"
	on A virsh start "$DOM"
	wait_recs "${WANT:-64}" 240
	log "guest writing: record $(last_rec)"
}
