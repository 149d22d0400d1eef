/* DRBD 8.4 generic-netlink messages: building requests from the operation
 * table, encoding them, decoding replies and events.  No sockets here, so
 * all of it is unit-tested against messages captured from drbdsetup-84 and
 * the kernel module. */
#include "config.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

#include <linux/genetlink.h>
#include <linux/netlink.h>

#include "storage/drbd.h"

#define M DMG_DRBD_MANDATORY

void
dmg_drbd_req_init(struct dmg_drbd_req *r, enum dmg_drbd_cmd cmd, uint32_t minor)
{
	memset(r, 0, sizeof(*r));
	r->cmd = cmd;
	r->minor = minor;
}

static int
add(struct dmg_drbd_req *r, uint16_t tla, uint16_t type, enum dmg_drbd_kind kind,
    uint64_t u, const void *p, size_t len, struct dmg_error *err)
{
	struct dmg_drbd_attr *a;

	if (r->n == DMG_DRBD_MAX_ATTRS)
		return dmg_error_set(err, -E2BIG, "DRBD request has too many attributes");
	a = &r->a[r->n++];
	a->tla = tla;
	a->type = type;
	a->kind = kind;
	a->u = u;
	a->p = p;
	a->len = len;
	return 0;
}

/* A string attribute is sent with its terminating NUL. */
static int
add_str(struct dmg_drbd_req *r, uint16_t tla, uint16_t type, const char *s, size_t max,
	const char *what, struct dmg_error *err)
{
	if (!s || !*s || strlen(s) >= max)
		return dmg_error_set(err, -EINVAL, "DRBD %s must be 1 to %zu characters", what, max - 1);
	return add(r, tla, type, DMG_A_STR, 0, s, strlen(s) + 1, err);
}

static int
add_ctx_resource(struct dmg_drbd_req *r, const char *resource, struct dmg_error *err)
{
	return add_str(r, DMG_NLA_CFG_CONTEXT, T_CTX_RESOURCE_NAME | M, resource, 128,
		       "resource name", err);
}

static int
add_ctx_addrs(struct dmg_drbd_req *r, const struct dmg_drbd_net *n, struct dmg_error *err)
{
	if (!n->my_addr || !n->peer_addr || n->my_len == 0 || n->peer_len == 0 ||
	    n->my_len > 128 || n->peer_len > 128)
		return dmg_error_set(err, -EINVAL, "DRBD connection needs a local and a peer address");
	if (add(r, DMG_NLA_CFG_CONTEXT, T_CTX_MY_ADDR | M, DMG_A_BIN, 0, n->my_addr, n->my_len, err) < 0)
		return err->code;
	return add(r, DMG_NLA_CFG_CONTEXT, T_CTX_PEER_ADDR | M, DMG_A_BIN, 0, n->peer_addr,
		   n->peer_len, err);
}

int
dmg_drbd_req_new_resource(struct dmg_drbd_req *r, const char *resource, struct dmg_error *err)
{
	dmg_drbd_req_init(r, DMG_DRBD_NEW_RESOURCE, DMG_DRBD_NO_MINOR);
	return add_ctx_resource(r, resource, err);
}

int
dmg_drbd_req_new_minor(struct dmg_drbd_req *r, const char *resource, uint32_t minor,
		       uint32_t volume, struct dmg_error *err)
{
	dmg_drbd_req_init(r, DMG_DRBD_NEW_MINOR, minor);
	if (add_ctx_resource(r, resource, err) < 0)
		return err->code;
	return add(r, DMG_NLA_CFG_CONTEXT, T_CTX_VOLUME | M, DMG_A_U32, volume, NULL, 0, err);
}

