/* The storage steps of core/steprow.c carried out on this host: one
 * function per step (or per build/undo pair), dispatched through a table
 * indexed by enum dmg_step, and dmg_backend_act, the session's entry. */
#include "config.h"

#include <arpa/inet.h>
#include <errno.h>
#include <inttypes.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "storage/backend.h"
#include "storage/backend_int.h"
#include "storage/dm.h"
#include "storage/drbd.h"
#include "storage/drbdconf.h"
#include "storage/lvm.h"
#include "storage/steps_int.h"
#include "core/modelnames.h"
#include "core/steprow.h"

#define DRBD_MAJOR   147
#define DRBD_TMO_MS  30000

/* DRBD 8.4's enum drbd_ret_code for a resource name it does not know
 * (linux/drbd.h).  Older 8.4 modules answered ERR_INVALID_REQUEST with the
 * info text "unknown resource" instead. */
#define DRBD_ERR_RES_NOT_KNOWN   158
#define DRBD_ERR_INVALID_REQUEST 162

/* ---- helpers ------------------------------------------------------------- */

/* lv-create and md-create try lvcreate first and look the LV up only when it
 * fails (or the VG looks full): each lvm2 run costs a noticeable part of a
 * second on a busy host, and every migration takes this path, while an LV
 * already there is the rare case of a step run again (recovery).  An LV of
 * that name drbdmig created (tagged; of size bytes unless size is 0) is that
 * earlier run's and the step is done; another is refused by name.  Returns 0
 * or rc (err as the caller left it, unless refused here). */
static int
created_before(const char *path, uint64_t size, int rc, struct dmg_error *err)
{
	struct dmg_error e2 = { 0 };
	struct dmg_lv lv;

	if (dmg_lvm_lookup(path, &lv, &e2) < 0)
		return rc;
	if (lv.tagged && (size == 0 || lv.size == size))
		return 0;
	return dmg_error_set(err, -EEXIST, "%s exists on this host already", path);
}

/* One request; st (may be NULL) receives DRBD's answer, also on failure. */
static int
drbd_do_st(struct dmg_drbd_req *r, struct dmg_drbd_status *st, struct dmg_error *err)
{
	struct dmg_drbd *d;
	int rc = dmg_drbd_open(&d, err);

	if (rc < 0)
		return rc;
	rc = dmg_drbd_call(d, r, DRBD_TMO_MS, st, err);
	dmg_drbd_close(d);
	return rc;
}

int
backend_drbd_do(struct dmg_drbd_req *r, struct dmg_error *err)
{
	return drbd_do_st(r, NULL, err);
}

/* DRBD's answer says the resource does not exist (any more). */
static int
res_unknown(const struct dmg_drbd_status *st)
{
	return st->ret_code == DRBD_ERR_RES_NOT_KNOWN ||
	       (st->ret_code == DRBD_ERR_INVALID_REQUEST &&
		strcmp(st->info, "unknown resource") == 0);
}

int
backend_minor_state(uint32_t minor, struct dmg_drbd_status *st, struct dmg_error *err)
{
	struct dmg_drbd *d;
	int rc = dmg_drbd_open(&d, err);

	if (rc < 0)
		return rc;
	rc = dmg_drbd_status(d, minor, st, err);
	dmg_drbd_close(d);
	return rc;
}

/* Thin resync: the destination asks for the initial sync in pieces of this
 * size, and a piece the source reads as all zero crosses the link as a
 * short reply; the destination then writes zeros itself (never trusting a
 * discard to zero: old data under a new LV must go).  With 1 MiB a 1 GiB
 * LV with 10 % data took a tenth of the link bytes in the lab; a finer
 * granularity would find more zero pieces in more, smaller requests (not
 * measured). */
#define RS_DISCARD_GRANULARITY (1u << 20)

/* The copy device's request queue in sysfs: DRBD reads its backing
 * device's discard limits when it attaches. */
static void
queue_path(const struct dmg_dm_info *info, const char *file, char *path, size_t len)
{
	snprintf(path, len, "/sys/dev/block/%u:%u/queue/%s", info->major, info->minor, file);
}

/* The value of the queue's file (bytes), 0 if it cannot be read. */
static uint64_t
queue_get(const struct dmg_dm_info *info, const char *file)
{
	char path[128], buf[32];
	uint64_t v = 0;
	FILE *f;

	queue_path(info, file, path, sizeof(path));
	f = fopen(path, "re");
	if (f && fgets(buf, sizeof(buf), f))
		v = strtoull(buf, NULL, 10);
	if (f)
		fclose(f);
	return v;
}

