/* Spawn-time benchmark: runs a baseline command and a candidate command
 * alternately (so machine noise hits both alike), each with the same file on
 * stdin, and prints median/p90/mean per command and the ratio of medians.
 *
 *   hookbench [-n runs] -i stdin-file -- BASELINE... -- CANDIDATE...
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

extern char **environ;

static double
now_us(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec * 1e6 + (double)ts.tv_nsec / 1e3;
}

static int
cmp(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return (x > y) - (x < y);
}

/* One spawn with stdin from path and stdout/stderr to /dev/null; -1 on error. */
static double
run_once(char **argv, const char *input)
{
	posix_spawn_file_actions_t fa;
	double t0, t1;
	int status;
	pid_t pid;

	posix_spawn_file_actions_init(&fa);
	posix_spawn_file_actions_addopen(&fa, 0, input, O_RDONLY, 0);
	posix_spawn_file_actions_addopen(&fa, 1, "/dev/null", O_WRONLY, 0);
	posix_spawn_file_actions_addopen(&fa, 2, "/dev/null", O_WRONLY, 0);
	t0 = now_us();
	if (posix_spawn(&pid, argv[0], &fa, NULL, argv, environ) != 0) {
		posix_spawn_file_actions_destroy(&fa);
		return -1;
	}
	if (waitpid(pid, &status, 0) != pid || !WIFEXITED(status) || WEXITSTATUS(status) != 0) {
		posix_spawn_file_actions_destroy(&fa);
		return -1;
	}
	t1 = now_us();
	posix_spawn_file_actions_destroy(&fa);
	return t1 - t0;
}

static void
report(const char *label, char **argv, double *t, int n)
{
	double sum = 0;
	int i;

	for (i = 0; i < n; i++)
		sum += t[i];
	qsort(t, (size_t)n, sizeof(*t), cmp);
	printf("%-10s median %8.1f us   p90 %8.1f us   mean %8.1f us   (%s)\n",
	       label, t[n / 2], t[n * 9 / 10], sum / n, argv[0]);
}

int
main(int argc, char **argv)
{
	const char *input = NULL;
	char **base = NULL, **cand = NULL;
	double *tb, *tc, rb, rc;
	int n = 500, i, opt;

	while ((opt = getopt(argc, argv, "+n:i:")) != -1) {
		switch (opt) {
		case 'n': n = atoi(optarg); break;
		case 'i': input = optarg; break;
		default: goto usage;
		}
	}
	/* getopt swallows the first "--" itself */
	if (optind < argc && strcmp(argv[optind], "--") == 0)
		optind++;
	if (optind < argc && strcmp(argv[optind - 1], "--") == 0) {
		base = &argv[optind];
		for (i = optind; i < argc; i++)
			if (strcmp(argv[i], "--") == 0) {
				argv[i] = NULL;
				cand = &argv[i + 1];
				break;
			}
	}
	if (!input || !base || !cand || !base[0] || !cand[0] || n < 10 || n > 100000)
		goto usage;
	tb = calloc((size_t)n, sizeof(*tb));
	tc = calloc((size_t)n, sizeof(*tc));
	if (!tb || !tc) {
		free(tb);
		free(tc);
		return 1;
	}
	for (i = 0; i < 20; i++) {   /* warm the page cache */
		run_once(base, input);
		run_once(cand, input);
	}
	for (i = 0; i < n; i++) {
		tb[i] = run_once(base, input);
		tc[i] = run_once(cand, input);
		if (tb[i] < 0 || tc[i] < 0) {
			fprintf(stderr, "hookbench: a run failed (spawn error or non-zero exit)\n");
			free(tb);
			free(tc);
			return 1;
		}
	}
	printf("%d alternating runs each, stdin: %s\n", n, input);
	report("baseline", base, tb, n);
	report("candidate", cand, tc, n);
	rb = tb[n / 2];
	rc = tc[n / 2];
	printf("ratio candidate/baseline (medians): %.2f\n", rc / rb);
	free(tb);
	free(tc);
	return 0;
usage:
	fprintf(stderr, "usage: hookbench [-n runs] -i stdin-file -- BASELINE... -- CANDIDATE...\n");
	return 2;
}
