#include "config.h"

#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "core/endpoint.h"
#include "unit.h"

/* One input, what it must give (host, port; default 7780), or the error
 * code and a piece of the message. */
struct ep_case {
	const char *in;
	int rc;
	const char *host;   /* rc == 0 */
	unsigned port;      /* rc == 0 */
	const char *msg;    /* rc < 0: a substring of err.msg */
};

static const struct ep_case cases[] = {
	{ "10.0.0.1", 0, "10.0.0.1", 7780, NULL },
	{ "10.0.0.1:7781", 0, "10.0.0.1", 7781, NULL },
	{ "host-a", 0, "host-a", 7780, NULL },
	{ "host-a.example.org:1", 0, "host-a.example.org", 1, NULL },
	{ "h:65535", 0, "h", 65535, NULL },
	{ "[fd00::1]:7790", 0, "fd00::1", 7790, NULL },
	{ "[fd00::1]", 0, "fd00::1", 7780, NULL },
	{ "fd00::1", 0, "fd00::1", 7780, NULL },          /* bare IPv6: no port */
	{ "fe80::1:7800", 0, "fe80::1:7800", 7780, NULL }, /* ...so this is all address */
	{ "::1", 0, "::1", 7780, NULL },
	{ "[::ffff:10.0.0.1]:9", 0, "::ffff:10.0.0.1", 9, NULL },
	{ "", -EINVAL, NULL, 0, "empty endpoint" },
	{ "h:0", -EINVAL, NULL, 0, "port '0' is not 1-65535" },
	{ "h:65536", -EINVAL, NULL, 0, "port '65536' is not 1-65535" },
	{ "h:99999999", -EINVAL, NULL, 0, "is not 1-65535" },
	{ "h:", -EINVAL, NULL, 0, "port '' is not 1-65535" },
	{ "h:8x", -EINVAL, NULL, 0, "is not 1-65535" },
	{ "h:-1", -EINVAL, NULL, 0, "is not 1-65535" },
	{ ":7780", -EINVAL, NULL, 0, "has no host" },
	{ "[]:7780", -EINVAL, NULL, 0, "has no host" },
	{ "[fd00::1", -EINVAL, NULL, 0, "'[' without ']'" },
	{ "[fd00::1]x", -EINVAL, NULL, 0, "only ':port' may follow ']'" },
	{ "[fd00::1]:", -EINVAL, NULL, 0, "is not 1-65535" },
	{ "fd00::1]", -EINVAL, NULL, 0, "is not an IPv6 address" },
	{ "[10.0.0.1]:1", -EINVAL, NULL, 0, "is not an IPv6 address" },
	{ "[host]", -EINVAL, NULL, 0, "is not an IPv6 address" },
	{ "bad_name", -EINVAL, NULL, 0, "is not a host name or an IPv4 address" },
	{ "a b:1", -EINVAL, NULL, 0, "is not a host name" },
	{ "-a", -EINVAL, NULL, 0, "is not a host name" },
	{ "a..b", -EINVAL, NULL, 0, "is not a host name" },
	{ "fd00::zz", -EINVAL, NULL, 0, "is not an IPv6 address" },
};

static void
test_table(void)
{
	size_t i;

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		const struct ep_case *c = &cases[i];
		struct dmg_error err = { 0 };
		char host[DMG_ENDPOINT_HOST_MAX] = "";
		uint16_t port = 0;
		int rc = dmg_endpoint_parse(c->in, 7780, host, sizeof(host), &port, &err);

		if (rc != c->rc)
			fprintf(stderr, "endpoint '%s': rc %d, expected %d (%s)\n", c->in, rc, c->rc, err.msg);
		CU_ASSERT_EQUAL(rc, c->rc);
		if (c->rc == 0 && rc == 0) {
			CU_ASSERT_STRING_EQUAL(host, c->host);
			CU_ASSERT_EQUAL(port, c->port);
		} else if (c->rc < 0 && rc < 0) {
			if (!strstr(err.msg, c->msg))
				fprintf(stderr, "endpoint '%s': '%s' lacks '%s'\n", c->in, err.msg, c->msg);
			CU_ASSERT_PTR_NOT_NULL(strstr(err.msg, c->msg));
			CU_ASSERT_PTR_NULL(strchr(err.msg, '\n'));
		}
	}
}

