#!/bin/bash
# Two guests and four disks on real DRBD. Guest multi1 has three annotated disks: hda (its
# record ring), hdb (8 MiB of random data, policy source-after="keep") and hdc (4 MiB of
# random data); guest multi2 has one. multi1 starts on A, multi2 on B, and both migrate at the same time in opposite
# directions (`virsh migrate --live --p2p` A -> B and B -> A, two sessions in each
# daemon, one per direction). The disks are named as admins' XML names them: multi1's hda
# as /dev/disk/by-id/dm-name-VG-LV (udev's link), hdb as /dev/mapper/VG-LV with lvm2's
# escaped dash (multi1-b: vg0-multi1--b), hdc by a symlink of the admin's own on A only,
# /dev/guests/multi1-c, multi2's as /dev/disk/by-id/dm-uuid-LVM-<uuid>, which cannot
# exist on the other host (the new LV has another UUID); /dev/VG/LV is what every other
# lab test uses. multi2's disk is a thin LV (8 MiB in the 12 MiB thin pool
# mpool); the migration builds a thin LV in the destination's pool of that name:
#   - refused while A has no thin pool mpool, and while A's mpool is full, with a line
#     that says so, and nothing changed;
#   - after each move the thin LV on the destination maps no more of its pool than the
#     chunks the guest's records cover (the zero-aware sync discards what reads as zeros:
#     a byte copy would map all 8 MiB); the figures, source's and destination's, logged.
# Then:
#   - the destination gave the guests paths that open their LVs there: multi1 keeps its
#     dm-name and /dev/mapper paths (they exist on B too), its symlink (not on B) and
#     multi2's dm-uuid path became /dev/VG/LV;
#     multi2 migrates with --persistent, and its persistent definition on the target
#     (libvirt writes the source's) names /dev/VG/LV too, annotation kept;
#   - both guests run on their targets and go on writing; each record ring is intact
#     with every record the guest reported;
#   - multi1's hdb and hdc on B hold exactly the data they held on A;
#   - A keeps multi1's hdb LV (keep) and removed its hda and hdc LVs (default remove); B
#     removed multi2's LV; nothing else is left over on either host;
#   - migrating multi1 back to A is refused while A still has the kept hdb LV (the
#     destination's LV must not exist), with a readable message and nothing changed;
#   - unless MULTI_ROUNDS=1: once the admin removed the kept copy, both guests migrate
#     back at the same time, checked the same way (so each disk form goes A -> B -> A
#     or B -> A -> B).
#
# Needs LAB_DEB (run-tests.sh's lab stage passes it); skipped without (lib/e2elib.sh).
# shellcheck source=lib/testlib.sh
. "$(dirname "$0")/lib/testlib.sh"

W=$LAB_SHARED/multi
WANT=64
EXTRA_DOMS="multi1 multi2"
EXTRA_LVS="multi1a|multi1-b|multi1c|multi2a|mfill"
TPOOL=mpool
# shellcheck source=lib/e2elib.sh
. "$(dirname "$0")/lib/e2elib.sh"
E2E_CLEAN_EXTRA="lvremove -qy $VG/$TPOOL 2>/dev/null; rm -rf /dev/guests; true"

use() {   # use 1|2: the guest the e2e helpers act on
	if [ "$1" = 1 ]; then
		DOM=multi1 LV=multi1a UUID=5b7f6c52-6e11-4f0e-9d5e-0000000000d1 CONSOLE=console1.log
		THIN_POOL=
	else
		DOM=multi2 LV=multi2a UUID=5b7f6c52-6e11-4f0e-9d5e-0000000000d2 CONSOLE=console2.log
		THIN_POOL=$TPOOL
	fi
}
use 1
M1=
M2=
multi_cleanup() {
	local rc=$?
	hold_on_fail "$rc" && exit "$rc"
	set +e   # a cleanup does all it can (and `(exit 1)` would end it under -e)
	[ -z "$M1" ] || kill "$M1" 2>/dev/null || true
	[ -z "$M2" ] || kill "$M2" 2>/dev/null || true
	e2e_cleanup "$rc"
}
trap multi_cleanup EXIT

