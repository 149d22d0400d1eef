/* drbdmig: the command-line client of drbdmigd. */
#include "config.h"

#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "core/call.h"
#include "core/defaults.h"
#include "core/journal.h"
#include "core/wire.h"


static void
usage(FILE *f)
{
	fprintf(f,
		"usage: drbdmig [-m] [-s socket] <command> [argument]\n"
		"commands:\n"
		"  status [-w]        sessions on this host: phase, per-disk sync %%, rate, ETA\n"
		"                     (-w/--watch: refresh every second on a terminal)\n"
		"  verify             look for leftovers: orphan DRBD minors, overlay dm devices,\n"
		"                     metadata LVs, resource files, sessions needing attention;\n"
		"                     exit status 1 if anything is found, 2 if it cannot look\n"
		"  cleanup DOMAIN     go on with a session that stopped for attention (finish or\n"
		"                     roll back, as its journal says); DOMAIN, its UUID or a sid\n"
		"  cleanup --orphans  remove leftovers no journal owns (never a data LV)\n"
		"  cancel DOMAIN      roll back a migration before the guest switched over\n"
		"  ping               check that drbdmigd answers; prints its version\n"
		"  version            print this program's version\n"
		"options:\n"
		"  -m, --machine       print records (\"verb key=value ...\", values %%-encoded)\n"
		"  -s, --socket PATH   drbdmigd's socket (default %s)\n",
		DMG_SOCKET_PATH);
}

