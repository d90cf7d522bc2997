/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The unit of extension: a collector owns its sources (BPF skeleton, /proc files), reads
 * them once per tick and adds samples of the families it declares. Adding a collector is
 * one src/<name>.c and one line in src/collectors.c.
 */
#ifndef KPULSE_COLLECTOR_H
#define KPULSE_COLLECTOR_H

#include <stdbool.h>
#include <stdint.h>
#include "flags.h"
#include "kpulse.h"
#include "metrics.h"

struct tick {
	uint64_t now_ns;     /* CLOCK_MONOTONIC when this tick started */
	uint64_t elapsed_ns; /* since the previous tick's now_ns; 0 on the first tick */
	uint64_t seq;	     /* 0 on the first tick */
};

struct collector {
	const char *name;
	const char *help;
	bool enabled;				  /* default; --[no-]collector.<name> changes it */
	bool needs_bpf;				  /* needs privileges and BTF to start */
	const struct flag *flags;		  /* collector flags, NULL-name terminated */
	const struct metric_desc *const *metrics; /* every family it can emit, NULL-terminated */
	/* Open, configure, load and attach; -errno (and a log line) on failure. */
	int (*init)(struct collector *c, const struct kpulse_config *cfg);
	/* Read the sources once and add samples; -errno if the reading failed. */
	int (*sample)(struct collector *c, const struct tick *t, struct mset *out);
	void (*destroy)(struct collector *c);
	void *priv;
	/* Kept by the sampler. */
	bool started; /* init succeeded */
	bool up;      /* the last sample succeeded */
	double duration_s;
};

/* Every collector kpulse has, NULL-terminated (src/collectors.c). */
extern struct collector *const kpulse_collectors[];

#endif /* KPULSE_COLLECTOR_H */
