/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Shared by the /proc harnesses: the input as a C string, a scratch --path.procfs to write
 * it into, two readings from one input, and the invariants every exported sample keeps.
 * An invariant that fails aborts, so libFuzzer keeps the input as a crash.
 */
#ifndef KPULSE_FUZZ_H
#define KPULSE_FUZZ_H

#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/stat.h>
#include "collector.h"
#include "log.h"
#include "metrics.h"
#include "../unit/mset_check.h"

#define FUZZ_CHECK(cond)                                                                           \
	do {                                                                                       \
		if (!(cond)) {                                                                     \
			fprintf(stderr, "%s:%d: invariant failed: %s\n", __FILE__, __LINE__,       \
				#cond);                                                            \
			abort();                                                                   \
		}                                                                                  \
	} while (0)

/* Two readings of a file in one input, separated by this line (in tests/fuzz/proc.dict). */
#define FUZZ_SPLIT "\n=====\n"

/* A NUL-terminated copy of the input (libFuzzer's bytes are not); free() it. */
static inline char *fuzz_str(const uint8_t *data, size_t size)
{
	char *s = malloc(size + 1);

	if (!s)
		abort();
	memcpy(s, data, size);
	s[size] = '\0';
	return s;
}

static char fuzz_dir[64];

static inline void fuzz_rm_dir(void)
{
	char cmd[128];

	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", fuzz_dir);
	if (system(cmd))
		return;
}

/* A private directory in /dev/shm (tmpfs: no disk I/O per run), removed at exit. */
static inline const char *fuzz_scratch(void)
{
	if (!fuzz_dir[0]) {
		snprintf(fuzz_dir, sizeof(fuzz_dir), "/dev/shm/kpulse-fuzz-%d", (int)getpid());
		mkdir(fuzz_dir, 0700);
		atexit(fuzz_rm_dir);
		/* Collectors log what they skip: right, but noise at a million runs. */
		kp_log_level = KP_LOG_ERROR;
	}
	return fuzz_dir;
}

/* Replace <scratch>/<rel> with @len bytes of @data (directories in @rel are created). */
static inline void fuzz_write(const char *rel, const void *data, size_t len)
{
	char path[256], *slash;
	int fd;

	snprintf(path, sizeof(path), "%s/%s", fuzz_scratch(), rel);
	for (slash = strchr(path + strlen(fuzz_dir) + 1, '/'); slash;
	     slash = strchr(slash + 1, '/')) {
		*slash = '\0';
		mkdir(path, 0700);
		*slash = '/';
	}
	fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
	if (fd < 0 || (len && write(fd, data, len) != (ssize_t)len))
		abort();
	close(fd);
}

/*
 * Split the input at the first FUZZ_SPLIT into two readings of one file; without one, both
 * readings are the whole input (so fixtures are good seeds as they are).
 */
static inline void fuzz_two(const uint8_t *data, size_t size, const uint8_t **a, size_t *alen,
			    const uint8_t **b, size_t *blen)
{
	const uint8_t *sep = memmem(data, size, FUZZ_SPLIT, strlen(FUZZ_SPLIT));

	*a = data;
	*b = data;
	*alen = *blen = size;
	if (sep) {
		*alen = sep - data + 1; /* keep the newline that ends the last line */
		*b = sep + strlen(FUZZ_SPLIT);
		*blen = size - (*b - data);
	}
}

/*
 * What every sample a /proc collector exports keeps, whatever the file said: a finite
 * number, never negative, a _ratio within 0..1.
 */
static inline void fuzz_check_set(const struct mset *s)
{
	size_t i;

	FUZZ_CHECK(!s->err);
	for (i = 0; i < s->nfams; i++) {
		const struct mfamily *f = &s->fams[i];
		const char *name = f->desc->name;
		size_t n = strlen(name);
		uint32_t j;

		for (j = f->head; j != MSAMPLE_END; j = s->samples[j].next) {
			double v = s->samples[j].value;

			FUZZ_CHECK(isfinite(v));
			FUZZ_CHECK(v >= 0);
			if (n > 6 && !strcmp(name + n - 6, "_ratio"))
				FUZZ_CHECK(v <= 1);
		}
	}
}

/*
 * Run collector @c on the readings @a then @b of <scratch>/<rel> (config: procfs and sysfs
 * both the scratch directory) and check both sets. With @monotonic, counters of the second
 * reading that were in the first must not be lower (the collector holds them); without,
 * the kernel's value is exported as it is. A broken invariant aborts.
 */
static inline void fuzz_collector(struct collector *c, const char *rel, const uint8_t *a,
				  size_t alen, const uint8_t *b, size_t blen, bool monotonic)
{
	struct kpulse_config cfg = {
		.procfs = fuzz_scratch(), .sysfs = fuzz_scratch(), .interval_ns = 1000000000ull};
	struct tick t = {.now_ns = 1000000000ull, .elapsed_ns = 0, .seq = 0};
	struct mset *s1 = mset__new(), *s2 = mset__new();
	size_t i;

	FUZZ_CHECK(s1 && s2);
	fuzz_write(rel, a, alen);
	if (c->init(c, &cfg)) {
		c->destroy(c);
		mset__free(s1);
		mset__free(s2);
		return;
	}
	c->sample(c, &t, s1);
	fuzz_check_set(s1);
	fuzz_write(rel, b, blen);
	t = (struct tick){.now_ns = 2000000000ull, .elapsed_ns = 1000000000ull, .seq = 1};
	c->sample(c, &t, s2);
	fuzz_check_set(s2);
	/* Every counter in both readings: never lower in the second. */
	for (i = 0; i < s2->nfams; i++) {
		const struct mfamily *f = &s2->fams[i];
		uint32_t j;

		if (!monotonic || f->desc->type != METRIC_COUNTER)
			continue;
		for (j = f->head; j != MSAMPLE_END; j = s2->samples[j].next) {
			double before =
				mset_get(s1, f->desc->name, s2->text.data + s2->samples[j].labels);

			FUZZ_CHECK(isnan(before) || s2->samples[j].value >= before);
		}
	}
	c->destroy(c);
	mset__free(s1);
	mset__free(s2);
}

#endif /* KPULSE_FUZZ_H */
