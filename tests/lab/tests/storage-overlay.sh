#!/bin/bash
# The DRBD overlay of DESIGN.md §4 built and torn down by drbdmig's own storage code only
# (plugin/storage/dm.c, drbd.c, lvm.c, drbdconf.c driven step by step through tests/storage/
# stortool): no dmsetup/drbdsetup in the product path (they are used here only to look).
# DRBD's usermode helper stays the module's default (/sbin/drbdadm): drbdmig writes a
# resource file for its resource so that helper calls succeed.
#
# A writer writes numbered records to the source LV on A throughout; it moves to B's LV
# after B is promoted, the way the guest would. Asserts: sync reaches UpToDate, A and B
# identical after the switchover, every completed record (A's and B's) on B's LV after
# teardown, no dm/DRBD/LV/resource-file leftovers. Then the failure cases: attach to a
# missing device, connect to a dead peer, promotion refused, a table swap failing mid-way
# (the original table must be back).
#
# Needs the build tree (DRBDMIG_BUILDDIR, default the repo top) for stortool.
# shellcheck source=lib/testlib.sh
. "$(dirname "$0")/lib/testlib.sh"

BUILD=${DRBDMIG_BUILDDIR:-$LAB_SRC}
ST_LOCAL=$BUILD/tests/storage/stortool
[ -x "$ST_LOCAL" ] || { log "SKIP: $ST_LOCAL not built (make check TESTS=)"; exit 77; }
ST=/usr/local/sbin/stortool
VG=$LAB_VG
LV=ovl
DM=$VG-$LV
LVF=ovlf                  # the failure cases' LV
DMF=$VG-$LVF
RES=drbdmig-labtest
COPY=drbdmig-labtest-copy
META=$LV.drbdmeta
MINOR=0
PORT=7790
SECRET=labsecret$$
IP_A=$LAB_IP_A IP_B=$LAB_IP_B
DATA_MB=64
W=/run/ovl-writer
SYNC_TIMEOUT=${OVERLAY_SYNC_TIMEOUT:-400}

name_of() { val "$1" uname -n; }
ip_of() { if [ "$1" = A ]; then echo "$IP_A"; else echo "$IP_B"; fi; }
peer_of() { if [ "$1" = A ]; then echo B; else echo A; fi; }

cleanup() {
	local rc=$? h
	trap - EXIT
	if [ "$rc" -ne 0 ]; then
		log "failure: diagnostics and best-effort cleanup"
		for h in A B; do
			try "$h" sh -c "cat /proc/drbd; dmsetup table; lvs; ls /etc/drbd.d; cat $W/errors"
		done
	fi
	for h in A B; do
		try "$h" sh -c "touch $W/stop; sleep 1; kill \$(cat $W/pid) 2>/dev/null; true"
		[ -f "$LAB_SHARED/ovl-orig-$h" ] &&
			try "$h" $ST swap "$DM" /lab/shared/ovl-orig-$h /lab/shared/ovl-cur-$h 2>/dev/null
		try "$h" $ST drbd-down $RES
		try "$h" $ST remove $COPY
		try "$h" $ST resfile-remove /etc/drbd.d $RES
		try "$h" lvremove -qy "$VG/$META" "$VG/$LV" "$VG/$LVF" "$VG/$LVF-small"
		try "$h" rm -rf $W /usr/local/sbin/stortool
		# printf, not echo or cp: the kernel keeps a trailing newline in the path,
		# which then cannot be executed (every helper call "returns 0").
		[ -s "$LAB_SHARED/ovl-umh-$h" ] &&
			try "$h" sh -c "printf %s \"\$(cat /lab/shared/ovl-umh-$h)\" > $UMH"
	done
	rm -f "$LAB_SHARED"/ovl-*
	exit "$rc"
}
trap cleanup EXIT

for h in A B; do
	"$LAB" put "$h" "$ST_LOCAL" $ST >/dev/null
	on "$h" test -x /sbin/drbdadm
done
# The module's usermode helper must be the default one: this test proves drbdmig's
# resource file makes it work (another test may have changed it: put it back after).
UMH=/sys/module/drbd/parameters/usermode_helper
for h in A B; do
	on "$h" modprobe drbd
	val "$h" cat $UMH > "$LAB_SHARED/ovl-umh-$h"
	on "$h" sh -c "printf %s /sbin/drbdadm > $UMH"   # no newline (see cleanup)
done
NAME_A=$(name_of A) NAME_B=$(name_of B)

# ---- source A: the guest's LV and a writer on it ------------------------------------
on A lvcreate -qy -L ${DATA_MB}M -n $LV "$VG"
on A sh -c "setsid -f bash $G_LIB/record-writer.sh /dev/$VG/$LV $W 1 </dev/null >/dev/null 2>&1"
BYTES=$(val A $ST lv "/dev/$VG/$LV" | awk '$1 == "bytes" { print $2 }')
MD_SECT=$(val A $ST md-sectors $((BYTES / 512)))
log "LV $BYTES bytes, DRBD metadata $MD_SECT sectors"

