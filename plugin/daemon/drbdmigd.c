/* drbdmigd: the drbdmig helper daemon.  It serves the qemu hook and the
 * drbdmig CLI on a root-only UNIX socket. */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <libgen.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "storage/backend.h"
#include "core/conf.h"
#include "daemon/handler.h"
#include "core/log.h"
#include "core/verb.h"
#include "peer/peer.h"
#include "peer/peersrv.h"
#include "daemon/registry.h"
#include "daemon/server.h"
#include "libvirt/virt.h"

static void
usage(FILE *f)
{
	fprintf(f,
		"usage: drbdmigd [-d] [-n] [-f config] [-s socket] [-L logfile] [-p pidfile]\n"
		"  -d, --foreground      stay in the foreground and log to stderr\n"
		"  -n, --check-config    check the configuration, print it and exit\n"
		"  -f, --config FILE     configuration file (default %s)\n"
		"  -s, --socket PATH     UNIX socket (default %s)\n"
		"  -L, --log-file FILE   also append log lines to FILE\n"
		"  -p, --pid-file FILE   write the daemon's pid to FILE\n"
		"  -V, --version         print the version\n"
		"  --dry-run-storage     test mode: log storage steps instead of taking them\n",
		DMG_CONF_PATH, DMG_SOCKET_PATH);
}

/* mkdir -p for the socket's directory; root-owned, not world-writable. */
static int
make_parent(const char *path, struct dmg_error *err)
{
	char *copy = strdup(path), *dir, *p;
	int rc = 0;

	if (!copy)
		return dmg_error_set(err, -ENOMEM, "out of memory");
	dir = dirname(copy);
	for (p = dir + 1; rc == 0; p++) {
		char c = *p;

		if (c != '/' && c != '\0')
			continue;
		*p = '\0';
		if (mkdir(dir, 0755) < 0 && errno != EEXIST)
			rc = dmg_error_sys(err, -errno, "cannot create %s", dir);
		*p = c;
		if (c == '\0')
			break;
	}
	free(copy);
	return rc;
}

static int
write_pidfile(const char *path, pid_t pid, struct dmg_error *err)
{
	FILE *f = fopen(path, "we");

	if (!f)
		return dmg_error_sys(err, -errno, "cannot write %s", path);
	fprintf(f, "%ld\n", (long)pid);
	if (fclose(f) != 0)
		return dmg_error_sys(err, -errno, "cannot write %s", path);
	return 0;
}

/* The endpoint peers reach this daemon at, as stamped into running guests:
 * peer_name (how the peers list this host: they connect only to hosts of
 * their peers), else the peer listen address if it is a specific one, else
 * the replication address, else this host's name. */
static void
self_host(const struct dmg_conf *c, const struct dmg_backend *b, char *out, size_t len)
{
	if (*c->peer_name)
		snprintf(out, len, "%s", c->peer_name);
	else if (strcmp(c->peer_listen, "0.0.0.0") != 0 && strcmp(c->peer_listen, "::") != 0)
		snprintf(out, len, "%s", c->peer_listen);
	else if (c->replication_address[0])
		snprintf(out, len, "%s", c->replication_address);
	else
		snprintf(out, len, "%s", b->host);
}

/* DRBD runs its handlers (drbdmig's fence-peer among them) through the
 * module's usermode helper.  A path the kernel cannot execute -- a stray
 * newline from `echo path > .../usermode_helper` is enough -- makes every
 * helper call "return 0", and fencing then leaves I/O frozen (drbdmigd's
 * watchdog fences instead, 10 s later).  Warn at start. */
static void
check_usermode_helper(struct dmg_log *log)
{
	const char *param = "/sys/module/drbd/parameters/usermode_helper";
	char path[256];
	size_t n;
	FILE *f = fopen(param, "re");

	if (!f)
		return;   /* module not loaded yet: nothing to say */
	n = fread(path, 1, sizeof(path) - 1, f);
	fclose(f);
	path[n] = '\0';
	if (n && path[n - 1] == '\n')
		path[--n] = '\0';   /* the kernel's own line end */
	if (!n || strchr(path, '\n') || access(path, X_OK) != 0)
		dmg_warn(log, "DRBD's usermode helper (%s) is '%s', which cannot be executed: DRBD's handler calls fail (set it with printf, no newline: printf %%s /sbin/drbdadm > %s)",
			 param, path, param);
}