int
dmg_drbd_req_attach(struct dmg_drbd_req *r, uint32_t minor, const struct dmg_drbd_disk *d,
		    struct dmg_error *err)
{
	dmg_drbd_req_init(r, DMG_DRBD_ATTACH, minor);
	if (!d->backing || !*d->backing || !d->meta || !*d->meta)
		return dmg_error_set(err, -EINVAL, "DRBD attach needs a backing and a meta-data device");
	/* Options first, then the devices: the order drbdsetup-84 uses. */
	if (d->resync_rate_kib) {
		if (add(r, DMG_NLA_DISK_CONF, T_RESYNC_RATE | M, DMG_A_U32, d->resync_rate_kib, NULL, 0, err) < 0)
			return err->code;
		/* fixed: controller off; dynamic: controller on, capped at the rate */
		if (add(r, DMG_NLA_DISK_CONF, T_C_PLAN_AHEAD | M, DMG_A_U32, d->dynamic ? 20 : 0,
			NULL, 0, err) < 0 ||
		    (d->dynamic && add(r, DMG_NLA_DISK_CONF, T_C_MAX_RATE | M, DMG_A_U32,
				       d->resync_rate_kib, NULL, 0, err) < 0))
			return err->code;
		if (d->dynamic && add(r, DMG_NLA_DISK_CONF, T_C_FILL_TARGET | M, DMG_A_U32,
				      (uint64_t)dmg_drbd_fill_target_kib(d->resync_rate_kib) * 2 /* sectors */,
				      NULL, 0, err) < 0)
			return err->code;
	}
	if (d->fencing >= 0 &&
	    add(r, DMG_NLA_DISK_CONF, T_FENCING | M, DMG_A_U32, (uint32_t)d->fencing, NULL, 0, err) < 0)
		return err->code;
	/* DRBD's range: up to 1 MiB; whole 4 KiB bitmap blocks */
	if (d->rs_discard_granularity > (1u << 20) || d->rs_discard_granularity % 4096)
		return dmg_error_set(err, -EINVAL, "rs-discard-granularity %u: not a multiple of 4 KiB up to 1 MiB",
				     d->rs_discard_granularity);
	/* drbdsetup-84's order; both optional fields (no mandatory bit) */
	if (d->rs_discard_granularity &&
	    (add(r, DMG_NLA_DISK_CONF, T_RS_DISCARD_GRANULARITY, DMG_A_U32, d->rs_discard_granularity,
		 NULL, 0, err) < 0 ||
	     add(r, DMG_NLA_DISK_CONF, T_DISCARD_ZEROES_IF_ALIGNED, DMG_A_U8, d->discard_zeroes ? 1 : 0,
		 NULL, 0, err) < 0))
		return err->code;
	/* backing/meta device and index are DRBD_F_REQUIRED, not mandatory */
	if (add_str(r, DMG_NLA_DISK_CONF, T_BACKING_DEV, d->backing, 128, "backing device", err) < 0 ||
	    add_str(r, DMG_NLA_DISK_CONF, T_META_DEV, d->meta, 128, "meta-data device", err) < 0)
		return err->code;
	return add(r, DMG_NLA_DISK_CONF, T_META_DEV_IDX, DMG_A_U32, (uint32_t)-2 /* flex-external */,
		   NULL, 0, err);
}

uint32_t
dmg_drbd_fill_target_kib(uint32_t rate_kib)
{
	uint32_t kib = rate_kib / 10;

	return kib < DMG_DRBD_FILL_MIN_KIB ? DMG_DRBD_FILL_MIN_KIB :
	       kib > DMG_DRBD_FILL_MAX_KIB ? DMG_DRBD_FILL_MAX_KIB : kib;
}

