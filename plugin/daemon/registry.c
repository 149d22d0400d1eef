/* drbdmigd's session table: entries and their lifetimes, the registry's
 * creation and end, its threads' start, and recovery of journals at start.
 * The locking model of the whole registry is in registry_int.h. */
#include "config.h"

#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "core/wire.h"

#include "daemon/registry_int.h"

/* ---- table ------------------------------------------------------------------ */

/* Publishes s.  A session being built is published with its op lock held
 * by the caller (the hook thread), so that no settle tick can see it between
 * its creation and its build: it would take the fresh BUILDING session for
 * an interrupted one and roll it back under the build. */
struct entry *
reg_add_entry(struct dmg_registry *r, struct dmg_session *s, int recovered, int building)
{
	struct entry *e = calloc(1, sizeof(*e));

	if (!e)
		return NULL;
	e->s = s;
	e->recovered = recovered;
	e->last_peer_ms = dmg_now_ms();
	pthread_mutex_init(&e->op, NULL);
	if (building) {
		pthread_mutex_lock(&e->op);
		e->building = 1;
	}
	pthread_mutex_lock(&r->mu);
	e->next = r->head;
	r->head = e;
	pthread_mutex_unlock(&r->mu);
	return e;
}

/* Caller holds r->mu. */
struct entry *
reg_find_sid(struct dmg_registry *r, const char *sid)
{
	struct entry *e;

	for (e = r->head; e; e = e->next)
		if (sid && strcmp(e->s->sid, sid) == 0)
			return e;
	return NULL;
}

/* The entry of sid with a reference held (NULL if none); reg_entry_put() it. */
struct entry *
reg_entry_get(struct dmg_registry *r, const char *sid)
{
	struct entry *e;

	pthread_mutex_lock(&r->mu);
	e = reg_find_sid(r, sid);
	if (e)
		e->refs++;
	pthread_mutex_unlock(&r->mu);
	return e;
}

void
reg_entry_put(struct dmg_registry *r, struct entry *e)
{
	if (!e)
		return;
	pthread_mutex_lock(&r->mu);
	e->refs--;
	pthread_mutex_unlock(&r->mu);
}

static void
release_sides(struct dmg_registry *r, struct dmg_session *s)
{
	size_t i;

	for (i = 0; i < s->ndisks; i++)
		if (s->disks[i].side[s->role].port)
			dmg_backend_release(r->b, s->disks[i].side[s->role].minor,
					    s->disks[i].side[s->role].port);
}

/* Removes closed sessions from the table (caller holds neither lock). */
void
reg_reap(struct dmg_registry *r)
{
	struct entry **pp, *e, *dead = NULL;

	pthread_mutex_lock(&r->mu);
	for (pp = &r->head; (e = *pp);) {
		/* Whoever still uses the entry holds a reference. */
		if (!dmg_phase_closed(e->s->phase) || e->building || e->fencing || e->refs ||
		    e->s->phase == DMG_PH_ATTENTION || pthread_mutex_trylock(&e->op) != 0) {
			pp = &e->next;
			continue;
		}
		*pp = e->next;
		pthread_mutex_unlock(&e->op);
		release_sides(r, e->s);
		e->next = dead;
		dead = e;
	}
	pthread_mutex_unlock(&r->mu);
	/* Out of the table, so nobody else sees them; libvirt may take a while. */
	while ((e = dead)) {
		struct dmg_error err = { 0 };

		dead = e->next;
		dmg_info(r->log, "session=%s domain=%s closed: %s", e->s->sid, e->s->domain,
			 dmg_phase_name(e->s->phase));
		if (reg_pools_refresh(r, e->s, &err) < 0)
			dmg_warn(r->log, "session=%s domain=%s: %s", e->s->sid, e->s->domain, err.msg);
		dmg_sess_free(e->s);
		pthread_mutex_destroy(&e->op);
		free(e);
	}
}

void
reg_kick(struct dmg_registry *r)
{
	pthread_mutex_lock(&r->mu);
	pthread_cond_signal(&r->cv);
	pthread_mutex_unlock(&r->mu);
}

int
dmg_registry_new(const struct dmg_reg_conf *conf, struct dmg_backend *b,
		 struct dmg_log *log, struct dmg_registry **out, struct dmg_error *err)
{
	struct dmg_registry *r = calloc(1, sizeof(*r));

