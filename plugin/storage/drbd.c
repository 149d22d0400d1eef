/* The DRBD kernel module over generic netlink, through libnl-3: socket,
 * family and multicast-group resolution, request/reply matching by sequence
 * number, events.  Message contents are drbd_msg.c's business. */
#include "config.h"

#include <errno.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>

#include <linux/netlink.h>
#include <netlink/genl/ctrl.h>
#include <netlink/genl/genl.h>
#include <netlink/netlink.h>
#include <netlink/socket.h>

#include "storage/drbd.h"
#include "core/wire.h"

#define REQ_BUF 4096

struct dmg_drbd {
	struct nl_sock *sk;        /* requests */
	struct nl_sock *ev;        /* events multicast, opened on demand */
	int family;
	uint32_t seq;
};

static const char *
cmd_name(enum dmg_drbd_cmd c)
{
	switch (c) {
	case DMG_DRBD_GET_STATUS: return "get-status";
	case DMG_DRBD_NEW_MINOR: return "new-minor";
	case DMG_DRBD_DEL_MINOR: return "del-minor";
	case DMG_DRBD_NEW_RESOURCE: return "new-resource";
	case DMG_DRBD_DEL_RESOURCE: return "del-resource";
	case DMG_DRBD_CONNECT: return "connect";
	case DMG_DRBD_DISCONNECT: return "disconnect";
	case DMG_DRBD_ATTACH: return "attach";
	case DMG_DRBD_PRIMARY: return "primary";
	case DMG_DRBD_SECONDARY: return "secondary";
	case DMG_DRBD_DETACH: return "detach";
	case DMG_DRBD_DOWN: return "down";
	case DMG_DRBD_CHG_DISK_OPTS: return "disk-options";
	case DMG_DRBD_CHG_NET_OPTS: return "net-options";
	default: return "request";
	}
}

static int
nl_err(struct dmg_error *err, int nlrc, const char *what)
{
	return dmg_error_set(err, -EIO, "%s: %s", what, nl_geterror(nlrc));
}

void
dmg_drbd_close(struct dmg_drbd *d)
{
	if (!d)
		return;
	if (d->ev)
		nl_socket_free(d->ev);
	if (d->sk)
		nl_socket_free(d->sk);
	free(d);
}

int
dmg_drbd_open(struct dmg_drbd **out, struct dmg_error *err)
{
	struct dmg_drbd *d = calloc(1, sizeof(*d));
	int rc;

	if (!d)
		return dmg_error_set(err, -ENOMEM, "out of memory");
	d->sk = nl_socket_alloc();
	if (!d->sk) {
		free(d);
		return dmg_error_set(err, -ENOMEM, "out of memory");
	}
	rc = genl_connect(d->sk);
	if (rc < 0) {
		rc = nl_err(err, rc, "generic netlink");
		dmg_drbd_close(d);
		return rc;
	}
	d->family = genl_ctrl_resolve(d->sk, "drbd");
	if (d->family < 0) {
		dmg_drbd_close(d);
		return dmg_error_set(err, -ENOENT, "the DRBD kernel module is not loaded (modprobe drbd)");
	}
	d->seq = (uint32_t)dmg_now_ms();
	*out = d;
	return 0;
}

/* Receives on sk and hands every message with sequence number seq (any, if
 * seq is 0) to fn until fn returns non-zero (then that value is returned) or
 * timeout_ms pass (then 0).  One loop for replies, dumps and events. */
static int
recv_walk(struct nl_sock *sk, uint32_t seq, int timeout_ms,
	  int (*fn)(const struct nlmsghdr *h, void *arg), void *arg, struct dmg_error *err)
{
	int64_t deadline = dmg_now_ms() + timeout_ms;

	for (;;) {
		struct pollfd p = { .fd = nl_socket_get_fd(sk), .events = POLLIN };
		struct sockaddr_nl peer;
		unsigned char *buf = NULL;
		int64_t left = deadline - dmg_now_ms();
		int n, rc = 0;
		struct nlmsghdr *h;

		n = poll(&p, 1, left > 0 ? (int)left : 0);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return 0;
		n = nl_recv(sk, &peer, &buf, NULL);
		if (n <= 0) {
			free(buf);
			if (n == -NLE_AGAIN || n == 0)
				continue;
			return nl_err(err, n, "receiving from DRBD");
		}
		for (h = (struct nlmsghdr *)buf; rc == 0 && NLMSG_OK(h, (unsigned)n); h = NLMSG_NEXT(h, n))
			if (!seq || h->nlmsg_seq == seq)
				rc = fn(h, arg);
		free(buf);
		if (rc)
			return rc;
	}
}