int
dmg_drbd_req_connect(struct dmg_drbd_req *r, const char *resource, const struct dmg_drbd_net *n,
		     struct dmg_error *err)
{
	dmg_drbd_req_init(r, DMG_DRBD_CONNECT, DMG_DRBD_NO_MINOR);
	if (add_ctx_resource(r, resource, err) < 0 || add_ctx_addrs(r, n, err) < 0)
		return err->code;
	if (add(r, DMG_NLA_NET_CONF, T_WIRE_PROTOCOL | M, DMG_A_U32, n->async ? 1 /* A */ : 3 /* C */,
		NULL, 0, err) < 0)
		return err->code;
	if (n->async && n->cong_fill_kib > (10u << 20))   /* DRBD's limit: 10 GiB */
		return dmg_error_set(err, -EINVAL, "congestion-fill %u KiB: above 10 GiB", n->cong_fill_kib);
	if (n->async &&
	    (add(r, DMG_NLA_NET_CONF, T_ON_CONGESTION | M, DMG_A_U32, 1 /* pull-ahead */, NULL, 0, err) < 0 ||
	     (n->cong_fill_kib && add(r, DMG_NLA_NET_CONF, T_CONG_FILL | M, DMG_A_U32,
				      (uint64_t)n->cong_fill_kib * 2 /* sectors */, NULL, 0, err) < 0)))
		return err->code;
	if (n->hmac_alg && add_str(r, DMG_NLA_NET_CONF, T_CRAM_HMAC_ALG | M, n->hmac_alg,
				   DMG_DRBD_SECRET_MAX, "cram-hmac-alg", err) < 0)
		return err->code;
	if (n->secret && add_str(r, DMG_NLA_NET_CONF, T_SHARED_SECRET | M, n->secret,
				 DMG_DRBD_SECRET_MAX, "shared secret", err) < 0)
		return err->code;
	/* Room on the receiving side for what the resync controller keeps in
	 * flight (c-fill-target, up to DMG_DRBD_FILL_MAX_KIB) and the guest's
	 * writes beside it. */
	if (add(r, DMG_NLA_NET_CONF, T_MAX_BUFFERS | M, DMG_A_U32, DMG_DRBD_MAX_BUFFERS, NULL, 0, err) < 0)
		return err->code;
	/* Never resolve a split brain by discarding data: disconnect. */
	if (add(r, DMG_NLA_NET_CONF, T_AFTER_SB_0P | M, DMG_A_U32, 0, NULL, 0, err) < 0 ||
	    add(r, DMG_NLA_NET_CONF, T_AFTER_SB_1P | M, DMG_A_U32, 0, NULL, 0, err) < 0 ||
	    add(r, DMG_NLA_NET_CONF, T_AFTER_SB_2P | M, DMG_A_U32, 0, NULL, 0, err) < 0)
		return err->code;
	return add(r, DMG_NLA_NET_CONF, T_TWO_PRIMARIES | M, DMG_A_U8, n->two_primaries ? 1 : 0,
		   NULL, 0, err);
}

int
dmg_drbd_req_net_opts(struct dmg_drbd_req *r, const struct dmg_drbd_net *n, struct dmg_error *err)
{
	dmg_drbd_req_init(r, DMG_DRBD_CHG_NET_OPTS, DMG_DRBD_NO_MINOR);
	if (add_ctx_addrs(r, n, err) < 0)
		return err->code;
	return add(r, DMG_NLA_NET_CONF, T_TWO_PRIMARIES | M, DMG_A_U8, n->two_primaries ? 1 : 0,
		   NULL, 0, err);
}

int
dmg_drbd_req_protocol_c(struct dmg_drbd_req *r, const struct dmg_drbd_net *n, struct dmg_error *err)
{
	dmg_drbd_req_init(r, DMG_DRBD_CHG_NET_OPTS, DMG_DRBD_NO_MINOR);
	if (add_ctx_addrs(r, n, err) < 0 ||
	    add(r, DMG_NLA_NET_CONF, T_WIRE_PROTOCOL | M, DMG_A_U32, 3 /* C */, NULL, 0, err) < 0)
		return err->code;
	return add(r, DMG_NLA_NET_CONF, T_ON_CONGESTION | M, DMG_A_U32, 0 /* block */, NULL, 0, err);
}

