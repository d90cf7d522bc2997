// SPDX-License-Identifier: GPL-2.0
/* One tick: sample the collectors, add self metrics, render text once, publish. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include "expfmt.h"
#include "log.h"
#include "sampler.h"

static const struct metric_desc build_info = {
	"kpulse_build_info",
	METRIC_GAUGE,
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

const struct metric_desc *const sampler_metrics[] = {
	&build_info,
	&collector_up,
	&collector_duration,
	NULL,
};

uint64_t mono_now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + ts.tv_nsec;
}

int sampler__init(struct sampler *s, const struct kpulse_config *cfg, struct snapstore *store)
{
	s->cfg = cfg;
	s->store = store;
	s->prev_ns = 0;
	s->seq = 0;
	s->set = mset__new();
	return s->set ? 0 : -ENOMEM;
}

void sampler__destroy(struct sampler *s)
{
	mset__free(s->set);
	s->set = NULL;
}

static void sample_collector(struct collector *c, const struct tick *t, struct mset *set)
{
	uint64_t start = mono_now_ns();
	int err;

	if (c->started) {
		err = c->sample(c, t, set);
		/* Log a change of state once, not every second. */
		if (err && c->up)
			log_warn("collector %s failed to sample: %s", c->name, strerror(-err));
		else if (!err && !c->up && t->seq)
			log_info("collector %s is sampling again", c->name);
		c->up = !err;
	}
	c->duration_s = (double)(mono_now_ns() - start) / 1e9;
	mset__add(set, &collector_up, c->up ? 1 : 0, c->name);
	mset__add(set, &collector_duration, c->duration_s, c->name);
}

int sampler__tick(struct sampler *s)
{
	struct tick t = {.now_ns = mono_now_ns(), .seq = s->seq};
	struct collector *const *c;
	struct snapshot *snap;
	struct buf text = {};
	int err;

	t.elapsed_ns = s->seq ? t.now_ns - s->prev_ns : 0;
	mset__reset(s->set);
	for (c = kpulse_collectors; *c; c++)
		if ((*c)->enabled)
			sample_collector(*c, &t, s->set);
	mset__add(s->set, &build_info, 1, KPULSE_VERSION, KPULSE_REVISION);
	s->prev_ns = t.now_ns;
	s->seq++;

	snap = snapshot__new(t.now_ns);
	if (!snap)
		return -ENOMEM;
	err = expfmt__text(s->set, &text);
	snap->body[SNAP_TEXT].data = buf__steal(&text, &snap->body[SNAP_TEXT].len);
	if (err || !snap->body[SNAP_TEXT].data) {
		buf__free(&text);
		snapshot__put(snap);
		return err ? err : -ENOMEM;
	}
	snapstore__publish(s->store, snap, mono_now_ns());
	return 0;
}
