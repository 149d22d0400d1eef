#!/bin/bash
# The main job on real DRBD: a live migration of an annotated nested guest between the
# two lab hosts, A -> B -> A -> B, with drbdmig installed from the .deb (LAB_DEB) and
# drbdmigd started the way an admin without systemd starts it.  Each hop is driven the
# way one kind of user drives libvirt, unchanged for drbdmig:
#   p2p     hop 1: `virsh migrate --live --p2p` (the README's form)
#   api     hop 2: the libvirt API from Python, as OpenStack Nova and oVirt do:
#           migrateToURI3 with LIVE | PEER2PEER | PERSIST_DEST | UNDEFINE_SOURCE
#           (tools/apimigrate.py), of a guest defined on the source only (made
#           persistent there first, its old definition on the target removed);
#           afterwards it must be defined on the target only
#   direct  hop 3: `virsh migrate --live` without --p2p: managed direct, virsh itself
#           talks to both libvirtds
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
# The initial sync is zero-aware (thin resync): the LV beyond the guest's ring (from
# 4 MiB; the guest never writes there) holds 3 MiB of random data in 1 MiB pieces and
# zeros elsewhere, and before hop 1 B's free extents are filled with 0xAB, so the LV
# drbdmig creates on B sits on old data. After hop 1 that part of B's LV must equal A's
# byte for byte: the zeros were written on B, not assumed.
#
# The guest's disk is a volume of a libvirt storage pool, as virt-manager and Cockpit
# write it: <disk type='volume'><source pool='lvpool' volume='e2edisk'/>, the pool a
# 'logical' pool over vg0 on both hosts (defined and started here, stopped and
# undefined at the end). After each hop `virsh vol-list lvpool` shows the volume on the
# target and not on the source (the daemons refresh the pool), and the guest's XML
# there still names the pool volume. (Every other lab test names its disks by path.)
#
# Needs LAB_DEB (run-tests.sh's lab stage passes it); skipped without (lib/e2elib.sh).
# shellcheck source=lib/testlib.sh
. "$(dirname "$0")/lib/testlib.sh"

DOM=e2e
LV=e2edisk
UUID=5b7f6c52-6e11-4f0e-9d5e-0000000000e2
HOPS=${E2E_HOPS:-A:B:p2p B:A:api A:B:direct}   # SRC:DST[:HOW], HOW p2p by default
WANT=${E2E_WANT:-64}             # records before the first migration
LV_MB=${LV_MB:-32}
POOL=lvpool
EXTRA_LVS=e2edirty               # cleanup removes it if the test stops early
W=$LAB_SHARED/e2e                # /lab/shared/e2e in the hosts
# shellcheck source=lib/e2elib.sh
. "$(dirname "$0")/lib/e2elib.sh"
# The pool goes first: stopping a 'logical' pool runs vgchange -aln on vg0, so the
# guest is stopped before; e2e_cleanup then removes the LVs, active or not.
pool_cleanup() {
	local rc=$?
	hold_on_fail "$rc" && exit "$rc"
	set +e
	for h in A B; do
		try "$h" sh -c "virsh destroy $DOM >/dev/null 2>&1; virsh pool-info $POOL >/dev/null 2>&1 &&
			{ virsh pool-destroy $POOL; virsh pool-undefine $POOL; }; true"
	done
	e2e_cleanup "$rc"
}
trap pool_cleanup EXIT
e2e_daemons
log "== a libvirt 'logical' pool $POOL over $VG on both hosts, the guest's disk its volume"
for h in A B; do
	sh_on "$h" "virsh pool-info $POOL >/dev/null 2>&1 || { virsh pool-define-as $POOL logical \
		--source-name $VG --target /dev/$VG && virsh pool-start $POOL; }"
done
disk_src() { echo "pool:$POOL/$LV"; }
e2e_guest A
vols() { val "$1" sh -c "virsh vol-list $POOL | awk 'NR > 2 && \$1 == \"$LV\" { print \$1 }'"; }
check "A's pool lists $LV" [ "$(vols A)" = "$LV" ]
cp "$LAB_SRC/tests/lab/tools/apimigrate.py" "$W/apimigrate.py"

# ---- thin resync over dirty extents: static data beyond the ring, B's free space dirty
static_sum() {   # static_sum HOST: sha256 of the LV from 4 MiB on (the ring ends at 2 MiB)
	val "$1" sh -c "dd if=/dev/$VG/$LV bs=1M skip=4 iflag=direct status=none | sha256sum"
}
for off in 8 16 24; do
	on A dd if=/dev/urandom of="/dev/$VG/$LV" bs=1M seek=$off count=1 oflag=direct status=none
done
SUM_A=$(static_sum A)
check "B's LVM issues no discards (freed extents keep their old data)" \
	[ "$(val B lvmconfig --type full devices/issue_discards)" = "issue_discards=0" ]
on B lvcreate -qy -Wn -Zn -L $((LV_MB * 2))M -n e2edirty "$VG"
on B sh -c "tr '\\0' '\\253' </dev/zero | dd of=/dev/$VG/e2edirty bs=1M count=$((LV_MB * 2)) iflag=fullblock oflag=direct status=none"
check "B's dirty extents read 0xAB" [ "$(val B sh -c "dd if=/dev/$VG/e2edirty bs=1 skip=5000000 count=4 status=none | od -An -tx1 | tr -d ' '")" = abababab ]
on B lvremove -qy "$VG/e2edirty"