/* The peer server's handler: the registry's peer verbs, for the `peers`
 * host the connection authenticated as.  The one check of a peer request:
 * the registry gets a known verb with the keys it takes. */
static int
peer_verb(void *arg, const char *identity, const struct dmg_jrec *req, struct dmg_jrec *reply,
	  struct dmg_error *err)
{
	enum dmg_verb verb;
	int rc = dmg_verb_check(req, DMG_VERB_PEER, &verb, err);

	return rc < 0 ? rc : dmg_registry_peer(arg, identity, verb, req, reply, err);
}

/* Everything that needs threads starts here, after daemonize()'s fork. */
static int
serve(const struct dmg_conf *conf, int dry_run, struct dmg_server *server,
      struct dmg_handler *handler, struct dmg_log *log, struct dmg_error *err)
{
	struct dmg_reg_conf rc_conf = {
		.state_dir = conf->state_dir, .sync_timeout = conf->sync_timeout,
		.hook_timeout = conf->hook_migrate_timeout, .peer_timeout = conf->peer_timeout,
		.grace = 60, .self_port = conf->peer_port, .peers = conf->peers,
	};
	struct dmg_backend backend;
	struct dmg_registry *reg = NULL;
	struct dmg_peer_ctx *pc = NULL;
	struct dmg_peersrv *ps = NULL;
	struct dmg_virt *virt = NULL;
	struct dmg_peersrv_conf ps_conf = {
		.addr = conf->peer_listen, .port = (uint16_t)conf->peer_port,
		.timeout_s = conf->peer_timeout, .handshake_timeout_s = conf->peer_handshake_timeout,
		.handshake_max = conf->peer_handshake_max,
		.handshake_per_address = conf->peer_handshake_per_address,
		.conns_max = conf->peer_connections_max, .fn = peer_verb, .log = log,
	};
	struct dmg_peer_auth auth;
	struct dmg_error perr = { 0 };
	const char *pause;
	char self[256];
	int rc, left;

