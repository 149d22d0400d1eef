/* drbdmig: the command-line client of drbdmigd. */
#include "config.h"

#include <getopt.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "wire.h"

#define CLI_TIMEOUT_MS 10000

static void
usage(FILE *f)
{
	fprintf(f,
		"usage: drbdmig [-s socket] <command>\n"
		"commands:\n"
		"  ping       check that drbdmigd answers; prints its version\n"
		"  version    print this program's version\n"
		"options:\n"
		"  -s, --socket PATH   drbdmigd's socket (default %s)\n",
		DMG_SOCKET_PATH);
}

static int
cmd_ping(const char *sock)
{
	struct dmg_msg req = { .type = DMG_MSG_PING }, rep = { 0 };
	int64_t deadline = dmg_now_ms() + CLI_TIMEOUT_MS;
	struct dmg_error err = { 0 };
	int fd, rc;

	fd = dmg_unix_connect(sock, CLI_TIMEOUT_MS, &err);
	if (fd < 0) {
		fprintf(stderr, "drbdmig: cannot reach drbdmigd: %s\n", err.msg);
		return 1;
	}
	rc = dmg_msg_send(fd, &req, deadline, &err);
	if (rc == 0)
		rc = dmg_msg_recv(fd, &rep, deadline, &err);
	close(fd);
	if (rc < 0) {
		fprintf(stderr, "drbdmig: ping failed: %s\n", err.msg);
		return 1;
	}
	rc = rep.type == DMG_MSG_PONG ? 0 : 1;
	if (rc == 0)
		printf("drbdmigd %s is running\n", rep.version);
	else
		fprintf(stderr, "drbdmig: unexpected %s reply%s%s\n", dmg_msg_type_name(rep.type),
			rep.message ? ": " : "", rep.message ? rep.message : "");
	dmg_msg_clear(&rep);
	return rc;
}

int
main(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "socket", required_argument, NULL, 's' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	const char *sock = DMG_SOCKET_PATH;
	int opt;

	while ((opt = getopt_long(argc, argv, "+s:h", longopts, NULL)) != -1) {
		switch (opt) {
		case 's': sock = optarg; break;
		case 'h': usage(stdout); return 0;
		default: usage(stderr); return 2;
		}
	}
	if (optind + 1 != argc) {
		fprintf(stderr, "drbdmig: %s\n", optind == argc ? "missing command" : "too many arguments");
		usage(stderr);
		return 2;
	}
	if (strcmp(argv[optind], "ping") == 0)
		return cmd_ping(sock);
	if (strcmp(argv[optind], "version") == 0) {
		printf("drbdmig %s\n", PACKAGE_VERSION);
		return 0;
	}
	fprintf(stderr, "drbdmig: unknown command '%s' (try drbdmig --help)\n", argv[optind]);
	return 2;
}
