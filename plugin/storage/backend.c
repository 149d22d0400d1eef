/* The backend outside the steps: its set-up, the names of a session's
 * storage objects, the DRBD minor and port allocator, this host's
 * replication address, the checks before anything is built (probe,
 * dst_check) and the fencing watchdog's DRBD calls.  The steps themselves
 * are carried out in steps_impl.c. */
#include "config.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <linux/fs.h>
#include <netdb.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/utsname.h>
#include <unistd.h>

#include "storage/backend.h"
#include "storage/backend_int.h"
#include "storage/dm.h"
#include "storage/drbd.h"
#include "storage/drbdconf.h"
#include "storage/lvm.h"
#include "core/defaults.h"

void
dmg_sess_res_name(const struct dmg_session *s, int disk, char *buf, size_t len)
{
	snprintf(buf, len, DMG_DRBD_RES_PREFIX "%s-%d", s->sid, disk);
}

void
dmg_sess_copy_name(const struct dmg_session *s, int disk, char *buf, size_t len)
{
	snprintf(buf, len, DMG_DRBD_RES_PREFIX "%s-%d" DMG_COPY_SUFFIX, s->sid, disk);
}

void
dmg_sess_md_name(const struct dmg_session *s, int disk, char *buf, size_t len)
{
	snprintf(buf, len, DMG_DRBD_RES_PREFIX "%s-%d" DMG_MD_SUFFIX, s->sid, disk);
}

int
dmg_sess_name_sid(const char *name, char sid[DMG_SID_LEN + 1])
{
	size_t pl = strlen(DMG_DRBD_RES_PREFIX);

	if (!name || strncmp(name, DMG_DRBD_RES_PREFIX, pl) != 0 || strlen(name) < pl + DMG_SID_LEN)
		return -EINVAL;
	memcpy(sid, name + pl, DMG_SID_LEN);
	sid[DMG_SID_LEN] = '\0';
	return 0;
}

int
dmg_sess_name_is_md(const char *name)
{
	size_t n = name ? strlen(name) : 0, sl = strlen(DMG_MD_SUFFIX);
	char sid[DMG_SID_LEN + 1];

	return dmg_sess_name_sid(name, sid) == 0 && n > sl &&
	       strcmp(name + n - sl, DMG_MD_SUFFIX) == 0;
}

void
dmg_backend_init(struct dmg_backend *b)
{
	struct utsname u;

	memset(b, 0, sizeof(*b));
	pthread_mutex_init(&b->mu, NULL);
	if (uname(&u) == 0)
		snprintf(b->host, sizeof(b->host), "%s", u.nodename);
	b->minor_lo = DMG_DEFAULT_DRBD_MINOR_MIN;
	b->minor_hi = DMG_DEFAULT_DRBD_MINOR_MAX;
	b->port_lo = DMG_DEFAULT_DRBD_PORT_MIN;
	b->port_hi = DMG_DEFAULT_DRBD_PORT_MAX;
	snprintf(b->hmac_alg, sizeof(b->hmac_alg), "sha256");
	b->resdir = DMG_DRBD_CONF_DIR;
	b->converge_s = DMG_DEFAULT_SYNC_CONVERGE_S;
}

void
dmg_backend_fini(struct dmg_backend *b)
{
	pthread_mutex_destroy(&b->mu);
}

int
dmg_backend_reserve(struct dmg_backend *b, uint32_t *minor, uint32_t *port,
		    struct dmg_error *err)
{
	struct dmg_used *kmin = calloc(1, sizeof(*kmin)), *kport = calloc(1, sizeof(*kport));
	int rc = -ENOMEM;

