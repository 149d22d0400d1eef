/* Calls about one domain or all of them, from any thread: lookup and
 * state, the annotated-domain walk, bounded job queries, live XML, destroy,
 * and whether a domain's QEMU has exited (read in /proc). */
#include "config.h"

#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <libvirt/virterror.h>

#include "core/textfile.h"
#include "libvirt/policy.h"
#include "libvirt/virt_int.h"

/* ---- domains by UUID or name, and their state ----------------------------- */

static int
looks_like_uuid(const char *s)
{
	size_t i;

	if (strlen(s) != VIR_UUID_STRING_BUFLEN - 1)
		return 0;
	for (i = 0; s[i]; i++) {
		int dash = i == 8 || i == 13 || i == 18 || i == 23;

		if (dash ? s[i] != '-' : !strchr("0123456789abcdefABCDEF", s[i]))
			return 0;
	}
	return 1;
}

/* The domain by UUID (when it looks like one), else by name.  NULL with
 * libvirt's error set (VIR_ERR_NO_DOMAIN when there is none). */
virDomainPtr
virt_lookup(virConnectPtr c, const char *id)
{
	virDomainPtr d = NULL;

	if (looks_like_uuid(id))
		d = virDomainLookupByUUIDString(c, id);
	if (!d)
		d = virDomainLookupByName(c, id);
	return d;
}

static enum dmg_virt_state
map_state(int state)
{
	switch (state) {
	case VIR_DOMAIN_RUNNING:
	case VIR_DOMAIN_BLOCKED:
		return DMG_VIRT_RUNNING;
	case VIR_DOMAIN_PAUSED:
		return DMG_VIRT_PAUSED;
	case VIR_DOMAIN_SHUTOFF:
		return DMG_VIRT_SHUTOFF;
	default:
		return DMG_VIRT_OTHER;
	}
}

static int
domain_state(virConnectPtr c, const char *id, enum dmg_virt_state *st, int *reason,
	     char uuid_out[VIR_UUID_STRING_BUFLEN], struct dmg_error *err)
{
	virDomainPtr d;
	int state, why, rc = 0;

	d = virt_lookup(c, id);
	if (!d) {
		if (virGetLastErrorCode() != VIR_ERR_NO_DOMAIN)
			return virt_call_failed(c, err, "cannot look up domain", id);
		*st = DMG_VIRT_ABSENT;
		return 0;
	}
	if (virDomainGetState(d, &state, &why, 0) < 0) {
		/* A transient domain may vanish between lookup and query. */
		if (virGetLastErrorCode() == VIR_ERR_NO_DOMAIN)
			*st = DMG_VIRT_ABSENT;
		else
			rc = virt_call_failed(c, err, "cannot get the state of domain", id);
		virDomainFree(d);
		return rc;
	}
	*st = map_state(state);
	if (reason)
		*reason = why;
	if (virDomainGetUUIDString(d, uuid_out) < 0)
		uuid_out[0] = '\0';
	virDomainFree(d);
	return 0;
}

int
dmg_virt_state(struct dmg_virt *v, const char *uuid_or_name, enum dmg_virt_state *st,
	       int *reason, char uuid_out[VIR_UUID_STRING_BUFLEN], struct dmg_error *err)
{
	virConnectPtr c;
	int rc;

	*st = DMG_VIRT_ABSENT;
	if (reason)
		*reason = 0;
	uuid_out[0] = '\0';
	c = virt_ref(v);
	if (!c)
		return virt_not_connected(v, err);
	rc = domain_state(c, uuid_or_name, st, reason, uuid_out, err);
	virConnectClose(c);
	return rc;
}

const char *
dmg_virt_state_str(enum dmg_virt_state st)
{
	switch (st) {
	case DMG_VIRT_ABSENT: return "absent";
	case DMG_VIRT_RUNNING: return "running";
	case DMG_VIRT_PAUSED: return "paused";
	case DMG_VIRT_SHUTOFF: return "shut off";
	default: return "other";
	}
}

/* ---- annotated domains ------------------------------------------------------ */

/* 1 if the active domain carries the policy element, 0 if not (or it left),
 * negative on a real failure. */
static int
has_policy(virConnectPtr c, virDomainPtr d, struct dmg_error *err)
{
	char *md = virDomainGetMetadata(d, VIR_DOMAIN_METADATA_ELEMENT, DMG_POLICY_NS,
					VIR_DOMAIN_AFFECT_LIVE);

	if (md) {
		free(md);
		return 1;
	}
	switch (virGetLastErrorCode()) {
	case VIR_ERR_NO_DOMAIN_METADATA:
	case VIR_ERR_NO_DOMAIN:
	case VIR_ERR_OPERATION_INVALID:     /* stopped since the listing */
		return 0;
	default:
		return virt_call_failed(c, err, "cannot read the metadata of domain",
				   virDomainGetName(d));
	}
}

