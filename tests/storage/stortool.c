/* stortool: drives drbdmig's storage primitives one call at a time, so the
 * kernel lab can exercise the real code (not dmsetup/lvm text) step by step.
 * Test tool only; the daemon calls the same library functions. */
#include "config.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>

#include <arpa/inet.h>
#include <netinet/in.h>

#include "storage/alloc.h"
#include "storage/dm.h"
#include "storage/drbd.h"
#include "storage/drbdconf.h"
#include "core/wire.h"
#include "storage/lvm.h"

static int
fail(const struct dmg_error *err)
{
	fprintf(stderr, "stortool: %s\n", err->msg);
	return 1;
}

static int
print_table(const struct dmg_dm_table *t)
{
	char buf[DMG_DM_MAX_TARGETS * (DMG_DM_PARAMS_MAX + 64)];

	if (dmg_dm_table_format(t, buf, sizeof(buf)) < 0)
		return 1;
	fputs(buf, stdout);
	return 0;
}

static int
read_table_file(const char *path, struct dmg_dm_table *t, struct dmg_error *err)
{
	char buf[DMG_DM_MAX_TARGETS * (DMG_DM_PARAMS_MAX + 64)];
	FILE *f = fopen(path, "r");
	size_t n;

	if (!f)
		return dmg_error_sys(err, -errno, "%s", path);
	n = fread(buf, 1, sizeof(buf) - 1, f);
	fclose(f);
	buf[n] = '\0';
	return dmg_dm_table_parse(buf, t, err);
}

static int
print_one(const struct dmg_dm_info *info, void *arg)
{
	(void)arg;
	printf("%s %s %u:%u open=%d\n", info->name, info->uuid, info->major, info->minor,
	       info->open_count);
	return 0;
}

static int usage(void);

/* "a.b.c.d:port" into a sockaddr_in */
static int
parse_addr(const char *s, struct sockaddr_in *sa)
{
	char host[64];
	const char *colon = strrchr(s, ':');

	memset(sa, 0, sizeof(*sa));
	if (!colon || (size_t)(colon - s) >= sizeof(host))
		return -1;
	memcpy(host, s, (size_t)(colon - s));
	host[colon - s] = '\0';
	sa->sin_family = AF_INET;
	sa->sin_port = htons((uint16_t)atoi(colon + 1));
	return inet_pton(AF_INET, host, &sa->sin_addr) == 1 ? 0 : -1;
}

static void
print_status(const struct dmg_drbd_status *st)
{
	printf("minor %u %s/%s %s %s/%s oos %llu/%llu susp %u\n", st->minor,
	       dmg_drbd_role_str(st->state.role), dmg_drbd_role_str(st->state.peer),
	       dmg_drbd_conn_str(st->state.conn), dmg_drbd_disk_str(st->state.disk),
	       dmg_drbd_disk_str(st->state.pdsk), (unsigned long long)st->bits_oos,
	       (unsigned long long)st->bits_total, st->state.susp);
}

static int
status_cb(const struct dmg_drbd_status *st, void *arg)
{
	(void)arg;
	printf("%s ", st->resource);
	print_status(st);
	return 0;
}

struct progress {
	uint64_t oos;
	int64_t t;
};

/* Also prints sync progress (percentage, rate, ETA) while a resync runs. */
static int
is_synced(const struct dmg_drbd_status *st, void *arg)
{
	struct progress *p = arg;
	int64_t now = dmg_now_ms();

	if (st->state.conn >= DMG_C_SYNC_SOURCE && st->state.conn <= DMG_C_PAUSED_SYNC_T) {
		double pct, rate;
		long eta;

		if (p->t) {
			dmg_drbd_progress(st->bits_total, p->oos, st->bits_oos, (uint64_t)(now - p->t),
					  &pct, &rate, &eta);
			printf("sync %s %.1f%% %.0f KiB/s eta %ld s\n", dmg_drbd_conn_str(st->state.conn),
			       pct, rate, eta);
			fflush(stdout);
		}
		p->oos = st->bits_oos;
		p->t = now;
	}
	return st->state.conn == DMG_C_CONNECTED && st->state.disk == DMG_D_UP_TO_DATE &&
	       st->state.pdsk == DMG_D_UP_TO_DATE;
}

static int
is_connected(const struct dmg_drbd_status *st, void *arg)
{
	(void)arg;
	return st->state.conn >= DMG_C_CONNECTED;
}

