/* LVM volumes through lvm2's own command-line tools (lvs, lvcreate,
 * lvremove).  Why the tools: they are lvm2's supported interface (its C
 * library liblvm2app was removed in lvm2 2.03); libvirt's storage API would
 * need a storage pool defined for every VG, which admins of these hosts
 * usually do not have; and the tools take LVM's locks and update its
 * metadata backups exactly as an admin's own commands would.
 *
 * Volumes drbdmig creates carry the LVM tag DMG_LVM_TAG; dmg_lvm_remove()
 * refuses untagged volumes unless the caller says it means the guest's LV. */
#ifndef DMG_LVM_H
#define DMG_LVM_H

#include <stddef.h>
#include <stdint.h>

#include "core/error.h"

#define DMG_LVM_TAG      "drbdmig"
#define DMG_LVM_NAME_MAX 128

struct dmg_lv {
	char vg[DMG_LVM_NAME_MAX], lv[DMG_LVM_NAME_MAX];
	uint64_t size;             /* bytes */
	uint64_t extent_size;      /* bytes, of its VG */
	uint64_t vg_free;          /* bytes */
	int tagged;                /* carries DMG_LVM_TAG */
	/* A thin LV (segtype "thin"): the thin pool it lives in, else "".  A
	 * thin LV or a thin pool: bytes of pool data it has allocated (lvm2's
	 * data_percent of its size, rounded up); 0 for any other LV. */
	char thin_pool[DMG_LVM_NAME_MAX];
	int is_thin_pool;          /* segtype "thin-pool" */
	uint64_t used;
};

/* Sectors of DRBD 8.4 external ("flex-external") metadata for a data device
 * of data_sectors: one bitmap bit per 4 KiB block rounded up to 4 KiB
 * (8 sectors per 2^18 data sectors), plus 32 KiB activity log and 4 KiB
 * superblock (72 sectors): Ms = ceil(Cs / 2^18) * 8 + 72. */
uint64_t dmg_drbd_md_sectors(uint64_t data_sectors);

/* The LV's device path, /dev/VG/LV: the one form drbdmig itself opens and
 * hands to libvirt (udev makes it for every active LV). */
void dmg_lvm_dev_path(const char *vg, const char *lv, char *buf, size_t len);

/* Rounds bytes up to a whole number of extents. */
uint64_t dmg_lvm_round_extents(uint64_t bytes, uint64_t extent_size);

/* Bytes of the metadata LV for a data device of data_bytes: DRBD's
 * metadata in whole extents of extent_size (what md-create makes and what
 * the destination's admission counts). */
uint64_t dmg_lvm_md_bytes(uint64_t data_bytes, uint64_t extent_size);

/* lvm2's rules for names (lvm(8), VALID NAMES): 1-127 of A-Z a-z 0-9 + _ . -,
 * not starting with '-', not "." or ".."; an LV name also not starting with
 * "snapshot" or "pvmove" nor containing a suffix lvm2 keeps for its hidden
 * sub-LVs ("_rimage", "_tmeta", ...).  Checked wherever a name reaches an
 * lvm2 tool, so that no name can be read as an option or reach a hidden LV. */
int dmg_lvm_check_vg(const char *vg, struct dmg_error *err);
int dmg_lvm_check_lv(const char *lv, struct dmg_error *err);
/* A device path for the storage layer: absolute under /dev/, no ".."
 * component, printable ASCII without spaces, shorter than 256 bytes. */
int dmg_lvm_check_path(const char *path, struct dmg_error *err);

/* Parses one line of `lvs --noheadings --units b --nosuffix --separator |
 * -o vg_name,lv_name,lv_size,vg_extent_size,vg_free,lv_tags,segtype,pool_lv,
 * data_percent`. */
int dmg_lvm_parse_lvs(const char *line, struct dmg_lv *lv, struct dmg_error *err);

/* Looks up an LV by path (/dev/vg/lv or /dev/mapper/...) or by "VG/LV";
 * either is checked as above first. */
int dmg_lvm_lookup(const char *path, struct dmg_lv *lv, struct dmg_error *err);
/* Which LV a guest's disk path names, however the admin wrote it
 * (/dev/VG/LV, /dev/mapper/VG-LV, /dev/disk/by-id/dm-name-... or dm-uuid-...,
 * a symlink of their own): the path is resolved by the kernel to a device
 * number and LVM is asked which LV has it (lvm2 knows its escaping and its
 * hidden sub-LVs; no name is parsed here).  -ENOTBLK for a path that is not
 * a block device, -ENODEV for a block device that is no (visible) LV. */
int dmg_lvm_resolve(const char *path, struct dmg_lv *lv, struct dmg_error *err);
/* The LV whose active device is major:minor, as above. */
int dmg_lvm_by_devno(unsigned major, unsigned minor, struct dmg_lv *lv, struct dmg_error *err);
/* Free bytes and extent size of a VG; -ENOENT if the VG is missing. */
int dmg_lvm_vg(const char *vg, uint64_t *free_bytes, uint64_t *extent_size,
	       struct dmg_error *err);
/* Creates vg/name of exactly bytes (a multiple of the extent size), tagged;
 * thin_pool not NULL: a thin LV of that virtual size in vg/thin_pool. */
int dmg_lvm_create(const char *vg, const char *name, uint64_t bytes, const char *thin_pool,
		   struct dmg_error *err);
/* The thin pool vg/pool: its data size and the bytes of it in use.
 * -ENOENT if there is no LV of that name, -EMEDIUMTYPE if it is no thin
 * pool. */
int dmg_lvm_thin_pool(const char *vg, const char *pool, uint64_t *size, uint64_t *used,
		      struct dmg_error *err);
/* Removes vg/name; an untagged LV only when guest_lv is set. */
int dmg_lvm_remove(const char *vg, const char *name, int guest_lv,
		   struct dmg_error *err);
/* The same for an LV the caller has just looked up (dmg_lvm_lookup): the tag
 * is checked on that answer, and lvremove is the only lvm2 run. */
int dmg_lvm_remove_found(const struct dmg_lv *lv, int guest_lv, struct dmg_error *err);

/* Removes DMG_LVM_TAG from vg/name. */
int dmg_lvm_deltag(const char *vg, const char *name, struct dmg_error *err);

/* Calls fn for every LV carrying DMG_LVM_TAG; a non-zero return stops. */
int dmg_lvm_each_tagged(int (*fn)(const struct dmg_lv *lv, void *arg), void *arg,
			struct dmg_error *err);

#endif