static int
walk_domains(virConnectPtr c, virDomainPtr *doms, int n,
	     int (*fn)(const char *uuid, const char *name, void *arg), void *arg,
	     struct dmg_error *err)
{
	char uuid[VIR_UUID_STRING_BUFLEN];
	int i, rc, count = 0;

	for (i = 0; i < n; i++) {
		rc = has_policy(c, doms[i], err);
		if (rc < 0)
			return rc;
		if (rc == 0 || virDomainGetUUIDString(doms[i], uuid) < 0)
			continue;
		rc = fn(uuid, virDomainGetName(doms[i]), arg);
		if (rc < 0)
			return dmg_error_set(err, rc, "annotated domains: stopped at %s", uuid);
		count++;
	}
	return count;
}

int
dmg_virt_each_annotated(struct dmg_virt *v,
			int (*fn)(const char *uuid, const char *name, void *arg),
			void *arg, struct dmg_error *err)
{
	virDomainPtr *doms = NULL;
	virConnectPtr c;
	int n, i, rc;

	c = virt_ref(v);
	if (!c)
		return virt_not_connected(v, err);
	n = virConnectListAllDomains(c, &doms, VIR_CONNECT_LIST_DOMAINS_ACTIVE);
	if (n < 0) {
		rc = virt_call_failed(c, err, "cannot list the domains of", virt_uri_name(v));
		virConnectClose(c);
		return rc;
	}
	rc = walk_domains(c, doms, n, fn, arg, err);
	for (i = 0; i < n; i++)
		virDomainFree(doms[i]);
	free(doms);
	virConnectClose(c);
	return rc;
}

/* One job call handed to a thread; two references (caller, thread), the
 * last one out frees it. */
struct job_call {
	pthread_mutex_t mu;
	pthread_cond_t cv;
	int refs, finished, rc, active, abort_it;
	virConnectPtr c;
	char uuid[VIR_UUID_STRING_BUFLEN + 256];
	char msg[DMG_ERROR_MAX];
};

static void
job_call_put(struct job_call *jc)
{
	int last;

	pthread_mutex_lock(&jc->mu);
	last = --jc->refs == 0;
	pthread_mutex_unlock(&jc->mu);
	if (!last)
		return;
	virConnectClose(jc->c);
	pthread_cond_destroy(&jc->cv);
	pthread_mutex_destroy(&jc->mu);
	free(jc);
}

static void *
job_call_run(void *arg)
{
	struct job_call *jc = arg;
	virDomainJobInfo info;
	virDomainPtr d;
	int rc = 0, active = 0;

	d = virt_lookup(jc->c, jc->uuid);
	if (d) {
		if (jc->abort_it)
			virDomainAbortJob(d);   /* "no job" is fine: the state tells */
		if (virDomainGetJobInfo(d, &info) < 0)
			rc = -EIO;
		else
			active = info.type != VIR_DOMAIN_JOB_NONE;
		virDomainFree(d);
	}
	pthread_mutex_lock(&jc->mu);
	jc->rc = rc;
	jc->active = active;
	if (rc < 0)
		snprintf(jc->msg, sizeof(jc->msg), "%s", virt_errmsg());
	jc->finished = 1;
	pthread_cond_signal(&jc->cv);
	pthread_mutex_unlock(&jc->mu);
	job_call_put(jc);
	return NULL;
}