setup_side() {   # H: metadata LV, copy device, resource file, DRBD minor attached
	local h=$1 p me peer
	p=$(peer_of "$h")
	if [ "$h" = A ]; then me=$NAME_A peer=$NAME_B; else me=$NAME_B peer=$NAME_A; fi
	on "$h" $ST lv-create "$VG" $META $(((MD_SECT * 512 + 4194303) / 4194304 * 4194304))
	on "$h" $ST create-md $MINOR "/dev/$VG/$META"
	on "$h" $ST copy "/dev/$VG/$LV" $COPY DRBDMIG-labtest-copy
	on "$h" $ST resfile /etc/drbd.d $RES $SECRET \
		"$me" "$(ip_of "$h")" $PORT $MINOR /dev/mapper/$COPY "/dev/$VG/$META" \
		"$peer" "$(ip_of "$p")" $PORT $MINOR /dev/mapper/$COPY "/dev/$VG/$META"
	on "$h" drbdadm -c /etc/drbd.conf dump $RES >/dev/null   # drbdadm parses our file
	on "$h" $ST drbd-new-resource $RES
	on "$h" $ST drbd-new-minor $RES $MINOR 0
	on "$h" $ST drbd-attach $MINOR /dev/mapper/$COPY "/dev/$VG/$META" 102400 dynamic
}
setup_side A
on A $ST drbd-primary $MINOR force
# Swap the source LV onto DRBD BEFORE any sync, under the running writer.
val A $ST swap-to "$DM" /dev/drbd$MINOR > "$LAB_SHARED/ovl-orig-A"
val A $ST table "$DM" > "$LAB_SHARED/ovl-cur-A"
check "A's LV now maps to DRBD with its own length" \
	grep -q "^0 $((BYTES / 512)) linear 147:$MINOR 0\$" "$LAB_SHARED/ovl-cur-A"

# ---- destination B: same-size LV, overlay, connect, full sync -----------------------
on B $ST lv-create "$VG" $LV "$BYTES"
setup_side B
on A $ST drbd-connect $RES "$IP_A:$PORT" "$IP_B:$PORT" $SECRET one
on B $ST drbd-connect $RES "$IP_B:$PORT" "$IP_A:$PORT" $SECRET one
t0=$SECONDS
ON_TIMEOUT=$((SYNC_TIMEOUT + 30)) on B $ST drbd-wait-synced $MINOR "$SYNC_TIMEOUT"
log "synced $DATA_MB MiB in $((SECONDS - t0)) s"
on A $ST drbd-status $MINOR
check "minor allocation skips the minor in use" [ "$(val A $ST alloc-minor 0 20)" = 1 ]
check "port allocation skips DRBD's port" [ "$(val A $ST alloc-port $PORT $((PORT + 5)))" != "$PORT" ]
out=$("$LAB" exec A -- $ST remove "$DM" 2>&1) && fail "removing the guest's LV device succeeded"
check "refuses to remove a dm device drbdmig did not create" grep -q 'not created by drbdmig' <<<"$out"
out=$("$LAB" exec A -- $ST lv-remove "$VG" $LV 2>&1) && fail "removing the guest's LV succeeded"
check "refuses to remove an LV drbdmig did not create" grep -q 'not created by drbdmig' <<<"$out"
check "the status dump lists the minor, connected and UpToDate" \
	grep -q "^$RES minor $MINOR Primary/Secondary Connected UpToDate/UpToDate" \
	<<<"$(val A $ST drbd-status-all)"

# ---- migration window: two primaries, B promoted, writer moves to B ----------------
on A $ST drbd-net-opts "$IP_A:$PORT" "$IP_B:$PORT" two
on B $ST drbd-net-opts "$IP_B:$PORT" "$IP_A:$PORT" two
on B $ST drbd-primary $MINOR
val B $ST table "$DM" > "$LAB_SHARED/ovl-orig-B"
val B $ST swap-to "$DM" /dev/drbd$MINOR > /dev/null
val B $ST table "$DM" > "$LAB_SHARED/ovl-cur-B"
on A sh -c "touch $W/stop; while [ ! -e $W/done ]; do sleep 0.2; done; cat $W/done"
LAST_A=$(val A sh -c "tail -n 1 $W/log")
log "writer on A stopped after record $LAST_A"
SUM_A=$(val A sh -c "dd if=/dev/$VG/$LV bs=1M iflag=direct status=none | md5sum")
SUM_B=$(val B sh -c "dd if=/dev/$VG/$LV bs=1M iflag=direct status=none | md5sum")
check "A and B hold the same data at the switchover" [ "$SUM_A" = "$SUM_B" ]
on B sh -c "setsid -f bash $G_LIB/record-writer.sh /dev/$VG/$LV $W $((LAST_A + 1)) </dev/null >/dev/null 2>&1"
sleep 3