int
dmg_drbd_req_fencing(struct dmg_drbd_req *r, uint32_t minor, int fencing, struct dmg_error *err)
{
	dmg_drbd_req_init(r, DMG_DRBD_CHG_DISK_OPTS, minor);
	if (fencing < DMG_FENCING_DONT_CARE || fencing > DMG_FENCING_STONITH)
		return dmg_error_set(err, -EINVAL, "DRBD fencing policy %d: not 0 to 2", fencing);
	return add(r, DMG_NLA_DISK_CONF, T_FENCING | M, DMG_A_U32, (uint32_t)fencing, NULL, 0, err);
}

int
dmg_drbd_req_role(struct dmg_drbd_req *r, uint32_t minor, int primary, int force,
		  struct dmg_error *err)
{
	dmg_drbd_req_init(r, primary ? DMG_DRBD_PRIMARY : DMG_DRBD_SECONDARY, minor);
	if (!primary || !force)
		return 0;
	return add(r, DMG_NLA_SET_ROLE_PARMS, T_ASSUME_UPTODATE | M, DMG_A_U8, 1, NULL, 0, err);
}

int
dmg_drbd_req_disconnect(struct dmg_drbd_req *r, const struct dmg_drbd_net *n, int force,
			struct dmg_error *err)
{
	dmg_drbd_req_init(r, DMG_DRBD_DISCONNECT, DMG_DRBD_NO_MINOR);
	if (add_ctx_addrs(r, n, err) < 0)
		return err->code;
	if (!force)
		return 0;
	return add(r, DMG_NLA_DISCONNECT_PARMS, T_FORCE | M, DMG_A_U8, 1, NULL, 0, err);
}

int
dmg_drbd_req_detach(struct dmg_drbd_req *r, uint32_t minor, int force, struct dmg_error *err)
{
	dmg_drbd_req_init(r, DMG_DRBD_DETACH, minor);
	if (!force)
		return 0;
	return add(r, DMG_NLA_DETACH_PARMS, T_FORCE | M, DMG_A_U8, 1, NULL, 0, err);
}

int
dmg_drbd_req_resource(struct dmg_drbd_req *r, enum dmg_drbd_cmd cmd, const char *resource,
		      struct dmg_error *err)
{
	dmg_drbd_req_init(r, cmd, DMG_DRBD_NO_MINOR);
	return add_ctx_resource(r, resource, err);
}

void
dmg_drbd_req_minor(struct dmg_drbd_req *r, enum dmg_drbd_cmd cmd, uint32_t minor)
{
	dmg_drbd_req_init(r, cmd, minor);
}

int
dmg_drbd_req_status_dump(struct dmg_drbd_req *r, const char *resource, struct dmg_error *err)
{
	dmg_drbd_req_init(r, DMG_DRBD_GET_STATUS, DMG_DRBD_NO_MINOR);
	r->dump = 1;
	return resource ? add_ctx_resource(r, resource, err) : 0;
}

/* --- encoding ------------------------------------------------------------ */

struct wbuf {
	unsigned char *p;
	size_t len, cap;
};

static int
put(struct wbuf *w, const void *v, size_t n)
{
	if (w->len + n > w->cap)
		return -ENOSPC;
	if (n)
		memcpy(w->p + w->len, v, n);
	w->len += n;
	return 0;
}

static int
pad4(struct wbuf *w)
{
	static const unsigned char zero[4];

	return put(w, zero, NLA_ALIGN(w->len) - w->len);
}

/* One attribute with its value, padded to 4 bytes. */
static int
put_attr(struct wbuf *w, const struct dmg_drbd_attr *a)
{
	struct nlattr h;
	unsigned char u8;
	uint32_t u32;
	uint64_t u64;
	const void *v;
	size_t n;

	switch (a->kind) {
	case DMG_A_U8: u8 = (unsigned char)a->u; v = &u8; n = 1; break;
	case DMG_A_U32: u32 = (uint32_t)a->u; v = &u32; n = 4; break;
	case DMG_A_U64: u64 = a->u; v = &u64; n = 8; break;
	default: v = a->p; n = a->len; break;
	}
	h.nla_len = (uint16_t)(NLA_HDRLEN + n);
	h.nla_type = a->type;
	if (put(w, &h, sizeof(h)) < 0 || put(w, v, n) < 0)
		return -ENOSPC;
	return pad4(w);
}