# migrate_both SRC1 SRC2: multi1 from SRC1 and multi2 from SRC2, at the same time; fails
# unless both complete.
migrate_both() {
	local rc1 rc2
	use 1; mig_start "$1"; M1=$MIG_PID
	use 2; mig_start "$2"; M2=$MIG_PID
	# mig_start keeps one status file; give each its own
	wait "$M1" || true
	M1=
	wait "$M2" || true
	M2=
	rc1=$(cat "$W/migrate1.rc" 2>/dev/null || echo 255)
	rc2=$(cat "$W/migrate2.rc" 2>/dev/null || echo 255)
	log "multi1: virsh migrate ended with $rc1: $(tr '\n' ' ' <"$W/migrate1.out")"
	log "multi2: virsh migrate ended with $rc2: $(tr '\n' ' ' <"$W/migrate2.out")"
	check "multi1 migrated $1 -> $(other "$1")" [ "$rc1" -eq 0 ]
	check "multi2 migrated $2 -> $(other "$2")" [ "$rc2" -eq 0 ]
}
# One status file per guest: mig_start writes $W/migrate.{rc,out}; wrap it.
mig_start() {
	local src=$1 dst n
	dst=$(other "$1")
	n=${DOM#multi}
	rm -f "$W/migrate$n.rc" "$W/migrate$n.out"
	# multi2's definition goes along (--persistent): the target must fix its disk path
	if [ "$n" = 2 ]; then set -- --persistent; else set --; fi
	log "virsh migrate --live --p2p $* $DOM: $src -> $dst (record $(last_rec))"
	("$LAB" exec "$src" -t 900 -- virsh migrate --live --p2p "$@" "$DOM" \
		"qemu+tcp://$(ip_of "$dst")/system" --migrateuri "tcp://$(ip_of "$dst")" \
		>"$W/migrate$n.out" 2>&1; echo $? >"$W/migrate$n.rc") &
	MIG_PID=$!
}
guest_ok() {   # guest_ok N HOST: guest N runs on HOST, writes on, its ring is intact
	local q here there
	use "$1"
	q="virsh domstate $DOM 2>/dev/null || echo absent"
	val_both "$q" "$q"
	if [ "$2" = A ]; then here=$VAL_A there=$VAL_B; else here=$VAL_B there=$VAL_A; fi
	check "$DOM runs on $2" [ "$here" = running ]
	check "$DOM does not run on $(other "$2")" [ "$there" != running ]
	wait_recs "$(last_rec)" 120
	records_ok "$2"
}
# round_ok H1 H2: after both moved, multi1 on H1 and multi2 on H2 run and write with
# intact rings, both hosts are clean, multi1's hdb arrived whole, the hosts they left
# keep multi1's hdb (keep) and nothing else of theirs.
round_ok() {
	local o1 o2 q
	o1=$(other "$1")
	o2=$(other "$2")
	guest_ok 1 "$1"
	guest_ok 2 "$2"
	both check_clean
	# each host's LVs, and where multi1's hdc is, the sums of its hdb and hdc
	q="echo LVS \$(lvs --noheadings -o lv_name $VG) .; ! test -e /dev/$VG/multi1c ||
		echo SUM \$(sha256sum /dev/$VG/multi1-b /dev/$VG/multi1c | cut -d' ' -f1)"
	val_both "$q" "$q"
	check "multi1's hdb and hdc on $1 hold the original data" \
		[ "$(host_val "$1" | sed -n 's/.* SUM //p')" = "$HDB_SUM $HDC_SUM" ]
	check "$o1 keeps multi1's hdb (source-after=keep)" has_lv "$o1" multi1-b
	check "$o1 removed multi1's hda (source-after=remove)" not has_lv "$o1" multi1a
	check "$o1 removed multi1's hdc (source-after=remove)" not has_lv "$o1" multi1c
	check "$o2 removed multi2's disk" not has_lv "$o2" multi2a
}
host_val() { if [ "$1" = A ]; then echo "$VAL_A"; else echo "$VAL_B"; fi; }
has_lv() { [[ " $(host_val "$1" | sed 's/ \. .*//') " == *" $2 "* ]]; }   # after val_both
# refused N SRC PATTERN WHAT: migrating guest N from SRC is refused and virsh's message
# matches PATTERN (grep -E).  unchanged N SRC: then the guest runs on at SRC and neither
# host keeps anything.
refused() {
	local rc out
	use "$1"
	mig_start "$2"
	wait "$MIG_PID" || true
	rc=$(cat "$W/migrate$1.rc" 2>/dev/null || echo 255)
	out=$(tr '\n' ' ' <"$W/migrate$1.out")
	log "virsh migrate ended with $rc: $out"
	check "$4: refused" [ "$rc" -ne 0 ]
	check "$4: virsh says why" grep -Eq "$3" <<<"$out"
}
unchanged() {
	guest_ok "$1" "$2"
	both check_clean
}
in_range() { [ "$1" -gt 0 ] && [ "$1" -le "$2" ]; }
thin_pool() { on "$1" lvcreate -qy -L 12M -T "$VG/$TPOOL"; }
# thin_mapped HOST: bytes of its pool multi2's thin LV maps on HOST (dmsetup status: thin
# <mapped sectors> <highest mapped sector>)
THIN_MAPPED="dmsetup status $VG-multi2a | awk '\$3 == \"thin\" { print \$4 * 512 }'"
thin_mapped() { val "$1" sh -c "$THIN_MAPPED"; }
# thin_ok HOST SRC_MAPPED: after multi2 moved to HOST, its thin LV there maps no more
# than the pool chunks its records cover (boot sector and ring, recguest.asm: sectors
# 0..min(seq, 4096)), whatever the source mapped (SRC_MAPPED, before the move)
thin_ok() {
	local mapped chunk recs cover dpct mpct
	read -r mapped chunk dpct mpct < <(val "$1" sh -c "$THIN_MAPPED; lvs --noheadings --units b --nosuffix \
		--separator ' ' -o chunk_size,data_percent,metadata_percent $VG/$TPOOL" | xargs)
	use 2
	recs=$(last_rec)
	[ "$recs" -lt 4096 ] || recs=4096
	cover=$(( ((recs + 1) * 512 + chunk - 1) / chunk * chunk ))
	log "thin: multi2's LV (8 MiB) mapped $2 bytes on $(other "$1") before the move, $mapped bytes on $1 after; its records cover $cover bytes ($chunk-byte chunks); $1's pool $TPOOL (12 MiB): data $dpct %, metadata $mpct %"
	check "multi2's thin LV on $1 maps no more than its records cover" in_range "$mapped" "$cover"
}

e2e_daemons
log "== multi1 on A: hda (records), hdb (random data, source-after=keep) and hdc (random data, by the admin's symlink)"
on A sh -c "lvcreate -qy -Wy -Zy -L 8M -n multi1-b $VG && lvcreate -qy -Wy -Zy -L 4M -n multi1c $VG &&
	dd if=/dev/urandom of=/dev/$VG/multi1-b bs=1M count=8 oflag=direct status=none &&
	dd if=/dev/urandom of=/dev/$VG/multi1c bs=1M count=4 oflag=direct status=none &&
	mkdir -p /dev/guests && ln -s /dev/$VG/multi1c /dev/guests/multi1-c"
read -r HDB_SUM HDC_SUM < <(val A sh -c "sha256sum /dev/$VG/multi1-b /dev/$VG/multi1c | cut -d' ' -f1 | xargs")
EXTRA_DISKS="    <disk type='block' device='disk'>
      <driver name='qemu' type='raw' cache='none'/>
      <source dev='/dev/mapper/$VG-multi1--b'/>
      <target dev='hdb' bus='ide'/>
    </disk>
    <disk type='block' device='disk'>
      <driver name='qemu' type='raw' cache='none'/>
      <source dev='/dev/guests/multi1-c'/>
      <target dev='hdc' bus='ide'/>
    </disk>"
use 1
disk_src() { echo "/dev/disk/by-id/dm-name-$VG-$LV"; }
e2e_guest A '<drbdmig:disk target="hda"/> <drbdmig:disk target="hdb" source-after="keep"/> <drbdmig:disk target="hdc"/>'
EXTRA_DISKS=
use 2
log "== multi2 on B: a thin LV in the thin pool $TPOOL"
thin_pool B
disk_src() { echo "/dev/disk/by-id/dm-uuid-$(val "$1" dmsetup info -c --noheadings -o uuid "$VG-$LV")"; }
e2e_guest B
disk_src() { echo "/dev/$VG/$LV"; }
check "multi2's XML names its disk by dm-uuid" \
	grep -q "/dev/disk/by-id/dm-uuid-LVM-" <<<"$(val B virsh domblklist multi2)"

log "== multi2 to A while A has no thin pool $TPOOL, then while A's is full: refused"
refused 2 B "thin LV of pool $TPOOL; $VG/$TPOOL on the destination $LAB_HOSTNAME_A does not exist" \
	"no thin pool on the destination"
on A sh -c "lvcreate -qy -L 4M -T $VG/$TPOOL && lvcreate -qy -V 4M -T $VG/$TPOOL -n mfill &&
	dd if=/dev/urandom of=/dev/$VG/mfill bs=1M count=4 oflag=direct status=none"
refused 2 B "thin pool $VG/$TPOOL on the destination $LAB_HOSTNAME_A has 0 MiB free; the source's thin LVs have [0-9]+ MiB allocated" \
	"the destination's thin pool full"
unchanged 2 B
on A sh -c "lvremove -qy $VG/mfill $VG/$TPOOL && lvcreate -qy -L 12M -T $VG/$TPOOL"

log "== at the same time: multi1 A -> B, multi2 B -> A"
MAPPED=$(thin_mapped B)
migrate_both A B
round_ok B A
thin_ok A "$MAPPED"
BLK=$(val B virsh domblklist multi1)
check "on B multi1's hda keeps its dm-name path" \
	grep -Eq "^ *hda +/dev/disk/by-id/dm-name-$VG-multi1a *$" <<<"$BLK"
check "on B multi1's hdb keeps its /dev/mapper path" \
	grep -Eq "^ *hdb +/dev/mapper/$VG-multi1--b *$" <<<"$BLK"
check "on B multi1's hdc, by A's own symlink /dev/guests/multi1-c (none on B), became /dev/$VG/multi1c" \
	grep -Eq "^ *hdc +/dev/$VG/multi1c *$" <<<"$BLK"
check "on A multi2's dm-uuid path became /dev/$VG/multi2a" \
	grep -Eq "^ *hda +/dev/$VG/multi2a *$" <<<"$(val A virsh domblklist multi2)"
DLOG_A=$(val A cat /var/log/drbdmig/drbdmigd.log)
check "A's daemon says why it changed the path" \
	grep -q "disk hda: /dev/disk/by-id/dm-uuid-LVM-.* does not open /dev/$VG/multi2a on this host" \
	<<<"$DLOG_A"
PDEF=$(val A virsh dumpxml --inactive multi2)
check "multi2's persistent definition on A names /dev/$VG/multi2a" \
	grep -q "<source dev='/dev/$VG/multi2a'" <<<"$PDEF"
check "multi2's persistent definition on A keeps its annotation" grep -q "urn:drbdmig:1" <<<"$PDEF"
check "A's daemon says it rewrote the persistent definition" \
	grep -q "domain=multi2: persistent definition written with this host's disk paths" <<<"$DLOG_A"
log "== multi1 back to A while A keeps the old hdb: refused, nothing changes"
refused 1 B "/dev/$VG/multi1-b exists on the destination $LAB_HOSTNAME_A already" \
	"the destination has the kept LV"
unchanged 1 B

if [ "${MULTI_ROUNDS:-2}" -lt 2 ]; then
	log "PASS: two guests, four disks (one thin, one by a symlink), both directions at once, keep and remove, one round ($((SECONDS - T_START)) s)"
	exit 0
fi
log "== the admin removes the stale copy; both back at the same time"
on A lvremove -qy "$VG/multi1-b"
MAPPED=$(thin_mapped A)
migrate_both B A
round_ok A B
thin_ok B "$MAPPED"
log "PASS: two guests, four disks (one thin, one by a symlink), both directions at once, keep and remove, there and back ($((SECONDS - T_START)) s)"
