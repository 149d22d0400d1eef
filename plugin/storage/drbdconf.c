#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "storage/drbdconf.h"
#include "storage/exec.h"

/* Everything we write into the file comes from drbdmig itself, but names
 * and paths are still checked: one stray quote would break drbdadm for
 * every resource on the host. */
static int
safe_token(const char *s)
{
	if (!s || !*s || strlen(s) > 127)
		return 0;
	for (; *s; s++)
		if (!((*s >= 'a' && *s <= 'z') || (*s >= 'A' && *s <= 'Z') ||
		      (*s >= '0' && *s <= '9') || strchr("-_./:", *s)))
			return 0;
	return 1;
}

int
dmg_drbd_resfile_format(const struct dmg_drbd_resfile *r, char *buf, size_t len,
			struct dmg_error *err)
{
	size_t off = 0;
	int n, i;

	if (!safe_token(r->resource) ||
	    strncmp(r->resource, DMG_DRBD_RES_PREFIX, strlen(DMG_DRBD_RES_PREFIX)) != 0)
		return dmg_error_set(err, -EINVAL, "bad DRBD resource name '%s'", r->resource ? r->resource : "");
	if (!safe_token(r->secret) || (r->fence_peer && !safe_token(r->fence_peer)))
		return dmg_error_set(err, -EINVAL, "resource %s: unsafe secret or handler path", r->resource);
	/* drbdadm (the kernel's helper) must see the algorithm the kernel
	 * was given, or its view of the resource differs from the kernel's. */
	if (!r->hmac_alg || !*r->hmac_alg || r->hmac_alg[strspn(r->hmac_alg, "abcdefghijklmnopqrstuvwxyz0123456789-")] ||
	    strlen(r->hmac_alg) > 63)
		return dmg_error_set(err, -EINVAL, "resource %s: bad cram-hmac algorithm '%.64s'", r->resource,
				     r->hmac_alg ? r->hmac_alg : "");
	for (i = 0; i < 2; i++)
		if (!safe_token(r->host[i].name) || !safe_token(r->host[i].address) ||
		    !safe_token(r->host[i].disk) || !safe_token(r->host[i].meta) || r->host[i].port == 0)
			return dmg_error_set(err, -EINVAL, "resource %s: bad host %d settings", r->resource, i);
	if (strcmp(r->host[0].name, r->host[1].name) == 0)
		return dmg_error_set(err, -EINVAL, "resource %s: both hosts are named '%s'", r->resource,
				     r->host[0].name);

#define OUT(...) do {                                                        \
		n = snprintf(buf + off, len > off ? len - off : 0, __VA_ARGS__); \
		if (n < 0 || (size_t)n >= (len > off ? len - off : 0))          \
			goto nospace;                                            \
		off += (size_t)n;                                                \
	} while (0)

	OUT("# Written by drbdmig for one live migration; removed when it ends.\n"
	    "# Do not edit: `drbdmig verify` reports a leftover file.\n"
	    "resource %s {\n"
	    "\tnet {\n"
	    "\t\tprotocol C;\n"
	    "\t\tcram-hmac-alg %s;\n"
	    "\t\tshared-secret \"%s\";\n"
	    "\t\tafter-sb-0pri disconnect;\n"
	    "\t\tafter-sb-1pri disconnect;\n"
	    "\t\tafter-sb-2pri disconnect;\n"
	    "\t}\n", r->resource, r->hmac_alg, r->secret);
	if (r->fence_peer)
		OUT("\tdisk {\n\t\tfencing resource-and-stonith;\n\t}\n"
		    "\thandlers {\n\t\tfence-peer \"%s\";\n\t}\n", r->fence_peer);
	for (i = 0; i < 2; i++)
		OUT("\ton %s {\n"
		    "\t\tdevice /dev/drbd%u minor %u;\n"
		    "\t\tdisk %s;\n"
		    "\t\tmeta-disk %s;\n"
		    "\t\taddress ipv4 %s:%u;\n"
		    "\t}\n", r->host[i].name, r->host[i].minor, r->host[i].minor, r->host[i].disk,
		    r->host[i].meta, r->host[i].address, r->host[i].port);
	OUT("}\n");
#undef OUT
	return (int)off;
nospace:
	return dmg_error_set(err, -ENOSPC, "resource file for %s too large", r->resource);
}

int
dmg_drbd_resfile_write(const char *dir, const struct dmg_drbd_resfile *r, struct dmg_error *err)
{
	char text[4096], path[512], tmp[520];
	int len, fd, rc = 0;

	len = dmg_drbd_resfile_format(r, text, sizeof(text), err);
	if (len < 0)
		return len;
	snprintf(path, sizeof(path), "%s/%s.res", dir, r->resource);
	snprintf(tmp, sizeof(tmp), "%s.tmp", path);
	fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	if (fd < 0)
		return dmg_error_sys(err, -errno, "cannot write %s", tmp);
	if (write(fd, text, (size_t)len) != len || fsync(fd) < 0)
		rc = dmg_error_sys(err, -errno, "cannot write %s", tmp);
	if (close(fd) < 0 && rc == 0)
		rc = dmg_error_sys(err, -errno, "cannot write %s", tmp);
	if (rc == 0 && rename(tmp, path) < 0)
		rc = dmg_error_sys(err, -errno, "cannot rename %s", tmp);
	if (rc < 0)
		unlink(tmp);
	return rc;
}

int
dmg_drbd_resfile_remove(const char *dir, const char *resource, struct dmg_error *err)
{
	char path[512];

	if (!safe_token(resource) ||
	    strncmp(resource, DMG_DRBD_RES_PREFIX, strlen(DMG_DRBD_RES_PREFIX)) != 0)
		return dmg_error_set(err, -EINVAL, "refusing to remove resource file of '%s'", resource);
	snprintf(path, sizeof(path), "%s/%s.res", dir, resource);
	if (unlink(path) < 0 && errno != ENOENT)
		return dmg_error_sys(err, -errno, "cannot remove %s", path);
	return 0;
}

int
dmg_drbd_create_md(uint32_t minor, const char *meta, struct dmg_error *err)
{
	char m[16];
	char *argv[] = { "/sbin/drbdmeta", "--force", m, "v08", (char *)meta, "flex-external",
			 "create-md", NULL };
	int rc;

	snprintf(m, sizeof(m), "%u", minor);
	rc = dmg_exec_ok(argv, NULL, 0, 60000, err);
	return rc < 0 ? dmg_error_prefix(err, "cannot create DRBD metadata on %s", meta) : 0;
}
