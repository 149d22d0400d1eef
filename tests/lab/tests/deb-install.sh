#!/bin/bash
# The Debian package on a lab host, the way an admin without systemd uses it (the lab has
# no systemd): dpkg -i (postinst tells to restart libvirtd, restarts nothing), the installed
# layout and the enabled unit, drbdmigd --check-config, the start path of drbdmigd(8) for
# hosts without systemd (`drbdmigd -p PIDFILE` returns once ready; start-stop-daemon stops
# it), the installed hook against the daemon (refusal while it is down, events while it is
# up), drbdmig ping, then dpkg -r (files gone, the edited conffile kept and kept again over
# a reinstall) and dpkg -P (everything gone).
#
# Needs LAB_DEB (tests/deb/build-deb.sh; run-tests.sh's lab stage passes it); skipped
# without. Runs on host A; if lab.sh up installed LAB_DEB there, it is purged first and
# reinstalled at the end, so that the host is left as found.
# shellcheck source=lib/testlib.sh
. "$(dirname "$0")/lib/testlib.sh"

if [ -z "${LAB_DEB:-}" ] || [ ! -f "$LAB_DEB" ]; then
	log "SKIP: no LAB_DEB (build one with tests/deb/build-deb.sh)"
	exit 77
fi
H=A
DEB=/root/drbdmig-test.deb
PIDF=/run/drbdmig/drbdmigd.pid
SOCK=/run/drbdmig/drbdmigd.sock
CONF=/etc/drbdmig/drbdmig.conf
HOOK=/etc/libvirt/hooks/qemu.d/drbdmig
DLOG=/var/log/drbdmigd-test.log
XML=$G_SRC/xml/examples/domain-one-disk.xml
VERSION=$(dpkg-deb --field "$LAB_DEB" Version)

# dpkg's view of the package on H: "ii", "rc" or "none".
state() {
	# shellcheck disable=SC2016  # expanded by dpkg-query, not by a shell
	val $H sh -c 'dpkg-query -W -f="\${db:Status-Abbrev}" drbdmig 2>/dev/null || echo none' | tr -d ' '
}
# rc_of CMD...: the exit status of CMD on H (its output is logged, not checked).
rc_of() {
	local rc=0
	"$LAB" exec $H -t 120 -- "$@" 2>&1 | sed "s/^/  [$H] /" >&2 || rc=${PIPESTATUS[0]}
	echo "$rc"
}
stop_daemon() {
	"$LAB" exec $H -- start-stop-daemon --stop --quiet --retry TERM/10 \
		--pidfile $PIDF --exec /usr/sbin/drbdmigd
}

WAS=$(state)
log "drbdmig on host $H before the test: $WAS (LAB_DEB $VERSION)"
cleanup() {
	local rc=$?
	trap - EXIT
	[ "$rc" -eq 0 ] || try $H sh -c "cat $DLOG; ls -la /run/drbdmig /etc/drbdmig; dpkg -l drbdmig"
	try $H sh -c "test ! -e $PIDF || start-stop-daemon --stop --quiet --retry TERM/10 \
		--pidfile $PIDF --exec /usr/sbin/drbdmigd"
	try $H rm -f $DLOG
	if [ "$WAS" = ii ]; then
		try $H dpkg -i $DEB
	else
		try $H dpkg -P drbdmig
	fi
	try $H rm -f $DEB
	exit "$rc"
}
trap cleanup EXIT

"$LAB" put $H "$LAB_DEB" $DEB
if [ "$WAS" != none ]; then
	on $H dpkg -P drbdmig
fi
check "no drbdmig installed before dpkg -i" [ "$(state)" = none ]

log "== dpkg -i"
lv_pid=$(val $H pgrep -x libvirtd)
out=$(val $H dpkg -i $DEB 2>&1)
printf '%s\n' "$out" | sed 's/^/  /'
check "installed" [ "$(state)" = ii ]
check "postinst asks to restart the running libvirtd" \
	grep -q "libvirtd discovers hooks only when it starts" <<<"$out"
check "postinst did not restart libvirtd (pid $lv_pid still runs)" \
	[ "$(val $H pgrep -x libvirtd)" = "$lv_pid" ]
on $H test -L $HOOK
on $H test -x $HOOK
check "the hook links to /usr/libexec/drbdmig/qemu-hook" \
	[ "$(val $H readlink $HOOK)" = /usr/libexec/drbdmig/qemu-hook ]
