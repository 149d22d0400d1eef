#!/bin/bash
# Refusals on real hosts: a migration drbdmig cannot carry out must fail before anything
# changes, with one readable line in virsh's output, and the guest must go on running on
# the source. The annotated record guest runs on A (hda on an LV; hdb, unannotated, a
# loop device; hdc, unannotated, a 4 MiB raid1 LV; vdd, unannotated and read-only, a
# volume of a libvirt 'dir' pool); `virsh migrate --live --p2p` A -> B with, in turn:
#   bad-annotation   the live policy says resync-rate="fast"
#   not-an-lv        the policy also names hdb, a loop device (not an LVM LV)
#   raid1-lv         the policy also names hdc, a raid1 LV (dm target 'raid')
#   dir-pool         the policy also names vdd, a volume of a 'dir' pool (a file)
#   snapshot-origin  hda's LV has a snapshot (its table is a 'snapshot-origin' target)
#   vg-missing       B has no VG of the disk's name (vg0 renamed away on B)
#   vg-full          B's vg0 has no room (a filler LV takes its free space)
#   lv-exists        B already has an LV of the disk's name
#   copy-storage-all / copy-storage-inc
#                    the good policy, but virsh is also asked to copy the storage
#                    (--copy-storage-all, then --copy-storage-inc) while the disk's path
#                    exists on B (a link to another LV there): libvirt's NBD mirror and
#                    DRBD would both write B's LV
# After each: virsh's error names the cause, the guest runs on A and goes on writing, no
# session and nothing left over on either host (drbdmig verify), A's LV maps no DRBD
# device, B holds no LV of the guest's.
#
# Needs LAB_DEB (run-tests.sh's lab stage passes it); skipped without (lib/e2elib.sh).
# shellcheck source=lib/testlib.sh
. "$(dirname "$0")/lib/testlib.sh"

DOM=refuse
LV=refdisk
UUID=5b7f6c52-6e11-4f0e-9d5e-0000000000f1
WANT=64
W=$LAB_SHARED/refuse
LOOP=
R1=refr1     # hdc: a raid1 LV, both images on vg0's one PV (--alloc anywhere)
SNAP=refsnap # a snapshot of hda's LV, for the snapshot-origin case
DPOOL=refdir # vdd: a volume of this transient 'dir' pool (on B too); read-only, since
             # libvirt calls a writable local file unsafe to migrate without a copy
GOOD='<policy resync-rate="200M"><disk target="hda"/></policy>'
# shellcheck source=lib/e2elib.sh
. "$(dirname "$0")/lib/e2elib.sh"

refuse_cleanup() {
	local rc=$?
	hold_on_fail "$rc" && exit "$rc"
	set +e   # a cleanup does all it can (and `(exit 1)` would end it under -e)
	mig_kill
	try B sh -c "vgs vgaway >/dev/null 2>&1 && vgrename -q vgaway $VG; lvremove -qy $VG/filler 2>/dev/null;
		test -L /dev/$VG/$LV && rm -f /dev/$VG/$LV; lvremove -qy $VG/decoy 2>/dev/null; true"
	try A sh -c "virsh destroy $DOM; virsh undefine $DOM; test -z '$LOOP' || losetup -d '$LOOP'; rm -f /root/refuse-hdb.img;
		lvremove -qy $VG/$SNAP 2>/dev/null; lvremove -qy $VG/$R1 2>/dev/null; true"
	for h in A B; do
		try "$h" sh -c "virsh pool-destroy $DPOOL >/dev/null 2>&1; rm -rf /root/$DPOOL; true"
	done
	e2e_cleanup "$rc"
}
trap refuse_cleanup EXIT

# A loop device for hdb, before the guest is defined (e2e_setup defines and starts it).
on A modprobe loop
LOOP=$(val A sh -c 'truncate -s 4M /root/refuse-hdb.img && losetup --show -f /root/refuse-hdb.img')
[[ $LOOP == /dev/loop* ]] || fail "no loop device on A"
# A tiny raid1 LV for hdc: lvm(8)'s "anywhere" allocation lets both images share the PV.
on A lvcreate -qy --type raid1 -m1 --alloc anywhere --monitor n -L 4M -n "$R1" "$VG"
for h in A B; do
	sh_on "$h" "mkdir -p /root/$DPOOL && virsh pool-create-as $DPOOL dir --target /root/$DPOOL >/dev/null"
done
on A virsh vol-create-as "$DPOOL" refvol 4M
EXTRA_DISKS="    <disk type='block' device='disk'>
      <driver name='qemu' type='raw' cache='none'/>
      <source dev='$LOOP'/>
      <target dev='hdb' bus='ide'/>
    </disk>
    <disk type='block' device='disk'>
      <driver name='qemu' type='raw' cache='none'/>
      <source dev='/dev/$VG/$R1'/>
      <target dev='hdc' bus='ide'/>
    </disk>
    <disk type='volume' device='disk'>
      <driver name='qemu' type='raw' cache='none'/>
      <source pool='$DPOOL' volume='refvol'/>
      <target dev='vdd' bus='virtio'/>
      <readonly/>
    </disk>"
