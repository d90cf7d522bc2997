// SPDX-License-Identifier: GPL-2.0
/*
 * libFuzzer harness for the label escaper and both encoders: the input is a program that
 * builds a metric set (families of every type, label values of any bytes, any doubles,
 * histograms of any shape), which is rendered as text 0.0.4 and OpenMetrics. Checked:
 * the output is valid UTF-8 without control characters but newlines, every series
 * appears once, and unescaping a label value gives back what the escaper promises.
 */
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "expfmt.h"
#include "metrics.h"

static const struct metric_desc descs[] = {
	{"fz_gauge", METRIC_GAUGE, "", "A gauge."},
	{"fz_gauge_named", METRIC_GAUGE, "name", "Per name\\ \"help\"\nline."},
	{"fz_ratio", METRIC_GAUGE, "a,b", "Worst of.", METRIC_MERGE_MAX},
	{"fz_events_total", METRIC_COUNTER, "device", "A counter."},
	{"fz_things_info", METRIC_INFO, "x,y,z", "Info."},
	{"fz_wait_seconds", METRIC_HISTOGRAM, "cgroup", "A histogram."},
	{"fz_size_bytes", METRIC_HISTOGRAM, "", "Another."},
};
#define NDESCS (sizeof(descs) / sizeof(descs[0]))

struct input {
	const uint8_t *p;
	size_t n;
};

static uint8_t take_byte(struct input *in)
{
	uint8_t b = 0;

	if (in->n) {
		b = *in->p++;
		in->n--;
	}
	return b;
}

static double take_double(struct input *in)
{
	uint64_t x = 0;
	double d;
	int i;

	for (i = 0; i < 8; i++)
		x = x << 8 | take_byte(in);
	memcpy(&d, &x, sizeof(d));
	return d;
}

/* A NUL-terminated string of up to 300 bytes (longer than the 256 kept). */
static void take_string(struct input *in, char *out)
{
	size_t len = take_byte(in) + (take_byte(in) & 1 ? 45 : 0), i;

	for (i = 0; i < len && in->n; i++)
		out[i] = (char)take_byte(in);
	out[i] = '\0';
}

/* What metrics__escape_label promises to unescape to, computed independently. */
static void expected(const char *v, char *out)
{
	const unsigned char *p = (const unsigned char *)v;
	size_t n = strnlen(v, METRIC_VALUE_MAX), i = 0, len, o = 0;

	while (n > 0 && (p[n] & 0xc0) == 0x80)
		n--;
	while (i < n) {
		len = p[i] == '\n'		    ? 1
		      : p[i] < 0x20 || p[i] == 0x7f ? 0
						    : metrics__utf8_len(p + i, n - i);
		if (len) {
			memcpy(out + o, p + i, len);
			o += len;
			i += len;
		} else {
			memcpy(out + o, "\xef\xbf\xbd", 3);
			o += 3;
			i++;
		}
	}
	out[o] = '\0';
}

static void check_escape(const char *v)
{
	struct buf b = {};
	char want[4 * 300], got[4 * 300];
	size_t i, o = 0;

	metrics__escape_label(&b, v);
	for (i = 0; b.data && i < b.len; i++) {
		if (b.data[i] == '"' || (unsigned char)b.data[i] < 0x20 || b.data[i] == 0x7f)
			abort(); /* raw quote or control character */
		if (b.data[i] != '\\') {
			got[o++] = b.data[i];
			continue;
		}
		i++;
		if (i == b.len)
			abort();
		if (b.data[i] == 'n')
			got[o++] = '\n';
		else if (b.data[i] == '\\' || b.data[i] == '"')
			got[o++] = b.data[i];
		else
			abort(); /* an escape no parser knows */
	}
	got[o] = '\0';
	expected(v, want);
	if (strcmp(got, want))
		abort();
	buf__free(&b);
}

/* Output lines: UTF-8, no control characters, no sample line twice. */
static void check_output(const struct buf *b, int om)
{
	char **lines;
	size_t i, j, n = 0, start = 0, len;

	if (b->err)
		return;
	for (i = 0; i < b->len; i += len ? len : 1) {
		unsigned char c = b->data[i];

		len = c == '\n' ? 1
		      : c < 0x20 || c == 0x7f
			      ? 0
			      : metrics__utf8_len((const unsigned char *)b->data + i, b->len - i);
		if (!len)
			abort();
		n += c == '\n';
	}
	if (b->len && b->data[b->len - 1] != '\n')
		abort();
	if (om && (b->len < 6 || memcmp(b->data + b->len - 6, "# EOF\n", 6)))
		abort();
	lines = calloc(n + 1, sizeof(*lines));
	for (i = 0, n = 0; i < b->len; i++) {
		if (b->data[i] != '\n')
			continue;
		if (b->data[start] != '#') {
			/* The series: everything before the last space. */
			lines[n] = strndup(b->data + start, i - start);
			*strrchr(lines[n], ' ') = '\0';
			n++;
		}
		start = i + 1;
	}
	for (i = 0; i < n; i++)
		for (j = i + 1; j < n; j++)
			if (!strcmp(lines[i], lines[j]))
				abort(); /* a repeated series */
	for (i = 0; i < n; i++)
		free(lines[i]);
	free(lines);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct input in = {data, size};
	static char vals[METRIC_LABELS_MAX][301];
	const char *v[METRIC_LABELS_MAX];
	struct mset *s = mset__new();
	struct buf text = {}, om = {};
	double bounds[8];
	uint64_t counts[9];
	size_t i, k, nb, ops = 0;

	if (!s)
		return 0;
	while (in.n && ops++ < 64) {
		const struct metric_desc *d = &descs[take_byte(&in) % NDESCS];
		size_t nl = metric_desc__nlabels(d);

		for (i = 0; i < nl; i++) {
			/* Few distinct values, so that label sets collide often. */
			if (take_byte(&in) & 1)
				snprintf(vals[i], sizeof(vals[i]), "v%d", take_byte(&in) % 3);
			else
				take_string(&in, vals[i]);
			v[i] = vals[i];
			check_escape(vals[i]);
		}
		if (d->type == METRIC_HISTOGRAM) {
			nb = take_byte(&in) % 9;
			for (k = 0; k < nb; k++)
				bounds[k] = take_double(&in);
			for (k = 0; k <= nb; k++)
				counts[k] = take_byte(&in);
			/*
			 * Bounds are finite and increase (the API's contract: the +Inf bucket is
			 * implicit); keep such inputs only.
			 */
			for (k = 0; k < nb; k++)
				if (!isfinite(bounds[k]) || (k && !(bounds[k] > bounds[k - 1])))
					nb = 0;
			if (nl)
				mset__histogram(s, d, bounds, counts, nb, take_double(&in), v[0]);
			else
				mset__histogram(s, d, bounds, counts, nb, take_double(&in));
		} else {
			mset__addv(s, d, d->type == METRIC_INFO ? 1 : take_double(&in), v);
		}
	}
	if (!expfmt__text(s, &text))
		check_output(&text, 0);
	if (!expfmt__openmetrics(s, &om))
		check_output(&om, 1);
	buf__free(&text);
	buf__free(&om);
	mset__free(s);
	return 0;
}
