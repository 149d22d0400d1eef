/* wlat: write-latency probe for the table-swap benchmark.  Writes 4 KiB
 * blocks with O_DIRECT (and O_DSYNC) to a block device in a loop for a given
 * time, the way a guest's disk writes arrive, and prints the count, median,
 * p99 and max latency.  With -t FILE it also writes "start_ms latency_us"
 * per write, for plots.
 *
 *   wlat [-t FILE] DEVICE SECONDS
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <time.h>
#include <unistd.h>

#include <linux/fs.h>

#define BLK 4096
#define MAX_SAMPLES (4u << 20)

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
	float x = *(const float *)a, y = *(const float *)b;

	return (x > y) - (x < y);
}

int
main(int argc, char **argv)
{
	const char *trace = NULL;
	unsigned long long size = 0;
	float *lat = NULL;
	double t0, end, *start = NULL;
	void *buf = NULL;
	size_t n = 0, i, blocks;
	int fd, opt, rc = 1;
	FILE *tf = NULL;

	while ((opt = getopt(argc, argv, "t:")) != -1) {
		if (opt != 't') {
			fprintf(stderr, "usage: wlat [-t FILE] DEVICE SECONDS\n");
			return 2;
		}
		trace = optarg;
	}
	if (argc - optind != 2) {
		fprintf(stderr, "usage: wlat [-t FILE] DEVICE SECONDS\n");
		return 2;
	}
	fd = open(argv[optind], O_WRONLY | O_DIRECT | O_DSYNC);
	if (fd < 0 || ioctl(fd, BLKGETSIZE64, &size) < 0 || size < BLK) {
		fprintf(stderr, "wlat: %s: %s\n", argv[optind], strerror(errno));
		return 1;
	}
	blocks = (size_t)(size / BLK);
	lat = malloc(MAX_SAMPLES * sizeof(*lat));
	start = malloc(MAX_SAMPLES * sizeof(*start));
	if (!lat || !start || posix_memalign(&buf, BLK, BLK) != 0)
		goto out;
	memset(buf, 0xa5, BLK);
	t0 = now_us();
	end = t0 + atof(argv[optind + 1]) * 1e6;
	while (n < MAX_SAMPLES) {
		double a = now_us(), b;

		if (a >= end)
			break;
		if (pwrite(fd, buf, BLK, (off_t)((n % blocks) * BLK)) != BLK) {
			fprintf(stderr, "wlat: write %zu failed: %s\n", n, strerror(errno));
			goto out;
		}
		b = now_us();
		start[n] = a - t0;
		lat[n++] = (float)(b - a);
	}
	if (trace && (tf = fopen(trace, "w"))) {
		for (i = 0; i < n; i++)
			fprintf(tf, "%.3f %.1f\n", start[i] / 1e3, lat[i]);
		fclose(tf);
	}
	if (n > 0) {
		qsort(lat, n, sizeof(*lat), cmp);
		printf("writes %zu  median_us %.0f  p99_us %.0f  max_us %.0f\n", n, lat[n / 2],
		       lat[n * 99 / 100], lat[n - 1]);
		rc = 0;
	}
out:
	close(fd);
	free(lat);
	free(start);
	free(buf);
	return rc;
}