struct one_ctx {
	struct dmg_drbd_status *st;
	struct dmg_error *err;
};

/* The first decodable message (an ACK is not one). */
static int
take_one(const struct nlmsghdr *h, void *arg)
{
	struct one_ctx *c = arg;

	return dmg_drbd_decode(h, h->nlmsg_len, c->st, c->err);
}

/* 1 with st filled, 0 on timeout, negative on error. */
static int
recv_one(struct nl_sock *sk, uint32_t seq, int timeout_ms, struct dmg_drbd_status *st,
	 struct dmg_error *err)
{
	struct one_ctx c = { st, err };

	return recv_walk(sk, seq, timeout_ms, take_one, &c, err);
}

int
dmg_drbd_call(struct dmg_drbd *d, const struct dmg_drbd_req *r, int timeout_ms,
	      struct dmg_drbd_status *st, struct dmg_error *err)
{
	unsigned char buf[REQ_BUF];
	struct dmg_drbd_status local;
	int len, rc;

	if (!st)
		st = &local;
	memset(st, 0, sizeof(*st));
	len = dmg_drbd_encode(r, (uint16_t)d->family, ++d->seq, nl_socket_get_local_port(d->sk),
			      buf, sizeof(buf), err);
	if (len < 0)
		return len;
	rc = nl_sendto(d->sk, buf, (size_t)len);
	if (rc < 0)
		return nl_err(err, rc, cmd_name(r->cmd));
	rc = recv_one(d->sk, d->seq, timeout_ms, st, err);
	if (rc < 0)
		return dmg_error_prefix(err, "DRBD %s", cmd_name(r->cmd));
	if (rc == 0)
		return dmg_error_set(err, -ETIMEDOUT, "DRBD %s: no answer within %d s", cmd_name(r->cmd),
				     timeout_ms / 1000);
	if (!dmg_drbd_ret_ok(st->ret_code)) {
		int code = st->ret_code == 127 ? -ENODEV : -EIO;

		if (r->minor != DMG_DRBD_NO_MINOR)
			return dmg_error_set(err, code, "DRBD %s on minor %u: %s (%d)%s%s", cmd_name(r->cmd),
					     r->minor, dmg_drbd_ret_str(st->ret_code), st->ret_code,
					     st->info[0] ? ": " : "", st->info);
		return dmg_error_set(err, code, "DRBD %s: %s (%d)%s%s", cmd_name(r->cmd),
				     dmg_drbd_ret_str(st->ret_code), st->ret_code,
				     st->info[0] ? ": " : "", st->info);
	}
	return 0;
}

int
dmg_drbd_status(struct dmg_drbd *d, uint32_t minor, struct dmg_drbd_status *st,
		struct dmg_error *err)
{
	struct dmg_drbd_req r;

	dmg_drbd_req_minor(&r, DMG_DRBD_GET_STATUS, minor);
	return dmg_drbd_call(d, &r, 10000, st, err);
}

struct dump_ctx {
	int (*fn)(const struct dmg_drbd_status *st, void *arg);
	void *arg;
	struct dmg_error *err;
	int fn_rc;
};

/* Each part of a status dump; NLMSG_DONE ends it (returned as 2). */
static int
take_dump(const struct nlmsghdr *h, void *arg)
{
	struct dump_ctx *c = arg;
	struct dmg_drbd_status st;
	int rc;

	if (h->nlmsg_type == NLMSG_DONE)
		return 2;
	rc = dmg_drbd_decode(h, h->nlmsg_len, &st, c->err);
	if (rc < 0)
		return rc;
	/* resources without minors show up with minor ~0 */
	if (rc == 1 && st.has_state && st.minor != DMG_DRBD_NO_MINOR)
		return (c->fn_rc = c->fn(&st, c->arg)) != 0 ? 3 : 0;
	return 0;
}

