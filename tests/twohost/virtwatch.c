/* virtwatch: drives plugin/libvirt/ against a real libvirtd for the twohost
 * tests (tests/twohost/test-virt-events.sh).
 *
 *   virtwatch [-c URI] [-v] watch              one line per event until SIGINT/SIGTERM:
 *                                              "event NAME UUID EVENT/DETAIL"
 *                                              ("event - - reconnected" after a reconnect)
 *   virtwatch [-c URI] state NAME|UUID         "state NAME UUID STATE REASON"
 *   virtwatch [-c URI] stamp NAME HOST ADDR PORT
 *   virtwatch [-c URI] annotated               "annotated UUID NAME" per annotated domain
 *   virtwatch parse-stamp FILE                 "stamp host=H addr=A port=P" (no libvirt)
 *
 * Log lines of the module (connect, lost, ...) go to stderr.  Exit: 0 ok,
 * 1 the verb failed, 2 usage. */
#include "config.h"

#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "libvirt/policy.h"
#include "libvirt/virt.h"

static void
usage(void)
{
	fprintf(stderr,
		"usage: virtwatch [-c URI] [-v] watch | state NAME | stamp NAME HOST ADDR PORT |\n"
		"                 annotated | parse-stamp FILE\n");
}

/* On the module's event thread: one stdio call per line keeps lines whole. */
static void
print_event(const struct dmg_virt_event *ev, void *arg)
{
	if (ev->event == DMG_VIRT_EV_RECONNECTED)
		printf("event - - reconnected\n");
	else
		printf("event %s %s %s\n", ev->name, ev->uuid,
		       dmg_virt_event_str(ev->event, ev->detail));
	fflush(stdout);
}

static int
do_parse_stamp(const char *path)
{
	char host[DMG_VIRT_HOST_MAX], addr[DMG_VIRT_ADDR_MAX];
	struct dmg_error err;
	unsigned port;
	size_t len;
	char *buf;
	FILE *f;
	int rc;

	f = fopen(path, "rb");
	if (!f) {
		fprintf(stderr, "virtwatch: %s: %s\n", path, strerror(errno));
		return 1;
	}
	buf = malloc(DMG_XML_MAX + 1);
	len = buf ? fread(buf, 1, DMG_XML_MAX + 1, f) : 0;
	fclose(f);
	if (!buf) {
		fprintf(stderr, "virtwatch: out of memory\n");
		return 1;
	}
	rc = dmg_virt_parse_stamp(buf, len, host, sizeof(host), addr, sizeof(addr), &port, &err);
	free(buf);
	if (rc < 0) {
		fprintf(stderr, "virtwatch: %s: %s\n", path, err.msg);
		return 1;
	}
	printf("stamp host=%s addr=%s port=%u\n", host, addr, port);
	return 0;
}

static int
do_watch(struct dmg_virt *v, const sigset_t *sigs)
{
	int sig = 0;

	printf("watching connected=%d\n", dmg_virt_connected(v));
	fflush(stdout);
	sigwait(sigs, &sig);
	return 0;
}

static int
do_state(struct dmg_virt *v, const char *id)
{
	char uuid[VIR_UUID_STRING_BUFLEN];
	enum dmg_virt_state st;
	struct dmg_error err;
	int reason;

	if (dmg_virt_state(v, id, &st, &reason, uuid, &err) < 0) {
		fprintf(stderr, "virtwatch: %s\n", err.msg);
		return 1;
	}
	printf("state %s %s %s %d\n", id, uuid[0] ? uuid : "-", dmg_virt_state_str(st), reason);
	return 0;
}

static int
do_stamp(struct dmg_virt *v, char **args)
{
	struct dmg_error err;
	unsigned long port;
	char *end;

	errno = 0;
	port = strtoul(args[3], &end, 10);
	if (errno || *end || end == args[3] || port > 0xffffffffUL) {
		fprintf(stderr, "virtwatch: bad port '%s'\n", args[3]);
		return 2;
	}
	if (dmg_virt_stamp(v, args[0], args[1], args[2], (unsigned)port, &err) < 0) {
		fprintf(stderr, "virtwatch: %s\n", err.msg);
		return 1;
	}
	printf("stamped %s\n", args[0]);
	return 0;
}

static int
print_annotated(const char *uuid, const char *name, void *arg)
{
	printf("annotated %s %s\n", uuid, name);
	return 0;
}

static int
do_annotated(struct dmg_virt *v)
{
	struct dmg_error err;
	int n = dmg_virt_each_annotated(v, print_annotated, NULL, &err);

	if (n < 0) {
		fprintf(stderr, "virtwatch: %s\n", err.msg);
		return 1;
	}
	printf("annotated-count %d\n", n);
	return 0;
}

/* Verbs that talk to libvirtd. */
static int
run_verb(struct dmg_virt *v, const sigset_t *sigs, int argc, char **argv)
{
	const char *verb = argv[0];

	if (strcmp(verb, "watch") == 0 && argc == 1)
		return do_watch(v, sigs);
	if (!dmg_virt_connected(v)) {
		fprintf(stderr, "virtwatch: not connected to libvirt\n");
		return 1;
	}
	if (strcmp(verb, "state") == 0 && argc == 2)
		return do_state(v, argv[1]);
	if (strcmp(verb, "stamp") == 0 && argc == 5)
		return do_stamp(v, argv + 1);
	if (strcmp(verb, "annotated") == 0 && argc == 1)
		return do_annotated(v);
	usage();
	return 2;
}

int
main(int argc, char **argv)
{
	const char *uri = NULL;
	struct dmg_virt *v = NULL;
	struct dmg_error err;
	struct dmg_log log;
	sigset_t sigs;
	int opt, level = DMG_LOG_INFO, rc;

	while ((opt = getopt(argc, argv, "c:v")) != -1) {
		switch (opt) {
		case 'c': uri = optarg; break;
		case 'v': level = DMG_LOG_DEBUG; break;
		default: usage(); return 2;
		}
	}
	argc -= optind;
	argv += optind;
	if (argc < 1) {
		usage();
		return 2;
	}
	if (strcmp(argv[0], "parse-stamp") == 0)
		return argc == 2 ? do_parse_stamp(argv[1]) : (usage(), 2);
	/* Blocked before the event thread exists, so only sigwait() sees them. */
	sigemptyset(&sigs);
	sigaddset(&sigs, SIGINT);
	sigaddset(&sigs, SIGTERM);
	pthread_sigmask(SIG_BLOCK, &sigs, NULL);
	dmg_log_open(&log, "virtwatch", 0, 1, level);
	if (dmg_virt_new(uri, print_event, NULL, &log, &v, &err) < 0) {
		fprintf(stderr, "virtwatch: %s\n", err.msg);
		return 1;
	}
	rc = run_verb(v, &sigs, argc, argv);
	fflush(stdout);
	dmg_virt_free(v);
	dmg_log_close(&log);
	return rc;
}
