/* SPDX-License-Identifier: GPL-2.0 */
/*
 * What collector tests ask of a metric set: one sample's value, how many samples a family
 * has, whether everything is a finite non-negative number; and starting a collector on a
 * fixture tree. Include after harness.h.
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

#define MSET_ABSENT(s, name, labels) CHECK(isnan(mset_get(s, name, labels)))

#endif /* KPULSE_MSET_CHECK_H */
