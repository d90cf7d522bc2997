// SPDX-License-Identifier: GPL-2.0
/*
 * The history ring. Each kept series owns one array of slots (a double per tick, NaN where
 * the series had no sample); one shared array holds each slot's wall-clock time. A tick
 * costs a hash lookup per kept sample and one pass over the series: no allocation unless
 * a series is new.
 */
#include <errno.h>
#include <math.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "expfmt.h"
#include "history.h"
#include "json.h"

/* A <family>_max family, made from its source family's declaration. */
struct peak_desc {
	struct peak_desc *next;
	const struct metric_desc *src;
	struct metric_desc d;
};

struct hseries {
	struct hseries *hnext; /* hash chain */
	const struct metric_desc *desc;
	const struct metric_desc *peak; /* <name>_max; NULL when peaks are off */
	uint32_t hash;
	uint32_t idx;	   /* in history.all */
	uint64_t last_seq; /* 1 + the tick of the last sample */
	char *labels;	   /* as rendered for the exposition: a="x",b="y" */
	char *kv;	   /* unescaped: name\0value\0name\0value\0 */
	size_t kvlen;
	unsigned int nlabels;
	size_t bytes;
	double values[]; /* one per slot */
};

struct history {
	pthread_mutex_t lock;
	size_t nslots; /* per series: max(duration, peak window) / interval */
	size_t dslots; /* the part the API serves */
	size_t pslots; /* the part peaks look at; 0: no peaks */
	uint64_t peak_window_ns;
	uint64_t duration_ns;
	uint64_t seq;	/* ticks recorded */
	int64_t *ts_ms; /* per slot: when that tick was sampled */
	struct hseries **buckets;
	size_t nbuckets; /* a power of two */
	struct hseries **all;
	size_t nall, max_series;
	struct peak_desc *peaks;
	unsigned int readers; /* results not yet freed */
	size_t bytes;
};

static size_t ticks_in(uint64_t ns, uint64_t interval_ns)
{
	return ns ? (size_t)((ns + interval_ns / 2) / interval_ns) : 0;
}

struct history *history__new(const struct history_opts *o)
{
	struct history *h;
	size_t nb = 16;

	errno = 0;
	if (!o->duration_ns && !o->peak_window_ns)
		return NULL;
	errno = EINVAL;
	if (!o->interval_ns || !o->max_series)
		return NULL;
	h = calloc(1, sizeof(*h));
	if (!h)
		return NULL;
	pthread_mutex_init(&h->lock, NULL);
	h->dslots = ticks_in(o->duration_ns, o->interval_ns);
	if (o->duration_ns && !h->dslots)
		h->dslots = 1;
	h->pslots = ticks_in(o->peak_window_ns, o->interval_ns);
	if (o->peak_window_ns && !h->pslots)
		h->pslots = 1;
	h->peak_window_ns = o->peak_window_ns;
	h->duration_ns = o->duration_ns;
	h->nslots = h->dslots > h->pslots ? h->dslots : h->pslots;
	h->max_series = o->max_series;
	while (nb < 2 * h->max_series && nb < (1u << 20))
		nb *= 2;
	h->nbuckets = nb;
	h->ts_ms = calloc(h->nslots, sizeof(*h->ts_ms));
	h->buckets = calloc(nb, sizeof(*h->buckets));
	h->all = calloc(h->max_series, sizeof(*h->all));
	if (!h->ts_ms || !h->buckets || !h->all) {
		history__free(h);
		errno = ENOMEM;
		return NULL;
	}
	h->bytes = h->nslots * sizeof(*h->ts_ms) + nb * sizeof(*h->buckets) +
		   h->max_series * sizeof(*h->all);
	return h;
}

static void series_free(struct hseries *s)
{
	if (!s)
		return;
	free(s->labels);
	free(s->kv);
	free(s);
}

void history__free(struct history *h)
{
	struct peak_desc *p, *next;
	size_t i;

	if (!h)
		return;
	for (i = 0; i < h->nall; i++)
		series_free(h->all[i]);
	for (p = h->peaks; p; p = next) {
		next = p->next;
		free((char *)p->d.name);
		free((char *)p->d.help);
		free(p);
	}
	free(h->all);
	free(h->buckets);
	free(h->ts_ms);
	pthread_mutex_destroy(&h->lock);
	free(h);
}

