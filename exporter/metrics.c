// SPDX-License-Identifier: GPL-2.0
/* The per-tick metric set: families in first-seen order, samples chained per family. */
#include <errno.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include "metrics.h"

struct mset *mset__new(void)
{
	return calloc(1, sizeof(struct mset));
}

void mset__free(struct mset *s)
{
	if (!s)
		return;
	free(s->fams);
	free(s->samples);
	free(s->hist);
	free(s->index);
	buf__free(&s->text);
	free(s);
}

void mset__reset(struct mset *s)
{
	s->nfams = s->nsamples = s->nhist = 0;
	s->last = 0;
	s->err = 0;
	buf__reset(&s->text);
	if (s->index)
		memset(s->index, 0, s->indexcap * sizeof(*s->index));
}

size_t metric_desc__nlabels(const struct metric_desc *d)
{
	size_t n = 0;
	const char *p;

	if (!d->labels || !*d->labels)
		return 0;
	for (n = 1, p = d->labels; *p; p++)
		n += *p == ',';
	return n;
}

static struct mfamily *family_of(struct mset *s, const struct metric_desc *d)
{
	struct mfamily *f;
	size_t i;

	if (s->last < s->nfams && s->fams[s->last].desc == d)
		return &s->fams[s->last];
	for (i = 0; i < s->nfams; i++) {
		if (s->fams[i].desc == d) {
			s->last = i;
			return &s->fams[i];
		}
	}
	if (array__grow((void **)&s->fams, &s->capfams, s->nfams + 1, sizeof(*s->fams)))
		return NULL;
	f = &s->fams[s->nfams];
	f->desc = d;
	f->head = f->tail = MSAMPLE_END;
	f->count = 0;
	s->last = s->nfams++;
	return f;
}

size_t metrics__utf8_len(const unsigned char *p, size_t n)
{
	size_t len, i;
	unsigned int cp;

	if (p[0] < 0x80)
		return 1;
	if ((p[0] & 0xe0) == 0xc0)
		len = 2, cp = p[0] & 0x1f;
	else if ((p[0] & 0xf0) == 0xe0)
		len = 3, cp = p[0] & 0x0f;
	else if ((p[0] & 0xf8) == 0xf0)
		len = 4, cp = p[0] & 0x07;
	else
		return 0;
	if (len > n)
		return 0;
	for (i = 1; i < len; i++) {
		if ((p[i] & 0xc0) != 0x80)
			return 0;
		cp = cp << 6 | (p[i] & 0x3f);
	}
	/* Overlong forms, surrogates and values past U+10FFFF are invalid. */
	if ((len == 2 && cp < 0x80) || (len == 3 && cp < 0x800) || (len == 4 && cp < 0x10000) ||
	    (cp >= 0xd800 && cp <= 0xdfff) || cp > 0x10ffff)
		return 0;
	return len;
}

void metrics__escape_label(struct buf *out, const char *v)
{
	const unsigned char *p = (const unsigned char *)v;
	size_t n = strnlen(v, METRIC_VALUE_MAX), i = 0, len;

	/* A cut value ends before the character the cut would split. */
	while (n > 0 && (p[n] & 0xc0) == 0x80)
		n--;
	while (i < n) {
		size_t plain = i;

		/* Printable ASCII other than the two escaped: as it is, in one append. */
		while (plain < n && p[plain] >= 0x20 && p[plain] < 0x7f && p[plain] != '\\' &&
		       p[plain] != '"')
			plain++;
		if (plain > i) {
			buf__append(out, p + i, plain - i);
			i = plain;
			continue;
		}
		switch (p[i]) {
		case '\\':
			buf__append(out, "\\\\", 2);
			i++;
			continue;
		case '"':
			buf__append(out, "\\\"", 2);
			i++;
			continue;
		case '\n':
			buf__append(out, "\\n", 2);
			i++;
			continue;
		}
		/*
		 * Other control characters (CR, TAB, ...) have no escape in either format and
		 * some parsers split lines or fields on them: U+FFFD, as for a byte that is not
		 * UTF-8. Everything else is kept as it is.
		 */
		len = p[i] < 0x20 || p[i] == 0x7f ? 0 : metrics__utf8_len(p + i, n - i);
		if (len) {
			buf__append(out, p + i, len);
			i += len;
		} else {
			buf__append(out, "\xef\xbf\xbd", 3);
			i++;
		}
	}
}

