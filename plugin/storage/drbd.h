/* DRBD 8.4 through its generic-netlink API (family "drbd", the kernel's
 * include/linux/drbd_genl.h), with libnl-3.  Requests are data: an operation
 * from a table plus a list of attributes, encoded by one builder.  Replies
 * and events decode into struct dmg_drbd_status. */
#ifndef DMG_DRBD_H
#define DMG_DRBD_H

#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

#include "core/error.h"

#define DMG_DRBD_GENL_VERSION 1          /* GENL_MAGIC_VERSION of 8.4 (api:1) */
#define DMG_DRBD_MANDATORY    (1u << 14) /* DRBD_GENLA_F_MANDATORY */
#define DMG_DRBD_NO_MINOR     0xffffffffu
#define DMG_DRBD_MAX_ATTRS    48
#define DMG_DRBD_SECRET_MAX   64         /* SHARED_SECRET_MAX */

/* genlmsghdr.cmd values */
enum dmg_drbd_cmd {
	DMG_DRBD_EVENT = 1,
	DMG_DRBD_GET_STATUS = 2,
	DMG_DRBD_NEW_MINOR = 5,
	DMG_DRBD_DEL_MINOR = 6,
	DMG_DRBD_NEW_RESOURCE = 7,
	DMG_DRBD_DEL_RESOURCE = 8,
	DMG_DRBD_CONNECT = 10,
	DMG_DRBD_DISCONNECT = 11,
	DMG_DRBD_ATTACH = 12,
	DMG_DRBD_PRIMARY = 14,
	DMG_DRBD_SECONDARY = 15,
	DMG_DRBD_DETACH = 18,
	DMG_DRBD_RESUME_IO = 24,
	DMG_DRBD_DOWN = 27,
	DMG_DRBD_CHG_DISK_OPTS = 28,
	DMG_DRBD_CHG_NET_OPTS = 29,
};

/* top-level attributes (nested structs) */
enum dmg_drbd_tla {
	DMG_NLA_CFG_REPLY = 1,
	DMG_NLA_CFG_CONTEXT = 2,
	DMG_NLA_DISK_CONF = 3,
	DMG_NLA_RESOURCE_OPTS = 4,
	DMG_NLA_NET_CONF = 5,
	DMG_NLA_SET_ROLE_PARMS = 6,
	DMG_NLA_STATE_INFO = 8,
	DMG_NLA_DISCONNECT_PARMS = 12,
	DMG_NLA_DETACH_PARMS = 13,
};

/* Field numbers inside the nested structs (without the mandatory bit). */
enum {
	/* drbd_cfg_context */
	T_CTX_VOLUME = 1, T_CTX_RESOURCE_NAME = 2, T_CTX_MY_ADDR = 3, T_CTX_PEER_ADDR = 4,
	/* disk_conf */
	T_BACKING_DEV = 1, T_META_DEV = 2, T_META_DEV_IDX = 3, T_FENCING = 7,
	T_RESYNC_RATE = 8, T_C_PLAN_AHEAD = 11, T_C_FILL_TARGET = 13, T_C_MAX_RATE = 14,
	T_C_MIN_RATE = 15,
	/* in-tree 8.4's numbering (DRBD 9's differs), optional: no mandatory bit */
	T_DISCARD_ZEROES_IF_ALIGNED = 24, T_RS_DISCARD_GRANULARITY = 25,
	/* net_conf */
	T_SHARED_SECRET = 1, T_CRAM_HMAC_ALG = 2, T_WIRE_PROTOCOL = 6,
	T_SNDBUF_SIZE = 11, T_MAX_BUFFERS = 14,
	T_ON_CONGESTION = 21, T_CONG_FILL = 22, T_CONG_EXTENTS = 23,
	T_AFTER_SB_0P = 17, T_AFTER_SB_1P = 18, T_AFTER_SB_2P = 19, T_TWO_PRIMARIES = 24,
	/* set_role_parms */
	T_ASSUME_UPTODATE = 1,
	/* disconnect_parms / detach_parms */
	T_FORCE = 1,
	/* state_info */
	T_SIB_REASON = 1, T_CURRENT_STATE = 2, T_CAPACITY = 3, T_PREV_STATE = 5,
	T_NEW_STATE = 6, T_BITS_TOTAL = 9, T_BITS_OOS = 10, T_BITS_RS_TOTAL = 11,
	T_BITS_RS_FAILED = 12, T_HELPER = 13, T_HELPER_EXIT_CODE = 14,
	/* drbd_cfg_reply */
	T_INFO_TEXT = 1,
};