int
dmg_drbd_encode(const struct dmg_drbd_req *r, uint16_t family, uint32_t seq, uint32_t portid,
		void *buf, size_t len, struct dmg_error *err)
{
	struct wbuf w = { buf, 0, len };
	struct nlmsghdr nh = { 0 };
	struct genlmsghdr gh = { 0 };
	uint32_t dh[2] = { r->minor, r->flags };
	size_t i = 0;

	gh.cmd = (uint8_t)r->cmd;
	gh.version = DMG_DRBD_GENL_VERSION;
	if (put(&w, &nh, sizeof(nh)) < 0 || put(&w, &gh, sizeof(gh)) < 0 || put(&w, dh, sizeof(dh)) < 0)
		goto nospace;
	/* Attributes of one nested struct are contiguous in the list. */
	while (i < r->n) {
		uint16_t tla = r->a[i].tla;
		size_t start = w.len;
		/* drbdsetup-84 marks its top-level structs NLA_F_NESTED */
		struct nlattr nest = { .nla_len = NLA_HDRLEN, .nla_type = tla | NLA_F_NESTED };

		if (put(&w, &nest, sizeof(nest)) < 0)
			goto nospace;
		for (; i < r->n && r->a[i].tla == tla; i++)
			if (put_attr(&w, &r->a[i]) < 0)
				goto nospace;
		nest.nla_len = (uint16_t)(w.len - start);
		memcpy(w.p + start, &nest, sizeof(nest));
	}
	nh.nlmsg_len = (uint32_t)w.len;
	nh.nlmsg_type = family;
	nh.nlmsg_flags = NLM_F_REQUEST | (r->dump ? NLM_F_DUMP : 0);
	nh.nlmsg_seq = seq;
	nh.nlmsg_pid = portid;
	memcpy(w.p, &nh, sizeof(nh));
	return (int)w.len;
nospace:
	return dmg_error_set(err, -ENOSPC, "DRBD request does not fit in %zu bytes", len);
}

/* --- decoding ------------------------------------------------------------ */

static const char *const roles[] = { "Unknown", "Primary", "Secondary" };
static const char *const conns[] = {
	"StandAlone", "Disconnecting", "Unconnected", "Timeout", "BrokenPipe",
	"NetworkFailure", "ProtocolError", "TearDown", "WFConnection", "WFReportParams",
	"Connected", "StartingSyncS", "StartingSyncT", "WFBitMapS", "WFBitMapT",
	"WFSyncUUID", "SyncSource", "SyncTarget", "VerifyS", "VerifyT", "PausedSyncS",
	"PausedSyncT", "Ahead", "Behind",
};
static const char *const disks[] = {
	"Diskless", "Attaching", "Failed", "Negotiating", "Inconsistent", "Outdated",
	"DUnknown", "Consistent", "UpToDate",
};

const char *
dmg_drbd_role_str(unsigned v)
{
	return v < sizeof(roles) / sizeof(roles[0]) ? roles[v] : "?";
}

const char *
dmg_drbd_conn_str(unsigned v)
{
	return v < sizeof(conns) / sizeof(conns[0]) ? conns[v] : "?";
}

const char *
dmg_drbd_disk_str(unsigned v)
{
	return v < sizeof(disks) / sizeof(disks[0]) ? disks[v] : "?";
}

/* union drbd_state, little-endian bitfield order */
void
dmg_drbd_state_decode(uint32_t raw, struct dmg_drbd_state *s)
{
	s->role = raw & 3;
	s->peer = (raw >> 2) & 3;
	s->conn = (raw >> 4) & 31;
	s->disk = (raw >> 9) & 15;
	s->pdsk = (raw >> 13) & 15;
	s->susp = (raw >> 17) & 1;
	s->susp_fen = (raw >> 22) & 1;
}