static int
drbd_cmd(int argc, char **argv)
{
	struct dmg_error err = { 0 };
	struct dmg_drbd_status st;
	struct dmg_drbd_req r;
	struct dmg_drbd *d;
	struct sockaddr_in my, peer;
	struct dmg_drbd_net net = { .my_addr = (struct sockaddr *)&my, .my_len = sizeof(my),
				    .peer_addr = (struct sockaddr *)&peer, .peer_len = sizeof(peer),
				    .hmac_alg = "sha256" };
	const char *c = argv[1];
	int rc = -EINVAL;

	if (dmg_drbd_open(&d, &err) < 0)
		return fail(&err);
	if (strcmp(c, "drbd-new-resource") == 0 && argc == 3) {
		rc = dmg_drbd_req_new_resource(&r, argv[2], &err);
	} else if (strcmp(c, "drbd-new-minor") == 0 && argc == 5) {
		rc = dmg_drbd_req_new_minor(&r, argv[2], (uint32_t)atoi(argv[3]), (uint32_t)atoi(argv[4]), &err);
	} else if (strcmp(c, "drbd-attach") == 0 && argc == 7) {
		struct dmg_drbd_disk disk = { .backing = argv[3], .meta = argv[4],
					      .resync_rate_kib = (uint32_t)atoi(argv[5]),
					      .dynamic = strcmp(argv[6], "dynamic") == 0, .fencing = -1 };

		rc = dmg_drbd_req_attach(&r, (uint32_t)atoi(argv[2]), &disk, &err);
	} else if ((strcmp(c, "drbd-connect") == 0 && argc == 7) ||
		   (strcmp(c, "drbd-net-opts") == 0 && argc == 5) ||
		   (strcmp(c, "drbd-disconnect") == 0 && argc == 4)) {
		int base = strcmp(c, "drbd-connect") == 0 ? 3 : 2;

		if (parse_addr(argv[base], &my) < 0 || parse_addr(argv[base + 1], &peer) < 0) {
			fprintf(stderr, "stortool: bad address\n");
			dmg_drbd_close(d);
			return 2;
		}
		if (strcmp(c, "drbd-connect") == 0) {
			net.secret = argv[5];
			net.two_primaries = strcmp(argv[6], "two") == 0;
			rc = dmg_drbd_req_connect(&r, argv[2], &net, &err);
		} else if (strcmp(c, "drbd-net-opts") == 0) {
			net.two_primaries = strcmp(argv[4], "two") == 0;
			rc = dmg_drbd_req_net_opts(&r, &net, &err);
		} else {
			rc = dmg_drbd_req_disconnect(&r, &net, 0, &err);
		}
	} else if (strcmp(c, "drbd-primary") == 0 && (argc == 3 || argc == 4)) {
		rc = dmg_drbd_req_role(&r, (uint32_t)atoi(argv[2]), 1, argc == 4, &err);
	} else if (strcmp(c, "drbd-secondary") == 0 && argc == 3) {
		rc = dmg_drbd_req_role(&r, (uint32_t)atoi(argv[2]), 0, 0, &err);
	} else if (strcmp(c, "drbd-detach") == 0 && argc == 3) {
		rc = dmg_drbd_req_detach(&r, (uint32_t)atoi(argv[2]), 0, &err);
	} else if (strcmp(c, "drbd-down") == 0 && argc == 3) {
		rc = dmg_drbd_req_resource(&r, DMG_DRBD_DOWN, argv[2], &err);
	} else if (strcmp(c, "drbd-del-resource") == 0 && argc == 3) {
		rc = dmg_drbd_req_resource(&r, DMG_DRBD_DEL_RESOURCE, argv[2], &err);
	} else if (strcmp(c, "drbd-del-minor") == 0 && argc == 3) {
		dmg_drbd_req_minor(&r, DMG_DRBD_DEL_MINOR, (uint32_t)atoi(argv[2]));
		rc = 0;
	} else if (strcmp(c, "drbd-status-all") == 0 && (argc == 2 || argc == 3)) {
		rc = dmg_drbd_status_all(d, argc == 3 ? argv[2] : NULL, status_cb, NULL, &err);
		dmg_drbd_close(d);
		return rc < 0 ? fail(&err) : 0;
	} else if (strcmp(c, "drbd-status") == 0 && argc == 3) {
		rc = dmg_drbd_status(d, (uint32_t)atoi(argv[2]), &st, &err);
		if (rc == 0)
			print_status(&st);
		dmg_drbd_close(d);
		return rc < 0 ? fail(&err) : 0;
	} else if ((strcmp(c, "drbd-wait-synced") == 0 || strcmp(c, "drbd-wait-connected") == 0) &&
		   argc == 4) {
		struct progress prog = { 0, 0 };

		rc = dmg_drbd_wait(d, (uint32_t)atoi(argv[2]),
				   strcmp(c, "drbd-wait-synced") == 0 ? is_synced : is_connected, &prog,
				   atoi(argv[3]) * 1000, &st, &err);
		print_status(&st);
		dmg_drbd_close(d);
		return rc < 0 ? fail(&err) : 0;
	} else {
		dmg_drbd_close(d);
		return usage();
	}
	if (rc == 0)
		rc = dmg_drbd_call(d, &r, 30000, &st, &err);
	dmg_drbd_close(d);
	return rc < 0 ? fail(&err) : 0;
}

