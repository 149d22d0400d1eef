#!/bin/bash
# Kernel lab smoke test: the manual DRBD + device-mapper migration recipe of
# shared/reference/live-migration-steps-drbd-dm.txt, in its CORRECTED order (DESIGN.md §4),
# run by hand on lab hosts A (source) and B (destination) while a writer process keeps
# writing numbered records to the source LV. It proves the lab (real dm, LVM, DRBD 8.4,
# the private link), not the product.
#
# Corrections to the reference recipe:
#  - the source LV's table is swapped onto DRBD BEFORE connecting (no write can bypass DRBD
#    between the sync and the swap), while the writer runs: no pause;
#  - the swapped table's length is the LV's own size, not the metadata size;
#  - the destination LV's table is swapped onto DRBD only once B is Primary: DRBD 8.4
#    refuses opens of a Secondary device, so dm cannot load a table over it before;
#  - the source LV's table goes back to its extents BEFORE A is demoted: DRBD 8.4 refuses
#    to demote a device that dm still holds open (checked below);
#  - sync completion is read from /proc/drbd, not from `drbdsetup wait-sync`.
#
# DRBD's usermode helper: the module calls /sbin/drbdadm on events (before-resync-source,
# fence-peer, ...); with no drbd.conf entry for this resource that call fails and DRBD
# drops the connection. THIS TEST ONLY sets the module's usermode_helper to /bin/true (and
# restores it, or unloads drbd if it loaded it); the product must provide real handlers.
#
# Asserts: identical LV checksums on A and B after teardown, every record the writer saw
# completed is on the destination, no I/O error, no dm/DRBD/LV leftovers.
# shellcheck source=lib/testlib.sh
. "$(dirname "$0")/lib/testlib.sh"

VG=$LAB_VG
LV=smoke                       # the "guest disk"
META=smoke.drbdmeta            # external DRBD metadata LV
DM=$VG-$LV                     # dm name of the LV
COPY=$DM.copy                  # dm device with the LV's original table: DRBD's backing disk
DATA_MB=${SMOKE_DATA_MB:-64}
META_MB=4                      # flexible external metadata: 4 MiB is plenty for 64 MiB
RES=smoke
MINOR=0
PORT=7789
D84=/usr/lib/drbd/drbdsetup-84
IP_A=$LAB_IP_A
IP_B=$LAB_IP_B
W=/run/smoke-writer            # writer state in the hosts (log, pid, stop, errors)
SH=/lab/shared/smoke           # results shared with the machine ($LAB_SHARED/smoke)
SYNC_TIMEOUT=${SMOKE_SYNC_TIMEOUT:-400}

ip_of() { if [ "$1" = A ]; then echo "$IP_A"; else echo "$IP_B"; fi; }
peer_of() { if [ "$1" = A ]; then echo B; else echo A; fi; }
endpoints() { echo "ipv4:$(ip_of "$1"):$PORT ipv4:$(ip_of "$(peer_of "$1")"):$PORT"; }

# dm table swap as one unit: load the new table, suspend (flushing), resume.
swap_table() {   # H TABLE
	local h=$1 table=$2 t=$SECONDS
	# shellcheck disable=SC2016  # $1/$2 belong to the host's bash
	sh_on "$h" 'dmsetup load "$1" --table "$2" && dmsetup suspend "$1" && dmsetup resume "$1"' \
		"$DM" "$table"
	log "$h: $DM table now '$(val "$h" dmsetup table "$DM")' (swap took $((SECONDS - t)) s incl. exec)"
}
# drbd_stack H TABLE: metadata LV, $COPY with TABLE (the LV's own), DRBD minor attached to
# $COPY with flexible external metadata; the minor is Secondary and StandAlone.
drbd_stack() {
	local h=$1
	on "$h" lvcreate -qy -Wy -Zy -L "${META_MB}M" -n "$META" "$VG"
	on "$h" dmsetup create "$COPY" --table "$2"
	on "$h" drbdmeta --force "/dev/drbd$MINOR" v08 "/dev/$VG/$META" flex-external create-md
	on "$h" "$D84" new-resource "$RES"
	on "$h" "$D84" new-minor "$RES" "$MINOR" 0
	on "$h" "$D84" attach "$MINOR" "/dev/mapper/$COPY" "/dev/$VG/$META" flexible \
		--c-plan-ahead=0 --resync-rate=100M
}
writer_progress() { val A sh -c "wc -l <$W/log 2>/dev/null || echo 0"; }

