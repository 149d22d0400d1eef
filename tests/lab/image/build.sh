#!/bin/bash
# Build, or reuse from the cache, the kernel lab's host image:
#   rootfs.img          raw ext4 root filesystem (Debian bookworm, debootstrap minbase +
#                       image/packages), shared read-only by the lab hosts (each boots on
#                       its own qcow2 overlay)
#   vmlinuz, kver       the stock Debian kernel (linux-image-amd64, 6.1); its modules,
#                       dm-mod and drbd 8.4 among them, are in the root filesystem
#   initrd-base.cpio.gz busybox + the modules needed to mount the root disk; lab.sh
#                       appends the lab's own /init and guest scripts at every boot, so
#                       editing tests/lab/guest/ never rebuilds the image
#   manifest            key, kernel, package versions
#
# Cache: ${DRBDMIG_LAB_CACHE:-/var/cache/drbdmig-lab}/images/<key>, where <key> hashes this
# script and image/packages: editing either rebuilds. Other keys are pruned after a build
# (LAB_KEEP_OLD_IMAGES=1 keeps them). Builds are serialised by a lock in the cache.
#
# Usage: image/build.sh [--force]      prints the image directory on stdout
#        image/build.sh --key          prints the cache key only
# Env:   LAB_MIRROR  Debian mirror (default: the host's apt source, else deb.debian.org)
set -euo pipefail
# shellcheck source=lib/common.sh
. "$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)/../lib/common.sh"

SUITE=bookworm
HERE=$LAB_DIR/image
KEY=$(lab_hash_files "$HERE/build.sh" "$HERE/packages")
IMG=$LAB_CACHE/images/$KEY
FORCE=
case "${1:-}" in
--key) echo "$KEY"; exit 0 ;;
--force) FORCE=1 ;;
"") ;;
*) die "usage: image/build.sh [--force|--key]" ;;
esac

# Module trees the lab never loads: dropped to keep the image small.
PRUNE_MODULES="sound drivers/gpu drivers/media drivers/net/wireless drivers/infiniband
	drivers/staging drivers/iio drivers/bluetooth net/bluetooth drivers/isdn
	drivers/net/ethernet drivers/scsi/lpfc drivers/scsi/qla2xxx drivers/hwmon"
# Modules the initramfs needs to mount the root disk (plus their dependencies).
INITRD_MODULES="virtio_pci virtio_blk ext4"

if [ -z "$FORCE" ] && [ -e "$IMG/.complete" ]; then
	echo "$IMG"
	exit 0
fi

[ "$(id -u)" -eq 0 ] || skip "building the lab image needs root (debootstrap, chroot)"
reason=$(lab_ensure_host_pkgs) || skip "$reason"

