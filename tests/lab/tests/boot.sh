#!/bin/bash
# Kernel lab: the two hosts are what later tests expect: the stock 6.1 kernel with dm-mod
# loaded and DRBD 8.4 available, vg0, the private link in both directions, the shared
# folder, libvirtd answering, LAB_STAGE's files in place when a stage was given, and the
# package installed when LAB_DEB was given.
# shellcheck source=lib/testlib.sh
. "$(dirname "$0")/lib/testlib.sh"

for h in A B; do
	log "== host $h"
	log "kernel $(val "$h" uname -r)"
	on "$h" grep -qw dm_mod /proc/modules
	v=$(val "$h" modinfo -F version drbd)
	log "drbd module version $v"
	check "host $h has DRBD 8.4" [ "${v#8.4.}" != "$v" ]
	on "$h" vgs "$LAB_VG"
	on "$h" virsh -c qemu:///system version
	on "$h" test -x /usr/lib/drbd/drbdsetup-84
done

log "== private link"
on A ping -c 2 -W 5 "$LAB_IP_B"
on B ping -c 2 -W 5 "$LAB_IP_A"
check "B's libvirtd answers A over the link" \
	"$LAB" exec A -- virsh -c "qemu+tcp://$LAB_IP_B/system" hostname

log "== shared folder"
token=$$.$RANDOM
on A sh -c "echo $token >/lab/shared/boot-token"
check "B reads what A wrote in /lab/shared" [ "$(val B cat /lab/shared/boot-token)" = "$token" ]
check "the machine sees it in \$LAB_SHARED" [ "$(cat "$LAB_SHARED/boot-token")" = "$token" ]
rm -f "$LAB_SHARED/boot-token"

if [ -n "${LAB_STAGE:-}" ]; then
	f=$(cd "$LAB_STAGE" && find . -type f | head -n1)
	if [ -n "$f" ]; then
		log "== stage: ${f#.} from $LAB_STAGE"
		for h in A B; do on "$h" test -f "${f#.}"; done
	fi
fi
if [ -n "${LAB_DEB:-}" ]; then
	v=$(dpkg-deb --field "$LAB_DEB" Version)
	log "== LAB_DEB: drbdmig $v installed at boot"
	for h in A B; do
		# shellcheck disable=SC2016  # dpkg-query's format, not a shell expansion
		check "host $h has drbdmig $v installed" \
			[ "$(val "$h" dpkg-query -W -f='${db:Status-Abbrev}${Version}' drbdmig)" = "ii $v" ]
		on "$h" test -x /etc/libvirt/hooks/qemu.d/drbdmig
	done
fi
log "PASS ($((SECONDS - T_START)) s)"