/* Writes v to the queue's file: 0, -errno of the open, or -EIO. */
static int
queue_set(const struct dmg_dm_info *info, const char *file, uint64_t v)
{
	char path[128], val[32];
	FILE *f;

	queue_path(info, file, path, sizeof(path));
	snprintf(val, sizeof(val), "%" PRIu64 "\n", v);
	f = fopen(path, "we");
	if (!f)
		return -errno;
	return (fputs(val, f) < 0) | (fclose(f) != 0) ? -EIO : 0;
}

/* DRBD 8.4 as in Linux 6.1 computes its backing device's largest discard
 * in 32 bits (sectors << 9) and, where that overflows to 0 (4 GiB and
 * more: a thin LV allows 16 GiB), turns the zero-aware sync off ("rs_
 * discard_granularity changed to 0": the whole LV crosses the link and,
 * on a thin LV, is allocated).  The copy device is drbdmig's own: its
 * limit is lowered to 1 GiB (whole discard granules) before the attach.
 * Nothing else uses the limit, and a discard is split at it. */
static void
discard_limit(struct ctx *c, const struct dmg_dm_info *info)
{
	uint64_t gran = queue_get(info, "discard_granularity"), cap;
	int rc;

	if (gran == 0 || gran > (1u << 30) || queue_get(info, "discard_max_bytes") < (1ull << 32))
		return;
	cap = (1u << 30) / gran * gran;
	rc = queue_set(info, "discard_max_bytes", cap);
	if (rc == -EIO)
		dmg_warn(c->b->log, "%s: writing its largest discard (%" PRIu64 " bytes) failed; DRBD may copy zeros too",
			 c->copy, cap);
	else if (rc < 0)
		dmg_warn(c->b->log, "%s: cannot lower its largest discard to %" PRIu64 " bytes; DRBD may copy zeros too",
			 c->copy, cap);
}

/* A thin LV reads as zeros where its pool has no block, and a discard of
 * whole pool blocks gives them back: there the destination discards the
 * zero pieces instead of writing them (which would allocate them), and the
 * pieces are the pool's blocks (the thin device's discard granularity),
 * so that one written sector does not allocate a whole MiB.  Bytes, a
 * multiple of 4 KiB in DRBD's range; RS_DISCARD_GRANULARITY when the
 * device says nothing. */
static uint32_t
thin_granularity(const struct dmg_dm_info *info)
{
	uint64_t g = queue_get(info, "discard_granularity");

	if (g == 0 || g > RS_DISCARD_GRANULARITY)
		return RS_DISCARD_GRANULARITY;
	return (uint32_t)((g + 4095) / 4096 * 4096);
}

/* ---- verbs ---------------------------------------------------------------- */

static int
v_source_size(struct ctx *c, const char *in, struct dmg_error *err)
{
	int rc = dmg_backend_probe(c->b, c->d->path, c->d, err);

	(void)in;
	if (rc < 0)
		return rc;
	snprintf(c->me->host, sizeof(c->me->host), "%s", c->b->host);
	rc = dmg_backend_local_addr(c->b, c->peer->addr, c->me->addr, sizeof(c->me->addr), err);
	if (rc < 0)
		return rc;
	return dmg_backend_reserve(c->b, &c->me->minor, &c->me->port, err);
}

static int
v_lv_create(struct ctx *c, const char *in, struct dmg_error *err)
{
	uint64_t vfree, ext, mdb;
	int rc;

	(void)in;
	if ((rc = dmg_lvm_vg(c->d->vg, &vfree, &ext, err)) < 0)
		return rc;
	if (c->d->size % ext)
		return dmg_error_set(err, -EINVAL, "%s is %" PRIu64 " bytes, not a multiple of VG %s's extent size %" PRIu64,
				     c->d->path, c->d->size, c->d->vg, ext);
	mdb = dmg_lvm_md_bytes(c->d->size, ext);
	if (c->d->thin[0]) {
		/* the pool's room was checked at admission; lvcreate says
		 * if it is gone */
		rc = dmg_lvm_create(c->d->vg, c->d->lv, c->d->size, c->d->thin, err);
		return rc < 0 ? created_before(c->lvpath, c->d->size, rc, err) : 0;
	}
	if (vfree < c->d->size + mdb) {
		rc = dmg_error_set(err, -ENOSPC, "VG %s has %" PRIu64 " MiB free; %s needs %" PRIu64 " MiB (disk and DRBD metadata)",
				   c->d->vg, vfree >> 20, c->d->target, (c->d->size + mdb) >> 20);
		return created_before(c->lvpath, c->d->size, rc, err);
	}
	rc = dmg_lvm_create(c->d->vg, c->d->lv, c->d->size, NULL, err);
	return rc < 0 ? created_before(c->lvpath, c->d->size, rc, err) : 0;
}

