#include "config.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "core/conf.h"
#include "unit.h"

static int
parse(const char *text, struct dmg_conf *c, struct dmg_error *err)
{
	dmg_conf_defaults(c);
	return dmg_conf_parse(text, strlen(text), "test.conf", c, err);
}

static void
test_defaults(void)
{
	struct dmg_conf c;
	struct dmg_error err;

	CU_ASSERT_EQUAL(parse("", &c, &err), 0);
	CU_ASSERT_EQUAL(c.hook_migrate_timeout, 900);
	CU_ASSERT_EQUAL(c.hook_event_timeout, 10);
	CU_ASSERT_EQUAL(c.log_level, DMG_LOG_INFO);
}

static void
test_values(void)
{
	struct dmg_conf c;
	struct dmg_error err;
	char buf[512];

	CU_ASSERT_EQUAL(parse("# comment\n\n  hook_migrate_timeout = 1200  # twenty minutes\n"
			      "hook_event_timeout=3\r\nlog_level = debug", &c, &err), 0);
	CU_ASSERT_EQUAL(c.hook_migrate_timeout, 1200);
	CU_ASSERT_EQUAL(c.hook_event_timeout, 3);
	CU_ASSERT_EQUAL(c.log_level, DMG_LOG_DEBUG);
	dmg_conf_format(&c, buf, sizeof(buf));
	CU_ASSERT_PTR_NOT_NULL(strstr(buf, "hook_migrate_timeout = 1200\n"));
	CU_ASSERT_PTR_NOT_NULL(strstr(buf, "log_level = debug\n"));
}

static void
expect(const char *text, const char *needle)
{
	struct dmg_conf c;
	struct dmg_error err;

	CU_ASSERT(parse(text, &c, &err) < 0);
	if (!strstr(err.msg, needle))
		fprintf(stderr, "\n  '%s' lacks '%s'\n", err.msg, needle);
	CU_ASSERT_PTR_NOT_NULL(strstr(err.msg, needle));
	/* Nothing half-applied. */
	CU_ASSERT_EQUAL(c.hook_migrate_timeout, 900);
}

static void
test_errors(void)
{
	expect("hook_migrate_timeout = 10\nfoo = 1\n", "test.conf line 2: unknown option 'foo'");
	expect("hook_migrate_timeout\n", "expected 'key = value'");
	expect("hook_migrate_timeout = 0\n", "from 1 to 86400");
	expect("hook_migrate_timeout = 99999999999999999999\n", "from 1 to 86400");
	expect("hook_migrate_timeout = -5\n", "whole number");
	expect("hook_migrate_timeout = 5s\n", "whole number");
	expect("hook_migrate_timeout = \n", "whole number");
	expect("hook_migrate_timeout = 10\nhook_migrate_timeout = 20\n", "set twice");
	expect("log_level = loud\n", "error, warning, info or debug");
	{
		struct dmg_conf c;
		struct dmg_error err;
		static const char nul[] = "log_level = info\0\n";

		dmg_conf_defaults(&c);
		CU_ASSERT(dmg_conf_parse(nul, sizeof(nul) - 1, "x", &c, &err) < 0);
	}
	{
		char longline[2000];

		memset(longline, 'a', sizeof(longline) - 1);
		longline[sizeof(longline) - 1] = '\0';
		expect(longline, "line too long");
	}
}