	if (!kmin || !kport) {
		rc = dmg_error_set(err, -ENOMEM, "out of memory");
		goto out;
	}
	/* The kernel's view plus our own reservations: a session's minor
	 * exists in /proc/drbd only once drbd-up ran. */
	if (!b->dry_run && ((rc = dmg_scan_minors(kmin, err)) < 0 || (rc = dmg_scan_ports(kport, err)) < 0))
		goto out;
	pthread_mutex_lock(&b->mu);
	rc = dmg_alloc_pick(kmin, &b->minors, b->minor_lo, b->minor_hi, minor, err);
	if (rc == 0)
		rc = dmg_alloc_pick(kport, &b->ports, b->port_lo, b->port_hi, port, err);
	if (rc == 0 && (dmg_used_add(&b->minors, *minor) < 0 || dmg_used_add(&b->ports, *port) < 0))
		rc = dmg_error_set(err, -ENOSPC, "too many reservations");
	pthread_mutex_unlock(&b->mu);
out:
	free(kmin);
	free(kport);
	return rc;
}

static void
used_del(struct dmg_used *u, uint32_t v)
{
	size_t i;

	for (i = 0; i < u->n; i++)
		if (u->v[i] == v) {
			u->v[i] = u->v[--u->n];
			return;
		}
}

void
dmg_backend_release(struct dmg_backend *b, uint32_t minor, uint32_t port)
{
	pthread_mutex_lock(&b->mu);
	used_del(&b->minors, minor);
	used_del(&b->ports, port);
	pthread_mutex_unlock(&b->mu);
}

int
dmg_backend_local_addr(const struct dmg_backend *b, const char *peer, char *out,
		       size_t len, struct dmg_error *err)
{
	struct addrinfo hints = { .ai_family = AF_INET, .ai_socktype = SOCK_DGRAM }, *ai = NULL;
	struct sockaddr_in me;
	socklen_t ml = sizeof(me);
	int fd, rc;

	if (b->repl_addr[0]) {
		snprintf(out, len, "%s", b->repl_addr);
		return 0;
	}
	rc = getaddrinfo(peer, "9", &hints, &ai);
	if (rc != 0)
		return dmg_error_set(err, -EHOSTUNREACH, "cannot resolve %s: %s", peer, gai_strerror(rc));
	/* A connected UDP socket sends nothing; it only asks the kernel which
	 * source address it would route from. */
	fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	if (fd < 0 || connect(fd, ai->ai_addr, ai->ai_addrlen) < 0 ||
	    getsockname(fd, (struct sockaddr *)&me, &ml) < 0) {
		rc = dmg_error_sys(err, -errno, "no route to %s", peer);
		if (fd >= 0)
			close(fd);
		freeaddrinfo(ai);
		return rc;
	}
	close(fd);
	freeaddrinfo(ai);
	if (!inet_ntop(AF_INET, &me.sin_addr, out, (socklen_t)len))
		return dmg_error_sys(err, -errno, "inet_ntop");
	return 0;
}

/* ---- helpers ------------------------------------------------------------- */

static int
block_size(const char *path, uint64_t *bytes, struct dmg_error *err)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	int rc = 0;

	if (fd < 0)
		return dmg_error_sys(err, -errno, "cannot open %s", path);
	if (ioctl(fd, BLKGETSIZE64, bytes) < 0)
		rc = dmg_error_sys(err, -errno, "%s is not a block device", path);
	close(fd);
	return rc;
}


/* ---- verbs ---------------------------------------------------------------- */

int
dmg_backend_probe(struct dmg_backend *b, const char *path, struct dmg_sess_disk *d,
		  struct dmg_error *err)
{
	struct dmg_dm_table t;
	struct dmg_dm_info info;
	struct dmg_lv l;
	char lvpath[300];
	int rc;