int
dmg_virt_job_bounded(struct dmg_virt *v, const char *uuid, int abort_it, int timeout_ms,
		     int *active, struct dmg_error *err)
{
	struct job_call *jc;
	pthread_condattr_t ca;
	pthread_attr_t ta;
	struct timespec ts;
	pthread_t t;
	int rc;

	*active = 0;
	jc = calloc(1, sizeof(*jc));
	if (!jc)
		return dmg_error_set(err, -ENOMEM, "out of memory");
	jc->c = virt_ref(v);
	if (!jc->c) {
		free(jc);
		return virt_not_connected(v, err);
	}
	snprintf(jc->uuid, sizeof(jc->uuid), "%s", uuid);
	jc->abort_it = abort_it;
	jc->refs = 2;
	pthread_mutex_init(&jc->mu, NULL);
	pthread_condattr_init(&ca);
	pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
	pthread_cond_init(&jc->cv, &ca);
	pthread_condattr_destroy(&ca);
	pthread_attr_init(&ta);
	pthread_attr_setdetachstate(&ta, PTHREAD_CREATE_DETACHED);
	rc = pthread_create(&t, &ta, job_call_run, jc);
	pthread_attr_destroy(&ta);
	if (rc) {
		jc->refs = 1;
		job_call_put(jc);
		return dmg_error_set(err, -rc, "cannot start a thread for a libvirt call");
	}
	clock_gettime(CLOCK_MONOTONIC, &ts);
	ts.tv_sec += timeout_ms / 1000;
	ts.tv_nsec += (long)(timeout_ms % 1000) * 1000000L;
	if (ts.tv_nsec >= 1000000000L) {
		ts.tv_sec++;
		ts.tv_nsec -= 1000000000L;
	}
	pthread_mutex_lock(&jc->mu);
	while (!jc->finished && pthread_cond_timedwait(&jc->cv, &jc->mu, &ts) == 0)
		;
	if (!jc->finished)
		rc = dmg_error_set(err, -ETIMEDOUT, "libvirt: no answer about the job of %s within %d ms (QEMU busy)",
				   uuid, timeout_ms);
	else if (jc->rc < 0)
		rc = dmg_error_set(err, -EIO, "libvirt: job info of %s: %s", uuid, jc->msg);
	else
		*active = jc->active;
	pthread_mutex_unlock(&jc->mu);
	job_call_put(jc);
	return rc;
}

/* A reference to the connection and the domain (NULL when libvirt cannot
 * find it: each caller decides what that means); domain_put() both. */
static int
domain_get(struct dmg_virt *v, const char *uuid, virConnectPtr *c, virDomainPtr *d,
	   struct dmg_error *err)
{
	*d = NULL;
	*c = virt_ref(v);
	if (!*c)
		return virt_not_connected(v, err);
	*d = virt_lookup(*c, uuid);
	return 0;
}

static void
domain_put(virConnectPtr c, virDomainPtr d)
{
	if (d)
		virDomainFree(d);
	virConnectClose(c);
}

int
dmg_virt_live_xml(struct dmg_virt *v, const char *uuid, char **xml, size_t *len,
		  struct dmg_error *err)
{
	virConnectPtr c;
	virDomainPtr d;
	int rc;

	*xml = NULL;
	*len = 0;
	rc = domain_get(v, uuid, &c, &d, err);
	if (rc < 0)
		return rc;
	if (!d || virDomainIsActive(d) != 1) {
		rc = dmg_error_set(err, -ESRCH, "domain %s is not active on this host", uuid);
	} else {
		/* No flags: the live definition, without secrets. */
		*xml = virDomainGetXMLDesc(d, 0);
		if (!*xml)
			rc = dmg_error_set(err, -EIO, "libvirt: XML of %s: %s", uuid, virt_errmsg());
		else
			*len = strlen(*xml);
	}
	domain_put(c, d);
	return rc;
}

int
dmg_virt_persistent_xml(struct dmg_virt *v, const char *uuid, char **xml, size_t *len,
			struct dmg_error *err)
{
	virConnectPtr c;
	virDomainPtr d;
	int rc;

	*xml = NULL;
	*len = 0;
	if ((rc = domain_get(v, uuid, &c, &d, err)) < 0)
		return rc;
	if (!d) {
		rc = dmg_error_set(err, -ESRCH, "no domain %s on this host", uuid);
	} else if (virDomainIsPersistent(d) == 1) {
		/* SECURE: what is defined back must keep its passwords. */
		*xml = virDomainGetXMLDesc(d, VIR_DOMAIN_XML_INACTIVE | VIR_DOMAIN_XML_SECURE);
		if (!*xml)
			rc = dmg_error_set(err, -EIO, "libvirt: persistent XML of %s: %s", uuid,
					   virt_errmsg());
		else
			*len = strlen(*xml);
	}
	domain_put(c, d);
	return rc;
}

int
dmg_virt_define(struct dmg_virt *v, const char *xml, struct dmg_error *err)
{
	virConnectPtr c = virt_ref(v);
	virDomainPtr d;

	if (!c)
		return virt_not_connected(v, err);
	d = virDomainDefineXML(c, xml);
	if (d)
		virDomainFree(d);
	virConnectClose(c);
	return d ? 0 : dmg_error_set(err, -EIO, "libvirt: define: %s", virt_errmsg());
}