static uint32_t slot_hash(size_t fam, const char *labels)
{
	uint32_t x = 2166136261u ^ (uint32_t)fam * 0x9e3779b1u; /* FNV-1a */

	for (; *labels; labels++)
		x = (x ^ (unsigned char)*labels) * 16777619u;
	return x;
}

/* The index slot of (@fam, @labels): the sample there has them, or the slot is empty. */
static uint32_t *slot_of(struct mset *s, size_t fam, const char *labels)
{
	size_t mask = s->indexcap - 1, i = slot_hash(fam, labels) & mask;
	const struct msample *m;

	while (s->index[i]) {
		m = &s->samples[s->index[i] - 1];
		if (m->fam == fam && !strcmp(s->text.data + m->labels, labels))
			break;
		i = (i + 1) & mask;
	}
	return &s->index[i];
}

/* Keep the index at most half full, for one more sample. */
static int index_grow(struct mset *s)
{
	size_t cap = s->indexcap ? s->indexcap : 128, i;
	uint32_t *old = s->index;

	if ((s->nsamples + 1) * 2 <= s->indexcap)
		return 0;
	while ((s->nsamples + 1) * 2 > cap)
		cap *= 2;
	s->index = calloc(cap, sizeof(*s->index));
	if (!s->index) {
		s->index = old;
		return -ENOMEM;
	}
	s->indexcap = cap;
	free(old);
	for (i = 0; i < s->nsamples; i++)
		*slot_of(s, s->samples[i].fam, s->text.data + s->samples[i].labels) = i + 1;
	return 0;
}

/*
 * Link a new sample, whose label set was just appended to s->text at @start; or, when
 * its family has that label set already, drop the text and return that sample with
 * *@dup set: the caller merges the value into it.
 */
static struct msample *link_sample(struct mset *s, const struct metric_desc *d, size_t start,
				   bool *dup)
{
	struct mfamily *f;
	struct msample *m;
	uint32_t *slot;

	*dup = false;
	buf__putc(&s->text, '\0');
	if (s->text.err || s->text.len > UINT32_MAX) {
		s->err = -ENOMEM;
		return NULL;
	}
	f = family_of(s, d);
	if (!f || index_grow(s) ||
	    array__grow((void **)&s->samples, &s->capsamples, s->nsamples + 1, sizeof(*m))) {
		s->err = -ENOMEM;
		return NULL;
	}
	slot = slot_of(s, f - s->fams, s->text.data + start);
	if (*slot) {
		s->text.len = start;
		*dup = true;
		return &s->samples[*slot - 1];
	}
	*slot = s->nsamples + 1;
	m = &s->samples[s->nsamples];
	m->labels = start;
	m->fam = f - s->fams;
	m->next = MSAMPLE_END;
	m->hist = 0;
	m->value = 0;
	if (f->tail == MSAMPLE_END)
		f->head = s->nsamples;
	else
		s->samples[f->tail].next = s->nsamples;
	f->tail = s->nsamples++;
	f->count++;
	return m;
}

/* A counter or gauge sample of @d with value @v: set it, or merge it into a collision. */
static void put_value(const struct metric_desc *d, struct msample *m, bool dup, double v)
{
	if (!dup)
		m->value = v;
	else if (d->type == METRIC_INFO)
		; /* the first one stays: they all say 1 */
	else if (d->flags & METRIC_MERGE_MAX)
		m->value = v > m->value ? v : m->value;
	else
		m->value += v;
}