# ---- teardown: A's LV back to its extents, A secondary, single primary, disconnect --
on A $ST swap "$DM" /lab/shared/ovl-orig-A /lab/shared/ovl-cur-A
rm -f "$LAB_SHARED/ovl-orig-A"
on A $ST drbd-secondary $MINOR
on B $ST drbd-net-opts "$IP_B:$PORT" "$IP_A:$PORT" one
on A $ST drbd-net-opts "$IP_A:$PORT" "$IP_B:$PORT" one
on B $ST drbd-disconnect "$IP_B:$PORT" "$IP_A:$PORT"
on A $ST drbd-disconnect "$IP_A:$PORT" "$IP_B:$PORT"
# B's LV back to its own extents, live under B's writer
on B $ST swap "$DM" /lab/shared/ovl-orig-B /lab/shared/ovl-cur-B
rm -f "$LAB_SHARED/ovl-orig-B"
for h in A B; do
	on "$h" $ST drbd-down $RES
	on "$h" $ST remove $COPY
	on "$h" $ST lv-remove "$VG" $META
	on "$h" $ST resfile-remove /etc/drbd.d $RES
done
on B sh -c "touch $W/stop; while [ ! -e $W/done ]; do sleep 0.2; done; cat $W/done"
on B sh -c "test ! -s $W/errors"
# every completed record: A's (copied by DRBD) and B's (written through DRBD, then plain)
val A cat $W/log > "$LAB_SHARED/ovl-log-A"
on B bash $G_LIB/check-records.sh "/dev/$VG/$LV" /lab/shared/ovl-log-A $W/log
for h in A B; do
	check "no DRBD minor left on $h" [ -z "$(val "$h" sh -c "grep -E '^ *[0-9]+:' /proc/drbd || true")" ]
	check "no drbdmig dm device left on $h" [ -z "$(val "$h" $ST list-ours)" ]
	check "no metadata LV left on $h" [ -z "$(val "$h" sh -c "lvs --noheadings -o lv_name $VG | grep drbdmeta || true")" ]
	check "$h's LV maps its own extents again" \
		[ -z "$(val "$h" sh -c "dmsetup table $DM | grep ' 147:' || true")" ]
done

# ---- failure cases: each one clear error, nothing changed ----------------------------
out=$("$LAB" exec A -- $ST drbd-new-resource $RES 2>&1 && "$LAB" exec A -- $ST drbd-new-minor $RES 1 0 2>&1 &&
	"$LAB" exec A -- $ST drbd-attach 1 /dev/mapper/does-not-exist "/dev/$VG/nope" 1000 fixed 2>&1) && fail "attach to a missing device succeeded"
log "attach to a missing device: $out"
check "attach error names DRBD's reason" grep -qiE 'cannot open|not a block device' <<<"$out"
out=$("$LAB" exec A -- $ST drbd-status 1 2>&1)
check "the minor stayed diskless" grep -q Diskless <<<"$out"
try A $ST drbd-down $RES

out=$("$LAB" exec A -- $ST drbd-primary 5 2>&1) && fail "promoting a missing minor succeeded"
log "promote a missing minor: $out"
check "promotion error is one line naming the minor" grep -q 'minor 5' <<<"$out"

# connect to a dead peer: the connect itself is accepted, waiting for it times out clearly
on A lvcreate -qy -L 8M -n $LVF "$VG"
on A $ST lv-create "$VG" $META 4194304
on A $ST create-md 2 "/dev/$VG/$META"
on A $ST drbd-new-resource $RES
on A $ST drbd-new-minor $RES 2 0
on A $ST drbd-attach 2 "/dev/$VG/$LVF" "/dev/$VG/$META" 0 fixed
on A $ST drbd-connect $RES "$IP_A:$PORT" "$IP_B:$((PORT + 9))" $SECRET one
out=$("$LAB" exec A -- $ST drbd-wait-connected 2 5 2>&1) && fail "connected to a dead peer?"
log "dead peer: $out"
check "dead peer: timeout names the connection state" grep -q 'WFConnection' <<<"$out"
# promotion without UpToDate data is refused with DRBD's reason
out=$("$LAB" exec A -- $ST drbd-primary 2 2>&1) && fail "promoting Inconsistent data succeeded"
log "promote without UpToDate data: $out"
check "refusal says why" grep -q 'UpToDate' <<<"$out"
try A $ST drbd-down $RES
on A $ST lv-remove "$VG" $META

# a swap that fails mid-way (a table the kernel rejects: it maps past the end of a
# smaller device): the original table stays live and the device is not left suspended
on A lvcreate -qy -L 4M -n $LVF-small "$VG"
val A $ST table "$DMF" > "$LAB_SHARED/ovl-t0"
out=$("$LAB" exec A -- $ST swap-to "$DMF" "/dev/$VG/$LVF-small" 2>&1) && fail "swap onto a too-small device succeeded"
log "failing swap: $out"
val A $ST table "$DMF" > "$LAB_SHARED/ovl-t1"
check "failed swap left the original table live" cmp -s "$LAB_SHARED/ovl-t0" "$LAB_SHARED/ovl-t1"
check "device not left suspended" [ "$(val A dmsetup info -c --noheadings -o attr "$DMF" | cut -c3)" != s ]
on A lvremove -qy "$VG/$LVF" "$VG/$LVF-small" "$VG/$LV"
on B lvremove -qy "$VG/$LV"
log "storage overlay: all checks passed"