e2e_setup

set_policy() { on A virsh metadata "$DOM" urn:drbdmig:1 --key drbdmig --live --set "$1"; }

# refused CASE WHAT REGEX [VIRSH-ARGS...]: a migration A -> B must fail with REGEX in
# virsh's output and change nothing.
refused() {
	local lvs_b
	case_begin "$1"
	lvs_b=$(val B sh -c "lvs --noheadings -o lv_name $VG 2>/dev/null | sort | xargs")
	mig_start A "${@:4}"
	mig_wait
	check "$2: the migration is refused" [ "$MIG_RC" -ne 0 ]
	check "$2: virsh says why ($3)" grep -Eq "$3" <<<"$MIG_OUT"
	check "$2: the message comes from drbdmig" grep -q "drbdmig:" <<<"$MIG_OUT"
	# One round trip per host, both at once: state, DRBD under the LV / LVs, sessions
	# opened, verify.
	val_both "virsh domstate $DOM; dmsetup table $VG-$LV | grep -c ' 147:';
		tail -n +$LOGOFF_A $DLOG | grep -c 'session=.* role=src'; drbdmig verify >/dev/null && echo clean; true" \
		"virsh domstate $DOM 2>/dev/null || echo absent; lvs --noheadings -o lv_name $VG 2>/dev/null | sort | xargs;
		tail -n +$LOGOFF_B $DLOG | grep -c 'session=.* role=dst'; drbdmig verify >/dev/null && echo clean; true"
	check "A: the guest runs, its LV maps no DRBD device, no session opened, verify clean [$VAL_A]" \
		[ "$VAL_A" = "running 0 0 clean" ]
	check "B: no guest, its LVs as before, no session opened, verify clean [$VAL_B]" \
		[ "$VAL_B" = "$(echo absent "$lvs_b" 0 clean | xargs)" ]
	wait_recs "$(last_rec)" 60
	log "case $CASE: refused as it should ($((SECONDS - CASE_T0)) s)"
}

set_policy '<policy resync-rate="fast"><disk target="hda"/></policy>'
refused bad-annotation "a bad annotation" "resync-rate.*fast"

set_policy '<policy resync-rate="200M"><disk target="hda"/><disk target="hdb"/></policy>'
refused not-an-lv "a disk that is not an LV" "hdb.*not an LVM"

# A second live table over the raid's images and metadata would corrupt them.
set_policy '<policy resync-rate="200M"><disk target="hda"/><disk target="hdc"/></policy>'
refused raid1-lv "a raid1 LV" "hdc.*/dev/$VG/$R1 is a raid1 LV \(dm target 'raid'\)"
set_policy '<policy resync-rate="200M"><disk target="hda"/><disk target="vdd"/></policy>'
refused dir-pool "a volume of a 'dir' pool" "vdd.*storage pool '$DPOOL' is a 'dir' pool"
set_policy "$GOOD"

# A snapshot turns the guest's own LV into a snapshot-origin target (live, while it writes).
on A lvcreate -qy --monitor n -s -L 12M -n "$SNAP" "$VG/$LV"
refused snapshot-origin "an LV with a snapshot" \
	"hda.*/dev/$VG/$LV is a snapshot origin LV \(dm target 'snapshot-origin'\)"
on A lvremove -qy "$VG/$SNAP"

on B vgrename -q "$VG" vgaway
refused vg-missing "a VG missing on the destination" "volume group $VG does not exist on the destination $LAB_HOSTNAME_B"
on B vgrename -q vgaway "$VG"

on B lvcreate -qy -l 100%FREE -n filler "$VG"
refused vg-full "a full VG on the destination" "$VG on the destination $LAB_HOSTNAME_B has [0-9]+ MiB free"
on B lvremove -qy "$VG/filler"

on B lvcreate -qy -L 8M -n "$LV" "$VG"
refused lv-exists "the disk's LV on the destination already" "$VG/$LV exists on the destination $LAB_HOSTNAME_B already"
on B lvremove -qy "$VG/$LV"

# libvirt refuses a storage copy itself where a copied disk's path is missing on B
# ("cannot precreate storage for disk type 'block'"); where the path exists there (an
# admin's link, here to a decoy LV), only drbdmig's check stands between the two copies.
# Only hda is copied (--migrate-disks): hdb's and hdc's paths do not exist on B.
on B lvcreate -qy -L 4M -n decoy "$VG"
on B ln -s decoy "/dev/$VG/$LV"
refused copy-storage-all "--copy-storage-all" "asks libvirt to copy the storage" \
	--copy-storage-all --migrate-disks hda
refused copy-storage-inc "--copy-storage-inc" "asks libvirt to copy the storage" \
	--copy-storage-inc --migrate-disks hda
on B rm -f "/dev/$VG/$LV"
on B lvremove -qy "$VG/decoy"

log "PASS: 10 refusals, nothing changed ($((SECONDS - T_START)) s)"