/* lv-remove, lv-untag, lv-remove-guest: lvs failing means gone already; a
 * name lvm2 would refuse is no LV. */
static int
v_lv_gone(struct ctx *c, const char *in, struct dmg_error *err)
{
	struct dmg_lv lv;
	int rc;

	(void)in;
	if ((rc = dmg_lvm_lookup(c->lvpath, &lv, err)) < 0)
		return rc == -EINVAL ? rc : 0;
	if (c->step == DMG_STEP_LV_UNTAG)
		return lv.tagged ? dmg_lvm_deltag(c->d->vg, c->d->lv, err) : 0;
	return dmg_lvm_remove_found(&lv, c->step == DMG_STEP_LV_REMOVE_GUEST, err);
}

/* md-create, md-remove */
static int
v_md(struct ctx *c, const char *in, struct dmg_error *err)
{
	char path[300];
	struct dmg_lv lv;
	uint64_t vfree, ext;
	int rc;

	(void)in;
	snprintf(path, sizeof(path), "%s/%s", c->d->vg, c->md);
	if (!building(c))
		return dmg_lvm_lookup(path, &lv, err) < 0 ? 0 : dmg_lvm_remove_found(&lv, 0, err);
	if ((rc = dmg_lvm_vg(c->d->vg, &vfree, &ext, err)) < 0)
		return rc;
	rc = dmg_lvm_create(c->d->vg, c->md, dmg_lvm_md_bytes(c->d->size, ext), NULL, err);
	return rc < 0 ? created_before(path, 0, rc, err) : 0;
}

/* copy-create, copy-remove */
static int
v_copy(struct ctx *c, const char *in, struct dmg_error *err)
{
	int create = building(c);
	struct dmg_dm_table t;
	struct dmg_dm_info info;
	char uuid[DMG_DM_UUID_MAX];
	int rc;

	(void)in;
	if (!create) {
		rc = dmg_dm_remove(c->copy, err);
		return rc == -ENOENT ? 0 : rc;
	}
	if ((rc = dmg_dm_info(c->copy, &info, err)) < 0)
		return rc;
	if (info.exists)
		return 0;
	if ((rc = dmg_dm_resolve(c->lvpath, &info, err)) < 0 ||
	    (rc = dmg_dm_get_table(info.name, &t, err)) < 0)
		return rc;
	if (t.n == 1 && strcmp(t.t[0].type, "linear") == 0 &&
	    strncmp(t.t[0].params, "147:", 4) == 0)
		return dmg_error_set(err, -EBUSY, "%s already maps a DRBD device; refusing to copy it",
				     c->lvpath);
	/* Checked at validation; again here, on the very table that is
	 * copied, since the LV may have been converted since. */
	if ((rc = dmg_dm_table_plain(&t, c->lvpath, err)) < 0)
		return rc;
	snprintf(uuid, sizeof(uuid), "%s%s", DMG_DM_UUID_PREFIX, c->copy);
	return dmg_dm_create(c->copy, uuid, &t, err);
}