static void
test_peer_session_keys(void)
{
	struct dmg_conf c;
	struct dmg_error err;
	char host[256];
	unsigned port = 0;

	CU_ASSERT_EQUAL(parse("", &c, &err), 0);
	CU_ASSERT_STRING_EQUAL(c.peer_listen, "0.0.0.0");
	CU_ASSERT_EQUAL(c.peer_port, 7780);
	CU_ASSERT_STRING_EQUAL(c.peers, "");
	CU_ASSERT_EQUAL(c.peer_auth, DMG_PEER_AUTH_AUTO);
	CU_ASSERT_STRING_EQUAL(c.peer_psk_file, "/etc/drbdmig/peer.psk");
	CU_ASSERT_STRING_EQUAL(c.tls_ca_file, "/etc/pki/CA/cacert.pem");
	CU_ASSERT_STRING_EQUAL(c.tls_crl_file, "");
	CU_ASSERT_STRING_EQUAL(c.tls_server_cert, "/etc/pki/libvirt/servercert.pem");
	CU_ASSERT_STRING_EQUAL(c.tls_server_key, "/etc/pki/libvirt/private/serverkey.pem");
	CU_ASSERT_STRING_EQUAL(c.tls_client_cert, "/etc/pki/libvirt/clientcert.pem");
	CU_ASSERT_STRING_EQUAL(c.tls_client_key, "/etc/pki/libvirt/private/clientkey.pem");
	CU_ASSERT_EQUAL(c.peer_timeout, 30);
	CU_ASSERT_STRING_EQUAL(c.replication_address, "");
	CU_ASSERT_EQUAL(c.drbd_port_min, 7800);
	CU_ASSERT_EQUAL(c.drbd_port_max, 7899);
	CU_ASSERT_EQUAL(c.drbd_minor_min, 100);
	CU_ASSERT_EQUAL(c.drbd_minor_max, 199);
	CU_ASSERT_EQUAL(c.sync_timeout, 3600);
	CU_ASSERT_STRING_EQUAL(c.state_dir, "/var/lib/drbdmig");
	CU_ASSERT_STRING_EQUAL(c.cram_hmac_alg, "sha256");
	CU_ASSERT_STRING_EQUAL(c.libvirt_uri, "qemu:///system");
	CU_ASSERT_EQUAL(dmg_conf_peer(&c, 0, host, sizeof(host), &port), 0);

	CU_ASSERT_EQUAL(parse("peer_listen = ::1\npeer_port = 9000\n"
			      "peers =  hostb  10.0.0.2:7781 [fe80::1]:7782\tfe80::2 [::3]\n"
			      "peer_auth = x509\ntls_crl_file = /etc/pki/CA/crl.pem\n"
			      "tls_client_cert =\ntls_client_key =\npeer_auth = psk\n", &c, &err), -EINVAL);
	CU_ASSERT_PTR_NOT_NULL(strstr(err.msg, "line 8: option 'peer_auth' is set twice"));
	CU_ASSERT_EQUAL(parse("peer_listen = ::1\npeer_port = 9000\n"
			      "peers =  hostb  10.0.0.2:7781 [fe80::1]:7782\tfe80::2 [::3]\n"
			      "peer_auth = psk\ntls_crl_file = /etc/pki/CA/crl.pem\n"
			      "tls_client_cert =\ntls_client_key =\nreplication_address = 10.1.0.1\n"
			      "drbd_port_min = 8000\ndrbd_port_max = 8000\ndrbd_minor_min = 0\n"
			      "drbd_minor_max = 1048575\nsync_timeout = 60\nstate_dir = /srv/dmg\n"
			      "cram_hmac_alg = sha512\nlibvirt_uri = qemu+tcp://localhost/system\n"
			      "peer_timeout = 5\n", &c, &err), 0);
	CU_ASSERT_STRING_EQUAL(c.peer_listen, "::1");
	CU_ASSERT_EQUAL(c.peer_port, 9000);
	CU_ASSERT_EQUAL(c.peer_auth, DMG_PEER_AUTH_PSK);
	CU_ASSERT_STRING_EQUAL(c.tls_client_cert, "");
	CU_ASSERT_STRING_EQUAL(c.replication_address, "10.1.0.1");
	CU_ASSERT_EQUAL(c.drbd_port_min, 8000);
	CU_ASSERT_EQUAL(c.drbd_minor_max, 1048575);
	CU_ASSERT_STRING_EQUAL(c.state_dir, "/srv/dmg");
	CU_ASSERT_STRING_EQUAL(c.libvirt_uri, "qemu+tcp://localhost/system");
	/* the peers list, with peer_port where an entry has none */
	CU_ASSERT_EQUAL(dmg_conf_peer(&c, 0, host, sizeof(host), &port), 1);
	CU_ASSERT_STRING_EQUAL(host, "hostb");
	CU_ASSERT_EQUAL(port, 9000);
	CU_ASSERT_EQUAL(dmg_conf_peer(&c, 1, host, sizeof(host), &port), 1);
	CU_ASSERT_STRING_EQUAL(host, "10.0.0.2");
	CU_ASSERT_EQUAL(port, 7781);
	CU_ASSERT_EQUAL(dmg_conf_peer(&c, 2, host, sizeof(host), &port), 1);
	CU_ASSERT_STRING_EQUAL(host, "fe80::1");
	CU_ASSERT_EQUAL(port, 7782);
	CU_ASSERT_EQUAL(dmg_conf_peer(&c, 3, host, sizeof(host), &port), 1);
	CU_ASSERT_STRING_EQUAL(host, "fe80::2");
	CU_ASSERT_EQUAL(port, 9000);
	CU_ASSERT_EQUAL(dmg_conf_peer(&c, 4, host, sizeof(host), &port), 1);
	CU_ASSERT_STRING_EQUAL(host, "::3");
	CU_ASSERT_EQUAL(dmg_conf_peer(&c, 5, host, sizeof(host), &port), 0);
	CU_ASSERT_EQUAL(dmg_conf_peer(&c, 0, host, 3, &port), 0);   /* host buffer too small */
}