# ---- failure path: diagnostics, then best-effort teardown --------------------------------
ORIG_A='' ORIG_B=''
on_exit() {
	local rc=$? h
	[ "$rc" -eq 0 ] && return 0
	log "collecting diagnostics and cleaning up after the failure"
	for h in A B; do
		log "---- host $h"
		try "$h" sh -c "cat /proc/drbd; dmsetup table; lvs; cat $W/errors; dmesg | grep -iE 'drbd|device-mapper' | tail -n 30"
	done
	for h in A B; do
		try "$h" sh -c "touch $W/stop; sleep 1; kill \$(cat $W/pid) 2>/dev/null"
	done
	[ -n "$ORIG_A" ] && try A sh -c "dmsetup load $DM --table '$ORIG_A' && dmsetup suspend $DM && dmsetup resume $DM"
	[ -n "$ORIG_B" ] && try B sh -c "dmsetup load $DM --table '$ORIG_B' && dmsetup suspend $DM && dmsetup resume $DM"
	for h in A B; do
		try "$h" sh -c "$D84 down $RES; dmsetup remove $COPY; lvremove -qy $VG/$META $VG/$LV; rm -rf $W"
		drbd_helper_restore "$h" || true
	done
	exit "$rc"
}
trap on_exit EXIT

# ---- DRBD module with usermode_helper=/bin/true (see the header) ------------------------
drbd_helper_true() {
	sh_on "$1" '
		if [ -d /sys/module/drbd ]; then
			cat /sys/module/drbd/parameters/usermode_helper >/run/smoke-helper.orig
			printf %s /bin/true >/sys/module/drbd/parameters/usermode_helper
		else
			echo unload >/run/smoke-helper.orig
			modprobe drbd usermode_helper=/bin/true
		fi
		grep -q "^ *[0-9]*: cs:" /proc/drbd && { echo "DRBD minors already configured:"; cat /proc/drbd; exit 1; }
		head -n1 /proc/drbd'
}
drbd_helper_restore() {
	# shellcheck disable=SC2016  # expanded by the host's sh
	"$LAB" exec "$1" -- sh -c '
		orig=$(cat /run/smoke-helper.orig 2>/dev/null) || exit 0
		rm -f /run/smoke-helper.orig
		if [ "$orig" = unload ]; then rmmod drbd; else printf %s "$orig" >/sys/module/drbd/parameters/usermode_helper; fi'
}

rm -rf "${LAB_SHARED:?}/smoke"
mkdir -p "$LAB_SHARED/smoke"

log "== 1. both hosts: DRBD 8.4 module, no configured minors"
for h in A B; do drbd_helper_true "$h"; done

log "== 2. A: the guest disk ($DATA_MB MiB LV, random content) and the writer"
on A lvcreate -qy -Wy -Zy -L "${DATA_MB}M" -n "$LV" "$VG"
on A dd if=/dev/urandom of="/dev/$VG/$LV" bs=1M count="$DATA_MB" oflag=direct status=none
SECTORS=$(val A blockdev --getsz "/dev/$VG/$LV")
ORIG_A=$(val A dmsetup table "$DM")
log "A: $DM is $SECTORS sectors, table '$ORIG_A'"
on A sh -c "rm -rf $W && mkdir -p $W && setsid -f bash $G_LIB/record-writer.sh /dev/mapper/$DM $W 1 >$W/out 2>&1"
sleep 2
[ "$(writer_progress)" -gt 0 ] || fail "the writer wrote nothing"
log "writer running: $(writer_progress) records so far"

log "== 3. A: metadata LV, $COPY with the LV's table, DRBD minor attached, Primary"
drbd_stack A "$ORIG_A"
on A "$D84" primary "$MINOR" --force

log "== 4. A: swap the LV's table onto /dev/drbd$MINOR (length = the LV's $SECTORS sectors) under the writer"
before=$(writer_progress)
swap_table A "0 $SECTORS linear /dev/drbd$MINOR 0"
sleep 2
after=$(writer_progress)
[ "$after" -gt "$before" ] || fail "the writer made no progress after the swap ($before -> $after)"
log "writer went on through the swap: $before -> $after records"

log "== 5. B: same-size LV, metadata LV, $COPY, DRBD minor (Secondary)"
on B lvcreate -qy -Wy -Zy -L "${SECTORS}s" -n "$LV" "$VG"
[ "$(val B blockdev --getsz "/dev/$VG/$LV")" = "$SECTORS" ] || fail "B's LV size differs from A's"
ORIG_B=$(val B dmsetup table "$DM")
drbd_stack B "$ORIG_B"
# DRBD 8.4 refuses opens of a Secondary device: dm cannot map B's LV onto it yet.
if "$LAB" exec B -- dmsetup load "$DM" --table "0 $SECTORS linear /dev/drbd$MINOR 0" >/dev/null 2>&1; then
	try B dmsetup clear "$DM"
	fail "B's LV table could be loaded over the Secondary /dev/drbd$MINOR"