static int
v_drbd_up(struct ctx *c, const char *in, struct dmg_error *err)
{
	char copydev[128], mdpath[300];
	const struct dmg_sess_side *a = &c->d->side[DMG_ROLE_SRC], *b = &c->d->side[DMG_ROLE_DST];
	struct dmg_drbd_resfile rf = { .resource = c->res, .secret = c->s->secret,
				       .hmac_alg = c->b->hmac_alg, .fence_peer = c->b->fence_peer };
	/* Fencing off (dont-care) for the asynchronous sync: DRBD refuses
	 * resource-and-stonith under protocol A, and before the window our
	 * handler would answer "peer outdated" at once anyway.  protocol-c
	 * turns it on before the window: then a Primary that loses the link
	 * freezes I/O until the handler (drbdmig-fence-peer) says the
	 * migration cannot switch over any more (DESIGN.md §5 rule 1). */
	struct dmg_drbd_disk disk = { .resync_rate_kib = c->d->rate_kib, .dynamic = c->d->dynamic,
				      .fencing = c->b->fence_peer ? DMG_FENCING_DONT_CARE : -1,
				      .rs_discard_granularity = RS_DISCARD_GRANULARITY };
	struct dmg_drbd_status st;
	struct dmg_dm_info info;
	struct dmg_drbd_req r;
	int rc;

	(void)in;
	snprintf(copydev, sizeof(copydev), "/dev/mapper/%s", c->copy);
	dmg_lvm_dev_path(c->d->vg, c->md, mdpath, sizeof(mdpath));
	rf.host[0] = (struct dmg_drbd_host){ a->host, a->addr, (uint16_t)a->port, a->minor, copydev, mdpath };
	rf.host[1] = (struct dmg_drbd_host){ b->host, b->addr, (uint16_t)b->port, b->minor, copydev, mdpath };
	if ((rc = dmg_drbd_resfile_write(c->b->resdir, &rf, err)) < 0)
		return rc;
	rc = backend_minor_state(c->me->minor, &st, err);
	if (rc == 0 && st.state.disk != DMG_D_DISKLESS)
		goto role;   /* attached by an earlier run */
	if (rc == -ENODEV) {
		if ((rc = dmg_drbd_create_md(c->me->minor, mdpath, err)) < 0 ||
		    (rc = dmg_drbd_req_new_resource(&r, c->res, err)) < 0 ||
		    (rc = backend_drbd_do(&r, err)) < 0 ||
		    (rc = dmg_drbd_req_new_minor(&r, c->res, c->me->minor, 0, err)) < 0 ||
		    (rc = backend_drbd_do(&r, err)) < 0)
			return rc;
	} else if (rc < 0) {
		return rc;
	}
	disk.backing = copydev;
	disk.meta = mdpath;
	if ((rc = dmg_dm_info(c->copy, &info, err)) < 0)
		return rc;
	if (!info.exists)
		return dmg_error_set(err, -ENODEV, "%s is gone", copydev);
	discard_limit(c, &info);
	if (c->d->thin[0]) {
		disk.discard_zeroes = 1;
		disk.rs_discard_granularity = thin_granularity(&info);
	}
	if ((rc = dmg_drbd_req_attach(&r, c->me->minor, &disk, err)) < 0 || (rc = backend_drbd_do(&r, err)) < 0)
		return rc;
role:
	if (c->s->role != DMG_ROLE_SRC)
		return 0;
	/* The source's copy holds the guest's data: it is UpToDate by fiat. */
	rc = dmg_drbd_req_role(&r, c->me->minor, 1, 1, err);
	return rc < 0 ? rc : backend_drbd_do(&r, err);
}

static int
v_drbd_down(struct ctx *c, const char *in, struct dmg_error *err)
{
	struct dmg_drbd_status st = { 0 };
	struct dmg_drbd_req r;
	int rc = dmg_drbd_req_resource(&r, DMG_DRBD_DOWN, c->res, err);

	(void)in;
	if (rc == 0)
		rc = drbd_do_st(&r, &st, err);
	if (rc < 0 && !(c->row->gone_ok && res_unknown(&st)))
		return rc;
	return dmg_drbd_resfile_remove(c->b->resdir, c->res, err);
}

/* swap-to-drbd, swap-back */
static int
v_swap(struct ctx *c, const char *in, struct dmg_error *err)
{
	int to_drbd = building(c);
	struct dmg_dm_table extents, drbd, live;
	struct dmg_dm_info info, cinfo;
	uint64_t sectors;
	int rc;

	(void)in;
	if ((rc = dmg_dm_resolve(c->lvpath, &info, err)) < 0 ||
	    (rc = dmg_dm_get_table(info.name, &live, err)) < 0 ||
	    (rc = dmg_dm_table_check(&live, &sectors, err)) < 0 ||
	    (rc = dmg_dm_table_linear(&drbd, sectors, DRBD_MAJOR, c->me->minor, 0, err)) < 0 ||
	    (rc = dmg_dm_info(c->copy, &cinfo, err)) < 0)
		return rc;
	if (!cinfo.exists) {
		/* No copy: the LV cannot map DRBD through us; nothing to undo. */
		if (!to_drbd && !dmg_dm_table_equal(&live, &drbd))
			return 0;
		return dmg_error_set(err, -ENOENT, "copy device %s is missing", c->copy);
	}
	if ((rc = dmg_dm_get_table(c->copy, &extents, err)) < 0)
		return rc;
	if (to_drbd)
		return dmg_dm_table_equal(&live, &drbd) ? 0 :
		       dmg_dm_swap(info.name, &drbd, &extents, err);
	return dmg_dm_table_equal(&live, &extents) ? 0 :
	       dmg_dm_swap(info.name, &extents, &drbd, err);
}

