// SPDX-License-Identifier: GPL-2.0
/* One tick: sample the collectors, add the sampler's own families, publish the set for
 * scrapes to render. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include "clock.h"
#include "log.h"
#include "rate.h"
#include "sampler.h"

static const struct metric_desc build_info = {
	"kpulse_build_info",
	METRIC_INFO,
	"version,revision",
	"A metric with a constant '1' value labeled by the kpulse version and git revision.",
};
static const struct metric_desc collector_up = {
	"kpulse_collector_up",
	METRIC_GAUGE,
	"collector",
	"1 if the collector started and its last sample succeeded, else 0.",
};
static const struct metric_desc collector_duration = {
	"kpulse_collector_duration_seconds",
	METRIC_GAUGE,
	"collector",
	"Time the collector took to sample in the last tick.",
};

/*
 * An immutable snapshot cannot say later that it has gone stale, but it can say when it
 * was taken: a sampler stuck in a read leaves /metrics serving this old value (while
 * /healthz answers 503), and time() - this shows by how much.
 */
static const struct metric_desc last_tick = {
	"kpulse_sampler_last_tick_timestamp_seconds",
	METRIC_GAUGE,
	"",
	"When the tick that produced these samples started, in seconds since the epoch; far "
	"behind time() means the sampler is stuck and these samples are old.",
};

static const struct metric_desc history_series = {
	"kpulse_history_series",
	METRIC_GAUGE,
	"",
	"Series the history ring keeps now (at most --history.max-series); absent when "
	"--history.duration and --history.peak-window are 0.",
};
static const struct metric_desc history_bytes = {
	"kpulse_history_memory_bytes",
	METRIC_GAUGE,
	"",
	"Bytes the history ring has allocated: 8 per series per slot (one slot per sampler "
	"interval of the longer of --history.duration and --history.peak-window), labels, index.",
};

const struct metric_desc *const sampler_metrics[] = {
	&build_info,	&collector_up, &collector_duration, &last_tick, &history_series,
	&history_bytes, NULL,
};

int sampler__init(struct sampler *s, const struct kpulse_config *cfg, struct snapstore *store,
		  struct history *history)
{
	s->cfg = cfg;
	s->store = store;
	s->history = history;
	s->history_full = false;
	s->prev_ns = 0;
	s->seq = 0;
	s->set = NULL;
	return 0;
}

void sampler__destroy(struct sampler *s)
{
	s->set = NULL; /* each tick's set went to the store */
}

/*
 * Each collector gets the instant it is sampled at and the interval since its previous
 * sample: what it reads is stamped when it is read, not when the tick began. The first
 * tick is slower than the others (caches, first scans), so a tick-wide clock would divide
 * the first interval's deltas by a time they do not cover.
 */
static void sample_collector(struct sampler *s, struct collector *c, uint64_t seq, struct mset *set)
{
	uint64_t start = mono_now_ns();
	struct tick t = {.now_ns = start, .seq = seq};
	const char *why;
	int err;

	if (c->started) {
		t.elapsed_ns = rate__elapsed(c->sampled_ns, start, s->cfg->interval_ns);
		c->sampled_ns = start;
		log__take_reason();
		log__set_collector(c->name);
		err = c->sample(c, &t, set);
		log__set_collector(NULL);
		why = log__take_reason();
		/* Log a change of state once, not every second, with its reason (log.h). */
		if (err && c->up)
			log_warn("collector %s failed to sample: %s", c->name,
				 *why ? why : strerror(-err));
		else if (!err && !c->up && seq)
			log_info("collector %s is sampling again", c->name);
		c->up = !err;
	}
	c->duration_s = (double)(mono_now_ns() - start) / 1e9;
	mset__add(set, &collector_up, c->up ? 1 : 0, c->name);
	mset__add(set, &collector_duration, c->duration_s, c->name);
}

/* Keep this tick in the history and add the peaks of the window to @s->set. */
static void record_history(struct sampler *s, const struct timespec *wall)
{
	size_t refused, bytes, n;

	refused = history__record(s->history, s->set,
				  wall->tv_sec * 1000ll + wall->tv_nsec / 1000000);
	if (refused && !s->history_full)
		log_warn("the history keeps %u series (--history.max-series) and refused %zu more: "
			 "raise --history.max-series to keep them",
			 s->cfg->history_max_series, refused);
	s->history_full = refused;
	history__add_peaks(s->history, s->set);
	n = history__series(s->history, &bytes);
	mset__add(s->set, &history_series, n);
	mset__add(s->set, &history_bytes, bytes);
}

int sampler__tick(struct sampler *s)
{
	uint64_t now = mono_now_ns();
	struct timespec wall;
	struct collector *const *c;
	int err;

	clock_gettime(CLOCK_REALTIME, &wall);
	s->set = snapstore__take_set(s->store);
	if (!s->set)
		return -ENOMEM;
	for (c = kpulse_collectors; *c; c++)
		if ((*c)->enabled)
			sample_collector(s, *c, s->seq, s->set);
	mset__add(s->set, &build_info, 1, KPULSE_VERSION, KPULSE_REVISION);
	mset__add(s->set, &last_tick, (double)wall.tv_sec + wall.tv_nsec / 1e9);
	if (s->history)
		record_history(s, &wall);
	s->prev_ns = now;
	s->seq++;

	/* Rendering waits for a scrape: a tick nobody scrapes renders nothing. */
	err = snapstore__publish(s->store, s->set, now, mono_now_ns());
	s->set = NULL;
	return err;
}
