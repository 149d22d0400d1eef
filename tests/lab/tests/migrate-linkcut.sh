#!/bin/bash
# DESIGN.md §5 rule 1 on real DRBD: the replication link breaks inside the dual-primary
# window while the migration stream goes on. `virsh migrate --live --p2p` A -> B of the
# annotated record guest; as soon as B's daemon reports the window open (phase=ready),
# host B drops all DRBD traffic (tc u32 on the DRBD port range; libvirt's migration
# stream and the peer channel are untouched). DRBD on A freezes the guest's I/O and runs
# drbdmig's fence-peer handler, which stops the migration before I/O resumes.
#
# Whatever way it ends -- the migration aborted and the guest still on A, or (stuck at
# the switchover) the guest stopped on A -- the guest must never run on B, every record
# the guest's console reported must be on A's LV, and after the link is back both hosts
# must be clean (rolled back; A's LV kept, B's removed).
#
# Needs LAB_DEB (run-tests.sh's lab stage passes it); skipped without (lib/e2elib.sh).
# shellcheck source=lib/testlib.sh
. "$(dirname "$0")/lib/testlib.sh"

DOM=cut
LV=cutdisk
UUID=5b7f6c52-6e11-4f0e-9d5e-0000000000c7
WANT=64
W=$LAB_SHARED/linkcut
# A DRBD port range that one u32 mask covers: 7808..7871 (0x1e80 / 0xffc0).
E2E_CONF_EXTRA=$'drbd_port_min = 7808\ndrbd_port_max = 7871'
# shellcheck source=lib/e2elib.sh
. "$(dirname "$0")/lib/e2elib.sh"
MIG_PID=
linkcut_cleanup() {
	local rc=$?
	[ -z "$MIG_PID" ] || kill "$MIG_PID" 2>/dev/null || true
	(exit "$rc")
	e2e_cleanup
}
trap linkcut_cleanup EXIT
e2e_setup

log "== migrate A -> B in the background"
("$LAB" exec A -t 900 -- virsh migrate --live --p2p "$DOM" "qemu+tcp://10.99.0.2/system" \
	--migrateuri tcp://10.99.0.2 >"$W/migrate.out" 2>&1; echo $? >"$W/migrate.rc") &
MIG_PID=$!
t=$SECONDS
until probe B grep -q "domain=$DOM role=dst phase=ready" $DLOG; do
	[ -e "$W/migrate.rc" ] && fail "the migration ended before the window opened: $(cat "$W/migrate.out")"
	[ $((SECONDS - t)) -lt 180 ] || fail "the window did not open within 180 s"
	sleep 0.5
done
log "window open after $((SECONDS - t)) s: cutting DRBD's traffic on B (record $(last_rec))"
on B sh -c "tc qdisc add dev eth0 root handle 1: prio &&
	tc filter add dev eth0 parent 1: protocol ip prio 1 u32 match ip dport 7808 0xffc0 action drop &&
	tc filter add dev eth0 parent 1: protocol ip prio 1 u32 match ip sport 7808 0xffc0 action drop"
CUT_REC=$(last_rec)

wait "$MIG_PID" || true
MIG_PID=
MIG_RC=$(cat "$W/migrate.rc" 2>/dev/null || echo 255)
log "virsh migrate ended with $MIG_RC after $((SECONDS - t)) s: $(tr '\n' ' ' <"$W/migrate.out")"
STATE_A=$(val A sh -c "virsh domstate $DOM 2>/dev/null || echo absent")
STATE_B=$(val B sh -c "virsh domstate $DOM 2>/dev/null || echo absent")
log "guest: A $STATE_A, B $STATE_B"
sh_on A "grep -E 'link lost|fence|stopping|stuck|migration stopped' $DLOG | tail -n 8" | sed 's/^/    /' || true
check "the migration did not complete" [ "$MIG_RC" -ne 0 ]
check "the guest does not run on B" [ "$STATE_B" != running ]

log "== the link comes back; both hosts settle"
on B tc qdisc del dev eth0 root
if [ "$STATE_A" = running ]; then
	wait_recs "$CUT_REC" 120
	log "the guest goes on writing on A: record $(last_rec)"
	on A virsh destroy "$DOM"
fi
PRINTED=$(last_rec)
check_clean A
check_clean B
check "A's LV is kept" [ -n "$(val A sh -c "lvs --noheadings -o lv_name $VG/$LV 2>/dev/null || true")" ]
check "B's LV is removed" [ -z "$(val B sh -c "lvs --noheadings -o lv_name $VG/$LV 2>/dev/null || true")" ]
log "== every record the console reported (up to $PRINTED; cut at $CUT_REC) is on A's LV"
on A "$G_W/reccheck" --min-seq "$PRINTED" "/dev/$VG/$LV"
log "PASS ($((SECONDS - T_START)) s)"