/* What carries out each step of core/steprow.c on this host. */
static int (*const step_fn[DMG_STEP_MAX])(struct ctx *c, const char *in, struct dmg_error *err) = {
	[DMG_STEP_SOURCE_SIZE] = v_source_size,
	[DMG_STEP_PEER_HAS_ALL] = step_peer_has_all,
	[DMG_STEP_LV_CREATE] = v_lv_create,
	[DMG_STEP_MD_CREATE] = v_md,
	[DMG_STEP_COPY_CREATE] = v_copy,
	[DMG_STEP_DRBD_UP] = v_drbd_up,
	[DMG_STEP_SWAP_TO_DRBD] = v_swap,
	[DMG_STEP_CONNECT] = step_net,
	[DMG_STEP_WAIT_SYNCED] = step_wait_synced,
	[DMG_STEP_PROTOCOL_C] = step_protocol_c,
	[DMG_STEP_WAIT_IN_SYNC] = step_wait_synced,
	[DMG_STEP_TWO_PRIMARIES] = step_net,
	[DMG_STEP_PROMOTE] = step_role,
	[DMG_STEP_ONE_PRIMARY] = step_net,
	[DMG_STEP_DEMOTE] = step_role,
	[DMG_STEP_DISCONNECT] = step_net,
	[DMG_STEP_SWAP_BACK] = v_swap,
	[DMG_STEP_DRBD_DOWN] = v_drbd_down,
	[DMG_STEP_COPY_REMOVE] = v_copy,
	[DMG_STEP_MD_REMOVE] = v_md,
	[DMG_STEP_LV_REMOVE] = v_lv_gone,
	[DMG_STEP_LV_UNTAG] = v_lv_gone,
	[DMG_STEP_LV_REMOVE_GUEST] = v_lv_gone,
};

static int
dispatch(struct ctx *c, const char *in, struct dmg_error *err)
{
	const char *verb = c->verb;
	int (*fn)(struct ctx *c, const char *in, struct dmg_error *err) =
		c->step > DMG_STEP_NONE && c->step < DMG_STEP_MAX ? step_fn[c->step] : NULL;

	/* Checks run even in dry-run mode (each says what it can prove
	 * there) and are never paused. */
	if (c->step == DMG_STEP_SOURCE_SIZE || c->step == DMG_STEP_PEER_HAS_ALL)
		return fn(c, in, err);
	if (c->b->pause_s && c->step != DMG_STEP_NONE && dmg_step_parse(c->b->pause_verb) == c->step) {
		dmg_warn(c->b->log, "session=%s disk=%s: pausing %u s before %s (test hook DRBDMIG_TEST_PAUSE)",
			 c->s->sid, c->d->target, c->b->pause_s, verb);
		sleep(c->b->pause_s);
	}
	if (c->b->dry_run) {
		if (c->step == DMG_STEP_WAIT_SYNCED || c->step == DMG_STEP_WAIT_IN_SYNC) {
			pthread_mutex_lock(&c->s->mu);
			c->d->pct = 100.0;
			pthread_mutex_unlock(&c->s->mu);
		}
		return 0;
	}
	if (!fn || !c->row)
		return dmg_error_set(err, -ENOSYS, "unknown storage step '%s'", verb);
	return fn(c, in, err);
}

int
dmg_backend_act(void *arg, struct dmg_session *s, const char *verb, int disk,
		const char *in, char *out, size_t outlen, struct dmg_error *err)
{
	/* The name becomes the step once, here. */
	struct ctx c = { .b = arg, .s = s, .disk = disk, .verb = verb,
			.step = dmg_step_parse(verb) };
	int rc;

	(void)out;
	(void)outlen;
	if (disk < 0 || (size_t)disk >= s->ndisks)
		return dmg_error_set(err, -EINVAL, "step %s: no disk %d", verb, disk);
	c.row = dmg_step_row(c.step);
	c.d = &s->disks[disk];
	c.me = &c.d->side[s->role];
	c.peer = &c.d->side[!s->role];
	dmg_sess_res_name(s, disk, c.res, sizeof(c.res));
	dmg_sess_copy_name(s, disk, c.copy, sizeof(c.copy));
	dmg_sess_md_name(s, disk, c.md, sizeof(c.md));
	dmg_lvm_dev_path(c.d->vg, c.d->lv, c.lvpath, sizeof(c.lvpath));
	if (c.b->dry_run)
		dmg_info(c.b->log, "session=%s disk=%s dry-run step %s", s->sid, c.d->target, verb);
	rc = dispatch(&c, in, err);
	if (rc < 0)
		dmg_error_prefix(err, "%s (%s)", verb, c.d->target);
	return rc;
}