	if (b->dry_run) {
		const char *slash = strrchr(path, '/');

		rc = block_size(path, &d->size, err);
		if (rc < 0)
			return rc;
		snprintf(d->vg, sizeof(d->vg), "dry-run");
		snprintf(d->lv, sizeof(d->lv), "%.120s", slash ? slash + 1 : path);
		d->thin[0] = '\0';
		d->alloc = 0;
		return 0;
	}
	if ((rc = dmg_lvm_resolve(path, &l, err)) < 0)
		return rc;
	if (l.tagged)
		return dmg_error_set(err, -EBUSY, "%s carries the '%s' tag: it is a drbdmig volume of another session",
				     path, DMG_LVM_TAG);
	if (dmg_lvm_check_vg(l.vg, err) < 0 || dmg_lvm_check_lv(l.lv, err) < 0 ||
	    (l.thin_pool[0] && dmg_lvm_check_lv(l.thin_pool, err) < 0))
		return dmg_error_prefix(err, "%s", path);
	/* copy-create duplicates the live table: only plain extents and thin
	 * devices may be mapped twice (a raid, cache or snapshot-origin table
	 * would run twice over the same metadata; the thin pool keeps one
	 * device however many tables open it).  The table is the resolved LV's,
	 * read through /dev/VG/LV: the admin's path is not followed a second
	 * time, so a link changed in between cannot have another device
	 * checked than the LV the session will use. */
	dmg_lvm_dev_path(l.vg, l.lv, lvpath, sizeof(lvpath));
	if ((rc = dmg_dm_resolve(lvpath, &info, err)) < 0 ||
	    (rc = dmg_dm_get_table(info.name, &t, err)) < 0)
		return rc;
	if ((rc = dmg_dm_table_plain(&t, path, err)) < 0)
		return rc;
	if (snprintf(d->vg, sizeof(d->vg), "%s", l.vg) >= (int)sizeof(d->vg) ||
	    snprintf(d->lv, sizeof(d->lv), "%s", l.lv) >= (int)sizeof(d->lv) ||
	    snprintf(d->thin, sizeof(d->thin), "%s", l.thin_pool) >= (int)sizeof(d->thin))
		return dmg_error_set(err, -ENAMETOOLONG, "%s: LVM name too long", path);
	d->size = l.size;
	d->alloc = l.used;
	return 0;
}

/* Admission counts what goes into one place (a VG; with by_pool, one thin
 * pool of it) once, at the first disk going there. */
static int
same_place(const struct dmg_sess_disk *a, const struct dmg_sess_disk *b, int by_pool)
{
	return strcmp(a->vg, b->vg) == 0 && (!by_pool || strcmp(a->thin, b->thin) == 0);
}

static int
first_in_place(const struct dmg_sess_disk *disks, size_t i, int by_pool)
{
	size_t k;

	for (k = 0; k < i; k++)
		if (same_place(&disks[k], &disks[i], by_pool))
			return 0;
	return 1;
}

/* Disk i is a thin LV: its thin pool here must exist and have room for
 * what the source LVs going into it have allocated (counted once, at the
 * first of them).  The pool's usage can be no better known: the guest
 * writes on at the source, and other thin LVs of the pool here may grow. */
static int
thin_room(struct dmg_backend *b, const struct dmg_sess_disk *disks, size_t ndisks, size_t i,
	  struct dmg_error *err)
{
	const struct dmg_sess_disk *d = &disks[i];
	uint64_t size, used, need = 0;
	size_t k;
	int rc;

	if (!first_in_place(disks, i, 1))
		return 0;
	rc = dmg_lvm_thin_pool(d->vg, d->thin, &size, &used, err);
	if (rc == -ENOENT || rc == -EMEDIUMTYPE)
		return dmg_error_set(err, rc, "disk %s: the source's LV is a thin LV of pool %s; %s/%s on the destination %s %s",
				     d->target, d->thin, d->vg, d->thin, b->host,
				     rc == -ENOENT ? "does not exist" : "is not a thin pool");
	if (rc < 0)
		return rc;
	for (k = i; k < ndisks; k++)
		if (same_place(&disks[k], d, 1))
			need += disks[k].alloc;
	if (size - used < need)
		return dmg_error_set(err, -ENOSPC, "thin pool %s/%s on the destination %s has %" PRIu64 " MiB free; the source's thin LVs have %" PRIu64 " MiB allocated",
				     d->vg, d->thin, b->host, (size - used) >> 20, (need + (1u << 20) - 1) >> 20);
	return 0;
}

int
dmg_backend_dst_check(struct dmg_backend *b, const struct dmg_sess_disk *disks, size_t ndisks,
		      struct dmg_error *err)
{
	size_t i, k;
	int rc;