hop=0
NHOPS=$(wc -w <<<"$HOPS")
for pair in $HOPS; do
	hop=$((hop + 1))
	src=${pair%%:*} rest=${pair#*:}
	dst=${rest%%:*} how=p2p
	[ "$rest" = "$dst" ] || how=${rest#*:}
	before=$(last_rec)
	log "== hop $hop: migrate $src -> $dst by $how (record $before)"
	if [ "$how" = api ]; then   # a persistent guest on $src only, as a cloud keeps them
		sh_on "$src" "virsh dumpxml $DOM >/tmp/e2e-def.xml && virsh define /tmp/e2e-def.xml >/dev/null"
		sh_on "$dst" "virsh undefine $DOM >/dev/null 2>&1; true"
	fi
	t=$SECONDS
	case $how in
	p2p) ON_TIMEOUT=900 on "$src" virsh migrate --live --p2p --verbose "$DOM" \
		"qemu+tcp://$(ip_of "$dst")/system" --migrateuri "tcp://$(ip_of "$dst")" ;;
	direct) ON_TIMEOUT=900 on "$src" virsh migrate --live --verbose "$DOM" \
		"qemu+tcp://$(ip_of "$dst")/system" --migrateuri "tcp://$(ip_of "$dst")" ;;
	api) ON_TIMEOUT=900 on "$src" python3 "$G_W/apimigrate.py" "$DOM" "$(ip_of "$dst")" ;;
	*) fail "E2E_HOPS: unknown way '$how' (p2p, direct, api)" ;;
	esac
	log "hop $hop: the migration ($how) took $((SECONDS - t)) s"
	check "the guest runs on $dst" [ "$(val "$dst" virsh domstate "$DOM")" = running ]
	check "the guest is not running on $src" \
		[ "$(val "$src" sh -c "virsh domstate $DOM 2>/dev/null || echo absent")" != running ]
	check "the guest's XML on $dst names the pool volume" \
		grep -q "<source pool='$POOL' volume='$LV'" <<<"$(val "$dst" virsh dumpxml "$DOM")"
	if [ "$how" = api ]; then
		check "UNDEFINE_SOURCE: $src holds no definition of the guest" \
			[ "$(val "$src" sh -c "virsh dominfo $DOM >/dev/null 2>&1 && echo defined || echo none")" = none ]
		check "PERSIST_DEST: the guest is persistent on $dst" \
			grep -Eq "^Persistent: +yes" <<<"$(val "$dst" virsh dominfo "$DOM")"
	fi
	wait_recs "$before" 120
	log "the guest writes on $dst: record $(last_rec)"
	if [ "$hop" -eq 1 ]; then
		check "B's LV beyond the ring equals A's byte for byte (zeros written over 0xAB)" \
			[ "$(static_sum "$dst")" = "$SUM_A" ]
	fi
	if [ "$hop" -eq "$NHOPS" ]; then
		# Stop the guest right after the last switchover, so that the LV's ring
		# (4096 records) still holds records written on $src just before it.
		at_return=$(last_rec)
		for _ in $(seq 30); do
			probe "$dst" grep -q "(switchover)" $DLOG && break
			sleep 1
		done
		on "$dst" virsh destroy "$DOM"
		PRINTED=$(last_rec)
		log "guest stopped on $dst at record $PRINTED ($((PRINTED - at_return)) after virsh migrate returned)"
		check "the ring still spans the switchover (>= 596 records before virsh returned)" [ $((PRINTED - at_return)) -lt 3500 ]
	fi
	# The destination tears down once it sees the guest running; give it time.
	both check_clean
	check "the source LV is gone from $src (source-after=remove)" \
		[ -z "$(val "$src" sh -c "lvs --noheadings -o lv_name $VG/$LV 2>/dev/null || true")" ]
	check "the LV on $dst is the guest's own (untagged, its own extents)" \
		[ -z "$(val "$dst" sh -c "lvs --noheadings -o lv_tags $VG/$LV | tr -d ' '")" ]
	check "the LV on $dst maps no DRBD device" \
		[ -z "$(val "$dst" sh -c "dmsetup table $VG-$LV | grep ' 147:' || true")" ]
	check "$dst's pool lists $LV" [ "$(vols "$dst")" = "$LV" ]
	for _ in $(seq 20); do   # the source refreshes its pool once its session is gone
		[ -z "$(vols "$src")" ] && break
		sleep 1
	done
	check "$src's pool no longer lists $LV (source-after=remove)" [ -z "$(vols "$src")" ]
	sh_on "$dst" "grep -E 'session=.* (phase=|step=|sync )' $DLOG | tail -n 40" | sed 's/^/    /' || true
done

last=$dst
log "== check the records on the final LV: the last lap of the ring, across the switchover"
on "$last" "$G_W/reccheck" --min-seq "$PRINTED" "/dev/$VG/$LV"
log "PASS: $hop hops, $PRINTED records; the last 4096 (written on both sides of the last switchover) all on the final LV ($((SECONDS - T_START)) s)"