static int
usage(void)
{
	fprintf(stderr,
		"usage: stortool resolve PATH            dm name, uuid, devno, size and live table\n"
		"       stortool table NAME              live table of a dm device\n"
		"       stortool create NAME UUID TABLEFILE\n"
		"       stortool copy PATH NAME UUID     new device with PATH's live table\n"
		"       stortool swap-to NAME DEVICE     swap NAME's table to a linear map of DEVICE\n"
		"                                        (same length); prints the old table\n"
		"       stortool swap NAME NEWFILE OLDFILE\n"
		"       stortool remove NAME | list-ours\n"
		"       stortool lv PATH | vg VG | lv-create VG NAME BYTES | lv-remove VG NAME [guest]\n"
		"       stortool md-sectors DATA_SECTORS\n"
		"       stortool create-md MINOR META\n"
		"       stortool alloc-minor LO HI | alloc-port LO HI   first free on this host\n"
		"       stortool resfile DIR RES SECRET  NAME IP PORT MINOR DISK META  (x2: this host, peer)\n"
		"       stortool resfile-remove DIR RES\n"
		"       stortool drbd-new-resource RES | drbd-new-minor RES MINOR VOLUME\n"
		"       stortool drbd-attach MINOR BACKING META RATE_KIB dynamic|fixed\n"
		"       stortool drbd-connect RES MYIP:PORT PEERIP:PORT SECRET one|two\n"
		"       stortool drbd-net-opts MYIP:PORT PEERIP:PORT one|two\n"
		"       stortool drbd-disconnect MYIP:PORT PEERIP:PORT\n"
		"       stortool drbd-primary MINOR [force] | drbd-secondary MINOR | drbd-detach MINOR\n"
		"       stortool drbd-down RES | drbd-del-minor MINOR | drbd-del-resource RES\n"
		"       stortool drbd-status-all [RES]\n"
		"       stortool drbd-status MINOR | drbd-wait-synced MINOR SECS | drbd-wait-connected MINOR SECS\n");
	return 2;
}