enum dmg_drbd_kind { DMG_A_U8, DMG_A_U32, DMG_A_U64, DMG_A_STR, DMG_A_BIN };

struct dmg_drbd_attr {
	uint16_t tla;          /* which nested struct it belongs to */
	uint16_t type;         /* field number | DMG_DRBD_MANDATORY as sent */
	enum dmg_drbd_kind kind;
	uint64_t u;            /* integer value */
	const void *p;         /* string/binary value (not owned) */
	size_t len;
};

/* One request: the operation, its minor and attributes in wire order. */
struct dmg_drbd_req {
	enum dmg_drbd_cmd cmd;
	uint32_t minor;            /* DMG_DRBD_NO_MINOR when not per-minor */
	uint32_t flags;            /* drbd_genlmsghdr.flags */
	int dump;                  /* NLM_F_DUMP: one reply per object */
	size_t n;
	struct dmg_drbd_attr a[DMG_DRBD_MAX_ATTRS];
};

/* --- request construction: what each operation carries ---------------- */

/* The dynamic resync controller's target of resync data in flight
 * (c-fill-target).  DRBD's default, 50 KiB, caps the resync at 50 KiB per
 * round trip of a resync request: a few MiB/s once the round trip takes
 * milliseconds, far below the link.  drbdmig aims at what the rate limit
 * (c-max-rate, the policy's resync-rate) moves in 100 ms, one step of the
 * controller, within these bounds: at least a fast LAN's bandwidth-delay
 * product, at most half of the receiver's buffers (DMG_DRBD_MAX_BUFFERS). */
#define DMG_DRBD_FILL_MIN_KIB 1024u
#define DMG_DRBD_FILL_MAX_KIB 16384u
/* max-buffers, in 4 KiB pages: 32 MiB (DRBD's default is 8 MiB). */
#define DMG_DRBD_MAX_BUFFERS 8192u
uint32_t dmg_drbd_fill_target_kib(uint32_t rate_kib);

struct dmg_drbd_disk {
	const char *backing, *meta;        /* block device paths */
	uint32_t resync_rate_kib;          /* 0 = leave the kernel default */
	int dynamic;                       /* resync controller (c-plan-ahead) */
	int fencing;                       /* -1 leave, else enum drbd_fencing_p */
	/* Thin resync (sync target): blocks the source reads as all zero
	 * cross the link as a short "deallocated" reply and are zeroed out
	 * here -- trusted to a discard only with discard_zeroes (discard-
	 * zeroes-if-aligned yes: a thin LV, where a discarded block reads as
	 * zeros), else written, so old data under them goes.  Bytes; 0 = off.
	 * DRBD turns it off by itself where the backing device cannot discard. */
	uint32_t rs_discard_granularity;
	int discard_zeroes;
};

struct dmg_drbd_net {
	const struct sockaddr *my_addr, *peer_addr;   /* sockaddr_in / in6 */
	socklen_t my_len, peer_len;
	const char *secret;                /* cram-hmac shared secret */
	const char *hmac_alg;              /* e.g. "sha256" */
	int two_primaries;                 /* 0/1 */
	/* The initial sync: protocol A, and under congestion DRBD goes Ahead
	 * (marks out of sync, resyncs later) instead of making the guest's
	 * writes wait for the link.  Only while the peer holds nothing anyone
	 * relies on; protocol C again (dmg_drbd_req_protocol_c) before two
	 * primaries. */
	int async;
	uint32_t cong_fill_kib;            /* async: Ahead past this much in flight */
};

void dmg_drbd_req_init(struct dmg_drbd_req *r, enum dmg_drbd_cmd cmd, uint32_t minor);

int dmg_drbd_req_new_resource(struct dmg_drbd_req *r, const char *resource,
			      struct dmg_error *err);