size_t history__slots(const struct history *h)
{
	return h ? h->nslots : 0;
}

bool history__serves(const struct history *h)
{
	return h && h->dslots;
}

uint64_t history__duration_ns(const struct history *h)
{
	return h ? h->duration_ns : 0;
}

size_t history__series(struct history *h, size_t *bytes)
{
	size_t n;

	pthread_mutex_lock(&h->lock);
	n = h->nall;
	if (bytes)
		*bytes = h->bytes;
	pthread_mutex_unlock(&h->lock);
	return n;
}

/* "15s", "2m", "1h30m": the window as a person would write it. */
static void format_window(uint64_t ns, char *out, size_t len)
{
	uint64_t ms = ns / 1000000;

	if (ms % 1000)
		snprintf(out, len, "%llums", (unsigned long long)ms);
	else if (ms % 60000)
		snprintf(out, len, "%llus", (unsigned long long)(ms / 1000));
	else if (ms % 3600000)
		snprintf(out, len, "%llum", (unsigned long long)(ms / 60000));
	else
		snprintf(out, len, "%lluh", (unsigned long long)(ms / 3600000));
}

void history__peak_help(const struct metric_desc *d, uint64_t window_ns, char *out, size_t len)
{
	char w[32];

	format_window(window_ns, w, sizeof(w));
	snprintf(out, len,
		 "Highest value of %s at any tick of the last %s (--history.peak-window).", d->name,
		 w);
}

static const struct metric_desc *peak_of(struct history *h, const struct metric_desc *src)
{
	struct peak_desc *p;
	char help[512];
	size_t n;

	for (p = h->peaks; p; p = p->next)
		if (p->src == src)
			return &p->d;
	p = calloc(1, sizeof(*p));
	if (!p)
		return NULL;
	n = strlen(src->name) + 5;
	p->d.name = malloc(n);
	history__peak_help(src, h->peak_window_ns, help, sizeof(help));
	p->d.help = strdup(help);
	if (!p->d.name || !p->d.help) {
		free((char *)p->d.name);
		free((char *)p->d.help);
		free(p);
		return NULL;
	}
	snprintf((char *)p->d.name, n, "%s_max", src->name);
	p->src = src;
	p->d.type = METRIC_GAUGE;
	p->d.labels = src->labels;
	p->next = h->peaks;
	h->peaks = p;
	return &p->d;
}

/* FNV-1a over the label text, seeded with the family. */
static uint32_t series_hash(const struct metric_desc *d, const char *labels)
{
	uint32_t x = 2166136261u ^ (uint32_t)((uintptr_t)d >> 4);

	for (; *labels; labels++)
		x = (x ^ (unsigned char)*labels) * 16777619u;
	return x;
}

/* 'a="x\"y",b="z"' -> "a\0x\"y\0b\0z\0": undo metrics__escape_label. */
static char *unescape_labels(const char *in, unsigned int *nlabels, size_t *len)
{
	char *out = malloc(strlen(in) + 1), *o = out;
	const char *p = in;

	if (!out)
		return NULL;
	*nlabels = 0;
	while (*p) {
		while (*p && *p != '=')
			*o++ = *p++;
		*o++ = '\0';
		if (p[0] != '=' || p[1] != '"')
			break;
		for (p += 2; *p && *p != '"'; p++) {
			if (*p == '\\' && p[1]) {
				p++;
				*o++ = *p == 'n' ? '\n' : *p;
			} else {
				*o++ = *p;
			}
		}
		*o++ = '\0';
		(*nlabels)++;
		if (*p == '"')
			p++;
		if (*p == ',')
			p++;
	}
	*len = o - out;
	return out;
}

