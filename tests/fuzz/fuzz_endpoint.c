/* libFuzzer target for the endpoint parser (core/endpoint.c): any bytes as a
 * "host[:port]" entry.  Beyond "no crash": a success gives a NUL-terminated
 * host that fits, a port 1-65535 (or the default), and formatting it parses
 * back to the same host and port; a failure gives one error line. */
#include "config.h"

#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "core/endpoint.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char host[DMG_ENDPOINT_HOST_MAX], host2[DMG_ENDPOINT_HOST_MAX], ep[DMG_ENDPOINT_MAX];
	struct dmg_error err = { 0 };
	uint16_t port = 0, port2 = 0;

	if (dmg_endpoint_parsen((const char *)data, size, 7780, host, sizeof(host), &port, &err) < 0) {
		if (!err.msg[0] || strchr(err.msg, '\n'))
			abort();
		return 0;
	}
	if (strlen(host) >= sizeof(host) || port == 0)
		abort();
	if (dmg_endpoint_format(host, port, ep, sizeof(ep)) < 0 ||
	    dmg_endpoint_parse(ep, 1, host2, sizeof(host2), &port2, &err) < 0 ||
	    strcmp(host, host2) != 0 || port != port2)
		abort();
	return 0;
}
