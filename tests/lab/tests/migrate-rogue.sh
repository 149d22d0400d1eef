#!/bin/bash
# The trust boundary on real hosts (doc/security.md).  The annotated record guest runs on
# A; both daemons accept PSK (pairwise keys, `peers` naming each other) and X.509
# certificates of one test CA.  Through the real peer protocol (tests/lab/tools/peercall):
#   (a) strangers: a certificate of the same CA for a host not in `peers`, a PSK identity
#       not in `peers`, and B's own identity with a key that is not the pair's -- each is
#       refused after the handshake with one log line on A naming the identity and the
#       address; nothing is created on either host;
#   (b) a configured peer (B, with B's own credentials) asks A, the guest's host, about
#       disks that are not the guest's annotated disks: a scratch LV of A and the LV of
#       another guest, by path and by an unannotated target.  Refused where the request
#       names a target the domain does not annotate; where it names the annotated target
#       with another path, A answers for the guest's own LV.  The scratch and other LVs'
#       tables, tags and data are unchanged, no DRBD minor exists;
#   (c) 64 idle and junk connections, refreshed, from an address of each host that is not
#       a peer, against both peer ports for the whole of a real `virsh migrate --live
#       --p2p` A -> B: the migration completes, every record the guest reported is on B,
#       both daemons answer `drbdmig ping`, nothing is left over.
#
# Needs LAB_DEB (run-tests.sh's lab stage passes it); skipped without (lib/e2elib.sh).
# shellcheck source=lib/testlib.sh
. "$(dirname "$0")/lib/testlib.sh"