	dmg_backend_init(&backend);
	backend.dry_run = dry_run;
	backend.log = log;
	backend.minor_lo = conf->drbd_minor_min;
	backend.minor_hi = conf->drbd_minor_max;
	backend.port_lo = conf->drbd_port_min;
	backend.port_hi = conf->drbd_port_max;
	snprintf(backend.repl_addr, sizeof(backend.repl_addr), "%s", conf->replication_address);
	snprintf(backend.hmac_alg, sizeof(backend.hmac_alg), "%.31s", conf->cram_hmac_alg);
	backend.converge_s = conf->sync_converge_timeout;
	pause = getenv("DRBDMIG_TEST_PAUSE");
	if (pause) {
		/* "verb:seconds": lets crash tests kill the daemon mid-phase. */
		const char *v = pause, *colon = strchr(v, ':');

		if (colon && (size_t)(colon - v) < sizeof(backend.pause_verb)) {
			memcpy(backend.pause_verb, v, (size_t)(colon - v));
			backend.pause_s = (unsigned)strtoul(colon + 1, NULL, 10);
			dmg_warn(log, "test hook DRBDMIG_TEST_PAUSE: pausing %u s before every %s step",
				 backend.pause_s, backend.pause_verb);
		}
	}
	if (!dry_run)
		check_usermode_helper(log);
	if (!dry_run && access(DMG_FENCE_PEER_PATH, X_OK) == 0)
		backend.fence_peer = DMG_FENCE_PEER_PATH;
	else if (!dry_run)
		dmg_warn(log, "no fence-peer handler at %s: a replication link lost inside the migration window is not fenced",
			 DMG_FENCE_PEER_PATH);
	self_host(conf, &backend, self, sizeof(self));
	rc_conf.self_host = self;
	rc = dmg_registry_new(&rc_conf, &backend, log, &reg, err);
	if (rc < 0) {
		dmg_backend_fini(&backend);
		return rc;
	}
	/* Without credentials the daemon still answers hooks (refusing
	 * annotated migrations with the reason) rather than not running. */
	ps_conf.arg = reg;
	if (dmg_peer_auth_from_conf(conf, &auth, &perr) < 0 || dmg_peer_ctx_new(&auth, &pc, &perr) < 0 ||
	    dmg_peersrv_start(pc, &ps_conf, &ps, &perr) < 0)
		dmg_err(log, "peer channel disabled: %s", perr.msg);
	dmg_registry_set_peer(reg, pc);
	if (dmg_virt_new(conf->libvirt_uri, dmg_registry_virt_event, reg, log, &virt, &perr) < 0)
		dmg_err(log, "no libvirt connection: %s", perr.msg);
	dmg_registry_set_virt(reg, virt);
	rc = dmg_registry_recover(reg, err);
	if (rc >= 0)
		rc = dmg_registry_start(reg, err);
	if (rc >= 0) {
		dmg_registry_stamp(reg, NULL);
		handler->reg = reg;
		dmg_info(log, "drbdmigd %s started (pid %ld, endpoint %s:%u%s)", PACKAGE_VERSION,
			 (long)getpid(), self, conf->peer_port, dry_run ? ", storage dry-run" : "");
		rc = dmg_server_run(server, err);
	}
	left = dmg_server_drain(server, 5000);
	dmg_peersrv_stop(ps);
	if (left) {
		/* Their sessions resume from the journals at the next start. */
		dmg_warn(log, "%d requests still running at shutdown; leaving them to the journal", left);
		return rc;
	}
	handler->reg = NULL;
	dmg_registry_free(reg);
	dmg_virt_free(virt);
	dmg_peer_ctx_free(pc);
	dmg_backend_fini(&backend);
	return rc;
}

/* The parent writes the child's pid file before it exits: when `drbdmigd -p
 * FILE` returns, the socket listens and FILE names the daemon, so an init
 * script or start-stop-daemon never races the child. */
static int
daemonize(const char *pidfile, struct dmg_error *err)
{
	pid_t pid = fork();
	int fd;

	if (pid < 0)
		return dmg_error_sys(err, -errno, "fork");
	if (pid > 0) {
		if (pidfile && write_pidfile(pidfile, pid, err) < 0) {
			fprintf(stderr, "drbdmigd: %s\n", err->msg);
			kill(pid, SIGTERM);
			_exit(1);
		}
		_exit(0);
	}
	if (setsid() < 0)
		return dmg_error_sys(err, -errno, "setsid");
	if (chdir("/") < 0)
		return dmg_error_sys(err, -errno, "chdir /");
	fd = open("/dev/null", O_RDWR | O_CLOEXEC);
	if (fd < 0)
		return dmg_error_sys(err, -errno, "/dev/null");
	dup2(fd, 0);
	dup2(fd, 1);
	dup2(fd, 2);
	if (fd > 2)
		close(fd);
	return 0;
}