# shellcheck disable=SC2016  # dpkg-query's format, not a shell expansion
check "the conffile is registered" \
	grep -q "^ $CONF " <<<"$(val $H dpkg-query -W -f='${Conffiles}\n' drbdmig)"
check "/var/lib/drbdmig has mode 700" [ "$(val $H stat -c %a /var/lib/drbdmig)" = 700 ]
check "the unit is installed" grep -qx /lib/systemd/system/drbdmigd.service <<<"$(val $H dpkg -L drbdmig)"
# postinst enables it (deb-systemd-helper works without a running systemd)
check "the unit is enabled (multi-user.target wants it)" [ "$(val $H readlink \
	/etc/systemd/system/multi-user.target.wants/drbdmigd.service)" = /lib/systemd/system/drbdmigd.service ]
check "drbdmigd --check-config accepts the shipped configuration" \
	grep -q "configuration OK" <<<"$(val $H drbdmigd --check-config)"

log "== daemon down: the hook refuses an annotated migration, lets others pass"
check "migrate begin refused (exit 1)" [ "$(rc_of sh -c "$HOOK vm1 migrate begin - <$XML")" = 1 ]
check "started begin passes (exit 0)" [ "$(rc_of sh -c "$HOOK vm1 started begin - <$XML")" = 0 ]

log "== start without systemd: drbdmigd -p $PIDF"
on $H drbdmigd -p $PIDF -L $DLOG
# No waiting: the command returns once the socket listens and the pid file is written.
on $H test -S $SOCK
pid=$(val $H cat $PIDF)
check "the pid file names a running drbdmigd" \
	grep -q drbdmigd <<<"$(val $H cat /proc/"$pid"/comm)"
check "drbdmig ping answers" grep -qx "drbdmigd $VERSION is running" <<<"$(val $H drbdmig ping)"
check "a second start is refused" [ "$(rc_of drbdmigd -p $PIDF)" = 1 ]
check "the first daemon still runs" [ "$(val $H cat $PIDF)" = "$pid" ]
check "the installed hook reaches the daemon (started begin, exit 0)" \
	[ "$(rc_of sh -c "$HOOK vm1 started begin - <$XML")" = 0 ]
check "the daemon logged the hook event" grep -q "domain=vm1 op=started" <<<"$(val $H cat $DLOG)"

log "== stop: start-stop-daemon --stop --pidfile $PIDF"
stop_daemon || fail "start-stop-daemon --stop failed"
check "the pid file is gone" [ "$(rc_of test -e $PIDF)" = 1 ]
check "the socket is gone" [ "$(rc_of test -e $SOCK)" = 1 ]
check "drbdmig ping fails" [ "$(rc_of drbdmig ping)" = 1 ]

log "== dpkg -r keeps the edited conffile"
on $H sh -c "echo 'log_level = debug' >>$CONF"
on $H dpkg -r drbdmig
check "removed, configuration kept (rc)" [ "$(state)" = rc ]
check "drbdmigd is gone" [ "$(rc_of test -e /usr/sbin/drbdmigd)" = 1 ]
check "the hook is gone" [ "$(rc_of sh -c "test -e $HOOK || test -L $HOOK")" = 1 ]
check "the edited conffile is kept" [ "$(rc_of grep -qx 'log_level = debug' $CONF)" = 0 ]

log "== dpkg -i again keeps the admin's edit"
on $H dpkg -i $DEB
check "installed again" [ "$(state)" = ii ]
check "the daemon reads the edited conffile" \
	grep -qx "log_level = debug" <<<"$(val $H drbdmigd --check-config)"

log "== dpkg -P removes everything"
on $H dpkg -P drbdmig
check "purged" [ "$(state)" = none ]
for f in $CONF /etc/drbdmig /var/lib/drbdmig /usr/sbin/drbdmigd /usr/bin/drbdmig $HOOK \
	/usr/libexec/drbdmig /lib/systemd/system/drbdmigd.service \
	/etc/systemd/system/multi-user.target.wants/drbdmigd.service; do
	check "$f is gone" [ "$(rc_of sh -c "test -e $f || test -L $f")" = 1 ]
done
log "PASS ($((SECONDS - T_START)) s)"