	if (!r)
		return dmg_error_set(err, -ENOMEM, "out of memory");
	r->conf = *conf;
	snprintf(r->peers, sizeof(r->peers), "%s", conf->peers ? conf->peers : "");
	r->peer_port = conf->self_port ? conf->self_port : DEFAULT_PEER_PORT;
	r->conf.peers = r->peers;
	snprintf(r->state_dir, sizeof(r->state_dir), "%s", conf->state_dir);
	r->conf.state_dir = r->state_dir;
	snprintf(r->self, sizeof(r->self), "%s:%u", conf->self_host ? conf->self_host : "",
		 conf->self_port);
	r->b = b;
	r->log = log;
	reg_env_init(r);
	r->looks = reg_looks;
	pthread_mutex_init(&r->mu, NULL);
	pthread_cond_init(&r->cv, NULL);
	pthread_cond_init(&r->wcv, NULL);
	if (mkdir(r->state_dir, 0700) < 0 && errno != EEXIST) {
		int rc = dmg_error_sys(err, -errno, "cannot create %s", r->state_dir);

		dmg_registry_free(r);
		return rc;
	}
	*out = r;
	return 0;
}

void
dmg_registry_set_virt(struct dmg_registry *r, struct dmg_virt *v)
{
	r->virt = v;
}

void
dmg_registry_set_peer(struct dmg_registry *r, struct dmg_peer_ctx *pc)
{
	r->pc = pc;
}

void
dmg_registry_free(struct dmg_registry *r)
{
	struct entry *e;

	if (!r)
		return;
	if (r->started) {
		pthread_mutex_lock(&r->mu);
		r->stop = 1;
		pthread_cond_signal(&r->cv);
		pthread_cond_broadcast(&r->wcv);
		pthread_mutex_unlock(&r->mu);
		pthread_join(r->thread, NULL);
		pthread_join(r->wthread, NULL);
	}
	while ((e = r->head)) {
		r->head = e->next;
		pthread_mutex_lock(&r->mu);
		if (e->fencing) {   /* a fence job still runs on it: the process is exiting */
			pthread_mutex_unlock(&r->mu);
			continue;
		}
		pthread_mutex_unlock(&r->mu);
		dmg_sess_free(e->s);
		pthread_mutex_destroy(&e->op);
		free(e);
	}
	pthread_cond_destroy(&r->cv);
	pthread_cond_destroy(&r->wcv);
	pthread_mutex_destroy(&r->mu);
	free(r);
}

int
dmg_registry_start(struct dmg_registry *r, struct dmg_error *err)
{
	int rc = pthread_create(&r->thread, NULL, reg_settle_thread, r);

	if (rc)
		return dmg_error_set(err, -rc, "cannot start the settle thread");
	/* Its own thread: a settle step can block on the very frozen I/O the
	 * watchdog is there to resume (a table swap waiting for it). */
	rc = pthread_create(&r->wthread, NULL, reg_watch_thread, r);
	if (rc) {
		pthread_mutex_lock(&r->mu);
		r->stop = 1;
		pthread_cond_signal(&r->cv);
		pthread_mutex_unlock(&r->mu);
		pthread_join(r->thread, NULL);
		r->stop = 0;
		return dmg_error_set(err, -rc, "cannot start the watchdog thread");
	}
	r->started = 1;
	return 0;
}

int
dmg_registry_recover(struct dmg_registry *r, struct dmg_error *err)
{
	DIR *d = opendir(r->state_dir);
	struct dirent *de;
	int n = 0;

	if (!d)
		return dmg_error_sys(err, -errno, "cannot read %s", r->state_dir);
	while ((de = readdir(d))) {
		size_t len = strlen(de->d_name);
		struct dmg_session *s = NULL;
		struct dmg_error lerr = { 0 };
		char path[512];
		size_t i;

		if (len < 9 || strcmp(de->d_name + len - 8, ".journal") != 0)
			continue;
		snprintf(path, sizeof(path), "%s/%s", r->state_dir, de->d_name);
		if (dmg_sess_load(path, &r->env, r->log, &s, &lerr) < 0) {
			dmg_err(r->log, "journal %s needs attention: %s", path, lerr.msg);
			continue;
		}
		for (i = 0; i < s->ndisks; i++) {
			struct dmg_sess_side *me = &s->disks[i].side[s->role];

			if (me->port) {
				pthread_mutex_lock(&r->b->mu);
				dmg_used_add(&r->b->minors, me->minor);
				dmg_used_add(&r->b->ports, me->port);
				pthread_mutex_unlock(&r->b->mu);
			}
		}
		dmg_info(r->log, "session=%s domain=%s role=%s recovered in phase %s", s->sid,
			 s->domain, dmg_role_name(s->role), dmg_phase_name(s->phase));
		if (!reg_add_entry(r, s, 1, 0)) {
			dmg_sess_free(s);
			closedir(d);
			return dmg_error_set(err, -ENOMEM, "out of memory");
		}
		n++;
	}
	closedir(d);
	return n;
}