static struct hseries *series_new(struct history *h, const struct metric_desc *d,
				  const char *labels, uint32_t hash)
{
	struct hseries *s;
	size_t i, kvlen = 0;

	if (h->nall == h->max_series)
		return NULL;
	s = calloc(1, sizeof(*s) + h->nslots * sizeof(double));
	if (!s)
		return NULL;
	s->desc = d;
	s->hash = hash;
	s->labels = strdup(labels);
	s->kv = unescape_labels(labels, &s->nlabels, &kvlen);
	s->kvlen = kvlen;
	s->peak = h->pslots ? peak_of(h, d) : NULL;
	if (!s->labels || !s->kv || (h->pslots && !s->peak)) {
		series_free(s);
		return NULL;
	}
	for (i = 0; i < h->nslots; i++)
		s->values[i] = NAN;
	s->bytes = sizeof(*s) + h->nslots * sizeof(double) + strlen(labels) + 1 + kvlen;
	h->bytes += s->bytes;
	s->hnext = h->buckets[hash & (h->nbuckets - 1)];
	h->buckets[hash & (h->nbuckets - 1)] = s;
	s->idx = h->nall;
	h->all[h->nall++] = s;
	return s;
}

static void series_remove(struct history *h, struct hseries *s)
{
	struct hseries **pp = &h->buckets[s->hash & (h->nbuckets - 1)];

	while (*pp != s)
		pp = &(*pp)->hnext;
	*pp = s->hnext;
	h->all[s->idx] = h->all[--h->nall];
	h->all[s->idx]->idx = s->idx;
	h->bytes -= s->bytes;
	series_free(s);
}

static struct hseries *series_find(struct history *h, const struct metric_desc *d,
				   const char *labels, uint32_t hash)
{
	struct hseries *s;

	for (s = h->buckets[hash & (h->nbuckets - 1)]; s; s = s->hnext)
		if (s->hash == hash && s->desc == d && !strcmp(s->labels, labels))
			return s;
	return NULL;
}

size_t history__record(struct history *h, const struct mset *set, int64_t wall_ms)
{
	size_t slot = h->seq % h->nslots, refused = 0, i;
	uint64_t now = h->seq + 1;

	pthread_mutex_lock(&h->lock);
	h->ts_ms[slot] = wall_ms;
	for (i = 0; i < set->nfams; i++) {
		const struct mfamily *f = &set->fams[i];
		uint32_t j;

		if (!(f->desc->flags & METRIC_HISTORY) || f->desc->type == METRIC_HISTOGRAM)
			continue;
		for (j = f->head; j != MSAMPLE_END; j = set->samples[j].next) {
			const struct msample *m = &set->samples[j];
			const char *labels = set->text.data + m->labels;
			uint32_t hash = series_hash(f->desc, labels);
			struct hseries *s = series_find(h, f->desc, labels, hash);

			if (!s)
				s = series_new(h, f->desc, labels, hash);
			if (!s) {
				refused++;
				continue;
			}
			s->values[slot] = m->value;
			s->last_seq = now;
		}
	}
	/* Series without a sample this tick: a gap here, and gone once the ring forgot them. */
	for (i = 0; i < h->nall;) {
		struct hseries *s = h->all[i];

		if (s->last_seq == now) {
			i++;
			continue;
		}
		s->values[slot] = NAN;
		if (now - s->last_seq >= h->nslots)
			series_remove(h, s); /* moves the last series to @i */
		else
			i++;
	}
	h->seq = now;
	pthread_mutex_unlock(&h->lock);
	return refused;
}

/* The highest of @v[@from, @to) and @max that is not NaN; NaN if there is none. */
static double max_of(const double *v, size_t from, size_t to, double max)
{
	for (; from < to; from++)
		if (!isnan(v[from]) && (isnan(max) || v[from] > max))
			max = v[from];
	return max;
}

int history__add_peaks(struct history *h, struct mset *set)
{
	size_t i, n = h->pslots < h->seq ? h->pslots : h->seq, end, wrapped;

	if (!n)
		return set->err;
	/*
	 * The window is the @n slots up to the last one written, (seq - 1) % nslots: those
	 * before it in the ring, then the ring's end if the window wraps. Two runs, no
	 * division per value.
	 */
	end = (h->seq - 1) % h->nslots + 1;
	wrapped = n > end ? n - end : 0;
	/* Only the sampler's thread changes the ring, and this runs on it: no lock. */
	for (i = 0; i < h->nall; i++) {
		const struct hseries *s = h->all[i];
		double max;

		if (!s->peak)
			continue;
		max = max_of(s->values, end - (n - wrapped), end, NAN);
		max = max_of(s->values, h->nslots - wrapped, h->nslots, max);
		if (!isnan(max))
			mset__add_rendered(set, s->peak, max, s->labels);
	}
	return set->err;
}