lab_mirror() {
	if [ -n "${LAB_MIRROR:-}" ]; then echo "$LAB_MIRROR"; return; fi
	local m
	m=$(awk '/^URIs:/ { for (i = 2; i <= NF; i++) if ($i ~ /\/debian\/?$/) { print $i; exit } }' \
		/etc/apt/sources.list.d/*.sources 2>/dev/null | head -n1 || true)
	if [ -z "$m" ]; then
		m=$(awk '$1 == "deb" { for (i = 2; i <= NF; i++) if ($i ~ /^https?:.*\/debian\/?$/) { print $i; exit } }' \
			/etc/apt/sources.list /etc/apt/sources.list.d/*.list 2>/dev/null | head -n1 || true)
	fi
	echo "${m:-http://deb.debian.org/debian}"
}

mkdir -p "$LAB_CACHE/images"
exec 9>"$LAB_CACHE/.lock"
say "image $KEY: waiting for the cache lock"
flock -w 3600 9 || die "could not lock $LAB_CACHE/.lock within an hour"
if [ -z "$FORCE" ] && [ -e "$IMG/.complete" ]; then   # built meanwhile by someone else
	echo "$IMG"
	exit 0
fi

# Unmount whatever is mounted below $1 (deepest first).
umount_under() {
	local m
	awk -v r="$1" '$2 == r || index($2, r "/") == 1 { print $2 }' /proc/mounts | sort -r |
		while read -r m; do umount "$m" 2>/dev/null || umount -l "$m" || true; done
}
# Leftovers of a build that was killed (we hold the lock: no build is running).
for d in "$LAB_CACHE"/build.*; do
	[ -d "$d" ] || continue
	umount_under "$d"
	rm -rf --one-file-system "$d"
done

WORK=$(mktemp -d "$LAB_CACHE/build.XXXXXX")
ROOT=$WORK/root
OUT=$WORK/out
mkdir -p "$ROOT" "$OUT"
cleanup() {
	local rc=$?
	umount_under "$ROOT"
	rm -rf --one-file-system "$WORK"
	[ $rc -eq 0 ] || say "image build failed (rc=$rc)"
}
trap cleanup EXIT

T0=$SECONDS
step() { say "image: $* (+$((SECONDS - T0))s)"; }
in_root() { chroot "$ROOT" /usr/bin/env -i PATH=/usr/sbin:/usr/bin:/sbin:/bin \
	DEBIAN_FRONTEND=noninteractive LC_ALL=C.UTF-8 "$@"; }

MIRROR=$(lab_mirror)
step "debootstrap $SUITE minbase from $MIRROR"
if ! timeout 1800 debootstrap --variant=minbase --components=main "$SUITE" "$ROOT" "$MIRROR" \
	>"$WORK/debootstrap.log" 2>&1; then
	tail -n 30 "$WORK/debootstrap.log" >&2
	die "debootstrap failed"
fi

step "apt-get install image/packages"
mapfile -t PKGS < <(sed -e 's/#.*//' -e '/^[[:space:]]*$/d' "$HERE/packages" | tr -s ' \t' '\n' | sed '/^$/d')
cat /etc/resolv.conf >"$ROOT/etc/resolv.conf"
printf 'Acquire::Check-Valid-Until "false";\nAcquire::Languages "none";\n' \
	>"$ROOT/etc/apt/apt.conf.d/90drbdmig-lab"
printf '#!/bin/sh\nexit 101\n' >"$ROOT/usr/sbin/policy-rc.d"   # start no service in the chroot
chmod +x "$ROOT/usr/sbin/policy-rc.d"
mount -t proc proc "$ROOT/proc"
in_root timeout 600 apt-get -q update >"$WORK/apt.log" 2>&1 ||
	{ tail -n 30 "$WORK/apt.log" >&2; die "apt-get update in the chroot failed"; }
in_root timeout 1800 apt-get -q install -y --no-install-recommends "${PKGS[@]}" >>"$WORK/apt.log" 2>&1 ||
	{ tail -n 30 "$WORK/apt.log" >&2; die "apt-get install in the chroot failed"; }

step "kernel and busybox packages"
KPKG=$(in_root apt-cache depends linux-image-amd64 | awk '/Depends: linux-image-[0-9]/ { print $2; exit }')
[ -n "$KPKG" ] || die "cannot resolve linux-image-amd64 to a kernel package"
KVER=${KPKG#linux-image-}
mkdir -p "$ROOT/tmp/debs"
in_root sh -c "cd /tmp/debs && apt-get -q download $KPKG busybox-static" >>"$WORK/apt.log" 2>&1 || { tail -n 20 "$WORK/apt.log" >&2; die "apt-get download failed"; }
umount "$ROOT/proc"
# Extract (not install: no initramfs-tools run). The root is merged-/usr, so copy the
# package's /lib/modules into /usr/lib/modules instead of letting dpkg-deb replace /lib.
dpkg-deb -x "$ROOT"/tmp/debs/"${KPKG}"_*.deb "$WORK/kernel"
[ -d "$WORK/kernel/lib/modules/$KVER" ] || die "no modules for $KVER in $KPKG"
mkdir -p "$ROOT/usr/lib/modules"
cp -a "$WORK/kernel/lib/modules/$KVER" "$ROOT/usr/lib/modules/"
for d in $PRUNE_MODULES; do rm -rf "$ROOT/usr/lib/modules/$KVER/kernel/$d"; done
cp "$WORK/kernel/boot/vmlinuz-$KVER" "$OUT/vmlinuz"
cp "$WORK/kernel/boot/config-$KVER" "$ROOT/usr/lib/modules/$KVER/config"
in_root depmod "$KVER"
for m in dm-mod drbd 9p 9pnet_virtio virtio_net; do
	in_root modinfo -k "$KVER" -F filename "$m" >/dev/null || die "kernel $KVER has no module $m"
done
echo "$KVER" >"$OUT/kver"

step "initramfs base (busybox + root disk modules)"
IR=$WORK/initrd
mkdir -p "$IR/bin" "$IR/lib/modules" "$IR/dev" "$IR/proc" "$IR/sys" "$IR/newroot"
dpkg-deb -x "$ROOT"/tmp/debs/busybox-static_*.deb "$WORK/busybox"
cp "$WORK/busybox/bin/busybox" "$IR/bin/busybox"
for a in sh mount umount switch_root insmod sleep cat mkdir cp; do ln -s busybox "$IR/bin/$a"; done
: >"$IR/lib/modules/order"
for m in $INITRD_MODULES; do
	in_root modprobe -S "$KVER" --show-depends "$m" | awk '$1 == "insmod" { print $2 }'
done | awk '!seen[$0]++' | while read -r f; do
	cp "$ROOT$f" "$IR/lib/modules/"
	basename "$f" >>"$IR/lib/modules/order"
done
( cd "$IR" && find . | LC_ALL=C sort | cpio -o -H newc --quiet | gzip -1 ) >"$OUT/initrd-base.cpio.gz"

step "root filesystem configuration"
rm -rf "$ROOT/tmp/debs" "$ROOT/usr/sbin/policy-rc.d" "$ROOT/etc/resolv.conf"
: >"$ROOT/etc/resolv.conf"
in_root apt-get clean
rm -rf "$ROOT"/var/lib/apt/lists/* "$ROOT"/usr/share/doc/* "$ROOT"/usr/share/man/* \
	"$ROOT"/usr/share/locale/* "$ROOT"/usr/share/info/*
# libvirt's default NAT network needs dnsmasq and a bridge: the lab has neither.
rm -f "$ROOT"/etc/libvirt/qemu/networks/autostart/*.xml
: >"$ROOT/etc/fstab"
echo lab >"$ROOT/etc/hostname"
# shellcheck disable=SC2016  # a dpkg-query format, not shell
in_root dpkg-query -W -f '${Package} ${Version}\n' >"$WORK/pkgs"
{
	echo "key $KEY"
	echo "suite $SUITE"
	echo "mirror $MIRROR"
	echo "kernel $KPKG"
	echo "built $(date -u +%Y-%m-%dT%H:%M:%SZ)"
	echo "drbd $(in_root modinfo -k "$KVER" -F version drbd)"
	echo "--- packages"
	cat "$WORK/pkgs"
} >"$OUT/manifest"

step "mkfs.ext4 -d (root filesystem image)"
used_mb=$(du -sm --one-file-system "$ROOT" | cut -f1)
size_mb=$(( used_mb * 13 / 10 + 512 ))
mkfs.ext4 -q -F -L labroot -E root_owner=0:0 -d "$ROOT" "$OUT/rootfs.img" "${size_mb}M" \
	>"$WORK/mkfs.log" 2>&1 || { cat "$WORK/mkfs.log" >&2; die "mkfs.ext4 -d failed"; }
touch "$OUT/.complete"

rm -rf --one-file-system "$IMG"
mv "$OUT" "$IMG"
if [ -z "${LAB_KEEP_OLD_IMAGES:-}" ]; then
	for d in "$LAB_CACHE"/images/*; do
		[ "$d" = "$IMG" ] || rm -rf --one-file-system "$d"
	done
fi
step "image $KEY ready: kernel $KVER, root ${used_mb} MiB used of ${size_mb} MiB"
echo "$IMG"