DOM=rogue
LV=roguedisk
UUID=5b7f6c52-6e11-4f0e-9d5e-0000000000a9
WANT=64
W=$LAB_SHARED/rogue
FLOOD_A=$LAB_ROGUE_IP_A    # not a peer: the flood's own addresses (lib/consts.sh)
FLOOD_B=$LAB_ROGUE_IP_B
PORT=7780
IP_B_RE=${LAB_IP_B//./\\.}   # B's address as an extended regular expression
# shellcheck source=lib/e2elib.sh
. "$(dirname "$0")/lib/e2elib.sh"

rogue_cleanup() {
	local rc=$?
	hold_on_fail "$rc" && exit "$rc"
	set +e
	mig_kill
	for h in A B; do
		try "$h" sh -c "test ! -e /root/flood.pid || kill \$(cat /root/flood.pid); rm -f /root/flood.pid
			ip addr del $FLOOD_A/$LAB_NETMASK dev $LAB_LINK_DEV; ip addr del $FLOOD_B/$LAB_NETMASK dev $LAB_LINK_DEV
			lvremove -qy $VG/scratch $VG/otherdisk; rm -rf /root/rogue /etc/drbdmig/pki; true" 2>/dev/null
	done
	e2e_cleanup "$rc"
}
trap rogue_cleanup EXIT

e2e_setup

log "== the peer tool and a test PKI: A and B (IP names), and a stranger of the same CA"
BUILD=${DRBDMIG_BUILDDIR:-$LAB_SRC}
make -s -C "$BUILD" tests/lab/tools/peercall >/dev/null || fail "cannot build peercall"
cp "$BUILD/tests/lab/tools/peercall" "$W/peercall"
PKI=$W/pki
mkdir -p "$PKI"
(
	cd "$PKI" || exit 1
	umask 077
	key() { certtool --generate-privkey --key-type=ecdsa --outfile "$1" >/dev/null 2>&1; }
	key ca-key.pem
	printf 'cn = "drbdmig lab CA"\nca\ncert_signing_key\nexpiration_days = 2\n' >ca.tmpl
	certtool --generate-self-signed --load-privkey ca-key.pem --template ca.tmpl \
		--outfile ca.pem >/dev/null 2>&1
	for n in "a:$LAB_IP_A" "b:$LAB_IP_B" stranger:; do
		key "${n%%:*}-key.pem"
		{ if [ -n "${n#*:}" ]; then echo "cn = \"${n#*:}\""; echo "ip_address = \"${n#*:}\"";
		  else echo 'cn = "monitor.example"'; echo 'dns_name = "monitor.example"'; fi
		  printf 'tls_www_server\ntls_www_client\nsigning_key\nencryption_key\nexpiration_days = 2\n'; } >"${n%%:*}.tmpl"
		certtool --generate-certificate --load-privkey "${n%%:*}-key.pem" --load-ca-certificate ca.pem \
			--load-ca-privkey ca-key.pem --template "${n%%:*}.tmpl" --outfile "${n%%:*}.pem" >/dev/null 2>&1
	done
	rm -f ./*.tmpl ca-key.pem
) || fail "cannot make the test PKI (certtool)"
[ -s "$PKI/stranger.pem" ] || fail "no stranger certificate"
G_PKI=$G_W/pki
for h in A B; do
	n=$(tr AB ab <<<"$h")
	# shellcheck disable=SC2016  # expanded by the host's shell
	sh_on "$h" 'set -e
		install -d -m 700 /etc/drbdmig/pki
		install -m 644 "$1/ca.pem" /etc/drbdmig/pki/ca.pem
		install -m 644 "$1/$2.pem" /etc/drbdmig/pki/cert.pem
		install -m 600 "$1/$2-key.pem" /etc/drbdmig/pki/key.pem
		sed -i "s/^peer_auth = psk\$/peer_auth = auto/" "$3"
		printf "%s\n" "tls_ca_file = /etc/drbdmig/pki/ca.pem" \
			"tls_server_cert = /etc/drbdmig/pki/cert.pem" "tls_server_key = /etc/drbdmig/pki/key.pem" \
			"tls_client_cert = /etc/drbdmig/pki/cert.pem" "tls_client_key = /etc/drbdmig/pki/key.pem" >>"$3"
		drbdmigd --check-config >/dev/null' "$G_PKI" "$n" "$CONF"
	daemon_stop "$h"
	daemon_start "$h"
done

# The stranger's own configurations, on B (its address is B's: only the identity differs).
# shellcheck disable=SC2016  # expanded by the host's shell
sh_on B 'set -e; install -d -m 700 /root/rogue; cd /root/rogue
	install -m 600 "$1/stranger.pem" cert.pem; install -m 600 "$1/stranger-key.pem" key.pem
	install -m 644 "$1/ca.pem" ca.pem
	printf "%s\n" "peer_auth = x509" "peers = $2" "tls_ca_file = /root/rogue/ca.pem" \
		"tls_server_cert = /root/rogue/cert.pem" "tls_server_key = /root/rogue/key.pem" \
		"tls_client_cert = /root/rogue/cert.pem" "tls_client_key = /root/rogue/key.pem" >x509.conf
	printf "%s:%s\n" "$2" "$(head -c 32 /dev/urandom | od -An -tx1 | tr -d " \n")" >stranger.psk
	printf "%s:%s\n" "$2" "$(head -c 32 /dev/urandom | od -An -tx1 | tr -d " \n")" >wrongkey.psk
	chmod 600 stranger.psk wrongkey.psk
	printf "%s\n" "peer_auth = psk" "peers = $2" "peer_name = stranger" \
		"peer_psk_file = /root/rogue/stranger.psk" >psk-stranger.conf
	printf "%s\n" "peer_auth = psk" "peers = $2" "peer_name = $3" \
		"peer_psk_file = /root/rogue/wrongkey.psk" >psk-wrongkey.conf' "$G_PKI" "$LAB_IP_A" "$LAB_IP_B"

# LVs on A that are not the guest's annotated disk, with data to compare.
on A lvcreate -qy -L 8M -n scratch "$VG"
on A lvcreate -qy -L 8M -n otherdisk "$VG"
lvstate() {   # table, tags and data checksum of A's non-guest LVs, one line
	val A sh -c "for l in scratch otherdisk; do dmsetup table $VG-\$l; lvs --noheadings -o lv_tags $VG/\$l;
		md5sum </dev/$VG/\$l; done | tr -s ' \n' ' '"
}
sh_on A "head -c 8M /dev/urandom >/dev/$VG/scratch; head -c 8M /dev/urandom >/dev/$VG/otherdisk; sync"
LVSTATE=$(lvstate)

pc() {   # pc CONF 'verb k=v ...': peercall from B to A's daemon; sets PC_RC, PC_OUT
	PC_RC=0
	PC_OUT=$(val B sh -c "$G_W/peercall -f \"\$1\" $LAB_IP_A $PORT \"\$2\" 2>&1; echo rc=\$?" sh "$1" "$2" |
		tr '\n' ' ')
	PC_RC=$(sed -n 's/.*rc=\([0-9]*\) *$/\1/p' <<<"$PC_OUT")
	log "peercall ($1) '$2': $PC_OUT"
}
nothing_changed() {   # nothing_changed WHAT
	local st="grep -cE '^ *[0-9]+:' /proc/drbd; dmsetup ls | grep -c '^drbdmig-'; drbdmig verify >/dev/null && echo clean; true"
	val_both "$st" "$st"
	check "$1: no DRBD minor, no overlay device, verify clean on A [$VAL_A]" [ "$VAL_A" = "0 0 clean" ]
	check "$1: the same on B [$VAL_B]" [ "$VAL_B" = "0 0 clean" ]
	check "$1: A's other LVs unchanged (table, tags, data)" [ "$(lvstate)" = "$LVSTATE" ]
	check "$1: the guest still runs on A" [ "$(val A virsh domstate $DOM)" = running ]
}

case_begin control
pc "$CONF" "whohas uuid=$UUID"
check "B, a configured peer, is served (control)" grep -q 'status=0 .*state=running' <<<"$PC_OUT"

case_begin stranger-x509
pc /root/rogue/x509.conf "whohas uuid=$UUID"
check "a certificate of the same CA for a host not in peers is refused" [ "$PC_RC" = 2 ]
check "A logs the refusal naming the identity and the address" case_log A "monitor\.example.*$IP_B_RE|$IP_B_RE.*monitor\.example"
show_log A "refus|monitor"
nothing_changed "stranger-x509"

case_begin stranger-psk
pc /root/rogue/psk-stranger.conf "whohas uuid=$UUID"
check "a PSK identity not in peers is refused" [ "$PC_RC" = 2 ]
check "A logs the refusal naming the identity and the address" case_log A "stranger.*$IP_B_RE|$IP_B_RE.*stranger"
show_log A "refus|stranger|PSK"
pc /root/rogue/psk-wrongkey.conf "whohas uuid=$UUID"
check "B's identity with a key that is not the pair's is refused" [ "$PC_RC" = 2 ]
nothing_changed "stranger-psk"

case_begin peer-asks-other-disks
pc "$CONF" "probe uuid=$UUID target=vdz path=/dev/$VG/scratch"
check "probe of a target the guest does not annotate: refused" grep -q "status=[1-9].*not an annotated disk" <<<"$PC_OUT"
pc "$CONF" "probe uuid=$UUID target=hda path=/dev/$VG/otherdisk"
check "probe of the annotated target with another path: A answers for the guest's own LV" \
	grep -q "status=0 .*lv=$LV" <<<"$PC_OUT"
TOK=$(head -c 16 /dev/urandom | od -An -tx1 | tr -d ' \n')
pc "$CONF" "open sid=0badc0de tok=$TOK uuid=$UUID secret=0011 ndisks=1"
check "open by the configured peer: accepted (the domain carries the policy on A)" grep -q "status=0" <<<"$PC_OUT"
pc "$CONF" "disk sid=0badc0de tok=$TOK i=0 target=scratch path=/dev/$VG/scratch dhost=$LAB_HOSTNAME_B daddr=$LAB_IP_B dminor=120 dport=7990"
check "disk naming the scratch LV: refused" grep -q "status=[1-9].*not an annotated disk" <<<"$PC_OUT"
pc "$CONF" "disk sid=0badc0de tok=$TOK i=0 target=vdz path=/dev/$VG/otherdisk dhost=$LAB_HOSTNAME_B daddr=$LAB_IP_B dminor=120 dport=7990"
check "disk naming another guest's LV under an unannotated target: refused" grep -q "status=[1-9].*not an annotated disk" <<<"$PC_OUT"
pc "$CONF" "rollback sid=0badc0de tok=$TOK reason=rogue-test"
check "the peer's own session rolls back" grep -q "status=0" <<<"$PC_OUT"
nothing_changed "peer-asks-other-disks"

case_begin flood
on A ip addr add "$FLOOD_A/$LAB_NETMASK" dev "$LAB_LINK_DEV"
on B ip addr add "$FLOOD_B/$LAB_NETMASK" dev "$LAB_LINK_DEV"
sh_on A "$G_W/peercall -F 64 -T 600 -b $FLOOD_A $LAB_IP_B $PORT </dev/null >/root/flood.out 2>&1 & echo \$! >/root/flood.pid"
sh_on B "$G_W/peercall -F 64 -T 600 -b $FLOOD_B $LAB_IP_A $PORT </dev/null >/root/flood.out 2>&1 & echo \$! >/root/flood.pid"
sleep 3
before=$(last_rec)
mig_start A
mig_wait
for h in A B; do
	sh_on "$h" "kill \$(cat /root/flood.pid); rm -f /root/flood.pid; sleep 0.5; cat /root/flood.out" | sed "s/^/    [$h] /"
done
on A ip addr del "$FLOOD_A/$LAB_NETMASK" dev "$LAB_LINK_DEV"
on B ip addr del "$FLOOD_B/$LAB_NETMASK" dev "$LAB_LINK_DEV"
check "the migration completed under the flood" [ "$MIG_RC" = 0 ]
show_log B "refus|too many|pre-auth|handshake"
for h in A B; do
	check "drbdmigd on $h answers ping" probe "$h" drbdmig ping
done
expect_outcome B

log "PASS: strangers refused, a peer kept to the guest's own disks, migration under a flood ($((SECONDS - T_START)) s)"