/* A copied series: the family name, labels, and one value per point of the result. */
struct rseries {
	const char *name;
	char *labels; /* for sorting */
	char *kv;
	unsigned int nlabels;
	double *v;
};

struct history_result {
	struct history *h;
	size_t npoints;
	int64_t *ts_ms;
	struct rseries *s;
	size_t nseries;
	size_t values; /* points over all series, NaN gaps left out */
	/* Rendering state. */
	enum { R_HEAD, R_SERIES, R_POINTS, R_DONE } stage;
	size_t si, pi;
	bool first_point;
	struct buf pending;
	size_t off;
};

static bool series_matches(const struct hseries *s, const struct history_query *q)
{
	const char *names[METRIC_LABELS_MAX], *values[METRIC_LABELS_MAX];
	const char *p = s->kv;
	unsigned int i, n = 0;

	if (!q->nsel)
		return true;
	for (i = 0; i < s->nlabels && n < METRIC_LABELS_MAX; i++, n++) {
		names[n] = p;
		p += strlen(p) + 1;
		values[n] = p;
		p += strlen(p) + 1;
	}
	for (i = 0; i < q->nsel; i++)
		if (selector__match(&q->sel[i], s->desc->name, names, values, n))
			return true;
	return false;
}

static int cmp_rseries(const void *a, const void *b)
{
	const struct rseries *x = a, *y = b;
	int c = strcmp(x->name, y->name);

	return c ? c : strcmp(x->labels, y->labels);
}

static void rseries_free(struct rseries *r)
{
	free(r->labels);
	free(r->kv);
	free(r->v);
}

/* Under the lock: copy what @q asks for out of the ring into @r. */
static int copy_out(struct history *h, const struct history_query *q, struct history_result *r)
{
	size_t have = h->seq < h->dslots ? h->seq : h->dslots, *slot, i, k;
	uint64_t t;
	int err = 0;

	slot = calloc(have ? have : 1, sizeof(*slot));
	r->ts_ms = calloc(have ? have : 1, sizeof(*r->ts_ms));
	r->s = calloc(h->nall ? h->nall : 1, sizeof(*r->s));
	if (!slot || !r->ts_ms || !r->s) {
		free(slot);
		return -ENOMEM;
	}
	/* Oldest first. */
	for (t = h->seq - have; t < h->seq; t++) {
		size_t sl = t % h->nslots;

		if (h->ts_ms[sl] >= q->start_ms && h->ts_ms[sl] <= q->end_ms) {
			slot[r->npoints] = sl;
			r->ts_ms[r->npoints++] = h->ts_ms[sl];
		}
	}
	for (i = 0; r->npoints && i < h->nall; i++) {
		const struct hseries *s = h->all[i];
		struct rseries *o = &r->s[r->nseries];
		size_t n = 0;

		if (!series_matches(s, q))
			continue;
		o->v = malloc(r->npoints * sizeof(*o->v));
		if (!o->v) {
			err = -ENOMEM;
			break;
		}
		for (k = 0; k < r->npoints; k++) {
			o->v[k] = s->values[slot[k]];
			n += !isnan(o->v[k]);
		}
		if (!n) { /* no point in the range: Prometheus leaves such a series out */
			free(o->v);
			o->v = NULL;
			continue;
		}
		o->name = s->desc->name;
		o->nlabels = s->nlabels;
		o->labels = strdup(s->labels);
		o->kv = malloc(s->kvlen ? s->kvlen : 1);
		r->nseries++;
		if (!o->labels || !o->kv) {
			err = -ENOMEM;
			break;
		}
		memcpy(o->kv, s->kv, s->kvlen);
		r->values += n;
	}
	free(slot);
	return err;
}

struct history_result *history__query(struct history *h, const struct history_query *q)
{
	struct history_result *r = calloc(1, sizeof(*r));
	int err;

