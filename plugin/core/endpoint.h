/* Host and port of a peer as configured ("peers", stamps, the registry's
 * endpoints): one parser and one formatter, so every room reads and writes
 * IPv6 the same way.
 *
 * Accepted: "a.b.c.d[:port]", "name[:port]", "[v6]", "[v6]:port" and a bare
 * IPv6 literal (two or more colons, never a port).  The host must be an IPv4
 * literal, a DNS name, or (bracketed or bare) an IPv6 literal.  A port is 1
 * to 5 decimal digits, 1-65535. */
#ifndef DMG_ENDPOINT_H
#define DMG_ENDPOINT_H

#include <stddef.h>
#include <stdint.h>

#include "core/error.h"

#define DMG_ENDPOINT_HOST_MAX 256   /* a DNS name (253) or an IP literal, with the NUL */
#define DMG_ENDPOINT_MAX      264   /* "[" host "]:65535" */

/* Parses the n bytes at s (need not be NUL-terminated).  host gets the name
 * or address without brackets; *port gets the port, or default_port when
 * there is none (0 allowed: "no port given").  Returns 0, or -EINVAL /
 * -ENAMETOOLONG with one line in err naming the input and what is wrong. */
int dmg_endpoint_parsen(const char *s, size_t n, uint16_t default_port, char *host, size_t hl,
			uint16_t *port, struct dmg_error *err);

/* The same for a NUL-terminated string. */
int dmg_endpoint_parse(const char *s, uint16_t default_port, char *host, size_t hl,
		       uint16_t *port, struct dmg_error *err);

/* "host:port", brackets around an IPv6 host so dmg_endpoint_parse() reads
 * it back.  Returns the length, or -ENAMETOOLONG if it does not fit. */
int dmg_endpoint_format(const char *host, uint16_t port, char *buf, size_t len);

/* A port alone: 1 to 5 decimal digits (n bytes at s), 1-65535.  Returns 0
 * or -EINVAL. */
int dmg_port_parse(const char *s, size_t n, uint16_t *port);

/* 1 if the n bytes at v are a DNS name: dot-separated labels of 1-63
 * letters, digits and inner hyphens, 253 bytes at most. */
int dmg_is_dns_name(const char *v, size_t n);

#endif
