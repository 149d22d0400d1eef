#!/bin/bash
# The main job on real DRBD: `virsh migrate --live --p2p` of an annotated nested guest
# between the two lab hosts, A -> B -> A -> B, with drbdmig installed from the .deb
# (LAB_DEB) and drbdmigd started the way an admin without systemd starts it.
#
# The guest is the record guest (tests/guest/recguest.asm): it writes numbered,
# checksummed records to its LV and prints each on its serial console (a file in
# /lab/shared that both hosts' QEMUs append to). After each hop: the guest runs on the
# target and goes on printing records, no drbdmig session is open and `drbdmig verify`
# is clean on both hosts, no DRBD minor / overlay dm device / metadata LV is left, the
# source LV is gone (default policy source-after="remove") and the target's LV no longer
# carries the drbdmig tag. Right after the last switchover the guest is stopped and
# reccheck proves that the last lap of its record ring (4096 records, written partly on
# the source through DRBD and partly on the target) is complete and intact on the final
# LV, up to the last record its console reported.
#
# Needs LAB_DEB (run-tests.sh's lab stage passes it); skipped without.
# shellcheck source=lib/testlib.sh
. "$(dirname "$0")/lib/testlib.sh"

if [ -z "${LAB_DEB:-}" ] || [ ! -f "$LAB_DEB" ]; then
	log "SKIP: no LAB_DEB (build one with tests/deb/build-deb.sh)"
	exit 77
fi

DOM=e2e
VG=vg0
LV=e2edisk
LV_MB=8
UUID=5b7f6c52-6e11-4f0e-9d5e-0000000000e2
HOPS=${E2E_HOPS:-A:B B:A A:B}
WANT=${E2E_WANT:-64}             # records before the first migration
W=$LAB_SHARED/e2e                # /lab/shared/e2e in the hosts
G_W=/lab/shared/e2e
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
	sh_on "$1" 'kill "$(cat /run/libvirtd.pid)"; for i in $(seq 100); do
		[ -e /proc/"$(cat /run/libvirtd.pid 2>/dev/null)" ] || break; sleep 0.1; done
		libvirtd -d -l; for i in $(seq 120); do
		timeout 10 virsh -c qemu:///system version >/dev/null 2>&1 && exit 0; sleep 0.5; done; exit 1'
}