int
dmg_virt_destroy(struct dmg_virt *v, const char *uuid, struct dmg_error *err)
{
	virConnectPtr c;
	virDomainPtr d;
	int rc;

	rc = domain_get(v, uuid, &c, &d, err);
	if (rc < 0)
		return rc;
	/* No domain: nothing left to destroy. */
	if (d && virDomainDestroy(d) < 0)
		rc = dmg_error_set(err, -EIO, "libvirt: destroy %s: %s", uuid, virt_errmsg());
	domain_put(c, d);
	return rc;
}

/* ---- QEMU's end, read in /proc ---------------------------------------------- */

/* The system QEMU driver's state directory: NAME.pid, NAME.xml (its status). */
#define QEMU_RUN_DIR "/run/libvirt/qemu"

/* The value of a "Key:\tvalue" line of /proc/PID/status, or NULL. */
static const char *
status_value(const char *status, const char *key)
{
	size_t klen = strlen(key);
	const char *p;

	for (p = status; p && *p; p = strchr(p, '\n') ? strchr(p, '\n') + 1 : NULL) {
		if (strncmp(p, key, klen) != 0 || p[klen] != ':')
			continue;
		p += klen + 1;
		while (*p == ' ' || *p == '\t')
			p++;
		return p;
	}
	return NULL;
}

/* A hex signal mask line ("SigPnd:\t0000000000000100") holds SIGKILL. */
static int
status_has_kill(const char *status, const char *key)
{
	const char *v = status_value(status, key);
	unsigned long long m;
	char *end;

	if (!v)
		return 0;
	errno = 0;
	m = strtoull(v, &end, 16);
	if (end == v || errno != 0 || (*end != '\n' && *end != '\0'))
		return 0;
	return (m & (1ULL << (9 - 1))) != 0;   /* bit 9: SIGKILL */
}

int
dmg_proc_status_dying(const char *status)
{
	const char *st = status ? status_value(status, "State") : NULL;

	if (st && (*st == 'Z' || *st == 'X'))
		return 1;
	return status && (status_has_kill(status, "SigPnd") || status_has_kill(status, "ShdPnd"));
}

int
dmg_virt_qemu_exited(struct dmg_virt *v, const char *name)
{
	char path[512], buf[4096];
	size_t n;
	long pid;
	FILE *f;
	int k;

	if (v->uri && strcmp(v->uri, "qemu:///system") != 0)
		return 0;
	if (!name || !*name || strchr(name, '/') ||
	    snprintf(path, sizeof(path), QEMU_RUN_DIR "/%s.pid", name) >= (int)sizeof(path))
		return 0;
	f = fopen(path, "re");
	if (!f)
		return 0;
	k = fscanf(f, "%ld", &pid);
	fclose(f);
	if (k != 1 || pid <= 1)
		return 0;
	snprintf(path, sizeof(path), "/proc/%ld/status", pid);
	f = fopen(path, "re");
	if (!f)
		return errno == ENOENT;   /* gone already */
	n = fread(buf, 1, sizeof(buf) - 1, f);
	fclose(f);
	buf[n] = '\0';
	return dmg_proc_status_dying(buf);
}

/* ---- libvirt's status file: does the migration copy the storage too? ------- */

int
dmg_virt_copies_storage(struct dmg_virt *v, const char *uuid, int *copies,
			struct dmg_error *err)
{
	char path[512], *xml = NULL;
	const char *name;
	virConnectPtr c;
	virDomainPtr d;
	size_t len = 0;
	int rc;

	*copies = 0;
	/* The status directory is the system QEMU driver's; another URI
	 * (a session daemon, a remote one) keeps it elsewhere or not here. */
	if (v->uri && strcmp(v->uri, "qemu:///system") != 0)
		return dmg_error_set(err, -EOPNOTSUPP,
				     "cannot read the migration's flags under %s", v->uri);
	if ((rc = domain_get(v, uuid, &c, &d, err)) < 0)
		return rc;
	name = d ? virDomainGetName(d) : NULL;
	if (!name)
		rc = dmg_error_set(err, -ESRCH, "domain %s: %s", uuid, virt_errmsg());
	else if (!*name || strchr(name, '/') ||
		 snprintf(path, sizeof(path), QEMU_RUN_DIR "/%s.xml", name) >= (int)sizeof(path))
		rc = dmg_error_set(err, -EINVAL, "domain %s: unusable name", uuid);
	domain_put(c, d);
	/* A status file holds the domain XML and a little more: bounded alike. */
	if (rc == 0)
		rc = dmg_textfile_read(path, DMG_XML_MAX, &xml, &len, err);
	if (rc == 0 && (rc = dmg_virt_status_copies(xml, len, copies, err)) < 0)
		dmg_error_prefix(err, "%s", path);
	free(xml);
	return rc;
}