int
dmg_drbd_status_all(struct dmg_drbd *d, const char *resource,
		    int (*fn)(const struct dmg_drbd_status *st, void *arg), void *arg,
		    struct dmg_error *err)
{
	struct dump_ctx c = { fn, arg, err, 0 };
	unsigned char req[REQ_BUF];
	struct dmg_drbd_req r;
	int len, rc;

	if (dmg_drbd_req_status_dump(&r, resource, err) < 0)
		return err->code;
	len = dmg_drbd_encode(&r, (uint16_t)d->family, ++d->seq, nl_socket_get_local_port(d->sk),
			      req, sizeof(req), err);
	if (len < 0)
		return len;
	rc = nl_sendto(d->sk, req, (size_t)len);
	if (rc < 0)
		return nl_err(err, rc, "DRBD status dump");
	rc = recv_walk(d->sk, d->seq, 10000, take_dump, &c, err);
	if (rc == 0)
		return dmg_error_set(err, -ETIMEDOUT, "DRBD status dump: no end of dump");
	if (rc == 3)
		return c.fn_rc;
	return rc < 0 ? rc : 0;
}

int
dmg_drbd_events_open(struct dmg_drbd *d, struct dmg_error *err)
{
	int grp, rc;

	if (d->ev)
		return 0;
	grp = genl_ctrl_resolve_grp(d->sk, "drbd", "events");
	if (grp < 0)
		return nl_err(err, grp, "DRBD events group");
	d->ev = nl_socket_alloc();
	if (!d->ev)
		return dmg_error_set(err, -ENOMEM, "out of memory");
	nl_socket_disable_seq_check(d->ev);
	rc = genl_connect(d->ev);
	if (rc == 0)
		rc = nl_socket_add_membership(d->ev, grp);
	if (rc == 0)
		rc = nl_socket_set_nonblocking(d->ev);
	if (rc < 0) {
		nl_socket_free(d->ev);
		d->ev = NULL;
		return nl_err(err, rc, "DRBD events");
	}
	return 0;
}

int
dmg_drbd_events_fd(const struct dmg_drbd *d)
{
	return d->ev ? nl_socket_get_fd(d->ev) : -1;
}

int
dmg_drbd_event_next(struct dmg_drbd *d, struct dmg_drbd_status *st, struct dmg_error *err)
{
	if (!d->ev)
		return dmg_error_set(err, -EINVAL, "DRBD events not opened");
	return recv_one(d->ev, 0, 0, st, err);
}

int
dmg_drbd_wait(struct dmg_drbd *d, uint32_t minor,
	      int (*pred)(const struct dmg_drbd_status *st, void *arg), void *arg,
	      int timeout_ms, struct dmg_drbd_status *last, struct dmg_error *err)
{
	int64_t deadline = dmg_now_ms() + timeout_ms;
	struct dmg_drbd_status st;
	int rc;

	rc = dmg_drbd_events_open(d, err);
	if (rc < 0)
		return rc;
	for (;;) {
		/* The authoritative answer is the minor's status; events only
		 * wake us early. */
		rc = dmg_drbd_status(d, minor, &st, err);
		if (rc < 0)
			return rc;
		if (last)
			*last = st;
		rc = pred(&st, arg);
		if (rc > 0)
			return 0;
		if (rc < 0)
			return dmg_error_set(err, rc, "DRBD minor %u: gave up in %s/%s/%s", minor,
					     dmg_drbd_conn_str(st.state.conn),
					     dmg_drbd_disk_str(st.state.disk),
					     dmg_drbd_disk_str(st.state.pdsk));
		if (dmg_now_ms() >= deadline)
			return dmg_error_set(err, -ETIMEDOUT, "DRBD minor %u: timed out in %s/%s/%s",
					     minor, dmg_drbd_conn_str(st.state.conn),
					     dmg_drbd_disk_str(st.state.disk),
					     dmg_drbd_disk_str(st.state.pdsk));
		{
			struct pollfd p = { .fd = dmg_drbd_events_fd(d), .events = POLLIN };
			struct dmg_drbd_status ev = { 0 };

			if (poll(&p, 1, 1000) > 0)
				while (dmg_drbd_event_next(d, &ev, err) > 0)
					;
		}
	}
}
