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
#include "core/jkind.h"
#include "core/journal.h"
#include "core/wire.h"


/* What every command gets: the options before it. */
struct cli {
	const char *sock;
	int machine;
};

static int
cmd_ping(const struct cli *c, const char *arg)
{
	struct dmg_msg req = { .type = DMG_MSG_PING }, rep;
	struct dmg_error err = { 0 };
	enum dmg_call_stage stage;
	int rc;

	(void)arg;
	rc = dmg_call_msg(c->sock, DMG_SOCKET_CONNECT_MS, dmg_now_ms() + DMG_CLI_CALL_MS, &req, &rep, &stage,
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

/* A disk's sync as a bar of BAR_WIDTH cells ('#' done, '.' to go); pct
 * outside 0-100 (or NaN from a missing field) shows as empty or full. */
#define BAR_WIDTH 20
static void
progress_bar(double pct, char bar[BAR_WIDTH + 1])
{
	int i, full = pct >= 100 ? BAR_WIDTH : pct > 0 ? (int)(pct * BAR_WIDTH / 100) : 0;

	for (i = 0; i < BAR_WIDTH; i++)
		bar[i] = i < full ? '#' : '.';
	bar[BAR_WIDTH] = '\0';
}

/* Prints one result line for a person. */
static void
print_human(const struct dmg_jrec *r)
{
	const char *v;
	char sz[32];
	size_t i;

	switch (dmg_jkind_parse(r->step)) {
	case DMG_JK_SESSION:
		printf("session %s  %s  %-4s  %-12s peer %s", dmg_jrec_get(r, "sid"),
		       dmg_jrec_get(r, "domain"), dmg_jrec_get(r, "role"),
		       dmg_jrec_get(r, "phase"), dmg_jrec_get(r, "peer"));
		if ((v = dmg_jrec_get(r, "reason")))
			printf("\n    reason: %s", v);
		printf("\n");
		break;
	case DMG_JK_DISK: {
		double pct = num(r, "pct"), eta = num(r, "eta_s");
		char bar[BAR_WIDTH + 1];

		human_size(num(r, "size"), sz, sizeof(sz));
		progress_bar(pct, bar);
		printf("    %-6s %-28s %10s  [%s] %5.1f%%  %8.1f MiB/s", dmg_jrec_get(r, "target"),
		       dmg_jrec_get(r, "path"), sz, bar, pct, num(r, "kib_s") / 1024);
		if (pct < 100 && eta >= 0)
			printf("  ETA %.0f s", eta);
		if ((v = dmg_jrec_get(r, "sync")) && strcmp(v, "-") != 0)
			printf("  (%s)", v);
		printf("\n");
		break;
	}
	default:   /* verify's findings and any later line: as they come */
		printf("%s:", r->step);
		for (i = 0; i < r->n; i++)
			printf(" %s=%s", r->kv[i].key, r->kv[i].val);
		printf("\n");
		break;
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

/* arg: -w or --watch (checked by its row), or NULL */
static int
cmd_status(const struct cli *c, const char *arg)
{
	int watch = arg && isatty(STDOUT_FILENO) && !c->machine;

	for (;;) {
		struct dmg_msg rep = { 0 };
		int n;

		if (call(c->sock, "status", NULL, DMG_CLI_CALL_MS, &rep) < 0)
			return 1;
		if (watch)
			printf("\033[H\033[J");
		n = print_body(&rep, c->machine);
		if (rep.status) {
			fprintf(stderr, "drbdmig: status: %s\n", rep.message ? rep.message : "failed");
			dmg_msg_clear(&rep);
			return 1;
		}
		if (!n && !c->machine)
			printf("no drbdmig sessions on this host\n");
		dmg_msg_clear(&rep);
		if (!watch)
			return 0;
		fflush(stdout);
		sleep(1);
	}
}

/* One verb whose answer is lines; verify's exit status says more. */
static int
call_verb(const struct cli *c, const char *verb, const char *target, int verify)
{
	struct dmg_msg rep = { 0 };
	int n, rc;

	if (call(c->sock, verb, target, verify ? DMG_CLI_VERIFY_MS : DMG_CLI_LONG_MS, &rep) < 0)
		return verify ? 2 : 1;
	n = print_body(&rep, c->machine);
	if (rep.status && rep.message)
		fprintf(stderr, "drbdmig: %s: %s\n", verb, rep.message);
	else if (!n && !c->machine && verify)
		printf("nothing left over: no orphan DRBD minor, dm device, metadata LV or resource file; no session needs attention\n");
	/* verify: 1 = leftovers found; an error means it could not look */
	rc = rep.status ? (verify && rep.message ? 2 : 1) : 0;
	dmg_msg_clear(&rep);
	return rc;
}

static int
cmd_verify(const struct cli *c, const char *arg)
{
	(void)arg;
	return call_verb(c, "verify", NULL, 1);
}

static int
cmd_cleanup(const struct cli *c, const char *arg)
{
	return call_verb(c, "cleanup", arg, 0);
}

static int
cmd_cancel(const struct cli *c, const char *arg)
{
	return call_verb(c, "cancel", arg, 0);
}

static int
cmd_version(const struct cli *c, const char *arg)
{
	(void)c;
	(void)arg;
	printf("drbdmig %s\n", PACKAGE_VERSION);
	return 0;
}

static int
watch_flag(const char *arg)
{
	return strcmp(arg, "-w") == 0 || strcmp(arg, "--watch") == 0;
}

/* A domain's name, UUID or sid; never an option mistyped. */
static int
domain_arg(const char *arg)
{
	return arg[0] && arg[0] != '-';
}

static int
domain_or_orphans(const char *arg)
{
	return domain_arg(arg) || strcmp(arg, "--orphans") == 0;
}

/* The commands, in usage() order (drbdsetup's commands[] is the model): the
 * one place that knows a command's name, arguments and help. */
static const struct command {
	const char *name;
	int min_args, max_args;
	int (*arg_ok)(const char *arg);   /* each argument given; NULL: any */
	const char *need;                 /* what it takes, said on misuse; NULL:
					   * "unexpected argument" */
	const char *help;                 /* its lines in usage() */
	int (*run)(const struct cli *c, const char *arg);   /* arg: NULL if none */
} commands[] = {
	{ "status", 0, 1, watch_flag, NULL,
	  "  status [-w]        sessions on this host: phase, per-disk sync bar, %, rate, ETA, mode\n"
	  "                     (-w/--watch: refresh every second on a terminal)\n",
	  cmd_status },
	{ "verify", 0, 0, NULL, NULL,
	  "  verify             look for leftovers: orphan DRBD minors, overlay dm devices,\n"
	  "                     metadata LVs, resource files, sessions needing attention;\n"
	  "                     exit status 1 if anything is found, 2 if it cannot look\n",
	  cmd_verify },
	{ "cleanup", 1, 1, domain_or_orphans, "one domain (name, UUID or session id) or --orphans",
	  "  cleanup DOMAIN     go on with a session that stopped for attention (finish or\n"
	  "                     roll back, as its journal says); DOMAIN, its UUID or a sid\n"
	  "  cleanup --orphans  remove leftovers no journal owns (never a data LV)\n",
	  cmd_cleanup },
	{ "cancel", 1, 1, domain_arg, "one domain (name, UUID or session id)",
	  "  cancel DOMAIN      roll back a migration before the guest switched over\n",
	  cmd_cancel },
	{ "ping", 0, 0, NULL, NULL,
	  "  ping               check that drbdmigd answers; prints its version\n",
	  cmd_ping },
	{ "version", 0, 0, NULL, NULL,
	  "  version            print this program's version\n",
	  cmd_version },
};

#define NCOMMANDS (sizeof(commands) / sizeof(commands[0]))

static void
usage(FILE *f)
{
	size_t i;

	fputs("usage: drbdmig [-m] [-s socket] <command> [argument]\n"
	      "commands:\n", f);
	for (i = 0; i < NCOMMANDS; i++)
		fputs(commands[i].help, f);
	fprintf(f,
		"options:\n"
		"  -m, --machine       print records (\"verb key=value ...\", values %%-encoded)\n"
		"  -s, --socket PATH   drbdmigd's socket (default %s)\n",
		DMG_SOCKET_PATH);
}

static const struct command *
command_find(const char *name)
{
	size_t i;

	for (i = 0; i < NCOMMANDS; i++)
		if (strcmp(commands[i].name, name) == 0)
			return &commands[i];
	return NULL;
}

/* 0 if args fit cmd's row, else says why in one line and returns -1. */
static int
command_args(const struct command *cmd, int nargs, char *const *args)
{
	int i, bad = -1;

	for (i = 0; bad < 0 && i < nargs && i < cmd->max_args; i++)
		if (cmd->arg_ok && !cmd->arg_ok(args[i]))
			bad = i;
	if (bad < 0 && nargs > cmd->max_args)
		bad = cmd->max_args;   /* the first one too many */
	if (bad < 0 && nargs >= cmd->min_args)
		return 0;
	if (cmd->need)
		fprintf(stderr, "drbdmig: %s needs %s\n", cmd->name, cmd->need);
	else
		fprintf(stderr, "drbdmig: %s: unexpected argument '%s'\n", cmd->name,
			bad >= 0 ? args[bad] : "");
	return -1;
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
	struct cli c = { .sock = DMG_SOCKET_PATH };
	const struct command *cmd;
	int opt, nargs;

	while ((opt = getopt_long(argc, argv, "+s:mh", longopts, NULL)) != -1) {
		switch (opt) {
		case 's': c.sock = optarg; break;
		case 'm': c.machine = 1; break;
		case 'h': usage(stdout); return 0;
		default: usage(stderr); return 2;
		}
	}
	if (optind == argc) {
		fprintf(stderr, "drbdmig: missing command\n");
		usage(stderr);
		return 2;
	}
	cmd = command_find(argv[optind]);
	if (!cmd) {
		fprintf(stderr, "drbdmig: unknown command '%s' (try drbdmig --help)\n", argv[optind]);
		return 2;
	}
	nargs = argc - optind - 1;
	if (command_args(cmd, nargs, argv + optind + 1) < 0)
		return 2;
	return cmd->run(&c, nargs ? argv[optind + 1] : NULL);
}