int dmg_drbd_req_new_minor(struct dmg_drbd_req *r, const char *resource,
			   uint32_t minor, uint32_t volume, struct dmg_error *err);
int dmg_drbd_req_attach(struct dmg_drbd_req *r, uint32_t minor,
			const struct dmg_drbd_disk *d, struct dmg_error *err);
int dmg_drbd_req_connect(struct dmg_drbd_req *r, const char *resource,
			 const struct dmg_drbd_net *n, struct dmg_error *err);
/* Only two-primaries changes; the connection is named by its addresses. */
int dmg_drbd_req_net_opts(struct dmg_drbd_req *r, const struct dmg_drbd_net *n,
			  struct dmg_error *err);
/* Back to protocol C (on-congestion block) on a live connection: DRBD
 * refuses C while pull-ahead is set, so both go in one request. */
int dmg_drbd_req_protocol_c(struct dmg_drbd_req *r, const struct dmg_drbd_net *n,
			    struct dmg_error *err);
/* The fencing policy of an attached minor (enum drbd_fencing_p): DRBD
 * refuses resource-and-stonith under protocol A, so it goes on after
 * dmg_drbd_req_protocol_c. */
int dmg_drbd_req_fencing(struct dmg_drbd_req *r, uint32_t minor, int fencing,
			 struct dmg_error *err);
int dmg_drbd_req_role(struct dmg_drbd_req *r, uint32_t minor, int primary,
		      int force, struct dmg_error *err);
int dmg_drbd_req_disconnect(struct dmg_drbd_req *r, const struct dmg_drbd_net *n,
			    int force, struct dmg_error *err);
int dmg_drbd_req_detach(struct dmg_drbd_req *r, uint32_t minor, int force,
			struct dmg_error *err);
int dmg_drbd_req_resource(struct dmg_drbd_req *r, enum dmg_drbd_cmd cmd,
			  const char *resource, struct dmg_error *err); /* down, del-resource */
void dmg_drbd_req_minor(struct dmg_drbd_req *r, enum dmg_drbd_cmd cmd,
			uint32_t minor);                    /* del-minor, get-status, resume-io */
/* Status of every minor (of one resource, if resource is not NULL). */
int dmg_drbd_req_status_dump(struct dmg_drbd_req *r, const char *resource,
			     struct dmg_error *err);

/* Encodes r as a complete netlink message for family id `family` with the
 * given sequence number and port id (0 lets the kernel fill the port).
 * Returns the length, or a negative code. */
int dmg_drbd_encode(const struct dmg_drbd_req *r, uint16_t family, uint32_t seq,
		    uint32_t portid, void *buf, size_t len, struct dmg_error *err);

/* --- replies and events -------------------------------------------------- */

struct dmg_drbd_state {
	unsigned role, peer, conn, disk, pdsk, susp, susp_fen;
};

struct dmg_drbd_status {
	uint8_t cmd;                 /* DMG_DRBD_EVENT or the request's cmd */
	uint32_t minor;
	int32_t ret_code;            /* drbd_genlmsghdr.ret_code */
	char info[256];              /* DRBD_NLA_CFG_REPLY info_text */
	char resource[129];
	int has_state;
	uint32_t sib_reason;
	uint32_t state_raw;
	struct dmg_drbd_state state;
	uint64_t capacity;           /* sectors */
	uint64_t bits_total, bits_oos, bits_rs_total, bits_rs_failed;
	char helper[33];
	uint32_t helper_exit_code;
};

/* Decodes one netlink message (nlmsghdr included) from the drbd family. */
int dmg_drbd_decode(const void *buf, size_t len, struct dmg_drbd_status *st,
		    struct dmg_error *err);

void dmg_drbd_state_decode(uint32_t raw, struct dmg_drbd_state *s);
const char *dmg_drbd_role_str(unsigned role);
const char *dmg_drbd_conn_str(unsigned conn);
const char *dmg_drbd_disk_str(unsigned disk);
/* Success test and message for a reply's ret_code. */
int dmg_drbd_ret_ok(int32_t ret_code);
const char *dmg_drbd_ret_str(int32_t ret_code);

/* Sync progress from two samples of bits_oos taken dt_ms apart (4 KiB per
 * bit): percentage done, rate in KiB/s and ETA in seconds (-1 unknown). */