	if (!r)
		return NULL;
	pthread_mutex_lock(&h->lock);
	if (h->readers >= HISTORY_MAX_READERS) {
		pthread_mutex_unlock(&h->lock);
		free(r);
		errno = EBUSY;
		return NULL;
	}
	h->readers++;
	r->h = h;
	err = copy_out(h, q, r);
	pthread_mutex_unlock(&h->lock);
	if (err) {
		history_result__free(r);
		errno = -err;
		return NULL;
	}
	qsort(r->s, r->nseries, sizeof(*r->s), cmp_rseries);
	return r;
}

size_t history_result__points(const struct history_result *r, size_t *series)
{
	if (series)
		*series = r->nseries;
	return r->values;
}

void history_result__free(struct history_result *r)
{
	size_t i;

	if (!r)
		return;
	if (r->h) {
		pthread_mutex_lock(&r->h->lock);
		r->h->readers--;
		pthread_mutex_unlock(&r->h->lock);
	}
	for (i = 0; i < r->nseries; i++)
		rseries_free(&r->s[i]);
	free(r->s);
	free(r->ts_ms);
	buf__free(&r->pending);
	free(r);
}

/* Seconds since the epoch with milliseconds, as Prometheus writes them (1435781451.781). */
static void put_timestamp(struct buf *b, int64_t ms)
{
	if (ms < 0) {
		buf__putc(b, '-');
		ms = -ms;
	}
	if (ms % 1000)
		buf__printf(b, "%lld.%03d", (long long)(ms / 1000), (int)(ms % 1000));
	else
		buf__printf(b, "%lld", (long long)(ms / 1000));
}

/* Points rendered per step: a step stays a few KiB, however large the answer. */
#define POINTS_PER_STEP 64

static void render_step(struct history_result *r)
{
	struct buf *b = &r->pending;
	const struct rseries *s;
	const char *p;
	char num[32];
	size_t k, end;
	unsigned int i;

	switch (r->stage) {
	case R_HEAD:
		buf__puts(b, "{\"status\":\"success\",\"data\":{\"resultType\":\"matrix\","
			     "\"result\":[");
		r->stage = R_SERIES;
		break;
	case R_SERIES:
		if (r->si == r->nseries) {
			buf__puts(b, "]}}\n");
			r->stage = R_DONE;
			break;
		}
		s = &r->s[r->si];
		buf__puts(b, r->si ? ",{\"metric\":{\"__name__\":" : "{\"metric\":{\"__name__\":");
		json__string(b, s->name, strlen(s->name));
		for (i = 0, p = s->kv; i < s->nlabels; i++) {
			buf__putc(b, ',');
			json__string(b, p, strlen(p));
			p += strlen(p) + 1;
			buf__putc(b, ':');
			json__string(b, p, strlen(p));
			p += strlen(p) + 1;
		}
		buf__puts(b, "},\"values\":[");
		r->pi = 0;
		r->first_point = true;
		r->stage = R_POINTS;
		break;
	case R_POINTS:
		s = &r->s[r->si];
		end = r->pi + POINTS_PER_STEP < r->npoints ? r->pi + POINTS_PER_STEP : r->npoints;
		for (k = r->pi; k < end; k++) {
			if (isnan(s->v[k]))
				continue;
			buf__puts(b, r->first_point ? "[" : ",[");
			r->first_point = false;
			put_timestamp(b, r->ts_ms[k]);
			expfmt__double(s->v[k], num);
			buf__printf(b, ",\"%s\"]", num);
		}
		r->pi = end;
		if (r->pi == r->npoints) {
			buf__puts(b, "]}");
			r->si++;
			r->stage = R_SERIES;
		}
		break;
	case R_DONE:
		break;
	}
}

ssize_t history_result__read(struct history_result *r, char *out, size_t max)
{
	size_t n;

	/* What the last call left over goes to the front: the buffer stays one step large. */
	if (r->off) {
		memmove(r->pending.data, r->pending.data + r->off, r->pending.len - r->off);
		r->pending.len -= r->off;
		r->off = 0;
	}
	while (r->pending.len - r->off < max && r->stage != R_DONE && !r->pending.err)
		render_step(r);
	if (r->pending.err)
		return r->pending.err;
	n = r->pending.len - r->off;
	if (n > max)
		n = max;
	memcpy(out, r->pending.data + r->off, n);
	r->off += n;
	if (r->off == r->pending.len) {
		buf__reset(&r->pending);
		r->off = 0;
	}
	return n;
}
