// SPDX-License-Identifier: GPL-2.0
/* The per-tick metric set: families in first-seen order, samples chained per family. */
#include <errno.h>
#include <stdarg.h>
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
	buf__free(&s->text);
	free(s);
}

void mset__reset(struct mset *s)
{
	s->nfams = s->nsamples = s->nhist = 0;
	s->last = 0;
	s->err = 0;
	buf__reset(&s->text);
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

static int grow(void **p, size_t *cap, size_t need, size_t size)
{
	size_t c = *cap ? *cap : 64;
	void *q;

	if (need <= *cap)
		return 0;
	while (c < need)
		c *= 2;
	q = realloc(*p, c * size);
	if (!q)
		return -ENOMEM;
	*p = q;
	*cap = c;
	return 0;
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
	if (grow((void **)&s->fams, &s->capfams, s->nfams + 1, sizeof(*s->fams)))
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
		len = metrics__utf8_len(p + i, n - i);
		if (len) {
			buf__append(out, p + i, len);
			i += len;
		} else {
			buf__append(out, "\xef\xbf\xbd",
				    3); /* U+FFFD for a byte that is not UTF-8 */
			i++;
		}
	}
}

/* Link a new sample, whose label set was just appended to s->text at @start. */
static struct msample *link_sample(struct mset *s, const struct metric_desc *d, size_t start)
{
	struct mfamily *f;
	struct msample *m;

	buf__putc(&s->text, '\0');
	if (s->text.err || s->text.len > UINT32_MAX) {
		s->err = -ENOMEM;
		return NULL;
	}
	f = family_of(s, d);
	if (!f || grow((void **)&s->samples, &s->capsamples, s->nsamples + 1, sizeof(*m))) {
		s->err = -ENOMEM;
		return NULL;
	}
	m = &s->samples[s->nsamples];
	m->labels = start;
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

/* Render the label set and link a new sample into its family. */
static struct msample *add_sample(struct mset *s, const struct metric_desc *d,
				  const char *const *values)
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
	return link_sample(s, d, start);
}

int mset__add_rendered(struct mset *s, const struct metric_desc *d, double value,
		       const char *labels)
{
	struct msample *m;
	size_t start = s->text.len;

	if (s->err)
		return s->err;
	buf__puts(&s->text, labels);
	m = link_sample(s, d, start);
	if (!m)
		return s->err;
	m->value = value;
	return 0;
}

int mset__addv(struct mset *s, const struct metric_desc *d, double value, const char *const *values)
{
	struct msample *m = add_sample(s, d, values);

	if (!m)
		return s->err;
	m->value = value;
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

	if (metric_desc__nlabels(d) > METRIC_LABELS_MAX ||
	    (d->type != METRIC_HISTOGRAM && d->type != METRIC_GAUGE_HISTOGRAM))
		return -EINVAL;
	va_start(ap, sum);
	collect_labels(d, ap, values);
	va_end(ap);
	if (grow((void **)&s->hist, &s->caphist, s->nhist + 2 * n + 2, sizeof(double)))
		return s->err = -ENOMEM;
	m = add_sample(s, d, values);
	if (!m)
		return s->err;
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
