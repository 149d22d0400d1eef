#!/bin/sh
# Installs everything drbdmig needs to build and to run its tests on Debian 12
# (run as root).  Safe to run again; installs only what is missing.
set -eu
[ "$(id -u)" -eq 0 ] || { echo "setup-deps: must run as root (apt-get)" >&2; exit 1; }
PKGS="build-essential autoconf automake libtool pkg-config
 libvirt-dev libxml2-dev libdevmapper-dev libnl-3-dev libnl-genl-3-dev libcunit1-dev
 libgnutls28-dev gnutls-bin
 libxml2-utils clang libclang-rt-14-dev valgrind cppcheck clang-tidy bear shellcheck
 libvirt-daemon-system libvirt-clients qemu-system-x86 qemu-utils nasm
 iproute2 util-linux procps psmisc kmod
 debootstrap busybox-static cpio e2fsprogs
 libgnutls28-dev debhelper dh-autoreconf dpkg-dev fakeroot lintian
 bc gnuplot-nox"
missing=""
for p in $PKGS; do
	dpkg-query -W -f='${Status}\n' "$p" 2>/dev/null | grep -q '^install ok installed$' || missing="$missing $p"
done
if [ -z "$missing" ]; then
	echo "setup-deps: all packages present"
	exit 0
fi
echo "setup-deps: installing:$missing"
export DEBIAN_FRONTEND=noninteractive
apt-get update -q
# shellcheck disable=SC2086  # $missing is a package list, one word each
apt-get install -y -q --no-install-recommends $missing