	if (b->dry_run)
		return 0;
	for (i = 0; i < ndisks; i++) {
		const struct dmg_sess_disk *d = &disks[i];
		uint64_t vfree, ext, need = 0;
		char path[300];
		struct dmg_lv l;

		if (dmg_lvm_check_vg(d->vg, err) < 0 || dmg_lvm_check_lv(d->lv, err) < 0 ||
		    (d->thin[0] && dmg_lvm_check_lv(d->thin, err) < 0))
			return dmg_error_prefix(err, "disk %s", d->target);
		dmg_lvm_dev_path(d->vg, d->lv, path, sizeof(path));
		rc = dmg_lvm_lookup(path, &l, err);
		if (rc == 0)
			return dmg_error_set(err, -EEXIST, "disk %s: %s exists on the destination %s already",
					     d->target, path, b->host);
		rc = dmg_lvm_vg(d->vg, &vfree, &ext, err);
		if (rc == -ENOENT)
			return dmg_error_set(err, -ENOENT, "disk %s: volume group %s does not exist on the destination %s",
					     d->target, d->vg, b->host);
		if (rc < 0)
			return rc;
		if (d->size % ext)
			return dmg_error_set(err, -EINVAL, "disk %s: %" PRIu64 " bytes is not a multiple of VG %s's extent size %" PRIu64,
					     d->target, d->size, d->vg, ext);
		if (d->thin[0] && (rc = thin_room(b, disks, ndisks, i, err)) < 0)
			return rc;
		/* Everything that goes into this VG, counted once at its first
		 * disk: a thin LV's data goes into its pool, its metadata LV
		 * into the VG. */
		if (!first_in_place(disks, i, 0))
			continue;
		for (k = i; k < ndisks; k++)
			if (same_place(&disks[k], d, 0))
				need += (disks[k].thin[0] ? 0 : disks[k].size) +
					dmg_lvm_md_bytes(disks[k].size, ext);
		if (vfree < need)
			return dmg_error_set(err, -ENOSPC, "volume group %s on the destination %s has %" PRIu64 " MiB free; the guest's disks need %" PRIu64 " MiB (with DRBD metadata)",
					     d->vg, b->host, vfree >> 20, need >> 20);
	}
	return 0;
}

int
dmg_backend_dst_opens(struct dmg_backend *b, const struct dmg_sess_disk *d, const char *path,
		      struct dmg_error *err)
{
	struct stat mine, theirs;
	char lvpath[300];

	if (b->dry_run)
		return 1;
	dmg_lvm_dev_path(d->vg, d->lv, lvpath, sizeof(lvpath));
	if (stat(lvpath, &mine) < 0)
		return dmg_error_sys(err, -errno, "disk %s: %s", d->target, lvpath);
	if (!S_ISBLK(mine.st_mode))
		return dmg_error_set(err, -ENOTBLK, "disk %s: %s is not a block device", d->target,
				     lvpath);
	return stat(path, &theirs) == 0 && S_ISBLK(theirs.st_mode) &&
	       theirs.st_rdev == mine.st_rdev;
}

/* ---- the fencing watchdog's DRBD calls ----------------------------------- */

int
dmg_backend_io_frozen(struct dmg_backend *b, const struct dmg_session *s, int disk,
		      struct dmg_error *err)
{
	struct dmg_drbd_status st;
	int rc;

	if (b->dry_run || !b->fence_peer || disk < 0 || (size_t)disk >= s->ndisks)
		return 0;
	rc = backend_minor_state(s->disks[disk].side[s->role].minor, &st, err);
	if (rc == -ENODEV)
		return 0;
	if (rc < 0)
		return rc;
	return st.state.susp_fen && st.state.conn < DMG_C_CONNECTED;
}

int
dmg_backend_resume_io(struct dmg_backend *b, const struct dmg_session *s, int disk,
		      struct dmg_error *err)
{
	struct dmg_drbd_req r;

	if (b->dry_run)
		return 0;
	if (disk < 0 || (size_t)disk >= s->ndisks)
		return dmg_error_set(err, -EINVAL, "resume-io: no disk %d", disk);
	dmg_drbd_req_minor(&r, DMG_DRBD_RESUME_IO, s->disks[disk].side[s->role].minor);
	return backend_drbd_do(&r, err);
}