/* The peer identity and pre-authentication keys. */
static void
test_peer_limits(void)
{
	struct dmg_conf c;
	struct dmg_error err = { 0 };
	char host[256];
	unsigned port;

	dmg_conf_defaults(&c);
	CU_ASSERT_STRING_EQUAL(c.peer_name, "");
	CU_ASSERT_EQUAL(c.peer_handshake_timeout, 5);
	CU_ASSERT_EQUAL(c.peer_handshake_max, 64);
	CU_ASSERT_EQUAL(c.peer_handshake_per_address, 4);
	CU_ASSERT_EQUAL(c.peer_connections_max, 32);
	CU_ASSERT_EQUAL(parse("peer_name = hosta.example\npeer_handshake_timeout = 2\n"
			      "peer_handshake_max = 10\npeer_handshake_per_address = 1\n"
			      "peer_connections_max = 8\n", &c, &err), 0);
	CU_ASSERT_STRING_EQUAL(c.peer_name, "hosta.example");
	CU_ASSERT_EQUAL(c.peer_handshake_timeout, 2);
	CU_ASSERT_EQUAL(c.peer_handshake_max, 10);
	CU_ASSERT_EQUAL(c.peer_handshake_per_address, 1);
	CU_ASSERT_EQUAL(c.peer_connections_max, 8);
	CU_ASSERT_EQUAL(parse("peer_name = 10.0.0.1\n", &c, &err), 0);
	CU_ASSERT_EQUAL(parse("peer_name = fe80::1\n", &c, &err), 0);
	/* the list form used by the peer channel: no default port */
	CU_ASSERT_EQUAL(dmg_conf_peer_list("hostb [fe80::2]:7781", 1, host, sizeof(host), &port), 1);
	CU_ASSERT_STRING_EQUAL(host, "fe80::2");
	CU_ASSERT_EQUAL(port, 7781);
	CU_ASSERT_EQUAL(dmg_conf_peer_list("hostb", 0, host, sizeof(host), &port), 1);
	CU_ASSERT_EQUAL(port, 0);
	CU_ASSERT_EQUAL(dmg_conf_peer_list("hostb", 1, host, sizeof(host), &port), 0);
	CU_ASSERT_EQUAL(dmg_conf_peer_list(NULL, 0, host, sizeof(host), &port), 0);
}