int
main(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "foreground", no_argument, NULL, 'd' },
		{ "check-config", no_argument, NULL, 'n' },
		{ "config", required_argument, NULL, 'f' },
		{ "socket", required_argument, NULL, 's' },
		{ "log-file", required_argument, NULL, 'L' },
		{ "pid-file", required_argument, NULL, 'p' },
		{ "version", no_argument, NULL, 'V' },
		{ "dry-run-storage", no_argument, NULL, 'D' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	const char *conf_path = DMG_CONF_PATH, *sock = DMG_SOCKET_PATH;
	const char *logfile = NULL, *pidfile = NULL;
	int foreground = 0, check = 0, conf_given = 0, dry_run = 0, opt, rc;
	struct dmg_handler handler = { 0 };
	struct dmg_server *server = NULL;
	struct dmg_error err = { 0 };
	struct dmg_conf conf;
	struct dmg_log log;
	FILE *lf = NULL;

	while ((opt = getopt_long(argc, argv, "dnf:s:L:p:VhD", longopts, NULL)) != -1) {
		switch (opt) {
		case 'D': dry_run = 1; break;
		case 'd': foreground = 1; break;
		case 'n': check = 1; break;
		case 'f': conf_path = optarg; conf_given = 1; break;
		case 's': sock = optarg; break;
		case 'L': logfile = optarg; break;
		case 'p': pidfile = optarg; break;
		case 'V': printf("drbdmigd %s\n", PACKAGE_VERSION); return 0;
		case 'h': usage(stdout); return 0;
		default: usage(stderr); return 2;
		}
	}
	if (optind != argc) {
		fprintf(stderr, "drbdmigd: unexpected argument '%s'\n", argv[optind]);
		return 2;
	}

	dmg_conf_defaults(&conf);
	/* The default file is optional; one named on the command line is not. */
	if (dmg_conf_load(conf_path, !conf_given, &conf, &err) < 0) {
		fprintf(stderr, "drbdmigd: %s\n", err.msg);
		return 1;
	}
	if (check) {
		char buf[DMG_CONF_FORMAT_MAX];
		struct dmg_peer_auth auth;
		struct dmg_peer_ctx *pc = NULL;

		/* The peer credentials too: a PSK file of the old single-key
		 * scheme, an empty peers or a readable key must not wait for
		 * the daemon's start to be noticed.  No credentials at all is
		 * allowed: the daemon then runs without the peer channel. */
		rc = dmg_peer_auth_from_conf(&conf, &auth, &err);
		if (rc == -ENOENT) {
			printf("# peer channel: not configured (%s)\n", err.msg);
		} else if (rc < 0 || dmg_peer_ctx_new(&auth, &pc, &err) < 0) {
			fprintf(stderr, "drbdmigd: %s: peer channel: %s\n", conf_path, err.msg);
			return 1;
		} else {
			printf("# peer channel: %s%s%s, this host's name for its peers: %s\n",
			       auth.psk_file ? "PSK" : "", auth.psk_file && auth.ca_file ? " and " : "",
			       auth.ca_file ? "X.509" : "", auth.self_name[0] ? auth.self_name : "(X.509 only)");
		}
		dmg_peer_ctx_free(pc);
		dmg_conf_format(&conf, buf, sizeof(buf));
		printf("# %s: configuration OK\n%s", conf_path, buf);
		return 0;
	}

	if (make_parent(sock, &err) < 0) {
		fprintf(stderr, "drbdmigd: %s\n", err.msg);
		return 1;
	}
	if (logfile) {
		if (make_parent(logfile, &err) < 0 || !(lf = fopen(logfile, "ae"))) {
			fprintf(stderr, "drbdmigd: cannot open log file %s: %s\n", logfile,
				err.code ? err.msg : strerror(errno));
			return 1;
		}
	}
	dmg_log_open(&log, "drbdmigd", !foreground, foreground, conf.log_level);
	log.file = lf;
	handler.log = &log;

	rc = dmg_server_new(sock, &handler, &server, &err);
	if (rc == 0 && pidfile)
		rc = make_parent(pidfile, &err);
	if (rc == 0 && !foreground)
		rc = daemonize(pidfile, &err);
	else if (rc == 0 && pidfile)
		rc = write_pidfile(pidfile, getpid(), &err);
	if (rc == 0)
		rc = serve(&conf, dry_run, server, &handler, &log, &err);
	if (rc < 0) {
		dmg_err(&log, "%s", err.msg);
		if (foreground || !server)
			fprintf(stderr, "drbdmigd: %s\n", err.msg);
	}
	dmg_server_free(server);
	if (pidfile && rc == 0)
		unlink(pidfile);
	dmg_info(&log, "drbdmigd stopped");
	dmg_log_close(&log);
	if (lf)
		fclose(lf);
	return rc < 0 ? 1 : 0;
}