cleanup() {
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
		try "$h" sh -c "virsh destroy $DOM; virsh undefine $DOM"
		daemon_stop "$h"
		try "$h" sh -c "drbdsetup down all 2>/dev/null; for d in \$(dmsetup ls | awk '/^drbdmig-/ {print \$1}');
			do dmsetup remove \$d; done; lvs --noheadings -o lv_name $VG | grep -E 'drbdmig-|$LV' |
			xargs -r -I{} lvremove -qy $VG/{}; rm -f /etc/drbd.d/drbdmig-*.res /var/lib/drbdmig/*;
			test ! -e $CONF.e2e-saved || mv $CONF.e2e-saved $CONF"
	done
	exit "$rc"
}
trap cleanup EXIT

rm -rf "$W"
mkdir -p "$W"
log "== build the record guest and its checker"
"$LAB_SRC/tests/guest/build.sh" "$W" >/dev/null
cc -std=c11 -O2 -o "$W/reccheck" "$LAB_SRC/tests/guest/reccheck.c" || fail "cannot build reccheck"
# One PSK for both daemons (psktool's format), mode 0600 on the hosts.
printf 'lab:%s\n' "$(head -c 32 /dev/urandom | od -An -tx1 | tr -d ' \n')" >"$W/peer.psk"

log "== both hosts: drbdmig configured and started as an admin would"
for h in A B; do
	on "$h" test -x /usr/sbin/drbdmigd
	on "$h" modprobe drbd
	restart_libvirtd "$h"
	sh_on "$h" 'test ! -e "$1" || cp -p "$1" "$1.e2e-saved"
		install -m 600 "$2/peer.psk" /etc/drbdmig/peer.psk
		printf "%s\n" "log_level = debug" "peer_listen = $3" "peer_auth = psk" \
			"peer_psk_file = /etc/drbdmig/peer.psk" "sync_timeout = 600" >"$1"
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
wait_recs "$WANT" 240
log "guest writing: record $(last_rec)"

hop=0
NHOPS=$(wc -w <<<"$HOPS")
for pair in $HOPS; do
	hop=$((hop + 1))
	src=${pair%:*} dst=${pair#*:}
	before=$(last_rec)
	log "== hop $hop: migrate $src -> $dst (record $before)"
	t=$SECONDS
	ON_TIMEOUT=900 on "$src" virsh migrate --live --p2p --verbose "$DOM" \
		"qemu+tcp://$(ip_of "$dst")/system" --migrateuri "tcp://$(ip_of "$dst")"
	log "hop $hop: virsh migrate took $((SECONDS - t)) s"
	check "the guest runs on $dst" [ "$(val "$dst" virsh domstate "$DOM")" = running ]
	check "the guest is not running on $src" \
		[ "$(val "$src" sh -c "virsh domstate $DOM 2>/dev/null || echo absent")" != running ]
	wait_recs "$before" 120
	log "the guest writes on $dst: record $(last_rec)"
	if [ "$hop" -eq "$NHOPS" ]; then
		# Stop the guest right after the last switchover, so that the LV's ring
		# (4096 records) still holds records written on $src just before it.
		at_return=$(last_rec)
		for i in $(seq 30); do
			val "$dst" grep -q "(switchover)" $DLOG && break
			sleep 1
		done
		on "$dst" virsh destroy "$DOM"
		PRINTED=$(last_rec)
		log "guest stopped on $dst at record $PRINTED ($((PRINTED - at_return)) after virsh migrate returned)"
		check "the ring still spans the switchover (>= 596 records before virsh returned)" [ $((PRINTED - at_return)) -lt 3500 ]
	fi
	# The destination tears down once it sees the guest running; give it time.
	for h in "$dst" "$src"; do
		for i in $(seq 60); do
			[ -z "$(val "$h" drbdmig -m status)" ] && break
			sleep 2
		done
		check "no open drbdmig session on $h" [ -z "$(val "$h" drbdmig -m status)" ]
		on "$h" drbdmig verify
		check "no DRBD minor left on $h" [ -z "$(val "$h" sh -c "grep -E '^ *[0-9]+:' /proc/drbd || true")" ]
		check "no drbdmig dm device left on $h" [ -z "$(val "$h" sh -c "dmsetup ls | grep '^drbdmig-' || true")" ]
		check "no metadata LV left on $h" [ -z "$(val "$h" sh -c "lvs --noheadings -o lv_name $VG | grep drbdmig- || true")" ]
	done
	check "the source LV is gone from $src (source-after=remove)" \
		[ -z "$(val "$src" sh -c "lvs --noheadings -o lv_name $VG/$LV 2>/dev/null || true")" ]
	check "the LV on $dst is the guest's own (untagged, its own extents)" \
		[ -z "$(val "$dst" sh -c "lvs --noheadings -o lv_tags $VG/$LV | tr -d ' '")" ]
	check "the LV on $dst maps no DRBD device" \
		[ -z "$(val "$dst" sh -c "dmsetup table $VG-$LV | grep ' 147:' || true")" ]
	sh_on "$dst" "grep -E 'session=.* (phase=|step=|sync )' $DLOG | tail -n 40" | sed 's/^/    /' || true
done

last=${pair#*:}
log "== check the records on the final LV: the last lap of the ring, across the switchover"
on "$last" "$G_W/reccheck" --min-seq "$PRINTED" "/dev/$VG/$LV"
log "PASS: $hop hops, $PRINTED records; the last 4096 (written on both sides of the last switchover) all on the final LV ($((SECONDS - T_START)) s)"
