#!/bin/bash
# Kernel lab: libvirtd in host A runs a nested (L2) guest whose disk is an LV.
# The L2 guest is the project's record guest, tests/guest/recguest.asm, a 512-byte boot
# sector (an L2 Linux would take ~200 s under double emulation) that writes numbered,
# checksummed records to its disk and prints progress on its serial port. Steps: build
# it and its checker reccheck (nasm, cc, on this machine), put it on a fresh LV in A,
# define + start a type='qemu' domain with that LV as a raw block disk (cache='none'),
# wait for progress on the serial console, destroy, check the record ring on the LV with
# reccheck, undefine, remove the LV.
# shellcheck source=lib/testlib.sh
. "$(dirname "$0")/lib/testlib.sh"

DOM=lab-l2
VG=$LAB_VG
LV=l2disk
LV_MB=8
WANT=${L2_WANT_RECORDS:-256}    # records the console must report before we stop
WAIT_S=${L2_WAIT:-240}
L2=$LAB_SHARED/l2               # /lab/shared/l2 in the hosts
G_L2=/lab/shared/l2

on_exit() {
	local rc=$?
	[ "$rc" -eq 0 ] && return 0
	log "cleaning up after the failure"
	try A sh -c "virsh domstate $DOM; tail -n 20 /var/log/libvirt/qemu/$DOM.log"
	[ -f "$L2/console.log" ] && { log "L2 console (tail):"; tail -n 5 "$L2/console.log" | tr -d '\r'; }
	try A sh -c "virsh destroy $DOM; virsh undefine $DOM; lvremove -qy $VG/$LV"
	exit "$rc"
}
trap on_exit EXIT

rm -rf "$L2"
mkdir -p "$L2"
log "== build the record guest and its checker"
"$LAB_SRC/tests/guest/build.sh" "$L2" >/dev/null
[ "$(stat -c %s "$L2/recguest.bin")" -eq 512 ] || fail "recguest.bin is not 512 bytes"
cc -std=c11 -O2 -o "$L2/reccheck" "$LAB_SRC/tests/guest/reccheck.c" || fail "cannot build reccheck"

log "== A: the L2 disk: a fresh ${LV_MB} MiB LV with the boot sector"
if val A virsh list --all --name | grep -qx "$DOM"; then fail "domain $DOM already exists on A"; fi
rec_lv A "$VG" "$LV" "$LV_MB" "$G_L2/recguest.bin"
rec_xml "$DOM" "/dev/$VG/$LV" "$G_L2/console.log" >"$L2/$DOM.xml"

log "== A: define and start the L2 domain"
on A virsh define "$G_L2/$DOM.xml"
t=$SECONDS
on A virsh start "$DOM"
log "virsh start took $((SECONDS - t)) s"

log "== wait for $WANT records on the L2 serial console (at most $WAIT_S s)"
last=0
while :; do
	line=$(grep -a -o 'REC [0-9A-F]\{8\}' "$L2/console.log" 2>/dev/null | tail -n1 || true)
	[ -n "$line" ] && last=$((16#${line#REC }))
	[ "$last" -ge "$WANT" ] && break
	grep -q DISKERR "$L2/console.log" 2>/dev/null && fail "the L2 guest reports a disk error"
	[ $((SECONDS - t)) -lt "$WAIT_S" ] || fail "only $last records after $WAIT_S s"
	sleep 1
done
log "L2 console: record $last after $((SECONDS - t)) s"
check "the L2 console shows the boot banner" grep -q RECGUEST "$L2/console.log"
on A virsh destroy "$DOM"
PRINTED=$(grep -a -o 'REC [0-9A-F]\{8\}' "$L2/console.log" | tail -n1)
PRINTED=$((16#${PRINTED#REC }))

log "== check the records on the LV (every record the console reported is there)"
on A "$G_L2/reccheck" --min-seq "$PRINTED" "/dev/$VG/$LV"

log "== cleanup"
on A virsh undefine "$DOM"
on A lvremove -qy "$VG/$LV"
if val A virsh list --all --name | grep -qx "$DOM"; then fail "domain $DOM still defined"; fi
log "PASS ($((SECONDS - T_START)) s)"
