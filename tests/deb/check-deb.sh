#!/bin/bash
# Inspect a built drbdmig .deb without installing it on this machine: unpack
# it into a throwaway root with dpkg -x and check what an admin relies on
# (paths, modes, conffiles, the hook link, the unit, man pages, control
# fields), then `systemd-analyze verify` the unit when systemd-analyze exists.
# `dpkg -i`/`-r`/`-P` semantics are checked in the kernel lab instead
# (tests/lab/tests/deb-install.sh), never on this machine.
#
#   tests/deb/check-deb.sh DEB
set -euo pipefail
deb=${1:?usage: check-deb.sh DEB}
[ -f "$deb" ] || { echo "check-deb: no such file: $deb" >&2; exit 1; }
root=$(mktemp -d "${TMPDIR:-/tmp}/drbdmig-debroot.XXXXXX")
trap 'rm -rf --one-file-system "$root"' EXIT
dpkg-deb -x "$deb" "$root"
fails=0
ok()  { echo "ok: $*"; }
bad() { echo "FAIL: $*"; fails=$((fails + 1)); }
check() {   # check DESCRIPTION COMMAND...
	local d=$1
	shift
	if "$@"; then ok "$d"; else bad "$d"; fi
}
mode() { stat -c %a "$root$1"; }
is_exec_file() { [ -f "$root$1" ] && [ ! -L "$root$1" ] && [ "$(mode "$1")" = 755 ]; }
absent() { [ ! -e "$root$1" ] && [ ! -L "$root$1" ]; }

for f in /usr/sbin/drbdmigd /usr/bin/drbdmig /usr/libexec/drbdmig/qemu-hook; do
	check "$f is an executable file, mode 755" is_exec_file "$f"
done
hook=/etc/libvirt/hooks/qemu.d/drbdmig
check "$hook is a symlink to /usr/libexec/drbdmig/qemu-hook" \
	[ "$(readlink "$root$hook")" = /usr/libexec/drbdmig/qemu-hook ]
check "the hook runs (fast path: plain domain, exit 0)" \
	sh -c "echo '<domain><name>x</name></domain>' | '$root/usr/libexec/drbdmig/qemu-hook' x migrate begin -"
check "the unit is in /lib/systemd/system" [ -f "$root/lib/systemd/system/drbdmigd.service" ]
check "the unit starts $(grep '^ExecStart=' "$root/lib/systemd/system/drbdmigd.service")" \
	grep -qx 'ExecStart=/usr/sbin/drbdmigd -d' "$root/lib/systemd/system/drbdmigd.service"
for m in man1/drbdmig.1 man8/drbdmigd.8 man5/drbdmig.conf.5 man5/drbdmig-policy.5; do
	check "man page $m" [ -s "$root/usr/share/man/$m.gz" ]
	check "man page $m has no unsubstituted @...@" \
		sh -c "! zcat '$root/usr/share/man/$m.gz' | grep -q '@[a-zA-Z_]*@'"
done
check "schema in /usr/share/drbdmig/schema" [ -s "$root/usr/share/drbdmig/schema/drbdmig-policy.rng" ]
check "/etc/drbdmig/drbdmig.conf is there" [ -s "$root/etc/drbdmig/drbdmig.conf" ]
check "/var/lib/drbdmig has mode 700" [ "$(mode /var/lib/drbdmig)" = 700 ]
check "nothing under /run" absent /run
check "nothing under /var/run" absent /var/run
check "the sample configuration passes drbdmigd --check-config" \
	"$root/usr/sbin/drbdmigd" --check-config -f "$root/etc/drbdmig/drbdmig.conf"

conffiles=$(dpkg-deb --info "$deb" conffiles)
check "conffiles is exactly /etc/drbdmig/drbdmig.conf (got: ${conffiles//$'\n'/ })" \
	[ "$conffiles" = /etc/drbdmig/drbdmig.conf ]
field() { dpkg-deb --field "$deb" "$1"; }
for p in drbd-utils lvm2; do
	check "Depends names $p" sh -c "dpkg-deb --field '$deb' Depends | grep -qw '$p'"
done
check "Recommends libvirt-daemon-system" [ "$(field Recommends)" = libvirt-daemon-system ]
check "Version $(field Version) is configure.ac's" \
	grep -q "^AC_INIT(\[drbdmig\], \[$(field Version)\]" "$(dirname "$0")/../../configure.ac"
echo "files: $(find "$root" -type f -o -type l | wc -l), installed size $(field Installed-Size) KiB"

if command -v systemd-analyze >/dev/null; then
	# Verify a copy whose commands point into the unpacked root (verify wants
	# the executables to exist); man pages are checked above.
	u=$root/verify/drbdmigd.service
	mkdir -p "$root/verify"
	sed "s|=/usr/sbin/|=$root/usr/sbin/|" "$root/lib/systemd/system/drbdmigd.service" >"$u"
	if out=$(systemd-analyze verify --man=no "$u" 2>&1) && [ -z "$out" ]; then
		ok "systemd-analyze verify drbdmigd.service"
	else
		bad "systemd-analyze verify drbdmigd.service: $out"
	fi
else
	echo "skip: systemd-analyze not installed"
fi

echo "check-deb: $fails failure(s)"
[ "$fails" -eq 0 ]
