/* libvirt storage pools: which VG a 'logical' pool is, which LV one of its
 * volumes is, and telling libvirt that LVs came and went under its pools.
 * Only 'logical' pools are drbdmig's: their volumes are plain LVs of one VG,
 * so the overlay and the new LV are what it builds for type='block' disks. */
#include "config.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <libvirt/virterror.h>

#include "libvirt/virt_int.h"

/* The active 'logical' pool `name` on connection c, and its VG.  The error
 * names the pool and what is wrong with it. */
static int
logical_pool(virConnectPtr c, const char *name, virStoragePoolPtr *out, char *vg,
	     size_t vglen, struct dmg_error *err)
{
	virStoragePoolPtr p = virStoragePoolLookupByName(c, name);
	char type[32], *xml;
	int rc;

	*out = NULL;
	if (!p) {
		if (virGetLastErrorCode() == VIR_ERR_NO_STORAGE_POOL)
			return dmg_error_set(err, -ENOENT, "there is no libvirt storage pool '%s'", name);
		return virt_call_failed(c, err, "storage pool", name);
	}
	xml = virStoragePoolGetXMLDesc(p, 0);
	if (!xml) {
		rc = virt_call_failed(c, err, "XML of storage pool", name);
		goto fail;
	}
	rc = dmg_virt_pool_parse(xml, strlen(xml), type, sizeof(type), vg, vglen, err);
	free(xml);
	if (rc < 0) {
		dmg_error_prefix(err, "storage pool '%s'", name);
		goto fail;
	}
	if (strcmp(type, "logical") != 0) {
		rc = dmg_error_set(err, -EMEDIUMTYPE, "storage pool '%s' is a '%s' pool; drbdmig migrates volumes of 'logical' (LVM) pools only",
				   name, type);
		goto fail;
	}
	if (virStoragePoolIsActive(p) != 1) {
		rc = dmg_error_set(err, -ENXIO, "storage pool '%s' is not active (virsh pool-start %s)",
				   name, name);
		goto fail;
	}
	*out = p;
	return 0;
fail:
	virStoragePoolFree(p);
	return rc;
}

int
dmg_virt_pool_vg(struct dmg_virt *v, const char *pool, char *vg, size_t vglen,
		 struct dmg_error *err)
{
	virConnectPtr c = virt_ref(v);
	virStoragePoolPtr p;
	int rc;

	if (!c)
		return virt_not_connected(v, err);
	rc = logical_pool(c, pool, &p, vg, vglen, err);
	if (p)
		virStoragePoolFree(p);
	virConnectClose(c);
	return rc;
}

int
dmg_virt_pool_volume(struct dmg_virt *v, const char *pool, const char *volume, char *path,
		     size_t plen, struct dmg_error *err)
{
	virConnectPtr c = virt_ref(v);
	virStoragePoolPtr p;
	virStorageVolPtr vol = NULL;
	char vg[DMG_VIRT_VG_MAX], *vp = NULL;
	int rc;

	if (!c)
		return virt_not_connected(v, err);
	if ((rc = logical_pool(c, pool, &p, vg, sizeof(vg), err)) < 0)
		goto out;
	if (!(vol = virStorageVolLookupByName(p, volume))) {
		rc = dmg_error_set(err, -ENOENT, "storage pool '%s' has no volume '%s': %s", pool,
				   volume, virt_errmsg());
		goto out;
	}
	if (!(vp = virStorageVolGetPath(vol)))
		rc = virt_call_failed(c, err, "path of storage volume", volume);
	else if (strlen(vp) >= plen || vp[0] != '/')
		rc = dmg_error_set(err, -ENAMETOOLONG, "storage volume '%s': unusable path '%.64s'",
				   volume, vp);
	else
		memcpy(path, vp, strlen(vp) + 1);
	free(vp);
out:
	if (vol)
		virStorageVolFree(vol);
	if (p)
		virStoragePoolFree(p);
	virConnectClose(c);
	return rc;
}

int
dmg_virt_pool_refresh(struct dmg_virt *v, const char *pool, struct dmg_error *err)
{
	virConnectPtr c = virt_ref(v);
	virStoragePoolPtr p;
	char vg[DMG_VIRT_VG_MAX];
	int rc;

	if (!c)
		return virt_not_connected(v, err);
	rc = logical_pool(c, pool, &p, vg, sizeof(vg), err);
	if (rc == 0 && virStoragePoolRefresh(p, 0) < 0)
		rc = virt_call_failed(c, err, "refresh of storage pool", pool);
	if (p)
		virStoragePoolFree(p);
	virConnectClose(c);
	return rc;
}