/* Render the label set and link a new sample into its family (see link_sample). */
static struct msample *add_sample(struct mset *s, const struct metric_desc *d,
				  const char *const *values, bool *dup)
{
	const char *name = d->labels;
	size_t i, n, start;

	if (s->err)
		return NULL;
	start = s->text.len;
	n = metric_desc__nlabels(d);
	for (i = 0; i < n; i++) {
		size_t nlen = strcspn(name, ",");

		if (i)
			buf__putc(&s->text, ',');
		buf__append(&s->text, name, nlen);
		buf__append(&s->text, "=\"", 2);
		metrics__escape_label(&s->text, values[i] ? values[i] : "");
		buf__putc(&s->text, '"');
		name += nlen + (name[nlen] == ',');
	}
	return link_sample(s, d, start, dup);
}

int mset__add_rendered(struct mset *s, const struct metric_desc *d, double value,
		       const char *labels)
{
	struct msample *m;
	size_t start = s->text.len;
	bool dup;

	if (s->err)
		return s->err;
	buf__puts(&s->text, labels);
	m = link_sample(s, d, start, &dup);
	if (!m)
		return s->err;
	put_value(d, m, dup, value);
	return 0;
}

int mset__addv(struct mset *s, const struct metric_desc *d, double value, const char *const *values)
{
	bool dup;
	struct msample *m = add_sample(s, d, values, &dup);

	if (!m)
		return s->err;
	put_value(d, m, dup, value);
	return 0;
}

static void collect_labels(const struct metric_desc *d, va_list ap, const char **values)
{
	size_t i, n = metric_desc__nlabels(d);

	for (i = 0; i < n && i < METRIC_LABELS_MAX; i++)
		values[i] = va_arg(ap, const char *);
}

int mset__add(struct mset *s, const struct metric_desc *d, double value, ...)
{
	const char *values[METRIC_LABELS_MAX] = {};
	va_list ap;

	if (metric_desc__nlabels(d) > METRIC_LABELS_MAX)
		return -EINVAL;
	va_start(ap, value);
	collect_labels(d, ap, values);
	va_end(ap);
	return mset__addv(s, d, value, values);
}

int mset__histogram(struct mset *s, const struct metric_desc *d, const double *bounds,
		    const uint64_t *counts, size_t n, double sum, ...)
{
	const char *values[METRIC_LABELS_MAX] = {};
	struct msample *m;
	double *h, cum = 0;
	va_list ap;
	size_t i;
	bool dup;

	if (metric_desc__nlabels(d) > METRIC_LABELS_MAX ||
	    (d->type != METRIC_HISTOGRAM && d->type != METRIC_GAUGE_HISTOGRAM))
		return -EINVAL;
	va_start(ap, sum);
	collect_labels(d, ap, values);
	va_end(ap);
	if (array__grow((void **)&s->hist, &s->caphist, s->nhist + 2 * n + 2, sizeof(double)))
		return s->err = -ENOMEM;
	m = add_sample(s, d, values, &dup);
	if (!m)
		return s->err;
	if (dup) {
		/* Collided: add the buckets up when they are the same, else keep the first. */
		h = &s->hist[m->hist];
		if ((size_t)h[0] != n)
			return 0;
		for (i = 0; i < n; i++)
			if (h[1 + i] != bounds[i])
				return 0;
		for (i = 0; i <= n; i++) {
			cum += counts[i];
			h[1 + n + i] += cum;
		}
		m->value += sum;
		return 0;
	}
	m->value = sum;
	m->hist = s->nhist;
	h = &s->hist[s->nhist];
	h[0] = n;
	for (i = 0; i < n; i++)
		h[1 + i] = bounds[i];
	for (i = 0; i <= n; i++) {
		cum += counts[i];
		h[1 + n + i] = cum;
	}
	s->nhist += 2 * n + 2;
	return 0;
}
