/* SPDX-License-Identifier: GPL-2.0 */
/*
 * What collector tests ask of a metric set: one sample's value, how many samples a family
 * has, whether everything is a finite non-negative number; and starting a collector on a
 * fixture tree. The unit tests include it after harness.h; the fuzz harnesses too (fuzz.h).
 */
#ifndef KPULSE_MSET_CHECK_H
#define KPULSE_MSET_CHECK_H

#include <math.h>
#include <string.h>
#include "collector.h"
#include "metrics.h"

/* The value of @name{@labels} in @s ('a="x",b="y"' as rendered); NAN if absent. */
static inline double mset_get(const struct mset *s, const char *name, const char *labels)
{
	size_t i;

	for (i = 0; i < s->nfams; i++) {
		uint32_t j;

		if (strcmp(s->fams[i].desc->name, name))
			continue;
		for (j = s->fams[i].head; j != MSAMPLE_END; j = s->samples[j].next)
			if (!strcmp(s->text.data + s->samples[j].labels, labels))
				return s->samples[j].value;
	}
	return NAN;
}

/* Samples of family @name in @s. */
static inline size_t mset_count(const struct mset *s, const char *name)
{
	size_t i;

	for (i = 0; i < s->nfams; i++)
		if (!strcmp(s->fams[i].desc->name, name))
			return s->fams[i].count;
	return 0;
}

/* Every value in @s is a finite number (no NaN, no infinity, nothing negative). */
static inline bool mset_all_finite(const struct mset *s)
{
	size_t i;

	for (i = 0; i < s->nsamples; i++)
		if (!isfinite(s->samples[i].value) || s->samples[i].value < 0)
			return false;
	return true;
}

static inline struct kpulse_config fixture_config(const char *procfs, const char *sysfs)
{
	return (struct kpulse_config){
		.procfs = procfs, .sysfs = sysfs, .interval_ns = 1000000000ull, .pin_path = ""};
}

#ifdef KPULSE_HARNESS_H /* the unit tests' checks; the fuzz harnesses use the queries only */
#define MSET_ABSENT(s, name, labels) CHECK(isnan(mset_get(s, name, labels)))

/* Start @c against @cfg and take one sample into a fresh set; the sample's return in *err. */
static inline struct mset *sample_once(struct collector *c, const struct kpulse_config *cfg,
				       int *err)
{
	struct tick t = {.now_ns = 1, .elapsed_ns = 0, .seq = 0};
	struct mset *s = mset__new();

	CHECK_INT(c->init(c, cfg), 0);
	*err = c->sample(c, &t, s);
	return s;
}
#endif

#endif /* KPULSE_MSET_CHECK_H */