int
main(int argc, char **argv)
{
	struct dmg_error err = { 0 };
	struct dmg_dm_table t, old;
	struct dmg_dm_info info;
	struct dmg_lv lv;
	const char *cmd = argc > 1 ? argv[1] : "";
	uint64_t size;

	if (strcmp(cmd, "resolve") == 0 && argc == 3) {
		if (dmg_dm_resolve(argv[2], &info, &err) < 0 || dmg_dm_get_table(info.name, &t, &err) < 0 ||
		    dmg_dm_table_check(&t, &size, &err) < 0)
			return fail(&err);
		printf("name %s\nuuid %s\ndevno %u:%u\nsectors %" PRIu64 "\nopen %d\n", info.name, info.uuid,
		       info.major, info.minor, size, info.open_count);
		return print_table(&t);
	}
	if (strcmp(cmd, "table") == 0 && argc == 3)
		return dmg_dm_get_table(argv[2], &t, &err) < 0 ? fail(&err) : print_table(&t);
	if (strcmp(cmd, "create") == 0 && argc == 5)
		return read_table_file(argv[4], &t, &err) < 0 || dmg_dm_create(argv[2], argv[3], &t, &err) < 0
		       ? fail(&err) : 0;
	if (strcmp(cmd, "copy") == 0 && argc == 5) {
		if (dmg_dm_resolve(argv[2], &info, &err) < 0 || dmg_dm_get_table(info.name, &t, &err) < 0 ||
		    dmg_dm_create(argv[3], argv[4], &t, &err) < 0)
			return fail(&err);
		return 0;
	}
	if (strcmp(cmd, "swap-to") == 0 && argc == 4) {
		struct stat st;

		if (stat(argv[3], &st) < 0 || !S_ISBLK(st.st_mode)) {
			fprintf(stderr, "stortool: %s is not a block device\n", argv[3]);
			return 1;
		}
		if (dmg_dm_get_table(argv[2], &old, &err) < 0 || dmg_dm_table_check(&old, &size, &err) < 0 ||
		    dmg_dm_table_linear(&t, size, major(st.st_rdev), minor(st.st_rdev), 0, &err) < 0)
			return fail(&err);
		print_table(&old);
		fflush(stdout);
		return dmg_dm_swap(argv[2], &t, &old, &err) < 0 ? fail(&err) : 0;
	}
	if (strcmp(cmd, "swap") == 0 && argc == 5) {
		if (read_table_file(argv[3], &t, &err) < 0 || read_table_file(argv[4], &old, &err) < 0 ||
		    dmg_dm_swap(argv[2], &t, &old, &err) < 0)
			return fail(&err);
		return 0;
	}
	if (strcmp(cmd, "remove") == 0 && argc == 3)
		return dmg_dm_remove(argv[2], &err) < 0 ? fail(&err) : 0;
	if (strcmp(cmd, "list-ours") == 0 && argc == 2)
		return dmg_dm_list_ours(print_one, NULL, &err) < 0 ? fail(&err) : 0;
	if (strcmp(cmd, "lv") == 0 && argc == 3) {
		if (dmg_lvm_lookup(argv[2], &lv, &err) < 0)
			return fail(&err);
		printf("vg %s\nlv %s\nbytes %" PRIu64 "\nextent %" PRIu64 "\nvg_free %" PRIu64 "\ntagged %d\n",
		       lv.vg, lv.lv, lv.size, lv.extent_size, lv.vg_free, lv.tagged);
		return 0;
	}
	if (strcmp(cmd, "vg") == 0 && argc == 3) {
		uint64_t free_b, ext;

		if (dmg_lvm_vg(argv[2], &free_b, &ext, &err) < 0)
			return fail(&err);
		printf("free %" PRIu64 "\nextent %" PRIu64 "\n", free_b, ext);
		return 0;
	}
	if (strcmp(cmd, "lv-create") == 0 && argc == 5)
		return dmg_lvm_create(argv[2], argv[3], strtoull(argv[4], NULL, 10), NULL, &err) < 0 ? fail(&err) : 0;
	if (strcmp(cmd, "lv-remove") == 0 && (argc == 4 || argc == 5))
		return dmg_lvm_remove(argv[2], argv[3], argc == 5 && strcmp(argv[4], "guest") == 0, &err) < 0
		       ? fail(&err) : 0;
	if (strcmp(cmd, "md-sectors") == 0 && argc == 3) {
		printf("%" PRIu64 "\n", dmg_drbd_md_sectors(strtoull(argv[2], NULL, 10)));
		return 0;
	}
	if ((strcmp(cmd, "alloc-minor") == 0 || strcmp(cmd, "alloc-port") == 0) && argc == 4) {
		struct dmg_used used = { 0 };
		uint32_t v;
		int minor = strcmp(cmd, "alloc-minor") == 0;

		if ((minor ? dmg_scan_minors(&used, &err) : dmg_scan_ports(&used, &err)) < 0 ||
		    dmg_alloc_pick(&used, NULL, (uint32_t)atoi(argv[2]), (uint32_t)atoi(argv[3]), &v, &err) < 0)
			return fail(&err);
		printf("%u\n", v);
		return 0;
	}
	if (strcmp(cmd, "create-md") == 0 && argc == 4)
		return dmg_drbd_create_md((uint32_t)atoi(argv[2]), argv[3], &err) < 0 ? fail(&err) : 0;
	if (strcmp(cmd, "resfile") == 0 && argc == 17) {
		/* resfile DIR RES SECRET then per host: NAME IP PORT MINOR DISK META;
		 * sha256, the algorithm its drbd-connect gives the kernel */
		struct dmg_drbd_resfile rf = { .resource = argv[3], .secret = argv[4],
					       .hmac_alg = "sha256" };
		int i;

		for (i = 0; i < 2; i++) {
			char **h = &argv[5 + 6 * i];

			rf.host[i] = (struct dmg_drbd_host){ h[0], h[1], (uint16_t)atoi(h[2]),
							     (uint32_t)atoi(h[3]), h[4], h[5] };
		}
		return dmg_drbd_resfile_write(argv[2], &rf, &err) < 0 ? fail(&err) : 0;
	}
	if (strcmp(cmd, "resfile-remove") == 0 && argc == 4)
		return dmg_drbd_resfile_remove(argv[2], argv[3], &err) < 0 ? fail(&err) : 0;
	if (strncmp(cmd, "drbd-", 5) == 0)
		return drbd_cmd(argc, argv);
	return usage();
}