int
dmg_drbd_ret_ok(int32_t rc)
{
	/* enum drbd_ret_code: NO_ERROR is 101; state changes answer with
	 * enum drbd_state_rv, where 1..4 mean success. */
	return rc == 101 || (rc >= 1 && rc <= 4);
}

const char *
dmg_drbd_ret_str(int32_t rc)
{
	static const struct { int32_t code; const char *msg; } codes[] = {
		{ 102, "local address (port) already in use" },
		{ 103, "peer address (port) already in use" },
		{ 104, "cannot open the backing device" },
		{ 105, "cannot open the meta-data device" },
		{ 107, "backing device is not a block device" },
		{ 108, "meta-data device is not a block device" },
		{ 111, "backing device smaller than the requested size" },
		{ 112, "meta-data device too small" },
		{ 114, "backing device already claimed (in use)" },
		{ 115, "meta-data device already claimed (in use)" },
		{ 116, "backing/meta-data device/index combination invalid" },
		{ 118, "I/O error on the meta-data device" },
		{ 119, "no valid meta-data signature found (create-md first)" },
		{ 120, "the cram-hmac algorithm is not available" },
		{ 121, "the cram-hmac algorithm is not a digest" },
		{ 122, "out of memory in the DRBD module" },
		{ 124, "a disk is already attached" },
		{ 125, "the network is already configured" },
		{ 126, "a mandatory attribute was not understood" },
		{ 127, "no such minor (device)" },
		{ 138, "no disk attached" },
		{ 139, "protocol C required" },
		{ 152, "permission denied" },
		{ 158, "unknown resource" }, { 159, "resource in use" },
		{ 160, "minor still configured" }, { 161, "minor or volume exists" },
		{ 162, "invalid request" }, { 164, "two primaries are not allowed" },
		{ 165, "unclean meta-data (apply the activity log first)" },
		{ 1, "success" }, { 2, "nothing to do" }, { 3, "success" }, { 4, "success" },
		{ 0, "unknown state change error" },
		{ -1, "refusing to be primary while the peer is primary (two primaries)" },
		{ -2, "refusing to be primary without UpToDate data" },
		{ -4, "no local disk" }, { -5, "peer has no disk" },
		{ -6, "refusing to be outdated while connected" },
		{ -7, "no primary" }, { -8, "resync is running" },
		{ -9, "already standalone" }, { -10, "state change refused by the peer" },
		{ -11, "device is diskless" }, { -12, "device is held open by someone" },
		{ -13, "no network configuration" }, { -15, "needs a connection" },
		{ -16, "disk state is lower than outdated" }, { -18, "in a transient state, retry" },
		{ -19, "concurrent state change" },
	};
	size_t i;

	for (i = 0; i < sizeof(codes) / sizeof(codes[0]); i++)
		if (codes[i].code == rc)
			return codes[i].msg;
	return "unknown DRBD error";
}

static void
copy_str(char *dst, size_t len, const unsigned char *v, size_t n)
{
	if (n >= len)
		n = len - 1;
	memcpy(dst, v, n);
	dst[n] = '\0';
	dst[strnlen(dst, n)] = '\0';
}

static uint64_t
get_int(const unsigned char *v, size_t n)
{
	uint32_t u32;
	uint64_t u64;

	if (n == 8) {
		memcpy(&u64, v, 8);
		return u64;
	}
	if (n == 4) {
		memcpy(&u32, v, 4);
		return u32;
	}
	return n == 1 ? v[0] : 0;
}

