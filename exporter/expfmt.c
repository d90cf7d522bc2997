// SPDX-License-Identifier: GPL-2.0
/*
 * Prometheus text format 0.0.4 and OpenMetrics 1.0: HELP and TYPE once per family,
 * families sorted by name.
 */
#include <errno.h>
#include <math.h>
#include <stdbool.h>
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
	/*
	 * %g drops trailing zeros, so 15 digits print any value whose shortest exact form
	 * has 15 or fewer as that form; only the rest need 16 or 17.
	 */
	for (prec = 15; prec < 17; prec++) {
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
	case METRIC_GAUGE_HISTOGRAM: /* text format 0.0.4 has no gauge histogram */
		return "histogram";
	case METRIC_INFO: /* text format 0.0.4 has no info type */
	case METRIC_GAUGE:
	default:
		return "gauge";
	}
}

/* HELP text escapes backslash and newline; OpenMetrics also the double quote. */
static void put_help(struct buf *out, const char *help, bool om)
{
	for (; *help; help++) {
		if (*help == '\\')
			buf__puts(out, "\\\\");
		else if (*help == '\n')
			buf__puts(out, "\\n");
		else if (*help == '"' && om)
			buf__puts(out, "\\\"");
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

void expfmt__canonical(double v, char out[32])
{
	int prec, exp;
	char *e;

	if (isnan(v) || isinf(v)) {
		expfmt__double(v, out);
		return;
	}
	/* The fewest significant digits that read back as @v, and the decimal exponent. */
	for (prec = 1; prec < 17; prec++) {
		snprintf(out, 32, "%.*e", prec - 1, v);
		if (strtod(out, NULL) == v)
			break;
	}
	snprintf(out, 32, "%.*e", prec - 1, v);
	e = strchr(out, 'e');
	exp = e ? atoi(e + 1) : 0;
	/* Go's %g with the shortest precision switches to an exponent below 1e-4 or from
	 * 1e+06; the fixed form gets ".0" when it has no decimal point. */
	if (exp < -4 || exp >= 6)
		return;
	snprintf(out, 32, "%.*f", prec - 1 - exp > 0 ? prec - 1 - exp : 0, v);
	if (!strchr(out, '.'))
		strcat(out, ".0");
}

static void put_histogram(struct buf *out, const struct mset *s, const char *name,
			  const struct msample *m, bool om, bool gauge)
{
	const double *h = &s->hist[m->hist];
	const char *labels = s->text.data + m->labels;
	size_t n = (size_t)h[0], i;
	char le[48], num[32];

	for (i = 0; i <= n; i++) {
		if (i < n && om)
			expfmt__canonical(h[1 + i], num);
		else if (i < n)
			expfmt__double(h[1 + i], num);
		else
			strcpy(num, "+Inf");
		snprintf(le, sizeof(le), "le=\"%s\"", num);
		put_sample(out, name, "_bucket", labels, le, h[1 + n + i]);
	}
	put_sample(out, name, gauge ? "_gsum" : "_sum", labels, NULL, m->value);
	put_sample(out, name, gauge ? "_gcount" : "_count", labels, NULL, h[1 + n + n]);
}

static bool has_suffix(const char *s, const char *suffix)
{
	size_t n = strlen(s), m = strlen(suffix);

	return n > m && !strcmp(s + n - m, suffix);
}

/* The base unit a family name ends in, for OpenMetrics' UNIT line (its name must end so). */
static const char *om_unit(const char *name, int len)
{
	static const char *const units[] = {"seconds", "bytes",	 "ratio", "celsius", "volts",
					    "amperes", "joules", "grams", "meters",  NULL};
	const char *const *u;
	int n;

	for (u = units; *u; u++) {
		n = (int)strlen(*u);
		if (len > n + 1 && name[len - n - 1] == '_' && !strncmp(name + len - n, *u, n))
			return *u;
	}
	return NULL;
}

static int cmp_family(const void *a, const void *b)
{
	const struct mfamily *fa = *(const struct mfamily *const *)a;
	const struct mfamily *fb = *(const struct mfamily *const *)b;

	return strcmp(fa->desc->name, fb->desc->name);
}

static void put_family(struct buf *out, const struct mset *s, const struct mfamily *f, bool om)
{
	const struct metric_desc *d = f->desc;
	const char *sample_suffix = "";
	const char *type = type_name(d->type);
	int famlen = (int)strlen(d->name);
	uint32_t j;

	/*
	 * OpenMetrics names the family without the sample suffix its type implies: counter
	 * samples end in _total and info samples in _info, the family names do not.
	 */
	if (om && d->type == METRIC_COUNTER) {
		type = "counter";
		sample_suffix = "_total";
		if (has_suffix(d->name, "_total"))
			famlen -= 6;
	} else if (om && d->type == METRIC_GAUGE_HISTOGRAM) {
		type = "gaugehistogram";
	} else if (om && d->type == METRIC_INFO) {
		type = "info";
		sample_suffix = "_info";
		if (has_suffix(d->name, "_info"))
			famlen -= 5;
	}
	/* OpenMetrics asks for TYPE before HELP; the text format's custom is the reverse. */
	if (om) {
		const char *unit = om_unit(d->name, famlen);

		buf__printf(out, "# TYPE %.*s %s\n", famlen, d->name, type);
		if (unit)
			buf__printf(out, "# UNIT %.*s %s\n", famlen, d->name, unit);
	}
	buf__printf(out, "# HELP %.*s ", famlen, d->name);
	put_help(out, d->help, om);
	buf__putc(out, '\n');
	if (!om)
		buf__printf(out, "# TYPE %.*s %s\n", famlen, d->name, type);
	for (j = f->head; j != MSAMPLE_END; j = s->samples[j].next) {
		const struct msample *m = &s->samples[j];
		char name[256];

		if (d->type == METRIC_HISTOGRAM || d->type == METRIC_GAUGE_HISTOGRAM) {
			put_histogram(out, s, d->name, m, om,
				      om && d->type == METRIC_GAUGE_HISTOGRAM);
			continue;
		}
		snprintf(name, sizeof(name), "%.*s%s", famlen, d->name, om ? sample_suffix : "");
		put_sample(out, om ? name : d->name, "", s->text.data + m->labels, NULL, m->value);
	}
}

static int render(const struct mset *s, struct buf *out, bool om)
{
	const struct mfamily **order;
	size_t i;

	if (s->err)
		return s->err;
	order = malloc((s->nfams ? s->nfams : 1) * sizeof(*order));
	if (!order)
		return -ENOMEM;
	for (i = 0; i < s->nfams; i++)
		order[i] = &s->fams[i];
	qsort(order, s->nfams, sizeof(*order), cmp_family);

	for (i = 0; i < s->nfams; i++)
		put_family(out, s, order[i], om);
	if (om)
		buf__puts(out, "# EOF\n");
	free(order);
	return out->err;
}

int expfmt__text(const struct mset *s, struct buf *out)
{
	return render(s, out, false);
}

int expfmt__openmetrics(const struct mset *s, struct buf *out)
{
	return render(s, out, true);
}