static void
test_peer_session_errors(void)
{
	char longpath[400];

	expect("peer_listen = \n", "peer_listen must be an IPv4 or IPv6 address");
	expect("peer_listen = hostb\n", "peer_listen must be an IPv4 or IPv6 address, not 'hostb'");
	expect("peer_port = 0\n", "peer_port must be a whole number from 1 to 65535");
	expect("peer_port = 65536\n", "from 1 to 65535");
	expect("peers = a:1 b:0\n", "peers: 'b:0' is not host[:port]");
	expect("peers = a:99999\n", "'a:99999' is not host[:port]");
	expect("peers = a: \n", "'a:' is not host[:port]");
	expect("peers = [::1\n", "'[::1' is not");
	expect("peers = [hostb]:7\n", "'[hostb]:7' is not");
	expect("peers = a..b\n", "'a..b' is not");
	expect("peers = -a\n", "'-a' is not");
	expect("peers = fe80::1::2\n", "'fe80::1::2' is not");
	expect("peers = a_b\n", "'a_b' is not");
	expect("peer_auth = cert\n", "peer_auth must be auto, psk or x509, not 'cert'");
	expect("peer_psk_file = peer.psk\n", "peer_psk_file must be an absolute path");
	expect("tls_ca_file = /etc/a b\n", "tls_ca_file must be an absolute path without spaces");
	memset(longpath, 'a', sizeof(longpath) - 1);
	longpath[0] = '/';
	longpath[sizeof(longpath) - 1] = '\0';
	{
		char text[512];

		snprintf(text, sizeof(text), "state_dir = %s\n", longpath);
		expect(text, "state_dir is longer than 255 characters");
	}
	expect("state_dir = \n", "state_dir must not be empty");
	expect("replication_address = 10.0.0.300\n", "replication_address must be an IPv4 or IPv6 address");
	expect("cram_hmac_alg = SHA256\n", "cram_hmac_alg must be a kernel hash name");
	expect("cram_hmac_alg = \n", "cram_hmac_alg must be a kernel hash name");
	expect("libvirt_uri = system\n", "libvirt_uri must be a libvirt URI");
	expect("peer_timeout = 0\n", "from 1 to 3600");
	expect("peer_name = host a\n", "peer_name must be a host name or an IP address");
	expect("peer_name = a_b\n", "peer_name must be a host name or an IP address (as the other hosts list this one in peers), not 'a_b'");
	expect("peer_handshake_timeout = 0\n", "peer_handshake_timeout must be a whole number from 1 to 120");
	expect("peer_handshake_timeout = 121\n", "from 1 to 120");
	expect("peer_handshake_max = 0\n", "peer_handshake_max must be a whole number from 1 to 1024");
	expect("peer_handshake_per_address = 1025\n", "from 1 to 1024");
	expect("peer_connections_max = 0\n", "peer_connections_max must be a whole number from 1 to 1024");
	expect("sync_timeout = 604801\n", "from 1 to 604800");
	expect("drbd_minor_max = 1048576\n", "from 0 to 1048575");
	/* cross-field checks name the file */
	expect("drbd_port_min = 7900\ndrbd_port_max = 7800\n",
	       "test.conf: drbd_port_min (7900) is greater than drbd_port_max (7800)");
	expect("drbd_minor_min = 5\ndrbd_minor_max = 4\n",
	       "test.conf: drbd_minor_min (5) is greater than drbd_minor_max (4)");
	expect("peer_port = 7850\n", "peer_port 7850 lies within drbd_port_min..drbd_port_max (7800..7899)");
	expect("tls_server_key =\n", "tls_server_cert and tls_server_key must be set together");
	expect("tls_client_cert =\n", "tls_client_cert and tls_client_key must be set together");
	expect("peer_auth = psk\npeer_psk_file =\n", "peer_auth = psk needs peer_psk_file");
	expect("peer_auth = x509\ntls_ca_file =\n", "peer_auth = x509 needs tls_ca_file");
	expect("peer_psk_file =\ntls_ca_file =\n", "peer_auth = auto needs peer_psk_file or tls_ca_file");
}

