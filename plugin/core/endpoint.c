#include "config.h"

#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdio.h>
#include <string.h>

#include "core/endpoint.h"

int
dmg_is_dns_name(const char *v, size_t n)
{
	size_t i, label = 0;

	if (n == 0 || n > 253)
		return 0;
	for (i = 0; i < n; i++) {
		char ch = v[i];

		if (ch == '.') {
			if (label == 0)
				return 0;
			label = 0;
		} else if (isalnum((unsigned char)ch) || (ch == '-' && label > 0)) {
			if (++label > 63)
				return 0;
		} else {
			return 0;
		}
	}
	return label > 0 && v[n - 1] != '-';
}

int
dmg_port_parse(const char *s, size_t n, uint16_t *port)
{
	unsigned long v = 0;
	size_t i;

	if (n == 0 || n > 5)
		return -EINVAL;
	for (i = 0; i < n; i++) {
		if (s[i] < '0' || s[i] > '9')
			return -EINVAL;
		v = v * 10 + (unsigned long)(s[i] - '0');
	}
	if (v == 0 || v > 65535)
		return -EINVAL;
	*port = (uint16_t)v;
	return 0;
}

int
dmg_endpoint_parsen(const char *s, size_t n, uint16_t default_port, char *host, size_t hl,
		    uint16_t *port, struct dmg_error *err)
{
	const char *end = s + n, *h = s, *colon;
	unsigned char addr[sizeof(struct in6_addr)];
	int show = n > 64 ? 64 : (int)n;
	size_t hn;
	int v6;

	if (n == 0)
		return dmg_error_set(err, -EINVAL, "empty endpoint (expected host[:port])");
	if (memchr(s, '\0', n))
		return dmg_error_set(err, -EINVAL, "endpoint has a NUL byte");
	if (*s == '[') {
		const char *rb = memchr(s, ']', n);

		if (!rb)
			return dmg_error_set(err, -EINVAL, "endpoint '%.*s': '[' without ']'", show, s);
		if (rb + 1 != end && rb[1] != ':')
			return dmg_error_set(err, -EINVAL, "endpoint '%.*s': only ':port' may follow ']'",
					     show, s);
		h = s + 1;
		hn = (size_t)(rb - h);
		colon = rb + 1 != end ? rb + 1 : NULL;
		v6 = 1;
	} else {
		colon = memchr(s, ':', n);
		/* Two colons or more: a bare IPv6 literal, which has no port. */
		v6 = colon && memchr(colon + 1, ':', (size_t)(end - colon - 1)) != NULL;
		if (v6)
			colon = NULL;
		hn = colon ? (size_t)(colon - s) : n;
	}
	*port = default_port;
	if (colon && dmg_port_parse(colon + 1, (size_t)(end - colon - 1), port) < 0)
		return dmg_error_set(err, -EINVAL, "endpoint '%.*s': port '%.*s' is not 1-65535", show, s,
				     (int)((size_t)(end - colon - 1) > 16 ? 16 : (size_t)(end - colon - 1)),
				     colon + 1);
	if (hn == 0)
		return dmg_error_set(err, -EINVAL, "endpoint '%.*s' has no host", show, s);
	if (hn >= hl)
		return dmg_error_set(err, -ENAMETOOLONG, "endpoint '%.*s': host longer than %zu bytes",
				     show, s, hl ? hl - 1 : 0);
	memcpy(host, h, hn);
	host[hn] = '\0';
	if (v6 ? inet_pton(AF_INET6, host, addr) != 1
	       : inet_pton(AF_INET, host, addr) != 1 && !dmg_is_dns_name(host, hn))
		return dmg_error_set(err, -EINVAL, "endpoint '%.*s': '%.64s' is not %s", show, s, host,
				     v6 ? "an IPv6 address" : "a host name or an IPv4 address");
	return 0;
}

int
dmg_endpoint_parse(const char *s, uint16_t default_port, char *host, size_t hl, uint16_t *port,
		   struct dmg_error *err)
{
	return dmg_endpoint_parsen(s, strlen(s), default_port, host, hl, port, err);
}

int
dmg_endpoint_format(const char *host, uint16_t port, char *buf, size_t len)
{
	int n = strchr(host, ':') ? snprintf(buf, len, "[%s]:%u", host, (unsigned)port)
				  : snprintf(buf, len, "%s:%u", host, (unsigned)port);

	return n < 0 || (size_t)n >= len ? -ENAMETOOLONG : n;
}
