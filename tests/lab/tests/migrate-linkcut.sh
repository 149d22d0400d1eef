#!/bin/bash
# DESIGN.md §5 rule 1 on real DRBD: the replication link breaks inside the dual-primary
# window while the migration stream goes on. `virsh migrate --live --p2p` A -> B of the
# annotated record guest; as soon as B's daemon reports the window open (phase=ready),
# host B drops all DRBD traffic (tc u32 on the DRBD port range; libvirt's migration
# stream and the peer channel are untouched). DRBD on A freezes the guest's I/O and runs
# drbdmig's fence-peer handler, which stops the migration before I/O resumes.
#
# It may end three ways, depending on where the migration was when DRBD noticed:
#   - the migration fails and the guest goes on on A (the usual case);
#   - stuck at the switchover, the guest is stopped on A (fence_alone);
#   - the switchover came first (every write the guest saw completed was on B, protocol
#     C): the migration succeeds and the guest runs on B.
# Never may it run on both, nor hang: the guest runs (or ran last) on exactly one host,
# every record its console reported is on that host's LV, and after the link is back
# both hosts are clean (that LV kept, the other host's removed).  LINKCUT_DELAY=S cuts
# S seconds after the window opened.
#
# Needs LAB_DEB (run-tests.sh's lab stage passes it); skipped without (lib/e2elib.sh).
# shellcheck source=lib/testlib.sh
. "$(dirname "$0")/lib/testlib.sh"

DOM="cut"
LV=cutdisk
UUID=5b7f6c52-6e11-4f0e-9d5e-0000000000c7
WANT=64
W=$LAB_SHARED/linkcut
# A DRBD port range that one u32 mask covers (lib/consts.sh).
E2E_CONF_EXTRA="drbd_port_min = $LAB_DRBD_PORT_MIN"$'\n'"drbd_port_max = $LAB_DRBD_PORT_MAX"
# shellcheck source=lib/e2elib.sh
. "$(dirname "$0")/lib/e2elib.sh"
MIG_PID=
linkcut_cleanup() {
	local rc=$?
	hold_on_fail "$rc" && exit "$rc"
	set +e   # a cleanup does all it can (and `(exit 1)` would end it under -e)
	[ -z "$MIG_PID" ] || kill "$MIG_PID" 2>/dev/null || true
	e2e_cleanup "$rc"
}
trap linkcut_cleanup EXIT
e2e_setup

case_begin linkcut   # daemon log lines from here on (a lab's log outlives a test)
log "== migrate A -> B in the background"
("$LAB" exec A -t "${LINKCUT_MIG_TIMEOUT:-900}" -- virsh migrate --live --p2p "$DOM" "qemu+tcp://$LAB_IP_B/system" \
	--migrateuri "tcp://$LAB_IP_B" >"$W/migrate.out" 2>&1; echo $? >"$W/migrate.rc") &
MIG_PID=$!
t=$SECONDS
wait_log B "domain=$DOM role=dst phase=ready" 180
# LINKCUT_DELAY=S cuts S seconds later (nearer the switchover).
sleep "${LINKCUT_DELAY:-0}"
log "window open after $((SECONDS - t)) s: cutting DRBD's traffic on B (record $(last_rec))"
on B sh -c "tc qdisc add dev $LAB_LINK_DEV root handle 1: prio &&
	tc filter add dev $LAB_LINK_DEV parent 1: protocol ip prio 1 u32 match ip dport $LAB_DRBD_PORT_MIN $LAB_PORT_MASK action drop &&
	tc filter add dev $LAB_LINK_DEV parent 1: protocol ip prio 1 u32 match ip sport $LAB_DRBD_PORT_MIN $LAB_PORT_MASK action drop"
CUT_REC=$(last_rec)

wait "$MIG_PID" || true
MIG_PID=
MIG_RC=$(cat "$W/migrate.rc" 2>/dev/null || echo 255)
log "virsh migrate ended with $MIG_RC after $((SECONDS - t)) s: $(tr '\n' ' ' <"$W/migrate.out")"
STATE_A=$(val A sh -c "virsh domstate $DOM 2>/dev/null || echo absent")
STATE_B=$(val B sh -c "virsh domstate $DOM 2>/dev/null || echo absent")
log "guest: A $STATE_A, B $STATE_B"
show_log A 'link lost|fence|stopping|stuck|migration stopped|I/O resumes'
if [ "$MIG_RC" -eq 0 ]; then
	KEEP=B GONE=A
	check "the migration completed: the guest runs on B" [ "$STATE_B" = running ]
	check "the guest is stopped on A" [ "$STATE_A" = "shut off" -o "$STATE_A" = absent ]
else
	KEEP=A GONE=B
	check "the migration failed: the guest does not run on B" [ "$STATE_B" != running ]
fi
check "the guest is not paused on $KEEP (I/O frozen for good)" [ "$(val $KEEP sh -c \
	"virsh domstate $DOM 2>/dev/null || echo absent")" != paused ]

log "== the link comes back; both hosts settle"
on B tc qdisc del dev "$LAB_LINK_DEV" root
if [ "$(val $KEEP sh -c "virsh domstate $DOM 2>/dev/null || echo absent")" = running ]; then
	wait_recs "$CUT_REC" 120
	log "the guest goes on writing on $KEEP: record $(last_rec)"
	both check_clean   # the sessions closed first: destroying the guest is not a failure
	on "$KEEP" virsh destroy "$DOM"
fi
PRINTED=$(last_rec)
both check_clean
check "$KEEP's LV is kept" [ -n "$(val $KEEP sh -c "lvs --noheadings -o lv_name $VG/$LV 2>/dev/null || true")" ]
check "$GONE's LV is removed" [ -z "$(val $GONE sh -c "lvs --noheadings -o lv_name $VG/$LV 2>/dev/null || true")" ]
log "== every record the console reported (up to $PRINTED; cut at $CUT_REC) is on $KEEP's LV"
on "$KEEP" "$G_W/reccheck" --min-seq "$PRINTED" "/dev/$VG/$LV"
log "PASS: $([ "$KEEP" = B ] && echo "switched over before the cut took effect" ||
	echo "migration stopped"), $PRINTED records on $KEEP ($((SECONDS - T_START)) s)"