static void
test_limits(void)
{
	struct dmg_error err = { 0 };
	char host[DMG_ENDPOINT_HOST_MAX], small[8], in[600];
	uint16_t port = 1;

	/* no port and default 0: port 0 means "none given" */
	CU_ASSERT_EQUAL(dmg_endpoint_parse("h", 0, host, sizeof(host), &port, &err), 0);
	CU_ASSERT_EQUAL(port, 0);
	/* a host longer than the caller's buffer */
	CU_ASSERT_EQUAL(dmg_endpoint_parse("abcdefgh:1", 0, small, sizeof(small), &port, &err),
			-ENAMETOOLONG);
	CU_ASSERT_PTR_NOT_NULL(strstr(err.msg, "host longer than 7 bytes"));
	/* a very long input: a bounded error line */
	memset(in, 'a', sizeof(in) - 1);
	in[sizeof(in) - 1] = '\0';
	CU_ASSERT(dmg_endpoint_parse(in, 0, host, sizeof(host), &port, &err) < 0);
	CU_ASSERT(strlen(err.msg) < 200);
	/* 254 bytes of labels: fits the buffer, too long for DNS */
	memset(in, 'a', 254);
	in[63] = in[127] = in[191] = '.';
	in[254] = '\0';
	CU_ASSERT_EQUAL(dmg_endpoint_parse(in, 0, host, sizeof(host), &port, &err), -EINVAL);
	in[253] = '\0';
	CU_ASSERT_EQUAL(dmg_endpoint_parse(in, 0, host, sizeof(host), &port, &err), 0);
	/* parsen stops at n: a token inside a list */
	CU_ASSERT_EQUAL(dmg_endpoint_parsen("a:12 b", 4, 0, host, sizeof(host), &port, &err), 0);
	CU_ASSERT_STRING_EQUAL(host, "a");
	CU_ASSERT_EQUAL(port, 12);
	CU_ASSERT_EQUAL(dmg_endpoint_parsen("a\0b", 3, 0, host, sizeof(host), &port, &err), -EINVAL);
}

static void
test_format(void)
{
	struct dmg_error err = { 0 };
	char buf[DMG_ENDPOINT_MAX], host[DMG_ENDPOINT_HOST_MAX], tiny[6];
	uint16_t port;

	CU_ASSERT_EQUAL(dmg_endpoint_format("10.0.0.1", 7780, buf, sizeof(buf)), 13);
	CU_ASSERT_STRING_EQUAL(buf, "10.0.0.1:7780");
	CU_ASSERT_EQUAL(dmg_endpoint_format("fe80::1", 7800, buf, sizeof(buf)), 14);
	CU_ASSERT_STRING_EQUAL(buf, "[fe80::1]:7800");
	/* read back: the bracketed form keeps the port apart from the address */
	CU_ASSERT_EQUAL(dmg_endpoint_parse(buf, 1, host, sizeof(host), &port, &err), 0);
	CU_ASSERT_STRING_EQUAL(host, "fe80::1");
	CU_ASSERT_EQUAL(port, 7800);
	CU_ASSERT_EQUAL(dmg_endpoint_format("host-a", 1, tiny, sizeof(tiny)), -ENAMETOOLONG);
}

static void
test_port(void)
{
	uint16_t p = 0;

	CU_ASSERT_EQUAL(dmg_port_parse("7780", 4, &p), 0);
	CU_ASSERT_EQUAL(p, 7780);
	CU_ASSERT_EQUAL(dmg_port_parse("00080", 5, &p), 0);
	CU_ASSERT_EQUAL(p, 80);
	CU_ASSERT_EQUAL(dmg_port_parse("000080", 6, &p), -EINVAL);
	CU_ASSERT_EQUAL(dmg_port_parse("0", 1, &p), -EINVAL);
	CU_ASSERT_EQUAL(dmg_port_parse("65536", 5, &p), -EINVAL);
	CU_ASSERT_EQUAL(dmg_port_parse("", 0, &p), -EINVAL);
	CU_ASSERT_EQUAL(dmg_port_parse("+1", 2, &p), -EINVAL);
}

void
register_endpoint_tests(void)
{
	CU_pSuite s = CU_add_suite("endpoint", NULL, NULL);

	CU_add_test(s, "table of inputs", test_table);
	CU_add_test(s, "defaults, buffer and length limits", test_limits);
	CU_add_test(s, "format brackets IPv6 and parses back", test_format);
	CU_add_test(s, "ports alone", test_port);
}