static int
cmd_ping(const char *sock)
{
	struct dmg_msg req = { .type = DMG_MSG_PING }, rep;
	struct dmg_error err = { 0 };
	enum dmg_call_stage stage;
	int rc;

	rc = dmg_call_msg(sock, DMG_SOCKET_CONNECT_MS, dmg_now_ms() + DMG_CLI_CALL_MS, &req, &rep, &stage,
			  &err);
	if (rc < 0) {
		if (stage == DMG_CALL_CONNECT)
			fprintf(stderr, "drbdmig: cannot reach drbdmigd: %s\n", err.msg);
		else
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

/* One CALL; returns the RESULT (caller clears) or -1 after printing why. */
static int
call(const char *sock, const char *verb, const char *target, int timeout_ms,
     struct dmg_msg *rep)
{
	struct dmg_error err = { 0 };
	enum dmg_call_stage stage;

	if (dmg_call(sock, verb, target, DMG_SOCKET_CONNECT_MS, dmg_now_ms() + timeout_ms, rep, &stage,
		     &err) < 0) {
		if (stage == DMG_CALL_REQUEST)
			fprintf(stderr, "drbdmig: %s\n", err.msg);
		else if (stage == DMG_CALL_CONNECT)
			fprintf(stderr, "drbdmig: cannot reach drbdmigd: %s\n", err.msg);
		else
			fprintf(stderr, "drbdmig: %s: %s\n", verb, err.msg);
		return -1;
	}
	if (rep->type != DMG_MSG_RESULT) {
		fprintf(stderr, "drbdmig: %s: %s\n", verb, rep->message ? rep->message : "unexpected reply");
		dmg_msg_clear(rep);
		return -1;
	}
	return 0;
}

static double
num(const struct dmg_jrec *r, const char *k)
{
	const char *v = dmg_jrec_get(r, k);

	return v ? strtod(v, NULL) : 0;
}

static void
human_size(double bytes, char *buf, size_t len)
{
	const char *u[] = { "B", "KiB", "MiB", "GiB", "TiB" };
	int i = 0;

	while (bytes >= 1024 && i < 4) {
		bytes /= 1024;
		i++;
	}
	snprintf(buf, len, "%.1f %s", bytes, u[i]);
}

/* Prints one result line for a person. */
static void
print_human(const struct dmg_jrec *r)
{
	const char *v;
	char sz[32];
	size_t i;

	if (strcmp(r->step, "session") == 0) {
		printf("session %s  %s  %-4s  %-12s peer %s", dmg_jrec_get(r, "sid"),
		       dmg_jrec_get(r, "domain"), dmg_jrec_get(r, "role"),
		       dmg_jrec_get(r, "phase"), dmg_jrec_get(r, "peer"));
		if ((v = dmg_jrec_get(r, "reason")))
			printf("\n    reason: %s", v);
		printf("\n");
	} else if (strcmp(r->step, "disk") == 0) {
		double pct = num(r, "pct"), eta = num(r, "eta_s");

		human_size(num(r, "size"), sz, sizeof(sz));
		printf("    %-6s %-28s %10s  %5.1f%%  %8.1f MiB/s", dmg_jrec_get(r, "target"),
		       dmg_jrec_get(r, "path"), sz, pct, num(r, "kib_s") / 1024);
		if (pct < 100 && eta >= 0)
			printf("  ETA %.0f s", eta);
		printf("\n");
	} else {
		printf("%s:", r->step);
		for (i = 0; i < r->n; i++)
			printf(" %s=%s", r->kv[i].key, r->kv[i].val);
		printf("\n");
	}
}

static int
print_body(const struct dmg_msg *rep, int machine)
{
	char *copy, *line, *save = NULL;
	int lines = 0;

	if (!rep->body || !rep->body_len)
		return 0;
	if (machine) {
		fwrite(rep->body, 1, rep->body_len, stdout);
		return 1;
	}
	copy = strndup(rep->body, rep->body_len);
	if (!copy)
		return 0;
	for (line = strtok_r(copy, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
		struct dmg_jrec r;
		struct dmg_error err = { 0 };

		if (dmg_jrec_parse_line(line, &r, &err) == 0)
			print_human(&r);
		else
			printf("%s\n", line);
		lines++;
	}
	free(copy);
	return lines;
}

static int
cmd_status(const char *sock, int machine, int watch)
{
	watch = watch && isatty(STDOUT_FILENO) && !machine;
	for (;;) {
		struct dmg_msg rep = { 0 };
		int n;

		if (call(sock, "status", NULL, DMG_CLI_CALL_MS, &rep) < 0)
			return 1;
		if (watch)
			printf("\033[H\033[J");
		n = print_body(&rep, machine);
		if (rep.status) {
			fprintf(stderr, "drbdmig: status: %s\n", rep.message ? rep.message : "failed");
			dmg_msg_clear(&rep);
			return 1;
		}
		if (!n && !machine)
			printf("no drbdmig sessions on this host\n");
		dmg_msg_clear(&rep);
		if (!watch)
			return 0;
		fflush(stdout);
		sleep(1);
	}
}

static int
cmd_verb(const char *sock, const char *verb, const char *target, int machine)
{
	struct dmg_msg rep = { 0 };
	int verify = strcmp(verb, "verify") == 0, n, rc;

	if (call(sock, verb, target, verify ? DMG_CLI_VERIFY_MS : DMG_CLI_LONG_MS, &rep) < 0)
		return verify ? 2 : 1;
	n = print_body(&rep, machine);
	if (rep.status && rep.message)
		fprintf(stderr, "drbdmig: %s: %s\n", verb, rep.message);
	else if (!n && !machine && verify)
		printf("nothing left over: no orphan DRBD minor, dm device, metadata LV or resource file; no session needs attention\n");
	/* verify: 1 = leftovers found; an error means it could not look */
	rc = rep.status ? (verify && rep.message ? 2 : 1) : 0;
	dmg_msg_clear(&rep);
	return rc;
}

int
main(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "socket", required_argument, NULL, 's' },
		{ "machine", no_argument, NULL, 'm' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	const char *sock = DMG_SOCKET_PATH, *cmd, *arg;
	int opt, machine = 0, nargs;

	while ((opt = getopt_long(argc, argv, "+s:mh", longopts, NULL)) != -1) {
		switch (opt) {
		case 's': sock = optarg; break;
		case 'm': machine = 1; break;
		case 'h': usage(stdout); return 0;
		default: usage(stderr); return 2;
		}
	}
	if (optind == argc) {
		fprintf(stderr, "drbdmig: missing command\n");
		usage(stderr);
		return 2;
	}
	cmd = argv[optind];
	nargs = argc - optind - 1;
	arg = nargs ? argv[optind + 1] : NULL;
	if (strcmp(cmd, "status") == 0 && (nargs == 0 || (nargs == 1 &&
	    (strcmp(arg, "-w") == 0 || strcmp(arg, "--watch") == 0))))
		return cmd_status(sock, machine, nargs == 1);
	if ((strcmp(cmd, "cleanup") == 0 || strcmp(cmd, "cancel") == 0)) {
		if (nargs != 1 || !*arg || (arg[0] == '-' && strcmp(arg, "--orphans") != 0) ||
		    (strcmp(cmd, "cancel") == 0 && arg[0] == '-')) {
			fprintf(stderr, "drbdmig: %s needs one domain (name, UUID or session id)%s\n", cmd,
				strcmp(cmd, "cleanup") == 0 ? " or --orphans" : "");
			return 2;
		}
		return cmd_verb(sock, cmd, arg, machine);
	}
	if (nargs) {
		fprintf(stderr, "drbdmig: %s: unexpected argument '%s'\n", cmd, arg);
		return 2;
	}
	if (strcmp(cmd, "verify") == 0)
		return cmd_verb(sock, "verify", NULL, machine);
	if (strcmp(cmd, "ping") == 0)
		return cmd_ping(sock);
	if (strcmp(cmd, "version") == 0) {
		printf("drbdmig %s\n", PACKAGE_VERSION);
		return 0;
	}
	fprintf(stderr, "drbdmig: unknown command '%s' (try drbdmig --help)\n", cmd);
	return 2;
}
