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

/*
 * What the sampler tells a collector each time it samples it. Rates and ratios divide by
 * elapsed_ns, never by the nominal interval, and publish nothing while it is 0.
 */
struct tick {
	uint64_t now_ns; /* CLOCK_MONOTONIC (mono_now_ns()) when this collector's sample began */
	/*
	 * Since its previous sample's now_ns (whether that sample succeeded or not); 0 on its
	 * first sample and after less than half a --sampler.interval (see rate__elapsed).
	 */
	uint64_t elapsed_ns;
	uint64_t seq; /* the sampler's tick number, 0 on the first tick */
};

struct collector {
	const char *name;
	const char *help;
	bool enabled;				  /* default; --[no-]collector.<name> changes it */
	bool always_on;				  /* no --[no-]collector.<name>: kpulse's own */
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
	bool started;	     /* init succeeded */
	bool up;	     /* the last sample succeeded */
	uint64_t sampled_ns; /* now_ns of its last sample; 0 before the first */
	double duration_s;
};

/* Every collector kpulse has, NULL-terminated (src/collectors.c). */
extern struct collector *const kpulse_collectors[];

#endif /* KPULSE_COLLECTOR_H */
