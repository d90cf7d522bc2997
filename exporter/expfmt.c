// SPDX-License-Identifier: GPL-2.0
/* Prometheus text format 0.0.4: HELP and TYPE once per family, families sorted by name. */
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "expfmt.h"

void expfmt__double(double v, char out[32])
{
	int prec;

	if (isnan(v)) {
		strcpy(out, "NaN");
		return;
	}
	if (isinf(v)) {
		strcpy(out, v > 0 ? "+Inf" : "-Inf");
		return;
	}
	/* Integers print as integers; everything else as the shortest exact form. */
	if (fabs(v) < 1e15 && v == (double)(long long)v) {
		snprintf(out, 32, "%lld", (long long)v);
		return;
	}
	for (prec = 1; prec < 17; prec++) {
		snprintf(out, 32, "%.*g", prec, v);
		if (strtod(out, NULL) == v)
			return;
	}
	snprintf(out, 32, "%.17g", v);
}

static const char *type_name(enum metric_type t)
{
	switch (t) {
	case METRIC_COUNTER:
		return "counter";
	case METRIC_HISTOGRAM:
		return "histogram";
	case METRIC_GAUGE:
	default:
		return "gauge";
	}
}

/* HELP text escapes only backslash and newline. */
static void put_help(struct buf *out, const char *help)
{
	for (; *help; help++) {
		if (*help == '\\')
			buf__puts(out, "\\\\");
		else if (*help == '\n')
			buf__puts(out, "\\n");
		else
			buf__putc(out, *help);
	}
}

static void put_sample(struct buf *out, const char *name, const char *suffix, const char *labels,
		       const char *extra, double v)
{
	char num[32];

	buf__puts(out, name);
	buf__puts(out, suffix);
	if (*labels || extra) {
		buf__putc(out, '{');
		buf__puts(out, labels);
		if (extra) {
			if (*labels)
				buf__putc(out, ',');
			buf__puts(out, extra);
		}
		buf__putc(out, '}');
	}
	buf__putc(out, ' ');
	expfmt__double(v, num);
	buf__puts(out, num);
	buf__putc(out, '\n');
}

static void put_histogram(struct buf *out, const struct mset *s, const char *name,
			  const struct msample *m)
{
	const double *h = &s->hist[m->hist];
	const char *labels = s->text.data + m->labels;
	size_t n = (size_t)h[0], i;
	char le[48], num[32];

	for (i = 0; i <= n; i++) {
		if (i < n)
			expfmt__double(h[1 + i], num);
		else
			strcpy(num, "+Inf");
		snprintf(le, sizeof(le), "le=\"%s\"", num);
		put_sample(out, name, "_bucket", labels, le, h[1 + n + i]);
	}
	put_sample(out, name, "_sum", labels, NULL, m->value);
	put_sample(out, name, "_count", labels, NULL, h[1 + n + n]);
}

static int cmp_family(const void *a, const void *b)
{
	const struct mfamily *fa = *(const struct mfamily *const *)a;
	const struct mfamily *fb = *(const struct mfamily *const *)b;

	return strcmp(fa->desc->name, fb->desc->name);
}

int expfmt__text(const struct mset *s, struct buf *out)
{
	const struct mfamily **order;
	size_t i;
	uint32_t j;

	if (s->err)
		return s->err;
	order = malloc((s->nfams ? s->nfams : 1) * sizeof(*order));
	if (!order)
		return -ENOMEM;
	for (i = 0; i < s->nfams; i++)
		order[i] = &s->fams[i];
	qsort(order, s->nfams, sizeof(*order), cmp_family);

	for (i = 0; i < s->nfams; i++) {
		const struct metric_desc *d = order[i]->desc;

		buf__printf(out, "# HELP %s ", d->name);
		put_help(out, d->help);
		buf__printf(out, "\n# TYPE %s %s\n", d->name, type_name(d->type));
		for (j = order[i]->head; j != MSAMPLE_END; j = s->samples[j].next) {
			const struct msample *m = &s->samples[j];

			if (d->type == METRIC_HISTOGRAM)
				put_histogram(out, s, d->name, m);
			else
				put_sample(out, d->name, "", s->text.data + m->labels, NULL,
					   m->value);
		}
	}
	free(order);
	return out->err;
}
