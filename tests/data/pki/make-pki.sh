#!/bin/sh
# Generates throw-away credentials for the peer channel tests into OUTDIR
# (nothing secret is ever committed):
#   ca.pem ca-key.pem            the trusted test CA
#   server.pem server-key.pem    CN=localhost, DNS localhost, IP 127.0.0.1 (tls_www_server)
#   client.pem client-key.pem    CN=drbdmig-client (tls_www_client)
#   wrongname.pem wrongname-key.pem   server cert of the right CA for another host
#   revoked.pem revoked-key.pem  client cert of the right CA, revoked in crl.pem
#   other-ca.pem                 a second, untrusted CA, which signed
#   other-server.pem/-key.pem, other-client.pem/-key.pem
#   monitor.pem monitor-key.pem  client cert of the right CA for a host not in
#                                the tests' peers (DNS monitor.example)
#   cnonly.pem cnonly-key.pem    client cert with only CN=cnonly.example, no SAN
#   a.psk                        host "localhost": "127.0.0.1:<key AB>" (its peer B)
#   b.psk                        host "127.0.0.1": "localhost:<key AB>" (its peer A)
#   wrongpair.psk                "localhost:<key of another pair>"
#   old.psk                      the old scheme's single shared key, "lab:<key>"
# Exits 77 when certtool or psktool is missing (gnutls-bin).
set -eu
out=${1:?usage: make-pki.sh OUTDIR}
for t in certtool psktool; do
	command -v "$t" >/dev/null 2>&1 || { echo "make-pki: $t not found (apt-get install gnutls-bin)" >&2; exit 77; }
done
mkdir -p "$out"
cd "$out"
umask 077

key() { certtool --generate-privkey --key-type=ecdsa --outfile "$1" >/dev/null 2>&1; }

ca() {   # ca <name> <cn>
	key "$1-key.pem"
	printf 'cn = "%s"\nca\ncert_signing_key\ncrl_signing_key\nexpiration_days = 3\n' "$2" > "$1.tmpl"
	certtool --generate-self-signed --load-privkey "$1-key.pem" --template "$1.tmpl" \
		--outfile "$1.pem" >/dev/null 2>&1
}

cert() {   # cert <name> <ca> <template lines...>
	name=$1 ca=$2
	shift 2
	key "$name-key.pem"
	printf '%s\n' "$@" "expiration_days = 3" "signing_key" "encryption_key" > "$name.tmpl"
	certtool --generate-certificate --load-privkey "$name-key.pem" \
		--load-ca-certificate "$ca.pem" --load-ca-privkey "$ca-key.pem" \
		--template "$name.tmpl" --outfile "$name.pem" >/dev/null 2>&1
}

ca ca "drbdmig test CA"
ca other-ca "some other CA"
cert server ca 'cn = "localhost"' 'dns_name = "localhost"' 'ip_address = "127.0.0.1"' tls_www_server
cert client ca 'cn = "drbdmig-client"' tls_www_client
cert wrongname ca 'cn = "elsewhere.example"' 'dns_name = "elsewhere.example"' tls_www_server
cert other-server other-ca 'cn = "localhost"' 'dns_name = "localhost"' 'ip_address = "127.0.0.1"' tls_www_server
cert other-client other-ca 'cn = "intruder"' tls_www_client
cert monitor ca 'cn = "monitor.example"' 'dns_name = "monitor.example"' tls_www_client
cert cnonly ca 'cn = "cnonly.example"' tls_www_client
cert revoked ca 'cn = "revoked-client"' tls_www_client
printf 'crl_next_update = 3\ncrl_number = 1\n' > crl.tmpl
certtool --generate-crl --load-ca-privkey ca-key.pem --load-ca-certificate ca.pem \
	--load-certificate revoked.pem --template crl.tmpl --outfile crl.pem >/dev/null 2>&1
rm -f ./*.tmpl

# Pairwise keys: each host's file names the other host, as its peers do.
hexkey() { rm -f k.tmp; psktool -u x -p k.tmp >/dev/null 2>&1; cut -d: -f2 k.tmp; rm -f k.tmp; }
ab=$(hexkey)
printf '127.0.0.1:%s\n' "$ab" > a.psk
printf 'localhost:%s\n' "$ab" > b.psk
printf 'localhost:%s\n' "$(hexkey)" > wrongpair.psk
printf 'lab:%s\n' "$(hexkey)" > old.psk
chmod 600 a.psk b.psk wrongpair.psk old.psk
echo "make-pki: test credentials in $out"
