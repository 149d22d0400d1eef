/* The libvirt qemu hook, installed as /etc/libvirt/hooks/qemu.d/drbdmig.
 *
 * libvirt waits for this program, so it must be quick and must never hang:
 * a domain without the drbdmig annotation costs a read of stdin and a
 * memmem(); everything else is forwarded to drbdmigd with bounded waits and
 * the answer relayed (XML to stdout, message to stderr, exit status).  Only
 * `migrate begin` refuses on its own (daemon unreachable, bad input); for
 * other events only the daemon's answer can (a fenced incoming migration),
 * so a stopped daemon never blocks a guest. */
#include "config.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "core/call.h"
#include "core/conf.h"
#include "core/defaults.h"
#include "core/hookev.h"
#include "core/policy_types.h"
#include "core/wire.h"

struct input {
	char *data;
	size_t len;
	int truncated;     /* more than DMG_XML_MAX bytes arrived */
};

/* Reads all of stdin (draining past the limit so libvirt's write never
 * blocks), keeping at most DMG_XML_MAX bytes. */
static int
read_stdin(struct input *in, struct dmg_error *err)
{
	size_t cap = 64 << 10;
	char sink[65536];

	memset(in, 0, sizeof(*in));
	in->data = malloc(cap + 1);
	if (!in->data)
		return dmg_error_set(err, -ENOMEM, "out of memory");
	for (;;) {
		ssize_t n;

		if (in->len == cap && cap < DMG_XML_MAX) {
			char *d;

			cap = cap * 4 > DMG_XML_MAX ? DMG_XML_MAX : cap * 4;
			d = realloc(in->data, cap + 1);
			if (!d)
				return dmg_error_set(err, -ENOMEM, "out of memory");
			in->data = d;
		}
		if (in->len < cap)
			n = read(0, in->data + in->len, cap - in->len);
		else
			n = read(0, sink, sizeof(sink));
		if (n < 0) {
			if (errno == EINTR)
				continue;
			/* No stdin at all (e.g. run by hand): treat as empty. */
			if (errno == EBADF)
				break;
			return dmg_error_sys(err, -errno, "cannot read the domain XML on stdin");
		}
		if (n == 0)
			break;
		if (in->len < cap)
			in->len += (size_t)n;
		else
			in->truncated = 1;
	}
	in->data[in->len] = '\0';
	return 0;
}

/* Tests point the hook at a private daemon; libvirtd runs hooks with its own
 * (root-controlled) environment, so this opens nothing to other users. */
static const char *
path_or_env(const char *name, const char *def)
{
	const char *v = getenv(name);

	return v && v[0] == '/' ? v : def;
}

/* Asks the daemon; returns 0 with reply filled, or negative with err set. */
static int
ask_daemon(const struct dmg_hook_event *ev, const struct input *in,
	   unsigned timeout_s, struct dmg_msg *reply, struct dmg_error *err)
{
	struct dmg_msg req = {
		.type = DMG_MSG_HOOK_REQUEST,
		.domain = (char *)ev->domain, .op = (char *)ev->op,
		.subop = (char *)ev->subop, .extra = (char *)ev->extra,
		.xml = in->data, .xml_len = in->len,
	};
	int64_t deadline = dmg_now_ms() + (int64_t)timeout_s * 1000;
	enum dmg_call_stage stage;
	int rc;

	rc = dmg_call_msg(path_or_env("DRBDMIG_SOCKET", DMG_SOCKET_PATH), DMG_HOOK_CONNECT_MS,
			  deadline, &req, reply, &stage, err);
	if (rc < 0 && stage == DMG_CALL_CONNECT)
		return dmg_error_prefix(err, "cannot reach drbdmigd");
	if (rc == -ETIMEDOUT)
		return dmg_error_set(err, rc, "drbdmigd did not answer within %u s", timeout_s);
	if (rc < 0)
		return dmg_error_prefix(err, "talking to drbdmigd");
	if (reply->type == DMG_MSG_ERROR) {
		rc = dmg_error_set(err, -EPROTO, "drbdmigd rejected the request: %s", reply->message);
		dmg_msg_clear(reply);
		return rc;
	}
	if (reply->type != DMG_MSG_HOOK_REPLY) {
		rc = dmg_error_set(err, -EPROTO, "drbdmigd sent an unexpected %s message",
				   dmg_msg_type_name(reply->type));
		dmg_msg_clear(reply);
		return rc;
	}
	return 0;
}

static int
relay(const struct dmg_msg *reply)
{
	struct dmg_error err = { 0 };

	if (reply->out_len &&
	    dmg_write_all(1, reply->out, reply->out_len, dmg_now_ms() + DMG_HOOK_WRITE_MS, &err) < 0) {
		fprintf(stderr, "drbdmig: cannot write the domain XML to libvirt: %s\n", err.msg);
		return 1;
	}
	if (reply->message && reply->message[0])
		fprintf(stderr, "%s\n", reply->message);
	return reply->status > 255 ? 1 : (int)reply->status;
}

int
main(int argc, char **argv)
{
	struct dmg_hook_event ev;
	struct dmg_msg reply;
	struct dmg_error err = { 0 };
	struct dmg_conf conf;
	struct input in;
	unsigned timeout;
	int required, rc;

	if (dmg_hook_event_parse(argc, argv, &ev, &err) < 0) {
		fprintf(stderr, "drbdmig: %s\n", err.msg);
		return 1;
	}
	if (read_stdin(&in, &err) < 0) {
		/* Without the XML we cannot know the domain is ours: only a
		 * migration may be refused for it. */
		if (ev.action != DMG_HOOK_REQUIRED)
			return 0;
		fprintf(stderr, "drbdmig: %s\n", err.msg);
		return 1;
	}
	if (ev.action == DMG_HOOK_IGNORE || !dmg_hook_sniff_annotation(in.data, in.len)) {
		free(in.data);
		return 0;   /* the fast path: not a drbdmig domain or event */
	}

	required = ev.action == DMG_HOOK_REQUIRED;
	if (in.truncated) {
		free(in.data);
		if (!required)
			return 0;
		fprintf(stderr, "drbdmig: domain '%s': XML larger than %u MiB; migration refused\n",
			ev.domain, DMG_XML_MAX >> 20);
		return 1;
	}
	dmg_conf_defaults(&conf);
	if (dmg_conf_load(path_or_env("DRBDMIG_CONF", DMG_CONF_PATH), 1, &conf, &err) < 0) {
		if (required) {
			fprintf(stderr, "drbdmig: %s; migration of '%s' refused\n", err.msg, ev.domain);
			free(in.data);
			return 1;
		}
		dmg_conf_defaults(&conf);
	}
	timeout = required ? conf.hook_migrate_timeout : conf.hook_event_timeout;
	rc = ask_daemon(&ev, &in, timeout, &reply, &err);
	free(in.data);
	if (rc < 0) {
		if (!required) {
			fprintf(stderr, "drbdmig: warning: %s (event %s %s of '%s' not recorded)\n",
				err.msg, ev.op, ev.subop, ev.domain);
			return 0;
		}
		fprintf(stderr, "drbdmig: %s; migration of '%s' refused (is drbdmigd running?)\n",
			err.msg, ev.domain);
		return 1;
	}
	rc = relay(&reply);
	dmg_msg_clear(&reply);
	return rc;
}