/* Every key is printed, and what is printed parses back to the same. */
static void
test_format_roundtrip(void)
{
	struct dmg_conf c, d;
	struct dmg_error err;
	char a[DMG_CONF_FORMAT_MAX], b[DMG_CONF_FORMAT_MAX];
	int n;

	CU_ASSERT_EQUAL(parse("peers = hostb [::1]:7781\ntls_crl_file = /etc/crl.pem\n"
			      "log_level = warning\npeer_auth = x509\n", &c, &err), 0);
	n = dmg_conf_format(&c, a, sizeof(a));
	CU_ASSERT(n > 0 && (size_t)n < sizeof(a));
	CU_ASSERT_PTR_NOT_NULL(strstr(a, "peers = hostb [::1]:7781\n"));
	CU_ASSERT_PTR_NOT_NULL(strstr(a, "tls_crl_file = /etc/crl.pem\n"));
	CU_ASSERT_PTR_NOT_NULL(strstr(a, "replication_address = \n"));
	CU_ASSERT_PTR_NOT_NULL(strstr(a, "peer_auth = x509\n"));
	CU_ASSERT_PTR_NOT_NULL(strstr(a, "libvirt_uri = qemu:///system\n"));
	CU_ASSERT_EQUAL(parse(a, &d, &err), 0);
	dmg_conf_format(&d, b, sizeof(b));
	CU_ASSERT_STRING_EQUAL(a, b);
	/* a short buffer: snprintf's contract, the full length is returned */
	CU_ASSERT_EQUAL(dmg_conf_format(&c, b, 10), n);
	CU_ASSERT_EQUAL(strlen(b), 9);
}

/* The shipped sample, every commented default switched on, is exactly the
 * built-in defaults: documentation and code agree. */
static void
test_sample_matches_defaults(void)
{
	char path[512], a[DMG_CONF_FORMAT_MAX], b[DMG_CONF_FORMAT_MAX];
	struct dmg_conf def, c;
	struct dmg_error err;
	size_t len = 0, i, keys = 0;
	char *text;

	snprintf(path, sizeof(path), "%s/../../data/drbdmig.conf", test_env("TEST_DATA", "tests/data"));
	text = read_file(path, &len);
	CU_ASSERT_PTR_NOT_NULL_FATAL(text);
	for (i = 0; i + 1 < len; i++)
		if ((i == 0 || text[i - 1] == '\n') && text[i] == '#' &&
		    text[i + 1] >= 'a' && text[i + 1] <= 'z' && strcspn(text + i, "=\n") < strcspn(text + i, "\n")) {
			text[i] = ' ';
			keys++;
		}
	CU_ASSERT_EQUAL(parse(text, &c, &err), 0);
	dmg_conf_defaults(&def);
	dmg_conf_format(&def, a, sizeof(a));
	dmg_conf_format(&c, b, sizeof(b));
	CU_ASSERT_STRING_EQUAL(a, b);
	/* one commented line per key */
	for (i = 0, len = 0; a[i]; i++)
		len += a[i] == '\n';
	CU_ASSERT_EQUAL(keys, len);
	free(text);
}

static void
test_load(void)
{
	char path[] = "/tmp/dmg-conf-XXXXXX";
	struct dmg_conf c;
	struct dmg_error err;
	int fd = mkstemp(path);

	CU_ASSERT_FATAL(fd >= 0);
	CU_ASSERT_EQUAL(write(fd, "hook_event_timeout = 7\n", 23), 23);
	close(fd);
	dmg_conf_defaults(&c);
	CU_ASSERT_EQUAL(dmg_conf_load(path, 0, &c, &err), 0);
	CU_ASSERT_EQUAL(c.hook_event_timeout, 7);
	unlink(path);
	CU_ASSERT_EQUAL(dmg_conf_load(path, 1, &c, &err), 0);
	CU_ASSERT_EQUAL(dmg_conf_load(path, 0, &c, &err), -ENOENT);
	CU_ASSERT_PTR_NOT_NULL(strstr(err.msg, path));
}

void
register_conf_tests(void)
{
	CU_pSuite s = CU_add_suite("conf", NULL, NULL);

	CU_add_test(s, "defaults", test_defaults);
	CU_add_test(s, "values, comments, blanks", test_values);
	CU_add_test(s, "errors name the line and leave defaults", test_errors);
	CU_add_test(s, "load from file", test_load);
	CU_add_test(s, "peer and session keys", test_peer_session_keys);
	CU_add_test(s, "peer and session errors", test_peer_session_errors);
	CU_add_test(s, "peer identity and pre-authentication limits", test_peer_limits);
	CU_add_test(s, "format prints every key and parses back", test_format_roundtrip);
	CU_add_test(s, "the sample file documents the defaults", test_sample_matches_defaults);
}