fi
log "ok: B's LV cannot be mapped onto /dev/drbd$MINOR while B is Secondary"

log "== 6. connect (protocol C), full sync A -> B while the writer goes on"
# shellcheck disable=SC2046  # endpoints are two words
on B "$D84" connect "$RES" $(endpoints B) --protocol=C
# shellcheck disable=SC2046
on A "$D84" connect "$RES" $(endpoints A) --protocol=C
t=$SECONDS
ON_TIMEOUT=$((SYNC_TIMEOUT + 30)) on B bash "$G_LIB/drbd-wait.sh" "$MINOR" uptodate "$SYNC_TIMEOUT"
on A bash "$G_LIB/drbd-wait.sh" "$MINOR" uptodate 30
log "synced $DATA_MB MiB in $((SECONDS - t)) s; writer at $(writer_progress) records"

log "== 7. allow two primaries, promote B, B's LV onto DRBD"
# shellcheck disable=SC2046
on A "$D84" net-options $(endpoints A) --allow-two-primaries=yes
# shellcheck disable=SC2046
on B "$D84" net-options $(endpoints B) --allow-two-primaries=yes
on B "$D84" primary "$MINOR"
on A grep -q "ro:Primary/Primary" /proc/drbd
swap_table B "0 $SECTORS linear /dev/drbd$MINOR 0"

log "== 8. switchover: the writer stops on A, goes on on B"
on A sh -c "touch $W/stop; i=0; while [ ! -e $W/done ]; do i=\$((i+1)); [ \$i -lt 300 ] || exit 1; sleep 0.1; done; cat $W/done"
LAST_A=$(val A tail -n1 "$W/log")
on B sh -c "rm -rf $W && mkdir -p $W && bash $G_LIB/record-writer.sh /dev/mapper/$DM $W $((LAST_A + 1)) 50 && cat $W/done"
on A sh -c "cp $W/log $SH/writer-A.log"
on B sh -c "cp $W/log $SH/writer-B.log"
for h in A B; do
	errs=$(val "$h" sh -c "cat $W/errors 2>/dev/null || true")
	[ -z "$errs" ] || fail "writer on $h saw write errors: $errs"
done
log "writer: $(wc -l <"$LAB_SHARED/smoke/writer-A.log") records on A, $(wc -l <"$LAB_SHARED/smoke/writer-B.log") on B, no write error"

log "== 9. teardown: A's LV back to its extents, demote A, disconnect, B's LV back, down"
# DRBD 8.4 refuses to demote a device held open (here: by A's LV table).
if "$LAB" exec A -- "$D84" secondary "$MINOR" >/dev/null 2>&1; then
	fail "A was demoted while its LV's table still pointed at /dev/drbd$MINOR"
fi
log "ok: demoting A while its LV still maps /dev/drbd$MINOR is refused"
swap_table A "$ORIG_A"
on A "$D84" secondary "$MINOR"
# shellcheck disable=SC2046
on A "$D84" disconnect $(endpoints A)
# shellcheck disable=SC2046
on B "$D84" disconnect $(endpoints B)
swap_table B "$ORIG_B"
for h in A B; do
	on "$h" "$D84" down "$RES"
	on "$h" dmsetup remove "$COPY"
	on "$h" lvremove -qy "$VG/$META"
done
ORIG_A='' ORIG_B=''

log "== 10. checks"
sum_a=$(val A sh -c "dd if=/dev/$VG/$LV bs=1M iflag=direct status=none | md5sum | cut -d' ' -f1")
sum_b=$(val B sh -c "dd if=/dev/$VG/$LV bs=1M iflag=direct status=none | md5sum | cut -d' ' -f1")
log "md5 A=$sum_a B=$sum_b"
check "the destination LV equals the source LV" [ "$sum_a" = "$sum_b" ]
on B bash "$G_LIB/check-records.sh" "/dev/$VG/$LV" "$SH/writer-A.log" "$SH/writer-B.log"
log "ok: every record the writer saw completed (on A and on B) is on the destination"
for h in A B; do
	left=$(val "$h" sh -c "dmsetup ls | grep -F '$LV.' || true; grep '^ *[0-9]*: cs:' /proc/drbd || true; lvs --noheadings -o lv_name $VG | grep -F '$META' || true")
	check "no dm/DRBD/LV leftovers on $h" [ -z "$left" ]
	on "$h" lvremove -qy "$VG/$LV"
	on "$h" rm -rf "$W"
	drbd_helper_restore "$h" || fail "cannot restore the drbd module on $h"
done
log "PASS ($((SECONDS - T_START)) s)"