void dmg_drbd_progress(uint64_t bits_total, uint64_t oos_before, uint64_t oos_now,
		       uint64_t dt_ms, double *pct, double *kib_s, long *eta_s);

/* --- the kernel ---------------------------------------------------------- */

enum { DMG_C_STANDALONE = 0, DMG_C_WF_CONNECTION = 8, DMG_C_CONNECTED = 10,
       DMG_C_SYNC_SOURCE = 16, DMG_C_SYNC_TARGET = 17, DMG_C_PAUSED_SYNC_T = 21,
       DMG_C_AHEAD = 22, DMG_C_BEHIND = 23 };
enum { DMG_D_DISKLESS = 0, DMG_D_INCONSISTENT = 4, DMG_D_OUTDATED = 5,
       DMG_D_UNKNOWN = 6, DMG_D_CONSISTENT = 7, DMG_D_UP_TO_DATE = 8 };
enum { DMG_R_UNKNOWN = 0, DMG_R_PRIMARY = 1, DMG_R_SECONDARY = 2 };
/* DRBD's fencing policies (enum drbd_fencing_p). */
enum { DMG_FENCING_DONT_CARE = 0, DMG_FENCING_RESOURCE_ONLY = 1, DMG_FENCING_STONITH = 2 };

/* 1 while DRBD resyncs, or replicates with one side ahead of the other
 * (pull-ahead on a congested link). */
int dmg_drbd_resyncing(unsigned conn);

/* Whether the initial sync still converges.  It has stalled once the
 * amount out of sync made no new low for window_ms while DRBD resynced;
 * a lost link or no resync resets the judgement, since neither says
 * anything about the guest outrunning the link. */
struct dmg_drbd_converge {
	int64_t window_ms;           /* 0: never stalls */
	uint64_t best;               /* the lowest out-of-sync count seen */
	int64_t best_t;              /* when (0: none yet) */
};

/* Feeds one sample (connection state, bits out of sync, now in ms);
 * returns 1 once stalled. */
int dmg_drbd_converge_stalled(struct dmg_drbd_converge *cv, unsigned conn,
			      uint64_t oos, int64_t now_ms);

struct dmg_drbd;

/* Opens a netlink socket and resolves the drbd family (the module must be
 * loaded: -ENOENT with a message saying so otherwise). */
int dmg_drbd_open(struct dmg_drbd **out, struct dmg_error *err);
void dmg_drbd_close(struct dmg_drbd *d);
/* Sends r and waits (timeout_ms) for its reply; a DRBD error code becomes
 * err with DRBD's own text.  st (optional) receives the reply. */
int dmg_drbd_call(struct dmg_drbd *d, const struct dmg_drbd_req *r, int timeout_ms,
		  struct dmg_drbd_status *st, struct dmg_error *err);
/* Current state of one minor (GET_STATUS). -ENODEV if it does not exist. */
int dmg_drbd_status(struct dmg_drbd *d, uint32_t minor, struct dmg_drbd_status *st,
		    struct dmg_error *err);
/* Calls fn for every existing minor (of resource, or all when NULL); a
 * non-zero return from fn stops the walk and is returned. */
int dmg_drbd_status_all(struct dmg_drbd *d, const char *resource,
			int (*fn)(const struct dmg_drbd_status *st, void *arg), void *arg,
			struct dmg_error *err);
/* Joins the "events" multicast group on a second socket; its fd is pollable. */
int dmg_drbd_events_open(struct dmg_drbd *d, struct dmg_error *err);
int dmg_drbd_events_fd(const struct dmg_drbd *d);
/* Reads one event (0 = none pending, 1 = st filled). */
int dmg_drbd_event_next(struct dmg_drbd *d, struct dmg_drbd_status *st,
			struct dmg_error *err);
/* Waits until pred(st, arg) holds (returns > 0) for minor, on events and
 * status polls; a negative return from pred gives up with that code. */
int dmg_drbd_wait(struct dmg_drbd *d, uint32_t minor,
		  int (*pred)(const struct dmg_drbd_status *st, void *arg), void *arg,
		  int timeout_ms, struct dmg_drbd_status *last, struct dmg_error *err);

#endif