static void
nested(uint16_t tla, const unsigned char *p, size_t len, struct dmg_drbd_status *st)
{
	while (len >= NLA_HDRLEN) {
		struct nlattr h;
		size_t n;
		const unsigned char *v = p + NLA_HDRLEN;
		uint16_t t;

		memcpy(&h, p, sizeof(h));
		if (h.nla_len < NLA_HDRLEN || h.nla_len > len)
			return;
		n = h.nla_len - NLA_HDRLEN;
		t = h.nla_type & NLA_TYPE_MASK & ~DMG_DRBD_MANDATORY;
		if (tla == DMG_NLA_CFG_REPLY && t == T_INFO_TEXT)
			copy_str(st->info, sizeof(st->info), v, n);
		else if (tla == DMG_NLA_CFG_CONTEXT && t == T_CTX_RESOURCE_NAME)
			copy_str(st->resource, sizeof(st->resource), v, n);
		else if (tla == DMG_NLA_STATE_INFO) {
			switch (t) {
			case T_SIB_REASON: st->sib_reason = (uint32_t)get_int(v, n); break;
			case T_CURRENT_STATE:
				st->state_raw = (uint32_t)get_int(v, n);
				st->has_state = 1;
				dmg_drbd_state_decode(st->state_raw, &st->state);
				break;
			case T_CAPACITY: st->capacity = get_int(v, n); break;
			case T_BITS_TOTAL: st->bits_total = get_int(v, n); break;
			case T_BITS_OOS: st->bits_oos = get_int(v, n); break;
			case T_BITS_RS_TOTAL: st->bits_rs_total = get_int(v, n); break;
			case T_BITS_RS_FAILED: st->bits_rs_failed = get_int(v, n); break;
			case T_HELPER: copy_str(st->helper, sizeof(st->helper), v, n); break;
			case T_HELPER_EXIT_CODE: st->helper_exit_code = (uint32_t)get_int(v, n); break;
			default: break;
			}
		}
		n = NLA_ALIGN(h.nla_len);
		if (n > len)
			return;
		p += n;
		len -= n;
	}
}

int
dmg_drbd_decode(const void *buf, size_t len, struct dmg_drbd_status *st, struct dmg_error *err)
{
	const unsigned char *p = buf;
	struct nlmsghdr nh;
	struct genlmsghdr gh;
	uint32_t dh[2];
	size_t off, end;

	memset(st, 0, sizeof(*st));
	if (len < sizeof(nh))
		return dmg_error_set(err, -EPROTO, "short netlink message");
	memcpy(&nh, p, sizeof(nh));
	if (nh.nlmsg_len < sizeof(nh) || nh.nlmsg_len > len)
		return dmg_error_set(err, -EPROTO, "bad netlink message length");
	if (nh.nlmsg_type == NLMSG_ERROR) {
		struct nlmsgerr e;

		if (nh.nlmsg_len < NLMSG_HDRLEN + sizeof(e))
			return dmg_error_set(err, -EPROTO, "short netlink error");
		memcpy(&e, p + NLMSG_HDRLEN, sizeof(e));
		if (e.error == 0)
			return 0;   /* an ACK */
		if (e.error > 0 || e.error < -4095)
			return dmg_error_set(err, -EPROTO, "netlink error message with code %d", e.error);
		return dmg_error_sys(err, e.error, "DRBD netlink request rejected");
	}
	if (nh.nlmsg_len < NLMSG_HDRLEN + GENL_HDRLEN + sizeof(dh))
		return dmg_error_set(err, -EPROTO, "short DRBD message");
	memcpy(&gh, p + NLMSG_HDRLEN, sizeof(gh));
	memcpy(dh, p + NLMSG_HDRLEN + GENL_HDRLEN, sizeof(dh));
	st->cmd = gh.cmd;
	st->minor = dh[0];
	st->ret_code = (int32_t)dh[1];
	off = NLMSG_HDRLEN + GENL_HDRLEN + sizeof(dh);
	end = nh.nlmsg_len;
	while (end - off >= NLA_HDRLEN) {
		struct nlattr h;

		memcpy(&h, p + off, sizeof(h));
		if (h.nla_len < NLA_HDRLEN || h.nla_len > end - off)
			return dmg_error_set(err, -EPROTO, "malformed DRBD attribute");
		nested(h.nla_type & NLA_TYPE_MASK, p + off + NLA_HDRLEN, h.nla_len - NLA_HDRLEN, st);
		off += NLA_ALIGN(h.nla_len);
		if (off > end)
			break;
	}
	return 1;
}
